//! The analysis worker: one dedicated thread per plugin instance.
//!
//! It drains the audio ring ([`crate::bridge::WorkerFeed`]), meters the input, feeds the
//! [`Analyzer`]s, applies editor [`Command`]s and publishes an [`EngineSnapshot`] about every
//! [`PUBLISH_INTERVAL_MS`]. Started by [`spawn`] in the plugin's `activate()`; stopped and joined
//! by [`Worker::stop`] or on drop (`deactivate()` or plugin drop), within a few milliseconds.
//!
//! It deliberately does not use nice-plug's background executor, whose single thread is shared
//! by every plugin instance in the process.

mod analyzer;
mod level;
mod restart;
mod run_loop;

pub use analyzer::{AnalysisSettings, Analyzer, SettingsSource};
pub use level::{LevelMeter, amplitude_to_dbfs};
pub use restart::{
    AnalyzerFactory, HEALTHY_RESET_S, MAX_RESTARTS_IN_A_ROW, RESTART_BACKOFF_MAX_MS,
    RESTART_BACKOFF_MIN_MS, RestartingAnalyzer,
};

use crate::bridge::{self, Command, CommandSender, EngineSnapshot, SnapshotReader, WorkerFeed};
use crate::{Error, Result};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

/// How often the worker publishes a snapshot while something changes, in milliseconds.
pub const PUBLISH_INTERVAL_MS: u64 = 30;
/// How long the worker sleeps when the ring is empty, in milliseconds (a stop request wakes it).
pub const IDLE_SLEEP_MS: u64 = 5;
/// Length of the level meter's window, in milliseconds.
pub const LEVEL_WINDOW_MS: f32 = 300.0;
/// After this long without input the level meter falls back to silence, in milliseconds.
pub const LEVEL_HOLD_MS: u64 = 500;
/// Pending editor commands the command channel holds.
pub const COMMAND_CAPACITY: usize = 64;

/// Called on the worker thread after each snapshot that differs from the previous one, with
/// that snapshot (e.g. to ask the editor to repaint). Must be cheap and must not block.
pub type PublishHook = Box<dyn Fn(&EngineSnapshot) + Send>;

/// Everything a worker needs; moved into its thread by [`spawn`].
pub struct WorkerSetup {
    /// Sample rate of the audio arriving through `feed`, in Hz.
    pub sample_rate_hz: f32,
    /// The ring's read end, from [`bridge::new`].
    pub feed: WorkerFeed,
    /// Polled every loop for the analysis settings.
    pub settings: Arc<dyn SettingsSource>,
    /// Analysis stages, run in order on every drained block.
    pub analyzers: Vec<Box<dyn Analyzer>>,
    /// Optional notification after a changed snapshot was published.
    pub on_publish: Option<PublishHook>,
}

/// The editor's view of a running worker: snapshots in, commands out.
pub struct EngineLink {
    /// Newest snapshot from the worker.
    pub snapshot: SnapshotReader,
    /// Commands to the worker.
    pub commands: CommandSender,
}

/// Owner handle of a worker thread. Dropping it stops and joins the thread.
pub struct Worker {
    /// Set to ask the thread to publish a final snapshot and exit.
    stop_requested: Arc<AtomicBool>,
    /// The thread; `None` once joined.
    thread: Option<JoinHandle<()>>,
}

/// Starts a worker thread. Returns its handle and the editor's [`EngineLink`].
///
/// Errors when `sample_rate_hz` is not a positive finite number or the OS refuses a thread.
/// Call from `activate()` or another non-real-time thread.
pub fn spawn(setup: WorkerSetup) -> Result<(Worker, EngineLink)> {
    if !setup.sample_rate_hz.is_finite() || setup.sample_rate_hz <= 0.0 {
        return Err(Error::Audio(format!(
            "worker sample rate must be a positive number of Hz, got {}",
            setup.sample_rate_hz
        )));
    }
    let (snapshot_writer, snapshot_reader) = bridge::snapshot_channel();
    let (command_sender, command_receiver) = bridge::command_channel(COMMAND_CAPACITY);
    let stop_requested = Arc::new(AtomicBool::new(false));
    let thread_stop = Arc::clone(&stop_requested);
    let mut state = run_loop::LoopState::new(setup, snapshot_writer, command_receiver);
    let thread = std::thread::Builder::new()
        .name("muq-worker".into())
        .spawn(move || state.run(&thread_stop))
        .map_err(Error::WorkerSpawn)?;
    let worker = Worker {
        stop_requested,
        thread: Some(thread),
    };
    let link = EngineLink {
        snapshot: snapshot_reader,
        commands: command_sender,
    };
    Ok((worker, link))
}

impl Worker {
    /// Asks the thread to stop, wakes it and waits for it (a few milliseconds). Errors if the
    /// worker thread panicked (an analyzer bug); the thread is gone either way.
    pub fn stop(mut self) -> Result<()> {
        self.stop_and_join()
    }

    /// Whether the thread is still running.
    pub fn is_running(&self) -> bool {
        self.thread
            .as_ref()
            .is_some_and(|thread| !thread.is_finished())
    }

    fn stop_and_join(&mut self) -> Result<()> {
        let Some(thread) = self.thread.take() else {
            return Ok(());
        };
        self.stop_requested.store(true, Ordering::Release);
        thread.thread().unpark();
        thread
            .join()
            .map_err(|_| Error::Other("the analysis worker thread panicked".into()))
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // A panic in an analyzer was already reported by the panic hook; nothing more to do.
        let _ = self.stop_and_join();
    }
}

impl EngineLink {
    /// Queues `command` for the worker without waiting; `Err` gives it back when the queue is
    /// full or the worker is gone.
    pub fn send(&mut self, command: Command) -> std::result::Result<(), Command> {
        self.commands.send(command)
    }

    /// The newest snapshot.
    pub fn latest(&mut self) -> &EngineSnapshot {
        self.snapshot.latest()
    }
}

/// The text of a panic payload (`&str` or `String`), or "unknown panic".
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}
