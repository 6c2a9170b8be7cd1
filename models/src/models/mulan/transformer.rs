//! The MuLan `Transformer` used after MuQ and after XLM-R (muq-reference.md §6.4).
//!
//! Upstream: <https://github.com/tencent-ailab/MuQ/blob/main/src/muq/muq_mulan/modules/transformer.py>
//! (`LayerNorm`, `GEGLU`, `FeedForward`, `Attention`, `Transformer`). Pre-norm blocks with a
//! bias-free LayerNorm, per-head L2-normalised q/k with learned scales and a fixed scale of 8,
//! GEGLU feed-forward whose gate is the second half. No mask, no final norm.

use candle_core::{D, Module, Result, Tensor};
use candle_nn::{LayerNorm, VarBuilder};

use crate::nn::LinearT;

use super::config::TowerTransformerConfig;

/// Fixed attention scale of the upstream `Attention` (`scale = 8`), applied after q/k L2 norm.
const ATTN_SCALE: f64 = 8.0;
/// `F.layer_norm` default eps.
const LN_EPS: f64 = 1e-5;
/// `F.normalize` eps.
const L2_EPS: f64 = 1e-12;

/// `x / max(||x||_2, 1e-12)` over the last dimension (`F.normalize(p=2, dim=-1)`).
pub fn l2norm(xs: &Tensor) -> Result<Tensor> {
    let norm = xs
        .sqr()?
        .sum_keepdim(D::Minus1)?
        .sqrt()?
        .clamp(L2_EPS, f64::INFINITY)?;
    xs.broadcast_div(&norm)
}

/// Bias-free LayerNorm: weight `learned_gamma`, bias 0.
fn bias_free_layer_norm(dim: usize, vb: VarBuilder) -> Result<LayerNorm> {
    let gamma = vb.get(dim, "learned_gamma")?;
    Ok(LayerNorm::new_no_bias(gamma, LN_EPS))
}

/// Upstream `Attention` (keys `.0.*` of a block).
struct Attention {
    norm: LayerNorm,
    /// `to_q` and `to_kv` (no bias) fused into one `(dim, 3 inner)` product: `[q | k | v]`.
    to_qkv: LinearT,
    q_scale: Tensor,
    k_scale: Tensor,
    /// Upstream `to_out.0` (the Sequential's Linear).
    to_out: LinearT,
    heads: usize,
    dim_head: usize,
}

impl Attention {
    fn new(cfg: &TowerTransformerConfig, vb: VarBuilder) -> Result<Self> {
        let inner = cfg.heads * cfg.dim_head;
        Ok(Self {
            norm: bias_free_layer_norm(cfg.dim, vb.pp("norm"))?,
            to_qkv: LinearT::from_weight(
                &Tensor::cat(
                    &[
                        vb.pp("to_q").get((inner, cfg.dim), "weight")?,
                        vb.pp("to_kv").get((2 * inner, cfg.dim), "weight")?,
                    ],
                    0,
                )?,
                None,
            )?,
            q_scale: vb.get(cfg.dim_head, "q_scale")?,
            k_scale: vb.get(cfg.dim_head, "k_scale")?,
            to_out: LinearT::new_no_bias(inner, cfg.dim, vb.pp("to_out").pp("0"))?,
            heads: cfg.heads,
            dim_head: cfg.dim_head,
        })
    }

    /// `(b, n, inner) -> (b, h, n, d)`.
    fn split_heads(&self, xs: &Tensor) -> Result<Tensor> {
        let (b, n, _) = xs.dims3()?;
        xs.reshape((b, n, self.heads, self.dim_head))?
            .transpose(1, 2)?
            .contiguous()
    }
}

impl Module for Attention {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let (b, n, _) = xs.dims3()?;
        let inner = self.heads * self.dim_head;
        let xs = self.norm.forward(xs)?; // (b, n, dim)
        let qkv = self.to_qkv.forward(&xs)?; // (b, n, 3 inner)
        let q = qkv.narrow(D::Minus1, 0, inner)?;
        let k = qkv.narrow(D::Minus1, inner, inner)?;
        let v = qkv.narrow(D::Minus1, 2 * inner, inner)?;
        let q = l2norm(&self.split_heads(&q)?)?.broadcast_mul(&self.q_scale)?;
        let k = l2norm(&self.split_heads(&k)?)?.broadcast_mul(&self.k_scale)?;
        let v = self.split_heads(&v)?; // (b, h, n, d)
        let sim = (q.matmul(&k.t()?)? * ATTN_SCALE)?; // (b, h, n, n)
        let attn = candle_nn::ops::softmax_last_dim(&sim)?;
        let out = attn.matmul(&v)?; // (b, h, n, d)
        let out = out.transpose(1, 2)?.reshape((b, n, inner))?;
        self.to_out.forward(&out)
    }
}

/// Upstream `FeedForward` = Sequential(LayerNorm, Linear, GEGLU, Dropout, Linear): keys `.1.{0,1,4}`.
struct FeedForward {
    norm: LayerNorm,
    w_in: LinearT,
    w_out: LinearT,
    hidden: usize,
}

impl FeedForward {
    fn new(cfg: &TowerTransformerConfig, vb: VarBuilder) -> Result<Self> {
        // `int(dim * mult * 2 / 3)`: exact for these integer inputs.
        let hidden = cfg.dim * cfg.ff_mult * 2 / 3;
        Ok(Self {
            norm: bias_free_layer_norm(cfg.dim, vb.pp("0"))?,
            w_in: LinearT::new_no_bias(cfg.dim, 2 * hidden, vb.pp("1"))?,
            w_out: LinearT::new_no_bias(hidden, cfg.dim, vb.pp("4"))?,
            hidden,
        })
    }
}

impl Module for FeedForward {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let ys = self.w_in.forward(&self.norm.forward(xs)?)?; // (b, n, 2 hidden)
        let a = ys.narrow(D::Minus1, 0, self.hidden)?;
        let gate = ys.narrow(D::Minus1, self.hidden, self.hidden)?;
        let ys = (gate.gelu_erf()? * a)?; // GEGLU: the SECOND half is the gate
        self.w_out.forward(&ys)
    }
}

/// Upstream `Transformer`: `depth` pre-norm `[Attention, FeedForward]` blocks with residuals.
pub struct Transformer {
    layers: Vec<(Attention, FeedForward)>,
}

impl Transformer {
    /// Builds the stack from `vb` = the `transformer` prefix (keys `layers.{i}.{0,1}.*`).
    pub fn new(cfg: &TowerTransformerConfig, vb: VarBuilder) -> Result<Self> {
        let vb = vb.pp("layers");
        let layers = (0..cfg.tf_depth)
            .map(|i| {
                let vb = vb.pp(i.to_string());
                Ok((
                    Attention::new(cfg, vb.pp("0"))?,
                    FeedForward::new(cfg, vb.pp("1"))?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { layers })
    }

    /// Number of blocks.
    pub fn depth(&self) -> usize {
        self.layers.len()
    }
}

impl Module for Transformer {
    /// `(b, n, dim) -> (b, n, dim)`; identity when the depth is 0.
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let mut xs = xs.clone();
        for (attn, ff) in &self.layers {
            xs = (attn.forward(&xs)? + &xs)?;
            xs = (ff.forward(&xs)? + &xs)?;
        }
        Ok(xs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device};

    #[test]
    fn l2norm_gives_unit_rows_and_keeps_zero_rows_finite() {
        let xs = Tensor::new(&[[3f32, 4.0], [0.0, 0.0]], &Device::Cpu).unwrap();
        let ys = l2norm(&xs).unwrap().to_vec2::<f32>().unwrap();
        assert!((ys[0][0] - 0.6).abs() < 1e-7 && (ys[0][1] - 0.8).abs() < 1e-7);
        assert_eq!(ys[1], vec![0.0, 0.0]);
    }

    #[test]
    fn depth_zero_is_identity_and_ff_hidden_truncates() {
        let cfg = TowerTransformerConfig {
            dim: 32,
            tf_depth: 0,
            heads: 2,
            dim_head: 16,
            ff_mult: 4,
        };
        let vb = VarBuilder::zeros(DType::F32, &Device::Cpu);
        let tf = Transformer::new(&cfg, vb.clone()).unwrap();
        let xs = Tensor::randn(0f32, 1.0, (1, 5, 32), &Device::Cpu).unwrap();
        let ys = tf.forward(&xs).unwrap();
        let diff = crate::nn::test_support::max_abs_diff(&ys, &xs).unwrap();
        assert_eq!(diff, 0.0);
        // 32 * 4 * 2 / 3 = 85.33 -> 85, as the fixture's `1.4.weight (32, 85)`.
        let ff = FeedForward::new(&TowerTransformerConfig { tf_depth: 1, ..cfg }, vb).unwrap();
        assert_eq!(ff.hidden, 85);
    }
}
