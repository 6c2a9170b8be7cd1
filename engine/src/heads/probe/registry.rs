//! Finding the heads in a folder (each sub-folder holding `head.json`), for loading them next
//! to a model: every head is loaded and checked on its own, so one bad head does not hide the
//! others.

use std::path::{Path, PathBuf};

use super::features::ModelIdentity;
use super::head::{META_FILE, ProbeHead};
use crate::error::{Error, Result};

/// Every head folder directly inside `dir` (sorted), each loaded and checked against `model`
/// at the head's own layer. A missing `dir` gives no heads; an unreadable one is an error.
pub fn load_heads_in(
    dir: &Path,
    model: &ModelIdentity,
) -> Result<Vec<(PathBuf, Result<ProbeHead>)>> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut folders: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join(META_FILE).is_file())
        .collect();
    folders.sort();
    Ok(folders
        .into_iter()
        .map(|folder| {
            let head = ProbeHead::load(&folder).and_then(|head| {
                head.ensure_compatible(model, head.meta.layer)?;
                Ok(head)
            });
            let head = head.map_err(|e| Error::Probe(format!("{}: {e}", folder.display())));
            (folder, head)
        })
        .collect())
}
