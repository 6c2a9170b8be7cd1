//! Sliding-window MuQ with a cache of conv-stem outputs (see `shared/docs/muq-reference.md` §7).
//!
//! A window is always computed *as a whole call on the window's samples would compute it*:
//! the mel of the window (reflect padding at its own edges), the conv stem with zero padding at
//! its own edges, and the conformer with positions restarting at 0. What makes it cheaper is
//! that windows start on the token grid (multiples of `samples_per_token`, 960 samples at
//! 25 tokens/s), so a token whose receptive field lies inside the window's interior has the same
//! conv-stem output in every window that contains it. Those outputs are cached by global token
//! index; each hop only runs the stem over the new tokens (plus a margin) and re-computes the few
//! tokens at each window edge whose receptive field reaches the window's padding.

use candle_core::{Result as CResult, Tensor};

use super::{Muq, MuqOutput};
use crate::{Error, Result};

/// Tokens at each window edge that are always recomputed with the window's own padding.
/// A token's stem receptive field spans ±9 mel frames (±2.25 tokens) and the reflect padding
/// reaches 4.3 frames into the window, so 5 tokens are affected at most; 6 leaves slack.
pub const EDGE_TOKENS: usize = 6;
/// Extra tokens run on each side of a stem sub-range (shared with the chunked stem).
pub use super::conv_stem::MARGIN_TOKENS;

/// Cached conv-stem outputs for a contiguous run of global token indices.
#[derive(Debug, Default)]
struct StemCache {
    /// Global index of the first cached token.
    first_idx: u64,
    /// Row-major (num_tokens, D) conv-stem outputs.
    rows: Vec<f32>,
    dim: usize,
}

impl StemCache {
    fn len(&self) -> u64 {
        if self.dim == 0 {
            0
        } else {
            (self.rows.len() / self.dim) as u64
        }
    }

    fn end_idx(&self) -> u64 {
        self.first_idx + self.len()
    }

    /// Drops tokens before `idx` (they can no longer be interior to a future window).
    fn evict_before(&mut self, idx: u64) {
        if idx <= self.first_idx {
            return;
        }
        let n = (idx - self.first_idx).min(self.len()) as usize;
        self.rows.drain(..n * self.dim);
        self.first_idx += n as u64;
        if self.len() == 0 {
            self.first_idx = idx;
        }
    }

    fn clear_to(&mut self, idx: u64) {
        self.rows.clear();
        self.first_idx = idx;
    }
}

/// Figures of the last window, for benchmarks and the live snapshot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WindowStats {
    /// Tokens whose stem output came from the cache.
    pub num_cached_tokens: usize,
    /// Tokens the stem actually ran over (kept outputs plus margins).
    pub num_stem_tokens: usize,
}

/// A sliding-window encoder over a stream of 24 kHz samples.
pub struct StreamingMuq {
    model: Muq,
    cache: StemCache,
    last_stats: WindowStats,
}

impl StreamingMuq {
    /// Wraps a model; the cache starts empty.
    pub fn new(model: Muq) -> Self {
        Self {
            model,
            cache: StemCache::default(),
            last_stats: WindowStats::default(),
        }
    }

    /// Makes forward passes stop between conformer layers once `stop` is set.
    pub fn set_stop_flag(&mut self, stop: std::sync::Arc<std::sync::atomic::AtomicBool>) {
        self.model.set_stop_flag(stop);
    }

    /// The wrapped model.
    pub fn model(&self) -> &Muq {
        &self.model
    }

    /// Samples per token: window starts and lengths must be multiples of this.
    pub fn samples_per_token(&self) -> usize {
        self.model.config().samples_per_token()
    }

    /// Figures of the last [`StreamingMuq::forward_window`] call.
    pub fn last_stats(&self) -> WindowStats {
        self.last_stats
    }

    /// Forgets the cache (e.g. after a discontinuity in the stream).
    pub fn reset(&mut self) {
        self.cache.clear_to(0);
        self.cache.dim = 0;
    }

    /// Encodes `window` (24 kHz samples) that starts at stream sample `start_sample`.
    /// Both `start_sample` and `window.len()` must be multiples of [`Self::samples_per_token`].
    /// The result equals `Muq::forward` on the same samples within float32 noise.
    pub fn forward_window(&mut self, window: &[f32], start_sample: u64) -> Result<MuqOutput> {
        let spt = self.samples_per_token();
        if start_sample % spt as u64 != 0 || window.len() % spt != 0 || window.is_empty() {
            return Err(Error::Other(format!(
                "streaming windows must start and end on the {spt}-sample token grid (start {start_sample}, length {})",
                window.len()
            )));
        }
        if window.iter().any(|x| !x.is_finite()) {
            return Err(Error::Audio(
                "non-finite samples in the window (replace them before the model)".into(),
            ));
        }
        let mel = self.model.mel_norm(window)?; // (1, n_mels, F)
        let conv_out = self.conv_out_cached(&mel, start_sample / spt as u64)?;
        let out = self.model.conformer().forward_debug(&conv_out, false)?;
        Ok(MuqOutput {
            hidden_states: out.hidden_states,
        })
    }

    /// Conv-stem output of a window, from the cache where exact.
    fn conv_out_cached(&mut self, mel: &Tensor, first_token_idx: u64) -> CResult<Tensor> {
        let frames_per_token = self.model.config().n_fold();
        let num_frames = mel.dim(2)?;
        let num_tokens = self.model.config().num_tokens(num_frames);
        let stem = self.model.conv();
        if num_tokens <= 2 * (EDGE_TOKENS + MARGIN_TOKENS) {
            self.last_stats = WindowStats {
                num_cached_tokens: 0,
                num_stem_tokens: num_tokens,
            };
            return stem.forward(mel);
        }
        let run = |tok_from: usize, tok_to: usize| -> CResult<Tensor> {
            let f0 = tok_from * frames_per_token;
            let f1 = (tok_to * frames_per_token).min(num_frames);
            stem.forward(&mel.narrow(2, f0, f1 - f0)?)
        };
        let span = EDGE_TOKENS + MARGIN_TOKENS;
        let left = run(0, span)?.narrow(1, 0, EDGE_TOKENS)?;
        let right_all = run(num_tokens - span, num_tokens)?;
        let right = right_all.narrow(1, right_all.dim(1)? - EDGE_TOKENS, EDGE_TOKENS)?;

        // Interior tokens [EDGE, T - EDGE) in global indices.
        let g_lo = first_token_idx + EDGE_TOKENS as u64;
        let g_hi = first_token_idx + (num_tokens - EDGE_TOKENS) as u64;
        let dim = left.dim(2)?;
        if self.cache.dim != dim || self.cache.end_idx() < g_lo || self.cache.first_idx > g_lo {
            self.cache.dim = dim;
            self.cache.clear_to(g_lo);
        }
        self.cache.evict_before(g_lo);
        let mut num_stem_tokens = 2 * span;
        let mut num_fresh = 0;
        if self.cache.end_idx() < g_hi {
            let j_from = (self.cache.end_idx() - first_token_idx) as usize;
            let j_to = num_tokens - EDGE_TOKENS;
            let fresh = run(j_from - MARGIN_TOKENS, j_to + MARGIN_TOKENS)?;
            let fresh = fresh.narrow(1, MARGIN_TOKENS, j_to - j_from)?;
            self.cache
                .rows
                .extend(fresh.flatten_all()?.to_vec1::<f32>()?);
            num_stem_tokens += j_to - j_from + 2 * MARGIN_TOKENS;
            num_fresh = j_to - j_from;
        }
        let n_interior = (g_hi - g_lo) as usize;
        let interior = Tensor::from_slice(
            &self.cache.rows[..n_interior * dim],
            (1, n_interior, dim),
            mel.device(),
        )?;
        self.last_stats = WindowStats {
            num_cached_tokens: n_interior - num_fresh,
            num_stem_tokens,
        };
        Tensor::cat(&[&left, &interior, &right], 1)
    }
}
