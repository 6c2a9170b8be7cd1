//! One download run: ask the hub about every file, then receive, verify and place each one that
//! is not already in place.

use super::http::{Hub, RemoteFile};
use super::progress::Progress;
use super::target::{DownloadTarget, Placement};
use super::verify::{ContentHasher, file_digest, hash_reader};
use super::{DownloadError, MODEL_FILES, ModelFile};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

/// Bytes per read; the cancel flag is checked between reads.
const CHUNK_BYTES: usize = 1 << 16;

/// What to download from where to where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadRequest {
    /// Hub address (`https://huggingface.co`, a mirror, a test server).
    pub endpoint: String,
    /// Branch, tag or commit (`main`).
    pub revision: String,
    pub target: DownloadTarget,
}

impl DownloadRequest {
    /// The `main` revision of the model files from `endpoint` into `target`.
    pub fn new(endpoint: impl Into<String>, target: DownloadTarget) -> Self {
        Self {
            endpoint: endpoint.into(),
            revision: "main".into(),
            target,
        }
    }
}

/// Downloads every model file not yet in place, on the calling thread, reporting to
/// `progress` and stopping between chunks once `cancel` is set. Returns the model folder.
pub fn run_download(
    request: &DownloadRequest,
    progress: &Progress,
    cancel: &AtomicBool,
) -> Result<PathBuf, DownloadError> {
    let hub = Hub::new(&request.endpoint);
    let mut remotes = Vec::with_capacity(MODEL_FILES.len());
    for file in &MODEL_FILES {
        if cancel.load(Ordering::Relaxed) {
            return Err(DownloadError::Cancelled);
        }
        remotes.push(hub.metadata(file.hub, &request.revision)?);
    }
    progress.set_total(remotes.iter().map(|r| r.size).sum());
    for (file, remote) in MODEL_FILES.iter().zip(&remotes) {
        if is_current(&request.target, file, remote) {
            progress.add_present(remote.size);
            continue;
        }
        progress.start_file(format!("{}/{}", file.hub.repo, file.hub.file));
        let placement = request.target.placement(file, remote, &request.revision);
        receive(&hub, file, remote, &placement, progress, cancel)?;
        request.target.place(file, remote, &request.revision)?;
    }
    request
        .target
        .model_dir()
        .ok_or_else(|| DownloadError::NotTheFile {
            url: request.endpoint.clone(),
            detail: "the files arrived but the model folder cannot be found in the cache".into(),
        })
}

/// Whether `file` is in place with exactly `remote`'s content: recorded under the same digest,
/// of the same size, and hashing to it (so a damaged file is fetched again; the checkpoint takes
/// a few seconds to hash).
fn is_current(target: &DownloadTarget, file: &ModelFile, remote: &RemoteFile) -> bool {
    let Some((path, Some(digest))) = target.existing(file) else {
        return false;
    };
    digest == remote.digest
        && std::fs::metadata(&path).is_ok_and(|m| m.len() == remote.size)
        && file_digest(&path, &digest).is_ok_and(|actual| actual == digest.hex())
}

/// Receives one file into `placement.partial`, resuming what is there, and verifies it. A
/// damaged result is deleted; anything else that stops it keeps the bytes for a resume.
fn receive(
    hub: &Hub,
    file: &ModelFile,
    remote: &RemoteFile,
    placement: &Placement,
    progress: &Progress,
    cancel: &AtomicBool,
) -> Result<(), DownloadError> {
    let partial = &placement.partial;
    let disk = |e| DownloadError::disk(partial, e);
    if let Some(parent) = partial.parent() {
        std::fs::create_dir_all(parent).map_err(|e| DownloadError::disk(parent, e))?;
    }
    let mut out = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(partial)
        .map_err(disk)?;
    let mut num_have = out.metadata().map_err(disk)?.len();
    if num_have > remote.size {
        num_have = 0;
    }
    out.set_len(num_have).map_err(disk)?;
    let mut hasher = ContentHasher::new(&remote.digest, remote.size);
    if num_have > 0 {
        out.seek(SeekFrom::Start(0)).map_err(disk)?;
        hash_reader(&mut hasher, &mut (&mut out).take(num_have)).map_err(disk)?;
        progress.add_present(num_have);
    }
    out.seek(SeekFrom::Start(num_have)).map_err(disk)?;
    if num_have < remote.size {
        let (mut body, start_byte) = hub.open_from(&remote.url, num_have)?;
        if start_byte != num_have {
            // The server ignored the range: start over.
            progress.remove_present(num_have);
            out.set_len(0).map_err(disk)?;
            out.seek(SeekFrom::Start(0)).map_err(disk)?;
            hasher = ContentHasher::new(&remote.digest, remote.size);
            num_have = 0;
        }
        num_have = copy_body(
            &mut body,
            &mut out,
            &mut hasher,
            num_have,
            remote,
            progress,
            cancel,
        )
        .map_err(|stop| stop.into_error(remote, partial))?;
    }
    out.sync_all().map_err(disk)?;
    drop(out);
    let actual = hasher.finish();
    if actual != remote.digest.hex() {
        let _ = std::fs::remove_file(partial);
        return Err(DownloadError::Damaged {
            file: format!("{}/{}", file.hub.repo, file.hub.file),
            detail: format!(
                "{num_have} bytes hashing to {actual}; the hub publishes {} bytes hashing to {}",
                remote.size,
                remote.digest.hex()
            ),
        });
    }
    Ok(())
}

/// Why [`copy_body`] stopped early.
enum Stop {
    Cancelled,
    Read(u64, String),
    Write(std::io::Error),
    TooLong,
}

impl Stop {
    fn into_error(self, remote: &RemoteFile, partial: &std::path::Path) -> DownloadError {
        match self {
            Stop::Cancelled => DownloadError::Cancelled,
            Stop::Read(num_bytes, detail) => DownloadError::Interrupted {
                url: remote.url.clone(),
                num_bytes,
                detail,
            },
            Stop::Write(io_error) => DownloadError::disk(partial, io_error),
            Stop::TooLong => {
                let _ = std::fs::remove_file(partial);
                DownloadError::Damaged {
                    file: partial.display().to_string(),
                    detail: format!("longer than the {} bytes the hub publishes", remote.size),
                }
            }
        }
    }
}

/// Appends the body to `out` until it ends; returns the bytes now in the file.
fn copy_body(
    body: &mut dyn Read,
    out: &mut File,
    hasher: &mut ContentHasher,
    mut num_have: u64,
    remote: &RemoteFile,
    progress: &Progress,
    cancel: &AtomicBool,
) -> Result<u64, Stop> {
    let mut buffer = vec![0u8; CHUNK_BYTES];
    loop {
        if cancel.load(Ordering::Relaxed) {
            return Err(Stop::Cancelled);
        }
        let num_read = match body.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Stop::Read(num_have, e.to_string())),
        };
        if num_have + num_read as u64 > remote.size {
            return Err(Stop::TooLong);
        }
        out.write_all(&buffer[..num_read]).map_err(Stop::Write)?;
        hasher.update(&buffer[..num_read]);
        num_have += num_read as u64;
        progress.add_received(num_read as u64);
    }
    if num_have < remote.size {
        return Err(Stop::Read(
            num_have,
            format!(
                "the server ended the file at {num_have} of {} bytes",
                remote.size
            ),
        ));
    }
    Ok(num_have)
}
