//! Lifecycle of the shared model through the live analyzer: a re-activation (a new analyzer
//! for the same folder, e.g. at another sample rate) while the old one loads or runs leaves
//! exactly one model; dropping the last analyzer frees it; dropping never leaves a thread
//! behind that still holds it; "analyse only while the editor is open" holds windows back and
//! analyses the newest one as soon as the hold ends. Each test uses its own copy of the tiny
//! golden MuQ-MuLan so that the registry counts are its own.
//!
//! Run: `cargo test -p muq-engine --test model_lifecycle -- --nocapture`.

#[path = "common/model_copy.rs"]
mod model_copy;
#[path = "pipeline/support.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use muq_engine::analysis::MuqAnalyzer;
use muq_engine::analysis::shared_models::{num_loads_of, num_users_of};
use muq_engine::worker::Analyzer;
use support::*;

/// A private model copy and its weights file.
fn private_model(tmp: &Path) -> (PathBuf, PathBuf) {
    model_copy::private_copy(&mulan_dir(), tmp)
}

fn analyzer_for(dir: &Path, cache: &Path, rate_hz: f32) -> MuqAnalyzer {
    let mut options = options(cache, 0.0);
    options.model.model_dir = Some(dir.to_path_buf());
    analyzer(options, rate_hz, 0.5)
}

fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn reactivation_during_a_load_leaves_one_model_and_the_last_drop_frees_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, weights) = private_model(tmp.path());
    let audio = music(3.0, 44_100, 5);
    for _ in 0..5 {
        // The host activates at 44.1 kHz; audio starts the load; it re-activates at 48 kHz
        // at once (the old analyzer is dropped mid-load or mid-window).
        let mut first = analyzer_for(&dir, tmp.path(), 44_100.0);
        first.on_samples(&audio[..4_410], 44_100.0);
        drop(first);
        assert_eq!(
            num_users_of(&weights),
            0,
            "a dropped analyzer holds no model"
        );
        let mut second = analyzer_for(&dir, tmp.path(), 48_000.0);
        for chunk in music(3.0, 48_000, 6).chunks(4_800) {
            second.on_samples(chunk, 48_000.0);
        }
        assert!(second.wait_idle(Duration::from_secs(60)));
        assert_eq!(num_users_of(&weights), 1, "exactly one model in use");
        drop(second);
        assert_eq!(num_users_of(&weights), 0, "freed with the last analyzer");
    }
    eprintln!("loads started: {}", num_loads_of(&weights));
}

#[test]
fn instances_share_one_model() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, weights) = private_model(tmp.path());
    let mut analyzers: Vec<MuqAnalyzer> = (0..3)
        .map(|_| analyzer_for(&dir, tmp.path(), 48_000.0))
        .collect();
    let audio = music(3.0, 48_000, 7);
    for a in &mut analyzers {
        let r = feed_all(a, &audio, 4_800, 48_000.0);
        assert_finite(&r);
    }
    assert_eq!(num_loads_of(&weights), 1, "three instances, one load");
    assert_eq!(num_users_of(&weights), 3);
    let r = readouts(&analyzers[0]);
    assert_eq!(r.num_model_users, 3, "the panel shows the sharing");
    assert!(r.analysis_threads >= 1);
    analyzers.truncate(1);
    assert_eq!(num_users_of(&weights), 1);
}

#[test]
fn dropping_while_a_window_runs_joins_the_thread_and_frees_the_model() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, weights) = private_model(tmp.path());
    let mut options = options(tmp.path(), 0.0);
    options.model.model_dir = Some(dir.clone());
    let running = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = Arc::clone(&running);
    options.before_window = Some(Arc::new(move |stop: &std::sync::atomic::AtomicBool| {
        flag.store(true, std::sync::atomic::Ordering::SeqCst);
        let until = Instant::now() + Duration::from_secs(30);
        while Instant::now() < until && !stop.load(std::sync::atomic::Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(5));
        }
    }));
    let mut a = analyzer(options, 48_000.0, 0.5);
    for chunk in music(3.0, 48_000, 8).chunks(4_800) {
        a.on_samples(chunk, 48_000.0);
    }
    wait_until("a running window", Duration::from_secs(60), || {
        running.load(std::sync::atomic::Ordering::SeqCst)
    });
    assert_eq!(num_users_of(&weights), 1);
    let started = Instant::now();
    drop(a);
    // Joined (not detached): by the time drop returns, the model is gone.
    assert_eq!(num_users_of(&weights), 0);
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn held_windows_wait_and_the_newest_runs_when_the_hold_ends() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, _weights) = private_model(tmp.path());
    let mut a = analyzer_for(&dir, tmp.path(), 48_000.0);
    let mut held = settings(0.5);
    held.hold_inference = true;
    a.configure(&held, 48_000.0);
    for chunk in music(4.0, 48_000, 9).chunks(4_800) {
        a.on_samples(chunk, 48_000.0);
    }
    assert!(a.wait_idle(Duration::from_secs(60)));
    let r = readouts(&a);
    assert_eq!(r.num_windows_analysed, 0, "nothing runs while held");
    assert!(a.has_held_window());
    a.configure(&settings(0.5), 48_000.0);
    assert!(
        !a.has_held_window(),
        "the held window goes to the model at once"
    );
    assert!(a.wait_idle(Duration::from_secs(60)));
    let r = readouts(&a);
    assert_eq!(
        r.num_windows_analysed, 1,
        "only the newest held window runs"
    );
    assert!(
        (r.window_end_s - 4.0).abs() <= 0.5,
        "the newest window ends near the end of the audio, got {}",
        r.window_end_s
    );
}
