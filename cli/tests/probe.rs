//! Probe heads end to end on the tiny golden MuQ model: audio rendered here (low tones vs
//! noise bursts), training beats chance on held-out files, save/load round trip, cache reuse,
//! refusal of heads for another model or layer, multi-label training, and the `muq probe` CLI.

use std::path::Path;
use std::process::Command;

use candle_core::Device;
use muq_cli::probe::metrics::{decide, evaluate};
use muq_cli::probe::train::{Dataset, TrainOptions, train_head};
use muq_engine::heads::probe::labels::{LabelSet, read_labels};
use muq_engine::heads::probe::{
    FeatureExtractor, ModelIdentity, Pooling, ProbeHead, TaskKind, load_heads_in,
};
use muq_engine::models::muq::Muq;

#[path = "probe/support.rs"]
mod support;

use support::{Rng, SAMPLE_RATE_HZ, muq_cases, render_split, targets};

#[test]
fn probe_beats_chance_round_trips_and_refuses_mismatches() {
    let cases = muq_cases();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let train_csv = render_split(root, "train", 16, 1);
    let test_csv = render_split(root, "test", 8, 2);
    let model = Muq::load(&cases[0], &Device::Cpu).unwrap();
    let identity = ModelIdentity::of_dir(&cases[0], &model).unwrap();
    let layer = identity.encoder_depth;
    let cache_dir = root.join("out/feature_cache");
    let extractor = FeatureExtractor::new(
        &model,
        identity.clone(),
        layer,
        Pooling::Meanmax,
        Some(cache_dir.clone()),
    )
    .unwrap();

    let err = extractor
        .features_of_samples(&[0.1; 100])
        .unwrap_err()
        .to_string();
    assert!(err.contains("too short"), "{err}");
    assert!(
        extractor
            .features_of_file(&root.join("missing.wav"))
            .is_err()
    );
    assert!(
        FeatureExtractor::new(&model, identity.clone(), layer + 1, Pooling::Mean, None).is_err()
    );
    // Long audio (over one 30 s window) is encoded window by window and still pooled to one vector.
    let long: Vec<f32> = (0..31 * SAMPLE_RATE_HZ as usize)
        .map(|i| (i as f32 * 0.01).sin() * 0.2)
        .collect();
    assert_eq!(
        extractor.features_of_samples(&long).unwrap().len(),
        2 * identity.encoder_dim
    );

    let rows = read_labels(&train_csv).unwrap();
    let label_set = LabelSet::from_rows(&rows);
    assert_eq!(label_set.names, vec!["noise", "tone"]);
    let features = extractor.features_of_rows(&rows, root, |_| {}).unwrap();
    assert_eq!(features[0].len(), 2 * identity.encoder_dim);
    assert_eq!(
        std::fs::read_dir(&cache_dir).unwrap().count(),
        rows.len(),
        "one cache entry per file"
    );
    let cached = extractor.features_of_rows(&rows, root, |_| {}).unwrap();
    assert_eq!(cached, features, "cached features equal the computed ones");

    let train_targets = targets(&rows, &label_set);
    let keys: Vec<String> = rows.iter().map(|r| r.file.display().to_string()).collect();
    let data = Dataset {
        features: &features,
        targets: &train_targets,
        keys: &keys,
        labels: &label_set.names,
        task_kind: TaskKind::MultiClass,
    };
    let mut opts = TrainOptions::new("tone_vs_noise", layer);
    opts.pooling = Pooling::Meanmax;
    let mut num_epochs_seen = 0;
    let report = train_head(&data, identity.clone(), &opts, |_| num_epochs_seen += 1).unwrap();
    assert!(num_epochs_seen >= report.best_epoch && report.best_epoch >= 1);
    assert!(
        !report.val_idx.is_empty() && report.val_idx.iter().all(|i| !report.train_idx.contains(i))
    );
    assert!(
        report.val_accuracy >= 0.8,
        "validation accuracy {}",
        report.val_accuracy
    );

    // Held-out test files the head never saw.
    let test_rows = read_labels(&test_csv).unwrap();
    let test_features = extractor
        .features_of_rows(&test_rows, root, |_| {})
        .unwrap();
    let probs = report.head.predict(&test_features).unwrap();
    let eval = evaluate(
        &targets(&test_rows, &label_set),
        &decide(&probs, TaskKind::MultiClass),
        2,
    );
    assert!(
        eval.accuracy >= 0.8,
        "test accuracy {} (chance 0.5)\n{}",
        eval.accuracy,
        eval.render(&label_set.names)
    );

    // Save / load round trip: identical predictions.
    let head_dir = root.join("out");
    report.head.save(&head_dir).unwrap();
    let loaded = ProbeHead::load(&head_dir).unwrap();
    assert_eq!(loaded.meta, report.head.meta);
    assert_eq!(loaded.predict(&test_features).unwrap(), probs);
    loaded.ensure_compatible(&identity, layer).unwrap();

    // Another layer, another model, a doctored head.json: refused with clear messages.
    let err = loaded
        .ensure_compatible(&identity, layer - 1)
        .unwrap_err()
        .to_string();
    assert!(err.contains("hidden state"), "{err}");
    let other_model = Muq::load(&cases[1], &Device::Cpu).unwrap();
    let other = ModelIdentity::of_dir(&cases[1], &other_model).unwrap();
    let err = loaded
        .ensure_compatible(&other, layer)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("another model") || err.contains("dims"),
        "{err}"
    );
    let json_path = head_dir.join("head.json");
    let json = std::fs::read_to_string(&json_path).unwrap();
    let doctored = json.replace(
        &format!("\"encoder_dim\": {}", identity.encoder_dim),
        "\"encoder_dim\": 7",
    );
    assert_ne!(doctored, json);
    std::fs::write(&json_path, doctored).unwrap();
    let err = ProbeHead::load(&head_dir)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("expected 14"), "{err}");
}

#[test]
fn multi_label_head_learns_independent_labels() {
    // Features: two independent binary attributes in dims 0 and 1, plus noise dims.
    let mut rng = Rng(7);
    let (mut features, mut targets, mut keys) = (Vec::new(), Vec::new(), Vec::new());
    for idx in 0..80 {
        let (a, b) = (idx % 2 == 0, (idx / 2) % 2 == 0);
        let mut row: Vec<f32> = (0..6).map(|_| rng.next() - 0.5).collect();
        row[0] += if a { 2.0 } else { -2.0 };
        row[1] += if b { 2.0 } else { -2.0 };
        let mut t = Vec::new();
        if a {
            t.push(0)
        }
        if b {
            t.push(1)
        }
        if t.is_empty() {
            t.push(2)
        }
        features.push(row);
        targets.push(t);
        keys.push(format!("f{idx}"));
    }
    let labels = vec!["a".to_string(), "b".to_string(), "none".to_string()];
    let data = Dataset {
        features: &features,
        targets: &targets,
        keys: &keys,
        labels: &labels,
        task_kind: TaskKind::MultiLabel,
    };
    let identity = ModelIdentity {
        config_hash: "0".into(),
        encoder_dim: 3,
        encoder_depth: 1,
    };
    let mut opts = TrainOptions::new("attrs", 1);
    opts.pooling = Pooling::Meanmax;
    opts.head = muq_engine::heads::probe::HeadKind::Mlp;
    opts.num_hidden = 16;
    let report = train_head(&data, identity, &opts, |_| {}).unwrap();
    assert!(
        report.val_accuracy >= 0.8,
        "multi-label validation accuracy {}",
        report.val_accuracy
    );
    let probs = report.head.predict(&features[..4]).unwrap();
    assert_eq!(decide(&probs, TaskKind::MultiLabel), targets[..4].to_vec());
}

#[test]
fn cli_trains_and_evaluates() {
    let cases = muq_cases();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let train_csv = render_split(root, "train", 10, 3);
    let test_csv = render_split(root, "test", 5, 4);
    let out = root.join("heads/tn");
    let muq = env!("CARGO_BIN_EXE_muq");
    let run = |args: &[&str]| Command::new(muq).args(args).output().unwrap();
    let s = |p: &Path| p.display().to_string();
    let train = run(&[
        "probe",
        "train",
        "--task",
        "tn",
        "--labels",
        &s(&train_csv),
        "--audio-root",
        &s(root),
        "--model",
        &s(&cases[0]),
        "--head",
        "mlp",
        "--hidden",
        "16",
        "--epochs",
        "60",
        "--out",
        &s(&out),
    ]);
    let stdout = String::from_utf8_lossy(&train.stdout);
    assert!(
        train.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&train.stderr)
    );
    assert!(
        stdout.contains("epoch    1/60") && stdout.contains("validation accuracy"),
        "{stdout}"
    );
    let number_after = |line: &str, key: &str| -> f64 {
        let rest = &line[line
            .find(key)
            .unwrap_or_else(|| panic!("{key:?} in {line}"))
            + key.len()..];
        rest.trim_start()
            .split(|c: char| c.is_whitespace() || c == ')')
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap()
    };
    let first_loss = number_after(
        stdout
            .lines()
            .find(|l| l.starts_with("epoch    1/"))
            .unwrap(),
        "train loss",
    );
    let best_loss = number_after(
        stdout
            .lines()
            .find(|l| l.starts_with("best epoch"))
            .unwrap(),
        "(loss",
    );
    assert!(
        best_loss < 0.5 * first_loss,
        "training did not lower the loss: {first_loss} -> {best_loss}\n{stdout}"
    );
    assert!(out.join("head.safetensors").is_file() && out.join("head.json").is_file());
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("head.json")).unwrap()).unwrap();
    assert!(
        meta["example_window_s"].is_null() && meta["layer"].is_u64(),
        "a whole-file head records no window: {meta}"
    );

    let eval = run(&[
        "probe",
        "eval",
        "--head",
        &s(&out),
        "--labels",
        &s(&test_csv),
        "--audio-root",
        &s(root),
        "--model",
        &s(&cases[0]),
    ]);
    let stdout = String::from_utf8_lossy(&eval.stdout);
    assert!(
        eval.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&eval.stderr)
    );
    let accuracy: f64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("accuracy: "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no accuracy in {stdout}"));
    assert!(accuracy >= 0.8, "{stdout}");
    assert!(
        stdout.contains("precision") && stdout.contains("confusion"),
        "{stdout}"
    );

    // The heads folder: loaded for the model it was trained on, refused for another.
    let model = Muq::load(&cases[0], &Device::Cpu).unwrap();
    let heads = load_heads_in(
        &root.join("heads"),
        &ModelIdentity::of_dir(&cases[0], &model).unwrap(),
    )
    .unwrap();
    assert_eq!(heads.len(), 1);
    assert!(heads[0].1.as_ref().is_ok_and(|h| h.meta.task == "tn"));
    let other_model = Muq::load(&cases[1], &Device::Cpu).unwrap();
    let heads = load_heads_in(
        &root.join("heads"),
        &ModelIdentity::of_dir(&cases[1], &other_model).unwrap(),
    )
    .unwrap();
    assert!(
        heads[0]
            .1
            .as_ref()
            .err()
            .is_some_and(|e| e.to_string().contains("trained for"))
    );
    assert!(
        load_heads_in(
            &root.join("no_such_dir"),
            &ModelIdentity::of_dir(&cases[0], &model).unwrap()
        )
        .unwrap()
        .is_empty()
    );

    let wrong = run(&[
        "probe",
        "eval",
        "--head",
        &s(&out),
        "--labels",
        &s(&test_csv),
        "--audio-root",
        &s(root),
        "--model",
        &s(&cases[1]),
    ]);
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert!(
        !wrong.status.success() && stderr.contains("trained for"),
        "{stderr}"
    );
    let wrong_layer = run(&[
        "probe",
        "eval",
        "--head",
        &s(&out),
        "--labels",
        &s(&test_csv),
        "--audio-root",
        &s(root),
        "--model",
        &s(&cases[0]),
        "--layer",
        "0",
    ]);
    let stderr = String::from_utf8_lossy(&wrong_layer.stderr);
    assert!(
        !wrong_layer.status.success() && stderr.contains("hidden state"),
        "{stderr}"
    );
}
