//! The audio path never allocates: `AudioTap::push_block` and `MuqLive::process()` run inside
//! `nice_assert_no_alloc::assert_no_alloc` (whose allocator nice-plug's `assert_process_allocs`
//! feature installs in debug builds) with varied block sizes, including a full ring.
//!
//! The canary test proves the checker is live: it re-runs this test binary in a child process
//! that allocates inside the guard and expects the child to abort.

use muq_engine::bridge::{self, WorkerState};
use muq_live::MuqLive;
use muq_live_tests::torture::{FakeActivateContext, FakeProcessContext};
use muq_live_tests::{assert_bit_exact, test_signal};
use nice_assert_no_alloc::assert_no_alloc;
use nice_plug::prelude::*;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Set in the child process of the canary test.
const CANARY_ENV: &str = "MUQ_LIVE_ALLOC_CANARY";
const BLOCK_SIZES: [usize; 7] = [1, 2, 64, 511, 512, 4096, 8192];

#[test]
fn allocation_inside_the_guard_aborts() -> anyhow::Result<()> {
    if std::env::var_os(CANARY_ENV).is_some() {
        let len = assert_no_alloc(|| std::hint::black_box(vec![0.0_f32; 1024]).len());
        // Only reached when the allocator does not check: the parent sees a clean exit and fails.
        println!("allocated {len} floats without an abort");
        return Ok(());
    }
    let exe = std::env::current_exe()?;
    let output = std::process::Command::new(exe)
        .args([
            "--exact",
            "allocation_inside_the_guard_aborts",
            "--test-threads=1",
            "--nocapture",
        ])
        .env(CANARY_ENV, "1")
        .output()?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "an allocation inside assert_no_alloc did not abort; is nice-plug's \
         assert_process_allocs feature on and is this a debug build?\n{stderr}"
    );
    assert!(
        stderr.contains("memory allocation"),
        "unexpected failure: {stderr}"
    );
    Ok(())
}

#[test]
fn audio_tap_push_does_not_allocate() -> anyhow::Result<()> {
    // A ring smaller than the total pushed, so the full-ring (drop and count) path runs too.
    let (mut tap, mut feed) = bridge::new(48_000)?;
    let left = test_signal(8192, 0, 48_000.0);
    let right = test_signal(8192, 1, 48_000.0);
    let mut num_offered = 0;
    let num_pushed: usize = assert_no_alloc(|| {
        let mut num_pushed = 0;
        for _ in 0..4 {
            for &block_len in &BLOCK_SIZES {
                num_pushed += tap.push_block(&[&left[..block_len], &right[..block_len]]);
                num_pushed += tap.push_block(&[&left[..block_len]]);
                num_offered += 2 * block_len;
            }
        }
        num_pushed
    });
    assert_eq!(num_pushed, 48_000);
    assert_eq!(tap.dropped_samples(), (num_offered - num_pushed) as u64);
    let mut out = vec![0.0; 48_000];
    assert_eq!(feed.pop_into(&mut out), 48_000);
    // The first pushed block is the 1-sample stereo mean, the second the mono copy.
    assert_eq!(out[0], (left[0] + right[0]) / 2.0);
    assert_eq!(out[1].to_bits(), left[0].to_bits());
    Ok(())
}

/// Activates a plugin like a host would, processes every block size through `process()` under
/// the allocation guard, and checks the audio is untouched and reaches the worker.
fn process_without_allocating(layout_idx: usize, sample_rate_hz: f32) -> anyhow::Result<()> {
    let layout = MuqLive::AUDIO_IO_LAYOUTS[layout_idx];
    let num_channels = layout.main_output_channels.map_or(0, |n| n.get() as usize);
    let mut plugin = MuqLive::default();
    let buffer_config = BufferConfig {
        sample_rate: sample_rate_hz,
        min_buffer_size: None,
        max_buffer_size: 8192,
        process_mode: ProcessMode::Realtime,
    };
    assert!(plugin.activate(&layout, &buffer_config, &mut FakeActivateContext));
    assert!(plugin.is_worker_running());
    plugin.reset();

    let inputs: Vec<Vec<f32>> = (0..num_channels)
        .map(|c| test_signal(8192, c, sample_rate_hz))
        .collect();
    let mut channels = inputs.clone();
    let mut context = FakeProcessContext {
        transport: Transport::new(sample_rate_hz),
    };
    let mut num_frames_total = 0;
    for &block_len in &BLOCK_SIZES {
        for (channel, input) in channels.iter_mut().zip(&inputs) {
            channel[..block_len].copy_from_slice(&input[..block_len]);
        }
        let status = {
            let mut buffer = Buffer::default();
            // SAFETY: the slices point into `channels`, which outlives `buffer`.
            unsafe {
                buffer.set_slices(block_len, |slices| {
                    for channel in channels.iter_mut() {
                        slices.push(&mut channel[..block_len]);
                    }
                });
            }
            let mut aux = AuxiliaryBuffers {
                inputs: &mut [],
                outputs: &mut [],
            };
            assert_no_alloc(|| plugin.process(&mut buffer, &mut aux, &mut context))
        };
        assert!(matches!(status, ProcessStatus::Normal));
        for (channel_idx, (channel, input)) in channels.iter().zip(&inputs).enumerate() {
            assert_bit_exact(
                &input[..block_len],
                &channel[..block_len],
                &format!("{num_channels} ch, block {block_len}, channel {channel_idx}"),
            )?;
        }
        num_frames_total += block_len;
    }

    // The worker saw every frame (the ring holds 20 s, far more than pushed here).
    let link = plugin.editor_link();
    let expected_s = num_frames_total as f64 / f64::from(sample_rate_hz);
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut snapshot = Default::default();
    loop {
        link.copy_latest(&mut snapshot);
        if snapshot.seconds_captured >= expected_s - 1e-9 || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(
        (snapshot.seconds_captured - expected_s).abs() < 1e-9,
        "{snapshot:?}"
    );
    assert_eq!(snapshot.sample_rate_hz, sample_rate_hz);
    assert_eq!(snapshot.dropped_samples, 0);
    assert_eq!(snapshot.state, WorkerState::Running);

    plugin.deactivate();
    assert!(!plugin.is_worker_running());
    link.copy_latest(&mut snapshot);
    assert_eq!(snapshot.state, WorkerState::Stopped);
    Ok(())
}

#[test]
fn stereo_process_does_not_allocate_and_passes_audio_through() -> anyhow::Result<()> {
    process_without_allocating(0, 48_000.0)
}

#[test]
fn mono_process_does_not_allocate_and_passes_audio_through() -> anyhow::Result<()> {
    process_without_allocating(1, 44_100.0)
}

#[test]
fn default_construction_is_cheap() {
    let started = Instant::now();
    let mut plugin = MuqLive::default();
    let _params = plugin.params();
    let _editor = plugin.editor(AsyncExecutor::new(Arc::new(|_| ()), Arc::new(|_| ())));
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    assert!(elapsed_ms < 100.0, "construction took {elapsed_ms:.1} ms");
    assert!(
        !plugin.is_worker_running(),
        "a worker started before activate()"
    );
}
