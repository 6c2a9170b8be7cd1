//! Probe heads run live: heads trained with `muq probe train` on the tiny golden MuQ-MuLan
//! folder's inner MuQ (audio rendered here) are loaded by the live [`MuqAnalyzer`] from a
//! heads folder, run on every window and published; heads for another model or layer are
//! refused by name; a key head can replace the built-in key; the vocabulary folder can be
//! switched; the model's name and size are published.
//!
//! Run: `cargo test -p muq-cli --test probe_live -- --nocapture`.

#[path = "../../engine/tests/pipeline/support.rs"]
#[allow(dead_code)]
mod support;

#[path = "probe/support.rs"]
#[allow(dead_code)]
mod probe_support;

#[path = "probe_live/support.rs"]
mod live_support;

use live_support::{KEYS, command, feed_clip, muq, render_keys, s, train_head};
use muq_engine::analysis::{AnalysisPhase, Readouts};
use muq_engine::bridge::Command;
use muq_engine::heads::key::{Key, ProfileChoice};
use probe_support::{Rng, render_noise, render_split, render_tone};
use support::{analyzer, assert_finite, mulan_dir, options};

/// The probe readout of `task`, checked finite and sorted.
fn probe<'a>(r: &'a Readouts, task: &str) -> &'a muq_engine::analysis::ProbeReadout {
    let p = r
        .probes
        .iter()
        .find(|p| p.task == task)
        .unwrap_or_else(|| panic!("no probe {task} in {:?}\n{}", r.probes, r.settings_message));
    assert!(!p.top.is_empty() && p.top.len() <= 5, "{p:?}");
    for pair in p.top.windows(2) {
        assert!(pair[0].score >= pair[1].score, "{p:?}");
    }
    assert!(
        p.top
            .iter()
            .all(|l| l.score.is_finite() && (0.0..=1.0).contains(&l.score))
    );
    p
}

/// `key_source` of the built-in estimator with the default profile.
fn builtin_default() -> String {
    format!("built-in ({})", ProfileChoice::default().label())
}

/// Mean inference time of `num` tone windows.
fn mean_inference_ms(
    analyzer: &mut muq_engine::analysis::MuqAnalyzer,
    num: usize,
    seed: u64,
) -> f32 {
    let mut rng = Rng(seed);
    let total: f32 = (0..num)
        .map(|_| feed_clip(analyzer, &render_tone(&mut rng)).inference_ms)
        .sum();
    total / num as f32
}

#[test]
fn probe_heads_run_live_and_foreign_heads_are_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let mulan = mulan_dir();
    let csv = render_split(root, "train", 12, 11);
    let heads = root.join("heads");
    let stdout = train_head(&mulan, "tone_noise", &csv, root, &heads.join("tone_noise"));
    assert!(stdout.contains("24 windows"), "{stdout}");

    // Two copies that must be refused: trained "for another model" (config hash) and for a
    // hidden state this model does not have.
    let good_json = std::fs::read_to_string(heads.join("tone_noise/head.json")).unwrap();
    let hash =
        serde_json::from_str::<serde_json::Value>(&good_json).unwrap()["model"]["config_hash"]
            .as_str()
            .unwrap()
            .to_string();
    for (name, from, to) in [
        (
            "foreign",
            format!("\"{hash}\""),
            "\"00000000deadbeef\"".to_string(),
        ),
        (
            "too_deep",
            "\"layer\": ".to_string(),
            "\"layer\": 9".to_string(),
        ),
    ] {
        let dir = heads.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(
            heads.join("tone_noise/head.safetensors"),
            dir.join("head.safetensors"),
        )
        .unwrap();
        let doctored = good_json
            .replacen(&from, &to, 1)
            .replace("\"task\": \"tone_noise\"", &format!("\"task\": \"{name}\""));
        assert_ne!(doctored, good_json);
        std::fs::write(dir.join("head.json"), doctored).unwrap();
    }

    let cache = tempfile::tempdir().unwrap();
    let mut opts = options(cache.path(), 0.0);
    opts.model.heads_dir = Some(heads.clone());
    let mut analyzer = analyzer(opts, 24_000.0, 2.0);
    let mut rng = Rng(999);
    let (mut num_right, mut num_clips, mut min_margin) = (0, 0, f32::INFINITY);
    let mut last = Readouts::default();
    for idx in 0..12 {
        let (want, clip) = if idx % 2 == 0 {
            ("tone", render_tone(&mut rng))
        } else {
            ("noise", render_noise(&mut rng))
        };
        let r = feed_clip(&mut analyzer, &clip);
        assert_eq!(r.phase, AnalysisPhase::Analysing, "{r:?}");
        assert_finite(&r);
        assert_eq!(r.num_windows_analysed, idx + 1, "one window per clip");
        assert_eq!(r.probes.len(), 1, "only the good head runs: {:?}", r.probes);
        let p = probe(&r, "tone_noise");
        assert!(!p.multi_label && p.top.len() == 2);
        num_clips += 1;
        if p.top[0].label == want {
            num_right += 1;
            min_margin = min_margin.min(p.top[0].score - p.top[1].score);
        }
        last = r;
    }
    eprintln!(
        "tone/noise head live: {num_right}/{num_clips} held-out clips right, smallest margin {min_margin:.3}; {:.1} ms per window",
        last.inference_ms
    );
    assert!(num_right >= 11, "{num_right}/{num_clips} right (chance 6)");
    let with_heads_ms = mean_inference_ms(&mut analyzer, 6, 77);
    assert!(min_margin > 0.3, "margin {min_margin}");

    // Refusals name the head and say why; the good head still ran above.
    let msg = &last.settings_message;
    let line = |name: &str| {
        msg.lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("no line about {name} in {msg:?}"))
            .to_string()
    };
    assert!(line("foreign").contains("another model"), "{msg}");
    assert!(line("too_deep").contains("layer 9"), "{msg}");
    assert_eq!(msg.lines().count(), 2, "{msg}");

    // Model name and size.
    assert_eq!(
        last.model_name,
        mulan.file_name().unwrap().to_string_lossy()
    );
    let size = std::fs::metadata(mulan.join("model.safetensors"))
        .unwrap()
        .len();
    assert_eq!(last.model_size_bytes, size);
    assert_eq!(last.key_source, builtin_default());

    // Key methods that cannot work fall back to the built-in key with a message.
    let r = command(
        &mut analyzer,
        Command::SetKeyMethod(Some("probe:nope".into())),
    );
    assert!(r.key_source.starts_with("built-in"), "{}", r.key_source);
    assert!(
        r.settings_message.contains("probe:nope") && r.settings_message.contains("tone_noise"),
        "{}",
        r.settings_message
    );
    let r = command(
        &mut analyzer,
        Command::SetKeyMethod(Some("probe:tone_noise".into())),
    );
    assert!(r.key_source.starts_with("built-in"), "{}", r.key_source);
    assert!(
        r.settings_message.contains("not a key name"),
        "{}",
        r.settings_message
    );
    let r = command(
        &mut analyzer,
        Command::SetKeyMethod(Some("no_such_profile".into())),
    );
    assert!(
        r.settings_message.contains("valid names"),
        "{}",
        r.settings_message
    );
    assert_eq!(r.key_source, builtin_default());
    let r = command(
        &mut analyzer,
        Command::SetKeyMethod(Some("temperley".into())),
    );
    let temperley = ProfileChoice::parse("temperley").unwrap().label();
    assert_eq!(r.key_source, format!("built-in ({temperley})"));
    assert!(!r.settings_message.contains("probe:") && !r.settings_message.contains("valid names"));

    // `muq analyze` puts the probe readouts in its JSON lines.
    let test_csv = render_split(root, "test", 2, 12);
    let test_dir = root.join("test");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_muq"))
        .args([
            "analyze",
            &s(&test_dir),
            "--model",
            &s(&mulan),
            "--heads-dir",
            &s(&heads),
        ])
        .args(["--window-s", "2", "--hop-s", "2", "--jsonl", "-"])
        .env("MUQ_CACHE_DIR", cache.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("probe head: tone_noise") && stderr.contains("too_deep"),
        "{stderr}"
    );
    let rows = std::fs::read_to_string(&test_csv).unwrap();
    let mut num_lines = 0;
    for line in stdout.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let file = v["file"].as_str().unwrap();
        let want = if file.contains("tone") {
            "tone"
        } else {
            "noise"
        };
        assert!(
            rows.contains(&format!("{file},{want}")) || rows.contains(&format!("/{file},{want}")),
            "{file}"
        );
        let probes = v["model"]["probes"].as_array().unwrap();
        assert_eq!(probes.len(), 1, "{line}");
        assert_eq!(probes[0]["top"][0]["label"], want, "{line}");
        num_lines += 1;
    }
    assert_eq!(num_lines, 4, "{stdout}");

    // Without the heads folder only the model folder's (none) remain: no probes, no refusals.
    let r = command(&mut analyzer, Command::SetHeadsDir(None));
    assert!(
        r.probes.is_empty() && r.settings_message.is_empty(),
        "{r:?}"
    );
    let r = feed_clip(&mut analyzer, &render_tone(&mut rng));
    assert!(
        r.probes.is_empty() && r.settings_message.is_empty(),
        "{r:?}"
    );
    let without_heads_ms = mean_inference_ms(&mut analyzer, 6, 77);
    eprintln!(
        "inference per 2 s window: {with_heads_ms:.1} ms with 1 head, {without_heads_ms:.1} ms without"
    );
}

#[test]
fn a_probe_key_head_gives_the_key_and_eval_reports_mirex() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let mulan = mulan_dir();
    let (train_csv, _) = render_keys(root, "train", 6, 4.0, 1);
    let (test_csv, test_clips) = render_keys(root, "test", 2, 6.0, 2);
    let head_dir = root.join("heads/key");
    let stdout = train_head(&mulan, "key", &train_csv, root, &head_dir);
    // 24 files of 4 s: two 2 s windows each; whole files are held out (an even count).
    assert!(stdout.contains("24 files, 48 windows"), "{stdout}");
    let held_out: usize = stdout
        .lines()
        .find_map(|l| {
            l.split(" on ")
                .nth(1)?
                .split(" held-out")
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no held-out count in {stdout}"));
    assert!(
        held_out > 0 && held_out % 2 == 0,
        "{held_out} held-out windows\n{stdout}"
    );

    // head.json records that each example was a 2 s window (whole-file heads record none).
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(head_dir.join("head.json")).unwrap())
            .unwrap();
    let example_window_s = meta["example_window_s"].as_f64().unwrap_or(0.0);
    assert!(
        (example_window_s - 2.0).abs() < 0.05,
        "example_window_s {example_window_s} in {meta}"
    );

    let eval = muq(&[
        "probe",
        "eval",
        "--head",
        &s(&head_dir),
        "--labels",
        &s(&test_csv),
        "--audio-root",
        &s(root),
        "--model",
        &s(&mulan),
        "--unit",
        "window",
        "--window-s",
        "2",
    ]);
    let accuracy: f64 = eval
        .lines()
        .find_map(|l| l.strip_prefix("accuracy: "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no accuracy in {eval}"));
    let mirex: f64 = eval
        .lines()
        .find_map(|l| l.strip_prefix("MIREX weighted score: "))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no MIREX score in {eval}"));
    eprintln!("key head eval on 24 held-out windows: accuracy {accuracy:.3}, MIREX {mirex:.3}");
    assert!(eval.contains("over 24"), "{eval}");
    assert!(
        (accuracy..=1.0).contains(&mirex),
        "MIREX {mirex} below accuracy {accuracy}\n{eval}"
    );
    assert!(accuracy >= 0.5, "chance is 0.25\n{eval}");

    let cache = tempfile::tempdir().unwrap();
    let mut opts = options(cache.path(), 0.0);
    opts.model.heads_dir = Some(root.join("heads"));
    let mut analyzer = analyzer(opts, 24_000.0, 2.0);
    use muq_engine::worker::Analyzer;
    analyzer.on_command(&Command::SetKeyMethod(Some("probe:key".into())));
    let head_keys: Vec<Key> = KEYS.iter().map(|k| Key::parse(k).unwrap()).collect();
    let mut num_right = 0;
    for (idx, (key, clip)) in test_clips.iter().enumerate() {
        // A new stream per clip (a hop change restarts it): the smoothing starts over.
        let hop_s = if idx % 2 == 0 { 2.0 } else { 1.96 };
        analyzer.configure(&support::settings(hop_s), 24_000.0);
        // Window by window, so none is skipped: 3 windows of the head smoothed.
        let mut r = Readouts::default();
        for piece in clip.chunks(48_000) {
            r = feed_clip(&mut analyzer, piece);
        }
        assert_eq!(r.num_windows_analysed, 3 * (idx as u64 + 1));
        assert_eq!(r.key_source, "probe head key", "{}", r.settings_message);
        assert!(r.settings_message.is_empty(), "{}", r.settings_message);
        let shown = r.key.key.expect("a key from the probe head");
        assert!(
            head_keys.contains(&shown),
            "{shown} is not one of the head's labels"
        );
        assert!((0.0..=1.0).contains(&r.key.confidence) && r.key.confidence >= 0.25);
        assert!(
            r.key
                .runner_up
                .is_some_and(|ru| ru.key != shown && ru.score <= r.key.score)
        );
        assert!(r.key.evidence_s >= 5.9, "{:?}", r.key);
        assert_eq!(probe(&r, "key").top.len(), 4);
        num_right += usize::from(shown == *key);
    }
    eprintln!(
        "probe key live: {num_right}/{} held-out clips right",
        test_clips.len()
    );
    assert!(
        num_right * 2 >= test_clips.len(),
        "{num_right}/{} (chance 1/4)",
        test_clips.len()
    );

    // Back to the built-in estimator.
    let r = command(&mut analyzer, Command::SetKeyMethod(None));
    assert_eq!(r.key_source, builtin_default());
}

#[test]
fn a_labels_folder_swaps_the_vocabulary_and_a_bad_one_keeps_it() {
    let tmp = tempfile::tempdir().unwrap();
    let labels = tmp.path().join("labels");
    std::fs::create_dir_all(&labels).unwrap();
    let custom = ["kazoo", "theremin", "bagpipes"];
    std::fs::write(labels.join("instruments.txt"), custom.join("\n")).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let mut analyzer = analyzer(options(cache.path(), 0.0), 24_000.0, 2.0);
    let mut rng = Rng(5);
    let r = feed_clip(&mut analyzer, &render_tone(&mut rng));
    assert_eq!(r.instruments.len(), 5);
    assert!(
        r.instruments
            .iter()
            .all(|l| !custom.contains(&l.label.as_str()))
    );

    command(&mut analyzer, Command::SetLabelsDir(Some(labels.clone())));
    let r = feed_clip(&mut analyzer, &render_tone(&mut rng));
    let shown: Vec<&str> = r.instruments.iter().map(|l| l.label.as_str()).collect();
    assert_eq!(shown.len(), 3, "{shown:?}");
    assert!(shown.iter().all(|l| custom.contains(l)), "{shown:?}");
    let sum: f32 = r.instruments.iter().map(|l| l.score).sum();
    assert!(
        (sum - 1.0).abs() < 1e-4,
        "scores over the new vocabulary sum to 1: {sum}"
    );
    assert_eq!(r.genres.len(), 3, "genres stay built-in");
    assert!(r.settings_message.is_empty(), "{}", r.settings_message);

    let missing = tmp.path().join("no_such_folder");
    command(&mut analyzer, Command::SetLabelsDir(Some(missing.clone())));
    let r = feed_clip(&mut analyzer, &render_tone(&mut rng));
    assert!(
        r.settings_message.contains("no_such_folder"),
        "{}",
        r.settings_message
    );
    let shown: Vec<&str> = r.instruments.iter().map(|l| l.label.as_str()).collect();
    assert!(
        shown.iter().all(|l| custom.contains(l)),
        "old labels kept: {shown:?}"
    );
}

#[test]
fn training_features_equal_the_live_window_features() {
    use muq_engine::analysis::{MulanWindowModel, WindowModel};
    use muq_engine::heads::probe::{FeatureExtractor, ModelIdentity, Pooling};
    use muq_engine::models::mulan::{MulanFiles, MuqMulan};

    let mulan = mulan_dir();
    let device = candle_core::Device::Cpu;
    let muq = MuqMulan::load_inner_muq(&MulanFiles::locate(&mulan).unwrap(), &device).unwrap();
    let identity = ModelIdentity::of_dir(&mulan, &muq).unwrap();
    let mut live = MulanWindowModel::load(&mulan, &device).unwrap();
    assert_eq!(live.probe_identity(), Some(&identity));
    let mut rng = Rng(3);
    let window = render_tone(&mut rng);
    for layer in [0, identity.encoder_depth / 2, identity.encoder_depth] {
        let extractor =
            FeatureExtractor::new(&muq, identity.clone(), layer, Pooling::Meanmax, None).unwrap();
        let trained_on = extractor.features_of_samples(&window).unwrap();
        let features = live.window_features(&window, 0, &[layer]).unwrap();
        let seen_live = features.layer(layer).unwrap().features(Pooling::Meanmax);
        assert_eq!(trained_on.len(), seen_live.len());
        let max_diff = trained_on
            .iter()
            .zip(&seen_live)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(max_diff < 1e-4, "layer {layer}: max difference {max_diff}");
        // The same pass gives the MuLan latent the zero-shot heads use.
        let latent = live.audio_latent(&window, 0).unwrap();
        let diff = latent
            .iter()
            .zip(&features.latent)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(diff < 1e-5, "{diff}");
    }
}
