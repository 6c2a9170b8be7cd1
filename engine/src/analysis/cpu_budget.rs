//! The CPU budget of inference: one process-wide pool of our own threads, shared fairly by
//! every instance, at below-normal OS priority.
//!
//! - **Our own pool.** candle's CPU kernels and our convolutions parallelise with rayon; run
//!   inside [`run_on_pool`] they use this pool's threads instead of rayon's global pool, which
//!   the host or other plugins may own. The pool has [`analysis_threads`] threads (a
//!   process-wide setting, default half the logical cores, at least 1); changing it builds a
//!   new pool for the next window, and the old one ends when its last window does.
//! - **Fair turns.** [`wait_turn`] queues a caller (an instance's inference thread with its
//!   newest window) and returns when it is first in line: instances take turns in the order
//!   they asked, one window each, so none is starved and the pool never runs two windows at
//!   once (each instance keeps only its newest window, so none builds a backlog).
//! - **Low priority.** Pool threads lower their own priority when they start (Linux
//!   `setpriority` nice +10 on the thread, macOS QoS "utility", Windows below normal).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

/// Thread-name prefix of the pool's threads.
pub const POOL_THREAD_PREFIX: &str = "muq-analysis";

/// Half the logical cores, at least 1.
pub fn default_analysis_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1))
}

/// Requested pool size; 0 = not set (the default).
static REQUESTED_THREADS: AtomicUsize = AtomicUsize::new(0);

/// The process-wide number of inference threads.
pub fn analysis_threads() -> usize {
    match REQUESTED_THREADS.load(Ordering::Relaxed) {
        0 => default_analysis_threads(),
        n => n,
    }
}

/// Most threads the setting accepts.
pub fn max_analysis_threads() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// Sets the process-wide number of inference threads (clamped to 1..=logical cores; 0 = the
/// default). Takes effect at the next window.
pub fn set_analysis_threads(num_threads: usize) {
    let n = if num_threads == 0 {
        0
    } else {
        num_threads.clamp(1, max_analysis_threads())
    };
    REQUESTED_THREADS.store(n, Ordering::Relaxed);
}

struct PoolSlot {
    pool: Option<(usize, Arc<rayon::ThreadPool>)>,
}

fn pool_slot() -> MutexGuard<'static, PoolSlot> {
    static SLOT: OnceLock<Mutex<PoolSlot>> = OnceLock::new();
    SLOT.get_or_init(|| Mutex::new(PoolSlot { pool: None }))
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Lowers the calling thread's scheduling priority (see the module docs).
fn lower_own_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid has no preconditions; setpriority on our own thread id only changes
        // this thread's nice value (Linux applies PRIO_PROCESS to a single thread id).
        unsafe {
            let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
            libc::setpriority(libc::PRIO_PROCESS, tid, 10);
        }
    }
    #[cfg(target_os = "macos")]
    {
        // SAFETY: sets the QoS class of the calling thread only.
        unsafe {
            libc::pthread_set_qos_class_self_np(libc::qos_class_t::QOS_CLASS_UTILITY, 0);
        }
    }
    #[cfg(windows)]
    {
        use windows_sys::Win32::System::Threading::{
            GetCurrentThread, SetThreadPriority, THREAD_PRIORITY_BELOW_NORMAL,
        };
        // SAFETY: GetCurrentThread returns a pseudo-handle to the calling thread; changing its
        // priority affects only this thread.
        unsafe {
            SetThreadPriority(GetCurrentThread(), THREAD_PRIORITY_BELOW_NORMAL);
        }
    }
}

static POOLS_BUILT: AtomicU64 = AtomicU64::new(0);

/// The pool for the current setting (built on first use or after the setting changed).
fn current_pool() -> std::io::Result<Arc<rayon::ThreadPool>> {
    let want = analysis_threads();
    let mut slot = pool_slot();
    if let Some((n, pool)) = &slot.pool
        && *n == want
    {
        return Ok(Arc::clone(pool));
    }
    let generation = POOLS_BUILT.fetch_add(1, Ordering::Relaxed);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(want)
        .thread_name(move |idx| format!("{POOL_THREAD_PREFIX}-{generation}-{idx}"))
        .start_handler(|_| lower_own_priority())
        .build()
        .map_err(std::io::Error::other)?;
    let pool = Arc::new(pool);
    slot.pool = Some((want, Arc::clone(&pool)));
    Ok(pool)
}

/// Runs `work` on the inference pool (its rayon work stays on the pool's threads); the caller
/// blocks until it is done. Falls back to the calling thread if no pool can be started.
pub fn run_on_pool<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    match current_pool() {
        Ok(pool) => pool.install(work),
        Err(_) => work(),
    }
}

/// Threads of the pool now in use (0 before the first window).
pub fn pool_threads_in_use() -> usize {
    pool_slot()
        .pool
        .as_ref()
        .map_or(0, |(_, pool)| pool.current_num_threads())
}

#[derive(Default)]
struct Turns {
    queue: Mutex<VecDeque<u64>>,
    changed: Condvar,
    next_id: AtomicU64,
}

fn turns() -> &'static Turns {
    static TURNS: OnceLock<Turns> = OnceLock::new();
    TURNS.get_or_init(Turns::default)
}

fn lock_queue(t: &Turns) -> MutexGuard<'_, VecDeque<u64>> {
    t.queue
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Holding it means it is this caller's turn on the pool; dropping it passes the turn on.
pub struct Turn {
    id: u64,
}

impl Drop for Turn {
    fn drop(&mut self) {
        let t = turns();
        lock_queue(t).retain(|&id| id != self.id);
        t.changed.notify_all();
    }
}

/// How often a queued caller re-checks its cancel flag.
const TURN_POLL_MS: u64 = 20;

/// Queues the caller and waits until it is first in line; `None` when `cancel` is set first
/// (the caller leaves the queue).
pub fn wait_turn(cancel: &AtomicBool) -> Option<Turn> {
    let t = turns();
    let id = t.next_id.fetch_add(1, Ordering::Relaxed);
    let mut queue = lock_queue(t);
    queue.push_back(id);
    loop {
        if cancel.load(Ordering::Relaxed) {
            queue.retain(|&q| q != id);
            drop(queue);
            t.changed.notify_all();
            return None;
        }
        if queue.front() == Some(&id) {
            return Some(Turn { id });
        }
        queue = t
            .changed
            .wait_timeout(queue, Duration::from_millis(TURN_POLL_MS))
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .0;
    }
}

/// Callers waiting for or holding a turn.
pub fn num_queued() -> usize {
    lock_queue(turns()).len()
}
