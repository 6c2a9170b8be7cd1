//! MuQ's convolutional stem: two `Res2dModule`s and a linear projection.
//! Mirrors `Conv2dSubsampling` / `Res2dModule` in tencent-ailab/MuQ
//! `src/muq/muq/modules/conv.py` (see `shared/docs/muq-reference.md` §4).

use candle_core::{Result, Tensor};
use candle_nn::{Module, VarBuilder};

use super::config::MuqConfig;
use candle_nn::Linear;

use crate::nn::{BatchNormEval, Conv2d3x3};

/// BatchNorm epsilon (PyTorch default).
const BN_EPS: f64 = 1e-5;

/// `Res2dModule(idim, odim, stride)`: `relu(bn2(conv2(relu(bn1(conv1(x))))) + bn3(conv3(x)))`.
///
/// At load time each BatchNorm is folded into its convolution, `conv1` and `conv3` (same input,
/// same stride) are stacked into one convolution, and the stride-1 `conv2` gets the Winograd path.
#[derive(Debug, Clone)]
pub struct Res2dModule {
    /// `bn1∘conv1` stacked over `bn3∘conv3`: 2·odim outputs.
    conv1_conv3: Conv2d3x3,
    /// `bn2∘conv2`.
    conv2: Conv2d3x3,
    num_out: usize,
}

impl Res2dModule {
    /// Keys under `vb`: `conv{1,2,3}.{weight,bias}`, `bn{1,2,3}.*`.
    pub fn new(
        num_in: usize,
        num_out: usize,
        stride: (usize, usize),
        vb: VarBuilder,
    ) -> Result<Self> {
        let fold = |conv: &str, bn: &str, cin: usize, s: (usize, usize)| -> Result<Conv2d3x3> {
            let bn = BatchNormEval::new(num_out, BN_EPS, vb.pp(bn))?;
            Conv2d3x3::new(cin, num_out, s, vb.pp(conv))?.fold_affine(bn.scale(), bn.shift())
        };
        let conv1 = fold("conv1", "bn1", num_in, stride)?;
        let conv3 = fold("conv3", "bn3", num_in, stride)?;
        Ok(Self {
            conv1_conv3: conv1.stack(&conv3)?.with_fast_path()?,
            conv2: fold("conv2", "bn2", num_out, (1, 1))?.with_fast_path()?,
            num_out,
        })
    }

    /// (B, Cin, H, W) -> (B, Cout, ceil(H/sh), ceil(W/sw)).
    pub fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let both = self.conv1_conv3.forward(xs)?;
        let out = both.narrow(1, 0, self.num_out)?.relu()?;
        let res = both.narrow(1, self.num_out, self.num_out)?;
        let out = self.conv2.forward(&out)?;
        (out + res)?.relu()
    }
}

/// `Conv2dSubsampling`: `conv.{0,1}` Res2dModules, rearrange `b c f t -> b t (c f)`, `linear`.
#[derive(Debug, Clone)]
pub struct Conv2dSubsampling {
    /// `conv.conv.0` and `conv.conv.1` in the checkpoint.
    conv: [Res2dModule; 2],
    /// `conv.linear`: (D, C · F'), kept in the checkpoint's layout: it is the largest single
    /// tensor (64 MiB at MuQ-large size), and transposing it at load would double it for a
    /// moment; it is applied once per call, so packing it per call costs little.
    linear: Linear,
    /// Mel frames per output token (the product of the time strides).
    frames_per_token: usize,
    /// Time stride of each block.
    time_strides: [usize; 2],
}

/// Tokens per chunk of a long stem call (~1.3 s at 25 tokens/s): bounds the stem's activation
/// memory to ~60 MB at MuQ-large size.
pub const CHUNK_TOKENS: usize = 32;
/// Tokens run and discarded on each side of a chunk: the stem's intermediate stages see at
/// most 3 tokens past a cut (receptive field ±9 mel frames plus the stages' own padding).
pub const MARGIN_TOKENS: usize = 4;

impl Conv2dSubsampling {
    /// `vb` is at `model.conv`.
    pub fn new(cfg: &MuqConfig, vb: VarBuilder) -> Result<Self> {
        let [s0, s1] = cfg.conv_strides();
        let c = cfg.conv_dim;
        let freq_out = cfg.n_mels.div_ceil(s0.0).div_ceil(s1.0);
        let conv = [
            Res2dModule::new(1, c, s0, vb.pp("conv.0"))?,
            Res2dModule::new(c, c, s1, vb.pp("conv.1"))?,
        ];
        let linear = candle_nn::linear(c * freq_out, cfg.encoder_dim, vb.pp("linear"))?;
        Ok(Self {
            conv,
            linear,
            frames_per_token: s0.1 * s1.1,
            time_strides: [s0.1, s1.1],
        })
    }

    /// Output of the two residual blocks: (B, 1, n_mels, F) -> (B, C, F', T).
    pub fn forward_blocks(&self, xs: &Tensor) -> Result<Tensor> {
        let xs = self.conv[0].forward(xs)?;
        self.conv[1].forward(&xs)
    }

    /// Rearrange: (B, C, F', T) -> (B, T, C·F'), channel-major features.
    fn rearrange(blocks_out: &Tensor) -> Result<Tensor> {
        let (b, c, f, t) = blocks_out.dims4()?;
        blocks_out
            .permute((0, 3, 1, 2))?
            .contiguous()?
            .reshape((b, t, c * f))
    }

    /// Rearrange + linear: (B, C, F', T) -> (B, T, D).
    pub fn project(&self, blocks_out: &Tensor) -> Result<Tensor> {
        self.linear.forward(&Self::rearrange(blocks_out)?)
    }

    /// Normalised mel (B, n_mels, F) -> tokens (B, T, D), exactly as one whole call; long
    /// inputs are computed in chunks of [`CHUNK_TOKENS`] tokens (each with a margin of
    /// [`MARGIN_TOKENS`] tokens on each side that is run and discarded), so activation memory is
    /// bounded by the chunk, not the input length.
    pub fn forward(&self, mel_norm: &Tensor) -> Result<Tensor> {
        let num_frames = mel_norm.dim(2)?;
        let num_tokens = self.num_tokens(num_frames);
        let fpt = self.frames_per_token;
        if num_tokens <= CHUNK_TOKENS + 2 * MARGIN_TOKENS {
            return self.project(&self.forward_blocks(&mel_norm.unsqueeze(1)?)?);
        }
        let mut parts = Vec::with_capacity(num_tokens.div_ceil(CHUNK_TOKENS));
        let mut j0 = 0;
        while j0 < num_tokens {
            let j1 = (j0 + CHUNK_TOKENS).min(num_tokens);
            let t0 = j0.saturating_sub(MARGIN_TOKENS);
            let f0 = t0 * fpt;
            let f1 = ((j1 + MARGIN_TOKENS) * fpt).min(num_frames);
            let chunk = mel_norm.narrow(2, f0, f1 - f0)?.unsqueeze(1)?;
            let features = Self::rearrange(&self.forward_blocks(&chunk)?)?;
            parts.push(features.narrow(1, j0 - t0, j1 - j0)?);
            j0 = j1;
        }
        self.linear.forward(&Tensor::cat(&parts, 1)?)
    }

    /// Tokens produced from `num_frames` mel frames.
    pub fn num_tokens(&self, num_frames: usize) -> usize {
        self.time_strides
            .iter()
            .fold(num_frames, |n, s| n.div_ceil(*s))
    }

    /// The two residual blocks, for the streaming encoder.
    pub fn blocks(&self) -> &[Res2dModule; 2] {
        &self.conv
    }
}
