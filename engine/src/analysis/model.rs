//! The model seen by the live pipeline: audio latent of a window and text latents, behind a
//! trait so tests can inject a slow or fake model. [`MulanWindowModel`] is the real one:
//! MuQ through the streaming encoder (each hop runs the conv stem over new audio only), then
//! MuQ-MuLan's audio head on the window's hidden states.
//!
//! A window is treated as one MuLan clip: for the real model the default 10 s window is
//! exactly its clip; other window lengths run the audio head over the whole window (the MuLan
//! audio transformer has no position limit) rather than chopping it into clips.
//!
//! Runs on the inference thread (or the CLI thread); allocates and may take seconds.

use std::path::Path;
use std::sync::Arc;

use candle_core::Device;

use super::shared_models::{self, SharedMulan};
use crate::heads::probe::features::PooledState;
use crate::load::identity::ModelIdentity;
use crate::models::mulan::MuqMulan;
use crate::models::muq::StreamingMuq;
use crate::{Error, Result};

/// What one forward pass over a window gives: the MuLan latent and the pooled MuQ hidden
/// states the probe heads asked for.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WindowFeatures {
    /// L2-normalised MuLan audio latent.
    pub latent: Vec<f32>,
    /// `(hidden-state index, its time-mean and time-max)` for each requested layer.
    pub layers: Vec<(usize, PooledState)>,
}

impl WindowFeatures {
    /// The pooled hidden state `layer_idx`, if it was requested.
    pub fn layer(&self, layer_idx: usize) -> Option<&PooledState> {
        self.layers
            .iter()
            .find(|(idx, _)| *idx == layer_idx)
            .map(|(_, pooled)| pooled)
    }
}

/// A unit-norm text latent and whether the text was cut to fit the model.
#[derive(Clone, Debug, PartialEq)]
pub struct TextEmbedding {
    /// Unit-norm latent.
    pub latent: Vec<f32>,
    /// True when the text exceeded the model's positions.
    pub truncated: bool,
}

/// What the live pipeline needs from a model.
pub trait WindowModel: Send {
    /// Identity of the weights (path, size, modification time), used as the text-cache key.
    fn identity(&self) -> &str;

    /// L2-normalised audio latent of a 24 kHz window starting at stream sample `start_sample`
    /// (both on the 960-sample token grid). Windows should arrive in stream order.
    fn audio_latent(&mut self, window: &[f32], start_sample: u64) -> Result<Vec<f32>>;

    /// The MuLan latent plus the time-pooled MuQ hidden states `layers` of one window, from a
    /// single forward pass. The default (models without hidden states) gives only the latent
    /// and errors when layers are asked for.
    fn window_features(
        &mut self,
        window: &[f32],
        start_sample: u64,
        layers: &[usize],
    ) -> Result<WindowFeatures> {
        if !layers.is_empty() {
            return Err(Error::Unsupported(
                "this model exposes no MuQ hidden states for probe heads".into(),
            ));
        }
        Ok(WindowFeatures {
            latent: self.audio_latent(window, start_sample)?,
            layers: Vec::new(),
        })
    }

    /// What probe heads must have been trained on to run on this model (`None`: no hidden
    /// states exposed, no heads).
    fn probe_identity(&self) -> Option<&ModelIdentity> {
        None
    }

    /// Unit-norm latent of one text.
    fn text_latent(&mut self, text: &str) -> Result<TextEmbedding>;

    /// Forgets state carried between windows (the next window starts a new stream).
    fn reset_stream(&mut self) {}

    /// Frees what only text embedding needs (called once the texts in use are embedded).
    fn release_text_side(&mut self) {}

    /// How many users in the process share these weights (1: not shared).
    fn num_sharing(&self) -> usize {
        1
    }

    /// The process-wide shared model behind this one, if any (to count its users live).
    fn shared_model(&self) -> Option<std::sync::Weak<SharedMulan>> {
        None
    }
}

/// MuQ-MuLan on a streaming MuQ encoder: the weights are shared by the whole process (see
/// [`super::shared_models`]), the streaming stem cache is this instance's own.
pub struct MulanWindowModel {
    shared: Arc<SharedMulan>,
    streaming: StreamingMuq,
}

impl MulanWindowModel {
    /// Loads (or shares the already loaded) MuQ-MuLan folder `dir` onto `device`.
    pub fn load(dir: &Path, device: &Device) -> Result<Self> {
        let never = Arc::new(std::sync::atomic::AtomicBool::new(false));
        Self::load_shared(dir, device, &never)
    }

    /// Like [`Self::load`], through the process-wide registry with a cancel flag, which also
    /// stops a window's forward pass between conformer layers.
    pub fn load_shared(
        dir: &Path,
        device: &Device,
        cancel: &crate::load::CancelFlag,
    ) -> Result<Self> {
        let shared = shared_models::acquire(dir, device, cancel)?;
        let mut model = Self::from_shared(shared);
        model.streaming.set_stop_flag(Arc::clone(cancel));
        Ok(model)
    }

    /// Wraps a shared model with a fresh streaming encoder.
    pub fn from_shared(shared: Arc<SharedMulan>) -> Self {
        let streaming = StreamingMuq::new(shared.mulan.muq().clone());
        Self { shared, streaming }
    }

    /// The weights file the model was loaded from.
    pub fn weights_path(&self) -> &Path {
        &self.shared.weights
    }

    /// The MuQ-MuLan model.
    pub fn mulan(&self) -> &MuqMulan {
        &self.shared.mulan
    }

    /// Users of the shared model in this process (this one included).
    pub fn num_sharing(&self) -> usize {
        Arc::strong_count(&self.shared)
    }
}

pub use super::shared_models::weights_identity;

impl WindowModel for MulanWindowModel {
    fn identity(&self) -> &str {
        &self.shared.identity
    }

    fn audio_latent(&mut self, window: &[f32], start_sample: u64) -> Result<Vec<f32>> {
        Ok(self.window_features(window, start_sample, &[])?.latent)
    }

    fn window_features(
        &mut self,
        window: &[f32],
        start_sample: u64,
        layers: &[usize],
    ) -> Result<WindowFeatures> {
        let out = self.streaming.forward_window(window, start_sample)?;
        let latent = self.shared.mulan.audio_latent_from_muq_output(&out)?;
        let mut pooled = Vec::with_capacity(layers.len());
        for &layer_idx in layers {
            let state = out.hidden_states.get(layer_idx).ok_or_else(|| {
                Error::Unsupported(format!(
                    "hidden state {layer_idx} asked for, the model has 0..={}",
                    out.hidden_states.len().saturating_sub(1)
                ))
            })?;
            pooled.push((layer_idx, PooledState::of(state)?));
        }
        Ok(WindowFeatures {
            latent: latent.flatten_all()?.to_vec1::<f32>()?,
            layers: pooled,
        })
    }

    fn probe_identity(&self) -> Option<&ModelIdentity> {
        Some(&self.shared.probe_identity)
    }

    fn text_latent(&mut self, text: &str) -> Result<TextEmbedding> {
        let out = self.shared.mulan.text_latent(text)?;
        Ok(TextEmbedding {
            latent: out.latent.flatten_all()?.to_vec1::<f32>()?,
            truncated: out.truncated,
        })
    }

    fn reset_stream(&mut self) {
        self.streaming.reset();
    }

    fn release_text_side(&mut self) {
        self.shared.mulan.release_text_tower();
    }

    fn num_sharing(&self) -> usize {
        Arc::strong_count(&self.shared)
    }

    fn shared_model(&self) -> Option<std::sync::Weak<SharedMulan>> {
        Some(Arc::downgrade(&self.shared))
    }
}

/// Which compute device to use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DeviceChoice {
    /// The best device compiled in (`cuda` or `metal` feature), else the CPU.
    #[default]
    Auto,
    /// Always the CPU.
    Cpu,
}

/// The device for `choice` and its description for the snapshot (with the reason when an
/// accelerator was compiled in but could not be used).
pub fn select_device(choice: DeviceChoice) -> (Device, String) {
    if choice == DeviceChoice::Cpu {
        return (Device::Cpu, "cpu".into());
    }
    #[cfg(feature = "cuda")]
    {
        return match Device::new_cuda(0) {
            Ok(device) => (device, "cuda:0".into()),
            Err(e) => (Device::Cpu, format!("cpu (cuda unavailable: {e})")),
        };
    }
    #[cfg(all(feature = "metal", not(feature = "cuda")))]
    {
        return match Device::new_metal(0) {
            Ok(device) => (device, "metal:0".into()),
            Err(e) => (Device::Cpu, format!("cpu (metal unavailable: {e})")),
        };
    }
    #[allow(unreachable_code)]
    (Device::Cpu, "cpu".into())
}

pub use crate::heads::dot;
