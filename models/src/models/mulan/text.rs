//! Text tower (`TextTransformerPretrained`, muq-reference.md §6.3): XLM-R last hidden state →
//! optional projection → MuLan transformer (no mask) → mean over all positions.
//!
//! Upstream: <https://github.com/tencent-ailab/MuQ/blob/main/src/muq/muq_mulan/models/text.py>

use candle_core::{D, Module, Result, Tensor};
use candle_nn::VarBuilder;

use crate::nn::LinearT;

use super::config::MulanConfig;
use super::transformer::{Transformer, l2norm};
use crate::models::xlm_roberta::{XlmRoberta, XlmRobertaConfig};

/// `mulan.text`: XLM-R + `proj` + `transformer`.
pub struct TextTower {
    /// Checkpoint key `model` (the XLM-R encoder).
    model: XlmRoberta,
    /// `proj`: present only when `text_model.model_dim` is given and differs from the width.
    proj: Option<LinearT>,
    transformer: Transformer,
}

impl TextTower {
    /// Builds the tower; `vb` is the `mulan.text` level.
    pub fn new(cfg: &MulanConfig, xlmr_cfg: &XlmRobertaConfig, vb: VarBuilder) -> Result<Self> {
        let dim = cfg.text_transformer.dim;
        let model_dim = cfg.text_model.model_dim.unwrap_or(dim);
        if xlmr_cfg.hidden_size != model_dim {
            candle_core::bail!(
                "text encoder width {} does not match text_model.model_dim/text_transformer.dim {model_dim}",
                xlmr_cfg.hidden_size
            );
        }
        let proj = if model_dim != dim {
            Some(LinearT::new(model_dim, dim, vb.pp("proj"))?)
        } else {
            None
        };
        Ok(Self {
            model: XlmRoberta::new(xlmr_cfg, vb.pp("model"))?,
            proj,
            transformer: Transformer::new(&cfg.text_transformer, vb.pp("transformer"))?,
        })
    }

    /// The inner XLM-R.
    pub fn xlm_roberta(&self) -> &XlmRoberta {
        &self.model
    }

    /// XLM-R `last_hidden_state (b, s, model_dim)` for equal-length (padded) rows.
    pub fn encoder_hidden(&self, ids: &[Vec<u32>]) -> Result<Tensor> {
        self.model.forward(ids)
    }

    /// `proj` → transformer (no mask) → mean over ALL `s` positions: `(b, s, model_dim) -> (b, dim)`.
    pub fn pool(&self, hidden: &Tensor) -> Result<Tensor> {
        let xs = match &self.proj {
            Some(p) => p.forward(hidden)?,
            None => hidden.clone(),
        };
        self.transformer.forward(&xs)?.mean(D::Minus2)
    }
}

/// Text tower + `text_to_latents`: token ids → L2-normalised latents.
pub struct TextEncoder {
    tower: TextTower,
    /// Checkpoint key `mulan.text_to_latents`.
    text_to_latents: LinearT,
}

impl TextEncoder {
    /// Builds it; `vb` is the `mulan` level (keys `text.*`, `text_to_latents.*`).
    pub fn new(cfg: &MulanConfig, xlmr_cfg: &XlmRobertaConfig, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            tower: TextTower::new(cfg, xlmr_cfg, vb.pp("text"))?,
            text_to_latents: LinearT::new(
                cfg.text_transformer.dim,
                cfg.mulan.dim_latent,
                vb.pp("text_to_latents"),
            )?,
        })
    }

    /// The tower.
    pub fn tower(&self) -> &TextTower {
        &self.tower
    }

    /// `(b, s, model_dim)` XLM-R states → `(b, dim_latent)` unit-norm latents.
    pub fn latents_from_hidden(&self, hidden: &Tensor) -> Result<Tensor> {
        l2norm(&self.text_to_latents.forward(&self.tower.pool(hidden)?)?)
    }

    /// Equal-length (padded) id rows → `(b, dim_latent)` latents.
    pub fn latents(&self, ids: &[Vec<u32>]) -> Result<Tensor> {
        self.latents_from_hidden(&self.tower.encoder_hidden(ids)?)
    }
}
