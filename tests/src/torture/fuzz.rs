//! Fuzz target bodies, shared by the cargo-fuzz targets in `fuzz/` (long runs, libFuzzer) and by
//! the seeded replay test `tests/tests/torture_fuzz_replay.rs` (every CI run). Each takes raw
//! bytes, feeds them to one parser of untrusted input and returns `Ok(true)` when the input was
//! accepted, `Ok(false)` when it was refused with a non-empty error; a panic is the bug being
//! hunted, and an `Err` here means an I/O failure of the harness itself.

use anyhow::Result;
use candle_core::Device;
use muq_engine::audio::load_mono;
use muq_engine::load::open_checkpoint;
use muq_engine::models::muq::MuqConfig;
use std::io::Write;

/// The refusal must say something.
fn judged<T>(result: muq_engine::Result<T>) -> bool {
    match result {
        Ok(_) => true,
        Err(err) => {
            assert!(!err.to_string().trim().is_empty(), "an empty error message");
            false
        }
    }
}

/// `MuqConfig::from_json_str` on `data` as (lossy) UTF-8 text.
pub fn config(data: &[u8]) -> Result<bool> {
    let text = String::from_utf8_lossy(data);
    Ok(judged(MuqConfig::from_json_str(&text)))
}

/// `load::open_checkpoint` on `data` written as a checkpoint file: with a first byte below 128
/// the rest is a `model.safetensors` (header length, JSON header, tensor data); otherwise it is
/// the `archive/data.pkl` pickle of a PyTorch zip `pytorch_model.bin` (the pickle allow-list
/// guard, then candle's reader).
pub fn checkpoint(data: &[u8]) -> Result<bool> {
    let Some((&selector, rest)) = data.split_first() else {
        return Ok(false);
    };
    let dir = tempfile::tempdir()?;
    let path = if selector < 128 {
        let path = dir.path().join("model.safetensors");
        std::fs::write(&path, rest)?;
        path
    } else {
        let path = dir.path().join("pytorch_model.bin");
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&path)?);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        zip.start_file("archive/data.pkl", options)?;
        zip.write_all(rest)?;
        zip.start_file("archive/version", options)?;
        zip.write_all(b"3\n")?;
        zip.finish()?;
        path
    };
    Ok(judged(open_checkpoint(&path, &Device::Cpu)))
}

/// `audio::load_mono` on `data` written as `input.wav`; an accepted file must hold only finite
/// samples.
pub fn audio_file(data: &[u8]) -> Result<bool> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("input.wav");
    std::fs::write(&path, data)?;
    let decoded = load_mono(&path);
    if let Ok(audio) = &decoded {
        assert!(
            audio.samples.iter().all(|x| x.is_finite()),
            "non-finite sample decoded"
        );
    }
    Ok(judged(decoded))
}
