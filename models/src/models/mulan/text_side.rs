//! MuQ-MuLan's text side alone: the tokenizer, XLM-R, the text transformer and
//! `text_to_latents`, built from a model folder without the audio tower. Used to embed texts
//! before the audio side is loaded, so that the two halves (about 1.3 GB each at real size)
//! are never resident together.

use candle_core::Device;

use super::text::TextEncoder;
use super::{MulanConfig, MulanFiles, TextLatent};
use crate::models::xlm_roberta::XlmRobertaConfig;
use crate::tokenize::TextTokenizer;
use crate::{Error, Result};

/// The text half of a MuQ-MuLan model.
pub struct MulanTextSide {
    tokenizer: TextTokenizer,
    encoder: TextEncoder,
    max_tokens: usize,
}

impl MulanTextSide {
    /// Reads the configs and tokenizer of `files` and builds the text tower from its weights.
    pub fn load(files: &MulanFiles, device: &Device) -> Result<Self> {
        let cfg = MulanConfig::from_file(&files.config)?;
        let xlmr_cfg = match &files.xlmr_config {
            Some(p) => XlmRobertaConfig::from_file(p)?,
            None => XlmRobertaConfig::xlm_roberta_base(),
        };
        let tokenizer = TextTokenizer::from_file(&files.tokenizer)?;
        tokenizer.check_vocab_size(xlmr_cfg.vocab_size)?;
        let vb = crate::load::open_checkpoint(&files.weights, device)?;
        let encoder =
            TextEncoder::new(&cfg, &xlmr_cfg, vb.pp("mulan")).map_err(|e| Error::Checkpoint {
                path: files.weights.clone(),
                msg: e.to_string(),
            })?;
        Ok(Self {
            tokenizer,
            encoder,
            max_tokens: xlmr_cfg.max_tokens(),
        })
    }

    /// From an already built tokenizer and tower.
    pub fn from_parts(tokenizer: TextTokenizer, encoder: TextEncoder, max_tokens: usize) -> Self {
        Self {
            tokenizer,
            encoder,
            max_tokens,
        }
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &TextTokenizer {
        &self.tokenizer
    }

    /// The text tower with `text_to_latents`.
    pub fn encoder(&self) -> &TextEncoder {
        &self.encoder
    }

    /// Latent of one text encoded alone (no padding): what the product uses.
    pub fn text_latent(&self, text: &str) -> Result<TextLatent> {
        let enc = self.tokenizer.encode(text, self.max_tokens)?;
        let ids = vec![enc.ids.clone()];
        let latent = self.encoder.latents(&ids)?;
        Ok(TextLatent {
            latent,
            truncated: enc.truncated(),
            ids: enc.ids,
        })
    }
}
