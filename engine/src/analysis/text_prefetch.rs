//! Embedding a session's texts before its audio side is loaded.
//!
//! The label texts of the zero-shot heads and the text queries need MuQ-MuLan's text tower;
//! their latents are cached on disk. On a first load (empty cache) embedding them after the
//! audio side would hold both halves of the model at once (about twice the steady memory at
//! real size). [`prefetch_texts`] runs first instead: it builds the zero-shot heads and the
//! queries against the cache with a model whose text side is loaded on the first miss and
//! dropped at the end, then the audio side loads and finds every text cached. With a warm
//! cache nothing is loaded; when another instance already holds the model, it is skipped (the
//! text tower is then built next to the shared model anyway).

use std::path::Path;

use candle_core::Device;

use super::model::{TextEmbedding, WindowModel};
use super::session::settings::build_zero_shot;
use super::shared_models;
use super::text_cache::TextLatentCache;
use crate::models::mulan::{MulanFiles, MulanTextSide};
use crate::{Error, Result};

/// A model with only a text side, built on the first text asked for.
struct TextOnlyModel<'a> {
    files: &'a MulanFiles,
    device: &'a Device,
    identity: String,
    side: Option<MulanTextSide>,
    num_embedded: usize,
}

impl WindowModel for TextOnlyModel<'_> {
    fn identity(&self) -> &str {
        &self.identity
    }

    fn audio_latent(&mut self, _window: &[f32], _start_sample: u64) -> Result<Vec<f32>> {
        Err(Error::Unsupported(
            "the text side has no audio tower".into(),
        ))
    }

    fn text_latent(&mut self, text: &str) -> Result<TextEmbedding> {
        if self.side.is_none() {
            self.side = Some(MulanTextSide::load(self.files, self.device)?);
        }
        let Some(side) = &self.side else {
            return Err(Error::Other("text side missing".into()));
        };
        let out = side.text_latent(text)?;
        self.num_embedded += 1;
        Ok(TextEmbedding {
            latent: out.latent.flatten_all()?.to_vec1::<f32>()?,
            truncated: out.truncated,
        })
    }
}

/// What [`prefetch_texts`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prefetch {
    /// Texts embedded (cache misses).
    pub num_embedded: usize,
    /// Whether the text side was loaded.
    pub loaded_text_side: bool,
}

/// Embeds into the disk cache the label and query texts of a session on the MuQ-MuLan folder
/// `dir` that the cache lacks (see the module docs), with the vocabulary of `labels_dir` (or the
/// built-in one). Does nothing without a cache folder or when the model is already loaded in
/// this process.
pub fn prefetch_texts(
    dir: &Path,
    device: &Device,
    cache_dir: Option<&Path>,
    labels_dir: Option<&Path>,
    queries: &[String],
) -> Result<Prefetch> {
    let nothing = Prefetch {
        num_embedded: 0,
        loaded_text_side: false,
    };
    let Some(cache_dir) = cache_dir else {
        return Ok(nothing);
    };
    let files = MulanFiles::locate(dir)?;
    if shared_models::num_users_of(&files.weights) > 0 {
        return Ok(nothing);
    }
    let identity = shared_models::weights_identity(&files.weights)?;
    let mut cache = TextLatentCache::open(Some(cache_dir), &identity);
    let mut model = TextOnlyModel {
        files: &files,
        device,
        identity,
        side: None,
        num_embedded: 0,
    };
    // A bad vocabulary folder is reported by the real load; the built-in labels still count.
    if build_zero_shot(&mut model, &mut cache, labels_dir, &mut |_, _| {}).is_err() {
        build_zero_shot(&mut model, &mut cache, None, &mut |_, _| {})?;
    }
    // Trimmed, as the session keys them.
    for text in queries.iter().map(|t| t.trim()).filter(|t| !t.is_empty()) {
        // A query that cannot be embedded is reported when the session sets it.
        let _ = cache.get(&mut model, text);
    }
    cache.save()?;
    Ok(Prefetch {
        num_embedded: model.num_embedded,
        loaded_text_side: model.side.is_some(),
    })
}
