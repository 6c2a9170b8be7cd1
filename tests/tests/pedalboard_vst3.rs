//! MuQ Live's VST3 in a real host: Spotify's pedalboard (JUCE) from the project's venv runs
//! `tests/python/pedalboard_vst3.py`, which loads the bundle, reads the parameters, processes
//! 44.1/48/96 kHz stereo and mono audio in buffers of 1, 64, 511 and 4096 frames, checks the
//! output equals the input bit for bit, and round-trips `raw_state`.
//!
//! Two bundles: the release bundle from `cargo xtask bundle`, and the debug library wrapped in a
//! VST3 folder, where nice-plug's `assert_process_allocs` aborts the host on any allocation in
//! `process()`. Needs `.venv` (scripts/setup-test-env.sh) and the bundle: run through
//! `scripts/test.sh`.

use anyhow::Result;
use muq_live_tests::torture::debug_vst3_bundle;
use muq_live_tests::{run_checked, venv_python, vst3_bundle, workspace_root};
use std::path::Path;
use std::process::Command;

fn run_pedalboard(bundle: &Path) -> Result<()> {
    let script = workspace_root()
        .join("tests")
        .join("python")
        .join("pedalboard_vst3.py");
    let stdout = run_checked(Command::new(venv_python()?).arg(&script).arg(bundle))?;
    print!("{stdout}");
    assert!(stdout.contains("ALL PEDALBOARD CHECKS PASSED"), "{stdout}");
    Ok(())
}

#[test]
#[ignore = "needs target/bundled/muq-live.vst3 and .venv: run scripts/test.sh"]
fn release_bundle_in_pedalboard() -> Result<()> {
    run_pedalboard(&vst3_bundle()?)
}

#[test]
#[ignore = "needs .venv: run scripts/test.sh"]
fn debug_build_with_allocation_checks_in_pedalboard() -> Result<()> {
    run_pedalboard(&debug_vst3_bundle("debug-bundle")?)
}
