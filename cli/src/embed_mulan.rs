//! `muq embed` with a MuQ-MuLan folder: the clip-averaged audio latent (512-d for
//! MuQ-MuLan-large), printed as JSON and saved as safetensors.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result};
use candle_core::Device;

use muq_engine::audio::load_mono_24k;
use muq_engine::models::mulan::MuqMulan;

/// True when `dir/config.json` is a MuQ-MuLan config (it has a `mulan` section).
pub fn is_mulan_dir(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("config.json"))
        .ok()
        .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
        .is_some_and(|v| v.get("mulan").is_some() && v.get("audio_model").is_some())
}

/// Saves `audio_latent (1, dim_latent)` and `audio_latent_per_clip (n_clips, dim_latent)` to
/// `--out` and prints `{"num_clips", "latent"}`.
pub fn run(model_dir: &Path, audio_path: &Path, out_path: &Path) -> Result<()> {
    let model = MuqMulan::load(model_dir, &Device::Cpu)
        .with_context(|| format!("loading MuQ-MuLan from {}", model_dir.display()))?;
    let audio = load_mono_24k(audio_path)?;
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
    candle_core::safetensors::save(&tensors, out_path)
        .with_context(|| format!("writing {}", out_path.display()))?;
    println!(
        "{}",
        serde_json::json!({ "num_clips": num_clips, "latent": latent })
    );
    eprintln!("saved {}", out_path.display());
    Ok(())
}
