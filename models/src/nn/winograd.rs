//! Winograd F(2×2, 3×3) for stride-1, padding-1 3×3 convolutions: 16 multiplications per
//! 2×2 output tile instead of 36 (2.25× fewer), the rest being cheap transforms. Used for the
//! conv stem's 512→512 stride-1 convolutions, which dominate MuQ's FLOPs.
//!
//! Transforms (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2015):
//! `U = G g Gᵀ` (weights, once), `V = Bᵀ d B` (4×4 input tiles), `M_k = U_k · V_k` for the 16
//! tile positions k (one GEMM each over channels), `Y = Aᵀ M A` (2×2 outputs).

use candle_core::{Device, Result, Tensor};
use rayon::prelude::*;

/// Bound on one block of transformed input, in f32 values (8 MiB: under glibc's largest mmap
/// threshold, so blocks are recycled from the heap instead of being page-faulted in anew, and
/// small enough to keep the transient memory of a forward low).
const MAX_BLOCK_VALUES: usize = 2 << 20;

/// Pre-transformed weights of one 3×3 convolution.
#[derive(Debug, Clone)]
pub struct WinogradConv {
    /// `U` as (16, Cout, Cin).
    u: Tensor,
    /// Bias (Cout,).
    bias: Vec<f32>,
    num_in: usize,
    num_out: usize,
}

/// `G g Gᵀ` for one 3×3 kernel (row-major), computed in f64.
fn transform_kernel(g: &[f32]) -> [f32; 16] {
    const G: [[f64; 3]; 4] = [
        [1.0, 0.0, 0.0],
        [0.5, 0.5, 0.5],
        [0.5, -0.5, 0.5],
        [0.0, 0.0, 1.0],
    ];
    let mut tmp = [[0f64; 3]; 4]; // G g
    for i in 0..4 {
        for j in 0..3 {
            tmp[i][j] = (0..3).map(|k| G[i][k] * g[k * 3 + j] as f64).sum();
        }
    }
    let mut u = [0f32; 16];
    for i in 0..4 {
        for j in 0..4 {
            u[i * 4 + j] = (0..3).map(|k| tmp[i][k] * G[j][k]).sum::<f64>() as f32;
        }
    }
    u
}

impl WinogradConv {
    /// From a (Cout, Cin, 3, 3) weight and (Cout,) bias.
    pub fn new(weight: &Tensor, bias: &Tensor) -> Result<Self> {
        let (num_out, num_in, kh, kw) = weight.dims4()?;
        if (kh, kw) != (3, 3) {
            candle_core::bail!("Winograd F(2x2,3x3) needs a 3x3 kernel, got {kh}x{kw}");
        }
        let w = weight.flatten_all()?.to_vec1::<f32>()?;
        let mut u = vec![0f32; 16 * num_out * num_in];
        for co in 0..num_out {
            for ci in 0..num_in {
                let base = (co * num_in + ci) * 9;
                let t = transform_kernel(&w[base..base + 9]);
                for (k, v) in t.iter().enumerate() {
                    u[(k * num_out + co) * num_in + ci] = *v;
                }
            }
        }
        Ok(Self {
            u: Tensor::from_vec(u, (16, num_out, num_in), weight.device())?,
            bias: bias.to_vec1::<f32>()?,
            num_in,
            num_out,
        })
    }

    /// One item: `x` is (Cin, H, W) row-major → (Cout, H, W) row-major.
    pub fn forward_one(&self, x: &[f32], h: usize, w: usize, device: &Device) -> Result<Vec<f32>> {
        let (cin, cout) = (self.num_in, self.num_out);
        let (tiles_h, tiles_w) = (h.div_ceil(2), w.div_ceil(2));
        let rows_per_block =
            (MAX_BLOCK_VALUES / (16 * cin * tiles_w).max(1)).clamp(1, tiles_h.max(1));
        let mut out = vec![0f32; cout * h * w];
        let mut r0 = 0;
        while r0 < tiles_h {
            let nr = rows_per_block.min(tiles_h - r0);
            let n = nr * tiles_w;
            // V laid out (Cin, 16, n): each channel transforms its own tiles in parallel.
            let mut v = vec![0f32; cin * 16 * n];
            v.par_chunks_mut(16 * n).enumerate().for_each(|(ci, dst)| {
                input_transform(&x[ci * h * w..(ci + 1) * h * w], h, w, r0, nr, tiles_w, dst);
            });
            let v_t = Tensor::from_vec(v, (cin, 16, n), device)?
                .transpose(0, 1)?
                .contiguous()?;
            let m = self.u.matmul(&v_t)?; // (16, Cout, n)
            let m = m.flatten_all()?.to_vec1::<f32>()?;
            let plane = h * w;
            out.par_chunks_mut(plane).enumerate().for_each(|(co, dst)| {
                output_transform(&m, co, cout, n, r0, nr, tiles_w, h, w, self.bias[co], dst);
            });
            r0 += nr;
        }
        Ok(out)
    }
}

/// Writes `Bᵀ d B` of tile rows `r0..r0+nr` of one channel into `dst` laid out (16, nr·tiles_w).
fn input_transform(
    plane: &[f32],
    h: usize,
    w: usize,
    r0: usize,
    nr: usize,
    tiles_w: usize,
    dst: &mut [f32],
) {
    let n = nr * tiles_w;
    let at = |r: isize, c: isize| -> f32 {
        if r >= 0 && c >= 0 && (r as usize) < h && (c as usize) < w {
            plane[r as usize * w + c as usize]
        } else {
            0.0
        }
    };
    for tr in 0..nr {
        let top = 2 * (r0 + tr) as isize - 1;
        for tc in 0..tiles_w {
            let left = 2 * tc as isize - 1;
            let mut d = [[0f32; 4]; 4];
            for (i, row) in d.iter_mut().enumerate() {
                for (j, val) in row.iter_mut().enumerate() {
                    *val = at(top + i as isize, left + j as isize);
                }
            }
            // t = Bᵀ d (rows), then V = t B (columns).
            let mut t = [[0f32; 4]; 4];
            for j in 0..4 {
                t[0][j] = d[0][j] - d[2][j];
                t[1][j] = d[1][j] + d[2][j];
                t[2][j] = d[2][j] - d[1][j];
                t[3][j] = d[1][j] - d[3][j];
            }
            let idx = tr * tiles_w + tc;
            for (i, ti) in t.iter().enumerate() {
                let vals = [ti[0] - ti[2], ti[1] + ti[2], ti[2] - ti[1], ti[1] - ti[3]];
                for (j, val) in vals.iter().enumerate() {
                    dst[(i * 4 + j) * n + idx] = *val;
                }
            }
        }
    }
}

/// `Aᵀ M A` + bias for output channel `co`, into its (H, W) plane.
#[allow(clippy::too_many_arguments)]
fn output_transform(
    m: &[f32],
    co: usize,
    cout: usize,
    n: usize,
    r0: usize,
    nr: usize,
    tiles_w: usize,
    h: usize,
    w: usize,
    bias: f32,
    dst: &mut [f32],
) {
    for tr in 0..nr {
        for tc in 0..tiles_w {
            let idx = tr * tiles_w + tc;
            let mut mm = [[0f32; 4]; 4];
            for (i, row) in mm.iter_mut().enumerate() {
                for (j, val) in row.iter_mut().enumerate() {
                    *val = m[((i * 4 + j) * cout + co) * n + idx];
                }
            }
            // s = Aᵀ M (2×4), y = s A (2×2).
            let mut s = [[0f32; 4]; 2];
            for j in 0..4 {
                s[0][j] = mm[0][j] + mm[1][j] + mm[2][j];
                s[1][j] = mm[1][j] - mm[2][j] - mm[3][j];
            }
            for (i, si) in s.iter().enumerate() {
                let y = [si[0] + si[1] + si[2], si[1] - si[2] - si[3]];
                let row = 2 * (r0 + tr) + i;
                for (j, val) in y.iter().enumerate() {
                    let col = 2 * tc + j;
                    if row < h && col < w {
                        dst[row * w + col] = val + bias;
                    }
                }
            }
        }
    }
}
