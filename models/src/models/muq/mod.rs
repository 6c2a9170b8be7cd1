//! MuQ encoder (Zhu et al., "MuQ: Self-Supervised Music Representation Learning with Mel
//! Residual Vector Quantization", arXiv 2501.01108; model card
//! <https://huggingface.co/OpenMuQ/MuQ-large-msd-iter>), ported from the reference
//! implementation tencent-ailab/MuQ (`src/muq/muq/muq.py`, `models/muq_model.py`) = PyPI `muq` 0.1.0.
//!
//! Pipeline: 24 kHz mono → dB mel (`crate::mel`) → `(x − mean)/std` → conv stem → conformer.
//! `Muq::forward` returns the L + 1 hidden states with the official meaning of each index.

pub mod attention;
pub mod config;
pub mod conformer;
pub mod conv_stem;
pub mod flops;
pub mod position;
pub mod streaming;

use candle_core::{Device, Result as CResult, Tensor};
use candle_nn::VarBuilder;

pub use config::{MUQ_SAMPLE_RATE_HZ, MuqConfig, PositionEmbeddings};
pub use conformer::{ConformerEncoder, EncoderOutput};
pub use conv_stem::Conv2dSubsampling;
pub use streaming::StreamingMuq;

use crate::mel::{MelConfig, MelSpectrogram};
use crate::{Error, Result};

/// All hidden states of one forward call.
#[derive(Debug, Clone)]
pub struct MuqOutput {
    /// L + 1 tensors of shape (B, T, D): `[0]` = conv-stem output, `[i]` = raw output of
    /// conformer layer i, `[L]` = encoder-LayerNormed output of layer L (`last_hidden_state`).
    pub hidden_states: Vec<Tensor>,
}

impl MuqOutput {
    /// `hidden_states[L]`, the official `last_hidden_state`.
    pub fn last_hidden_state(&self) -> &Tensor {
        // Non-empty by construction: the encoder always pushes the final state.
        &self.hidden_states[self.hidden_states.len() - 1]
    }
}

/// The MuQ model: `model.conv` + `model.conformer` of the checkpoint.
#[derive(Clone)]
pub struct Muq {
    cfg: MuqConfig,
    mel: MelSpectrogram,
    conv: Conv2dSubsampling,
    conformer: ConformerEncoder,
    device: Device,
}

impl Muq {
    /// `vb` is the root of a MuQ state dict (keys `model.conv.…`, `model.conformer.…`); for
    /// MuQ-MuLan pass `vb.pp("mulan.audio.model")`. Unused keys (quantizers, rvq, `linear`,
    /// `cls_token`, `pos_conv_embed`) are never read.
    pub fn new(cfg: &MuqConfig, vb: VarBuilder) -> CResult<Self> {
        cfg.validate()
            .map_err(|e| candle_core::Error::Msg(e.to_string()))?;
        let vb = vb.pp("model");
        Ok(Self {
            cfg: cfg.clone(),
            mel: MelSpectrogram::new(MelConfig::muq()),
            conv: Conv2dSubsampling::new(cfg, vb.pp("conv"))?,
            conformer: ConformerEncoder::new(cfg, vb.pp("conformer"))?,
            device: vb.device().clone(),
        })
    }

    /// Loads a MuQ model folder: `config.json` plus `model.safetensors` or `pytorch_model.bin`.
    pub fn load(dir: &std::path::Path, device: &Device) -> Result<Self> {
        let cfg = MuqConfig::from_file(&dir.join("config.json"))?;
        let vb = crate::load::open_checkpoint(dir, device)?;
        Ok(Self::new(&cfg, vb)?)
    }

    /// The model's configuration.
    pub fn config(&self) -> &MuqConfig {
        &self.cfg
    }

    /// The device the weights live on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The conv stem (used by the streaming encoder).
    pub fn conv(&self) -> &Conv2dSubsampling {
        &self.conv
    }

    /// The conformer (used by the streaming encoder).
    pub fn conformer(&self) -> &ConformerEncoder {
        &self.conformer
    }

    /// Makes this copy's forward passes stop between conformer layers once `stop` is set
    /// (other clones sharing the weights are not affected).
    pub fn set_stop_flag(&mut self, stop: std::sync::Arc<std::sync::atomic::AtomicBool>) {
        self.conformer.set_stop_flag(stop);
    }

    /// dB mel of one waveform as (1, n_mels, F), last frame dropped (`MuQModel.preprocessing`).
    /// Non-finite samples must have been replaced by the caller.
    pub fn mel_db(&self, wav: &[f32]) -> Result<Tensor> {
        let frames = self.mel.mel_db(wav)?;
        let (n_mels, num_frames) = (frames.n_mels, frames.num_frames);
        let t = Tensor::from_vec(frames.data, (1, num_frames, n_mels), &self.device)?;
        Ok(t.transpose(1, 2)?.contiguous()?)
    }

    /// `(mel_db − mean) / std` with the config's `stat` (`MuQModel.normalize`).
    pub fn normalize_mel(&self, mel_db: &Tensor) -> Result<Tensor> {
        let stat = &self.cfg.stat;
        let mut data = mel_db.flatten_all()?.to_vec1::<f32>()?;
        crate::mel::normalize_in_place(
            &mut data,
            stat.melspec_2048_mean as f32,
            stat.melspec_2048_std as f32,
        );
        Ok(Tensor::from_vec(data, mel_db.dims(), &self.device)?)
    }

    /// Normalised mel of one waveform as (1, n_mels, F).
    pub fn mel_norm(&self, wav: &[f32]) -> Result<Tensor> {
        self.normalize_mel(&self.mel_db(wav)?)
    }

    /// `wav`: (B, N) float32 at 24 kHz → all hidden states. Each row is processed alone
    /// (exactly like one call per item).
    pub fn forward(&self, wav: &Tensor) -> Result<MuqOutput> {
        let (b, _n) = wav.dims2()?;
        let mut mels = Vec::with_capacity(b);
        for i in 0..b {
            let row = wav.get(i)?.to_vec1::<f32>()?;
            if row.iter().any(|x| !x.is_finite()) {
                return Err(Error::Audio(
                    "non-finite samples in the waveform (replace them before the model)".into(),
                ));
            }
            mels.push(self.mel_norm(&row)?);
        }
        let mel = Tensor::cat(&mels, 0)?;
        Ok(self.forward_mel(&mel)?)
    }

    /// Normalised mel (B, n_mels, F) → all hidden states.
    pub fn forward_mel(&self, mel_norm: &Tensor) -> CResult<MuqOutput> {
        let conv_out = self.conv.forward(mel_norm)?;
        let out = self.conformer.forward_debug(&conv_out, false)?;
        Ok(MuqOutput {
            hidden_states: out.hidden_states,
        })
    }

    /// Like [`Muq::forward_mel`] but keeps the intermediate tensors the golden fixtures hold.
    pub fn forward_mel_debug(&self, mel_norm: &Tensor) -> CResult<(Tensor, EncoderOutput)> {
        let blocks = self.conv.forward_blocks(&mel_norm.unsqueeze(1)?)?;
        let conv_out = self.conv.project(&blocks)?;
        Ok((blocks, self.conformer.forward_debug(&conv_out, true)?))
    }
}
