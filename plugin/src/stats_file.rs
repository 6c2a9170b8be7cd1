//! Figures of a running instance written to a file for benchmarks and support: when the host
//! process was started with `MUQ_LIVE_STATS_DIR=<folder>`, each instance rewrites
//! `<folder>/muq-live-<pid>-<instance>.json` at most once a second from the worker thread
//! (achieved hop, windows analysed and skipped, inference time, model sharing, threads).
//! Nothing is written otherwise. The audio thread is never involved.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use muq_engine::bridge::EngineSnapshot;
use parking_lot::Mutex;

/// Environment variable naming the folder.
pub const STATS_DIR_ENV: &str = "MUQ_LIVE_STATS_DIR";

/// Shortest time between two writes.
const MIN_INTERVAL: Duration = Duration::from_secs(1);

/// Writes one instance's figures.
pub struct StatsFile {
    path: PathBuf,
    last_write: Mutex<Option<Instant>>,
}

impl StatsFile {
    /// `Some` when `MUQ_LIVE_STATS_DIR` is set; numbers instances of this process in order.
    pub fn from_env() -> Option<Self> {
        static NEXT_INSTANCE: AtomicU64 = AtomicU64::new(0);
        let dir = PathBuf::from(std::env::var_os(STATS_DIR_ENV)?);
        let instance = NEXT_INSTANCE.fetch_add(1, Ordering::Relaxed);
        Some(Self {
            path: dir.join(format!("muq-live-{}-{instance}.json", std::process::id())),
            last_write: Mutex::new(None),
        })
    }

    /// Writes the figures of `snapshot` unless the last write was under a second ago.
    pub fn maybe_write(&self, snapshot: &EngineSnapshot) {
        let mut last = self.last_write.lock();
        if last.is_some_and(|at| at.elapsed() < MIN_INTERVAL) {
            return;
        }
        *last = Some(Instant::now());
        let r = &snapshot.readouts;
        let json = serde_json::json!({
            "sample_rate_hz": snapshot.sample_rate_hz,
            "seconds_captured": snapshot.seconds_captured,
            "hop_s": snapshot.hop_s,
            "achieved_hop_s": r.achieved_hop_s,
            "num_windows_analysed": r.num_windows_analysed,
            "num_windows_skipped": r.num_windows_skipped,
            "inference_ms": r.inference_ms,
            "phase": r.phase.label(),
            "model_name": r.model_name,
            "num_model_users": r.num_model_users,
            "analysis_threads": r.analysis_threads,
            "dropped_samples": snapshot.dropped_samples,
        });
        let tmp = self.path.with_extension("json.tmp");
        // Best effort: a benchmark aid must never disturb the plugin.
        if std::fs::write(&tmp, json.to_string()).is_ok() {
            let _ = std::fs::rename(&tmp, &self.path);
        }
    }
}
