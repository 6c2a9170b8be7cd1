//! Why a download stopped, worded for the panel and the CLI.

use std::path::PathBuf;

/// A download that did not finish. Each message says what happened and what to do; the bytes
/// already received stay in their `.incomplete` file (never where a load looks) unless they
/// were found to be wrong.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    /// No connection: no network, a DNS failure, a refused or timed-out connection, a proxy
    /// that would not connect.
    #[error(
        "cannot reach {url}: {detail}. Check the network (or HF_ENDPOINT / the proxy settings), \
         or copy the files in by hand"
    )]
    Unreachable { url: String, detail: String },
    /// The server answered with an error status.
    #[error("{url} answered HTTP {status}{}", status_hint(*status))]
    Status { url: String, status: u16 },
    /// The server sent something that is not the file: a web page (a captive portal, a login
    /// page, a proxy's error page) or a response without the hub's metadata.
    #[error("{url} did not send the file: {detail}")]
    NotTheFile { url: String, detail: String },
    /// The received file differs from what the hub publishes; it was deleted.
    #[error(
        "{file} arrived damaged ({detail}); the damaged copy was deleted, start the download \
         again"
    )]
    Damaged { file: String, detail: String },
    /// Writing failed: a full disk, a read-only or missing folder, no permission.
    #[error("cannot write {path}: {io_error}{}", disk_hint(io_error))]
    Disk {
        path: PathBuf,
        io_error: std::io::Error,
    },
    /// The connection broke while receiving; what arrived is kept for a resume.
    #[error(
        "the connection to {url} broke after {num_bytes} bytes ({detail}); start again to resume"
    )]
    Interrupted {
        url: String,
        num_bytes: u64,
        detail: String,
    },
    /// The user cancelled; what arrived is kept for a resume.
    #[error("download cancelled; start it again to resume where it stopped")]
    Cancelled,
}

fn status_hint(status: u16) -> &'static str {
    match status {
        401 | 403 => ": the hub refused access (a gated repository or a login the proxy wants)",
        404 => ": not found (a wrong HF_ENDPOINT, or the repository moved)",
        407 => ": the proxy wants credentials",
        429 => ": too many requests; wait a few minutes",
        500..=599 => ": a server error; try again later",
        _ => "",
    }
}

fn disk_hint(io_error: &std::io::Error) -> &'static str {
    match io_error.kind() {
        std::io::ErrorKind::StorageFull => " (the disk is full: free about 2.7 GB and resume)",
        std::io::ErrorKind::ReadOnlyFilesystem | std::io::ErrorKind::PermissionDenied => {
            " (choose a folder you can write to)"
        }
        _ => "",
    }
}

impl DownloadError {
    pub(super) fn disk(path: impl Into<PathBuf>, io_error: std::io::Error) -> Self {
        Self::Disk {
            path: path.into(),
            io_error,
        }
    }
}
