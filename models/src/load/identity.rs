//! Which model a derived artefact (a probe head, cached features) belongs to: a hash of the
//! model's `config.json` and its dimensions.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::models::muq::Muq;

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
