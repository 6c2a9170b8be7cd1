//! Where downloaded files go: the Hugging Face hub cache (`blobs/<digest>`, linked from
//! `snapshots/<commit>/<file>`, `refs/<revision>`: the layout every hub client reads), or a plain
//! model folder chosen by the user (with a small manifest of digests for later checks).
//!
//! Either way a file is received into `<final name>.incomplete` and renamed into place only
//! after its digest matched, so no loader ever sees part of a file.

use super::http::{Digest, RemoteFile};
use super::{DownloadError, ModelFile};
use crate::models::mulan::hub::{self, MULAN_REPO};
use std::path::{Path, PathBuf};

/// The manifest a folder download writes: file path → digest.
const FOLDER_MANIFEST: &str = ".muq-download.json";

/// Where a download puts its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownloadTarget {
    /// A hub cache root (`~/.cache/huggingface/hub` and friends).
    HubCache(PathBuf),
    /// A plain model folder (`MulanFiles::locate`'s layout).
    Folder(PathBuf),
}

/// Where one file is received and where it ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// The file being received.
    pub partial: PathBuf,
    /// What loaders read.
    pub dest: PathBuf,
}

impl DownloadTarget {
    /// For the panel and the CLI: "the Hugging Face cache <path>" or the folder.
    pub fn describe(&self) -> String {
        match self {
            Self::HubCache(root) => format!("the Hugging Face cache {}", root.display()),
            Self::Folder(dir) => dir.display().to_string(),
        }
    }

    /// The model folder to load once everything is in place (`None` before the MuQ-MuLan
    /// config arrived in the cache).
    pub fn model_dir(&self) -> Option<PathBuf> {
        match self {
            Self::HubCache(root) => hub::snapshot_dir(root, MULAN_REPO),
            Self::Folder(dir) => Some(dir.clone()),
        }
    }

    /// A file already in place, with the digest it is known by (`None`: copied in by hand).
    pub fn existing(&self, file: &ModelFile) -> Option<(PathBuf, Option<Digest>)> {
        match self {
            Self::HubCache(root) => {
                let path = hub::cached_file(root, file.hub.repo, file.hub.file)?;
                let digest = std::fs::read_link(&path)
                    .ok()
                    .and_then(|blob| blob.file_name().map(|n| n.to_string_lossy().into_owned()))
                    .and_then(|name| Digest::from_hex(&name));
                Some((path, digest))
            }
            Self::Folder(dir) => {
                let path = dir.join(file.folder_path);
                path.is_file().then(|| {
                    let digest = read_manifest(dir)
                        .get(file.folder_path)
                        .and_then(|v| v.as_str())
                        .and_then(Digest::from_hex);
                    (path, digest)
                })
            }
        }
    }

    /// Where `file` is received and where it goes.
    pub fn placement(&self, file: &ModelFile, remote: &RemoteFile, revision: &str) -> Placement {
        match self {
            Self::HubCache(root) => {
                let repo_dir = hub::repo_folder(root, file.hub.repo);
                let blob = repo_dir.join("blobs").join(remote.digest.hex());
                let snapshot = remote.commit.as_deref().unwrap_or(revision);
                Placement {
                    partial: with_suffix(&blob, ".incomplete"),
                    dest: repo_dir
                        .join("snapshots")
                        .join(snapshot)
                        .join(file.hub.file),
                }
            }
            Self::Folder(dir) => {
                let dest = dir.join(file.folder_path);
                Placement {
                    partial: with_suffix(&dest, ".incomplete"),
                    dest,
                }
            }
        }
    }

    /// Moves a verified file into place.
    pub fn place(
        &self,
        file: &ModelFile,
        remote: &RemoteFile,
        revision: &str,
    ) -> Result<PathBuf, DownloadError> {
        let placement = self.placement(file, remote, revision);
        let dest = &placement.dest;
        let parent = dest.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent).map_err(|e| DownloadError::disk(parent, e))?;
        match self {
            Self::HubCache(root) => {
                let blob = hub::repo_folder(root, file.hub.repo)
                    .join("blobs")
                    .join(remote.digest.hex());
                rename(&placement.partial, &blob)?;
                link_snapshot(&blob, dest)?;
                let commit = remote.commit.as_deref().unwrap_or(revision);
                let refs = hub::repo_folder(root, file.hub.repo).join("refs");
                std::fs::create_dir_all(&refs).map_err(|e| DownloadError::disk(&refs, e))?;
                let ref_file = refs.join(revision);
                std::fs::write(&ref_file, commit).map_err(|e| DownloadError::disk(&ref_file, e))?;
            }
            Self::Folder(dir) => {
                rename(&placement.partial, dest)?;
                let mut manifest = read_manifest(dir);
                manifest.insert(
                    file.folder_path.to_string(),
                    serde_json::Value::String(remote.digest.hex().to_string()),
                );
                let path = dir.join(FOLDER_MANIFEST);
                let text = serde_json::to_string_pretty(&manifest).unwrap_or_default();
                std::fs::write(&path, text).map_err(|e| DownloadError::disk(&path, e))?;
            }
        }
        Ok(dest.clone())
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn rename(from: &Path, to: &Path) -> Result<(), DownloadError> {
    std::fs::rename(from, to).map_err(|e| DownloadError::disk(to, e))
}

/// `snapshots/<commit>/<file>` → `../../blobs/<digest>` (a hard link or a copy where symbolic
/// links are unavailable).
fn link_snapshot(blob: &Path, dest: &Path) -> Result<(), DownloadError> {
    if dest.symlink_metadata().is_ok() {
        std::fs::remove_file(dest).map_err(|e| DownloadError::disk(dest, e))?;
    }
    #[cfg(unix)]
    let linked = {
        let blob_name = blob.file_name().unwrap_or_default();
        let relative = Path::new("..").join("..").join("blobs").join(blob_name);
        std::os::unix::fs::symlink(relative, dest)
    };
    #[cfg(not(unix))]
    let linked = std::fs::hard_link(blob, dest).or_else(|_| std::fs::copy(blob, dest).map(|_| ()));
    linked.map_err(|e| DownloadError::disk(dest, e))
}

fn read_manifest(dir: &Path) -> serde_json::Map<String, serde_json::Value> {
    std::fs::read_to_string(dir.join(FOLDER_MANIFEST))
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}
