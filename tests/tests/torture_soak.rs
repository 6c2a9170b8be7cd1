//! Soak: a long run of audio (ten simulated minutes; `MUQ_SOAK_S=3600` for the full hour,
//! `torture::soak_seconds`) pushed through the
//! engine as fast as it goes: the audio tap, the ring, a real worker thread and the MuQ analyzer
//! with the tiny golden MuQ-MuLan model (inference skipping to the newest window whenever it
//! is behind), fed with back-pressure (the feeder waits while the ring is over half full).
//! At 24 kHz, MuQ's own rate, so the window front needs no resampler: in a debug build the
//! resampler alone would triple the run (about 12x instead of 35x real time); the 48 kHz path is
//! soaked by the hostile-audio run in `torture_process.rs`.
//! Checks zero dropped samples, every sample captured, only finite readouts, and resident
//! memory: the median RSS of the second half of the run (after warm-up, the first 10 %) may
//! exceed that of the first half by less than 1 MiB (a steady leak of about 5 KiB per analysed
//! window would fail), and the end may exceed the end of warm-up by less than 4 MiB. Medians,
//! because single RSS samples wobble by about a MiB on a loaded machine (the allocator's
//! arenas): one CI-like run measured +1184 KiB from warm-up to end, a later run +724 KiB
//! with the median of the second half 52 KiB below that of the first.
//! The only test in this binary, so nothing else moves the RSS figure.

use anyhow::{Result, bail};
use muq_engine::analysis::{AnalyzerOptions, MuqAnalyzer};
use muq_engine::bridge::{self, Command, EngineSnapshot};
use muq_engine::worker::{self, AnalysisSettings, Analyzer, RestartingAnalyzer, WorkerSetup};
use muq_live_tests::test_signal;
use muq_live_tests::torture::{golden_case, rss_kib, soak_seconds};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SAMPLE_RATE_HZ: f32 = 24_000.0;
const BLOCK_LEN: usize = 4096;
/// Bound on the median RSS of the second half over that of the first half.
const MAX_MEDIAN_RSS_GROWTH_KIB: i64 = 1024;
/// Bound on the RSS at the end over the RSS at the end of warm-up.
const MAX_RSS_GROWTH_KIB: i64 = 4096;

#[test]
fn a_long_run_of_audio_through_the_engine_drops_nothing_and_keeps_memory_flat() -> Result<()> {
    let started = Instant::now();
    let total_s = soak_seconds()?;
    let cache = tempfile::tempdir()?;
    let mulan = golden_case(|c| c.get("mulan").is_some())?;
    let mut options = AnalyzerOptions::new();
    options.model.cache_dir = Some(cache.path().to_path_buf());
    options.model.model_dir = Some(mulan);
    options.queries = vec!["calm ambient pads".into(), "loud drums".into()];
    let analyzer = RestartingAnalyzer::new(Box::new(move || {
        Ok(Box::new(MuqAnalyzer::new(options.clone())?) as Box<dyn Analyzer>)
    }))?;
    let (mut tap, feed) = bridge::new(bridge::ring_capacity_for(SAMPLE_RATE_HZ)?)?;
    let capacity = feed.capacity_samples();
    let (worker, mut link) = worker::spawn(WorkerSetup {
        sample_rate_hz: SAMPLE_RATE_HZ,
        feed,
        settings: Arc::new(AnalysisSettings {
            enabled: true,
            window_s: 2.0,
            hop_s: 0.5,
            hold_inference: false,
        }),
        analyzers: vec![Box::new(analyzer)],
        on_publish: None,
    })?;
    link.send(Command::ResetCounters)
        .map_err(|c| anyhow::anyhow!("queue refused {c:?}"))?;
    // 10 s of stereo test signal, cycled (a fresh slice offset every block).
    let signal: Vec<Vec<f32>> = (0..2)
        .map(|c| test_signal(10 * SAMPLE_RATE_HZ as usize, c, SAMPLE_RATE_HZ))
        .collect();
    let total_frames = (total_s * f64::from(SAMPLE_RATE_HZ)) as u64;
    let warmup_frames = total_frames / 10;
    let (mut num_frames, mut num_blocks, mut num_waits) = (0_u64, 0_u64, 0_u64);
    let mut rss_warm = None;
    let mut rss_peak = 0;
    let mut rss_after_warmup_kib: Vec<i64> = Vec::new();
    let mut snapshot = EngineSnapshot::default();
    while num_frames < total_frames {
        let offset = (num_blocks as usize * 997) % (signal[0].len() - BLOCK_LEN);
        tap.push_block(&[
            &signal[0][offset..offset + BLOCK_LEN],
            &signal[1][offset..offset + BLOCK_LEN],
        ]);
        num_frames += BLOCK_LEN as u64;
        num_blocks += 1;
        // Back-pressure: wait while the worker is more than half a ring behind.
        loop {
            snapshot.clone_from(link.latest());
            let captured = (snapshot.seconds_captured * f64::from(SAMPLE_RATE_HZ)).round() as u64;
            if num_frames - captured.min(num_frames) < capacity as u64 / 2 {
                break;
            }
            num_waits += 1;
            std::thread::sleep(Duration::from_millis(1));
        }
        if num_blocks % 256 == 0 {
            let rss = rss_kib()?;
            rss_peak = rss_peak.max(rss);
            if rss_warm.is_none() && num_frames >= warmup_frames {
                rss_warm = Some(rss);
            }
            if rss_warm.is_some() {
                rss_after_warmup_kib.push(rss);
            }
            let r = &snapshot.readouts;
            let finite = r
                .instruments
                .iter()
                .chain(&r.genres)
                .all(|l| l.score.is_finite())
                && r.queries.iter().all(|q| q.similarity.is_finite())
                && r.inference_ms.is_finite()
                && r.real_time_factor.is_finite();
            assert!(finite, "non-finite readout at {num_frames}: {r:?}");
        }
    }
    let feed_s = started.elapsed().as_secs_f64();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        snapshot.clone_from(link.latest());
        let captured = (snapshot.seconds_captured * f64::from(SAMPLE_RATE_HZ)).round() as u64;
        if captured == num_frames {
            break;
        }
        if Instant::now() > deadline {
            bail!("the worker did not drain: {snapshot:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let rss_end = rss_kib()?;
    let rss_warm = rss_warm.unwrap_or(rss_end);
    let half = rss_after_warmup_kib.len() / 2;
    let (first_half, second_half) = rss_after_warmup_kib.split_at_mut(half);
    let median_growth_kib =
        median(second_half).unwrap_or(rss_end) - median(first_half).unwrap_or(rss_end);
    let r = &snapshot.readouts;
    println!(
        "soak: {:.0} s ({:.2} h) of stereo audio at {SAMPLE_RATE_HZ} Hz through tap + ring + worker + MuQ \
         analyzer (tiny golden MuQ-MuLan, 2 s window, 0.5 s hop) in {feed_s:.1} s ({:.0}x real \
         time), {num_blocks} blocks of {BLOCK_LEN}, feeder waited {num_waits} x 1 ms; captured \
         {:.1} s, dropped {}; {} windows analysed, {} skipped, {} silent, phase {:?}; RSS \
         {rss_warm} KiB after warm-up ({:.0} s) -> {rss_end} KiB at the end ({:+} KiB, peak \
         {rss_peak} KiB; median of the second half {median_growth_kib:+} KiB over the first); {} \
         restarts; {:.1} s",
        num_frames as f64 / f64::from(SAMPLE_RATE_HZ),
        num_frames as f64 / f64::from(SAMPLE_RATE_HZ) / 3600.0,
        num_frames as f64 / f64::from(SAMPLE_RATE_HZ) / feed_s,
        snapshot.seconds_captured,
        snapshot.dropped_samples,
        r.num_windows_analysed,
        r.num_windows_skipped,
        r.num_windows_silent,
        r.phase,
        warmup_frames as f64 / f64::from(SAMPLE_RATE_HZ),
        rss_end - rss_warm,
        snapshot.num_analyzer_restarts,
        started.elapsed().as_secs_f64()
    );
    assert_eq!(snapshot.dropped_samples, 0, "{snapshot:?}");
    assert!(r.num_windows_analysed > 0, "the model never ran: {r:?}");
    assert_eq!(
        snapshot.num_analyzer_restarts, 0,
        "{}",
        snapshot.analyzer_status
    );
    assert!(
        median_growth_kib < MAX_MEDIAN_RSS_GROWTH_KIB,
        "the median resident memory of the second half grew by {median_growth_kib} KiB"
    );
    assert!(
        rss_end - rss_warm < MAX_RSS_GROWTH_KIB,
        "resident memory grew by {} KiB over the soak",
        rss_end - rss_warm
    );
    worker.stop()?;
    Ok(())
}

/// Median of `values` (sorts them); `None` when empty.
fn median(values: &mut [i64]) -> Option<i64> {
    values.sort_unstable();
    values.get(values.len() / 2).copied()
}
