//! Conformer self-attention with rotary or relative positions. Mirrors
//! `Wav2Vec2ConformerSelfAttention` in huggingface/transformers v4.47.1
//! `src/transformers/models/wav2vec2_conformer/modeling_wav2vec2_conformer.py`
//! (see `shared/docs/muq-reference.md` §5.4 for the non-standard rotary).

use candle_core::{D, Result, Tensor};
use candle_nn::{Module, VarBuilder};

use super::config::{MuqConfig, PositionEmbeddings};
use super::position::PositionTables;
use crate::nn::linear_t::LinearT;

/// Relative-position extras: `linear_pos` (no bias), `pos_bias_u`, `pos_bias_v` (H, hd).
#[derive(Debug, Clone)]
struct RelativeParams {
    linear_pos: LinearT,
    /// (1, H, 1, hd)
    pos_bias_u: Tensor,
    /// (1, H, 1, hd)
    pos_bias_v: Tensor,
}

/// `self_attn` of a conformer layer.
#[derive(Debug, Clone)]
pub struct SelfAttention {
    linear_q: LinearT,
    linear_k: LinearT,
    linear_v: LinearT,
    linear_out: LinearT,
    relative: Option<RelativeParams>,
    num_heads: usize,
    head_dim: usize,
}

impl SelfAttention {
    /// `vb` at `model.conformer.layers.{i}.self_attn`.
    pub fn new(cfg: &MuqConfig, vb: VarBuilder) -> Result<Self> {
        let d = cfg.encoder_dim;
        let num_heads = cfg.w2v2_config.num_attention_heads;
        let head_dim = cfg.head_dim();
        let kind = cfg
            .position_embeddings()
            .map_err(|e| candle_core::Error::Msg(e.to_string()))?;
        let relative = if kind == PositionEmbeddings::Relative {
            Some(RelativeParams {
                linear_pos: LinearT::new_no_bias(d, d, vb.pp("linear_pos"))?,
                pos_bias_u: vb
                    .get((num_heads, head_dim), "pos_bias_u")?
                    .reshape((1, num_heads, 1, head_dim))?,
                pos_bias_v: vb
                    .get((num_heads, head_dim), "pos_bias_v")?
                    .reshape((1, num_heads, 1, head_dim))?,
            })
        } else {
            None
        };
        Ok(Self {
            linear_q: LinearT::new(d, d, vb.pp("linear_q"))?,
            linear_k: LinearT::new(d, d, vb.pp("linear_k"))?,
            linear_v: LinearT::new(d, d, vb.pp("linear_v"))?,
            linear_out: LinearT::new(d, d, vb.pp("linear_out"))?,
            relative,
            num_heads,
            head_dim,
        })
    }

    /// (B, T, D) -> (B, H, T, hd)
    fn split_heads(&self, xs: &Tensor) -> Result<Tensor> {
        let (b, t, _) = xs.dims3()?;
        xs.reshape((b, t, self.num_heads, self.head_dim))?
            .transpose(1, 2)?
            .contiguous()
    }

    /// HF's rotary: the block input, viewed as (B, T, H, hd), is rotated with half-split
    /// `rotate_half` before the q/k projections.
    fn rotate(&self, xs: &Tensor, tables: &super::position::RotaryTables) -> Result<Tensor> {
        let (b, t, d) = xs.dims3()?;
        let x4 = xs.reshape((b, t, self.num_heads, self.head_dim))?;
        let half = self.head_dim / 2;
        let x1 = x4.narrow(D::Minus1, 0, half)?;
        let x2 = x4.narrow(D::Minus1, half, half)?;
        let rotated_half = Tensor::cat(&[&x2.neg()?, &x1], D::Minus1)?;
        let cos = tables.cos.reshape((1, t, 1, self.head_dim))?;
        let sin = tables.sin.reshape((1, t, 1, self.head_dim))?;
        let y = (x4.broadcast_mul(&cos)? + rotated_half.broadcast_mul(&sin)?)?;
        y.reshape((b, t, d))
    }

    /// `xs`: LayerNormed block input (B, T, D) -> (B, T, D) after `linear_out`.
    pub fn forward(&self, xs: &Tensor, pos: &PositionTables) -> Result<Tensor> {
        let (b, t, d) = xs.dims3()?;
        let scale = 1.0 / (self.head_dim as f64).sqrt();
        let (q_in, v_in) = match pos {
            PositionTables::Rotary(tables) => (self.rotate(xs, tables)?, xs.clone()),
            _ => (xs.clone(), xs.clone()),
        };
        let q = self.split_heads(&self.linear_q.forward(&q_in)?)?;
        let k = self.split_heads(&self.linear_k.forward(&q_in)?)?;
        let v = self.split_heads(&self.linear_v.forward(&v_in)?)?;
        let scores = match (&self.relative, pos) {
            (Some(rel), PositionTables::Relative(table)) => {
                let p = rel.linear_pos.forward(&table.pe)?; // (1, 2T-1, D)
                let p = self.split_heads(&p)?; // (1, H, 2T-1, hd)
                let q_u = q.broadcast_add(&rel.pos_bias_u)?;
                let q_v = q.broadcast_add(&rel.pos_bias_v)?;
                let ac = q_u.matmul(&k.t()?)?; // (B, H, T, T)
                let bd = q_v.matmul(
                    &p.broadcast_as((b, self.num_heads, 2 * t - 1, self.head_dim))?
                        .t()?,
                )?;
                let bd = shift_relative(&bd, t)?;
                ((ac + bd)? * scale)?
            }
            (Some(_), _) => candle_core::bail!("relative attention needs relative position tables"),
            (None, _) => (q.matmul(&k.t()?)? * scale)?,
        };
        let probs = candle_nn::ops::softmax_last_dim(&scores)?;
        let out = probs.matmul(&v)?; // (B, H, T, hd)
        let out = out.transpose(1, 2)?.contiguous()?.reshape((b, t, d))?;
        self.linear_out.forward(&out)
    }
}

/// `bd_final[i, j] = bd[i, T − 1 − i + j]` (HF's pad/reshape/slice shift): (B, H, T, 2T−1) -> (B, H, T, T).
fn shift_relative(bd: &Tensor, t: usize) -> Result<Tensor> {
    let (b, h, _, w) = bd.dims4()?;
    let idx: Vec<u32> = (0..t)
        .flat_map(|i| (0..t).map(move |j| (t - 1 - i + j) as u32))
        .collect();
    let idx = Tensor::from_vec(idx, (1, 1, t, t), bd.device())?
        .broadcast_as((b, h, t, t))?
        .contiguous()?;
    debug_assert_eq!(w, 2 * t - 1);
    bd.contiguous()?.gather(&idx, D::Minus1)
}
