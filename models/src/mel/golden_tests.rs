//! Mel frontend vs the official fixtures (`../shared/golden`, or `$MUQ_GOLDEN_DIR`): the window
//! and filterbank of `muq_rotary`, and `mel_db` / `mel_norm` of every `muq_*` case.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use candle_core::{Device, Tensor};

use super::{MelConfig, MelSpectrogram, StreamingMel, normalize_in_place};

fn golden_dir() -> PathBuf {
    match std::env::var_os("MUQ_GOLDEN_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("..")
            .join("shared")
            .join("golden"),
    }
}

/// Case folders whose `config.json` is a MuQ config (has the mel `stat`) and whose expected
/// tensors include `mel_db` — classified by content, not by folder name.
fn muq_cases() -> Result<Vec<PathBuf>> {
    let dir = golden_dir();
    let mut cases = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("golden dir {}", dir.display()))? {
        let path = entry?.path();
        let Ok(text) = std::fs::read_to_string(path.join("config.json")) else {
            continue;
        };
        let config: serde_json::Value = serde_json::from_str(&text)?;
        let is_muq = config["stat"]["melspec_2048_mean"].is_number();
        if is_muq && load_expected(&path).is_ok_and(|exp| exp.contains_key("mel_db")) {
            cases.push(path);
        }
    }
    cases.sort();
    ensure!(
        !cases.is_empty(),
        "no MuQ case with mel_db in {}",
        dir.display()
    );
    Ok(cases)
}

/// The frontend a case's `config.json` describes (`features: ["melspec_2048"]` → n_fft 2048).
fn mel_config_of(config: &serde_json::Value) -> Result<MelConfig> {
    let mut cfg = MelConfig::muq();
    if let Some(hop) = config["hop_length"].as_u64() {
        cfg.hop_length = usize::try_from(hop)?;
    }
    if let Some(n_mels) = config["n_mels"].as_u64() {
        cfg.n_mels = usize::try_from(n_mels)?;
    }
    ensure!(
        config["features"][0]
            .as_str()
            .is_none_or(|f| f == "melspec_2048"),
        "unexpected features"
    );
    Ok(cfg)
}

fn load_expected(case: &Path) -> Result<HashMap<String, Tensor>> {
    Ok(candle_core::safetensors::load(
        case.join("expected.safetensors"),
        &Device::Cpu,
    )?)
}

fn read_wav_f32(path: &Path) -> Result<Vec<f32>> {
    let mut reader = hound::WavReader::open(path)?;
    ensure!(
        reader.spec().sample_format == hound::SampleFormat::Float,
        "fixture WAV is not float"
    );
    Ok(reader
        .samples::<f32>()
        .collect::<std::result::Result<_, _>>()?)
}

fn tolerance(case: &Path, tensor: &str) -> Result<(f32, f32)> {
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(case.join("case.json"))?)?;
    let tol = &json["tolerances"][tensor];
    let atol = tol["recommended_atol"]
        .as_f64()
        .context("recommended_atol")?;
    let rtol = tol["recommended_rtol"]
        .as_f64()
        .context("recommended_rtol")?;
    Ok((atol as f32, rtol as f32))
}

/// Compares frame-major `got` (`num_frames × n_mels`) with a `(1, n_mels, F)` tensor; returns the
/// worst `err / tol` ratio and the worst absolute error.
fn compare_frames(
    got: &[f32],
    expected: &Tensor,
    n_mels: usize,
    atol: f32,
    rtol: f32,
) -> Result<(f32, f32)> {
    let (_, exp_mels, num_frames) = expected.dims3()?;
    ensure!(exp_mels == n_mels, "n_mels {exp_mels} != {n_mels}");
    ensure!(
        got.len() == n_mels * num_frames,
        "got {} values, expected {}",
        got.len(),
        n_mels * num_frames
    );
    let exp = expected.flatten_all()?.to_vec1::<f32>()?;
    let (mut worst_ratio, mut worst_abs) = (0.0_f32, 0.0_f32);
    for t in 0..num_frames {
        for m in 0..n_mels {
            let (g, e) = (got[t * n_mels + m], exp[m * num_frames + t]);
            let err = (g - e).abs();
            worst_abs = worst_abs.max(err);
            worst_ratio = worst_ratio.max(err / (atol + rtol * e.abs()));
        }
    }
    Ok((worst_ratio, worst_abs))
}

#[test]
fn window_and_filterbank_equal_torchaudio() -> Result<()> {
    // `frontend.*` ship with muq_rotary; take them from whichever MuQ case has them.
    let mut with_frontend = muq_cases()?
        .into_iter()
        .filter_map(|case| load_expected(&case).ok());
    let exp = with_frontend
        .find(|exp| exp.contains_key("frontend.mel_fb"))
        .context("no case with frontend.mel_fb / frontend.window")?;
    let mel = MelSpectrogram::new(MelConfig::muq());
    let window = exp
        .get("frontend.window")
        .context("frontend.window")?
        .to_vec1::<f32>()?;
    let worst_w = mel
        .window()
        .iter()
        .zip(&window)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    assert_eq!(window.len(), mel.window().len());
    assert!(worst_w <= 1e-7, "window max err {worst_w}");
    let fb = exp.get("frontend.mel_fb").context("frontend.mel_fb")?;
    assert_eq!(fb.dims(), &[1025, 128]);
    let fb = fb.flatten_all()?.to_vec1::<f32>()?;
    let worst_fb = mel
        .filterbank()
        .iter()
        .zip(&fb)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    let num_exact = mel
        .filterbank()
        .iter()
        .zip(&fb)
        .filter(|(a, b)| a == b)
        .count();
    println!(
        "window max err {worst_w:e}; filterbank max err {worst_fb:e}, {num_exact}/{} bit-exact",
        fb.len()
    );
    // 99.7 % of the entries are bit-exact; the rest differ by a few float32 ulps of the band
    // edges (PyTorch's vectorised linspace/pow), at most ~1.4e-5 on weights of order 1, which
    // moves mel_db by < 1e-4 dB (the fixture tolerance is 1e-3 dB).
    assert!(worst_fb <= 2e-5, "filterbank max err {worst_fb}");
    assert!(
        num_exact * 100 >= fb.len() * 99,
        "only {num_exact} bit-exact filterbank entries"
    );
    Ok(())
}

#[test]
fn mel_db_and_mel_norm_equal_fixtures() -> Result<()> {
    for case in muq_cases()? {
        let exp = load_expected(&case)?;
        let wav = read_wav_f32(&case.join("input.wav"))?;
        let config: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(case.join("config.json"))?)?;
        let mean = config["stat"]["melspec_2048_mean"]
            .as_f64()
            .context("stat mean")? as f32;
        let std = config["stat"]["melspec_2048_std"]
            .as_f64()
            .context("stat std")? as f32;

        let mel_cfg = mel_config_of(&config)?;
        let mel = MelSpectrogram::try_new(mel_cfg)?;
        let frames = mel.mel_db(&wav)?;
        let (atol, rtol) = tolerance(&case, "mel_db")?;
        let mel_db = exp.get("mel_db").context("mel_db")?;
        let (ratio_db, abs_db) = compare_frames(&frames.data, mel_db, frames.n_mels, atol, rtol)?;

        let mut norm = frames.data.clone();
        normalize_in_place(&mut norm, mean, std);
        let (atol_n, rtol_n) = tolerance(&case, "mel_norm")?;
        let mel_norm = exp.get("mel_norm").context("mel_norm")?;
        let (ratio_n, abs_n) = compare_frames(&norm, mel_norm, frames.n_mels, atol_n, rtol_n)?;

        // The streaming frontend on the same input, in 240-sample hops.
        let mut streaming = StreamingMel::try_new(mel_cfg)?;
        let mut streamed = Vec::new();
        for chunk in wav.chunks(240) {
            streaming.push(chunk, |_, f| streamed.extend_from_slice(f));
        }
        streaming.finish(|_, f| streamed.extend_from_slice(f))?;
        let (ratio_s, _) = compare_frames(&streamed, mel_db, frames.n_mels, atol, rtol)?;

        let name = case
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("?")
            .to_owned();
        println!(
            "mel {name}: mel_db max abs err {abs_db:e} (err/tol {ratio_db:.3}), mel_norm max abs err \
             {abs_n:e} (err/tol {ratio_n:.3}), streaming mel_db err/tol {ratio_s:.3}"
        );
        if ratio_db > 1.0 || ratio_n > 1.0 || ratio_s > 1.0 {
            bail!(
                "{name}: mel outside tolerance (db {ratio_db}, norm {ratio_n}, streaming {ratio_s})"
            );
        }
    }
    Ok(())
}
