//! Free-text queries: cosine similarity of each analysed window's audio latent with each
//! query's text latent, plus a ring of the last values for plotting. Any number of queries.
//! Runs on the inference thread; [`TextQueries::fill`] copies into the snapshot.

use std::collections::VecDeque;

use crate::{Error, Result};

/// One free-text query and its similarity over time.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QueryReadout {
    /// The query text.
    pub text: String,
    /// Cosine similarity of the newest analysed window (-1..1; 0 before the first window).
    pub similarity: f32,
    /// The last values, oldest first (at most [`DEFAULT_HISTORY_LEN`]
    /// unless configured otherwise).
    pub history: Vec<f32>,
    /// True when the text was longer than the model's positions and was cut.
    pub truncated: bool,
}

/// Values kept per query by default (at a 2 s hop: the last 4 minutes).
pub const DEFAULT_HISTORY_LEN: usize = 120;

/// One query with its latent and history.
#[derive(Clone, Debug)]
struct Query {
    text: String,
    latent: Vec<f32>,
    truncated: bool,
    history: VecDeque<f32>,
}

/// The current set of queries.
#[derive(Clone, Debug)]
pub struct TextQueries {
    queries: Vec<Query>,
    history_len: usize,
}

impl Default for TextQueries {
    fn default() -> Self {
        Self::new(DEFAULT_HISTORY_LEN)
    }
}

impl TextQueries {
    /// No queries; histories keep `history_len` values (at least 1).
    pub fn new(history_len: usize) -> Self {
        Self {
            queries: Vec::new(),
            history_len: history_len.max(1),
        }
    }

    /// Replaces the queries. `encode` gives each text's unit-norm latent and whether it was cut.
    /// Blank texts are skipped; a query whose text is unchanged keeps its history.
    pub fn set(
        &mut self,
        texts: &[String],
        mut encode: impl FnMut(&str) -> Result<(Vec<f32>, bool)>,
    ) -> Result<()> {
        let mut next = Vec::with_capacity(texts.len());
        for text in texts.iter().map(|t| t.trim()).filter(|t| !t.is_empty()) {
            if let Some(old) = self.queries.iter().find(|q| q.text == text) {
                next.push(old.clone());
                continue;
            }
            let (latent, truncated) = encode(text)?;
            if latent.is_empty() || latent.iter().any(|x| !x.is_finite()) {
                return Err(Error::Other(format!(
                    "text latent of query {text:?} is empty or not finite"
                )));
            }
            next.push(Query {
                text: text.to_string(),
                latent,
                truncated,
                history: VecDeque::new(),
            });
        }
        self.queries = next;
        Ok(())
    }

    /// Number of queries.
    pub fn len(&self) -> usize {
        self.queries.len()
    }

    /// True without queries.
    pub fn is_empty(&self) -> bool {
        self.queries.is_empty()
    }

    /// Scores one window's unit-norm audio latent against every query and appends to the
    /// histories. Errors on a width mismatch or a non-finite result (nothing is appended then).
    pub fn score(&mut self, audio_latent: &[f32]) -> Result<()> {
        let mut values = Vec::with_capacity(self.queries.len());
        for q in &self.queries {
            if q.latent.len() != audio_latent.len() {
                return Err(Error::Other(format!(
                    "audio latent width {} does not match the query latent width {}",
                    audio_latent.len(),
                    q.latent.len()
                )));
            }
            let value = super::dot(&q.latent, audio_latent);
            if !value.is_finite() {
                return Err(Error::Other(format!(
                    "similarity with {:?} is not finite",
                    q.text
                )));
            }
            values.push(value);
        }
        for (q, value) in self.queries.iter_mut().zip(values) {
            if q.history.len() == self.history_len {
                q.history.pop_front();
            }
            q.history.push_back(value);
        }
        Ok(())
    }

    /// Writes the readouts into `out`, reusing its allocations.
    pub fn fill(&self, out: &mut Vec<QueryReadout>) {
        out.resize_with(self.queries.len(), QueryReadout::default);
        for (q, r) in self.queries.iter().zip(out.iter_mut()) {
            r.text.clone_from(&q.text);
            r.similarity = q.history.back().copied().unwrap_or(0.0);
            r.history.clear();
            r.history.extend(q.history.iter().copied());
            r.truncated = q.truncated;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(text: &str) -> Result<(Vec<f32>, bool)> {
        Ok(if text.contains("piano") {
            (vec![1.0, 0.0], false)
        } else {
            (vec![0.0, 1.0], true)
        })
    }

    #[test]
    fn history_is_a_bounded_ring_and_survives_unchanged_queries() -> Result<()> {
        let mut queries = TextQueries::new(3);
        queries.set(&["solo piano".into(), " ".into(), "drums".into()], encode)?;
        assert_eq!(queries.len(), 2);
        for step in 0..5 {
            queries.score(&[step as f32 / 10.0, 1.0])?;
        }
        let mut out = Vec::new();
        queries.fill(&mut out);
        assert_eq!(out[0].history, vec![0.2, 0.3, 0.4]);
        assert_eq!(out[0].similarity, 0.4);
        assert_eq!(out[1].history, vec![1.0, 1.0, 1.0]);
        assert!(out[1].truncated);
        queries.set(&["drums".into()], |_| {
            Err(Error::Other("must not re-encode".into()))
        })?;
        queries.fill(&mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].history.len(), 3);
        assert!(queries.score(&[1.0, 0.0, 0.0]).is_err());
        Ok(())
    }
}
