//! `muq embed`: MuQ hidden states of an audio file, saved as safetensors.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use candle_core::{Device, Tensor};
use clap::Args;

use crate::audio::load_mono_24k;
use crate::models::muq::{Muq, MuqOutput};

/// Arguments of `muq embed`.
#[derive(Debug, Args)]
pub struct EmbedArgs {
    /// MuQ model folder (config.json + model.safetensors or pytorch_model.bin).
    #[arg(long)]
    pub model: PathBuf,
    /// Audio file (WAV/FLAC/MP3/OGG, any sample rate and channel count).
    #[arg(long)]
    pub audio: PathBuf,
    /// Output safetensors file.
    #[arg(long)]
    pub out: PathBuf,
    /// Hidden state to save: an index 0..=L, or `all` (default: the last).
    #[arg(long, default_value = "last")]
    pub layer: String,
    /// Audio longer than this is encoded in consecutive windows of this length (on the token
    /// grid) and the states concatenated in time; shorter audio is one whole call.
    #[arg(long, default_value_t = 30.0)]
    pub window_s: f64,
}

/// Which hidden states to keep.
fn parse_layers(spec: &str, num_states: usize) -> Result<Vec<usize>> {
    match spec {
        "all" => Ok((0..num_states).collect()),
        "last" => Ok(vec![num_states - 1]),
        n => {
            let idx: usize = n.parse().with_context(|| format!("--layer {n:?}: expected 0..={}, `last` or `all`", num_states - 1))?;
            if idx >= num_states {
                bail!("--layer {idx}: the model has hidden states 0..={}", num_states - 1);
            }
            Ok(vec![idx])
        }
    }
}

/// Runs `muq embed`.
pub fn run(args: EmbedArgs) -> Result<()> {
    if super::embed_mulan::is_mulan_dir(&args.model) {
        return super::embed_mulan::run(&args);
    }
    let device = Device::Cpu;
    let model = Muq::load(&args.model, &device).with_context(|| format!("loading MuQ from {}", args.model.display()))?;
    let num_states = model.config().encoder_depth + 1;
    let layers = parse_layers(&args.layer, num_states)?;
    let audio = load_mono_24k(&args.audio)?;
    if audio.num_non_finite > 0 {
        eprintln!("warning: {} non-finite samples were replaced by 0", audio.num_non_finite);
    }
    let wav = audio.samples;
    let min_len = model.config().samples_per_token();
    if wav.len() < min_len.max(1025) {
        bail!(
            "{}: {} samples at 24 kHz is too short (at least {} needed)",
            args.audio.display(),
            wav.len(),
            min_len.max(1025)
        );
    }
    if !(args.window_s.is_finite() && args.window_s >= 1.0) {
        bail!("--window-s {}: must be at least 1 second", args.window_s);
    }
    let spt = model.config().samples_per_token();
    let window_len = ((args.window_s * 24_000.0) as usize / spt).max(1) * spt;
    let outputs = encode_windows(&model, &wav, window_len)?;
    let mut tensors = HashMap::new();
    for &idx in &layers {
        let parts: Vec<&Tensor> = outputs.iter().map(|o| &o.hidden_states[idx]).collect();
        tensors.insert(format!("hidden_states.{idx}"), Tensor::cat(&parts, 1)?);
    }
    candle_core::safetensors::save(&tensors, &args.out).with_context(|| format!("writing {}", args.out.display()))?;
    let tokens = tensors.values().next().map(|t| t.dim(1)).transpose()?.unwrap_or(0);
    println!(
        "{}: {} tokens x {} dims, hidden states {:?} -> {}",
        args.audio.display(),
        tokens,
        model.config().encoder_dim,
        layers,
        args.out.display()
    );
    Ok(())
}

/// One whole call when the audio fits in a window, else consecutive windows on the token grid
/// (the last one shorter, trimmed to the grid; a tail under 4 tokens is dropped).
fn encode_windows(model: &Muq, wav: &[f32], window_len: usize) -> Result<Vec<MuqOutput>> {
    if wav.len() <= window_len {
        return Ok(vec![model.forward(&Tensor::from_slice(wav, (1, wav.len()), model.device())?)?]);
    }
    let spt = model.config().samples_per_token();
    let mut outputs = Vec::new();
    let mut start = 0;
    while start < wav.len() {
        let remaining = wav.len() - start;
        let len = if remaining <= window_len { (remaining / spt) * spt } else { window_len };
        if len < 4 * spt {
            break; // under 4 tokens of audio left: dropped (less than 0.16 s)
        }
        let window = Tensor::from_slice(&wav[start..start + len], (1, len), model.device())?;
        outputs.push(model.forward(&window)?);
        start += len;
    }
    Ok(outputs)
}
