//! Text tokenisation for the MuQ-MuLan text tower: a Hugging Face `tokenizer.json`
//! (xlm-roberta-base: Precompiled normaliser + Metaspace + Unigram, `<s> … </s>` template) read
//! with the `tokenizers` crate, reproducing `XLMRobertaTokenizerFast(texts, padding=True)`.
//!
//! Runs on the worker or CLI thread; allocates.

use std::path::{Path, PathBuf};

use tokenizers::Tokenizer;

use crate::{Error, Result};

/// One text as token ids (with `<s>` and `</s>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedText {
    /// Token ids, at most the `max_tokens` given to [`TextTokenizer::encode`].
    pub ids: Vec<u32>,
    /// Number of tokens before truncation (equals `ids.len()` when nothing was cut).
    pub num_tokens_before: usize,
}

impl EncodedText {
    /// True when the text was longer than the model allows and was cut (a notice for the caller).
    pub fn truncated(&self) -> bool {
        self.num_tokens_before > self.ids.len()
    }
}

/// A right-padded batch, as `tokenizer(texts, padding=True)` returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaddedBatch {
    /// `(n_texts, S)` ids, rows right-padded with the pad id to the longest row.
    pub ids: Vec<Vec<u32>>,
    /// `(n_texts, S)` 1 = real token, 0 = pad.
    pub attention_mask: Vec<Vec<u32>>,
    /// Per text: whether it was truncated.
    pub truncated: Vec<bool>,
}

/// `tokenizer.json` wrapper with the checks the product needs.
pub struct TextTokenizer {
    inner: Tokenizer,
    pad_id: u32,
    path: PathBuf,
}

impl TextTokenizer {
    /// Loads `tokenizer.json`; padding and truncation stored in the file are switched off (the
    /// official call pads per batch and never truncates; we truncate explicitly in `encode`).
    pub fn from_file(path: &Path) -> Result<Self> {
        if !path.is_file() {
            return Err(Error::io(
                path,
                std::io::Error::new(std::io::ErrorKind::NotFound, "tokenizer.json not found"),
            ));
        }
        let mut inner = Tokenizer::from_file(path).map_err(|e| Error::Config {
            path: path.to_path_buf(),
            msg: format!("cannot read tokenizer: {e}"),
        })?;
        inner.with_padding(None);
        inner.with_truncation(None).map_err(|e| Error::Config {
            path: path.to_path_buf(),
            msg: e.to_string(),
        })?;
        let pad_id = inner.token_to_id("<pad>").ok_or_else(|| Error::Config {
            path: path.to_path_buf(),
            msg: "tokenizer has no <pad> token (expected the XLM-R layout)".into(),
        })?;
        Ok(Self {
            inner,
            pad_id,
            path: path.to_path_buf(),
        })
    }

    /// Vocabulary size including added special tokens (250 002 for xlm-roberta-base).
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// The `<pad>` id.
    pub fn pad_id(&self) -> u32 {
        self.pad_id
    }

    /// Errors unless the tokenizer's vocabulary matches the model's embedding rows.
    pub fn check_vocab_size(&self, model_vocab_size: usize) -> Result<()> {
        let tok = self.vocab_size();
        if tok != model_vocab_size {
            return Err(Error::Config {
                path: self.path.clone(),
                msg: format!(
                    "tokenizer vocabulary has {tok} tokens but the text model has {model_vocab_size}: \
                     this tokenizer.json does not belong to the model (xlm-roberta-base's is needed)"
                ),
            });
        }
        Ok(())
    }

    /// Encodes one text with `<s>`/`</s>`. Empty or whitespace-only text is an error. A text
    /// longer than `max_tokens` keeps its first `max_tokens - 1` tokens plus the closing `</s>`;
    /// [`EncodedText::truncated`] reports it.
    pub fn encode(&self, text: &str, max_tokens: usize) -> Result<EncodedText> {
        if text.trim().is_empty() {
            return Err(Error::Other(
                "text query is empty or only whitespace".into(),
            ));
        }
        if max_tokens < 2 {
            return Err(Error::Other(format!(
                "max_tokens must be at least 2, got {max_tokens}"
            )));
        }
        let enc = self
            .inner
            .encode(text, true)
            .map_err(|e| Error::Other(format!("tokenizing {:?}: {e}", short(text))))?;
        let mut ids = enc.get_ids().to_vec();
        let num_tokens_before = ids.len();
        if ids.len() <= 2 {
            return Err(Error::Other(format!(
                "text {:?} gives no tokens",
                short(text)
            )));
        }
        if ids.len() > max_tokens {
            let last = ids[ids.len() - 1];
            ids.truncate(max_tokens - 1);
            ids.push(last);
        }
        Ok(EncodedText {
            ids,
            num_tokens_before,
        })
    }

    /// Encodes a batch and right-pads it with `<pad>` to its longest row.
    pub fn encode_batch(&self, texts: &[&str], max_tokens: usize) -> Result<PaddedBatch> {
        if texts.is_empty() {
            return Err(Error::Other("no text queries given".into()));
        }
        let encoded = texts
            .iter()
            .map(|t| self.encode(t, max_tokens))
            .collect::<Result<Vec<_>>>()?;
        let len = encoded.iter().map(|e| e.ids.len()).max().unwrap_or(0);
        let mut batch = PaddedBatch {
            ids: vec![],
            attention_mask: vec![],
            truncated: vec![],
        };
        for e in encoded {
            let n = e.ids.len();
            let mut ids = e.ids.clone();
            ids.resize(len, self.pad_id);
            let mut mask = vec![1u32; n];
            mask.resize(len, 0);
            batch.ids.push(ids);
            batch.attention_mask.push(mask);
            batch.truncated.push(e.truncated());
        }
        Ok(batch)
    }
}

fn short(text: &str) -> String {
    text.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> TextTokenizer {
        let p =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/golden/mulan/tokenizer.json");
        TextTokenizer::from_file(&p).unwrap()
    }

    #[test]
    fn empty_and_whitespace_are_errors() {
        let tok = fixture();
        for t in ["", "   ", "\t\n \u{3000}"] {
            let err = tok.encode(t, 64).unwrap_err().to_string();
            assert!(err.contains("empty"), "{t:?}: {err}");
        }
    }

    #[test]
    fn long_text_is_truncated_and_keeps_eos() {
        let tok = fixture();
        let text = "piano ".repeat(2000);
        let full = tok.encode(&text, usize::MAX).unwrap();
        let cut = tok.encode(&text, 64).unwrap();
        assert!(cut.truncated() && !full.truncated());
        assert_eq!(cut.ids.len(), 64);
        assert_eq!(cut.ids[..63], full.ids[..63]);
        assert_eq!(cut.ids.last(), full.ids.last());
    }

    #[test]
    fn batch_pads_right_with_pad_id() {
        let tok = fixture();
        let b = tok
            .encode_batch(&["calm piano", "a much longer text about drums"], 64)
            .unwrap();
        let n0 = b.attention_mask[0].iter().filter(|&&m| m == 1).count();
        assert_eq!(b.ids[0].len(), b.ids[1].len());
        assert!(b.ids[0][n0..].iter().all(|&i| i == tok.pad_id()));
        assert!(b.attention_mask[1].iter().all(|&m| m == 1));
    }
}
