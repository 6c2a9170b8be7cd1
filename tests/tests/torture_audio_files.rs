//! Hostile audio files, seeded: WAVs written with `hound` in every sample format, then
//! truncated, header-corrupted, lying about their length or format, empty or header-only, and
//! decoded with `muq_engine::audio::load_mono`. Every case is `Ok` (with only finite samples, no
//! more than the file holds) or a clear `Err` naming the file, never a panic.

use anyhow::{Context, Result};
use muq_engine::audio::load_mono;
use muq_live_tests::torture::{SplitMix64, no_panic};
use std::io::Cursor;
use std::time::Instant;

const SEED: u64 = 0xA0D1_0008;
const NUM_CASES: usize = 1600;

/// A valid WAV in a random format; returns its bytes and the number of frames in it.
fn random_wav(rng: &mut SplitMix64) -> Result<(Vec<u8>, usize, String)> {
    let formats: [(hound::SampleFormat, u16); 5] = [
        (hound::SampleFormat::Int, 8),
        (hound::SampleFormat::Int, 16),
        (hound::SampleFormat::Int, 24),
        (hound::SampleFormat::Int, 32),
        (hound::SampleFormat::Float, 32),
    ];
    let (sample_format, bits_per_sample) = *rng.pick(&formats);
    let spec = hound::WavSpec {
        channels: 1 + rng.below(3) as u16,
        sample_rate: *rng.pick(&[8_000, 22_050, 24_000, 44_100, 48_000, 192_000]),
        bits_per_sample,
        sample_format,
    };
    let num_frames = *rng.pick(&[0, 1, 7, 240, 1000, 4801]);
    let mut bytes = Vec::new();
    {
        let mut writer = hound::WavWriter::new(Cursor::new(&mut bytes), spec)?;
        for _ in 0..num_frames * usize::from(spec.channels) {
            let x = rng.signed_unit();
            match sample_format {
                hound::SampleFormat::Float => writer.write_sample(x)?,
                hound::SampleFormat::Int => {
                    let full_scale = ((1_i64 << (bits_per_sample - 1)) - 1) as f32;
                    writer.write_sample((x * full_scale) as i32)?
                }
            }
        }
        writer.finalize()?;
    }
    let what = format!(
        "{} ch, {} Hz, {bits_per_sample}-bit {sample_format:?}, {num_frames} frames",
        spec.channels, spec.sample_rate
    );
    Ok((bytes, num_frames, what))
}

fn find(bytes: &[u8], tag: &[u8; 4]) -> Option<usize> {
    bytes.windows(4).position(|w| w == tag)
}

fn put_u16(bytes: &mut [u8], pos: usize, value: u16) {
    if let Some(dst) = bytes.get_mut(pos..pos + 2) {
        dst.copy_from_slice(&value.to_le_bytes());
    }
}

fn put_u32(bytes: &mut [u8], pos: usize, value: u32) {
    if let Some(dst) = bytes.get_mut(pos..pos + 4) {
        dst.copy_from_slice(&value.to_le_bytes());
    }
}

/// Damages `bytes` in one of several ways; returns a description.
fn damage(bytes: &mut Vec<u8>, kind: usize, rng: &mut SplitMix64) -> Result<String> {
    let fmt = find(bytes, b"fmt ").context("no fmt chunk")?;
    let data = find(bytes, b"data").context("no data chunk")?;
    let lies = [0, 1, 3, 0x7FFF_FFFF, u32::MAX, bytes.len() as u32 * 2];
    Ok(match kind {
        0 => "intact".to_string(),
        1 => {
            let len = rng.below(bytes.len());
            bytes.truncate(len);
            format!("truncated to {len} bytes")
        }
        2 => {
            let num_flips = 1 + rng.below(4);
            for _ in 0..num_flips {
                let pos = rng.below(data + 8);
                bytes[pos] ^= 1 << rng.below(8);
            }
            format!("{num_flips} header bits flipped")
        }
        3 => {
            let lie = *rng.pick(&lies);
            put_u32(bytes, data + 4, lie);
            format!("data chunk claims {lie} bytes")
        }
        4 => {
            let lie = *rng.pick(&lies);
            put_u32(bytes, 4, lie);
            format!("RIFF chunk claims {lie} bytes")
        }
        5 => {
            // fmt fields: channels @+10, rate @+12, byte rate @+16, block align @+20, bits @+22.
            match rng.below(5) {
                0 => put_u16(bytes, fmt + 10, *rng.pick(&[0, 255, u16::MAX])),
                1 => put_u32(bytes, fmt + 12, *rng.pick(&[0, 1, u32::MAX])),
                2 => put_u32(bytes, fmt + 16, *rng.pick(&[0, u32::MAX])),
                3 => put_u16(bytes, fmt + 20, *rng.pick(&[0, 3, u16::MAX])),
                _ => put_u16(bytes, fmt + 22, *rng.pick(&[0, 7, 12, 64, u16::MAX])),
            }
            "a lying fmt field".to_string()
        }
        6 => {
            let len = *rng.pick(&[0, 4, 12, data, data + 8]);
            bytes.truncate(len.min(bytes.len()));
            format!("empty or header only ({len} bytes)")
        }
        _ => {
            let start = data + 8;
            for byte in bytes.iter_mut().skip(start) {
                *byte = rng.next_u64() as u8;
            }
            let extra = rng.below(64);
            bytes.extend((0..extra).map(|_| rng.next_u64() as u8));
            format!("random payload plus {extra} trailing bytes")
        }
    })
}

#[test]
fn hostile_audio_files_give_clear_errors_never_panics() -> Result<()> {
    let started = Instant::now();
    let dir = tempfile::tempdir()?;
    let mut rng = SplitMix64::new(SEED);
    let mut num_ok = [0_usize; 8];
    let mut num_err = [0_usize; 8];
    let mut num_samples_decoded = 0_usize;
    let mut panics = Vec::new();
    for case_idx in 0..NUM_CASES {
        let kind = case_idx % 8;
        let (mut bytes, num_frames, format) = random_wav(&mut rng)?;
        let damage_what = damage(&mut bytes, kind, &mut rng)?;
        let file_name = format!("case_{case_idx}.wav");
        let path = dir.path().join(&file_name);
        std::fs::write(&path, &bytes)?;
        let what = format!("audio case {case_idx} (seed {SEED:#x}): {format}, {damage_what}");
        let result = match no_panic(&what, || load_mono(&path)) {
            Ok(result) => result,
            Err(panic) => {
                panics.push(panic.to_string());
                continue;
            }
        };
        match result {
            Ok(decoded) => {
                num_ok[kind] += 1;
                num_samples_decoded += decoded.samples.len();
                let num_non_finite = decoded.samples.iter().filter(|s| !s.is_finite()).count();
                if num_non_finite > 0 {
                    panics.push(format!(
                        "{what}: {num_non_finite} non-finite samples returned"
                    ));
                }
                if kind == 0 {
                    assert_eq!(decoded.samples.len(), num_frames, "{what}");
                }
                if kind != 7 && kind != 2 && kind != 5 {
                    // Damage never adds audio: at most what the writer put in.
                    assert!(
                        decoded.samples.len() <= num_frames,
                        "{what}: {}",
                        decoded.samples.len()
                    );
                }
            }
            Err(err) => {
                num_err[kind] += 1;
                let msg = err.to_string();
                assert!(
                    msg.contains(&file_name),
                    "{what}: the error does not name the file: {msg}"
                );
                assert!(
                    kind != 0 || num_frames == 0,
                    "{what}: an intact file failed: {msg}"
                );
            }
        }
    }
    let kinds = [
        "intact",
        "truncated",
        "bit flips",
        "data size lie",
        "RIFF size lie",
        "fmt lie",
        "empty",
        "random payload",
    ];
    for (kind_idx, kind) in kinds.iter().enumerate() {
        println!(
            "{kind:>15}: {} ok, {} err",
            num_ok[kind_idx], num_err[kind_idx]
        );
    }
    println!(
        "{NUM_CASES} audio files, {} panics, {num_samples_decoded} samples decoded, {:.1} s",
        panics.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        panics.is_empty(),
        "{} panics:\n{}",
        panics.len(),
        panics.join("\n")
    );
    assert!(num_err[6] > 0 && num_ok[0] > 0, "{num_ok:?} {num_err:?}");
    Ok(())
}
