//! One download per process. Every plugin instance (and its worker) sees the same job: a second
//! "Download" while one runs joins it, and a finished download bumps a generation counter that
//! every worker watches to rescan for the model.
//!
//! The job's thread is cancelled and joined when the last [`DownloadInterest`] goes (the last
//! plugin instance was removed), so no thread of ours runs when the host unloads the library.

use super::progress::{DownloadPhase, DownloadView, Progress};
use super::{DownloadError, DownloadRequest, run_download};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

struct Job {
    progress: Progress,
    cancel: AtomicBool,
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// The latest job of this process (kept after it ends so its outcome stays visible).
static CURRENT: Mutex<Option<Arc<Job>>> = Mutex::new(None);
/// Downloads that completed in this process.
static NUM_COMPLETED: AtomicU64 = AtomicU64::new(0);
/// Live [`DownloadInterest`]s.
static NUM_INTERESTED: AtomicUsize = AtomicUsize::new(0);

fn current_job() -> MutexGuard<'static, Option<Arc<Job>>> {
    CURRENT.lock().unwrap_or_else(PoisonError::into_inner)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Starts downloading `request` on a thread of its own, or joins the download already running
/// in this process (whatever its request). Returns the running download's view.
pub fn start(request: DownloadRequest) -> Result<DownloadView, DownloadError> {
    let mut current = current_job();
    if let Some(job) = current.as_ref() {
        let view = job.progress.view();
        if view.is_active() {
            return Ok(view);
        }
    }
    let job = Arc::new(Job {
        progress: Progress::new(request.target.describe()),
        cancel: AtomicBool::new(false),
        thread: Mutex::new(None),
    });
    let for_thread = Arc::clone(&job);
    let thread = std::thread::Builder::new()
        .name("muq-model-download".into())
        .spawn(move || run_job(&request, &for_thread))
        .map_err(|e| DownloadError::disk("(download thread)", e))?;
    *lock(&job.thread) = Some(thread);
    let view = job.progress.view();
    *current = Some(job);
    Ok(view)
}

fn run_job(request: &DownloadRequest, job: &Job) {
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run_download(request, &job.progress, &job.cancel)
    }));
    match outcome {
        Ok(Ok(model_dir)) => {
            job.progress.finish(
                DownloadPhase::Done,
                format!("model ready in {}", model_dir.display()),
            );
            NUM_COMPLETED.fetch_add(1, Ordering::AcqRel);
        }
        Ok(Err(DownloadError::Cancelled)) => job.progress.finish(
            DownloadPhase::Cancelled,
            DownloadError::Cancelled.to_string(),
        ),
        Ok(Err(error)) => job
            .progress
            .finish(DownloadPhase::Failed, error.to_string()),
        Err(_) => job.progress.finish(
            DownloadPhase::Failed,
            "the download stopped on an internal error; start it again to resume".into(),
        ),
    }
}

/// Asks the running download, if any, to stop (it keeps what arrived for a resume).
pub fn cancel() {
    if let Some(job) = current_job().as_ref() {
        job.cancel.store(true, Ordering::Release);
    }
}

/// The latest download of this process (running or ended); `None` if there was none.
pub fn current_view() -> Option<DownloadView> {
    current_job().as_ref().map(|job| job.progress.view())
}

/// How many downloads completed in this process: a worker that sees this change looks for the
/// model again.
pub fn completed_generation() -> u64 {
    NUM_COMPLETED.load(Ordering::Acquire)
}

/// Held by each plugin instance. When the last one goes, a running download is cancelled and
/// its thread joined (within one 64 KiB read).
pub struct DownloadInterest {
    _private: (),
}

impl DownloadInterest {
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        NUM_INTERESTED.fetch_add(1, Ordering::AcqRel);
        Self { _private: () }
    }
}

impl Drop for DownloadInterest {
    fn drop(&mut self) {
        if NUM_INTERESTED.fetch_sub(1, Ordering::AcqRel) != 1 {
            return;
        }
        let Some(job) = current_job().clone() else {
            return;
        };
        job.cancel.store(true, Ordering::Release);
        let thread = lock(&job.thread).take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}
