//! MuQ-MuLan (music–text joint embedding; Zhu et al., arXiv 2501.01108; model card
//! <https://huggingface.co/OpenMuQ/MuQ-MuLan-large>), ported from tencent-ailab/MuQ
//! `src/muq/muq_mulan/` (= PyPI `muq` 0.1.0): audio tower on the MuQ encoder, text tower on
//! XLM-R, 512-d L2-normalised latents, dot-product similarity. See muq-reference.md §6.
//!
//! Everything here runs on a worker or CLI thread: it allocates and may take seconds.

pub mod audio;
pub mod clips;
pub mod config;
pub mod files;
pub mod hub;
pub mod text;
pub mod text_side;
pub mod transformer;

use std::sync::{Arc, Mutex, MutexGuard};

use candle_core::{Device, Module, Tensor};
use candle_nn::{Linear, VarBuilder, linear};

pub use config::MulanConfig;
pub use files::MulanFiles;
pub use text_side::MulanTextSide;

use crate::models::muq::MuqConfig;
use crate::models::xlm_roberta::XlmRobertaConfig;
use crate::tokenize::{PaddedBatch, TextTokenizer};
use crate::{Error, Result};
use audio::{AudioTower, ClipHidden};
use text::TextEncoder;
use transformer::l2norm;

/// Audio latent of a whole recording.
pub struct AudioLatent {
    /// Mean of the per-clip latents, `(1, dim_latent)`; NOT re-normalised (norm ≤ 1).
    pub latent: Tensor,
    /// L2-normalised latent of each clip, `(n_clips, dim_latent)`.
    pub per_clip: Tensor,
}

/// Latent of one text encoded on its own (what the product uses).
pub struct TextLatent {
    /// `(1, dim_latent)`, unit norm.
    pub latent: Tensor,
    /// Token ids fed to XLM-R (with `<s>`/`</s>`).
    pub ids: Vec<u32>,
    /// True when the text exceeded the model's positions and was cut (show a notice).
    pub truncated: bool,
}

/// Official batched text encoding (one padded batch, pads attended to and averaged).
pub struct TextBatchLatents {
    /// The padded ids and mask.
    pub batch: PaddedBatch,
    /// XLM-R `last_hidden_state (n, S, model_dim)`.
    pub encoder_hidden: Tensor,
    /// `(n, dim_latent)`, unit-norm rows.
    pub latents: Tensor,
}

/// The whole MuQ-MuLan model with its tokenizer.
///
/// Loaded from files, the text side (tokenizer, XLM-R and the text transformer: about half the
/// weights) is built only when a text is embedded and can be dropped again with
/// [`Self::release_text_tower`]: with every text latent cached, only the audio side is resident.
pub struct MuqMulan {
    cfg: MulanConfig,
    xlmr_cfg: XlmRobertaConfig,
    audio: AudioTower,
    /// The text side while built.
    text: Mutex<Option<Arc<MulanTextSide>>>,
    /// Where to build the text tower from on demand (`None`: built eagerly, never released).
    text_source: Option<TextSource>,
    /// Times the text tower was built on demand.
    num_text_tower_builds: std::sync::atomic::AtomicUsize,
    audio_to_latents: Linear,
}

/// The files the text side is (re)built from.
struct TextSource {
    files: MulanFiles,
    device: Device,
    /// Size and modification time of the weights when the audio side was loaded: the text
    /// tower is only rebuilt from the same file.
    stamp: Option<crate::load::FileStamp>,
}

impl MuqMulan {
    /// Loads a model folder (see [`MulanFiles::locate`] for what is looked up where).
    pub fn load(dir: &std::path::Path, device: &Device) -> Result<Self> {
        let files = MulanFiles::locate(dir)?;
        Self::load_files(&files, device)
    }

    /// Loads from already located files: the audio side now, the text tower on demand.
    pub fn load_files(files: &MulanFiles, device: &Device) -> Result<Self> {
        Self::load_files_cancellable(files, device, None)
    }

    /// [`Self::load_files`] that stops with an error ("loading cancelled") within one tensor
    /// once `cancel` is set.
    pub fn load_files_cancellable(
        files: &MulanFiles,
        device: &Device,
        cancel: Option<crate::load::CancelFlag>,
    ) -> Result<Self> {
        let cfg = MulanConfig::from_file(&files.config)?;
        let muq_cfg = match &files.muq_config {
            Some(p) => MuqConfig::from_file(p)?,
            None => MuqConfig::muq_large_msd_iter(),
        };
        let xlmr_cfg = match &files.xlmr_config {
            Some(p) => XlmRobertaConfig::from_file(p)?,
            None => XlmRobertaConfig::xlm_roberta_base(),
        };
        // Checked now for a clear error at load; kept only while the text side is built.
        TextTokenizer::from_file(&files.tokenizer)?.check_vocab_size(xlmr_cfg.vocab_size)?;
        let ckpt = crate::load::Checkpoint::open_cancellable(&files.weights, device, cancel)?;
        let vb = ckpt.var_builder();
        files::check_towers(&vb, &files.weights)?;
        let as_checkpoint_err = |e: candle_core::Error| Error::Checkpoint {
            path: files.weights.clone(),
            msg: e.to_string(),
        };
        let vb = vb.pp("mulan");
        let audio = AudioTower::new(&cfg, &muq_cfg, vb.pp("audio")).map_err(as_checkpoint_err)?;
        let audio_to_latents = linear(
            cfg.audio_transformer.dim,
            cfg.mulan.dim_latent,
            vb.pp("audio_to_latents"),
        )
        .map_err(as_checkpoint_err)?;
        Ok(Self {
            audio,
            text: Mutex::new(None),
            text_source: Some(TextSource {
                files: files.clone(),
                device: device.clone(),
                stamp: crate::load::FileStamp::of(&files.weights),
            }),
            audio_to_latents,
            xlmr_cfg,
            cfg,
            num_text_tower_builds: std::sync::atomic::AtomicUsize::new(0),
        })
    }

    fn text_slot(&self) -> MutexGuard<'_, Option<Arc<MulanTextSide>>> {
        self.text
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The text side (tokenizer and text tower), built from the files first if it is not
    /// resident.
    pub fn text_side(&self) -> Result<Arc<MulanTextSide>> {
        let mut slot = self.text_slot();
        if let Some(text) = slot.as_ref() {
            return Ok(Arc::clone(text));
        }
        let Some(source) = &self.text_source else {
            return Err(Error::Other("the text tower is not available".into()));
        };
        let weights = &source.files.weights;
        if crate::load::FileStamp::of(weights) != source.stamp {
            return Err(Error::Checkpoint {
                path: weights.clone(),
                msg: "the weights file changed on disk since the model was loaded; reload the \
                      model (choose the folder again) to embed new texts"
                    .into(),
            });
        }
        let text = Arc::new(MulanTextSide::load(&source.files, &source.device)?);
        *slot = Some(Arc::clone(&text));
        self.num_text_tower_builds
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(text)
    }

    /// Drops the text tower if it can be rebuilt from the checkpoint (a model loaded from
    /// files); its memory is freed once no embedding in progress holds it. Returns whether it
    /// was resident and is now released.
    pub fn release_text_tower(&self) -> bool {
        if self.text_source.is_none() {
            return false;
        }
        self.text_slot().take().is_some()
    }

    /// Times the text tower was built on demand since the model was loaded.
    pub fn num_text_tower_builds(&self) -> usize {
        self.num_text_tower_builds
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether the text tower is resident.
    pub fn text_tower_loaded(&self) -> bool {
        self.text_slot().is_some()
    }

    /// Loads only the inner MuQ of a MuQ-MuLan checkpoint (the audio tower's encoder, keys
    /// `mulan.audio.model.*`): the same weights the live pipeline runs, without the text tower.
    /// What `muq probe` trains on when given a MuQ-MuLan folder.
    pub fn load_inner_muq(files: &MulanFiles, device: &Device) -> Result<crate::models::muq::Muq> {
        let muq_cfg = match &files.muq_config {
            Some(p) => MuqConfig::from_file(p)?,
            None => MuqConfig::muq_large_msd_iter(),
        };
        let vb = crate::load::open_checkpoint(&files.weights, device)?;
        crate::models::muq::Muq::new(&muq_cfg, vb.pp("mulan.audio.model")).map_err(|e| {
            Error::Checkpoint {
                path: files.weights.clone(),
                msg: e.to_string(),
            }
        })
    }

    /// Builds the model from configs, a tokenizer and the checkpoint root `vb` (keys `mulan.*`).
    pub fn new(
        cfg: MulanConfig,
        muq_cfg: &MuqConfig,
        xlmr_cfg: &XlmRobertaConfig,
        tokenizer: TextTokenizer,
        vb: VarBuilder,
    ) -> Result<Self> {
        tokenizer.check_vocab_size(xlmr_cfg.vocab_size)?;
        let vb = vb.pp("mulan");
        let dim_latent = cfg.mulan.dim_latent;
        let text = MulanTextSide::from_parts(
            tokenizer,
            TextEncoder::new(&cfg, xlmr_cfg, vb.clone())?,
            xlmr_cfg.max_tokens(),
        );
        Ok(Self {
            audio: AudioTower::new(&cfg, muq_cfg, vb.pp("audio"))?,
            text: Mutex::new(Some(Arc::new(text))),
            text_source: None,
            num_text_tower_builds: std::sync::atomic::AtomicUsize::new(0),
            xlmr_cfg: xlmr_cfg.clone(),
            audio_to_latents: linear(
                cfg.audio_transformer.dim,
                dim_latent,
                vb.pp("audio_to_latents"),
            )?,
            cfg,
        })
    }

    /// The MuQ-MuLan config.
    pub fn config(&self) -> &MulanConfig {
        &self.cfg
    }

    /// Samples per clip (240 000 = 10 s for MuQ-MuLan-large).
    pub fn clip_samples(&self) -> usize {
        self.cfg.clip_samples()
    }

    /// Longest token sequence a text may have (512 for xlm-roberta-base).
    pub fn max_text_tokens(&self) -> usize {
        self.xlmr_cfg.max_tokens()
    }

    /// One clip through the audio tower: `(hidden, L2-normalised latent (1, dim_latent))`.
    pub fn audio_clip(&self, clip: &[f32]) -> Result<(ClipHidden, Tensor)> {
        let hidden = self.audio.forward_clip(clip)?;
        let latent = l2norm(&self.audio_to_latents.forward(&hidden.pooled)?)?;
        Ok((hidden, latent))
    }

    /// The inner MuQ encoder of the audio tower (the live pipeline wraps a clone of it in a
    /// [`crate::models::muq::StreamingMuq`]).
    pub fn muq(&self) -> &crate::models::muq::Muq {
        self.audio.muq()
    }

    /// L2-normalised audio latent `(1, dim_latent)` of one clip whose MuQ hidden states were
    /// computed elsewhere (e.g. by the streaming encoder over a sliding window).
    pub fn audio_latent_from_muq_output(
        &self,
        out: &crate::models::muq::MuqOutput,
    ) -> Result<Tensor> {
        let hidden = self.audio.forward_muq_output(out)?;
        Ok(l2norm(&self.audio_to_latents.forward(&hidden.pooled)?)?)
    }

    /// Audio latent of 24 kHz mono `samples`, chopped into clips exactly as the official code
    /// and averaged without re-normalising.
    pub fn audio_latent(&self, samples: &[f32]) -> Result<AudioLatent> {
        let plans = clips::plan_clips(samples.len(), self.clip_samples());
        if plans.is_empty() {
            return Err(Error::Audio("no audio samples".into()));
        }
        if let Some(idx) = samples.iter().position(|x| !x.is_finite()) {
            return Err(Error::Audio(format!(
                "sample {idx} is not a finite number ({})",
                samples[idx]
            )));
        }
        let per_clip = plans
            .iter()
            .map(|p| Ok(self.audio_clip(&p.gather(samples))?.1))
            .collect::<Result<Vec<_>>>()?;
        let per_clip = Tensor::cat(&per_clip, 0)?; // (n_clips, dim_latent)
        let latent = per_clip.mean_keepdim(0)?;
        Ok(AudioLatent { latent, per_clip })
    }

    /// Latent of one text encoded alone (no padding): what the product uses.
    pub fn text_latent(&self, text: &str) -> Result<TextLatent> {
        self.text_side()?.text_latent(text)
    }

    /// Official `MuQMuLan(texts=...)`: one right-padded batch; the MuLan text transformer gets
    /// no mask and pooling averages pads too, so a row depends on the batch's padding.
    pub fn text_latents_batched(&self, texts: &[&str]) -> Result<TextBatchLatents> {
        let text = self.text_side()?;
        let batch = text
            .tokenizer()
            .encode_batch(texts, self.max_text_tokens())?;
        let encoder_hidden = text.encoder().tower().encoder_hidden(&batch.ids)?;
        let latents = text.encoder().latents_from_hidden(&encoder_hidden)?;
        Ok(TextBatchLatents {
            batch,
            encoder_hidden,
            latents,
        })
    }
}

/// `calc_similarity` for 2-D latents: plain dot products `(Na, d) x (Nt, d) -> (Na, Nt)`.
/// Text latents are unit-norm; an audio latent averaged over clips may not be, so this is the
/// raw score the official code reports, not an exact cosine.
pub fn similarity(audio_latents: &Tensor, text_latents: &Tensor) -> Result<Tensor> {
    let (_, da) = audio_latents.dims2()?;
    let (_, dt) = text_latents.dims2()?;
    if da != dt {
        return Err(Error::Other(format!(
            "latent widths differ: audio {da}, text {dt}"
        )));
    }
    Ok(audio_latents.matmul(&text_latents.t()?)?)
}

/// Cosine similarity (each audio row re-normalised) — for display next to the raw score.
pub fn cosine_similarity(audio_latents: &Tensor, text_latents: &Tensor) -> Result<Tensor> {
    similarity(&l2norm(audio_latents)?, &l2norm(text_latents)?)
}
