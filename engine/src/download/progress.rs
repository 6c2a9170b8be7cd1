//! A download's progress, written by the downloading thread and read by the worker (for the
//! panel) or the CLI's progress bar.

use std::sync::Mutex;
use std::time::Instant;

/// Rate samples closer together than this are merged.
const RATE_SAMPLE_S: f64 = 0.5;
/// Weight of the newest sample in the smoothed rate.
const RATE_SMOOTHING: f64 = 0.3;

/// Where a download is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DownloadPhase {
    /// No download in this process yet.
    #[default]
    Idle,
    /// Asking the hub for sizes and digests.
    Checking,
    /// Receiving and hashing.
    Downloading,
    /// Every file is in place and verified.
    Done,
    /// Stopped by an error (see the message).
    Failed,
    /// Stopped by the user.
    Cancelled,
}

/// One consistent view of a download (part of the engine snapshot).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DownloadView {
    pub phase: DownloadPhase,
    /// The file being received, as `repo/file`.
    pub file: String,
    /// Bytes in place or received, over all files.
    pub bytes_done: u64,
    /// Bytes of all files (0 until the hub answered).
    pub bytes_total: u64,
    /// Smoothed receive rate (0 until measured).
    pub bytes_per_s: f64,
    /// Estimated time to the end (`None` until the rate is known).
    pub seconds_left: Option<f64>,
    /// The error (phase `Failed`), or where the model is (phase `Done`).
    pub message: String,
    /// Where the files go, in words.
    pub target: String,
}

impl DownloadView {
    /// Whether a download is under way.
    pub fn is_active(&self) -> bool {
        matches!(
            self.phase,
            DownloadPhase::Checking | DownloadPhase::Downloading
        )
    }

    /// Done bytes over total, 0 to 1 (0 while the total is unknown).
    pub fn fraction(&self) -> f32 {
        if self.bytes_total == 0 {
            0.0
        } else {
            (self.bytes_done as f64 / self.bytes_total as f64).clamp(0.0, 1.0) as f32
        }
    }
}

/// The shared progress of one download.
pub struct Progress {
    state: Mutex<ProgressState>,
}

struct ProgressState {
    view: DownloadView,
    /// When and at how many received bytes the rate was last sampled.
    rate_sample: Option<(Instant, u64)>,
    /// Bytes received from the network (resumed bytes are not counted in the rate).
    num_received: u64,
}

impl Progress {
    pub fn new(target: String) -> Self {
        Self {
            state: Mutex::new(ProgressState {
                view: DownloadView {
                    phase: DownloadPhase::Checking,
                    target,
                    ..DownloadView::default()
                },
                rate_sample: None,
                num_received: 0,
            }),
        }
    }

    pub fn view(&self) -> DownloadView {
        self.lock().view.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ProgressState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(super) fn set_total(&self, bytes_total: u64) {
        self.lock().view.bytes_total = bytes_total;
    }

    pub(super) fn start_file(&self, file: String) {
        let mut state = self.lock();
        state.view.phase = DownloadPhase::Downloading;
        state.view.file = file;
    }

    /// Bytes that were already there (a finished file, a resumed part).
    pub(super) fn add_present(&self, num_bytes: u64) {
        self.lock().view.bytes_done += num_bytes;
    }

    /// Takes back bytes counted as present that turned out unusable (a server that ignored
    /// the resume range).
    pub(super) fn remove_present(&self, num_bytes: u64) {
        let mut state = self.lock();
        state.view.bytes_done = state.view.bytes_done.saturating_sub(num_bytes);
    }

    /// Bytes just received.
    pub(super) fn add_received(&self, num_bytes: u64) {
        let mut state = self.lock();
        state.view.bytes_done += num_bytes;
        state.num_received += num_bytes;
        let now = Instant::now();
        let num_received = state.num_received;
        match state.rate_sample {
            None => state.rate_sample = Some((now, num_received)),
            Some((at, at_bytes)) => {
                let elapsed_s = now.duration_since(at).as_secs_f64();
                if elapsed_s >= RATE_SAMPLE_S {
                    let sample = (num_received - at_bytes) as f64 / elapsed_s;
                    let rate = if state.view.bytes_per_s > 0.0 {
                        (1.0 - RATE_SMOOTHING) * state.view.bytes_per_s + RATE_SMOOTHING * sample
                    } else {
                        sample
                    };
                    state.view.bytes_per_s = rate;
                    let left = state.view.bytes_total.saturating_sub(state.view.bytes_done);
                    state.view.seconds_left = (rate > 0.0).then(|| left as f64 / rate);
                    state.rate_sample = Some((now, num_received));
                }
            }
        }
    }

    pub(super) fn finish(&self, phase: DownloadPhase, message: String) {
        let mut state = self.lock();
        state.view.phase = phase;
        state.view.message = message;
        state.view.seconds_left = None;
        if phase == DownloadPhase::Done {
            state.view.bytes_done = state.view.bytes_total;
        }
    }
}
