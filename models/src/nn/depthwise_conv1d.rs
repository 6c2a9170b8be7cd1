//! Depthwise 1-D convolution over time in channels-last layout with zero "same" padding,
//! i.e. `Conv1d(D, D, k, groups=D, padding=k//2, bias=False)` applied to `(B, T, D)`.

use candle_core::{Result, Tensor};
use candle_nn::VarBuilder;

/// Depthwise conv; checkpoint key `weight` of shape (D, 1, k).
#[derive(Debug, Clone)]
pub struct DepthwiseConv1d {
    /// Taps as (k, D): row `j` multiplies input frame `t + j - k/2`.
    taps: Tensor,
    kernel_size: usize,
}

impl DepthwiseConv1d {
    /// Loads `weight` (channels, 1, kernel_size).
    pub fn new(channels: usize, kernel_size: usize, vb: VarBuilder) -> Result<Self> {
        let w = vb.get((channels, 1, kernel_size), "weight")?;
        let taps = w.squeeze(1)?.t()?.contiguous()?;
        Ok(Self { taps, kernel_size })
    }

    /// `xs`: (B, T, D) -> (B, T, D).
    pub fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let (_b, t, _d) = xs.dims3()?;
        let half = self.kernel_size / 2;
        let padded = xs.pad_with_zeros(1, half, half)?;
        let mut acc: Option<Tensor> = None;
        for j in 0..self.kernel_size {
            let tap = self.taps.get(j)?;
            let term = padded.narrow(1, j, t)?.broadcast_mul(&tap)?;
            acc = Some(match acc {
                None => term,
                Some(a) => (a + term)?,
            });
        }
        match acc {
            Some(a) => Ok(a),
            None => candle_core::bail!("depthwise conv with an empty kernel"),
        }
    }
}
