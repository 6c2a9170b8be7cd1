//! On-disk cache of text latents, one JSON file per model identity
//! (`<cache_dir>/text-latents-<fnv64 of identity>.json`, mapping text → latent), so the
//! vocabularies' hundreds of prompts are encoded once per model, not on every load.
//! A damaged or foreign file is ignored and rewritten. Runs on the inference or CLI thread.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::model::{TextEmbedding, WindowModel};
use crate::{Error, Result};

/// Environment variable naming the cache folder.
pub const CACHE_DIR_ENV: &str = "MUQ_CACHE_DIR";

/// `$MUQ_CACHE_DIR`, else `$XDG_CACHE_HOME/muq-live`, `$HOME/.cache/muq-live`,
/// `%LOCALAPPDATA%\muq-live`; `None` when none is set (no disk cache then).
pub fn default_cache_dir() -> Option<PathBuf> {
    let env = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    env(CACHE_DIR_ENV)
        .or_else(|| env("XDG_CACHE_HOME").map(|d| d.join("muq-live")))
        .or_else(|| env("HOME").map(|d| d.join(".cache").join("muq-live")))
        .or_else(|| env("LOCALAPPDATA").map(|d| d.join("muq-live")))
}

/// 64-bit FNV-1a (stable across runs and platforms, unlike `DefaultHasher`).
pub use crate::load::identity::fnv1a as fnv64;

#[derive(Serialize, Deserialize, Default)]
struct CacheFile {
    model: String,
    latents: HashMap<String, (Vec<f32>, bool)>,
}

/// Text latents of one model, in memory and (optionally) on disk.
pub struct TextLatentCache {
    path: Option<PathBuf>,
    file: CacheFile,
    dirty: bool,
    num_hits: usize,
    /// Why the last [`Self::save_noting`] failed, for the panel.
    save_error: Option<String>,
}

impl TextLatentCache {
    /// Opens the cache of `model_identity` in `cache_dir` (`None`: memory only).
    pub fn open(cache_dir: Option<&Path>, model_identity: &str) -> Self {
        let path = cache_dir.map(|d| {
            d.join(format!(
                "text-latents-{:016x}.json",
                fnv64(model_identity.as_bytes())
            ))
        });
        let file = path
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .and_then(|s| serde_json::from_str::<CacheFile>(&s).ok())
            .filter(|f| f.model == model_identity)
            .unwrap_or_else(|| CacheFile {
                model: model_identity.to_string(),
                latents: HashMap::new(),
            });
        Self {
            path,
            file,
            dirty: false,
            num_hits: 0,
            save_error: None,
        }
    }

    /// The cached latent of `text`, computing (and remembering) it with `model` when missing.
    pub fn get(&mut self, model: &mut dyn WindowModel, text: &str) -> Result<TextEmbedding> {
        if let Some((latent, truncated)) = self.file.latents.get(text) {
            self.num_hits += 1;
            return Ok(TextEmbedding {
                latent: latent.clone(),
                truncated: *truncated,
            });
        }
        let embedding = model.text_latent(text)?;
        if embedding.latent.iter().all(|x| x.is_finite()) {
            self.file.latents.insert(
                text.to_string(),
                (embedding.latent.clone(), embedding.truncated),
            );
            self.dirty = true;
        }
        Ok(embedding)
    }

    /// Lookups answered from the cache so far.
    pub fn num_hits(&self) -> usize {
        self.num_hits
    }

    /// [`Self::save`], remembering a failure for [`Self::save_error`] instead of returning it: a
    /// cache that cannot be written only costs time at the next load, but the user should know.
    pub fn save_noting(&mut self) {
        self.save_error = self.save().err().map(|e| {
            format!(
                "the text-latent cache could not be written ({e}); label and query texts are \
                 embedded again at every load"
            )
        });
    }

    /// Why the cache could not be written last time, if it could not.
    pub fn save_error(&self) -> Option<&str> {
        self.save_error.as_deref()
    }

    /// Writes new entries to disk (atomically: temp file + rename). No-op without changes.
    pub fn save(&mut self) -> Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        if !self.dirty {
            return Ok(());
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        let json = serde_json::to_string(&self.file)
            .map_err(|e| Error::Other(format!("text cache: {e}")))?;
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, json).map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))?;
        self.dirty = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts text encodings; latents are derived from the text length.
    struct CountingModel {
        identity: String,
        num_encoded: usize,
    }

    impl WindowModel for CountingModel {
        fn identity(&self) -> &str {
            &self.identity
        }

        fn audio_latent(&mut self, _window: &[f32], _start_sample: u64) -> Result<Vec<f32>> {
            Ok(vec![1.0, 0.0])
        }

        fn text_latent(&mut self, text: &str) -> Result<TextEmbedding> {
            self.num_encoded += 1;
            Ok(TextEmbedding {
                latent: vec![text.len() as f32, 1.0],
                truncated: false,
            })
        }
    }

    #[test]
    fn latents_are_computed_once_per_model_and_text() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tempdir", e))?;
        let mut model = CountingModel {
            identity: "model-a".into(),
            num_encoded: 0,
        };
        let mut cache = TextLatentCache::open(Some(dir.path()), "model-a");
        let first = cache.get(&mut model, "piano")?;
        assert_eq!(cache.get(&mut model, "piano")?, first);
        assert_eq!((model.num_encoded, cache.num_hits()), (1, 1));
        cache.save()?;

        let mut reopened = TextLatentCache::open(Some(dir.path()), "model-a");
        assert_eq!(reopened.get(&mut model, "piano")?, first);
        assert_eq!(model.num_encoded, 1);

        let mut other = CountingModel {
            identity: "model-b".into(),
            num_encoded: 0,
        };
        let mut other_cache = TextLatentCache::open(Some(dir.path()), "model-b");
        other_cache.get(&mut other, "piano")?;
        assert_eq!(other.num_encoded, 1);
        assert_ne!(fnv64(b"model-a"), fnv64(b"model-b"));
        Ok(())
    }
}
