//! MuQ-MuLan beyond the golden numbers: per-tensor report of the `mulan` case, bad inputs
//! (texts, audio, tokenizer, checkpoints), file discovery through a fake hub cache, and the
//! Precompiled normaliser path that xlm-roberta-base's real tokenizer.json uses.
//!
//! Run: `cargo test -p muq-cli --test mulan -- --nocapture`.

#[allow(dead_code)]
#[path = "../../models/tests/golden/common.rs"]
mod common;
#[allow(dead_code)]
#[path = "../../models/tests/golden/mulan.rs"]
mod golden_mulan;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use muq_engine::models::mulan::{MulanFiles, MuqMulan};
use muq_engine::tokenize::TextTokenizer;

fn case_dir() -> PathBuf {
    common::golden_dir().join("mulan")
}

fn load() -> MuqMulan {
    MuqMulan::load(&case_dir(), &Device::Cpu).unwrap()
}

fn norm(t: &Tensor) -> f32 {
    t.sqr()
        .unwrap()
        .sum_all()
        .unwrap()
        .sqrt()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}

/// A copy of the fixture folder with some files replaced, for the bad-input tests.
fn fixture_copy(tmp: &Path, with_subfolders: bool) {
    let src = case_dir();
    for f in ["config.json", "model.safetensors", "tokenizer.json"] {
        std::fs::copy(src.join(f), tmp.join(f)).unwrap();
    }
    if with_subfolders {
        for d in ["muq-tiny", "xlm-roberta-tiny"] {
            std::fs::create_dir_all(tmp.join(d)).unwrap();
            std::fs::copy(
                src.join(d).join("config.json"),
                tmp.join(d).join("config.json"),
            )
            .unwrap();
        }
    }
}

#[test]
fn golden_mulan_every_tensor_within_tolerance() {
    let case = common::Case::load(&case_dir()).unwrap();
    let chk = golden_mulan::compare_mulan_case(&case).unwrap();
    for (name, ratio) in &chk.ratios {
        println!("mulan {name:32} err/tol {ratio:.4}");
    }
    assert!(chk.failures.is_empty(), "{:#?}", chk.failures);
    assert_eq!(
        chk.ratios.len(),
        case.expected.len(),
        "every expected tensor must be compared"
    );
    chk.finish().unwrap();
}

#[test]
fn bad_texts_give_clear_errors() {
    let model = load();
    for t in ["", "   ", "\n\t\u{3000} "] {
        let err = model
            .text_latent(t)
            .err()
            .expect("empty text must fail")
            .to_string();
        assert!(err.contains("empty"), "{t:?}: {err}");
    }
    let err = model
        .text_latents_batched(&["calm piano", " "])
        .err()
        .expect("batch with empty text")
        .to_string();
    assert!(err.contains("empty"), "{err}");
}

#[test]
fn long_text_is_truncated_with_a_notice_and_odd_scripts_work() {
    let model = load();
    let long: String = "energetic rock with loud drums "
        .chars()
        .cycle()
        .take(10_000)
        .collect();
    let out = model.text_latent(&long).unwrap();
    assert!(out.truncated);
    assert_eq!(out.ids.len(), model.max_text_tokens());
    assert_eq!(model.max_text_tokens(), 64); // fixture: max_position_embeddings 66
    assert!((norm(&out.latent) - 1.0).abs() < 1e-5);
    for text in [
        "🎹🥁🎸 ♫ 🎶",
        "piano 钢琴 пианино البيانو ピアノ 🎹",
        "calm",
    ] {
        let out = model.text_latent(text).unwrap();
        assert!(!out.truncated, "{text}");
        assert!((norm(&out.latent) - 1.0).abs() < 1e-5, "{text}");
    }
}

#[test]
fn short_and_empty_audio_give_clear_errors() {
    let model = load();
    let err = model
        .audio_latent(&[])
        .err()
        .expect("empty audio")
        .to_string();
    assert!(err.contains("no audio"), "{err}");
    let err = model
        .audio_latent(&[0.1; 300])
        .err()
        .expect("300 samples")
        .to_string();
    assert!(err.contains("too short"), "{err}");
    let mut nan = vec![0.1f32; 30_000];
    nan[123] = f32::NAN;
    let err = model
        .audio_latent(&nan)
        .err()
        .expect("NaN sample")
        .to_string();
    assert!(err.contains("sample 123 is not a finite number"), "{err}");
    // 513 samples -> one clip of 1026 samples: the shortest that works.
    let tone: Vec<f32> = (0..513).map(|i| (i as f32 * 0.05).sin() * 0.3).collect();
    let out = model.audio_latent(&tone).unwrap();
    assert!((norm(&out.latent) - 1.0).abs() < 1e-5);
}

#[test]
fn latent_from_a_callers_muq_state_equals_the_clip_path() {
    let model = load();
    let clip: Vec<f32> = (0..48_000)
        .map(|i| (i as f32 * 0.031).sin() * 0.2)
        .collect();
    let (_, want) = model.audio_clip(&clip).unwrap();
    let wav = Tensor::from_slice(&clip, (1, clip.len()), &Device::Cpu).unwrap();
    let out = model.muq().forward(&wav).unwrap();
    let got = model.audio_latent_from_muq_output(&out).unwrap();
    assert_eq!(common::max_abs_diff(&got, &want).unwrap(), 0.0);
}

#[test]
fn tokenizer_of_another_vocabulary_is_rejected() {
    let tmp = tempfile::tempdir().unwrap();
    fixture_copy(tmp.path(), true);
    let path = tmp.path().join("tokenizer.json");
    let mut tok: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let vocab = tok["model"]["vocab"].as_array_mut().unwrap();
    vocab.push(serde_json::json!(["▁extra_one", -20.0]));
    vocab.push(serde_json::json!(["▁extra_two", -20.0]));
    std::fs::write(&path, tok.to_string()).unwrap();
    let err = MuqMulan::load(tmp.path(), &Device::Cpu)
        .err()
        .expect("vocab mismatch")
        .to_string();
    assert!(
        err.contains("182") && err.contains("180") && err.contains("does not belong"),
        "{err}"
    );
}

fn drop_prefix_and_load(prefix: &str) -> String {
    let tmp = tempfile::tempdir().unwrap();
    fixture_copy(tmp.path(), true);
    let weights = tmp.path().join("model.safetensors");
    let all = candle_core::safetensors::load(&weights, &Device::Cpu).unwrap();
    let kept: HashMap<String, Tensor> = all
        .into_iter()
        .filter(|(k, _)| !k.starts_with(prefix))
        .collect();
    candle_core::safetensors::save(&kept, &weights).unwrap();
    MuqMulan::load(tmp.path(), &Device::Cpu)
        .err()
        .expect("incomplete checkpoint")
        .to_string()
}

#[test]
fn checkpoint_missing_a_tower_is_rejected() {
    let err = drop_prefix_and_load("mulan.text.");
    assert!(
        err.contains("text tower") && !err.contains("audio tower"),
        "{err}"
    );
    let err = drop_prefix_and_load("mulan.audio.model.");
    assert!(err.contains("audio tower"), "{err}");
}

#[test]
fn inner_configs_and_tokenizer_are_found_in_a_fake_hub_cache() {
    let model_dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let src = case_dir();
    for f in ["config.json", "model.safetensors"] {
        std::fs::copy(src.join(f), model_dir.path().join(f)).unwrap();
    }
    let err = MulanFiles::locate_with_caches(model_dir.path(), &[cache.path().to_path_buf()])
        .expect_err("nothing in the cache yet")
        .to_string();
    assert!(err.contains("config.json of audio model"), "{err}");
    for (repo, files) in [
        ("muq-tiny", vec!["config.json"]),
        ("xlm-roberta-tiny", vec!["config.json", "tokenizer.json"]),
    ] {
        let repo_dir = cache.path().join(format!("models--{repo}"));
        let snap = repo_dir.join("snapshots").join("0123abcd");
        std::fs::create_dir_all(&snap).unwrap();
        std::fs::create_dir_all(repo_dir.join("refs")).unwrap();
        std::fs::write(repo_dir.join("refs").join("main"), "0123abcd").unwrap();
        for f in files {
            std::fs::copy(src.join(repo).join(f), snap.join(f)).unwrap();
        }
    }
    let files =
        MulanFiles::locate_with_caches(model_dir.path(), &[cache.path().to_path_buf()]).unwrap();
    assert!(files.tokenizer.starts_with(cache.path()));
    assert!(files.muq_config.as_ref().unwrap().starts_with(cache.path()));
    let model = MuqMulan::load_files(&files, &Device::Cpu).unwrap();
    let exp =
        candle_core::safetensors::load(src.join("expected.safetensors"), &Device::Cpu).unwrap();
    let texts: Vec<String> =
        serde_json::from_str(&std::fs::read_to_string(src.join("texts.json")).unwrap()).unwrap();
    let got = model.text_latent(&texts[1]).unwrap().latent;
    assert!(common::max_abs_diff(&got, &exp["text_latent_single.1"]).unwrap() < 1e-5);
}

/// Minimal standard base64 (with padding) for building a Precompiled charsmap in the test.
fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A sentencepiece double-array charsmap with one rule, `X` -> `x` (root offset 256; the `X`
/// unit at 256^0x58 has a leaf at offset 1 whose value 0 points at "x\0").
fn charsmap_x_to_lower() -> Vec<u8> {
    let mut units = vec![0u32; 512];
    units[0] = 256 << 10;
    let node = 256 ^ 0x58;
    units[node] = (1 << 10) | (1 << 8) | 0x58;
    units[node ^ 1] = 0;
    let mut blob = (units.len() as u32 * 4).to_le_bytes().to_vec();
    for u in units {
        blob.extend_from_slice(&u.to_le_bytes());
    }
    blob.extend_from_slice(b"x\0");
    blob
}

#[test]
fn precompiled_normalizer_of_real_xlmr_tokenizers_is_supported() {
    let tmp = tempfile::tempdir().unwrap();
    let mut tok: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(case_dir().join("tokenizer.json")).unwrap())
            .unwrap();
    // xlm-roberta-base's tokenizer.json normaliser layout.
    tok["normalizer"] = serde_json::json!({"type": "Sequence", "normalizers": [
        {"type": "Precompiled", "precompiled_charsmap": base64(&charsmap_x_to_lower())},
        {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]});
    let path = tmp.path().join("tokenizer.json");
    std::fs::write(&path, tok.to_string()).unwrap();
    let with_map = TextTokenizer::from_file(&path).unwrap();
    let plain = TextTokenizer::from_file(&case_dir().join("tokenizer.json")).unwrap();
    let upper = with_map.encode("Xylophone", 64).unwrap().ids;
    assert_eq!(
        upper,
        with_map.encode("xylophone", 64).unwrap().ids,
        "the charsmap must map X to x"
    );
    assert_ne!(
        plain.encode("Xylophone", 64).unwrap().ids,
        plain.encode("xylophone", 64).unwrap().ids
    );
}

fn muq_cli(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_muq"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn cli_text_similarity_and_offline_fetch() {
    let dir = case_dir();
    let dir_s = dir.to_str().unwrap();
    let long: String = "drums ".repeat(1700);
    let out = muq_cli(&["text", "--model", dir_s, "calm ambient pads ♫", &long]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    let exp =
        candle_core::safetensors::load(dir.join("expected.safetensors"), &Device::Cpu).unwrap();
    let want = exp["text_latent_single.3"]
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    let got: Vec<f32> = serde_json::from_value(lines[0]["latent"].clone()).unwrap();
    assert!(got.iter().zip(&want).all(|(a, b)| (a - b).abs() < 1e-5));
    assert_eq!(lines[1]["truncated"], true);
    assert!(String::from_utf8_lossy(&out.stderr).contains("truncated"));

    let wav = dir.join("input.wav");
    let out = muq_cli(&[
        "similarity",
        "--model",
        dir_s,
        "--audio",
        wav.to_str().unwrap(),
        "--text",
        "piano",
        "--text",
        "drums",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 3); // header + 2 scores

    let out = muq_cli(&["text", "--model", dir_s, " "]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("empty"));

    let cache = tempfile::tempdir().unwrap();
    let t0 = std::time::Instant::now();
    let out = muq_cli(&[
        "fetch",
        "--cache-dir",
        cache.path().to_str().unwrap(),
        "--endpoint",
        "http://127.0.0.1:1",
    ]);
    assert!(!out.status.success());
    assert!(t0.elapsed().as_secs() < 10);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("resolve/main/tokenizer.json")
            && err.contains("models--OpenMuQ--MuQ-MuLan-large"),
        "{err}"
    );
}

#[test]
fn model_can_move_to_a_worker_thread() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<MuqMulan>();
    let model = load();
    let latent = std::thread::spawn(move || {
        model
            .text_latent("calm piano")
            .map(|l| l.latent.dims().to_vec())
    })
    .join()
    .unwrap()
    .unwrap();
    assert_eq!(latent, vec![1, 16]);
}

#[test]
fn a_snapshot_folder_finds_its_siblings_in_its_own_cache() {
    let cache = tempfile::tempdir().unwrap();
    let src = case_dir();
    let put = |repo: &str, files: &[(&Path, &str)]| -> PathBuf {
        let repo_dir = cache
            .path()
            .join(format!("models--{}", repo.replace('/', "--")));
        let snap = repo_dir.join("snapshots").join("rev1");
        std::fs::create_dir_all(&snap).unwrap();
        std::fs::create_dir_all(repo_dir.join("refs")).unwrap();
        std::fs::write(repo_dir.join("refs").join("main"), "rev1").unwrap();
        for (from, name) in files {
            std::fs::copy(from.join(name), snap.join(name)).unwrap();
        }
        snap
    };
    let model_dir = put(
        "OpenMuQ/MuQ-MuLan-large",
        &[(&src, "config.json"), (&src, "model.safetensors")],
    );
    put("muq-tiny", &[(&src.join("muq-tiny"), "config.json")]);
    put(
        "xlm-roberta-tiny",
        &[
            (&src.join("xlm-roberta-tiny"), "config.json"),
            (&src.join("xlm-roberta-tiny"), "tokenizer.json"),
        ],
    );
    let files = MulanFiles::locate(&model_dir).unwrap();
    assert!(
        files.tokenizer.starts_with(cache.path()),
        "{:?}",
        files.tokenizer
    );
    assert!(
        files
            .xlmr_config
            .as_ref()
            .unwrap()
            .starts_with(cache.path())
    );
    assert!(
        MuqMulan::load_files(&files, &Device::Cpu)
            .unwrap()
            .text_latent("calm")
            .is_ok()
    );
}
