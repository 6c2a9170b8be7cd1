//! `muq similarity [--model DIR] --audio FILE --text "…" [--text …]`: one score per text.

use std::path::PathBuf;

use anyhow::Context;
use candle_core::{Device, Tensor};

use muq_engine::audio::load_mono_24k;
use muq_engine::models::mulan::{MuqMulan, cosine_similarity, similarity};

/// Arguments of `muq similarity`.
#[derive(Debug, clap::Args)]
pub struct SimilarityArgs {
    /// MuQ-MuLan folder (config.json + weights); default `$MUQ_MODEL_DIR` or the hub cache.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Audio file (WAV/FLAC/MP3/OGG; mixed to mono and resampled to 24 kHz).
    #[arg(long)]
    pub audio: PathBuf,
    /// A text query (repeat for several).
    #[arg(long = "text", required = true)]
    pub texts: Vec<String>,
}

/// Prints `score<TAB>cosine<TAB>text` per text: `score` is the official `calc_similarity` (dot
/// product with the clip-averaged audio latent), `cosine` the same with the audio latent
/// re-normalised.
pub fn run(args: SimilarityArgs) -> anyhow::Result<()> {
    let dir = super::text::model_dir(args.model)?;
    let model =
        MuqMulan::load(&dir, &Device::Cpu).with_context(|| format!("loading {}", dir.display()))?;
    let audio = load_mono_24k(&args.audio)?;
    let audio_latent = model.audio_latent(&audio.samples)?.latent;
    let mut latents = Vec::new();
    for (i, t) in args.texts.iter().enumerate() {
        let l = model.text_latent(t)?;
        if l.truncated {
            eprintln!(
                "note: text {} was truncated to the model's {} tokens",
                i + 1,
                model.max_text_tokens()
            );
        }
        latents.push(l.latent);
    }
    let text_latents = Tensor::cat(&latents, 0)?;
    let scores = similarity(&audio_latent, &text_latents)?.to_vec2::<f32>()?;
    let cosines = cosine_similarity(&audio_latent, &text_latents)?.to_vec2::<f32>()?;
    println!("score\tcosine\ttext");
    for (i, t) in args.texts.iter().enumerate() {
        println!("{:.6}\t{:.6}\t{t}", scores[0][i], cosines[0][i]);
    }
    Ok(())
}
