//! Pooled MuQ features of audio files, cached on disk.
//!
//! A file's feature vector is the mean (or mean ‖ max) over time of one hidden state. Long
//! files are encoded in consecutive windows on the token grid and the states concatenated in
//! time before pooling. The cache key covers the file (canonical path, size, mtime), the model
//! identity, the layer and the pooling, so a stale entry is never read.

use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};

use super::Pooling;
use super::labels::LabelledFile;
use crate::audio::load_mono_24k;
use crate::error::{Error, Result};
pub use crate::load::identity::{ModelIdentity, fnv1a};
use crate::models::muq::Muq;

/// Longest window encoded in one forward call.
const WINDOW_S: usize = 30;
/// File-name suffix of cache entries (raw little-endian f32).
const CACHE_EXT: &str = "f32";

/// Computes (and caches) pooled features with one model, layer and pooling.
pub struct FeatureExtractor<'a> {
    model: &'a Muq,
    identity: ModelIdentity,
    layer_idx: usize,
    pooling: Pooling,
    cache_dir: Option<PathBuf>,
}

impl<'a> FeatureExtractor<'a> {
    /// Errors if `layer_idx` is not a hidden state of the model (0..=depth).
    pub fn new(
        model: &'a Muq,
        identity: ModelIdentity,
        layer_idx: usize,
        pooling: Pooling,
        cache_dir: Option<PathBuf>,
    ) -> Result<Self> {
        if layer_idx > identity.encoder_depth {
            return Err(Error::Probe(format!(
                "layer {layer_idx}: the model has hidden states 0..={}",
                identity.encoder_depth
            )));
        }
        Ok(Self {
            model,
            identity,
            layer_idx,
            pooling,
            cache_dir,
        })
    }

    /// Length of one pooled feature vector.
    pub fn num_features(&self) -> usize {
        self.pooling.num_features(self.identity.encoder_dim)
    }

    /// Pooled features of the audio file at `path`, from the cache when present.
    pub fn features_of_file(&self, path: &Path) -> Result<Vec<f32>> {
        let cache_path = self.cache_path(path)?;
        if let Some(cache_path) = &cache_path
            && let Some(cached) = read_cache(cache_path, self.num_features())
        {
            return Ok(cached);
        }
        let audio = load_mono_24k(path)?;
        let features = self
            .features_of_samples(&audio.samples)
            .map_err(|e| Error::Probe(format!("{}: {e}", path.display())))?;
        if let Some(cache_path) = &cache_path {
            write_cache(cache_path, &features)?;
        }
        Ok(features)
    }

    /// Pooled features of 24 kHz mono samples.
    pub fn features_of_samples(&self, samples: &[f32]) -> Result<Vec<f32>> {
        let spt = self.model.config().samples_per_token();
        let window_len = (WINDOW_S * 24_000 / spt).max(1) * spt;
        let mut states = Vec::new();
        for chunk in samples.chunks(window_len) {
            if chunk.len() < 2 * spt {
                continue;
            }
            let wav = Tensor::from_slice(chunk, (1, chunk.len()), &Device::Cpu)?
                .to_device(self.model.device())?;
            let out = self.model.forward(&wav)?;
            let state = out.hidden_states.get(self.layer_idx).ok_or_else(|| {
                Error::Probe(format!(
                    "the model returned no hidden state {}",
                    self.layer_idx
                ))
            })?;
            states.push(state.squeeze(0)?);
        }
        if states.is_empty() {
            return Err(Error::Probe(format!(
                "audio too short for MuQ ({} samples at 24 kHz; at least {} needed)",
                samples.len(),
                2 * spt
            )));
        }
        let states = Tensor::cat(&states, 0)?;
        Ok(PooledState::of(&states)?.features(self.pooling))
    }

    /// Pooled features of each window of a file (see [`window_spans`]), from the cache when
    /// present: one example per window, for `--unit window`.
    pub fn window_features_of_file(
        &self,
        path: &Path,
        window_samples: usize,
    ) -> Result<Vec<Vec<f32>>> {
        let cache_path = self
            .cache_path(path)?
            .map(|p| p.with_extension(format!("w{window_samples}.{CACHE_EXT}")));
        let num_features = self.num_features();
        if let Some(cache_path) = &cache_path
            && let Some(cached) = read_cache_rows(cache_path, num_features)
        {
            return Ok(cached);
        }
        let audio = load_mono_24k(path)?;
        let spt = self.model.config().samples_per_token();
        let spans = window_spans(audio.samples.len(), window_samples, spt);
        if spans.is_empty() {
            return Err(Error::Probe(format!(
                "{}: audio too short for MuQ ({} samples at 24 kHz; at least {} needed)",
                path.display(),
                audio.samples.len(),
                2 * spt
            )));
        }
        let mut rows = Vec::with_capacity(spans.len());
        for (start, len) in spans {
            let row = self
                .features_of_samples(&audio.samples[start..start + len])
                .map_err(|e| Error::Probe(format!("{}: {e}", path.display())))?;
            rows.push(row);
        }
        if let Some(cache_path) = &cache_path {
            write_cache(cache_path, &rows.concat())?;
        }
        Ok(rows)
    }

    /// Features of every row of a labels file, paths taken relative to `audio_root` unless
    /// absolute; `on_file` is called after each file (for progress).
    pub fn features_of_rows(
        &self,
        rows: &[LabelledFile],
        audio_root: &Path,
        mut on_file: impl FnMut(usize),
    ) -> Result<Vec<Vec<f32>>> {
        let mut out = Vec::with_capacity(rows.len());
        for (idx, row) in rows.iter().enumerate() {
            out.push(self.features_of_file(&audio_root.join(&row.file))?);
            on_file(idx);
        }
        Ok(out)
    }

    fn cache_path(&self, path: &Path) -> Result<Option<PathBuf>> {
        let Some(dir) = &self.cache_dir else {
            return Ok(None);
        };
        let canonical = path.canonicalize().map_err(|e| Error::io(path, e))?;
        let meta = std::fs::metadata(&canonical).map_err(|e| Error::io(path, e))?;
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        let key = format!(
            "{}|{}|{}|{}|{}|{}|{}|{}",
            canonical.display(),
            meta.len(),
            mtime_ns,
            self.identity.config_hash,
            self.identity.encoder_dim,
            self.identity.encoder_depth,
            self.layer_idx,
            self.pooling.name()
        );
        Ok(Some(dir.join(format!(
            "{:016x}.{CACHE_EXT}",
            fnv1a(key.as_bytes())
        ))))
    }
}

/// Time-mean and time-max of one hidden state: the two poolings a head may use.
#[derive(Debug, Clone, PartialEq)]
pub struct PooledState {
    /// Mean over tokens (D values).
    pub mean: Vec<f32>,
    /// Max over tokens (D values).
    pub max: Vec<f32>,
}

impl PooledState {
    /// Pools a hidden state `(T, D)` or `(1, T, D)` over time (on the CPU).
    pub fn of(state: &Tensor) -> Result<Self> {
        let state = match state.rank() {
            3 => state.squeeze(0)?,
            2 => state.clone(),
            rank => {
                return Err(Error::Probe(format!(
                    "hidden state of rank {rank}, expected (T, D) or (1, T, D)"
                )));
            }
        };
        let state = state.to_device(&Device::Cpu)?;
        Ok(Self {
            mean: state.mean(0)?.to_vec1::<f32>()?,
            max: state.max(0)?.to_vec1::<f32>()?,
        })
    }

    /// The feature vector of `pooling`: the mean, or mean ‖ max.
    pub fn features(&self, pooling: Pooling) -> Vec<f32> {
        match pooling {
            Pooling::Mean => self.mean.clone(),
            Pooling::Meanmax => [self.mean.as_slice(), self.max.as_slice()].concat(),
        }
    }
}

/// `(start, len)` of the consecutive, non-overlapping windows of `window_samples` (rounded
/// down to the token grid) in audio of `num_samples`; audio shorter than one window gives one
/// span of its token-grid length; nothing when that is under two tokens.
pub fn window_spans(
    num_samples: usize,
    window_samples: usize,
    samples_per_token: usize,
) -> Vec<(usize, usize)> {
    let spt = samples_per_token.max(1);
    let window = (window_samples / spt).max(2) * spt;
    if num_samples < window {
        let len = num_samples / spt * spt;
        return if len >= 2 * spt {
            vec![(0, len)]
        } else {
            Vec::new()
        };
    }
    (0..num_samples / window)
        .map(|i| (i * window, window))
        .collect()
}

/// Rows of `num_features` finite values (at least one row), or `None` (missing or corrupt).
fn read_cache_rows(path: &Path, num_features: usize) -> Option<Vec<Vec<f32>>> {
    let bytes = std::fs::read(path).ok()?;
    let row_bytes = num_features * 4;
    if row_bytes == 0 || bytes.is_empty() || bytes.len() % row_bytes != 0 {
        return None;
    }
    let values: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    if !values.iter().all(|v| v.is_finite()) {
        return None;
    }
    Some(values.chunks(num_features).map(<[f32]>::to_vec).collect())
}

/// A cache entry of exactly `num_features` finite values, or `None` (missing or corrupt).
fn read_cache(path: &Path, num_features: usize) -> Option<Vec<f32>> {
    let bytes = std::fs::read(path).ok()?;
    if bytes.len() != num_features * 4 {
        return None;
    }
    let values: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    values.iter().all(|v| v.is_finite()).then_some(values)
}

fn write_cache(path: &Path, values: &[f32]) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(path, bytes).map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_tile_the_audio_on_the_token_grid() {
        assert_eq!(
            window_spans(100_000, 48_000, 960),
            vec![(0, 48_000), (48_000, 48_000)]
        );
        // Shorter than a window: one span of its token-grid length; too short: none.
        assert_eq!(window_spans(30_000, 48_000, 960), vec![(0, 29_760)]);
        assert!(window_spans(1_000, 48_000, 960).is_empty());
        // A window that is not on the grid is rounded down to it.
        assert_eq!(
            window_spans(5_000, 2_000, 960),
            vec![(0, 1_920), (1_920, 1_920)]
        );
    }
}
