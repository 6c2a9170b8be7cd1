//! A loaded model with its heads: what the inference thread (and `muq analyze`) runs per
//! window. Resolves the model folder, picks the device, builds the zero-shot heads from the
//! (cached) text latents and scores windows. Allocates; may take seconds.

use std::path::{Path, PathBuf};

use super::model::{DeviceChoice, MulanWindowModel, WindowModel, select_device};
use super::readouts::{LabelScore, QueryReadout};
use super::text_cache::TextLatentCache;
use crate::heads::text_query::TextQueries;
use crate::heads::zero_shot::{HeadKind, Vocabulary, ZeroShotHead};
use crate::{Error, Result};

/// Where the model and its side files come from.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ModelOptions {
    /// MuQ-MuLan folder; `None`: `$MUQ_MODEL_DIR`, then the Hugging Face cache.
    pub model_dir: Option<PathBuf>,
    /// Folder with `instruments.txt` / `genres.txt` overriding the built-in vocabularies.
    pub labels_dir: Option<PathBuf>,
    /// Text-latent cache folder; `None`: no disk cache.
    pub cache_dir: Option<PathBuf>,
    /// Compute device.
    pub device: DeviceChoice,
    /// Values kept per text-query history (0: the default).
    pub history_len: usize,
}

/// Why no model could be used, with what the user can do.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelProblem {
    /// True when there simply are no weights (key-only mode), false for a real failure.
    pub missing: bool,
    /// What went wrong.
    pub message: String,
    /// What to do about it.
    pub hint: String,
}

/// The model folder for `explicit` (checked) or the default lookup.
pub fn resolve_model_dir(explicit: Option<&Path>) -> std::result::Result<PathBuf, ModelProblem> {
    let fetch_hint = "run `muq fetch` to download MuQ-MuLan-large, or point --model / MUQ_MODEL_DIR / the \
                      plugin's model folder at a MuQ-MuLan folder";
    match explicit {
        Some(dir) if dir.join("config.json").is_file() => Ok(dir.to_path_buf()),
        Some(dir) => Err(ModelProblem {
            missing: true,
            message: format!(
                "no MuQ-MuLan model in {} (config.json not found)",
                dir.display()
            ),
            hint: fetch_hint.into(),
        }),
        None => crate::models::mulan::files::default_model_dir().ok_or_else(|| ModelProblem {
            missing: true,
            message: "no MuQ-MuLan weights found: instruments, genre and text queries are off"
                .into(),
            hint: fetch_hint.into(),
        }),
    }
}

/// The result of one window.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WindowOutput {
    /// Top instruments, best first.
    pub instruments: Vec<LabelScore>,
    /// Top genres, best first.
    pub genres: Vec<LabelScore>,
    /// Every text query with its history.
    pub queries: Vec<QueryReadout>,
    /// The window's unit-norm audio latent.
    pub audio_latent: Vec<f32>,
}

/// A model plus heads.
pub struct Session {
    model: Box<dyn WindowModel>,
    cache: TextLatentCache,
    instruments: ZeroShotHead,
    genres: ZeroShotHead,
    queries: TextQueries,
    device: String,
}

impl Session {
    /// Loads the model folder per `options` and builds the heads; `progress(fraction, what)`
    /// reports the stages.
    pub fn load(
        options: &ModelOptions,
        mut progress: impl FnMut(f32, &str),
    ) -> std::result::Result<Self, ModelProblem> {
        let dir = resolve_model_dir(options.model_dir.as_deref())?;
        let (device, device_name) = select_device(options.device);
        progress(0.05, "loading weights");
        let fail = |e: Error| {
            ModelProblem {
            missing: false,
            message: format!("could not load the model from {}: {e}", dir.display()),
            hint: "check the folder holds a complete MuQ-MuLan download (`muq fetch`), or choose another".into(),
        }
        };
        let model = MulanWindowModel::load(&dir, &device).map_err(fail)?;
        Self::with_model(Box::new(model), device_name, options, |f, what| {
            progress(0.3 + 0.7 * f, what)
        })
        .map_err(fail)
    }

    /// Builds the heads around an already loaded model (tests inject models this way).
    pub fn with_model(
        mut model: Box<dyn WindowModel>,
        device: String,
        options: &ModelOptions,
        mut progress: impl FnMut(f32, &str),
    ) -> Result<Self> {
        let mut cache = TextLatentCache::open(options.cache_dir.as_deref(), model.identity());
        let instruments_vocab =
            Vocabulary::load(HeadKind::Instruments, options.labels_dir.as_deref())?;
        let genres_vocab = Vocabulary::load(HeadKind::Genres, options.labels_dir.as_deref())?;
        let total = (instruments_vocab.labels.len() + genres_vocab.labels.len()).max(1);
        let mut heads = Vec::with_capacity(2);
        for (kind, vocab, offset) in [
            (HeadKind::Instruments, &instruments_vocab, 0),
            (
                HeadKind::Genres,
                &genres_vocab,
                instruments_vocab.labels.len(),
            ),
        ] {
            let head = ZeroShotHead::build(
                kind,
                vocab,
                |text| Ok(cache.get(model.as_mut(), text)?.latent),
                |done, _| {
                    progress(
                        (offset + done) as f32 / total as f32,
                        "encoding label texts",
                    )
                },
            )?;
            heads.push(head);
        }
        // A cache that cannot be written only costs time at the next load.
        let _ = cache.save();
        let genres = heads
            .pop()
            .ok_or_else(|| Error::Other("genre head missing".into()))?;
        let instruments = heads
            .pop()
            .ok_or_else(|| Error::Other("instrument head missing".into()))?;
        let history_len = if options.history_len == 0 {
            crate::heads::text_query::DEFAULT_HISTORY_LEN
        } else {
            options.history_len
        };
        Ok(Self {
            model,
            cache,
            instruments,
            genres,
            queries: TextQueries::new(history_len),
            device,
        })
    }

    /// Description of the compute device.
    pub fn device(&self) -> &str {
        &self.device
    }

    /// The model's identity string.
    pub fn model_identity(&self) -> &str {
        self.model.identity()
    }

    /// Replaces the text queries (their latents are cached like the labels').
    pub fn set_queries(&mut self, texts: &[String]) -> Result<()> {
        let (model, cache) = (&mut self.model, &mut self.cache);
        self.queries.set(texts, |text| {
            let e = cache.get(model.as_mut(), text)?;
            Ok((e.latent, e.truncated))
        })?;
        let _ = cache.save();
        Ok(())
    }

    /// Top instruments and genres for any unit-norm audio latent (e.g. a whole file's mean).
    pub fn label_scores(&self, audio_latent: &[f32]) -> Result<(Vec<LabelScore>, Vec<LabelScore>)> {
        Ok((
            self.instruments
                .top_k(audio_latent, HeadKind::Instruments.top_k())?,
            self.genres.top_k(audio_latent, HeadKind::Genres.top_k())?,
        ))
    }

    /// Forgets the streaming encoder's cache (the next window starts a new stream).
    pub fn reset_stream(&mut self) {
        self.model.reset_stream();
    }

    /// Runs one 24 kHz window starting at stream sample `start_sample`. Errors (leaving the
    /// query histories unchanged) when the model fails or gives a non-finite latent.
    pub fn analyse(&mut self, window: &[f32], start_sample: u64) -> Result<WindowOutput> {
        let audio_latent = self.model.audio_latent(window, start_sample)?;
        if audio_latent.is_empty() || audio_latent.iter().any(|x| !x.is_finite()) {
            return Err(Error::Other(
                "the model produced a non-finite audio latent".into(),
            ));
        }
        let instruments = self
            .instruments
            .top_k(&audio_latent, HeadKind::Instruments.top_k())?;
        let genres = self.genres.top_k(&audio_latent, HeadKind::Genres.top_k())?;
        self.queries.score(&audio_latent)?;
        let mut queries = Vec::new();
        self.queries.fill(&mut queries);
        Ok(WindowOutput {
            instruments,
            genres,
            queries,
            audio_latent,
        })
    }
}
