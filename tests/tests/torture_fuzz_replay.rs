//! The fuzz targets' bodies (`muq_live_tests::torture::fuzz`, also built by the cargo-fuzz
//! targets in `fuzz/`) replayed over a seeded, generated corpus on every CI run: valid seeds
//! (golden MuQ configs, the golden `model.safetensors`, CPython pickles, WAVs in every format)
//! mutated by bit flips, byte edits, truncation, splices and hostile JSON tokens, plus every file
//! under `fuzz/regressions/<target>/` (a crash found by a long cargo-fuzz run, copied there,
//! becomes a CI case) and the local `fuzz/corpus/` and `fuzz/artifacts/`. A panic fails with the
//! case.

use anyhow::{Context, Result};
use muq_live_tests::torture::fuzz;
use muq_live_tests::torture::{SplitMix64, golden_case, golden_dir, no_panic};
use muq_live_tests::workspace_root;
use std::io::Cursor;
use std::time::Instant;

const SEED: u64 = 0xF022_0008;
const NUM_CASES_PER_TARGET: usize = 300;

/// JSON fragments that stress number and type handling.
const TOKENS: [&[u8]; 10] = [
    b"1e999",
    b"-1",
    b"0",
    b"null",
    b"[]",
    b"{}",
    b"\"x\"",
    b"18446744073709551616",
    b"-0.0",
    b"true",
];

fn mutate(seed: &[u8], rng: &mut SplitMix64) -> Vec<u8> {
    let mut data = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let len = data.len();
        match rng.below(6) {
            0 if len > 0 => {
                let idx = rng.below(len);
                data[idx] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let idx = rng.below(len);
                data[idx] = rng.next_u64() as u8;
            }
            2 => data.truncate(rng.below(len + 1)),
            3 => {
                let idx = rng.below(len + 1);
                let token = *rng.pick(&TOKENS);
                data.splice(idx..idx, token.iter().copied());
            }
            4 if len > 1 => {
                // Duplicate a random span somewhere else.
                let start = rng.below(len);
                let end = (start + 1 + rng.below(64)).min(len);
                let span = data[start..end].to_vec();
                let at = rng.below(data.len() + 1);
                data.splice(at..at, span);
            }
            _ => {
                // Header-area edits matter most: hit the first 64 bytes.
                let idx = rng.below(len.clamp(1, 64));
                if idx < data.len() {
                    data[idx] = rng.next_u64() as u8;
                }
            }
        }
    }
    data
}

fn wav_seed(rng: &mut SplitMix64) -> Result<Vec<u8>> {
    let formats: [(hound::SampleFormat, u16); 4] = [
        (hound::SampleFormat::Int, 8),
        (hound::SampleFormat::Int, 16),
        (hound::SampleFormat::Int, 24),
        (hound::SampleFormat::Float, 32),
    ];
    let (sample_format, bits_per_sample) = *rng.pick(&formats);
    let spec = hound::WavSpec {
        channels: 1 + rng.below(2) as u16,
        sample_rate: *rng.pick(&[8_000, 44_100, 48_000]),
        bits_per_sample,
        sample_format,
    };
    let mut bytes = Cursor::new(Vec::new());
    let mut writer = hound::WavWriter::new(&mut bytes, spec)?;
    for idx in 0..256 * u32::from(spec.channels) {
        let x = (idx as f32 * 0.05).sin() * 0.5;
        match sample_format {
            hound::SampleFormat::Float => writer.write_sample(x)?,
            hound::SampleFormat::Int => {
                writer.write_sample((x * ((1_i32 << (bits_per_sample - 1)) - 1) as f32) as i32)?
            }
        }
    }
    writer.finalize()?;
    Ok(bytes.into_inner())
}

/// Committed regression inputs (`fuzz/regressions/<target>/`) and, locally, what cargo-fuzz
/// runs left in `fuzz/corpus/<target>/` and `fuzz/artifacts/<target>/` (git-ignored).
fn saved_inputs(target: &str) -> Result<Vec<Vec<u8>>> {
    let mut inputs = Vec::new();
    for kind in ["regressions", "corpus", "artifacts"] {
        let dir = workspace_root().join("fuzz").join(kind).join(target);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry?.path();
            if path.is_file() {
                inputs.push(std::fs::read(&path).with_context(|| path.display().to_string())?);
            }
        }
    }
    Ok(inputs)
}

type Body = fn(&[u8]) -> Result<bool>;

fn replay(target: &str, body: Body, seeds: &[Vec<u8>], rng: &mut SplitMix64) -> Result<()> {
    let started = Instant::now();
    let saved = saved_inputs(target)?;
    let (mut num_accepted, mut num_refused) = (0, 0);
    let mut cases: Vec<Vec<u8>> = seeds.to_vec();
    cases.extend(saved.iter().cloned());
    for _ in 0..NUM_CASES_PER_TARGET {
        let seed = rng.pick(seeds);
        cases.push(mutate(seed, rng));
    }
    for (case_idx, data) in cases.iter().enumerate() {
        let what = format!(
            "fuzz target {target}, case {case_idx} ({} bytes)",
            data.len()
        );
        if no_panic(&what, || body(data))?? {
            num_accepted += 1;
        } else {
            num_refused += 1;
        }
    }
    println!(
        "{target}: {} cases ({} seeds, {} saved, {NUM_CASES_PER_TARGET} mutants): {num_accepted} \
         accepted, {num_refused} refused with a message, 0 panics; {:.1} s",
        cases.len(),
        seeds.len(),
        saved.len(),
        started.elapsed().as_secs_f64()
    );
    // The seeds are valid: a body that refuses everything would test nothing.
    assert!(
        num_accepted >= seeds.len().min(1),
        "{target}: nothing accepted"
    );
    assert!(num_refused > 0, "{target}: no mutant was refused");
    Ok(())
}

#[test]
fn config_target_replay() -> Result<()> {
    // Every golden MuQ config (MuQ-MuLan's nests one under `audio_model`).
    let mut seeds = Vec::new();
    for entry in std::fs::read_dir(golden_dir()?)? {
        let path = entry?.path().join("config.json");
        let Ok(text) = std::fs::read(&path) else {
            continue;
        };
        let value: serde_json::Value = serde_json::from_slice(&text)?;
        if value.get("encoder_dim").is_some() {
            seeds.push(text);
        }
    }
    replay("config", fuzz::config, &seeds, &mut SplitMix64::new(SEED))
}

#[test]
fn checkpoint_target_replay() -> Result<()> {
    let dir = golden_case(|c| c.get("encoder_dim").is_some())?;
    let mut safetensors = vec![0_u8];
    safetensors.extend(std::fs::read(dir.join("model.safetensors"))?);
    // A state dict `{"w": OrderedDict()}`-like pickle and one that imports os.system (CPython
    // protocols 2 and 4): accepted and refused starting points for the pickle guard.
    let plain = vec![0x80_u8, 0x80, 2, b'}', b'.'];
    let mut evil2 = vec![0x80_u8];
    evil2.extend_from_slice(b"\x80\x02}q\x00X\x01\x00\x00\x00wq\x01cposix\nsystem\nq\x02X\x01\x00\x00\x00xq\x03\x85q\x04Rq\x05s.");
    let mut evil4 = vec![0x80_u8];
    evil4.extend_from_slice(b"\x80\x04\x95\x20\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01w\x94\x8c\x05posix\x94\x8c\x06system\x94\x93\x94\x8c\x01x\x94\x85\x94R\x94s.");
    let seeds = vec![safetensors, plain, evil2, evil4];
    replay(
        "checkpoint",
        fuzz::checkpoint,
        &seeds,
        &mut SplitMix64::new(SEED ^ 1),
    )
}

#[test]
fn audio_file_target_replay() -> Result<()> {
    let mut rng = SplitMix64::new(SEED ^ 2);
    let seeds = (0..8)
        .map(|_| wav_seed(&mut rng))
        .collect::<Result<Vec<_>>>()?;
    replay("audio_file", fuzz::audio_file, &seeds, &mut rng)
}
