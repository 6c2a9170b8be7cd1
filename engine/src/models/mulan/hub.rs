//! The Hugging Face cache layout (`<root>/models--Org--Name/{refs/main,snapshots/<rev>/…}`) and
//! `muq fetch`: what MuQ-MuLan needs, where it is cached, and downloading it with `hf-hub`.
//!
//! Discovery is pure file-system work (no network); `fetch_missing` checks that the hub is
//! reachable first and, offline, fails at once with a list of URLs and target folders.

use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::{Error, Result};

/// The released MuQ-MuLan repository.
pub const MULAN_REPO: &str = "OpenMuQ/MuQ-MuLan-large";
/// The MuQ repository whose `config.json` describes MuQ-MuLan's audio encoder.
pub const MUQ_REPO: &str = "OpenMuQ/MuQ-large-msd-iter";
/// The text encoder's repository (its tokenizer and config).
pub const XLMR_REPO: &str = "xlm-roberta-base";
/// Default hub address.
pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

/// One file of one repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HubFile {
    /// `owner/name` (or a legacy bare name like `xlm-roberta-base`).
    pub repo: &'static str,
    /// File name inside the repository.
    pub file: &'static str,
}

/// Everything `muq fetch` downloads (about 2.5 GB, almost all `pytorch_model.bin`).
pub const FETCH_FILES: [HubFile; 5] = [
    HubFile {
        repo: MULAN_REPO,
        file: "config.json",
    },
    HubFile {
        repo: MULAN_REPO,
        file: "pytorch_model.bin",
    },
    HubFile {
        repo: MUQ_REPO,
        file: "config.json",
    },
    HubFile {
        repo: XLMR_REPO,
        file: "tokenizer.json",
    },
    HubFile {
        repo: XLMR_REPO,
        file: "config.json",
    },
];

/// The hub cache folder: `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`.
pub fn default_cache_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("HF_HUB_CACHE").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    if let Some(p) = std::env::var_os("HF_HOME").filter(|p| !p.is_empty()) {
        return PathBuf::from(p).join("hub");
    }
    let home = std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .unwrap_or_default();
    PathBuf::from(home)
        .join(".cache")
        .join("huggingface")
        .join("hub")
}

/// `<root>/models--Org--Name`.
pub fn repo_folder(root: &Path, repo: &str) -> PathBuf {
    root.join(format!("models--{}", repo.replace('/', "--")))
}

/// The snapshot folder of `repo` in the cache: the revision `refs/main` names, else the only (or
/// newest) snapshot present.
pub fn snapshot_dir(root: &Path, repo: &str) -> Option<PathBuf> {
    let folder = repo_folder(root, repo);
    let snapshots = folder.join("snapshots");
    if let Ok(rev) = std::fs::read_to_string(folder.join("refs").join("main")) {
        let dir = snapshots.join(rev.trim());
        if !rev.trim().is_empty() && dir.is_dir() {
            return Some(dir);
        }
    }
    let mut dirs: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(&snapshots)
        .ok()?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| {
            (
                e.metadata()
                    .and_then(|m| m.modified())
                    .unwrap_or(std::time::UNIX_EPOCH),
                e.path(),
            )
        })
        .collect();
    dirs.sort();
    dirs.pop().map(|(_, p)| p)
}

/// A cached file of `repo`, if present (also under the repo's alternative names: the hub moved
/// `xlm-roberta-base` to `FacebookAI/xlm-roberta-base`).
pub fn cached_file(root: &Path, repo: &str, file: &str) -> Option<PathBuf> {
    let alt = match repo {
        XLMR_REPO => Some("FacebookAI/xlm-roberta-base"),
        _ => None,
    };
    [Some(repo), alt].into_iter().flatten().find_map(|r| {
        let p = snapshot_dir(root, r)?.join(file);
        p.is_file().then_some(p)
    })
}

/// The files of [`FETCH_FILES`] not yet in the cache at `root`.
pub fn missing_files(root: &Path) -> Vec<HubFile> {
    FETCH_FILES
        .iter()
        .copied()
        .filter(|f| cached_file(root, f.repo, f.file).is_none())
        .collect()
}

/// Step-by-step instructions to place `missing` by hand into the cache at `root`.
pub fn manual_instructions(root: &Path, endpoint: &str, missing: &[HubFile]) -> String {
    let mut s = format!(
        "Download these files with a browser or `curl -L -o TARGET URL` on a machine with internet \
         access and copy them here (hub cache: {}):\n",
        root.display()
    );
    for f in missing {
        let target = repo_folder(root, f.repo)
            .join("snapshots")
            .join("main")
            .join(f.file);
        s += &format!(
            "  {endpoint}/{}/resolve/main/{}\n      -> {}\n",
            f.repo,
            f.file,
            target.display()
        );
    }
    let mut repos: Vec<&str> = missing.iter().map(|f| f.repo).collect();
    repos.dedup();
    for r in repos {
        s += &format!(
            "  and write the word `main` into {}\n",
            repo_folder(root, r).join("refs").join("main").display()
        );
    }
    s += "Alternatively put MuQ-MuLan-large's config.json and pytorch_model.bin plus xlm-roberta-base's \
          tokenizer.json into one folder and pass it as --model DIR.";
    s
}

/// Fails fast when the hub host cannot be reached within a few seconds.
fn check_reachable(endpoint: &str) -> std::result::Result<(), String> {
    let rest = endpoint.split("://").nth(1).unwrap_or(endpoint);
    let host_port = rest.split('/').next().unwrap_or(rest);
    let default_port = if endpoint.starts_with("http://") {
        80
    } else {
        443
    };
    let addr = if host_port.contains(':') {
        host_port.to_string()
    } else {
        format!("{host_port}:{default_port}")
    };
    let addrs: Vec<_> = addr
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {addr}: {e}"))?
        .collect();
    let mut last = String::from("no address");
    for a in addrs {
        match TcpStream::connect_timeout(&a, Duration::from_secs(5)) {
            Ok(_) => return Ok(()),
            Err(e) => last = format!("cannot connect to {a}: {e}"),
        }
    }
    Err(last)
}

/// Downloads every file of [`FETCH_FILES`] missing from the cache at `root` (with a progress
/// bar when `progress`), returning the paths of all files. Offline it fails at once with
/// [`manual_instructions`].
pub fn fetch_missing(root: &Path, endpoint: &str, progress: bool) -> Result<Vec<PathBuf>> {
    let missing = missing_files(root);
    if !missing.is_empty() {
        if let Err(why) = check_reachable(endpoint) {
            return Err(Error::Other(format!(
                "cannot reach {endpoint} ({why}).\n{}",
                manual_instructions(root, endpoint, &missing)
            )));
        }
        let api = hf_hub::api::sync::ApiBuilder::new()
            .with_cache_dir(root.to_path_buf())
            .with_endpoint(endpoint.to_string())
            .with_progress(progress)
            .build()
            .map_err(|e| Error::Other(format!("hub client: {e}")))?;
        for f in &missing {
            api.model(f.repo.to_string()).get(f.file).map_err(|e| {
                Error::Other(format!(
                    "downloading {}/{}: {e}\n{}",
                    f.repo,
                    f.file,
                    manual_instructions(root, endpoint, &missing)
                ))
            })?;
        }
    }
    FETCH_FILES
        .iter()
        .map(|f| {
            cached_file(root, f.repo, f.file).ok_or_else(|| {
                Error::Other(format!(
                    "{}/{} is still missing from {} after download",
                    f.repo,
                    f.file,
                    root.display()
                ))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(root: &Path, repo: &str, rev: &str, file: &str, write_ref: bool) {
        let folder = repo_folder(root, repo);
        std::fs::create_dir_all(folder.join("snapshots").join(rev)).unwrap();
        std::fs::write(folder.join("snapshots").join(rev).join(file), b"{}").unwrap();
        if write_ref {
            std::fs::create_dir_all(folder.join("refs")).unwrap();
            std::fs::write(folder.join("refs").join("main"), rev).unwrap();
        }
    }

    #[test]
    fn discovers_files_in_a_fake_cache() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        assert_eq!(missing_files(root).len(), FETCH_FILES.len());
        put(root, MULAN_REPO, "abc123", "config.json", true);
        put(root, MULAN_REPO, "abc123", "pytorch_model.bin", true);
        put(root, MUQ_REPO, "deadbeef", "config.json", false); // no refs/main: newest snapshot
        put(
            root,
            "FacebookAI/xlm-roberta-base",
            "r1",
            "tokenizer.json",
            true,
        );
        let missing = missing_files(root);
        assert_eq!(
            missing,
            vec![HubFile {
                repo: XLMR_REPO,
                file: "config.json"
            }]
        );
        let p = cached_file(root, MULAN_REPO, "pytorch_model.bin").unwrap();
        assert!(p.ends_with("models--OpenMuQ--MuQ-MuLan-large/snapshots/abc123/pytorch_model.bin"));
        assert!(cached_file(root, MUQ_REPO, "config.json").is_some());
    }

    #[test]
    fn offline_fetch_fails_fast_with_instructions() {
        let tmp = tempfile::tempdir().unwrap();
        let t0 = std::time::Instant::now();
        // Port 1 on localhost is closed: connection refused at once.
        let err = fetch_missing(tmp.path(), "http://127.0.0.1:1", false)
            .unwrap_err()
            .to_string();
        assert!(t0.elapsed() < Duration::from_secs(10));
        assert!(err.contains("cannot reach"), "{err}");
        assert!(
            err.contains(
                "http://127.0.0.1:1/OpenMuQ/MuQ-MuLan-large/resolve/main/pytorch_model.bin"
            ),
            "{err}"
        );
        assert!(err.contains("models--xlm-roberta-base"), "{err}");
        assert!(err.contains("refs"), "{err}");
    }
}
