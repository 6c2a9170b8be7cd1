//! Shared helpers for MuQ Live's cross-crate tests (the tests themselves live in `tests/tests/`):
//! where the bundles are, and deterministic test signals.
//!
//! Host tests are `#[ignore]`d in a plain `cargo test` because they need the release bundle,
//! the Python venv and Xvfb; `scripts/test.sh` prepares those and runs them with `--ignored`.

pub mod clap_host;
pub mod fake_hub;
pub mod golden_hub;
pub mod torture;
pub mod vst3_host;

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

/// Bundle base name written by `cargo xtask bundle muq-live` (the package name).
pub const BUNDLE_NAME: &str = "muq-live";

/// The workspace root (the parent of this crate's folder).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Cargo's target folder: `CARGO_TARGET_DIR` when set, else `<workspace>/target`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                workspace_root().join(dir)
            }
        }
        None => workspace_root().join("target"),
    }
}

/// `target/bundled/<name>.<extension>`, or an error that says how to build it.
fn bundle(extension: &str) -> Result<PathBuf> {
    let path = target_dir()
        .join("bundled")
        .join(format!("{BUNDLE_NAME}.{extension}"));
    if !path.exists() {
        bail!(
            "{} does not exist: run `cargo xtask bundle muq-live --release` first (scripts/test.sh \
             does this)",
            path.display()
        );
    }
    Ok(path)
}

/// The bundled CLAP plugin (a single shared library on Linux).
pub fn clap_bundle() -> Result<PathBuf> {
    bundle("clap")
}

/// The bundled VST3 plugin folder.
pub fn vst3_bundle() -> Result<PathBuf> {
    bundle("vst3")
}

/// The debug build of the plugin library (`libmuq_live.so` on Linux), which has nice-plug's
/// `assert_process_allocs` active: any allocation in `process()` aborts the host.
///
/// Cargo writes it to `target/debug/deps/` when this crate's tests build it as a dependency and
/// to `target/debug/` for `cargo build -p muq-live`; the newer of the two is used.
pub fn debug_plugin_library() -> Result<PathBuf> {
    let file_name = format!(
        "{}muq_live{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    let debug_dir = target_dir().join("debug");
    [
        debug_dir.join("deps").join(&file_name),
        debug_dir.join(&file_name),
    ]
    .into_iter()
    .filter_map(|path| {
        let modified = std::fs::metadata(&path).and_then(|m| m.modified()).ok()?;
        Some((modified, path))
    })
    .max()
    .map(|(_, path)| path)
    .with_context(|| {
        format!(
            "no debug {file_name} under {}: run `cargo build`",
            debug_dir.display()
        )
    })
}

/// The workspace's Python virtualenv interpreter (`.venv/bin/python`), or `MUQ_LIVE_PYTHON`.
pub fn venv_python() -> Result<PathBuf> {
    if let Some(python) = std::env::var_os("MUQ_LIVE_PYTHON") {
        return Ok(PathBuf::from(python));
    }
    let python = workspace_root().join(".venv").join("bin").join("python");
    if !python.exists() {
        bail!(
            "{} does not exist: run scripts/setup-test-env.sh to create the venv with pedalboard",
            python.display()
        );
    }
    Ok(python)
}

/// A deterministic test signal for `channel_idx`: a sine plus white noise (a 32-bit LCG), with
/// values that a sloppy host path would not carry bit for bit: signed zeros, subnormals and
/// samples beyond full scale. Channels differ, so swapped channels are caught too.
pub fn test_signal(num_frames: usize, channel_idx: usize, sample_rate_hz: f32) -> Vec<f32> {
    let mut state = 0x9E37_79B9_u32.wrapping_mul(channel_idx as u32 + 1);
    let freq_hz = 220.0 * (channel_idx as f32 + 1.0);
    (0..num_frames)
        .map(|frame_idx| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let noise = (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
            let phase = std::f32::consts::TAU * freq_hz * frame_idx as f32 / sample_rate_hz;
            match frame_idx % 997 {
                0 => -0.0,
                1 => 1.0e-40,
                2 => -1.5,
                _ => 0.6 * phase.sin() + 0.2 * noise,
            }
        })
        .collect()
}

/// What MuQ Live outputs for an input sample: the sample bit for bit, except a subnormal,
/// which becomes a zero of its sign (the plugin never outputs subnormals).
pub fn passthrough_of(sample: f32) -> f32 {
    if sample.is_subnormal() {
        0.0f32.copysign(sample)
    } else {
        sample
    }
}

/// Compares an output channel with the passthrough of its input ([`passthrough_of`]) bit for
/// bit; the error names the first differing sample.
pub fn assert_bit_exact(input: &[f32], actual: &[f32], what: &str) -> Result<()> {
    if input.len() != actual.len() {
        bail!("{what}: length {} != {}", actual.len(), input.len());
    }
    let expected: Vec<f32> = input.iter().map(|&x| passthrough_of(x)).collect();
    let mismatch = expected
        .iter()
        .zip(actual)
        .position(|(e, a)| e.to_bits() != a.to_bits());
    if let Some(idx) = mismatch {
        bail!(
            "{what}: sample {idx} is {:e}, expected {:e}",
            actual[idx],
            expected[idx]
        );
    }
    Ok(())
}

/// Runs a command and returns its stdout, failing with its output when it exits non-zero.
pub fn run_checked(command: &mut std::process::Command) -> Result<String> {
    let output = command
        .output()
        .with_context(|| format!("could not run {command:?}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        bail!(
            "{command:?} failed with {}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
            output.status
        );
    }
    Ok(stdout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_exact_compare_catches_sign_of_zero_and_subnormals() {
        let signal = test_signal(2000, 0, 48_000.0);
        assert!(signal[998].is_subnormal());
        let passed: Vec<f32> = signal.iter().map(|&x| passthrough_of(x)).collect();
        assert!(assert_bit_exact(&signal, &passed, "same").is_ok());
        let mut flushed = passed.clone();
        flushed[997] = 0.0; // -0.0 -> +0.0
        assert!(assert_bit_exact(&signal, &flushed, "zero").is_err());
        // A subnormal input must come out as a zero of its sign, and nothing else.
        let mut flushed = passed.clone();
        flushed[998] = 0.0;
        assert!(assert_bit_exact(&signal, &flushed, "subnormal flushed").is_ok());
        assert!(assert_bit_exact(&signal, &signal, "subnormal kept").is_err());
        let mut wrong_sign = passed.clone();
        wrong_sign[998] = -0.0;
        assert!(assert_bit_exact(&signal, &wrong_sign, "subnormal sign").is_err());
        assert_ne!(test_signal(64, 0, 48_000.0), test_signal(64, 1, 48_000.0));
    }
}
