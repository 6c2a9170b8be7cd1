//! `muq embed` as a process, on a MuQ golden case found by its config.json content: the saved
//! states equal the official ones, windowed encoding of long audio, and clear failures.

#[allow(dead_code)]
#[path = "../../models/tests/golden/common.rs"]
mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use candle_core::{Device, Tensor};

/// The first case folder whose config.json is a MuQ config.
fn muq_case() -> PathBuf {
    common::list_cases(&common::golden_dir())
        .expect("golden dir")
        .into_iter()
        .find(|d| {
            std::fs::read_to_string(d.join("config.json"))
                .ok()
                .and_then(|s| serde_json::from_str(&s).ok())
                .is_some_and(|cfg| matches!(common::classify(&cfg), Ok(common::Kind::Muq)))
        })
        .expect("a MuQ case in the golden dir")
}

fn muq(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_muq"))
        .args(args)
        .output()
        .expect("run muq")
}

/// Runs `muq embed` on the case's input.wav with `extra` arguments, expects success, and loads
/// the saved tensors.
fn embed_case_input(case: &Path, out_path: &Path, extra: &[&str]) -> HashMap<String, Tensor> {
    let audio = case.join("input.wav");
    let mut args = vec![
        "embed",
        "--model",
        case.to_str().unwrap(),
        "--audio",
        audio.to_str().unwrap(),
        "--out",
        out_path.to_str().unwrap(),
    ];
    args.extend(extra);
    let out = muq(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    candle_core::safetensors::load(out_path, &Device::Cpu).unwrap()
}

fn expected(case: &Path) -> HashMap<String, Tensor> {
    candle_core::safetensors::load(case.join("expected.safetensors"), &Device::Cpu).unwrap()
}

#[test]
fn embed_saves_the_official_hidden_states() {
    let case = muq_case();
    let dir = tempfile::tempdir().unwrap();
    let got = embed_case_input(
        &case,
        &dir.path().join("h.safetensors"),
        &["--layer", "all"],
    );
    let exp = expected(&case);
    let num_states = exp
        .keys()
        .filter(|k| k.starts_with("hidden_states."))
        .count();
    assert!(num_states >= 2);
    assert_eq!(got.len(), num_states);
    for i in 0..num_states {
        let name = format!("hidden_states.{i}");
        let d = common::max_abs_diff(&got[&name], &exp[&name]).unwrap();
        assert!(d < 1e-4, "{name}: max abs diff {d}");
    }
}

#[test]
fn long_audio_is_encoded_in_windows() {
    let case = muq_case();
    let dir = tempfile::tempdir().unwrap();
    // --window-s 1: the 3 s fixture becomes three 1 s windows (25 tokens each at 25 tokens/s).
    let got = embed_case_input(
        &case,
        &dir.path().join("h.safetensors"),
        &["--window-s", "1"],
    );
    assert_eq!(got.len(), 1, "only the last state by default");
    let (name, t) = got.iter().next().unwrap();
    assert_eq!(
        t.dims(),
        expected(&case)[name].dims(),
        "windows cover the whole file"
    );
    let vals = t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    assert!(vals.iter().all(|v| v.is_finite()));
}

#[test]
fn bad_inputs_fail_with_an_error_line() {
    let case = muq_case();
    let dir = tempfile::tempdir().unwrap();
    let short = dir.path().join("short.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 24_000,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(&short, spec).unwrap();
    for _ in 0..500 {
        w.write_sample(0.1f32).unwrap();
    }
    w.finalize().unwrap();
    let out_path = dir.path().join("h.safetensors");
    for (audio, layer, needle) in [
        (short.to_str().unwrap(), "last", "too short"),
        ("/nonexistent/audio.wav", "last", "/nonexistent/audio.wav"),
        (case.join("input.wav").to_str().unwrap(), "99", "--layer 99"),
    ] {
        let out = muq(&[
            "embed",
            "--model",
            case.to_str().unwrap(),
            "--audio",
            audio,
            "--out",
            out_path.to_str().unwrap(),
            "--layer",
            layer,
        ]);
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.starts_with("error: ") && stderr.contains(needle),
            "{stderr}"
        );
    }
    let out = muq(&[
        "embed",
        "--model",
        "/nonexistent",
        "--audio",
        "x.wav",
        "--out",
        "y",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("config.json"));
}
