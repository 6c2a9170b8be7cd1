//! The process sweep through MuQ Live's VST3 in a real host: pedalboard (JUCE) from the
//! project's venv runs `tests/python/torture_vst3_sweep.py`: 22.05 to 192 kHz x buffer sizes 1
//! to 16384 x stereo and mono, plus 64 randomly varying sizes (0 included: pedalboard returns a
//! zero-length input without a process call) per rate and layout, every output bit-identical.
//!
//! Two bundles: the debug library wrapped in a VST3 folder, where nice-plug's
//! `assert_process_allocs` aborts the host on any allocation in `process()`, and the release
//! bundle from `cargo xtask bundle`. Host tests: `#[ignore]`d in a plain `cargo test`, run by
//! `scripts/test.sh` or `cargo test -p muq-live-tests --test torture_vst3 -- --ignored`.

use anyhow::Result;
use muq_live_tests::torture::debug_vst3_bundle;
use muq_live_tests::{run_checked, venv_python, vst3_bundle, workspace_root};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

fn sweep(bundle: &Path) -> Result<()> {
    let started = Instant::now();
    let script = workspace_root()
        .join("tests")
        .join("python")
        .join("torture_vst3_sweep.py");
    let stdout = run_checked(Command::new(venv_python()?).arg(&script).arg(bundle))?;
    print!("{stdout}");
    println!("(host run {:.1} s)", started.elapsed().as_secs_f64());
    assert!(stdout.contains("VST3 SWEEP PASSED"), "{stdout}");
    Ok(())
}

#[test]
#[ignore = "host test: needs .venv and the debug plugin library; run with --ignored (scripts/test.sh)"]
fn vst3_sweep_debug_build_bit_exact_without_allocating() -> Result<()> {
    sweep(&debug_vst3_bundle("torture-bundle")?)
}

#[test]
#[ignore = "host test: needs target/bundled/muq-live.vst3 and .venv; run scripts/test.sh"]
fn vst3_sweep_release_bundle_bit_exact() -> Result<()> {
    sweep(&vst3_bundle()?)
}
