//! XLM-RoBERTa encoder (`XLMRobertaModel.last_hidden_state`), the text side of MuQ-MuLan.
//!
//! Paper: <https://arxiv.org/abs/1911.02116>; model card: <https://huggingface.co/xlm-roberta-base>;
//! reference: transformers 4.47.1 `models/xlm_roberta/modeling_xlm_roberta.py`
//! (<https://github.com/huggingface/transformers/blob/v4.47.1/src/transformers/models/xlm_roberta/modeling_xlm_roberta.py>).
//! Written here rather than taken from candle-transformers so that padding masks, position ids
//! (`cumsum(ids != pad) * (ids != pad) + pad`, i.e. real tokens start at `pad + 1`) and errors
//! follow this crate's rules; post-LN BERT layers, exact (erf) GELU. The pooler is not built.

use std::path::Path;

use candle_core::{Module, Result, Tensor};
use candle_nn::{Embedding, LayerNorm, VarBuilder, embedding, layer_norm};

use crate::nn::LinearT;
use serde::Deserialize;

use crate::Error;

/// The `config.json` fields XLM-R inference needs.
#[derive(Debug, Clone, Deserialize)]
pub struct XlmRobertaConfig {
    /// Rows of the word embedding (250 002 for xlm-roberta-base).
    pub vocab_size: usize,
    /// Model width.
    pub hidden_size: usize,
    /// Encoder layers.
    pub num_hidden_layers: usize,
    /// Attention heads.
    pub num_attention_heads: usize,
    /// Feed-forward width.
    pub intermediate_size: usize,
    /// Rows of the position embedding; usable sequence length is this minus `pad_token_id + 1`.
    pub max_position_embeddings: usize,
    /// Rows of the token-type embedding (1).
    #[serde(default = "one")]
    pub type_vocab_size: usize,
    /// LayerNorm eps (1e-5).
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    /// `<pad>` id (1); also the position id of pads.
    #[serde(default = "one_u32")]
    pub pad_token_id: u32,
    /// Only `"gelu"` (exact) is supported.
    #[serde(default = "default_act")]
    pub hidden_act: String,
    /// Only `"absolute"` is supported.
    #[serde(default = "default_pos_type")]
    pub position_embedding_type: String,
}

fn one() -> usize {
    1
}
fn one_u32() -> u32 {
    1
}
fn default_eps() -> f64 {
    1e-5
}
fn default_act() -> String {
    "gelu".into()
}
fn default_pos_type() -> String {
    "absolute".into()
}

impl XlmRobertaConfig {
    /// xlm-roberta-base's published hyper-parameters (used when its `config.json` is absent).
    pub fn xlm_roberta_base() -> Self {
        Self {
            vocab_size: 250_002,
            hidden_size: 768,
            num_hidden_layers: 12,
            num_attention_heads: 12,
            intermediate_size: 3072,
            max_position_embeddings: 514,
            type_vocab_size: 1,
            layer_norm_eps: 1e-5,
            pad_token_id: 1,
            hidden_act: "gelu".into(),
            position_embedding_type: "absolute".into(),
        }
    }

    /// Reads and validates a transformers `config.json`.
    pub fn from_file(path: &Path) -> crate::Result<Self> {
        let json = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let cfg: Self = serde_json::from_str(&json).map_err(|e| Error::Config {
            path: path.to_path_buf(),
            msg: e.to_string(),
        })?;
        cfg.validate().map_err(|msg| Error::Config {
            path: path.to_path_buf(),
            msg,
        })?;
        Ok(cfg)
    }

    fn validate(&self) -> std::result::Result<(), String> {
        if self.hidden_act != "gelu" {
            return Err(format!(
                "hidden_act {:?} is not supported (only \"gelu\")",
                self.hidden_act
            ));
        }
        if self.position_embedding_type != "absolute" {
            return Err(format!(
                "position_embedding_type {:?} is not supported (only \"absolute\")",
                self.position_embedding_type
            ));
        }
        if self.num_attention_heads == 0
            || !self.hidden_size.is_multiple_of(self.num_attention_heads)
        {
            return Err("hidden_size must be a multiple of num_attention_heads".into());
        }
        if self.max_position_embeddings <= self.pad_token_id as usize + 2 {
            return Err("max_position_embeddings too small for any token".into());
        }
        Ok(())
    }

    /// Longest token sequence (with `<s>` and `</s>`) the position table can hold:
    /// positions run from `pad + 1` to `pad + len` and must stay below `max_position_embeddings`.
    pub fn max_tokens(&self) -> usize {
        self.max_position_embeddings - self.pad_token_id as usize - 1
    }
}

/// Position ids of one row: `cumsum(ids != pad) * (ids != pad) + pad`.
pub fn position_ids(ids: &[u32], pad: u32) -> Vec<u32> {
    let mut count = 0u32;
    ids.iter()
        .map(|&id| {
            if id == pad {
                pad
            } else {
                count += 1;
                count + pad
            }
        })
        .collect()
}

struct Embeddings {
    word_embeddings: Embedding,
    position_embeddings: Embedding,
    token_type_embeddings: Embedding,
    /// Checkpoint key `LayerNorm`.
    layer_norm: LayerNorm,
}

/// `attention.self.{query,key,value}` fused into one `(h, 3h)` product (one gemm instead of
/// three for the few rows of a prompt).
struct SelfAttention {
    qkv: LinearT,
}

impl SelfAttention {
    fn new(h: usize, vb: VarBuilder) -> Result<Self> {
        let parts = ["query", "key", "value"];
        let ws = parts
            .iter()
            .map(|p| vb.pp(*p).get((h, h), "weight"))
            .collect::<Result<Vec<_>>>()?;
        let bs = parts
            .iter()
            .map(|p| vb.pp(*p).get(h, "bias"))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            qkv: LinearT::from_weight(&Tensor::cat(&ws, 0)?, Some(Tensor::cat(&bs, 0)?))?,
        })
    }
}

struct Layer {
    attention: SelfAttention,
    /// `attention.output.dense`.
    attn_out_dense: LinearT,
    /// `attention.output.LayerNorm`.
    attn_out_norm: LayerNorm,
    /// `intermediate.dense`.
    intermediate: LinearT,
    /// `output.dense`.
    out_dense: LinearT,
    /// `output.LayerNorm`.
    out_norm: LayerNorm,
}

/// `XLMRobertaModel` without the pooler.
pub struct XlmRoberta {
    embeddings: Embeddings,
    layers: Vec<Layer>,
    cfg: XlmRobertaConfig,
}

impl XlmRoberta {
    /// Builds the model; `vb` is the level holding `embeddings.*` and `encoder.*`.
    pub fn new(cfg: &XlmRobertaConfig, vb: VarBuilder) -> Result<Self> {
        if let Err(msg) = cfg.validate() {
            candle_core::bail!("xlm-roberta config: {msg}");
        }
        let (h, eps) = (cfg.hidden_size, cfg.layer_norm_eps);
        let ve = vb.pp("embeddings");
        let embeddings = Embeddings {
            word_embeddings: embedding(cfg.vocab_size, h, ve.pp("word_embeddings"))?,
            position_embeddings: embedding(
                cfg.max_position_embeddings,
                h,
                ve.pp("position_embeddings"),
            )?,
            token_type_embeddings: embedding(
                cfg.type_vocab_size,
                h,
                ve.pp("token_type_embeddings"),
            )?,
            layer_norm: layer_norm(h, eps, ve.pp("LayerNorm"))?,
        };
        let vl = vb.pp("encoder").pp("layer");
        let layers = (0..cfg.num_hidden_layers)
            .map(|i| {
                let vb = vl.pp(i.to_string());
                let va = vb.pp("attention");
                Ok(Layer {
                    attention: SelfAttention::new(h, va.pp("self"))?,
                    attn_out_dense: LinearT::new(h, h, va.pp("output").pp("dense"))?,
                    attn_out_norm: layer_norm(h, eps, va.pp("output").pp("LayerNorm"))?,
                    intermediate: LinearT::new(
                        h,
                        cfg.intermediate_size,
                        vb.pp("intermediate").pp("dense"),
                    )?,
                    out_dense: LinearT::new(cfg.intermediate_size, h, vb.pp("output").pp("dense"))?,
                    out_norm: layer_norm(h, eps, vb.pp("output").pp("LayerNorm"))?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            embeddings,
            layers,
            cfg: cfg.clone(),
        })
    }

    /// The config this model was built with.
    pub fn config(&self) -> &XlmRobertaConfig {
        &self.cfg
    }

    /// `last_hidden_state (b, s, hidden)` for right- or left-padded `ids` (rows of equal length).
    /// Pads (id `pad_token_id`) are masked out as keys, exactly like `attention_mask = ids != pad`;
    /// a batch without pads runs unmasked.
    pub fn forward(&self, ids: &[Vec<u32>]) -> Result<Tensor> {
        let dev = self
            .embeddings
            .word_embeddings
            .embeddings()
            .device()
            .clone();
        let b = ids.len();
        let s = ids.first().map_or(0, Vec::len);
        if b == 0 || s == 0 || ids.iter().any(|r| r.len() != s) {
            candle_core::bail!("xlm-roberta: need a non-empty batch of equal-length rows");
        }
        let pad = self.cfg.pad_token_id;
        if let Some(&bad) = ids
            .iter()
            .flatten()
            .find(|&&id| id as usize >= self.cfg.vocab_size)
        {
            candle_core::bail!(
                "xlm-roberta: token id {bad} >= vocab size {}",
                self.cfg.vocab_size
            );
        }
        let flat_ids: Vec<u32> = ids.iter().flatten().copied().collect();
        let flat_pos: Vec<u32> = ids.iter().flat_map(|r| position_ids(r, pad)).collect();
        if let Some(&p) = flat_pos.iter().max()
            && p as usize >= self.cfg.max_position_embeddings
        {
            candle_core::bail!(
                "xlm-roberta: sequence of {s} tokens exceeds the {} positions of the model",
                self.cfg.max_tokens()
            );
        }
        let ids_t = Tensor::from_vec(flat_ids, (b, s), &dev)?;
        let pos_t = Tensor::from_vec(flat_pos, (b, s), &dev)?;
        let e = &self.embeddings;
        let tt = e.token_type_embeddings.embeddings().get(0)?; // (hidden,)
        let xs = (e.word_embeddings.forward(&ids_t)? + e.position_embeddings.forward(&pos_t)?)?
            .broadcast_add(&tt)?;
        let mut xs = e.layer_norm.forward(&xs)?; // (b, s, h)

        let any_pad = ids.iter().flatten().any(|&id| id == pad);
        let mask = if any_pad {
            let bias: Vec<f32> = ids
                .iter()
                .flatten()
                .map(|&id| if id == pad { f32::MIN } else { 0.0 })
                .collect();
            Some(Tensor::from_vec(bias, (b, 1, 1, s), &dev)?)
        } else {
            None
        };
        for layer in &self.layers {
            xs = self.layer_forward(layer, &xs, mask.as_ref())?;
        }
        Ok(xs)
    }

    fn layer_forward(&self, layer: &Layer, xs: &Tensor, mask: Option<&Tensor>) -> Result<Tensor> {
        let (b, s, h) = xs.dims3()?;
        let heads = self.cfg.num_attention_heads;
        let hd = h / heads;
        let split = |t: Tensor| -> Result<Tensor> {
            t.reshape((b, s, heads, hd))?.transpose(1, 2)?.contiguous()
        };
        let qkv = layer.attention.qkv.forward(xs)?; // (b, s, 3h)
        let q = split((qkv.narrow(2, 0, h)? * (1.0 / (hd as f64).sqrt()))?)?; // (b, heads, s, hd)
        let k = split(qkv.narrow(2, h, h)?)?;
        let v = split(qkv.narrow(2, 2 * h, h)?)?;
        let mut scores = q.matmul(&k.t()?)?; // (b, heads, s, s)
        if let Some(m) = mask {
            scores = scores.broadcast_add(m)?;
        }
        let probs = candle_nn::ops::softmax_last_dim(&scores)?;
        let ctx = probs.matmul(&v)?.transpose(1, 2)?.reshape((b, s, h))?;
        let xs = layer
            .attn_out_norm
            .forward(&(layer.attn_out_dense.forward(&ctx)? + xs)?)?;
        let ff = layer.intermediate.forward(&xs)?.gelu_erf()?;
        layer
            .out_norm
            .forward(&(layer.out_dense.forward(&ff)? + &xs)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_ids_start_after_pad_and_pads_get_pad() {
        assert_eq!(position_ids(&[0, 5, 6, 2, 1, 1], 1), vec![2, 3, 4, 5, 1, 1]);
        assert_eq!(position_ids(&[1, 0, 2], 1), vec![1, 2, 3]);
    }

    #[test]
    fn base_allows_512_tokens() {
        assert_eq!(XlmRobertaConfig::xlm_roberta_base().max_tokens(), 512);
    }
}
