//! The Hugging Face hub cache, the one resolver of the project: where the cache is, and finding
//! a repository's files in it (`<root>/models--{org}--{name}/refs/main` → `snapshots/<rev>/`).
//! The model download writes where [`default_cache_dir`] says; every lookup searches
//! [`hub_cache_roots`], which starts with the same folder. Plus the `MUQ_MODEL_DIR` override.

use std::path::{Path, PathBuf};

/// Environment variable naming a model folder (one containing `config.json`) to use directly.
pub const MODEL_DIR_ENV: &str = "MUQ_MODEL_DIR";

/// Repositories the hub renamed, with the name they now have (caches may hold either).
const RENAMED_REPOS: [(&str, &str); 1] = [("xlm-roberta-base", "FacebookAI/xlm-roberta-base")];

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

fn home_cache() -> Option<PathBuf> {
    env_path("HOME")
        .or_else(|| env_path("USERPROFILE"))
        .map(|home| home.join(".cache").join("huggingface").join("hub"))
}

/// Where hub clients keep the cache, in `huggingface_hub`'s own order: `$HF_HUB_CACHE`, else
/// `$HF_HOME/hub`, else `~/.cache/huggingface/hub` (`%USERPROFILE%` on Windows).
pub fn default_cache_dir() -> PathBuf {
    env_path("HF_HUB_CACHE")
        .or_else(|| env_path("HF_HOME").map(|home| home.join("hub")))
        .or_else(home_cache)
        .unwrap_or_else(|| PathBuf::from(".cache").join("huggingface").join("hub"))
}

/// The cache folders searched, in order: [`default_cache_dir`], then the other places a cache
/// may be (`$HF_HOME/hub`, `~/.cache/huggingface/hub`) when it is elsewhere; no repeats.
pub fn hub_cache_roots() -> Vec<PathBuf> {
    let mut roots = vec![default_cache_dir()];
    let others = [
        env_path("HF_HOME").map(|home| home.join("hub")),
        home_cache(),
    ];
    for root in others.into_iter().flatten() {
        if !roots.contains(&root) {
            roots.push(root);
        }
    }
    roots
}

/// `<root>/models--Org--Name`.
pub fn repo_folder(root: &Path, repo: &str) -> PathBuf {
    root.join(format!("models--{}", repo.replace('/', "--")))
}

/// The snapshot of `repo` under `root` that holds `file`: the revision `refs/main` names when it
/// holds the file, else the most recently modified snapshot that does.
pub fn snapshot_with(root: &Path, repo: &str, file: &str) -> Option<PathBuf> {
    let folder = repo_folder(root, repo);
    let snapshots = folder.join("snapshots");
    if let Ok(rev) = std::fs::read_to_string(folder.join("refs").join("main")) {
        let rev = rev.trim();
        let is_rev = !rev.is_empty() && rev.chars().all(|c| c.is_ascii_alphanumeric());
        if is_rev && snapshots.join(rev).join(file).is_file() {
            return Some(snapshots.join(rev));
        }
    }
    let mut newest: Option<(std::time::SystemTime, PathBuf)> = None;
    for entry in std::fs::read_dir(&snapshots).ok()?.flatten() {
        let dir = entry.path();
        if !dir.join(file).is_file() {
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

/// The model snapshot of `repo` under `root` (the snapshot holding its `config.json`).
pub fn snapshot_dir(root: &Path, repo: &str) -> Option<PathBuf> {
    snapshot_with(root, repo, "config.json")
}

/// A cached file of `repo` under `root`, also under the name the hub renamed the repository to.
pub fn cached_file(root: &Path, repo: &str, file: &str) -> Option<PathBuf> {
    let renamed = RENAMED_REPOS
        .iter()
        .find(|(old, _)| *old == repo)
        .map(|(_, new)| *new);
    [Some(repo), renamed]
        .into_iter()
        .flatten()
        .find_map(|name| snapshot_with(root, name, file).map(|dir| dir.join(file)))
}

/// The local folder of `repo_id` (e.g. `"OpenMuQ/MuQ-large-msd-iter"`): `$MUQ_MODEL_DIR` if it
/// holds a `config.json`, else the first hit in [`hub_cache_roots`]. `None` if not downloaded.
pub fn find_model_dir(repo_id: &str) -> Option<PathBuf> {
    find_model_dir_in(
        repo_id,
        env_path(MODEL_DIR_ENV).as_deref(),
        &hub_cache_roots(),
    )
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
    roots.iter().find_map(|root| snapshot_dir(root, repo_id))
}
