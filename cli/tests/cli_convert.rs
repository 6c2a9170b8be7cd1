//! `muq convert` as a process: failures print `error: ...` and exit non-zero.

use std::process::Command;

#[test]
fn convert_missing_input_fails_with_error_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(env!("CARGO_BIN_EXE_muq"))
        .args(["convert", "/nonexistent/pytorch_model.bin"])
        .arg(dir.path().join("out.safetensors"))
        .output()
        .expect("run muq");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(
        stderr.contains("/nonexistent/pytorch_model.bin"),
        "{stderr}"
    );
}

#[test]
fn convert_rejects_non_checkpoint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("pytorch_model.bin");
    std::fs::write(&input, b"definitely not a zip").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_muq"))
        .arg("convert")
        .arg(&input)
        .arg(dir.path().join("out.safetensors"))
        .output()
        .expect("run muq");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error: ") && stderr.contains("not a PyTorch zip checkpoint"),
        "{stderr}"
    );
    assert!(!dir.path().join("out.safetensors").exists());
}

#[test]
fn unknown_subcommand_is_a_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_muq"))
        .arg("frobnicate")
        .output()
        .expect("run muq");
    assert!(!out.status.success());
}
