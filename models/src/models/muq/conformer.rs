//! The conformer encoder: `Wav2Vec2ConformerEncoder` (eval mode) of huggingface/transformers
//! v4.47.1 `src/transformers/models/wav2vec2_conformer/modeling_wav2vec2_conformer.py`
//! (`FeedForward`, `ConvolutionModule`, `EncoderLayer`, `Encoder`), as MuQ builds it in
//! tencent-ailab/MuQ `src/muq/muq/modules/conformer.py`. `pos_conv_embed` is never called.

use candle_core::{D, Result, Tensor};
use candle_nn::{Activation, LayerNorm, Module, VarBuilder};

use super::attention::SelfAttention;
use super::config::MuqConfig;
use super::position::{PositionEmbedding, PositionTables};
use crate::nn::{BatchNormEval, DepthwiseConv1d, linear_t::LinearT};

/// PyTorch's default LayerNorm / BatchNorm epsilon (the in-layer norms ignore `layer_norm_eps`).
const TORCH_EPS: f64 = 1e-5;

fn activation(cfg: &MuqConfig) -> Result<Activation> {
    cfg.activation()
        .map_err(|e| candle_core::Error::Msg(e.to_string()))
}

/// `ffn1` / `ffn2`: `intermediate_dense` → act → `output_dense`.
#[derive(Debug, Clone)]
pub struct FeedForward {
    intermediate_dense: LinearT,
    output_dense: LinearT,
    act: Activation,
}

impl FeedForward {
    pub fn new(cfg: &MuqConfig, vb: VarBuilder) -> Result<Self> {
        let (d, i) = (cfg.encoder_dim, cfg.w2v2_config.intermediate_size);
        Ok(Self {
            intermediate_dense: LinearT::new(d, i, vb.pp("intermediate_dense"))?,
            output_dense: LinearT::new(i, d, vb.pp("output_dense"))?,
            act: activation(cfg)?,
        })
    }
}

impl Module for FeedForward {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let xs = self.intermediate_dense.forward(xs)?.apply(&self.act)?;
        self.output_dense.forward(&xs)
    }
}

/// `conv_module`: LN → pointwise (2D) → GLU → depthwise (k) → BN → act → pointwise (D).
#[derive(Debug, Clone)]
pub struct ConvolutionModule {
    layer_norm: LayerNorm,
    /// `pointwise_conv1.weight` (2D, D, 1) as a bias-free linear.
    pointwise_conv1: LinearT,
    depthwise_conv: DepthwiseConv1d,
    batch_norm: BatchNormEval,
    /// `pointwise_conv2.weight` (D, D, 1) as a bias-free linear.
    pointwise_conv2: LinearT,
    act: Activation,
}

impl ConvolutionModule {
    pub fn new(cfg: &MuqConfig, vb: VarBuilder) -> Result<Self> {
        let d = cfg.encoder_dim;
        let pw1 = vb
            .get((2 * d, d, 1), "pointwise_conv1.weight")?
            .squeeze(2)?;
        let pw2 = vb.get((d, d, 1), "pointwise_conv2.weight")?.squeeze(2)?;
        Ok(Self {
            layer_norm: candle_nn::layer_norm(d, TORCH_EPS, vb.pp("layer_norm"))?,
            pointwise_conv1: LinearT::from_weight(&pw1, None)?,
            depthwise_conv: DepthwiseConv1d::new(
                d,
                cfg.w2v2_config.conv_depthwise_kernel_size,
                vb.pp("depthwise_conv"),
            )?,
            batch_norm: BatchNormEval::new(d, TORCH_EPS, vb.pp("batch_norm"))?,
            pointwise_conv2: LinearT::from_weight(&pw2, None)?,
            act: activation(cfg)?,
        })
    }
}

impl Module for ConvolutionModule {
    /// (B, T, D) -> (B, T, D), channels-last throughout.
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let d = xs.dim(D::Minus1)?;
        let ys = self
            .pointwise_conv1
            .forward(&self.layer_norm.forward(xs)?)?;
        let ys = (ys.narrow(D::Minus1, 0, d)?
            * candle_nn::ops::sigmoid(&ys.narrow(D::Minus1, d, d)?)?)?;
        let ys = self.depthwise_conv.forward(&ys)?;
        let ys = self
            .batch_norm
            .forward_channels_last(&ys)?
            .apply(&self.act)?;
        self.pointwise_conv2.forward(&ys)
    }
}

/// Intermediate outputs of one layer, for the golden test's `debug.layer0.*`.
#[derive(Debug, Clone)]
pub struct LayerDebug {
    pub ffn1_out: Tensor,
    pub self_attn_out: Tensor,
    pub conv_module_out: Tensor,
    pub ffn2_out: Tensor,
}

/// One macaron conformer layer (`model.conformer.layers.{i}`).
#[derive(Debug, Clone)]
pub struct ConformerLayer {
    ffn1_layer_norm: LayerNorm,
    ffn1: FeedForward,
    self_attn_layer_norm: LayerNorm,
    self_attn: SelfAttention,
    conv_module: ConvolutionModule,
    ffn2_layer_norm: LayerNorm,
    ffn2: FeedForward,
    final_layer_norm: LayerNorm,
}

impl ConformerLayer {
    pub fn new(cfg: &MuqConfig, vb: VarBuilder) -> Result<Self> {
        let d = cfg.encoder_dim;
        Ok(Self {
            ffn1_layer_norm: candle_nn::layer_norm(d, TORCH_EPS, vb.pp("ffn1_layer_norm"))?,
            ffn1: FeedForward::new(cfg, vb.pp("ffn1"))?,
            self_attn_layer_norm: candle_nn::layer_norm(
                d,
                TORCH_EPS,
                vb.pp("self_attn_layer_norm"),
            )?,
            self_attn: SelfAttention::new(cfg, vb.pp("self_attn"))?,
            conv_module: ConvolutionModule::new(cfg, vb.pp("conv_module"))?,
            ffn2_layer_norm: candle_nn::layer_norm(d, TORCH_EPS, vb.pp("ffn2_layer_norm"))?,
            ffn2: FeedForward::new(cfg, vb.pp("ffn2"))?,
            final_layer_norm: candle_nn::layer_norm(d, TORCH_EPS, vb.pp("final_layer_norm"))?,
        })
    }

    /// (B, T, D) -> (B, T, D); with `debug` the four sub-block outputs are returned too.
    pub fn forward_debug(
        &self,
        xs: &Tensor,
        pos: &PositionTables,
        debug: bool,
    ) -> Result<(Tensor, Option<LayerDebug>)> {
        let ffn1_out = self.ffn1.forward(&self.ffn1_layer_norm.forward(xs)?)?;
        let h = ((&ffn1_out * 0.5)? + xs)?;
        let self_attn_out = self
            .self_attn
            .forward(&self.self_attn_layer_norm.forward(&h)?, pos)?;
        let h = (&self_attn_out + h)?;
        let conv_module_out = self.conv_module.forward(&h)?;
        let h = (&conv_module_out + h)?;
        let ffn2_out = self.ffn2.forward(&self.ffn2_layer_norm.forward(&h)?)?;
        let h = ((&ffn2_out * 0.5)? + h)?;
        let out = self.final_layer_norm.forward(&h)?;
        let dbg = debug.then_some(LayerDebug {
            ffn1_out,
            self_attn_out,
            conv_module_out,
            ffn2_out,
        });
        Ok((out, dbg))
    }

    pub fn forward(&self, xs: &Tensor, pos: &PositionTables) -> Result<Tensor> {
        Ok(self.forward_debug(xs, pos, false)?.0)
    }
}

/// Everything the encoder computes, with the debug extras the golden fixtures hold.
#[derive(Debug, Clone)]
pub struct EncoderOutput {
    /// L + 1 states: `[0]` = input, `[i]` = raw output of layer i (i < L), `[L]` = layer-normed.
    pub hidden_states: Vec<Tensor>,
    /// Output of layer L before the encoder `layer_norm` (debug only).
    pub last_layer_out_before_ln: Option<Tensor>,
    /// Layer 0 sub-block outputs (debug only).
    pub layer0: Option<LayerDebug>,
    /// The position tables used (debug only).
    pub pos: Option<PositionTables>,
}

/// `model.conformer`.
#[derive(Debug, Clone)]
pub struct ConformerEncoder {
    embed_positions: PositionEmbedding,
    layers: Vec<ConformerLayer>,
    layer_norm: LayerNorm,
    /// Checked between layers: once set, a forward pass stops with "stopped". Not part of the
    /// checkpoint; lets an owner end a running forward within one layer.
    stop: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

impl ConformerEncoder {
    pub fn new(cfg: &MuqConfig, vb: VarBuilder) -> Result<Self> {
        let layers = (0..cfg.encoder_depth)
            .map(|i| ConformerLayer::new(cfg, vb.pp(format!("layers.{i}"))))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            embed_positions: PositionEmbedding::new(cfg, vb.pp("embed_positions"))?,
            layers,
            layer_norm: candle_nn::layer_norm(
                cfg.encoder_dim,
                cfg.w2v2_config.layer_norm_eps,
                vb.pp("layer_norm"),
            )?,
            stop: None,
        })
    }

    /// Makes forward passes stop (with an error) between layers once `stop` is set.
    pub fn set_stop_flag(&mut self, stop: std::sync::Arc<std::sync::atomic::AtomicBool>) {
        self.stop = Some(stop);
    }

    /// (B, T, D) -> all hidden states; `debug` keeps the extra tensors.
    pub fn forward_debug(&self, xs: &Tensor, debug: bool) -> Result<EncoderOutput> {
        let t = xs.dim(1)?;
        let pos = self.embed_positions.tables(t, xs.device())?;
        let mut hidden_states = Vec::with_capacity(self.layers.len() + 1);
        let mut h = xs.clone();
        let mut layer0 = None;
        for (i, layer) in self.layers.iter().enumerate() {
            if self
                .stop
                .as_ref()
                .is_some_and(|s| s.load(std::sync::atomic::Ordering::Relaxed))
            {
                candle_core::bail!("stopped");
            }
            hidden_states.push(h.clone());
            let (next, dbg) = layer.forward_debug(&h, &pos, debug && i == 0)?;
            if i == 0 {
                layer0 = dbg;
            }
            h = next;
        }
        let last = self.layer_norm.forward(&h)?;
        hidden_states.push(last);
        Ok(EncoderOutput {
            hidden_states,
            last_layer_out_before_ln: debug.then_some(h),
            layer0,
            pos: debug.then_some(pos),
        })
    }

    /// Number of layers L.
    pub fn num_layers(&self) -> usize {
        self.layers.len()
    }
}
