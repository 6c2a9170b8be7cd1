//! Overload through the plugin: `MuqLive::process()` driven by the fake host with the tiny
//! golden MuQ-MuLan model made 10x slower than the audio arrives (a delay injected through
//! `AnalyzerOptions::before_window`). Audio is fed 20x faster than real time (paced, so the
//! worker is never the bottleneck) and every window sleeps 10 hops of that time scale.
//! Expected: passthrough bit-exact and allocation-free, nothing dropped, windows skipped and
//! counted (the model jumps to the newest window, no backlog), the newest readout lagging,
//! resident memory flat after warm-up. The only test in this binary, for clean RSS figures.

use anyhow::{Result, bail};
use muq_engine::analysis::{AnalysisPhase, AnalyzerOptions};
use muq_engine::bridge::EngineSnapshot;
use muq_live::MuqLive;
use muq_live_tests::test_signal;
use muq_live_tests::torture::{
    FakeProcessContext, activate, golden_case, process_looped_block, rss_kib, set_param,
};
use nice_plug::prelude::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const SAMPLE_RATE_HZ: f32 = 48_000.0;
const BLOCK_LEN: usize = 512;
const WINDOW_S: f32 = 2.0;
const HOP_S: f32 = 0.5;
/// Audio arrives this many times faster than real time.
const SPEEDUP: f64 = 20.0;
/// The model takes this many hops (of arrival time) per window.
const SLOWDOWN: f64 = 10.0;
const SIMULATED_S: f64 = 60.0;
const WARMUP_S: f64 = 15.0;
/// Allowed resident-memory growth from the end of warm-up to the end, in KiB.
const MAX_RSS_GROWTH_KIB: i64 = 8 * 1024;

#[test]
fn a_model_ten_times_slower_than_the_audio_skips_windows_with_bounded_memory() -> Result<()> {
    let started = Instant::now();
    let cache = tempfile::tempdir()?;
    let mulan = golden_case(|c| c.get("mulan").is_some())?;
    let num_windows_run = Arc::new(AtomicU64::new(0));
    let hook_count = Arc::clone(&num_windows_run);
    let window_delay = Duration::from_secs_f64(SLOWDOWN * f64::from(HOP_S) / SPEEDUP);
    let mut options = AnalyzerOptions::new();
    options.model.cache_dir = Some(cache.path().to_path_buf());
    options.queries = vec!["calm ambient pads".into(), "loud drums".into()];
    options.before_window = Some(Arc::new(move |_stop: &std::sync::atomic::AtomicBool| {
        hook_count.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(window_delay);
    }));
    let mut plugin = MuqLive::with_analyzer_options(options);
    *plugin.params_arc().model_dir.write() = Some(mulan.clone());
    set_param(&plugin, "Window", WINDOW_S)?;
    set_param(&plugin, "Hop", HOP_S)?;
    if !activate(&mut plugin, 0, SAMPLE_RATE_HZ, BLOCK_LEN as u32) {
        bail!("activation failed");
    }
    let link = plugin.editor_link();
    let mut context = FakeProcessContext::new(SAMPLE_RATE_HZ);
    let inputs: Vec<Vec<f32>> = (0..2)
        .map(|c| test_signal(SAMPLE_RATE_HZ as usize, c, SAMPLE_RATE_HZ))
        .collect();
    let mut channels = vec![vec![0.0_f32; BLOCK_LEN]; 2];
    let mut snapshot = EngineSnapshot::default();
    let total_frames = (SIMULATED_S * f64::from(SAMPLE_RATE_HZ)) as usize;
    let (mut num_frames, mut max_ring_fill, mut num_blocks) = (0_usize, 0_usize, 0_usize);
    // Snapshots with model readouts, and how many of those were marked stale (overload).
    let (mut num_readout_snapshots, mut num_stale_snapshots) = (0_usize, 0_usize);
    let mut rss_after_warmup = None;
    let mut rss_peak = 0;
    let feed_started = Instant::now();
    while num_frames < total_frames {
        process_looped_block(
            &mut plugin,
            &mut context,
            &inputs,
            &mut channels,
            num_frames,
            "overload",
        )?;
        num_frames += BLOCK_LEN;
        num_blocks += 1;
        // Pace the feed at SPEEDUP x real time.
        let due = Duration::from_secs_f64(num_frames as f64 / f64::from(SAMPLE_RATE_HZ) / SPEEDUP);
        if let Some(wait) = due.checked_sub(feed_started.elapsed()) {
            std::thread::sleep(wait);
        }
        if num_blocks % 32 == 0 {
            link.copy_latest(&mut snapshot);
            max_ring_fill = max_ring_fill.max(snapshot.ring_fill_samples);
            if snapshot.readouts.num_windows_analysed > 0 {
                num_readout_snapshots += 1;
                if snapshot.readouts.stale && snapshot.readouts.message.contains("overload") {
                    num_stale_snapshots += 1;
                }
            }
            let rss = rss_kib()?;
            rss_peak = rss_peak.max(rss);
            if rss_after_warmup.is_none()
                && num_frames as f64 >= WARMUP_S * f64::from(SAMPLE_RATE_HZ)
            {
                rss_after_warmup = Some(rss);
            }
        }
    }
    let feed_s = feed_started.elapsed().as_secs_f64();
    // Let the worker drain and publish.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        link.copy_latest(&mut snapshot);
        let captured = (snapshot.seconds_captured * f64::from(SAMPLE_RATE_HZ)).round() as usize;
        if captured == num_frames && snapshot.ring_fill_samples == 0 {
            break;
        }
        if Instant::now() > deadline {
            bail!("the worker did not drain: {snapshot:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let rss_end = rss_kib()?;
    let rss_warm = rss_after_warmup.unwrap_or(rss_end);
    let r = &snapshot.readouts;
    let num_due = ((SIMULATED_S - f64::from(WINDOW_S)) / f64::from(HOP_S)) as u64;
    let lag_s = SIMULATED_S - r.window_end_s;
    println!(
        "overload: {SIMULATED_S} s of stereo audio at {SPEEDUP}x real time ({feed_s:.1} s), model \
         {SLOWDOWN}x slower than the audio ({} ms per {HOP_S} s hop at that pace): ~{num_due} \
         windows due, {} analysed (hook ran {}), {} skipped, newest window ends at {:.1} s \
         ({lag_s:.1} s behind), achieved hop {:.2} s, inference {:.0} ms, phase {:?}; dropped {}, ring peak {} of {} \
         samples; RSS {rss_warm} KiB after {WARMUP_S} s warm-up -> {rss_end} KiB at the end \
         ({:+} KiB, peak {rss_peak} KiB); {num_stale_snapshots} of {num_readout_snapshots} \
         snapshots with readouts marked stale (overload); passthrough bit-exact, 0 allocations in {num_blocks} \
         process() calls; {:.1} s",
        window_delay.as_millis(),
        r.num_windows_analysed,
        num_windows_run.load(Ordering::SeqCst),
        r.num_windows_skipped,
        r.window_end_s,
        r.achieved_hop_s,
        r.inference_ms,
        r.phase,
        snapshot.dropped_samples,
        max_ring_fill,
        snapshot.ring_capacity_samples,
        rss_end - rss_warm,
        started.elapsed().as_secs_f64()
    );
    assert_eq!(snapshot.dropped_samples, 0, "{snapshot:?}");
    assert!(r.num_windows_analysed >= 2, "the model never ran: {r:?}");
    assert!(r.num_windows_skipped > 0, "no window was skipped: {r:?}");
    // Far behind the audio, the readouts say so: most snapshots are marked stale.
    assert!(
        num_stale_snapshots * 2 > num_readout_snapshots,
        "only {num_stale_snapshots} of {num_readout_snapshots} snapshots marked stale under overload"
    );
    // At most one window per SLOWDOWN hops can finish (plus the ones queued at the edges).
    assert!(
        r.num_windows_analysed <= num_due / (SLOWDOWN as u64 / 2),
        "more windows analysed than a 10x slow model can: {r:?}"
    );
    assert!(
        r.num_windows_analysed + r.num_windows_skipped <= num_due + 2,
        "windows unaccounted: {r:?}"
    );
    // The readouts say how far behind the model is: analysed windows lie many hops apart.
    assert!(
        r.achieved_hop_s >= 4.0 * HOP_S,
        "achieved hop {} s under a 10x overload: {r:?}",
        r.achieved_hop_s
    );
    assert!(
        r.inference_ms >= window_delay.as_secs_f32() * 1e3,
        "the delay did not count: {r:?}"
    );
    assert!(matches!(r.phase, AnalysisPhase::Analysing), "{r:?}");
    assert!(
        r.instruments.iter().all(|s| s.score.is_finite()) && !r.instruments.is_empty(),
        "{r:?}"
    );
    assert!(max_ring_fill < snapshot.ring_capacity_samples);
    assert!(
        rss_end - rss_warm < MAX_RSS_GROWTH_KIB,
        "resident memory grew by {} KiB under overload",
        rss_end - rss_warm
    );
    plugin.deactivate();
    Ok(())
}
