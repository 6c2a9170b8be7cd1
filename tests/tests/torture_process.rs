//! `MuqLive::process()` swept in-process like a host would drive it: 22.05 to 192 kHz x block
//! sizes 1 to 16384 x mono and stereo, plus a seeded run of random sizes including 0, every call
//! inside `assert_no_alloc` (an allocation aborts the test binary) and every output bit-identical
//! to its input; then a long simulated run (ten minutes; `MUQ_SOAK_S=3600` for an hour) of hostile audio (NaN, ±Inf, denormals, DC,
//! full-scale noise, digital silence) with the worker running, polling the editor link: no
//! panic, exact passthrough and no non-finite number in any published snapshot.

use anyhow::{Result, bail};
use muq_engine::bridge::{EngineSnapshot, WorkerState};
use muq_live::MuqLive;
use muq_live::editor::EditorLink;
use muq_live_tests::torture::{
    FakeProcessContext, SplitMix64, activate, process_block, soak_seconds,
};
use muq_live_tests::{assert_bit_exact, test_signal};
use nice_plug::prelude::*;
use std::time::{Duration, Instant};

const SAMPLE_RATES_HZ: [f32; 6] = [22_050.0, 44_100.0, 48_000.0, 88_200.0, 96_000.0, 192_000.0];
const BLOCK_SIZES: [usize; 8] = [1, 2, 31, 64, 511, 512, 4096, 16_384];
const MAX_BLOCK: usize = 16_384;
const SEED: u64 = 0x5EE9_0008;

fn num_channels(layout_idx: usize) -> usize {
    MuqLive::AUDIO_IO_LAYOUTS[layout_idx]
        .main_output_channels
        .map_or(0, |n| n.get() as usize)
}

/// Waits until the worker has drained the ring, then returns the snapshot.
fn drained(link: &EditorLink, what: &str) -> Result<EngineSnapshot> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut snapshot = EngineSnapshot::default();
    loop {
        link.copy_latest(&mut snapshot);
        if snapshot.ring_fill_samples == 0 && snapshot.seconds_captured > 0.0 {
            // One more publish so the count is not from a snapshot taken mid-drain.
            std::thread::sleep(Duration::from_millis(30));
            link.copy_latest(&mut snapshot);
            if snapshot.ring_fill_samples == 0 {
                return Ok(snapshot);
            }
        }
        if Instant::now() > deadline {
            bail!("{what}: the worker did not drain the ring: {snapshot:?}");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Every block size, then random sizes, through one activated plugin.
fn sweep(layout_idx: usize, sample_rate_hz: f32, rng: &mut SplitMix64) -> Result<(usize, usize)> {
    let channel_count = num_channels(layout_idx);
    let what = format!("{channel_count} ch at {sample_rate_hz} Hz");
    let mut plugin = MuqLive::default();
    if !activate(&mut plugin, layout_idx, sample_rate_hz, MAX_BLOCK as u32) {
        bail!("{what}: activation failed");
    }
    plugin.reset();
    let link = plugin.editor_link();
    let inputs: Vec<Vec<f32>> = (0..channel_count)
        .map(|c| test_signal(2 * MAX_BLOCK, c, sample_rate_hz))
        .collect();
    let mut channels = vec![vec![0.0_f32; MAX_BLOCK]; channel_count];
    let mut context = FakeProcessContext::new(sample_rate_hz);
    let mut sizes = Vec::new();
    for &block_len in &BLOCK_SIZES {
        let num_blocks = (MAX_BLOCK / block_len).clamp(1, 1024);
        sizes.extend(std::iter::repeat_n(block_len, num_blocks));
    }
    for _ in 0..64 {
        sizes.push(match rng.below(4) {
            0 => 0,
            1 => 1 + rng.below(64),
            _ => rng.below(MAX_BLOCK + 1),
        });
    }
    let (mut num_frames, mut num_calls) = (0, 0);
    for (call_idx, &block_len) in sizes.iter().enumerate() {
        let offset = (call_idx * 7919) % MAX_BLOCK;
        for (channel, input) in channels.iter_mut().zip(&inputs) {
            channel[..block_len].copy_from_slice(&input[offset..offset + block_len]);
        }
        let status = process_block(&mut plugin, &mut context, &mut channels, block_len, true);
        if !matches!(status, ProcessStatus::Normal) {
            bail!("{what}: block {block_len} returned {status:?}");
        }
        for (channel_idx, (channel, input)) in channels.iter().zip(&inputs).enumerate() {
            assert_bit_exact(
                &input[offset..offset + block_len],
                &channel[..block_len],
                &format!("{what}, call {call_idx}, block {block_len}, channel {channel_idx}"),
            )?;
        }
        num_frames += block_len;
        num_calls += 1;
    }
    // Nothing lost: every frame was either captured by the worker or counted as dropped.
    let snapshot = drained(&link, &what)?;
    let captured = (snapshot.seconds_captured * f64::from(sample_rate_hz)).round() as u64;
    assert_eq!(
        captured + snapshot.dropped_samples,
        num_frames as u64,
        "{what}: {snapshot:?}"
    );
    assert_eq!(snapshot.state, WorkerState::Running);
    plugin.deactivate();
    Ok((num_calls, num_frames))
}

#[test]
fn every_rate_block_size_and_layout_passes_audio_through_without_allocating() -> Result<()> {
    let started = Instant::now();
    let mut rng = SplitMix64::new(SEED);
    let (mut total_calls, mut total_frames) = (0, 0);
    for layout_idx in 0..MuqLive::AUDIO_IO_LAYOUTS.len() {
        for &sample_rate_hz in &SAMPLE_RATES_HZ {
            let (num_calls, num_frames) = sweep(layout_idx, sample_rate_hz, &mut rng)?;
            total_calls += num_calls;
            total_frames += num_frames;
        }
    }
    println!(
        "{} layouts x {} rates x {} block sizes + 64 random sizes (0..=16384): {total_calls} \
         process() calls, {total_frames} frames, 0 allocations, bit-exact, 0 frames unaccounted; \
         {:.1} s",
        MuqLive::AUDIO_IO_LAYOUTS.len(),
        SAMPLE_RATES_HZ.len(),
        BLOCK_SIZES.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(total_calls > 0);
    Ok(())
}

/// Hostile signal kinds, 30 s each, cycled.
const HOSTILE_KINDS: [&str; 11] = [
    "NaN",
    "+Inf",
    "-Inf",
    "denormals",
    "DC +1",
    "DC -0.5",
    "full-scale noise",
    "digital silence",
    "-0.0 silence",
    "random mix of all",
    "±3e38 (finite but absurd)",
];

fn hostile_sample(kind_idx: usize, rng: &mut SplitMix64) -> f32 {
    let specials = [
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        1.0e-40,
        f32::MAX,
        0.0,
        -0.0,
    ];
    match kind_idx {
        0 => f32::NAN,
        1 => f32::INFINITY,
        2 => f32::NEG_INFINITY,
        3 => f32::from_bits(1 + rng.below(0x007F_FFFE) as u32),
        4 => 1.0,
        5 => -0.5,
        6 => rng.signed_unit(),
        7 => 0.0,
        8 => -0.0,
        9 => *rng.pick(&specials),
        _ => 3.0e38 * rng.signed_unit().signum(),
    }
}

/// The snapshot's `Debug` text when it holds a NaN or an infinity anywhere, readouts included.
/// The two level meters are the one exception: they read `-inf` dBFS for digital silence by
/// design (the editor prints "-inf dBFS"); NaN or `+inf` there still counts.
fn non_finite_in(snapshot: &EngineSnapshot) -> Option<String> {
    let mut copy = snapshot.clone();
    for level_dbfs in [&mut copy.input_peak_dbfs, &mut copy.input_rms_dbfs] {
        if *level_dbfs == f32::NEG_INFINITY {
            *level_dbfs = -1000.0;
        }
    }
    let text = format!("{copy:?}");
    has_non_finite(&text).then_some(text)
}

/// True when `text` (a `Debug` rendering) contains a NaN or an infinity.
fn has_non_finite(text: &str) -> bool {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .any(|token| matches!(token, "NaN" | "inf" | "-inf"))
}

#[test]
fn a_long_run_of_hostile_audio_passes_through_and_publishes_only_finite_numbers() -> Result<()> {
    const SAMPLE_RATE_HZ: f32 = 48_000.0;
    const BLOCK_LEN: usize = 4096;
    const SEGMENT_S: usize = 30;
    // Whole segments of the long-run length (`MUQ_SOAK_S`: ten minutes, or the full hour).
    let simulated_s = (soak_seconds()? as usize).div_ceil(SEGMENT_S) * SEGMENT_S;
    let started = Instant::now();
    let mut plugin = MuqLive::default();
    if !activate(&mut plugin, 0, SAMPLE_RATE_HZ, BLOCK_LEN as u32) {
        bail!("activation failed");
    }
    let link = plugin.editor_link();
    let mut context = FakeProcessContext::new(SAMPLE_RATE_HZ);
    let mut rng = SplitMix64::new(SEED ^ 0x4057);
    let channel_count = num_channels(0);
    let mut inputs = vec![vec![0.0_f32; BLOCK_LEN]; channel_count];
    let mut channels = inputs.clone();
    let mut snapshot = EngineSnapshot::default();
    let (mut num_polls, mut num_frames, mut max_publishes) = (0_u64, 0_usize, 0_u64);
    let mut num_silent_polls = 0_u64;
    let segment_frames = SEGMENT_S * SAMPLE_RATE_HZ as usize;
    let total_frames = simulated_s * SAMPLE_RATE_HZ as usize;
    let mut block_idx = 0;
    while num_frames < total_frames {
        let kind_idx = (num_frames / segment_frames) % HOSTILE_KINDS.len();
        // Refill the input a few times per segment (the same block repeats in between).
        if block_idx % 64 == 0 || kind_idx == 6 || kind_idx >= 9 {
            for input in inputs.iter_mut() {
                input
                    .iter_mut()
                    .for_each(|x| *x = hostile_sample(kind_idx, &mut rng));
            }
        }
        for (channel, input) in channels.iter_mut().zip(&inputs) {
            channel.copy_from_slice(input);
        }
        let status = process_block(&mut plugin, &mut context, &mut channels, BLOCK_LEN, true);
        if !matches!(status, ProcessStatus::Normal) {
            bail!("{}: process returned {status:?}", HOSTILE_KINDS[kind_idx]);
        }
        for (channel, input) in channels.iter().zip(&inputs) {
            assert_bit_exact(input, channel, HOSTILE_KINDS[kind_idx])?;
        }
        num_frames += BLOCK_LEN;
        block_idx += 1;
        // Keep at most 10 s in the 20 s ring so the worker sees every hostile kind and nothing
        // is dropped (pushing flat out would only measure the ring's drop path).
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            link.copy_latest(&mut snapshot);
            let captured = snapshot.seconds_captured * f64::from(SAMPLE_RATE_HZ);
            if captured + 10.0 * f64::from(SAMPLE_RATE_HZ) >= num_frames as f64 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the worker stalled: {snapshot:?}"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        if block_idx % 16 == 0 {
            num_polls += 1;
            max_publishes = max_publishes.max(snapshot.num_publishes);
            let bad = non_finite_in(&snapshot);
            if bad.is_some() || snapshot.input_peak_dbfs == f32::NEG_INFINITY {
                num_silent_polls += u64::from(bad.is_none());
            }
            assert!(
                bad.is_none(),
                "non-finite number published during {} at {:.1} s: {bad:?}",
                HOSTILE_KINDS[kind_idx],
                num_frames as f64 / f64::from(SAMPLE_RATE_HZ)
            );
            assert_ne!(snapshot.state, WorkerState::Stopped, "the worker died");
            assert!(
                !snapshot.analyzer_status.contains("panicked"),
                "hostile audio made an analyzer panic: {}",
                snapshot.analyzer_status
            );
        }
    }
    let last = drained(&link, "hostile audio")?;
    assert_eq!(non_finite_in(&last), None);
    assert!(
        !last.analyzer_status.contains("panicked"),
        "{}",
        last.analyzer_status
    );
    assert!(plugin.is_worker_running());
    let captured = (last.seconds_captured * f64::from(SAMPLE_RATE_HZ)).round() as u64;
    assert_eq!(last.dropped_samples, 0, "{last:?}");
    assert_eq!(captured, num_frames as u64, "{last:?}");
    plugin.deactivate();
    println!(
        "{simulated_s} s of hostile audio at 48 kHz ({} kinds x {SEGMENT_S} s, {num_frames} \
         stereo frames, {block_idx} blocks) in {:.1} s: passthrough exact, {num_polls} snapshots \
         polled ({} publishes), none non-finite ({num_silent_polls} read -inf dBFS = silence); captured {captured}, \
         dropped {}; last peak {} dBFS, rms {} dBFS",
        HOSTILE_KINDS.len(),
        started.elapsed().as_secs_f64(),
        max_publishes.max(last.num_publishes),
        last.dropped_samples,
        last.input_peak_dbfs,
        last.input_rms_dbfs
    );
    Ok(())
}

#[test]
fn the_non_finite_detector_works() {
    assert!(has_non_finite("EngineSnapshot { peak: NaN }"));
    assert!(has_non_finite("x: -inf, y: 1.0"));
    assert!(has_non_finite("[inf]"));
    assert!(!has_non_finite(
        "status: \"info: infinite loop avoided\", x: -120.0"
    ));
}
