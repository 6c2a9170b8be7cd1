//! The process sweep through the real CLAP entry point (`clack-host`) on the debug plugin
//! library, where nice-plug's `assert_process_allocs` aborts on any allocation in `process()`:
//! 22.05 to 192 kHz x block sizes 1 to 16384 x stereo and mono, plus a seeded run of random
//! sizes, every output bit-identical to its input. (CLAP has no 0-frame process call; the
//! in-process sweep in `torture_process.rs` covers 0.)
//!
//! A host test like `clap_host.rs`: `#[ignore]`d in a plain `cargo test`, run by
//! `scripts/test.sh` or `cargo test -p muq-live-tests --test torture_clap -- --ignored`.

use anyhow::Result;
use muq_live_tests::clap_host::{ClapInstance, LoadedClap};
use muq_live_tests::torture::SplitMix64;
use muq_live_tests::{assert_bit_exact, debug_plugin_library, test_signal};
use std::time::Instant;

const SAMPLE_RATES_HZ: [f64; 6] = [22_050.0, 44_100.0, 48_000.0, 88_200.0, 96_000.0, 192_000.0];
const BLOCK_SIZES: [usize; 8] = [1, 2, 31, 64, 511, 512, 4096, 16_384];
const SEED: u64 = 0xC1A9_0008;

/// Runs every block size (and the random run) at every rate; returns (frames, blocks).
fn sweep(
    instance: &mut ClapInstance,
    num_channels: usize,
    random: &[usize],
) -> Result<(usize, usize)> {
    let (mut num_frames_total, mut num_blocks_total) = (0, 0);
    for sample_rate_hz in SAMPLE_RATES_HZ {
        let single: Vec<[usize; 1]> = BLOCK_SIZES.iter().map(|&b| [b]).collect();
        let mut runs: Vec<&[usize]> = single.iter().map(|b| &b[..]).collect();
        runs.push(random);
        for block_sizes in runs {
            // Two blocks of the largest size, at least 4096 frames, plus a ragged tail.
            let largest = block_sizes.iter().copied().max().unwrap_or(1);
            let num_frames = (2 * largest).max(4096) + 333;
            let input: Vec<Vec<f32>> = (0..num_channels)
                .map(|c| test_signal(num_frames, c, sample_rate_hz as f32))
                .collect();
            let output = instance.process(sample_rate_hz, block_sizes, &input, &[])?;
            for (channel_idx, (out, inp)) in output.iter().zip(&input).enumerate() {
                assert_bit_exact(
                    inp,
                    out,
                    &format!(
                        "{num_channels} ch, {sample_rate_hz} Hz, blocks {:?}, channel {channel_idx}",
                        &block_sizes[..block_sizes.len().min(4)]
                    ),
                )?;
            }
            num_frames_total += num_frames;
            // The host helper cycles `block_sizes` until the input is used up.
            let mut num_done = 0;
            for &block_len in block_sizes.iter().cycle() {
                if num_done >= num_frames {
                    break;
                }
                num_done += block_len;
                num_blocks_total += 1;
            }
        }
    }
    Ok((num_frames_total, num_blocks_total))
}

#[test]
#[ignore = "host test: loads the debug plugin library; run with --ignored (scripts/test.sh)"]
fn clap_sweep_every_rate_and_block_size_is_bit_exact_without_allocating() -> Result<()> {
    let started = Instant::now();
    let library = debug_plugin_library()?;
    let clap = LoadedClap::load(&library)?;
    let mut instance = clap.instantiate()?;
    let mut rng = SplitMix64::new(SEED);
    let random: Vec<usize> = (0..64)
        .map(|_| match rng.below(3) {
            0 => 1 + rng.below(64),
            _ => 1 + rng.below(16_384),
        })
        .collect();
    let (stereo_frames, stereo_blocks) = sweep(&mut instance, 2, &random)?;
    instance.select_layout(1)?;
    assert_eq!(instance.main_port_channels()?, (1, 1));
    let (mono_frames, mono_blocks) = sweep(&mut instance, 1, &random)?;
    println!(
        "CLAP ({}): {} rates x ({} block sizes + 64 random) x stereo/mono: {} frames in {} process \
         calls, bit-exact, no allocation abort; {:.1} s",
        library.display(),
        SAMPLE_RATES_HZ.len(),
        BLOCK_SIZES.len(),
        stereo_frames + mono_frames,
        stereo_blocks + mono_blocks,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
