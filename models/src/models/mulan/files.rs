//! Which files make up a MuQ-MuLan model and where they are looked up.
//!
//! A model folder holds `config.json` and `model.safetensors` or `pytorch_model.bin` (the
//! released repo ships only the `.bin`). The inner models' configs and the tokenizer are taken,
//! in order, from the folder itself (`tokenizer.json`), a sub-folder named after the inner model
//! (`<dir>/<name>/…`, also the last path segment of `name`), the Hugging Face cache, and for the
//! configs finally the built-in values of the released models.

use std::path::{Path, PathBuf};

use candle_nn::VarBuilder;

use super::config::MulanConfig;
use super::hub;
use crate::{Error, Result};

/// Located files of one MuQ-MuLan model.
#[derive(Debug, Clone)]
pub struct MulanFiles {
    /// The MuQ-MuLan `config.json`.
    pub config: PathBuf,
    /// `model.safetensors` or `pytorch_model.bin` (all weights, inner models included).
    pub weights: PathBuf,
    /// The inner MuQ's `config.json`; `None` = built-in MuQ-large-msd-iter values.
    pub muq_config: Option<PathBuf>,
    /// The XLM-R `config.json`; `None` = built-in xlm-roberta-base values.
    pub xlmr_config: Option<PathBuf>,
    /// XLM-R's `tokenizer.json`.
    pub tokenizer: PathBuf,
}

impl MulanFiles {
    /// Locates the files for the model folder `dir`, searching the default hub cache folders.
    pub fn locate(dir: &Path) -> Result<Self> {
        let mut caches = Vec::new();
        // A snapshot folder `<root>/models--Org--Name/snapshots/<rev>`: search its own cache first.
        let snapshots = dir
            .parent()
            .filter(|p| p.file_name().is_some_and(|n| n == "snapshots"));
        let repo = snapshots.and_then(Path::parent);
        if let Some(root) = repo
            .filter(|r| {
                r.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("models--"))
            })
            .and_then(Path::parent)
        {
            caches.push(root.to_path_buf());
        }
        caches.push(hub::default_cache_dir());
        caches.extend(crate::load::hub_cache_roots());
        Self::locate_with_caches(dir, &caches)
    }

    /// Like [`Self::locate`] with explicit hub cache folders (searched in order).
    pub fn locate_with_caches(dir: &Path, caches: &[PathBuf]) -> Result<Self> {
        if !dir.is_dir() {
            return Err(Error::io(
                dir,
                std::io::Error::new(std::io::ErrorKind::NotFound, "model folder not found"),
            ));
        }
        let config = dir.join("config.json");
        if !config.is_file() {
            return Err(Error::Config {
                path: config,
                msg: "no config.json in the model folder".into(),
            });
        }
        let cfg = MulanConfig::from_file(&config)?;
        let weights = ["model.safetensors", "pytorch_model.bin"]
            .iter()
            .map(|f| dir.join(f))
            .find(|p| p.is_file())
            .ok_or_else(|| Error::Checkpoint {
                path: dir.to_path_buf(),
                msg: "neither model.safetensors nor pytorch_model.bin found (run `muq fetch`)"
                    .into(),
            })?;
        let muq_config = find_related(dir, caches, &cfg.audio_model.name, "config.json");
        if muq_config.is_none() && cfg.audio_model.name != hub::MUQ_REPO {
            return Err(Error::Config {
                path: config,
                msg: format!(
                    "config.json of audio model {:?} not found (no built-in values for it)",
                    cfg.audio_model.name
                ),
            });
        }
        let xlmr_config = find_related(dir, caches, &cfg.text_model.name, "config.json");
        if xlmr_config.is_none() && cfg.text_model.name != hub::XLMR_REPO {
            return Err(Error::Config {
                path: config,
                msg: format!(
                    "config.json of text model {:?} not found (no built-in values for it)",
                    cfg.text_model.name
                ),
            });
        }
        let tokenizer = Some(dir.join("tokenizer.json"))
            .filter(|p| p.is_file())
            .or_else(|| find_related(dir, caches, &cfg.text_model.name, "tokenizer.json"))
            .ok_or_else(|| Error::Config {
                path: dir.join("tokenizer.json"),
                msg: format!(
                    "tokenizer.json of {:?} not found in the model folder, a sub-folder named after it, \
                     or the Hugging Face cache {:?} (run `muq fetch`)",
                    cfg.text_model.name,
                    caches
                ),
            })?;
        Ok(Self {
            config,
            weights,
            muq_config,
            xlmr_config,
            tokenizer,
        })
    }
}

/// `<dir>/<name>/<file>`, `<dir>/<last segment of name>/<file>`, then the hub cache.
fn find_related(dir: &Path, caches: &[PathBuf], name: &str, file: &str) -> Option<PathBuf> {
    let last = name.rsplit('/').next().unwrap_or(name);
    [dir.join(name).join(file), dir.join(last).join(file)]
        .into_iter()
        .find(|p| p.is_file())
        .or_else(|| caches.iter().find_map(|c| hub::cached_file(c, name, file)))
}

/// Errors clearly when the checkpoint lacks the audio or the text tower.
pub fn check_towers(vb: &VarBuilder, path: &Path) -> Result<()> {
    let probes = [
        (
            "audio tower (MuQ)",
            "mulan.audio.model.model.conv.linear.weight",
        ),
        ("audio projection", "mulan.audio_to_latents.weight"),
        (
            "text tower (XLM-R)",
            "mulan.text.model.embeddings.word_embeddings.weight",
        ),
        ("text projection", "mulan.text_to_latents.weight"),
    ];
    let missing: Vec<&str> = probes
        .iter()
        .filter(|(_, key)| !vb.contains_tensor(key))
        .map(|(what, _)| *what)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let hint = if vb.contains_tensor("model.conv.linear.weight") {
        " (this looks like a MuQ-only checkpoint; MuQ-MuLan-large's pytorch_model.bin is needed)"
    } else {
        ""
    };
    Err(Error::Checkpoint {
        path: path.to_path_buf(),
        msg: format!(
            "not a complete MuQ-MuLan checkpoint: missing the {}{hint}",
            missing.join(", the ")
        ),
    })
}

/// The model folder used when none is given: `$MUQ_MODEL_DIR`, else `OpenMuQ/MuQ-MuLan-large`
/// in the hub cache (as `muq fetch` leaves it).
pub fn default_model_dir() -> Option<PathBuf> {
    crate::load::find_model_dir(hub::MULAN_REPO)
        .or_else(|| hub::snapshot_dir(&hub::default_cache_dir(), hub::MULAN_REPO))
}
