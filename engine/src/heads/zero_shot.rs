//! Zero-shot instrument and genre readouts with MuQ-MuLan.
//!
//! Each vocabulary (`assets/labels/{instruments,genres}.txt`) is paired with prompt templates
//! (`assets/prompts/*.txt`, `{label}` is substituted). A label's text latent is the L2-normalised
//! mean of its prompts' latents (prompt ensembling, as in CLIP). For a window's unit-norm audio
//! latent `a` and label latents `t_i`, the cosine is `c_i = a · t_i`.
//!
//! **Calibration.** MuLan cosines sit in a narrow band (≈ 0.0–0.5) whose absolute level varies
//! with the recording, so raw cosines do not read as confidence. The score shown is
//! `softmax_i(c_i / T)` over the whole vocabulary with temperature `T` ([`DEFAULT_TEMPERATURE`]
//! = 0.03, close to the inverse of the contrastive logit scale such models learn): scores sum to
//! 1 and say how strongly one label is preferred *relative to the others in the vocabulary*, not
//! whether the instrument is present at all. The raw cosine is kept next to the score.
//!
//! Built-in vocabularies are compiled in; a user folder with `instruments.txt` / `genres.txt`
//! (and optionally `prompts/instruments.txt` / `prompts/genres.txt`) overrides them.
//! Runs on the inference or CLI thread.

use std::path::Path;

use crate::{Error, Result};

/// One label of a zero-shot head with its score.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LabelScore {
    /// The label as written in the vocabulary file, e.g. `"electric guitar"`.
    pub label: String,
    /// Relative confidence 0..1: softmax of cosine / temperature over the whole vocabulary
    /// (see this module); the scores of all labels sum to 1.
    pub score: f32,
    /// Raw cosine similarity between the window's audio latent and the label's text latent.
    pub cosine: f32,
}

/// Default softmax temperature applied to cosines.
pub const DEFAULT_TEMPERATURE: f32 = 0.03;
/// Labels shown for instruments.
pub const TOP_INSTRUMENTS: usize = 5;
/// Labels shown for genres.
pub const TOP_GENRES: usize = 3;
/// Longest vocabulary accepted (the text latents are computed once, but not without limit).
pub const MAX_LABELS: usize = 1_000;

const BUILTIN_INSTRUMENTS: &str = include_str!("../../../assets/labels/instruments.txt");
const BUILTIN_GENRES: &str = include_str!("../../../assets/labels/genres.txt");
const BUILTIN_INSTRUMENT_PROMPTS: &str = include_str!("../../../assets/prompts/instruments.txt");
const BUILTIN_GENRE_PROMPTS: &str = include_str!("../../../assets/prompts/genres.txt");

/// Which zero-shot head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeadKind {
    /// Instruments (top 5).
    Instruments,
    /// Genres (top 3).
    Genres,
}

impl HeadKind {
    /// File stem of the vocabulary, e.g. `"instruments"`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Instruments => "instruments",
            Self::Genres => "genres",
        }
    }

    /// How many labels the readout shows.
    pub fn top_k(self) -> usize {
        match self {
            Self::Instruments => TOP_INSTRUMENTS,
            Self::Genres => TOP_GENRES,
        }
    }
}

/// Labels plus prompt templates.
#[derive(Clone, Debug, PartialEq)]
pub struct Vocabulary {
    /// Labels, in file order, without duplicates.
    pub labels: Vec<String>,
    /// Prompt templates, each containing `{label}`.
    pub templates: Vec<String>,
}

/// Non-empty, non-comment lines, trimmed.
fn content_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

impl Vocabulary {
    /// Parses a label file and a template file. Errors for empty vocabularies, more than
    /// [`MAX_LABELS`] labels, or templates without `{label}`.
    pub fn parse(labels_text: &str, templates_text: &str, origin: &str) -> Result<Self> {
        let mut labels: Vec<String> = Vec::new();
        for label in content_lines(labels_text) {
            if !labels.iter().any(|l| l == label) {
                labels.push(label.to_string());
            }
        }
        if labels.is_empty() {
            return Err(Error::Other(format!(
                "{origin}: the label list is empty (one label per line)"
            )));
        }
        if labels.len() > MAX_LABELS {
            return Err(Error::Other(format!(
                "{origin}: {} labels, at most {MAX_LABELS} are supported",
                labels.len()
            )));
        }
        let templates: Vec<String> = content_lines(templates_text).map(str::to_string).collect();
        if templates.is_empty() {
            return Err(Error::Other(format!("{origin}: no prompt templates")));
        }
        if let Some(bad) = templates.iter().find(|t| !t.contains("{label}")) {
            return Err(Error::Other(format!(
                "{origin}: prompt template {bad:?} lacks {{label}}"
            )));
        }
        Ok(Self { labels, templates })
    }

    /// The built-in vocabulary of `kind`.
    pub fn builtin(kind: HeadKind) -> Result<Self> {
        let (labels, prompts) = match kind {
            HeadKind::Instruments => (BUILTIN_INSTRUMENTS, BUILTIN_INSTRUMENT_PROMPTS),
            HeadKind::Genres => (BUILTIN_GENRES, BUILTIN_GENRE_PROMPTS),
        };
        Self::parse(labels, prompts, &format!("built-in {}", kind.name()))
    }

    /// `<dir>/<kind>.txt` (and `<dir>/prompts/<kind>.txt` if present) when `dir` has it,
    /// else the built-in vocabulary.
    pub fn load(kind: HeadKind, override_dir: Option<&Path>) -> Result<Self> {
        let builtin = Self::builtin(kind)?;
        let Some(dir) = override_dir else {
            return Ok(builtin);
        };
        let labels_path = dir.join(format!("{}.txt", kind.name()));
        if !labels_path.is_file() {
            return Ok(builtin);
        }
        let labels =
            std::fs::read_to_string(&labels_path).map_err(|e| Error::io(&labels_path, e))?;
        let prompts_path = dir.join("prompts").join(format!("{}.txt", kind.name()));
        let prompts = if prompts_path.is_file() {
            std::fs::read_to_string(&prompts_path).map_err(|e| Error::io(&prompts_path, e))?
        } else {
            builtin.templates.join("\n")
        };
        Self::parse(&labels, &prompts, &labels_path.display().to_string())
    }

    /// Every prompt of `label`.
    pub fn prompts_for<'a>(&'a self, label: &'a str) -> impl Iterator<Item = String> + 'a {
        self.templates
            .iter()
            .map(move |t| t.replace("{label}", label))
    }
}

/// A vocabulary with its label latents, ready to score audio latents.
#[derive(Clone, Debug)]
pub struct ZeroShotHead {
    kind: HeadKind,
    labels: Vec<String>,
    /// Row-major `(num_labels, dim)`, unit-norm rows.
    latents: Vec<f32>,
    dim: usize,
    temperature: f32,
}

/// `x / ||x||`; errors on a zero or non-finite vector.
fn normalized(mut v: Vec<f32>, what: &str) -> Result<Vec<f32>> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if !(norm.is_finite() && norm > 0.0) {
        return Err(Error::Other(format!(
            "{what}: the text latent is zero or not finite"
        )));
    }
    v.iter_mut().for_each(|x| *x /= norm);
    Ok(v)
}

/// `softmax(c / temperature)`, computed stably; non-finite cosines count as -inf.
pub fn calibrated_scores(cosines: &[f32], temperature: f32) -> Vec<f32> {
    let t = if temperature.is_finite() && temperature > 0.0 {
        temperature
    } else {
        DEFAULT_TEMPERATURE
    };
    let max = cosines
        .iter()
        .copied()
        .filter(|c| c.is_finite())
        .fold(f32::NEG_INFINITY, f32::max);
    if !max.is_finite() {
        return vec![0.0; cosines.len()];
    }
    let exps: Vec<f32> = cosines
        .iter()
        .map(|&c| {
            if c.is_finite() {
                ((c - max) / t).exp()
            } else {
                0.0
            }
        })
        .collect();
    let sum: f32 = exps.iter().sum();
    exps.iter().map(|e| e / sum).collect()
}

impl ZeroShotHead {
    /// Encodes every prompt with `encode` (unit-norm latents) and averages them per label.
    /// `on_label(done, total)` reports progress.
    pub fn build(
        kind: HeadKind,
        vocab: &Vocabulary,
        mut encode: impl FnMut(&str) -> Result<Vec<f32>>,
        mut on_label: impl FnMut(usize, usize),
    ) -> Result<Self> {
        let mut latents = Vec::new();
        let mut dim = 0;
        for (idx, label) in vocab.labels.iter().enumerate() {
            let mut sum: Vec<f32> = Vec::new();
            for prompt in vocab.prompts_for(label) {
                let latent = encode(&prompt)?;
                if sum.is_empty() {
                    sum = vec![0.0; latent.len()];
                }
                if latent.len() != sum.len() || latent.is_empty() {
                    return Err(Error::Other(format!(
                        "text latent of {prompt:?} has width {}",
                        latent.len()
                    )));
                }
                sum.iter_mut().zip(&latent).for_each(|(s, x)| *s += x);
            }
            let mean = normalized(sum, label)?;
            dim = mean.len();
            latents.extend(mean);
            on_label(idx + 1, vocab.labels.len());
        }
        Ok(Self {
            kind,
            labels: vocab.labels.clone(),
            latents,
            dim,
            temperature: DEFAULT_TEMPERATURE,
        })
    }

    /// Which head this is.
    pub fn kind(&self) -> HeadKind {
        self.kind
    }

    /// The labels.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// Sets the softmax temperature (ignored unless finite and > 0).
    pub fn set_temperature(&mut self, temperature: f32) {
        if temperature.is_finite() && temperature > 0.0 {
            self.temperature = temperature;
        }
    }

    /// Cosine of every label with a unit-norm audio latent (label order). Errors on a width
    /// mismatch.
    pub fn cosines(&self, audio_latent: &[f32]) -> Result<Vec<f32>> {
        if audio_latent.len() != self.dim {
            return Err(Error::Other(format!(
                "audio latent width {} does not match the {} text latents ({})",
                audio_latent.len(),
                self.kind.name(),
                self.dim
            )));
        }
        Ok(self
            .latents
            .chunks_exact(self.dim)
            .map(|t| super::dot(t, audio_latent))
            .collect())
    }

    /// The top `k` labels, best first, with calibrated scores (see the module docs).
    pub fn top_k(&self, audio_latent: &[f32], k: usize) -> Result<Vec<LabelScore>> {
        let cosines = self.cosines(audio_latent)?;
        let scores = calibrated_scores(&cosines, self.temperature);
        let mut order: Vec<usize> = (0..cosines.len()).collect();
        order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
        Ok(order
            .into_iter()
            .take(k)
            .map(|i| LabelScore {
                label: self.labels[i].clone(),
                score: scores[i],
                cosine: cosines[i],
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_vocabularies_parse_and_are_sizeable() -> Result<()> {
        let instruments = Vocabulary::builtin(HeadKind::Instruments)?;
        let genres = Vocabulary::builtin(HeadKind::Genres)?;
        assert!(
            instruments.labels.len() >= 40,
            "{}",
            instruments.labels.len()
        );
        assert!(genres.labels.len() >= 30, "{}", genres.labels.len());
        assert!(
            instruments
                .prompts_for("piano")
                .any(|p| p == "the sound of piano")
        );
        assert!(Vocabulary::parse("# only a comment\n", "{label}", "x").is_err());
        assert!(Vocabulary::parse("a\n", "no placeholder", "x").is_err());
        Ok(())
    }

    #[test]
    fn scores_are_a_softmax_and_rank_the_closest_label_first() -> Result<()> {
        let vocab = Vocabulary::parse("x\ny\nz\n", "{label}", "test")?;
        let axes = |p: &str| -> Result<Vec<f32>> {
            Ok(match p {
                "x" => vec![1.0, 0.0, 0.0],
                "y" => vec![0.0, 1.0, 0.0],
                _ => vec![0.0, 0.0, 1.0],
            })
        };
        let head = ZeroShotHead::build(HeadKind::Genres, &vocab, axes, |_, _| {})?;
        let top = head.top_k(&[0.2, 0.9, 0.1], 3)?;
        assert_eq!(top[0].label, "y");
        assert!((top.iter().map(|l| l.score).sum::<f32>() - 1.0).abs() < 1e-5);
        assert!(top[0].score > top[1].score && top[1].score > top[2].score);
        assert!((top[0].cosine - 0.9).abs() < 1e-6);
        assert!(head.top_k(&[1.0, 0.0], 1).is_err());
        let nan = calibrated_scores(&[f32::NAN, 0.1], 0.03);
        assert_eq!(nan, vec![0.0, 1.0]);
        Ok(())
    }

    #[test]
    fn a_user_folder_overrides_the_builtin_labels() -> Result<()> {
        let dir = std::env::temp_dir().join(format!("muq-vocab-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let path = dir.join("genres.txt");
        std::fs::write(&path, "polka\nzydeco\n").map_err(|e| Error::io(&path, e))?;
        let genres = Vocabulary::load(HeadKind::Genres, Some(&dir))?;
        let instruments = Vocabulary::load(HeadKind::Instruments, Some(&dir))?;
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(genres.labels, vec!["polka", "zydeco"]);
        assert_eq!(instruments, Vocabulary::builtin(HeadKind::Instruments)?);
        Ok(())
    }
}
