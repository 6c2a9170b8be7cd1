//! The engine's error type at its crate boundary.

use std::path::PathBuf;

/// Every error the engine reports to its callers (CLI, plugin, tests).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("model error: {0}")]
    Candle(#[from] candle_core::Error),
    /// The message already includes the OS error, so it is not also chained as a `source`
    /// (which would print it twice in `error: …` reports).
    #[error("I/O error on {path}: {io_error}")]
    Io {
        path: PathBuf,
        io_error: std::io::Error,
    },
    #[error("invalid config {path}: {msg}")]
    Config { path: PathBuf, msg: String },
    #[error("unsupported config value: {0}")]
    Unsupported(String),
    #[error("checkpoint {path}: {msg}")]
    Checkpoint { path: PathBuf, msg: String },
    #[error("audio: {0}")]
    Audio(String),
    #[error("{0}")]
    Other(String),
    #[error("could not start the analysis worker thread: {0}")]
    WorkerSpawn(std::io::Error),
    /// A probe head could not be trained, saved, loaded or used (bad labels, mismatched model…).
    #[error("probe head: {0}")]
    Probe(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            io_error: source,
        }
    }
}
