//! Real size in a real host: a real-size MuQ-MuLan-large in the released `.bin` format
//! (`muq fixture`, seeded random weights, 2.65 GB) loaded by the release VST3 in pedalboard.
//! Asserts memory and sharing, never times: the peak RSS stays within 1.15 x the steady RSS
//! (no transient copies while loading) and two instances hold one model (each reports two
//! users, and the pair's steady RSS is within 200 MB of one instance's).
//!
//! Needs the release bundle and `.venv`: run through `scripts/test.sh` (host-test step), or
//! `cargo test -p muq-live-tests --test real_size_host -- --ignored --nocapture`.

use anyhow::{Context, Result, ensure};
use muq_live_tests::{run_checked, target_dir, venv_python, vst3_bundle, workspace_root};
use std::path::Path;
use std::process::Command;

/// Seconds each scenario runs (long enough for several windows on 2 cores).
const SCENARIO_S: &str = "40";

fn make_fixture(dir: &Path) -> Result<()> {
    let root = workspace_root();
    run_checked(Command::new(env!("CARGO")).current_dir(&root).args([
        "build",
        "--locked",
        "--release",
        "-p",
        "muq-cli",
        "--bin",
        "muq",
    ]))?;
    let muq = root.join("target").join("release").join("muq");
    let out = run_checked(
        Command::new(muq)
            .args([
                "fixture",
                "--arch",
                "mulan-large",
                "--random-weights",
                "--seed",
                "7",
                "--format",
                "bin",
                "--out",
            ])
            .arg(dir),
    )?;
    print!("{out}");
    ensure!(out.contains("663.4 M parameters"), "{out}");
    Ok(())
}

#[test]
#[ignore = "needs target/bundled/muq-live.vst3 and .venv: run scripts/test.sh"]
fn real_size_model_in_pedalboard_loads_without_copies_and_is_shared() -> Result<()> {
    let bundle = vst3_bundle()?;
    // In the target folder, not /tmp (which may be memory-backed): the file is 2.65 GB.
    let tmp = tempfile::tempdir_in(target_dir())?;
    let model = tmp.path().join("MuQ-MuLan-large");
    make_fixture(&model)?;
    let results = tmp.path().join("results.json");
    let script = workspace_root().join("tests/python/bench_host.py");
    let out = run_checked(
        Command::new(venv_python()?)
            .arg(script)
            .arg(&bundle)
            .arg("--model")
            .arg(&model)
            .args(["--seconds", SCENARIO_S, "--scenario", "1x44k,2x44k"])
            .args(["--warmup-seconds", "25", "--check", "--json"])
            .arg(&results)
            .arg("--cache-dir")
            .arg(tmp.path().join("cache")),
    )?;
    print!("{out}");
    let text = std::fs::read_to_string(&results).context("results")?;
    let runs: Vec<serde_json::Value> = serde_json::from_str(&text)?;
    let steady = |idx: usize| runs[idx]["steady_rss_mb"].as_f64().unwrap_or(f64::NAN);
    let peak = |idx: usize| runs[idx]["peak_rss_mb"].as_f64().unwrap_or(f64::NAN);
    for idx in 0..2 {
        ensure!(peak(idx) <= 1.15 * steady(idx), "run {idx}: {}", runs[idx]);
    }
    ensure!(
        runs[1]["model_users"] == serde_json::json!([2, 2]),
        "two instances must share one model: {}",
        runs[1]
    );
    ensure!(
        steady(1) <= steady(0) + 200.0,
        "two instances take {} MB, one takes {} MB: the weights are not shared",
        steady(1),
        steady(0)
    );
    Ok(())
}
