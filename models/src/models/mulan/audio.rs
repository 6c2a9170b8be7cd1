//! Audio tower (`AudioSpectrogramTransformerPretrained`, muq-reference.md §6.1), one clip at a
//! time: MuQ hidden state `use_layer_idx` → `proj` → MuLan transformer → mean over time.
//!
//! Upstream: <https://github.com/tencent-ailab/MuQ/blob/main/src/muq/muq_mulan/models/audio.py>
//! (`mulan.audio.aggregator` is built upstream but never called: not loaded here.)

use candle_core::{D, Device, Module, Tensor};
use candle_nn::{Linear, VarBuilder, linear};

use super::config::{MulanConfig, resolve_layer_idx};
use super::transformer::Transformer;
use crate::models::muq::{Muq, MuqConfig, MuqOutput};
use crate::{Error, Result};

/// Shortest clip MuQ accepts: its STFT reflect-pads 1024 samples on each side.
pub const MIN_CLIP_SAMPLES: usize = 1025;

/// What one clip produces inside the tower (kept for tests and diagnostics).
pub struct ClipHidden {
    /// MuQ hidden state the tower uses, `(1, T, model_dim)`.
    pub muq_hidden: Tensor,
    /// Time-mean of the transformer output, `(1, dim)` (input of `audio_to_latents`).
    pub pooled: Tensor,
}

/// `mulan.audio`: MuQ + `proj` + `transformer`.
pub struct AudioTower {
    /// Checkpoint key `model` (its own state dict lives under `model.model.*`).
    model: Muq,
    proj: Linear,
    transformer: Transformer,
    use_layer_idx: i64,
    device: Device,
}

impl AudioTower {
    /// Builds the tower; `vb` is the `mulan.audio` level.
    pub fn new(
        cfg: &MulanConfig,
        muq_cfg: &MuqConfig,
        vb: VarBuilder,
    ) -> candle_core::Result<Self> {
        let dim = cfg.audio_transformer.dim;
        let model_dim = cfg.audio_model.model_dim.unwrap_or(1024);
        Ok(Self {
            model: Muq::new(muq_cfg, vb.pp("model"))?,
            proj: linear(model_dim, dim, vb.pp("proj"))?,
            transformer: Transformer::new(&cfg.audio_transformer, vb.pp("transformer"))?,
            use_layer_idx: cfg.audio_model.use_layer_idx,
            device: vb.device().clone(),
        })
    }

    /// Runs one clip of 24 kHz mono samples (at least [`MIN_CLIP_SAMPLES`]).
    pub fn forward_clip(&self, clip: &[f32]) -> Result<ClipHidden> {
        if clip.len() < MIN_CLIP_SAMPLES {
            return Err(Error::Audio(format!(
                "audio clip of {} samples is too short: MuQ needs at least {MIN_CLIP_SAMPLES} samples \
                 (the shortest input is {} samples = {:.1} ms at 24 kHz)",
                clip.len(),
                MIN_CLIP_SAMPLES.div_ceil(2),
                MIN_CLIP_SAMPLES.div_ceil(2) as f64 / 24.0
            )));
        }
        let wav = Tensor::from_slice(clip, (1, clip.len()), &self.device)?;
        let out = self.model.forward(&wav)?;
        self.forward_muq_output(&out)
    }

    /// The inner MuQ encoder (e.g. to wrap it in a [`crate::models::muq::StreamingMuq`]).
    pub fn muq(&self) -> &Muq {
        &self.model
    }

    /// The rest of the tower on MuQ hidden states computed elsewhere (the live pipeline's
    /// streaming encoder): picks `use_layer_idx`, then `proj`, transformer and time-mean.
    pub fn forward_muq_output(&self, out: &MuqOutput) -> Result<ClipHidden> {
        let n = out.hidden_states.len();
        let idx = resolve_layer_idx(self.use_layer_idx, n).ok_or_else(|| {
            Error::Unsupported(format!(
                "audio_model.use_layer_idx {} with {n} MuQ hidden states",
                self.use_layer_idx
            ))
        })?;
        let muq_hidden = out.hidden_states[idx].clone();
        let pooled = self.pool(&muq_hidden)?;
        Ok(ClipHidden { muq_hidden, pooled })
    }

    /// `proj` → transformer → time mean: MuQ state `(b, T, model_dim)` → `(b, dim)`.
    pub fn pool(&self, muq_hidden: &Tensor) -> candle_core::Result<Tensor> {
        let xs = self.proj.forward(muq_hidden)?; // (b, T, dim)
        self.transformer.forward(&xs)?.mean(D::Minus2) // (b, dim)
    }
}
