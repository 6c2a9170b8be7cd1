//! The inference thread owned by [`super::MuqAnalyzer`]: it loads the model lazily and runs
//! windows handed over through a single "latest window" slot, so the worker thread never waits
//! for inference (it keeps publishing snapshots) and an overloaded model skips to the newest
//! window instead of building a backlog. Memory: one window in the slot plus one in flight.
//!
//! The mutex is only held to swap small values in and out, never during loading or inference.
//! Settings that change the heads of a loaded model are applied here too ([`settings`]).

mod run_loop;
pub mod settings;

use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use super::session::{ModelOptions, WindowOutput};
use crate::{Error, Result};
pub use settings::SessionInfo;

/// Called on the inference thread right before each window is run (tests inject delays). The
/// argument is the stop flag the model checks between layers: a hook standing in for a slow
/// model should return soon after it is set, as the model does.
pub type WindowHook = Arc<dyn Fn(&std::sync::atomic::AtomicBool) + Send + Sync>;

/// A window waiting for inference.
#[derive(Clone, Debug, Default)]
pub struct WindowJob {
    /// 24 kHz samples.
    pub samples: Vec<f32>,
    /// Stream index of the first sample.
    pub start_sample: u64,
    /// Whether this is the provisional first window.
    pub provisional: bool,
    /// Increments whenever the stream restarts (settings change): the model's cache is reset.
    pub stream_epoch: u64,
}

/// The model's state as seen by the worker.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum ModelStatus {
    /// Not asked to load yet.
    #[default]
    NotLoaded,
    /// Loading: progress 0..1 and the current stage.
    Loading(f32, String),
    /// Ready on the named device.
    Ready(String),
    /// No weights: `(message, hint)`.
    Missing(String, String),
    /// Failed: `(message, hint)`.
    Failed(String, String),
}

/// The newest window result and the figures about it.
#[derive(Clone, Debug, Default)]
pub struct LatestResult {
    /// Readouts of the window.
    pub output: WindowOutput,
    /// Stream time of the window's end, seconds.
    pub window_end_s: f64,
    /// Window length, seconds.
    pub window_s: f32,
    /// Provisional first window?
    pub provisional: bool,
    /// Inference time, milliseconds.
    pub inference_ms: f32,
    /// Smoothed audio time between analysed windows, seconds (0 until two windows).
    pub achieved_hop_s: f32,
    /// Windows analysed so far.
    pub num_analysed: u64,
}

#[derive(Default)]
struct SlotState {
    job: Option<WindowJob>,
    queries: Option<Vec<String>>,
    model_dir: Option<Option<PathBuf>>,
    labels_dir: Option<Option<PathBuf>>,
    heads_dir: Option<Option<PathBuf>>,
    key_head: Option<Option<String>>,
    info: SessionInfo,
    load_requested: bool,
    stop: bool,
    busy: bool,
    status: ModelStatus,
    latest: Option<LatestResult>,
    /// Set by the inference thread when a window failed (message); cleared by the next success.
    window_error: Option<String>,
    /// The shared model in use, to count its users when viewed.
    model_users: Option<std::sync::Weak<super::shared_models::SharedMulan>>,
    num_skipped: u64,
}

impl SlotState {
    fn has_pending_settings(&self) -> bool {
        self.queries.is_some()
            || self.model_dir.is_some()
            || self.labels_dir.is_some()
            || self.heads_dir.is_some()
            || self.key_head.is_some()
    }
}

struct Shared {
    state: Mutex<SlotState>,
    wake: Condvar,
    /// Set when the owner is dropped: a load in progress stops within one tensor, a window
    /// within one conformer layer.
    cancel: crate::load::CancelFlag,
}

fn lock(shared: &Shared) -> MutexGuard<'_, SlotState> {
    // A panic on the other side leaves plain data behind; keep going with it.
    shared
        .state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Owner of the inference thread; dropping it stops the thread (see the `Drop` impl).
pub struct InferenceThread {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// What the worker reads back each publish.
#[derive(Clone, Debug, Default)]
pub struct InferenceView {
    /// Model state.
    pub status: ModelStatus,
    /// Newest result, if any.
    pub latest: Option<LatestResult>,
    /// Error of the newest failed window, if the last window failed.
    pub window_error: Option<String>,
    /// Windows replaced in the slot before inference took them.
    pub num_skipped: u64,
    /// Whether a window is queued or running (or a settings change is pending).
    pub busy: bool,
    /// Model name, size, active key head and settings messages.
    pub info: SessionInfo,
}

impl InferenceThread {
    /// Starts the thread (it idles until [`Self::request_load`] or a window).
    pub fn spawn(options: ModelOptions, hook: Option<WindowHook>) -> Result<Self> {
        let shared = Arc::new(Shared {
            state: Mutex::new(SlotState::default()),
            wake: Condvar::new(),
            cancel: Arc::new(std::sync::atomic::AtomicBool::new(false)),
        });
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("muq-inference".into())
            .spawn(move || run_loop::run(&thread_shared, options, hook))
            .map_err(Error::WorkerSpawn)?;
        Ok(Self {
            shared,
            thread: Some(thread),
        })
    }

    /// Asks for the model to be loaded (idempotent).
    pub fn request_load(&self) {
        let mut state = lock(&self.shared);
        if !state.load_requested {
            state.load_requested = true;
            self.shared.wake.notify_one();
        }
    }

    /// Puts `job` in the slot, replacing (and counting as skipped) a window not yet taken.
    /// Returns the replaced job's buffer for reuse.
    pub fn submit(&self, job: WindowJob) -> Option<Vec<f32>> {
        let mut state = lock(&self.shared);
        state.load_requested = true;
        let old = state.job.replace(job);
        if old.is_some() {
            state.num_skipped += 1;
        }
        state.busy = true;
        self.shared.wake.notify_one();
        old.map(|j| j.samples)
    }

    /// Replaces the text queries (applied before the next window).
    pub fn set_queries(&self, texts: Vec<String>) {
        let mut state = lock(&self.shared);
        state.queries = Some(texts);
        self.shared.wake.notify_one();
    }

    /// Switches to another model folder (`None`: default lookup); it loads at once.
    pub fn set_model_dir(&self, dir: Option<PathBuf>) {
        let mut state = lock(&self.shared);
        state.model_dir = Some(dir);
        state.load_requested = true;
        self.shared.wake.notify_one();
    }

    /// Looks for the model again when it was missing or failed (a download just finished);
    /// a loaded model stays as it is.
    pub fn rescan_if_missing(&self) {
        let mut state = lock(&self.shared);
        if matches!(
            state.status,
            ModelStatus::Missing(..) | ModelStatus::Failed(..)
        ) {
            state.status = ModelStatus::NotLoaded;
            state.load_requested = true;
            self.shared.wake.notify_one();
        }
    }

    /// Rebuilds the zero-shot heads from this vocabulary folder (`None`: built-in).
    pub fn set_labels_dir(&self, dir: Option<PathBuf>) {
        let mut state = lock(&self.shared);
        state.labels_dir = Some(dir);
        self.shared.wake.notify_one();
    }

    /// Loads the probe heads from this folder (besides `<model dir>/heads/`) instead.
    pub fn set_heads_dir(&self, dir: Option<PathBuf>) {
        let mut state = lock(&self.shared);
        state.heads_dir = Some(dir);
        self.shared.wake.notify_one();
    }

    /// Lets the probe head with this task give the key (`None`: the built-in key).
    pub fn set_key_head(&self, task: Option<String>) {
        let mut state = lock(&self.shared);
        state.key_head = Some(task);
        self.shared.wake.notify_one();
    }

    /// `Err` when the thread is gone although nobody asked it to stop: a panic in the model
    /// (or a test hook) killed it. The worker's restart wrapper then rebuilds the analyzer.
    pub fn health(&self) -> std::result::Result<(), String> {
        match &self.thread {
            Some(thread) if thread.is_finished() => {
                Err("the inference thread stopped unexpectedly (a panic while loading or running the model)".into())
            }
            _ => Ok(()),
        }
    }

    /// A copy of the current state.
    pub fn view(&self) -> InferenceView {
        let state = lock(&self.shared);
        let mut info = state.info.clone();
        if let Some(users) = &state.model_users {
            info.num_sharing = users.strong_count();
        }
        InferenceView {
            status: state.status.clone(),
            latest: state.latest.clone(),
            window_error: state.window_error.clone(),
            num_skipped: state.num_skipped,
            busy: state.busy || state.has_pending_settings(),
            info,
        }
    }
}

impl Drop for InferenceThread {
    /// Stops the thread and joins it. A model load in progress stops within one tensor and a
    /// window within one conformer layer (the cancel flag), so this waits milliseconds, and no
    /// thread outlives its owner holding (or still loading) a model.
    fn drop(&mut self) {
        lock(&self.shared).stop = true;
        self.shared
            .cancel
            .store(true, std::sync::atomic::Ordering::Relaxed);
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
