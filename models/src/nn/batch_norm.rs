//! Eval-mode BatchNorm folded into a per-channel affine map, as PyTorch's inference kernel
//! computes it: `alpha = weight / sqrt(running_var + eps)`, `beta = bias - running_mean * alpha`,
//! `y = x * alpha + beta`.

use candle_core::{Result, Tensor};
use candle_nn::VarBuilder;

/// `torch.nn.BatchNorm{1,2}d` in `eval()` mode. Keys: `weight`, `bias`, `running_mean`,
/// `running_var` (`num_batches_tracked` is ignored).
#[derive(Debug, Clone)]
pub struct BatchNormEval {
    /// `alpha` per channel, shape (C,).
    scale: Tensor,
    /// `beta` per channel, shape (C,).
    shift: Tensor,
}

impl BatchNormEval {
    /// Loads the four per-channel tensors and folds them. `eps` is PyTorch's default 1e-5 in MuQ.
    pub fn new(num_channels: usize, eps: f64, vb: VarBuilder) -> Result<Self> {
        let weight = vb.get(num_channels, "weight")?;
        let bias = vb.get(num_channels, "bias")?;
        let mean = vb.get(num_channels, "running_mean")?;
        let var = vb.get(num_channels, "running_var")?;
        let scale = weight.div(&(var + eps)?.sqrt()?)?;
        let shift = bias.sub(&mean.mul(&scale)?)?;
        Ok(Self { scale, shift })
    }

    /// Per-channel scale (for fusing into a preceding layer).
    pub fn scale(&self) -> &Tensor {
        &self.scale
    }

    /// Per-channel shift.
    pub fn shift(&self) -> &Tensor {
        &self.shift
    }

    /// `xs`: (B, C, H, W) — channels on dim 1.
    pub fn forward_nchw(&self, xs: &Tensor) -> Result<Tensor> {
        let c = self.scale.dim(0)?;
        let scale = self.scale.reshape((1, c, 1, 1))?;
        let shift = self.shift.reshape((1, c, 1, 1))?;
        xs.broadcast_mul(&scale)?.broadcast_add(&shift)
    }

    /// `xs`: (..., C) — channels last.
    pub fn forward_channels_last(&self, xs: &Tensor) -> Result<Tensor> {
        xs.broadcast_mul(&self.scale)?.broadcast_add(&self.shift)
    }
}
