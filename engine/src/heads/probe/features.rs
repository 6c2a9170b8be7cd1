//! Pooled MuQ features of audio files, cached on disk.
//!
//! A file's feature vector is the mean (or mean ‖ max) over time of one hidden state. Long
//! files are encoded in consecutive windows on the token grid and the states concatenated in
//! time before pooling. The cache key covers the file (canonical path, size, mtime), the model
//! identity, the layer and the pooling, so a stale entry is never read.

use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::Pooling;
use super::labels::LabelledFile;
use crate::audio::load_mono_24k;
use crate::error::{Error, Result};
use crate::models::muq::Muq;

/// Longest window encoded in one forward call.
const WINDOW_S: usize = 30;
/// File-name suffix of cache entries (raw little-endian f32).
const CACHE_EXT: &str = "f32";

/// What a head was trained on: a hash of the model's `config.json` and its dimensions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelIdentity {
    /// FNV-1a 64 of the bytes of `config.json`, in hex.
    pub config_hash: String,
    /// Hidden size D.
    pub encoder_dim: usize,
    /// Number of conformer layers (hidden states 0..=depth).
    pub encoder_depth: usize,
}

impl ModelIdentity {
    /// Identity of the MuQ model folder `dir` (reads `dir/config.json`).
    pub fn of_dir(dir: &Path, model: &Muq) -> Result<Self> {
        let path = dir.join("config.json");
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        Ok(Self {
            config_hash: format!("{:016x}", fnv1a(&bytes)),
            encoder_dim: model.config().encoder_dim,
            encoder_depth: model.config().encoder_depth,
        })
    }
}

/// FNV-1a 64-bit hash (stable across runs and platforms).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

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
        let states = Tensor::cat(&states, 0)?.to_device(&Device::Cpu)?;
        let mut pooled = states.mean(0)?.to_vec1::<f32>()?;
        if self.pooling == Pooling::Meanmax {
            pooled.extend(states.max(0)?.to_vec1::<f32>()?);
        }
        Ok(pooled)
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
