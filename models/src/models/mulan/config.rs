//! MuQ-MuLan `config.json` (the layout `MuQMuLan.save_pretrained` writes).
//!
//! Upstream: <https://github.com/tencent-ailab/MuQ/blob/main/src/muq/muq_mulan/muq_mulan.py>
//! (`MuQMuLanConfig` and its dataclasses). Training-only fields are read and ignored.

use std::path::Path;

use serde::Deserialize;

use crate::{Error, Result};

/// `mulan` section: sample rate, clip length and latent width.
#[derive(Debug, Clone, Deserialize)]
pub struct MulanSection {
    /// Sample rate the audio tower expects (24 000 for every released model).
    pub sr: u32,
    /// Clip length in seconds; `sr * clip_secs` must be a whole number of samples.
    pub clip_secs: f64,
    /// Width of the shared audio/text latent space.
    pub dim_latent: usize,
}

/// `audio_model` / `text_model` section: which pretrained encoder feeds the tower.
#[derive(Debug, Clone, Deserialize)]
pub struct ModalModelConfig {
    /// Hub name of the inner model (`OpenMuQ/MuQ-large-msd-iter`, `xlm-roberta-base`, ...).
    pub name: String,
    /// Width of the inner model's hidden states; `None` means "same as the transformer".
    #[serde(default)]
    pub model_dim: Option<usize>,
    /// Which hidden state to use, Python-style (`-1` = last).
    #[serde(default = "default_layer_idx")]
    pub use_layer_idx: i64,
}

fn default_layer_idx() -> i64 {
    -1
}

/// `audio_transformer` / `text_transformer` section: the MuLan [`super::transformer::Transformer`].
#[derive(Debug, Clone, Deserialize)]
pub struct TowerTransformerConfig {
    /// Model width.
    pub dim: usize,
    /// Number of `[Attention, FeedForward]` blocks (0 = identity).
    pub tf_depth: usize,
    /// Attention heads.
    pub heads: usize,
    /// Width of one head.
    pub dim_head: usize,
    /// Feed-forward multiplier (hidden = `dim * ff_mult * 2 / 3`).
    pub ff_mult: usize,
}

/// The whole MuQ-MuLan `config.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct MulanConfig {
    /// Sample rate, clip length, latent width.
    pub mulan: MulanSection,
    /// The MuQ encoder of the audio tower.
    pub audio_model: ModalModelConfig,
    /// The XLM-R encoder of the text tower.
    pub text_model: ModalModelConfig,
    /// Transformer after the MuQ projection.
    pub audio_transformer: TowerTransformerConfig,
    /// Transformer after XLM-R.
    pub text_transformer: TowerTransformerConfig,
}

impl MulanConfig {
    /// Parses and validates a config from JSON text; `path` is only used in error messages.
    pub fn from_json_str(json: &str, path: &Path) -> Result<Self> {
        let cfg: MulanConfig = serde_json::from_str(json).map_err(|e| Error::Config {
            path: path.to_path_buf(),
            msg: e.to_string(),
        })?;
        cfg.validate(path)?;
        Ok(cfg)
    }

    /// Reads and validates `config.json`.
    pub fn from_file(path: &Path) -> Result<Self> {
        let json = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_json_str(&json, path)
    }

    /// The released `OpenMuQ/MuQ-MuLan-large` config (muq-reference.md §0.1).
    pub fn muq_mulan_large() -> Self {
        let tower = |tf_depth| TowerTransformerConfig {
            dim: 768,
            tf_depth,
            heads: 8,
            dim_head: 64,
            ff_mult: 4,
        };
        MulanConfig {
            mulan: MulanSection {
                sr: 24_000,
                clip_secs: 10.0,
                dim_latent: 512,
            },
            audio_model: ModalModelConfig {
                name: "OpenMuQ/MuQ-large-msd-iter".into(),
                model_dim: Some(1024),
                use_layer_idx: -1,
            },
            text_model: ModalModelConfig {
                name: "xlm-roberta-base".into(),
                model_dim: None,
                use_layer_idx: -1,
            },
            audio_transformer: tower(0),
            text_transformer: tower(8),
        }
    }

    /// Samples per clip (`sr * clip_secs`), checked to be a positive whole number in `validate`.
    pub fn clip_samples(&self) -> usize {
        (self.mulan.sr as f64 * self.mulan.clip_secs).round() as usize
    }

    fn validate(&self, path: &Path) -> Result<()> {
        let bad = |msg: String| Error::Config {
            path: path.to_path_buf(),
            msg,
        };
        let clip = self.mulan.sr as f64 * self.mulan.clip_secs;
        if !(clip.is_finite() && clip >= 1.0 && clip.fract() == 0.0) {
            return Err(bad(format!(
                "mulan.sr * mulan.clip_secs must be a positive whole number of samples, got {clip}"
            )));
        }
        if self.mulan.dim_latent == 0 {
            return Err(bad("mulan.dim_latent must be > 0".into()));
        }
        for (name, t) in [
            ("audio_transformer", &self.audio_transformer),
            ("text_transformer", &self.text_transformer),
        ] {
            if t.dim == 0 || t.heads == 0 || t.dim_head == 0 || t.ff_mult == 0 {
                return Err(bad(format!(
                    "{name}: dim, heads, dim_head and ff_mult must be > 0"
                )));
            }
        }
        if self.audio_model.model_dim == Some(0) || self.text_model.model_dim == Some(0) {
            return Err(bad("model_dim must be > 0 when given".into()));
        }
        Ok(())
    }
}

/// Resolves a Python-style layer index (`-1` = last) into `0..num_states`.
pub fn resolve_layer_idx(idx: i64, num_states: usize) -> Option<usize> {
    let n = num_states as i64;
    let resolved = if idx < 0 { n + idx } else { idx };
    (0..n).contains(&resolved).then_some(resolved as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn released_config_parses_like_builtin() {
        let json = r#"{"mulan": {"sr": 24000, "clip_secs": 10, "dim_latent": 512,
            "decoupled_contrastive_learning": true, "hierarchical_contrastive_loss": false,
            "hierarchical_contrastive_loss_layers": null, "sigmoid_contrastive_loss": false,
            "rank_contrast": true},
          "audio_model": {"name": "OpenMuQ/MuQ-large-msd-iter", "model_dim": 1024, "use_layer_idx": -1},
          "text_model":  {"name": "xlm-roberta-base", "model_dim": null, "use_layer_idx": -1},
          "audio_transformer": {"dim": 768, "tf_depth": 0, "heads": 8, "dim_head": 64,
                                "attn_dropout": 0, "ff_dropout": 0, "ff_mult": 4},
          "text_transformer":  {"dim": 768, "tf_depth": 8, "max_seq_len": 1024, "dim_head": 64, "heads": 8,
                                "attn_dropout": 0, "ff_dropout": 0, "ff_mult": 4}}"#;
        let cfg = MulanConfig::from_json_str(json, Path::new("x")).unwrap();
        let builtin = MulanConfig::muq_mulan_large();
        assert_eq!(cfg.clip_samples(), 240_000);
        assert_eq!(cfg.clip_samples(), builtin.clip_samples());
        assert_eq!(
            cfg.text_transformer.tf_depth,
            builtin.text_transformer.tf_depth
        );
        assert_eq!(cfg.audio_model.model_dim, builtin.audio_model.model_dim);
        assert_eq!(cfg.text_model.model_dim, None);
    }

    #[test]
    fn fractional_clip_is_rejected() {
        let mut json = serde_json::to_value(serde_json::json!({
            "mulan": {"sr": 24000, "clip_secs": 0.00001, "dim_latent": 4},
            "audio_model": {"name": "a", "model_dim": 8},
            "text_model": {"name": "b"},
            "audio_transformer": {"dim": 8, "tf_depth": 0, "heads": 1, "dim_head": 8, "ff_mult": 4},
            "text_transformer": {"dim": 8, "tf_depth": 0, "heads": 1, "dim_head": 8, "ff_mult": 4}
        }))
        .unwrap();
        let err = MulanConfig::from_json_str(&json.to_string(), Path::new("c.json")).unwrap_err();
        assert!(err.to_string().contains("whole number"), "{err}");
        json["mulan"]["clip_secs"] = serde_json::json!(2);
        assert!(MulanConfig::from_json_str(&json.to_string(), Path::new("c.json")).is_ok());
    }

    #[test]
    fn layer_idx_resolves_python_style() {
        assert_eq!(resolve_layer_idx(-1, 13), Some(12));
        assert_eq!(resolve_layer_idx(0, 13), Some(0));
        assert_eq!(resolve_layer_idx(13, 13), None);
        assert_eq!(resolve_layer_idx(-14, 13), None);
    }
}
