//! Downloading MuQ-MuLan-large and what it needs (its MuQ config, XLM-R's tokenizer and config;
//! about 2.5 GB, almost all `pytorch_model.bin`) from the Hugging Face hub or a mirror.
//!
//! Written for the plugin's "Download model" action and `muq fetch` alike:
//! - resumable: bytes land in a `.incomplete` file next to their destination, and a later run
//!   (after a cut connection or a restart of the DAW) asks the server for the rest with a
//!   `Range` request;
//! - verified: every file is checked against the size and digest the hub publishes for it (the
//!   SHA-256 of its LFS object, or the git blob SHA-1 of a small file) before it is renamed into
//!   place, so a damaged or truncated file is never where a load would pick it up;
//! - cancellable between 64 KiB chunks, with progress (bytes, rate, time left) readable from any
//!   thread;
//! - one download per process ([`start`]): instances asking at once share it, and every
//!   worker learns of a finished download through [`completed_generation`].
//!
//! We do not use `hf-hub` here: it neither verifies digests nor reports progress to a caller
//! or stops on request. HTTP goes through `ureq` (hf-hub's own client), hashing through `ring`.

mod error;
mod files;
mod http;
mod job;
mod progress;
mod shared;
mod target;
mod verify;

pub use error::DownloadError;
pub use files::{MODEL_FILES, ModelFile, approx_total_bytes};
pub use job::{DownloadRequest, run_download};
pub use progress::{DownloadPhase, DownloadView, Progress};
pub use shared::{DownloadInterest, cancel, completed_generation, current_view, start};
pub use target::DownloadTarget;
pub use verify::{FileCheck, FileState, check_files};

/// Hub address used when `HF_ENDPOINT` is not set.
pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

/// The hub address: `$HF_ENDPOINT` when set (mirrors, tests), else the public hub.
pub fn endpoint_from_env() -> String {
    std::env::var("HF_ENDPOINT")
        .ok()
        .map(|e| e.trim().trim_end_matches('/').to_string())
        .filter(|e| !e.is_empty())
        .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string())
}
