//! A trained probe head: `head.json` (what it was trained on) + `head.safetensors` (weights).

use std::path::Path;

use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::features::ModelIdentity;
use super::net::{NetShape, ProbeNet};
use super::{HeadKind, Pooling, TaskKind};
use crate::error::{Error, Result};

/// Weights file inside a head folder.
pub const WEIGHTS_FILE: &str = "head.safetensors";
/// Metadata file inside a head folder.
pub const META_FILE: &str = "head.json";
/// Version of the `head.json` layout.
const FORMAT_VERSION: u32 = 1;

/// Everything `head.json` records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeadMeta {
    /// Layout version of this file.
    pub format_version: u32,
    /// Task name (e.g. `genre`).
    pub task: String,
    /// Softmax or sigmoid outputs.
    pub task_kind: TaskKind,
    /// Class names, in output order.
    pub labels: Vec<String>,
    /// Hidden state index the features come from.
    pub layer: usize,
    /// Pooling over time.
    pub pooling: Pooling,
    /// Architecture.
    pub head: HeadKind,
    /// Hidden units of an MLP head (0 for linear).
    pub num_hidden: usize,
    /// The MuQ model the features came from.
    pub model: ModelIdentity,
    /// Per-feature mean used for standardisation.
    pub feature_mean: Vec<f32>,
    /// Per-feature standard deviation used for standardisation (all > 0).
    pub feature_std: Vec<f32>,
    /// Length of audio each training example covered, in seconds (`--unit window`); `None`:
    /// whole files (and heads written before this field existed).
    #[serde(default)]
    pub example_window_s: Option<f32>,
}

impl HeadMeta {
    fn net_shape(&self) -> NetShape {
        NetShape {
            kind: self.head,
            num_inputs: self.feature_mean.len(),
            num_hidden: self.num_hidden,
            num_outputs: self.labels.len(),
        }
    }

    fn validate(&self) -> std::result::Result<(), String> {
        if self.format_version != FORMAT_VERSION {
            return Err(format!(
                "format_version {} (this build reads {FORMAT_VERSION})",
                self.format_version
            ));
        }
        if self.labels.is_empty() {
            return Err("no labels".into());
        }
        let num_features = self.pooling.num_features(self.model.encoder_dim);
        if self.feature_mean.len() != num_features || self.feature_std.len() != num_features {
            return Err(format!(
                "feature statistics have {}/{} values, expected {num_features} ({} pooling of {} dims)",
                self.feature_mean.len(),
                self.feature_std.len(),
                self.pooling.name(),
                self.model.encoder_dim
            ));
        }
        if !self.feature_mean.iter().all(|v| v.is_finite())
            || !self.feature_std.iter().all(|v| v.is_finite() && *v > 0.0)
        {
            return Err(
                "feature statistics must be finite with positive standard deviations".into(),
            );
        }
        if self.layer > self.model.encoder_depth {
            return Err(format!(
                "layer {} beyond the model's depth {}",
                self.layer, self.model.encoder_depth
            ));
        }
        Ok(())
    }
}

/// A probe head ready to predict.
pub struct ProbeHead {
    /// What the head was trained on.
    pub meta: HeadMeta,
    net: ProbeNet,
}

impl ProbeHead {
    /// Wraps a trained network with its metadata (validated).
    pub fn new(meta: HeadMeta, net: ProbeNet) -> Result<Self> {
        meta.validate().map_err(Error::Probe)?;
        Ok(Self { meta, net })
    }

    /// A fresh, untrained network matching `meta` (for training), deterministic in `seed`.
    pub fn fresh_net(meta: &HeadMeta, seed: u64) -> Result<ProbeNet> {
        ProbeNet::new(meta.net_shape(), seed, &Device::Cpu)
    }

    /// Writes `head.safetensors` and `head.json` into `dir` (created if missing).
    pub fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        self.net.save(&dir.join(WEIGHTS_FILE))?;
        let json = serde_json::to_string_pretty(&self.meta)
            .map_err(|e| Error::Probe(format!("encoding head.json: {e}")))?;
        let meta_path = dir.join(META_FILE);
        std::fs::write(&meta_path, json).map_err(|e| Error::io(&meta_path, e))
    }

    /// Reads a head folder written by [`Self::save`].
    pub fn load(dir: &Path) -> Result<Self> {
        let meta_path = dir.join(META_FILE);
        let text = std::fs::read_to_string(&meta_path).map_err(|e| Error::io(&meta_path, e))?;
        let meta: HeadMeta = serde_json::from_str(&text)
            .map_err(|e| Error::Probe(format!("{}: {e}", meta_path.display())))?;
        meta.validate()
            .map_err(|msg| Error::Probe(format!("{}: {msg}", meta_path.display())))?;
        let mut net = ProbeNet::new(meta.net_shape(), 0, &Device::Cpu)?;
        net.load_weights(&dir.join(WEIGHTS_FILE))?;
        Ok(Self { meta, net })
    }

    /// Refuses a head trained on another model or another hidden state.
    pub fn ensure_compatible(&self, model: &ModelIdentity, layer: usize) -> Result<()> {
        let own = &self.meta.model;
        if own.encoder_dim != model.encoder_dim || own.encoder_depth != model.encoder_depth {
            return Err(Error::Probe(format!(
                "head {:?} was trained for a model with {} dims x {} layers, this model has {} dims x {} layers",
                self.meta.task,
                own.encoder_dim,
                own.encoder_depth,
                model.encoder_dim,
                model.encoder_depth
            )));
        }
        if own.config_hash != model.config_hash {
            return Err(Error::Probe(format!(
                "head {:?} was trained for another model (config hash {}, this model's is {})",
                self.meta.task, own.config_hash, model.config_hash
            )));
        }
        if self.meta.layer != layer {
            return Err(Error::Probe(format!(
                "head {:?} was trained on hidden state {}, not {layer}",
                self.meta.task, self.meta.layer
            )));
        }
        Ok(())
    }

    /// Standardised features (N, F) as a tensor; errors on a wrong feature count.
    pub fn standardise(&self, features: &[Vec<f32>]) -> Result<Tensor> {
        let num_features = self.meta.feature_mean.len();
        let mut flat = Vec::with_capacity(features.len() * num_features);
        for row in features {
            if row.len() != num_features {
                return Err(Error::Probe(format!(
                    "feature vector of {} values, the head expects {num_features}",
                    row.len()
                )));
            }
            flat.extend(
                row.iter()
                    .zip(&self.meta.feature_mean)
                    .zip(&self.meta.feature_std)
                    .map(|((x, m), s)| (x - m) / s),
            );
        }
        Ok(Tensor::from_vec(
            flat,
            (features.len(), num_features),
            &Device::Cpu,
        )?)
    }

    /// Class probabilities per row: softmax (multi-class) or per-class sigmoid (multi-label).
    pub fn predict(&self, features: &[Vec<f32>]) -> Result<Vec<Vec<f32>>> {
        if features.is_empty() {
            return Ok(Vec::new());
        }
        let logits = self.net.forward(&self.standardise(features)?)?;
        let probs = match self.meta.task_kind {
            TaskKind::MultiClass => candle_nn::ops::softmax_last_dim(&logits)?,
            TaskKind::MultiLabel => candle_nn::ops::sigmoid(&logits)?,
        };
        Ok(probs.to_vec2::<f32>()?)
    }

    /// The network (for training).
    pub fn net(&self) -> &ProbeNet {
        &self.net
    }
}
