//! `muq text [--model DIR] "query" …`: MuQ-MuLan text latents as JSON.

use std::path::PathBuf;

use anyhow::Context;
use candle_core::Device;

use muq_engine::models::mulan::{MuqMulan, files::default_model_dir};

/// Arguments of `muq text`.
#[derive(Debug, clap::Args)]
pub struct TextArgs {
    /// MuQ-MuLan folder (config.json + weights); default `$MUQ_MODEL_DIR` or the hub cache.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Encode all texts as one padded batch like the official code (pads change the result);
    /// by default each text is encoded alone, as the product does.
    #[arg(long)]
    pub batched: bool,
    /// Also save the latents `(n_texts, dim_latent)` as tensor `text_latent` in this safetensors file.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The text queries.
    #[arg(required = true)]
    pub texts: Vec<String>,
}

/// Resolves `--model` or the default folder, with a helpful error.
pub(crate) fn model_dir(arg: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    arg.or_else(default_model_dir).context(
        "no MuQ-MuLan model: pass --model DIR, set MUQ_MODEL_DIR, or run `muq fetch` to download \
         OpenMuQ/MuQ-MuLan-large into the Hugging Face cache",
    )
}

/// Loads the model and prints one JSON object per text (`text`, `num_tokens`, `truncated`,
/// `latent`); truncation notices go to stderr.
pub fn run(args: TextArgs) -> anyhow::Result<()> {
    let dir = model_dir(args.model)?;
    let model =
        MuqMulan::load(&dir, &Device::Cpu).with_context(|| format!("loading {}", dir.display()))?;
    let refs: Vec<&str> = args.texts.iter().map(String::as_str).collect();
    let (latents, ids, truncated) = if args.batched {
        let b = model.text_latents_batched(&refs)?;
        (b.latents, b.batch.ids.clone(), b.batch.truncated.clone())
    } else {
        let mut lat = Vec::new();
        let (mut ids, mut trunc) = (Vec::new(), Vec::new());
        for t in &refs {
            let l = model.text_latent(t)?;
            lat.push(l.latent);
            ids.push(l.ids);
            trunc.push(l.truncated);
        }
        (candle_core::Tensor::cat(&lat, 0)?, ids, trunc)
    };
    let rows = latents.to_vec2::<f32>()?;
    let pad_id = model.text_side()?.tokenizer().pad_id();
    model.release_text_tower();
    for (i, text) in args.texts.iter().enumerate() {
        if truncated[i] {
            eprintln!(
                "note: text {} was longer than the model's {} tokens and was truncated",
                i + 1,
                model.max_text_tokens()
            );
        }
        let line = serde_json::json!({
            "text": text,
            "num_tokens": ids[i].iter().filter(|&&id| id != pad_id).count(),
            "truncated": truncated[i],
            "latent": rows[i],
        });
        println!("{line}");
    }
    if let Some(out) = args.out {
        let map = std::collections::HashMap::from([("text_latent".to_string(), latents)]);
        candle_core::safetensors::save(&map, &out)
            .with_context(|| format!("writing {}", out.display()))?;
        eprintln!("saved {}", out.display());
    }
    Ok(())
}
