//! 3×3 convolution with padding 1 and independent (freq, time) strides, as MuQ's conv stem
//! uses it (`Conv2d(cin, cout, 3, stride=(sh, sw), padding=1)`); candle's `conv2d` only has
//! one stride for both axes.
//!
//! Computed as im2col over blocks of output rows followed by one GEMM per block
//! (`(Cout, Cin·9) × (Cin·9, rows·Wout)`), so memory stays bounded for long inputs.

use candle_core::{DType, Device, Result, Tensor};
use candle_nn::VarBuilder;

use rayon::prelude::*;

use super::winograd::WinogradConv;

/// Bound on the im2col block, in f32 values (8 MiB).
const MAX_COLS_VALUES: usize = 2 << 20;

/// A 3×3 convolution, padding 1. Keys: `weight` (Cout, Cin, 3, 3), `bias` (Cout).
///
/// Stride-1 convolutions run through Winograd F(2×2, 3×3) once [`Conv2d3x3::with_fast_path`]
/// is called; the others through im2col + GEMM.
#[derive(Debug, Clone)]
pub struct Conv2d3x3 {
    /// Weight as a (Cout, Cin·9) matrix; column `ci·9 + kh·3 + kw`.
    weight: Tensor,
    /// Pre-transformed weights for stride-1 convolutions.
    winograd: Option<WinogradConv>,
    /// Bias as (Cout, 1).
    bias: Tensor,
    num_in: usize,
    num_out: usize,
    /// (freq, time) strides.
    stride: (usize, usize),
}

impl Conv2d3x3 {
    /// Loads the weights; `stride` is (freq, time) = (H, W).
    pub fn new(
        num_in: usize,
        num_out: usize,
        stride: (usize, usize),
        vb: VarBuilder,
    ) -> Result<Self> {
        let weight = vb.get((num_out, num_in, 3, 3), "weight")?;
        let bias = vb.get(num_out, "bias")?;
        Self::from_tensors(weight, bias, stride)
    }

    /// Builds from explicit tensors (weight (Cout, Cin, 3, 3), bias (Cout)).
    pub fn from_tensors(weight: Tensor, bias: Tensor, stride: (usize, usize)) -> Result<Self> {
        let (num_out, num_in, kh, kw) = weight.dims4()?;
        if (kh, kw) != (3, 3) {
            candle_core::bail!("Conv2d3x3 needs a 3x3 kernel, got {kh}x{kw}");
        }
        let weight = weight.reshape((num_out, num_in * 9))?;
        let bias = bias.reshape((num_out, 1))?;
        Ok(Self {
            weight,
            winograd: None,
            bias,
            num_in,
            num_out,
            stride,
        })
    }

    /// Folds a following per-channel affine map (eval BatchNorm) into weights and bias:
    /// `scale·(W∗x + b) + shift = (scale·W)∗x + (scale·b + shift)`.
    pub fn fold_affine(mut self, scale: &Tensor, shift: &Tensor) -> Result<Self> {
        self.ensure_not_transformed("fold_affine")?;
        let scale_col = scale.reshape((self.num_out, 1))?;
        self.weight = self.weight.broadcast_mul(&scale_col)?;
        self.bias = (self.bias.broadcast_mul(&scale_col)? + shift.reshape((self.num_out, 1))?)?;
        self.winograd = None;
        Ok(self)
    }

    /// Stacks two convolutions over the same input with the same stride into one with
    /// `Cout_a + Cout_b` outputs (one im2col and one GEMM for both).
    pub fn stack(&self, other: &Self) -> Result<Self> {
        self.ensure_not_transformed("stack")?;
        other.ensure_not_transformed("stack")?;
        if self.num_in != other.num_in || self.stride != other.stride {
            candle_core::bail!("Conv2d3x3::stack needs the same input channels and stride");
        }
        Ok(Self {
            weight: Tensor::cat(&[&self.weight, &other.weight], 0)?,
            winograd: None,
            bias: Tensor::cat(&[&self.bias, &other.bias], 0)?,
            num_in: self.num_in,
            num_out: self.num_out + other.num_out,
            stride: self.stride,
        })
    }

    /// Prepares the Winograd path for stride-1 convolutions (call after folding).
    pub fn with_fast_path(mut self) -> Result<Self> {
        if self.stride == (1, 1) {
            let w = self.weight.reshape((self.num_out, self.num_in, 3, 3))?;
            let b = self.bias.flatten_all()?;
            self.winograd = Some(WinogradConv::new(&w, &b)?);
            // The Winograd weights replace the plain ones (saves their memory).
            self.weight = Tensor::zeros((self.num_out, 0), DType::F32, w.device())?;
        }
        Ok(self)
    }

    fn ensure_not_transformed(&self, what: &str) -> Result<()> {
        if self.winograd.is_some() {
            candle_core::bail!("Conv2d3x3::{what} must come before with_fast_path");
        }
        Ok(())
    }

    /// Output channels.
    pub fn num_out(&self) -> usize {
        self.num_out
    }

    /// Output extent of an input extent `n` along an axis with stride `s`: ceil(n / s).
    pub fn out_len(n: usize, s: usize) -> usize {
        n.div_ceil(s)
    }

    /// (freq, time) strides.
    pub fn stride(&self) -> (usize, usize) {
        self.stride
    }

    /// `xs`: (B, Cin, H, W) -> (B, Cout, ceil(H/sh), ceil(W/sw)).
    pub fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let (b, cin, h, w) = xs.dims4()?;
        if cin != self.num_in {
            candle_core::bail!(
                "Conv2d3x3: expected {} input channels, got {cin}",
                self.num_in
            );
        }
        let mut outs = Vec::with_capacity(b);
        for bi in 0..b {
            let x = xs.get(bi)?.contiguous()?.flatten_all()?.to_vec1::<f32>()?;
            outs.push(self.forward_one(&x, h, w, xs.device())?);
        }
        Tensor::stack(&outs, 0)
    }

    /// One item: `x` is (Cin, H, W) row-major.
    fn forward_one(&self, x: &[f32], h: usize, w: usize, device: &Device) -> Result<Tensor> {
        if let Some(wino) = &self.winograd {
            let out = wino.forward_one(x, h, w, device)?;
            return Tensor::from_vec(out, (self.num_out, h, w), device);
        }
        let (sh, sw) = self.stride;
        let (ho, wo) = (Self::out_len(h, sh), Self::out_len(w, sw));
        let k = self.num_in * 9;
        let rows_per_block = (MAX_COLS_VALUES / (k * wo).max(1)).clamp(1, ho.max(1));
        let mut out = vec![0f32; self.num_out * ho * wo];
        let mut r0 = 0;
        while r0 < ho {
            let nr = rows_per_block.min(ho - r0);
            let n = nr * wo;
            let mut cols = vec![0f32; k * n];
            let plane_len = h * w;
            cols.par_chunks_mut(9 * n)
                .enumerate()
                .for_each(|(ci, dst)| {
                    im2col_channel(
                        &x[ci * plane_len..(ci + 1) * plane_len],
                        h,
                        w,
                        self.stride,
                        r0,
                        nr,
                        wo,
                        dst,
                    );
                });
            let cols_t = Tensor::from_vec(cols, (k, n), device)?;
            let y = self.weight.matmul(&cols_t)?.broadcast_add(&self.bias)?;
            let y = y.flatten_all()?.to_vec1::<f32>()?;
            for co in 0..self.num_out {
                let dst = co * ho * wo + r0 * wo;
                out[dst..dst + n].copy_from_slice(&y[co * n..(co + 1) * n]);
            }
            r0 += nr;
        }
        Tensor::from_vec(out, (self.num_out, ho, wo), device)
    }
}

/// Fills one channel's 9 rows of the im2col matrix (9, nr·wo) for output rows `r0..r0+nr`,
/// zero padding 1.
#[allow(clippy::too_many_arguments)]
fn im2col_channel(
    plane: &[f32],
    h: usize,
    w: usize,
    (sh, sw): (usize, usize),
    r0: usize,
    nr: usize,
    wo: usize,
    rows9: &mut [f32],
) {
    let n = nr * wo;
    for kh in 0..3 {
        for kw in 0..3 {
            let row = &mut rows9[(kh * 3 + kw) * n..(kh * 3 + kw + 1) * n];
            for r in 0..nr {
                let hi = ((r0 + r) * sh + kh) as isize - 1;
                let dst = &mut row[r * wo..(r + 1) * wo];
                if hi < 0 || hi >= h as isize {
                    continue; // already zero
                }
                let src = &plane[hi as usize * w..(hi as usize + 1) * w];
                for (c, d) in dst.iter_mut().enumerate() {
                    let wi = (c * sw + kw) as isize - 1;
                    if wi >= 0 && (wi as usize) < w {
                        *d = src[wi as usize];
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    /// Direct definition of the convolution, for comparison.
    fn reference(
        x: &[f32],
        wt: &[f32],
        bias: &[f32],
        cin: usize,
        cout: usize,
        h: usize,
        w: usize,
        s: (usize, usize),
    ) -> Vec<f32> {
        let (ho, wo) = (h.div_ceil(s.0), w.div_ceil(s.1));
        let mut out = vec![0f32; cout * ho * wo];
        for co in 0..cout {
            for i in 0..ho {
                for j in 0..wo {
                    let mut acc = bias[co] as f64;
                    for ci in 0..cin {
                        for kh in 0..3 {
                            for kw in 0..3 {
                                let hi = (i * s.0 + kh) as isize - 1;
                                let wi = (j * s.1 + kw) as isize - 1;
                                if hi >= 0 && wi >= 0 && (hi as usize) < h && (wi as usize) < w {
                                    acc += (x[(ci * h + hi as usize) * w + wi as usize]
                                        * wt[((co * cin + ci) * 3 + kh) * 3 + kw])
                                        as f64;
                                }
                            }
                        }
                    }
                    out[(co * ho + i) * wo + j] = acc as f32;
                }
            }
        }
        out
    }

    #[test]
    fn matches_direct_convolution_for_all_strides() -> Result<()> {
        let dev = Device::Cpu;
        for &(cin, cout, h, w) in &[
            (1usize, 4usize, 9usize, 7usize),
            (3, 5, 8, 11),
            (2, 3, 1, 1),
        ] {
            for &s in &[(1, 1), (2, 2), (2, 1), (1, 2)] {
                let wt = Tensor::randn(0f32, 1.0, (cout, cin, 3, 3), &dev)?;
                let b = Tensor::randn(0f32, 1.0, cout, &dev)?;
                let x = Tensor::randn(0f32, 1.0, (2, cin, h, w), &dev)?;
                let conv = Conv2d3x3::from_tensors(wt.clone(), b.clone(), s)?.with_fast_path()?;
                let y = conv.forward(&x)?;
                let wv = wt.flatten_all()?.to_vec1::<f32>()?;
                let bv = b.to_vec1::<f32>()?;
                for bi in 0..2 {
                    let xv = x.get(bi)?.flatten_all()?.to_vec1::<f32>()?;
                    let exp = reference(&xv, &wv, &bv, cin, cout, h, w, s);
                    let got = y.get(bi)?.flatten_all()?.to_vec1::<f32>()?;
                    assert_eq!(got.len(), exp.len());
                    for (g, e) in got.iter().zip(&exp) {
                        assert!((g - e).abs() < 1e-4, "stride {s:?}: {g} vs {e}");
                    }
                }
                assert_eq!(y.dtype(), DType::F32);
            }
        }
        Ok(())
    }
}
