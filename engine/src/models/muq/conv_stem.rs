//! MuQ's convolutional stem: two `Res2dModule`s and a linear projection.
//! Mirrors `Conv2dSubsampling` / `Res2dModule` in tencent-ailab/MuQ
//! `src/muq/muq/modules/conv.py` (see `shared/docs/muq-reference.md` §4).

use candle_core::{Result, Tensor};
use candle_nn::{Linear, Module, VarBuilder};

use super::config::MuqConfig;
use crate::nn::{BatchNormEval, Conv2d3x3};

/// BatchNorm epsilon (PyTorch default).
const BN_EPS: f64 = 1e-5;

/// `Res2dModule(idim, odim, stride)`: `relu(bn2(conv2(relu(bn1(conv1(x))))) + bn3(conv3(x)))`.
#[derive(Debug, Clone)]
pub struct Res2dModule {
    conv1: Conv2d3x3,
    bn1: BatchNormEval,
    conv2: Conv2d3x3,
    bn2: BatchNormEval,
    conv3: Conv2d3x3,
    bn3: BatchNormEval,
}

impl Res2dModule {
    /// Keys under `vb`: `conv{1,2,3}.{weight,bias}`, `bn{1,2,3}.*`.
    pub fn new(num_in: usize, num_out: usize, stride: (usize, usize), vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            conv1: Conv2d3x3::new(num_in, num_out, stride, vb.pp("conv1"))?,
            bn1: BatchNormEval::new(num_out, BN_EPS, vb.pp("bn1"))?,
            conv2: Conv2d3x3::new(num_out, num_out, (1, 1), vb.pp("conv2"))?,
            bn2: BatchNormEval::new(num_out, BN_EPS, vb.pp("bn2"))?,
            conv3: Conv2d3x3::new(num_in, num_out, stride, vb.pp("conv3"))?,
            bn3: BatchNormEval::new(num_out, BN_EPS, vb.pp("bn3"))?,
        })
    }

    /// (B, Cin, H, W) -> (B, Cout, ceil(H/sh), ceil(W/sw)).
    pub fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let out = self.bn1.forward_nchw(&self.conv1.forward(xs)?)?.relu()?;
        let out = self.bn2.forward_nchw(&self.conv2.forward(&out)?)?;
        let res = self.bn3.forward_nchw(&self.conv3.forward(xs)?)?;
        (out + res)?.relu()
    }
}

/// `Conv2dSubsampling`: `conv.{0,1}` Res2dModules, rearrange `b c f t -> b t (c f)`, `linear`.
#[derive(Debug, Clone)]
pub struct Conv2dSubsampling {
    /// `conv.conv.0` and `conv.conv.1` in the checkpoint.
    conv: [Res2dModule; 2],
    /// `conv.linear`: (D, C · F').
    linear: Linear,
}

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
        Ok(Self { conv, linear })
    }

    /// Output of the two residual blocks: (B, 1, n_mels, F) -> (B, C, F', T).
    pub fn forward_blocks(&self, xs: &Tensor) -> Result<Tensor> {
        let xs = self.conv[0].forward(xs)?;
        self.conv[1].forward(&xs)
    }

    /// Rearrange + linear: (B, C, F', T) -> (B, T, D).
    pub fn project(&self, blocks_out: &Tensor) -> Result<Tensor> {
        let (b, c, f, t) = blocks_out.dims4()?;
        let xs = blocks_out.permute((0, 3, 1, 2))?.contiguous()?.reshape((b, t, c * f))?;
        self.linear.forward(&xs)
    }

    /// Normalised mel (B, n_mels, F) -> tokens (B, T, D).
    pub fn forward(&self, mel_norm: &Tensor) -> Result<Tensor> {
        let xs = mel_norm.unsqueeze(1)?;
        self.project(&self.forward_blocks(&xs)?)
    }

    /// The two residual blocks, for the streaming encoder.
    pub fn blocks(&self) -> &[Res2dModule; 2] {
        &self.conv
    }
}
