//! Finding a downloaded model in the Hugging Face hub cache
//! (`<cache>/models--{org}--{name}/refs/main` → `snapshots/<rev>/`), or a `MUQ_MODEL_DIR` override.

use std::path::{Path, PathBuf};

/// Environment variable naming a model folder (one containing `config.json`) to use directly.
pub const MODEL_DIR_ENV: &str = "MUQ_MODEL_DIR";

/// The hub cache folders to search, in order: `$HF_HOME/hub`, `$HF_HUB_CACHE`,
/// `~/.cache/huggingface/hub`.
pub fn hub_cache_roots() -> Vec<PathBuf> {
    let mut roots = Vec::new();
    if let Some(home) = std::env::var_os("HF_HOME").filter(|v| !v.is_empty()) {
        roots.push(PathBuf::from(home).join("hub"));
    }
    if let Some(cache) = std::env::var_os("HF_HUB_CACHE").filter(|v| !v.is_empty()) {
        roots.push(PathBuf::from(cache));
    }
    if let Some(home) = std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        roots.push(
            PathBuf::from(home)
                .join(".cache")
                .join("huggingface")
                .join("hub"),
        );
    }
    roots
}

/// The local folder of `repo_id` (e.g. `"OpenMuQ/MuQ-large-msd-iter"`): `$MUQ_MODEL_DIR` if it
/// holds a `config.json`, else the first hit in [`hub_cache_roots`]. `None` if not downloaded.
pub fn find_model_dir(repo_id: &str) -> Option<PathBuf> {
    let override_dir = std::env::var_os(MODEL_DIR_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    find_model_dir_in(repo_id, override_dir.as_deref(), &hub_cache_roots())
}

/// [`find_model_dir`] with explicit inputs (for tests and callers with their own settings).
/// Within a cache root, the snapshot named by `refs/main` wins; otherwise the most recently
/// modified snapshot with a `config.json`.
pub fn find_model_dir_in(
    repo_id: &str,
    override_dir: Option<&Path>,
    roots: &[PathBuf],
) -> Option<PathBuf> {
    if let Some(dir) = override_dir
        && dir.join("config.json").is_file()
    {
        return Some(dir.to_path_buf());
    }
    let (org, name) = repo_id.split_once('/')?;
    let is_plain = |s: &str| {
        !s.is_empty() && s != "." && s != ".." && !s.contains(['/', '\\']) && !s.contains("..")
    };
    if !is_plain(org) || !is_plain(name) {
        return None;
    }
    let folder = format!("models--{org}--{name}");
    roots
        .iter()
        .find_map(|root| snapshot_in(&root.join(&folder)))
}

fn snapshot_in(repo_dir: &Path) -> Option<PathBuf> {
    let snapshots = repo_dir.join("snapshots");
    if let Ok(rev) = std::fs::read_to_string(repo_dir.join("refs").join("main")) {
        let rev = rev.trim();
        let is_rev = !rev.is_empty() && rev.chars().all(|c| c.is_ascii_alphanumeric());
        if is_rev && snapshots.join(rev).join("config.json").is_file() {
            return Some(snapshots.join(rev));
        }
    }
    let mut newest: Option<(std::time::SystemTime, PathBuf)> = None;
    for entry in std::fs::read_dir(&snapshots).ok()?.flatten() {
        let dir = entry.path();
        if !dir.join("config.json").is_file() {
            continue;
        }
        let modified = entry
            .metadata()
            .and_then(|m| m.modified())
            .unwrap_or(std::time::UNIX_EPOCH);
        if newest.as_ref().is_none_or(|(t, _)| modified > *t) {
            newest = Some((modified, dir));
        }
    }
    newest.map(|(_, dir)| dir)
}
