//! The inference thread owned by [`super::MuqAnalyzer`]: it loads the model lazily and runs
//! windows handed over through a single "latest window" slot, so the worker thread never waits
//! for inference (it keeps publishing snapshots) and an overloaded model skips to the newest
//! window instead of building a backlog. Memory: one window in the slot plus one in flight.
//!
//! The mutex is only held to swap small values in and out, never during loading or inference.
//! Settings that change the heads of a loaded model are applied here too ([`settings`]).

pub mod settings;

use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Instant;

use super::cpu_budget;
use super::session::{ModelOptions, Session, WindowOutput};
use crate::{Error, Result};
pub use settings::SessionInfo;
use settings::{SettingsChanges, apply_changes, session_info};

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
            .spawn(move || run(&thread_shared, options, hook))
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

/// The thread body.
fn run(shared: &Shared, mut options: ModelOptions, hook: Option<WindowHook>) {
    let mut session: Option<Session> = None;
    let mut queries: Vec<String> = Vec::new();
    let mut epoch = 0u64;
    let mut last_end_s: Option<f64> = None;
    let mut achieved_hop_s = 0.0f32;
    let mut num_analysed = 0u64;
    let mut key_head: Option<String> = None;
    loop {
        let (job, new_queries, new_dir, want_load, changes) = {
            let mut state = lock(shared);
            loop {
                let wants_load =
                    state.load_requested && matches!(state.status, ModelStatus::NotLoaded);
                let has_work = state.job.is_some() || state.has_pending_settings();
                if state.stop || wants_load || has_work {
                    break;
                }
                state = shared
                    .wake
                    .wait(state)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
            }
            if state.stop {
                return;
            }
            let new_dir = state.model_dir.take();
            let want_load = new_dir.is_some()
                || (state.load_requested && matches!(state.status, ModelStatus::NotLoaded));
            if want_load {
                state.status = ModelStatus::Loading(0.0, "locating the model".into());
                state.info = SessionInfo::default();
                state.model_users = None;
            }
            let changes = SettingsChanges {
                labels_dir: state.labels_dir.take(),
                heads_dir: state.heads_dir.take(),
                key_head: state.key_head.take(),
            };
            if changes.any() || state.queries.is_some() {
                // Until applied: `wait_idle` must not see an idle thread.
                state.busy = true;
            }
            (
                state.job.take(),
                state.queries.take(),
                new_dir,
                want_load,
                changes,
            )
        };
        if let Some(dir) = new_dir {
            options.model_dir = dir;
        }
        if let Some(task) = changes.key_head.clone() {
            key_head = task;
        }
        if !want_load && let Some(s) = &mut session {
            apply_changes(s, &mut options, &changes, &key_head);
        } else {
            // Applied by the load below.
            if let Some(dir) = changes.labels_dir.clone() {
                options.labels_dir = dir;
            }
            if let Some(dir) = changes.heads_dir.clone() {
                options.heads_dir = dir;
            }
        }
        if changes.any() || want_load {
            let mut state = lock(shared);
            state.info = session.as_ref().map(session_info).unwrap_or_default();
            // Readouts of heads that are gone are not shown until the next window.
            if let (Some(latest), Some(s)) = (state.latest.as_mut(), &session) {
                latest
                    .output
                    .probes
                    .retain(|p| s.probes().find(&p.task).is_some());
            }
        }
        if want_load {
            session = None;
            // The queries about to be set (pending ones first) are embedded before the audio side.
            let upcoming = new_queries.as_ref().unwrap_or(&queries);
            let loaded = cpu_budget::run_on_pool(|| {
                Session::load_cancellable(&options, upcoming, &shared.cancel, |fraction, what| {
                    lock(shared).status = ModelStatus::Loading(fraction, what.to_string());
                })
            });
            let status = match loaded {
                Ok(mut s) => {
                    s.set_key_head(key_head.as_deref());
                    let status = match cpu_budget::run_on_pool(|| s.set_queries(&queries)) {
                        Ok(()) => ModelStatus::Ready(s.device().to_string()),
                        Err(e) => ModelStatus::Failed(
                            format!("text queries: {e}"),
                            "edit the queries".into(),
                        ),
                    };
                    session = Some(s);
                    status
                }
                Err(p) if p.missing => ModelStatus::Missing(p.message, p.hint),
                Err(p) => ModelStatus::Failed(p.message, p.hint),
            };
            let mut state = lock(shared);
            state.status = status;
            state.info = session.as_ref().map(session_info).unwrap_or_default();
            state.model_users = session.as_ref().and_then(Session::shared_model);
        }
        if let Some(texts) = new_queries {
            queries = texts;
            if let Some(s) = &mut session
                && let Err(e) = cpu_budget::run_on_pool(|| s.set_queries(&queries))
            {
                lock(shared).window_error = Some(format!("text queries: {e}"));
            }
        }
        let Some(job) = job else {
            let mut state = lock(shared);
            state.busy = state.job.is_some();
            continue;
        };
        let Some(s) = &mut session else {
            let mut state = lock(shared);
            state.busy = state.job.is_some();
            continue;
        };
        if job.stream_epoch != epoch {
            epoch = job.stream_epoch;
            s.reset_stream();
            last_end_s = None;
        }
        if lock(shared).stop {
            return;
        }
        // Instances take turns on the shared pool, one window each.
        let Some(_turn) = cpu_budget::wait_turn(&shared.cancel) else {
            return;
        };
        // The hook stands in for a slower model, so its time counts as inference time.
        let started = Instant::now();
        if let Some(hook) = &hook {
            hook(&shared.cancel);
        }
        let result = cpu_budget::run_on_pool(|| s.analyse(&job.samples, job.start_sample));
        let inference_ms = started.elapsed().as_secs_f32() * 1e3;
        let window_end_s = (job.start_sample + job.samples.len() as u64) as f64 / 24_000.0;
        let mut state = lock(shared);
        state.busy = state.job.is_some();
        match result {
            Ok(output) => {
                if let Some(prev) = last_end_s.filter(|_| !job.provisional) {
                    let hop = (window_end_s - prev) as f32;
                    achieved_hop_s = if achieved_hop_s == 0.0 {
                        hop
                    } else {
                        0.7 * achieved_hop_s + 0.3 * hop
                    };
                }
                if !job.provisional {
                    last_end_s = Some(window_end_s);
                }
                num_analysed += 1;
                state.window_error = None;
                state.latest = Some(LatestResult {
                    output,
                    window_end_s,
                    window_s: job.samples.len() as f32 / 24_000.0,
                    provisional: job.provisional,
                    inference_ms,
                    achieved_hop_s,
                    num_analysed,
                });
            }
            Err(e) => state.window_error = Some(e.to_string()),
        }
    }
}
