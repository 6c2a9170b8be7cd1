//! The live pipeline under stress: an artificially slow model (overload → skip to the newest
//! window, bounded memory, snapshots keep flowing), digital silence (no inference, stale),
//! NaN/Inf input, a missing model (key only), and the whole thing inside a real worker thread.
//!
//! Run: `cargo test -p muq-engine --test pipeline_robustness -- --nocapture`.

#[path = "pipeline/support.rs"]
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use muq_engine::analysis::{AnalysisPhase, MuqAnalyzer};
use muq_engine::bridge::{self, Command};
use muq_engine::worker::{self, Analyzer, WorkerSetup};
use support::*;

/// Injected inference time per window, in milliseconds (the hop is 200 ms).
const DELAY_MS: u64 = 500;

#[test]
fn a_slow_model_skips_to_the_newest_window_without_a_backlog() {
    let cache = tempfile::tempdir().unwrap();
    let mut options = options(cache.path(), 0.0);
    let calls = Arc::new(AtomicUsize::new(0));
    let hook_calls = Arc::clone(&calls);
    options.before_window = Some(Arc::new(move |_stop: &std::sync::atomic::AtomicBool| {
        hook_calls.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(DELAY_MS));
    }));
    let hop_s = 0.2;
    let mut analyzer = analyzer(options, 48_000.0, hop_s);
    let audio = music(8.0, 48_000, 21);
    let mut worst_fill_ms = 0.0f32;
    // At most 4x real time: 0.1 s of audio every >= 25 ms (slower on a loaded machine, which
    // the bounds below take into account by measuring the feeding time).
    let feed_started = Instant::now();
    for chunk in audio.chunks(4_800) {
        analyzer.on_samples(chunk, 48_000.0);
        let started = Instant::now();
        let r = readouts(&analyzer);
        worst_fill_ms = worst_fill_ms.max(started.elapsed().as_secs_f32() * 1e3);
        assert_finite(&r);
        std::thread::sleep(Duration::from_millis(25));
    }
    let feed_s = feed_started.elapsed().as_secs_f32();
    assert!(analyzer.wait_idle(Duration::from_secs(60)));
    let r = readouts(&analyzer);
    assert_finite(&r);
    // Inference is serial and takes >= DELAY_MS per window: while feeding, at most
    // feed_s / delay windows can have run, plus the one running and the one waiting at the end.
    let max_analysed = (feed_s / (DELAY_MS as f32 * 1e-3)).floor() as u64 + 2;
    let num_due = ((8.0 - 2.0) / hop_s).round() as u64; // give or take the resampler's fill
    eprintln!(
        "fed in {feed_s:.2} s, due ~{num_due}, analysed {} (at most {max_analysed}), skipped {}, achieved hop {:.2} s, rtf {:.2}, worst snapshot fill {worst_fill_ms:.2} ms, \
         buffer {} samples",
        r.num_windows_analysed,
        r.num_windows_skipped,
        r.achieved_hop_s,
        r.real_time_factor,
        analyzer.buffer_capacity_samples()
    );
    assert!(r.num_windows_skipped > 0, "{r:?}");
    assert!(r.num_windows_analysed <= max_analysed, "{r:?}");
    assert!(r.num_windows_analysed < num_due, "{r:?}");
    assert_eq!(
        r.num_windows_analysed as usize,
        calls.load(Ordering::SeqCst)
    );
    assert!(r.num_windows_analysed + r.num_windows_skipped >= num_due - 1);
    assert!(r.achieved_hop_s > 2.0 * hop_s, "{r:?}");
    assert!(r.real_time_factor > 1.0, "{r:?}");
    // The newest window was analysed last: it ends at the end of the 24 kHz stream's grid.
    assert!(r.window_end_s > 7.5, "{r:?}");
    // Snapshots never waited for inference (a window takes >= DELAY_MS); memory stays at
    // about one window + one chunk.
    assert!(worst_fill_ms < DELAY_MS as f32 / 2.0, "{worst_fill_ms} ms");
    assert!(analyzer.buffer_capacity_samples() <= 48_000 + 2 * 4_800 + 4_096);
}

#[test]
fn digital_silence_runs_no_inference_and_marks_the_readouts_stale() {
    let cache = tempfile::tempdir().unwrap();
    // Silence from the start: the model is never run.
    let mut quiet = analyzer(options(cache.path(), 0.0), 44_100.0, 0.4);
    let r = feed_all(&mut quiet, &vec![0.0; 44_100 * 4], 1_024, 44_100.0);
    assert_eq!(r.num_windows_analysed, 0, "{r:?}");
    assert!(r.num_windows_silent > 0 && r.stale);
    assert_eq!(r.phase, AnalysisPhase::Stale);
    assert!(r.key.key.is_none());

    // Music, then silence: the readouts stay, marked stale, and nothing more is analysed.
    let mut analyzer = analyzer(options(cache.path(), 0.0), 44_100.0, 0.4);
    let before = feed_all(&mut analyzer, &music(3.0, 44_100, 4), 1_024, 44_100.0);
    assert_eq!(before.phase, AnalysisPhase::Analysing);
    // The first window after the music still has its tail in the newest hop; then silence.
    let tail = feed_all(&mut analyzer, &vec![0.0; 44_100], 1_024, 44_100.0);
    assert_eq!(tail.phase, AnalysisPhase::Stale, "{tail:?}");
    assert!(tail.num_windows_analysed <= before.num_windows_analysed + 1);
    let after = feed_all(&mut analyzer, &vec![0.0; 44_100 * 2], 1_024, 44_100.0);
    assert_finite(&after);
    assert_eq!(after.phase, AnalysisPhase::Stale, "{after:?}");
    assert!(after.stale && after.num_windows_silent > tail.num_windows_silent);
    assert_eq!(after.num_windows_analysed, tail.num_windows_analysed);
    assert_eq!(after.genres, tail.genres);
    assert!(!after.genres.is_empty());
    assert_eq!(after.key.key, before.key.key);
    // Music again: analysis resumes.
    let resumed = feed_all(&mut analyzer, &music(1.5, 44_100, 5), 1_024, 44_100.0);
    assert_eq!(resumed.phase, AnalysisPhase::Analysing, "{resumed:?}");
    assert!(resumed.num_windows_analysed > before.num_windows_analysed && !resumed.stale);
}

#[test]
fn nan_and_inf_input_never_gives_a_non_finite_readout() {
    let cache = tempfile::tempdir().unwrap();
    let mut analyzer = analyzer(options(cache.path(), 0.5), 48_000.0, 0.4);
    let mut audio = music(4.0, 48_000, 8);
    for (i, x) in audio.iter_mut().enumerate() {
        match i % 997 {
            0 => *x = f32::NAN,
            1 => *x = f32::INFINITY,
            2 => *x = f32::NEG_INFINITY,
            _ => {}
        }
    }
    audio[96_000..100_800].fill(f32::NAN);
    let r = feed_all(&mut analyzer, &audio, 777, 48_000.0);
    assert_finite(&r);
    assert!(r.num_non_finite_samples > 4_800);
    assert!(r.num_windows_analysed >= 1, "{r:?}");
    assert_eq!(r.phase, AnalysisPhase::Analysing, "{r:?}");
}

#[test]
fn without_weights_only_the_key_runs_and_the_panel_says_why() {
    let empty = tempfile::tempdir().unwrap();
    let mut options = options(empty.path(), 0.0);
    options.model.model_dir = Some(empty.path().to_path_buf());
    let mut analyzer = analyzer(options, 48_000.0, 1.0);
    // Longer than the 5 s of tonal audio the live key estimator needs.
    let r = feed_all(&mut analyzer, &music(6.5, 48_000, 2), 2_048, 48_000.0);
    assert_eq!(r.phase, AnalysisPhase::NoModel, "{r:?}");
    assert!(
        r.message.contains("config.json") && r.hint.contains("muq fetch"),
        "{r:?}"
    );
    assert!(r.key.key.is_some());
    assert!(r.genres.is_empty() && r.num_windows_analysed == 0);

    // Pointing the analyzer at a model folder loads it; a new query set replaces the old one.
    analyzer.on_command(&Command::SetModelDir(Some(mulan_dir())));
    analyzer.on_command(&Command::SetTextQueries(vec!["solo violin".into()]));
    let r = feed_all(&mut analyzer, &music(1.0, 48_000, 3), 2_048, 48_000.0);
    assert_eq!(r.phase, AnalysisPhase::Analysing, "{r:?}");
    assert_eq!(r.queries.len(), 1);
    assert_eq!(r.queries[0].text, "solo violin");
    assert_eq!(r.genres.len(), 3);

    // A bad window setting is an error with a hint, not a panic.
    let mut bad = MuqAnalyzer::new(support::options(empty.path(), 0.0)).unwrap();
    bad.configure(
        &muq_engine::worker::AnalysisSettings {
            enabled: true,
            window_s: 2.0,
            hop_s: 5.0,
            hold_inference: false,
        },
        48_000.0,
    );
    let r = readouts(&bad);
    assert_eq!(r.phase, AnalysisPhase::Error);
    assert!(r.message.contains("hop") && !r.hint.is_empty(), "{r:?}");
}

#[test]
fn inside_a_worker_thread_the_snapshot_carries_the_readouts() {
    let cache = tempfile::tempdir().unwrap();
    let analyzer = MuqAnalyzer::new(options(cache.path(), 0.5)).unwrap();
    let (mut tap, feed) = bridge::new(bridge::ring_capacity_for(44_100.0).unwrap()).unwrap();
    let setup = WorkerSetup {
        sample_rate_hz: 44_100.0,
        feed,
        settings: Arc::new(settings(0.5)),
        analyzers: vec![Box::new(analyzer) as Box<dyn Analyzer>],
        on_publish: None,
    };
    let (worker, mut link) = worker::spawn(setup).unwrap();
    let audio = music(4.0, 44_100, 12);
    let mut phases = Vec::new();
    for block in audio.chunks(512) {
        tap.push_block(&[block, block]);
        std::thread::sleep(Duration::from_micros(300));
        let phase = link.latest().readouts.phase;
        if phases.last() != Some(&phase) {
            phases.push(phase);
        }
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while link.latest().readouts.window_end_s < 3.5 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let snapshot = link.latest().clone();
    worker.stop().unwrap();
    let r = &snapshot.readouts;
    eprintln!("phases seen: {phases:?}");
    assert_finite(r);
    assert_eq!(r.phase, AnalysisPhase::Analysing, "{r:?}");
    assert!(r.window_end_s >= 3.5, "{r:?}");
    assert_eq!(r.queries.len(), QUERIES.len());
    assert!(
        phases.contains(&AnalysisPhase::Listening) || phases.contains(&AnalysisPhase::Loading),
        "{phases:?}"
    );
}

#[test]
fn dropping_the_analyzer_never_waits_for_a_slow_window() {
    let cache = tempfile::tempdir().unwrap();
    let mut options = options(cache.path(), 0.0);
    // A 2 s window that, like the model (checked between conformer layers), notices the stop
    // flag within 10 ms.
    options.before_window = Some(Arc::new(|stop: &std::sync::atomic::AtomicBool| {
        let until = Instant::now() + Duration::from_secs(2);
        while Instant::now() < until && !stop.load(std::sync::atomic::Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(10));
        }
    }));
    let mut analyzer = analyzer(options, 24_000.0, 1.0);
    for chunk in music(2.5, 24_000, 30).chunks(2_400) {
        analyzer.on_samples(chunk, 24_000.0);
    }
    // Wait until the slow window is running (it holds the thread for 2 s).
    std::thread::sleep(Duration::from_millis(600));
    assert!(!analyzer.wait_idle(Duration::from_millis(10)));
    let started = Instant::now();
    drop(analyzer);
    let waited_ms = started.elapsed().as_millis();
    assert!(waited_ms < 1_000, "drop waited {waited_ms} ms");
}
