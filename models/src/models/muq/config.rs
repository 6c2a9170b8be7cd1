//! MuQ's `config.json`, as written by the official `MuQ.save_pretrained`
//! (tencent-ailab/MuQ `src/muq/muq/muq.py`, `MuQConfig`), plus the conformer's
//! `w2v2_config` (a serialized transformers `Wav2Vec2ConformerConfig`).
//!
//! Only the fields that matter at inference are read; everything else in the file is
//! accepted and ignored. Unsupported values are rejected by [`MuqConfig::validate`].

use std::path::Path;

use serde::Deserialize;

use crate::{Error, Result};

/// Global mel statistics (`stat` in config.json) used to normalise the dB mel.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Stat {
    /// Mean of the dB mel over the training set (MSD: 6.768444971712967).
    pub melspec_2048_mean: f64,
    /// Standard deviation of the dB mel (MSD: 18.417922652295623).
    pub melspec_2048_std: f64,
}

/// Position embedding flavours the HF conformer supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PositionEmbeddings {
    /// HF wav2vec2-conformer rotary (the released checkpoint).
    Rotary,
    /// Transformer-XL style relative positions (`linear_pos`, `pos_bias_u/v`).
    Relative,
    /// No position information.
    None,
}

/// The subset of `Wav2Vec2ConformerConfig` the encoder reads.
#[derive(Debug, Clone, Deserialize)]
pub struct W2v2Config {
    /// Attention heads (16 for MuQ-large).
    pub num_attention_heads: usize,
    /// Feed-forward inner width (4096 for MuQ-large).
    pub intermediate_size: usize,
    /// Activation of the FFNs and the conv module ("swish").
    #[serde(default = "default_act")]
    pub hidden_act: String,
    /// "rotary", "relative" or null.
    #[serde(default)]
    pub position_embeddings_type: Option<String>,
    /// Rotary base (10000).
    #[serde(default = "default_rotary_base")]
    pub rotary_embedding_base: f64,
    /// Depthwise kernel of the conv module (31).
    #[serde(default = "default_dw_kernel")]
    pub conv_depthwise_kernel_size: usize,
    /// Epsilon of the encoder-level LayerNorm (the in-layer norms use PyTorch's 1e-5).
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
}

fn default_act() -> String {
    "swish".to_string()
}
fn default_rotary_base() -> f64 {
    10000.0
}
fn default_dw_kernel() -> usize {
    31
}
fn default_eps() -> f64 {
    1e-5
}

/// MuQ hyper-parameters (`config.json` of `OpenMuQ/MuQ-large-msd-iter`).
#[derive(Debug, Clone, Deserialize)]
pub struct MuqConfig {
    /// Tokens per second: 25 (n_fold 4) or 50 (n_fold 2).
    pub label_rate: u32,
    /// Conv-stem channels (512).
    pub conv_dim: usize,
    /// Conformer width D (1024); overrides `w2v2_config.hidden_size`.
    pub encoder_dim: usize,
    /// Conformer depth L (12); overrides `w2v2_config.num_hidden_layers`.
    pub encoder_depth: usize,
    /// Mel bands (128).
    #[serde(default = "default_n_mels")]
    pub n_mels: usize,
    /// Mel hop in samples (240).
    #[serde(default = "default_hop")]
    pub hop_length: usize,
    /// Input features; only `["melspec_2048"]` exists.
    #[serde(default = "default_features")]
    pub features: Vec<String>,
    /// Global mel statistics.
    pub stat: Stat,
    /// The conformer's configuration.
    pub w2v2_config: W2v2Config,
}

fn default_n_mels() -> usize {
    128
}
fn default_hop() -> usize {
    240
}
fn default_features() -> Vec<String> {
    vec!["melspec_2048".to_string()]
}

/// Sample rate every MuQ model expects.
pub const MUQ_SAMPLE_RATE_HZ: u32 = 24_000;

impl MuqConfig {
    /// Parses and validates a config from JSON text.
    pub fn from_json_str(json: &str) -> Result<Self> {
        let cfg: MuqConfig = serde_json::from_str(json).map_err(|e| Error::Config {
            path: "<json>".into(),
            msg: e.to_string(),
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Reads, parses and validates `config.json`.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_json_str(&text).map_err(|e| match e {
            Error::Config { msg, .. } => Error::Config {
                path: path.into(),
                msg,
            },
            other => other,
        })
    }

    /// The released `OpenMuQ/MuQ-large-msd-iter` architecture (values from its config.json,
    /// see `shared/docs/muq-large-msd-iter.config.inferred.json`).
    pub fn muq_large_msd_iter() -> Self {
        MuqConfig {
            label_rate: 25,
            conv_dim: 512,
            encoder_dim: 1024,
            encoder_depth: 12,
            n_mels: 128,
            hop_length: 240,
            features: default_features(),
            stat: Stat {
                melspec_2048_mean: 6.768444971712967,
                melspec_2048_std: 18.417922652295623,
            },
            w2v2_config: W2v2Config {
                num_attention_heads: 16,
                intermediate_size: 4096,
                hidden_act: default_act(),
                position_embeddings_type: Some("rotary".to_string()),
                rotary_embedding_base: 10000.0,
                conv_depthwise_kernel_size: 31,
                layer_norm_eps: 1e-5,
            },
        }
    }

    /// Rejects values the port (and the official code) cannot run.
    pub fn validate(&self) -> Result<()> {
        let bad = |msg: String| Err(Error::Unsupported(msg));
        if self.features.len() != 1 || self.features[0] != "melspec_2048" {
            return bad(format!(
                "features {:?} (only [\"melspec_2048\"] exists)",
                self.features
            ));
        }
        if self.n_mels != 128 {
            return bad(format!(
                "n_mels {} (MuQ's mel frontend is fixed at 128)",
                self.n_mels
            ));
        }
        if self.hop_length != 240 {
            return bad(format!(
                "hop_length {} (MuQ's mel frontend uses 240)",
                self.hop_length
            ));
        }
        if self.label_rate != 25 && self.label_rate != 50 {
            return bad(format!("label_rate {} (25 or 50)", self.label_rate));
        }
        let max_dim = 1 << 16;
        for (name, v) in [
            ("conv_dim", self.conv_dim),
            ("encoder_dim", self.encoder_dim),
            (
                "w2v2_config.intermediate_size",
                self.w2v2_config.intermediate_size,
            ),
        ] {
            if v == 0 || v > max_dim {
                return bad(format!("{name} {v} (must be in 1..={max_dim})"));
            }
        }
        if self.encoder_depth == 0 || self.encoder_depth > 256 {
            return bad(format!("encoder_depth {} (1..=256)", self.encoder_depth));
        }
        let base = self.w2v2_config.rotary_embedding_base;
        if !(base.is_finite() && base > 1.0 && base <= 1e9) {
            return bad(format!(
                "rotary_embedding_base {base} (must be in (1, 1e9])"
            ));
        }
        let heads = self.w2v2_config.num_attention_heads;
        if heads == 0 || self.encoder_dim % heads != 0 {
            return bad(format!(
                "encoder_dim {} is not divisible by num_attention_heads {heads}",
                self.encoder_dim
            ));
        }
        let head_dim = self.encoder_dim / heads;
        if self.position_embeddings()? == PositionEmbeddings::Rotary && head_dim % 2 != 0 {
            return bad(format!(
                "rotary embeddings need an even head dim, got {head_dim}"
            ));
        }
        if self.position_embeddings()? == PositionEmbeddings::Relative && self.encoder_dim % 2 != 0
        {
            return bad(format!(
                "relative embeddings need an even encoder_dim, got {}",
                self.encoder_dim
            ));
        }
        let k = self.w2v2_config.conv_depthwise_kernel_size;
        if k == 0 || k % 2 == 0 || k > 1023 {
            return bad(format!("conv_depthwise_kernel_size {k} (odd, 1..=1023)"));
        }
        self.activation()?;
        let s = &self.stat;
        // Checked as f32, the precision the normalisation runs in.
        let (mean_f32, std_f32) = (s.melspec_2048_mean as f32, s.melspec_2048_std as f32);
        if !(std_f32.is_normal() && std_f32 > 0.0 && mean_f32.is_finite()) {
            return bad(format!(
                "stat mean {} / std {} (std must be finite and > 0)",
                s.melspec_2048_mean, s.melspec_2048_std
            ));
        }
        let eps = self.w2v2_config.layer_norm_eps;
        if !(eps.is_finite() && eps >= 1e-12 && eps < 1.0) {
            return bad(format!("layer_norm_eps {eps}"));
        }
        Ok(())
    }

    /// `100 // label_rate`: 4 (strides (2,2),(2,2)) or 2 (strides (2,2),(2,1)).
    pub fn n_fold(&self) -> usize {
        (100 / self.label_rate) as usize
    }

    /// Per-block (freq, time) strides of the conv stem.
    pub fn conv_strides(&self) -> [(usize, usize); 2] {
        if self.n_fold() == 4 {
            [(2, 2), (2, 2)]
        } else {
            [(2, 2), (2, 1)]
        }
    }

    /// Mel samples per encoder token (960 at 25 tokens/s, 480 at 50).
    pub fn samples_per_token(&self) -> usize {
        self.hop_length * self.n_fold()
    }

    /// Heads' width.
    pub fn head_dim(&self) -> usize {
        self.encoder_dim / self.w2v2_config.num_attention_heads
    }

    /// The position-embedding flavour, or an error for an unknown name.
    pub fn position_embeddings(&self) -> Result<PositionEmbeddings> {
        match self.w2v2_config.position_embeddings_type.as_deref() {
            Some("rotary") => Ok(PositionEmbeddings::Rotary),
            Some("relative") => Ok(PositionEmbeddings::Relative),
            None => Ok(PositionEmbeddings::None),
            Some(other) => Err(Error::Unsupported(format!(
                "position_embeddings_type {other:?} (rotary, relative or null)"
            ))),
        }
    }

    /// The FFN / conv-module activation.
    pub fn activation(&self) -> Result<candle_nn::Activation> {
        match self.w2v2_config.hidden_act.as_str() {
            "swish" | "silu" => Ok(candle_nn::Activation::Silu),
            "gelu" => Ok(candle_nn::Activation::Gelu),
            "relu" => Ok(candle_nn::Activation::Relu),
            other => Err(Error::Unsupported(format!(
                "hidden_act {other:?} (swish, silu, gelu or relu)"
            ))),
        }
    }

    /// Token count for `num_frames` mel frames: each time-stride-2 stage maps n -> ceil(n/2).
    pub fn num_tokens(&self, num_frames: usize) -> usize {
        self.conv_strides()
            .iter()
            .fold(num_frames, |n, s| n.div_ceil(s.1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn large_json() -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/docs/muq-large-msd-iter.config.inferred.json");
        std::fs::read_to_string(path).unwrap_or_default()
    }

    #[test]
    fn published_config_parses_to_builtin_values() {
        let json = large_json();
        if json.is_empty() {
            // The inferred config lives in the shared docs; the built-in must validate regardless.
            MuqConfig::muq_large_msd_iter().validate().unwrap();
            return;
        }
        let cfg = MuqConfig::from_json_str(&json).unwrap();
        let builtin = MuqConfig::muq_large_msd_iter();
        assert_eq!(cfg.encoder_dim, builtin.encoder_dim);
        assert_eq!(cfg.encoder_depth, builtin.encoder_depth);
        assert_eq!(cfg.conv_dim, builtin.conv_dim);
        assert_eq!(cfg.label_rate, builtin.label_rate);
        assert_eq!(cfg.stat, builtin.stat);
        assert_eq!(cfg.w2v2_config.num_attention_heads, 16);
        assert_eq!(cfg.w2v2_config.intermediate_size, 4096);
        assert_eq!(
            cfg.position_embeddings().unwrap(),
            PositionEmbeddings::Rotary
        );
    }

    #[test]
    fn rejects_unsupported_values() {
        let mut cfg = MuqConfig::muq_large_msd_iter();
        cfg.label_rate = 30;
        assert!(matches!(cfg.validate(), Err(Error::Unsupported(m)) if m.contains("label_rate")));
        let mut cfg = MuqConfig::muq_large_msd_iter();
        cfg.w2v2_config.num_attention_heads = 7;
        assert!(cfg.validate().is_err());
        let mut cfg = MuqConfig::muq_large_msd_iter();
        cfg.w2v2_config.position_embeddings_type = Some("alibi".into());
        assert!(cfg.validate().is_err());
        let mut cfg = MuqConfig::muq_large_msd_iter();
        cfg.stat.melspec_2048_std = 0.0;
        assert!(cfg.validate().is_err());
        cfg.stat.melspec_2048_std = 1e-300; // zero in f32
        assert!(cfg.validate().is_err());
        let mut cfg = MuqConfig::muq_large_msd_iter();
        cfg.encoder_depth = 0;
        assert!(cfg.validate().is_err());
        let mut cfg = MuqConfig::muq_large_msd_iter();
        cfg.w2v2_config.rotary_embedding_base = -1.0;
        assert!(cfg.validate().is_err());
        let mut cfg = MuqConfig::muq_large_msd_iter();
        cfg.w2v2_config.layer_norm_eps = 1e-300;
        assert!(cfg.validate().is_err());
        assert!(MuqConfig::from_json_str("{\"label_rate\": 25}").is_err());
        assert!(MuqConfig::from_json_str("not json").is_err());
    }

    #[test]
    fn token_counts_follow_the_strides() {
        let cfg = MuqConfig::muq_large_msd_iter();
        assert_eq!(cfg.num_tokens(1000), 250);
        assert_eq!(cfg.num_tokens(300), 75);
        assert_eq!(cfg.num_tokens(301), 76);
        let mut cfg2 = cfg.clone();
        cfg2.label_rate = 50;
        assert_eq!(cfg2.num_tokens(1000), 500);
        assert_eq!(cfg2.samples_per_token(), 480);
    }
}
