//! `muq embed`: MuQ hidden states of an audio file, saved as safetensors.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use candle_core::{Device, Tensor};
use clap::Args;

use muq_engine::audio::AudioReader;
use muq_engine::models::muq::Muq;

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
            let idx: usize = n.parse().with_context(|| {
                format!(
                    "--layer {n:?}: expected 0..={}, `last` or `all`",
                    num_states - 1
                )
            })?;
            if idx >= num_states {
                bail!(
                    "--layer {idx}: the model has hidden states 0..={}",
                    num_states - 1
                );
            }
            Ok(vec![idx])
        }
    }
}

/// Runs `muq embed`.
pub fn run(args: EmbedArgs) -> Result<()> {
    if super::embed_mulan::is_mulan_dir(&args.model) {
        return super::embed_mulan::run(&args.model, &args.audio, &args.out);
    }
    let device = Device::Cpu;
    let model = Muq::load(&args.model, &device)
        .with_context(|| format!("loading MuQ from {}", args.model.display()))?;
    let num_states = model.config().encoder_depth + 1;
    let layers = parse_layers(&args.layer, num_states)?;
    if !(args.window_s.is_finite() && args.window_s >= 1.0) {
        bail!("--window-s {}: must be at least 1 second", args.window_s);
    }
    let spt = model.config().samples_per_token();
    let window_len = ((args.window_s * 24_000.0) as usize / spt).max(1) * spt;
    let (outputs, num_non_finite) = encode_file(&model, &args.audio, window_len, &layers)?;
    if num_non_finite > 0 {
        eprintln!("warning: {num_non_finite} non-finite samples were replaced by 0");
    }
    let mut tensors = HashMap::new();
    for (k, &idx) in layers.iter().enumerate() {
        let parts: Vec<&Tensor> = outputs.iter().map(|window| &window[k]).collect();
        tensors.insert(format!("hidden_states.{idx}"), Tensor::cat(&parts, 1)?);
    }
    candle_core::safetensors::save(&tensors, &args.out)
        .with_context(|| format!("writing {}", args.out.display()))?;
    let tokens = tensors
        .values()
        .next()
        .map(|t| t.dim(1))
        .transpose()?
        .unwrap_or(0);
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

/// Streams the file through the model: audio that fits in one window is one whole call (the
/// official behaviour); longer audio is encoded in consecutive windows on the token grid (the
/// last one trimmed to the grid; a tail under 4 tokens is dropped). Only one window of samples
/// and the requested hidden states are held in memory. Returns, per window, the states listed
/// in `layers` (in that order) and the count of non-finite samples replaced by 0.
fn encode_file(
    model: &Muq,
    path: &Path,
    window_len: usize,
    layers: &[usize],
) -> Result<(Vec<Vec<Tensor>>, usize)> {
    let mut reader = AudioReader::open(path, Some(24_000))?;
    let spt = model.config().samples_per_token();
    let mut buf: Vec<f32> = Vec::with_capacity(2 * window_len);
    let mut outputs = Vec::new();
    let mut num_windows = 0usize;
    let encode = |samples: &[f32], outputs: &mut Vec<Vec<Tensor>>| -> Result<()> {
        let out = model.forward(&Tensor::from_slice(
            samples,
            (1, samples.len()),
            model.device(),
        )?)?;
        outputs.push(
            layers
                .iter()
                .map(|&i| out.hidden_states[i].clone())
                .collect(),
        );
        Ok(())
    };
    loop {
        let more = reader.read_chunk(&mut buf)?;
        // A window is cut only once more than a window is buffered, so a file of exactly one
        // window stays a single whole call.
        while buf.len() > window_len {
            encode(&buf[..window_len], &mut outputs)?;
            buf.drain(..window_len);
            num_windows += 1;
        }
        if !more {
            break;
        }
    }
    let min_len = spt.max(1025);
    if num_windows == 0 {
        if buf.len() < min_len {
            bail!(
                "{}: {} samples at 24 kHz is too short (at least {min_len} needed)",
                path.display(),
                buf.len()
            );
        }
        encode(&buf, &mut outputs)?;
    } else {
        let tail = (buf.len() / spt) * spt;
        if tail >= 4 * spt {
            encode(&buf[..tail], &mut outputs)?;
        }
    }
    Ok((outputs, reader.num_non_finite()))
}
