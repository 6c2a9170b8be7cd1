//! A loaded model with its heads: what the inference thread (and `muq analyze`) runs per
//! window. Resolves the model folder, picks the device, builds the zero-shot heads from the
//! (cached) text latents, loads the probe heads and scores windows. Allocates; may take
//! seconds. The settings that change heads at run time are in [`settings`].

pub mod settings;

use std::path::{Path, PathBuf};

use super::model::{DeviceChoice, MulanWindowModel, WindowModel, select_device};
use super::probe_key::ProbeKeyTracker;
use super::probes::{ProbeSet, head_folders};
use super::text_cache::TextLatentCache;
use crate::audio::MUQ_SAMPLE_RATE_HZ;
use crate::heads::key::KeyReadout;
use crate::heads::text_query::TextQueries;
use crate::heads::zero_shot::{HeadKind, ZeroShotHead};
use crate::readouts::{LabelScore, ProbeReadout, QueryReadout};
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
    /// Folder of probe heads loaded besides `<model dir>/heads/` (`None`: only those).
    pub heads_dir: Option<PathBuf>,
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
    let fetch_hint = "download MuQ-MuLan-large (the panel's \"Download model…\", or `muq fetch`), or \
                      point --model / MUQ_MODEL_DIR / the plugin's model folder at a MuQ-MuLan \
                      folder";
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
    /// Readouts of the probe heads (finite ones only), in task order.
    pub probes: Vec<ProbeReadout>,
    /// The key from the selected probe key head (see [`Session::set_key_head`]), smoothed
    /// over the windows so far; `None` when no key head is active.
    pub probe_key: Option<KeyReadout>,
}

/// A model plus heads.
pub struct Session {
    model: Box<dyn WindowModel>,
    cache: TextLatentCache,
    instruments: ZeroShotHead,
    genres: ZeroShotHead,
    queries: TextQueries,
    device: String,
    /// The model folder (`None` for injected models).
    model_dir: Option<PathBuf>,
    model_name: String,
    model_size_bytes: u64,
    /// Vocabulary folder of the zero-shot heads in use.
    labels_dir: Option<PathBuf>,
    heads_dir: Option<PathBuf>,
    probes: ProbeSet,
    /// The requested key head's task, and its tracker when the head is usable.
    key_head: Option<String>,
    key_tracker: Option<ProbeKeyTracker>,
    /// Stream index of the end of the previous window (for the key tracker's time step).
    last_end_sample: Option<u64>,
    head_messages: Vec<String>,
    labels_message: Option<String>,
    key_message: Option<String>,
}

impl Session {
    /// Loads the model folder per `options` and builds the heads; `progress(fraction, what)`
    /// reports the stages.
    pub fn load(
        options: &ModelOptions,
        progress: impl FnMut(f32, &str),
    ) -> std::result::Result<Self, ModelProblem> {
        let never = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        Self::load_cancellable(options, &[], &never, progress)
    }

    /// [`Self::load`] that stops ("loading cancelled") within one tensor once `cancel` is set.
    /// The weights come from the process-wide registry: a model already loaded (or being
    /// loaded) from the same files is shared. The label texts and `queries` missing from the
    /// text-latent cache are embedded first, with the text side alone (see
    /// [`super::text_prefetch`]), so that a first load never holds both towers at once.
    pub fn load_cancellable(
        options: &ModelOptions,
        queries: &[String],
        cancel: &crate::load::CancelFlag,
        mut progress: impl FnMut(f32, &str),
    ) -> std::result::Result<Self, ModelProblem> {
        let dir = resolve_model_dir(options.model_dir.as_deref())?;
        let (device, device_name) = select_device(options.device);
        progress(0.02, "encoding texts");
        // Best effort: anything it could not embed is embedded (and reported) below.
        let _ = super::text_prefetch::prefetch_texts(
            &dir,
            &device,
            options.cache_dir.as_deref(),
            options.labels_dir.as_deref(),
            queries,
        );
        if cancel.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(ModelProblem {
                missing: false,
                message: crate::load::CANCELLED_MSG.into(),
                hint: String::new(),
            });
        }
        progress(0.05, "loading weights");
        let fail = |e: Error| {
            ModelProblem {
            missing: false,
            message: format!("could not load the model from {}: {e}", dir.display()),
            hint: "check the folder holds a complete MuQ-MuLan download (`muq fetch`), or choose another".into(),
        }
        };
        let model = MulanWindowModel::load_shared(&dir, &device, cancel).map_err(fail)?;
        let model_size_bytes = std::fs::metadata(model.weights_path()).map_or(0, |m| m.len());
        let mut session = Self::with_model(Box::new(model), device_name, options, |f, what| {
            progress(0.3 + 0.7 * f, what)
        })
        .map_err(fail)?;
        session.model_name = dir.file_name().map_or_else(
            || dir.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        session.model_size_bytes = model_size_bytes;
        session.model_dir = Some(dir);
        session.reload_heads();
        Ok(session)
    }

    /// Builds the heads around an already loaded model (tests inject models this way). Probe
    /// heads come from `options.heads_dir` only (there is no model folder). A vocabulary folder
    /// that cannot be read falls back to the built-in vocabularies (see
    /// [`Self::settings_messages`]).
    pub fn with_model(
        mut model: Box<dyn WindowModel>,
        device: String,
        options: &ModelOptions,
        mut progress: impl FnMut(f32, &str),
    ) -> Result<Self> {
        let mut cache = TextLatentCache::open(options.cache_dir.as_deref(), model.identity());
        let (mut labels_dir, mut labels_message) = (options.labels_dir.clone(), None);
        let built = settings::build_zero_shot(
            model.as_mut(),
            &mut cache,
            labels_dir.as_deref(),
            &mut progress,
        );
        let (instruments, genres) = match (built, &labels_dir) {
            (Ok(heads), _) => heads,
            (Err(e), Some(dir)) => {
                labels_message = Some(format!(
                    "vocabulary folder {}: {e}; using the built-in labels",
                    dir.display()
                ));
                labels_dir = None;
                settings::build_zero_shot(model.as_mut(), &mut cache, None, &mut progress)?
            }
            (Err(e), None) => return Err(e),
        };
        // A cache that cannot be written only costs time at the next load.
        cache.save_noting();
        model.release_text_side();
        let history_len = if options.history_len == 0 {
            crate::heads::text_query::DEFAULT_HISTORY_LEN
        } else {
            options.history_len
        };
        let mut session = Self {
            model,
            cache,
            instruments,
            genres,
            queries: TextQueries::new(history_len),
            device,
            model_dir: None,
            model_name: String::new(),
            model_size_bytes: 0,
            labels_dir,
            heads_dir: options.heads_dir.clone(),
            probes: ProbeSet::default(),
            key_head: None,
            key_tracker: None,
            last_end_sample: None,
            head_messages: Vec::new(),
            labels_message,
            key_message: None,
        };
        session.reload_heads();
        Ok(session)
    }

    /// Loads the probe heads again from `<model dir>/heads/` and the heads folder, and checks
    /// the key head again.
    fn reload_heads(&mut self) {
        let dirs = head_folders(self.model_dir.as_deref(), self.heads_dir.as_deref());
        let (probes, messages) = ProbeSet::load(&dirs, self.model.probe_identity());
        self.probes = probes;
        self.head_messages = messages;
        let key_head = self.key_head.take();
        self.set_key_head(key_head.as_deref());
    }

    /// Folder name of the loaded model (empty for injected models).
    pub fn model_name(&self) -> &str {
        &self.model_name
    }

    /// Size of the model's weights file in bytes (0 for injected models).
    pub fn model_size_bytes(&self) -> u64 {
        self.model_size_bytes
    }

    /// The loaded probe heads.
    pub fn probes(&self) -> &ProbeSet {
        &self.probes
    }

    /// Description of the compute device.
    pub fn device(&self) -> &str {
        &self.device
    }

    /// Users of this session's weights in the process (1: not shared).
    pub fn num_sharing(&self) -> usize {
        self.model.num_sharing()
    }

    /// The process-wide shared model in use, if any (its users can be counted live).
    pub fn shared_model(&self) -> Option<std::sync::Weak<super::shared_models::SharedMulan>> {
        self.model.shared_model()
    }

    /// The model's identity string.
    pub fn model_identity(&self) -> &str {
        self.model.identity()
    }

    /// Replaces the text queries (their latents are cached like the labels').
    pub fn set_queries(&mut self, texts: &[String]) -> Result<()> {
        let (model, cache) = (&mut self.model, &mut self.cache);
        let result = self.queries.set(texts, |text| {
            let e = cache.get(model.as_mut(), text)?;
            Ok((e.latent, e.truncated))
        });
        model.release_text_side();
        result?;
        cache.save_noting();
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

    /// Forgets the streaming encoder's cache and the probe key's history (the next window
    /// starts a new stream).
    pub fn reset_stream(&mut self) {
        self.model.reset_stream();
        self.last_end_sample = None;
        if let Some(tracker) = &mut self.key_tracker {
            tracker.reset();
        }
    }

    /// Runs one 24 kHz window starting at stream sample `start_sample`: one forward pass
    /// gives the latent and the hidden states the probe heads need. Errors (leaving the query
    /// histories unchanged) when the model fails or gives a non-finite latent.
    pub fn analyse(&mut self, window: &[f32], start_sample: u64) -> Result<WindowOutput> {
        let features = self
            .model
            .window_features(window, start_sample, self.probes.layers())?;
        let audio_latent = features.latent.clone();
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
        let probe_outputs = self.probes.run(&features);
        let end_sample = start_sample + window.len() as u64;
        let dt_samples = match self.last_end_sample {
            Some(prev) if end_sample > prev => end_sample - prev,
            _ => window.len() as u64,
        };
        self.last_end_sample = Some(end_sample);
        let probe_key = self.key_tracker.as_mut().map(|tracker| {
            if let Some((_, probs)) = probe_outputs
                .probabilities
                .iter()
                .find(|(task, _)| task == tracker.task())
            {
                tracker.update(probs, dt_samples as f32 / MUQ_SAMPLE_RATE_HZ as f32);
            }
            tracker.readout()
        });
        Ok(WindowOutput {
            instruments,
            genres,
            queries,
            audio_latent,
            probes: probe_outputs.readouts,
            probe_key,
        })
    }
}
