//! Probe heads: small classifiers (linear or one-hidden-layer MLP) trained on pooled, frozen
//! MuQ features of labelled audio, saved as `head.safetensors` + `head.json`.
//!
//! Pipeline: [`labels::read_labels`] → [`features::FeatureExtractor`] (cached on disk) →
//! training (the `muq probe` command, `muq_cli::probe::train`) → [`head::ProbeHead`] (save /
//! load / predict).

pub mod features;
pub mod head;
pub mod labels;
pub mod net;
pub mod registry;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub use features::{FeatureExtractor, ModelIdentity};
pub use head::{HeadMeta, ProbeHead};
pub use labels::{LabelSet, LabelledFile, read_labels};
pub use registry::load_heads_in;

/// How the hidden states of a file are pooled over time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pooling {
    /// Mean over tokens (D values).
    Mean,
    /// Mean then max over tokens, concatenated (2·D values).
    Meanmax,
}

impl Pooling {
    /// Parses `mean` or `meanmax`.
    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "mean" => Ok(Self::Mean),
            "meanmax" => Ok(Self::Meanmax),
            other => Err(Error::Probe(format!(
                "pooling {other:?}: expected `mean` or `meanmax`"
            ))),
        }
    }

    /// The name used on the command line and in `head.json`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Mean => "mean",
            Self::Meanmax => "meanmax",
        }
    }

    /// Pooled feature size for a hidden size of `encoder_dim`.
    pub fn num_features(self, encoder_dim: usize) -> usize {
        match self {
            Self::Mean => encoder_dim,
            Self::Meanmax => 2 * encoder_dim,
        }
    }
}

/// The head's architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HeadKind {
    /// One linear layer.
    Linear,
    /// Linear → ReLU → linear.
    Mlp,
}

impl HeadKind {
    /// Parses `linear` or `mlp`.
    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "linear" => Ok(Self::Linear),
            "mlp" => Ok(Self::Mlp),
            other => Err(Error::Probe(format!(
                "head {other:?}: expected `linear` or `mlp`"
            ))),
        }
    }
}

/// Whether each file has exactly one label (softmax) or any number of them (sigmoid).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TaskKind {
    /// One label per file, softmax over the classes.
    MultiClass,
    /// Any number of labels per file, one sigmoid per class.
    MultiLabel,
}
