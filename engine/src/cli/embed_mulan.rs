//! `muq embed` with a MuQ-MuLan folder: the clip-averaged audio latent (512-d for
//! MuQ-MuLan-large), printed as JSON and saved as safetensors.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result};
use candle_core::Device;

use super::embed::EmbedArgs;
use crate::audio::load_mono_24k;
use crate::models::mulan::MuqMulan;

/// True when `dir/config.json` is a MuQ-MuLan config (it has a `mulan` section).
pub fn is_mulan_dir(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("config.json"))
        .ok()
        .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
        .is_some_and(|v| v.get("mulan").is_some() && v.get("audio_model").is_some())
}

/// Saves `audio_latent (1, dim_latent)` and `audio_latent_per_clip (n_clips, dim_latent)` to
/// `--out` and prints `{"num_clips", "latent"}`.
pub fn run(args: &EmbedArgs) -> Result<()> {
    let model = MuqMulan::load(&args.model, &Device::Cpu)
        .with_context(|| format!("loading MuQ-MuLan from {}", args.model.display()))?;
    let audio = load_mono_24k(&args.audio)?;
    if audio.num_non_finite > 0 {
        eprintln!(
            "warning: {} non-finite samples were replaced by 0",
            audio.num_non_finite
        );
    }
    let out = model.audio_latent(&audio.samples)?;
    let num_clips = out.per_clip.dim(0)?;
    let latent = out.latent.flatten_all()?.to_vec1::<f32>()?;
    let tensors = HashMap::from([
        ("audio_latent".to_string(), out.latent),
        ("audio_latent_per_clip".to_string(), out.per_clip),
    ]);
    candle_core::safetensors::save(&tensors, &args.out)
        .with_context(|| format!("writing {}", args.out.display()))?;
    println!(
        "{}",
        serde_json::json!({ "num_clips": num_clips, "latent": latent })
    );
    eprintln!("saved {}", args.out.display());
    Ok(())
}
