//! The worker thread's loop and the state it owns.

use super::{
    AnalysisSettings, Analyzer, IDLE_SLEEP_MS, LEVEL_HOLD_MS, LEVEL_WINDOW_MS, LevelMeter,
    PUBLISH_INTERVAL_MS, PublishHook, SettingsSource, WorkerSetup,
};
use crate::bridge::{
    Command, CommandReceiver, EngineSnapshot, SnapshotWriter, WorkerFeed, WorkerState,
};
use crate::download::{self, DownloadPhase, DownloadView};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Samples drained per read (about 85 ms at 48 kHz); the loop checks commands and the stop flag
/// between reads.
const DRAIN_CHUNK_SAMPLES: usize = 4096;

/// Everything the worker thread owns. Built on the spawning thread, then moved into the worker.
pub(super) struct LoopState {
    sample_rate_hz: f32,
    feed: WorkerFeed,
    settings_source: Arc<dyn SettingsSource>,
    /// Settings last given to the analyzers (`None` before the first `configure`).
    settings: Option<AnalysisSettings>,
    analyzers: Vec<Box<dyn Analyzer>>,
    on_publish: Option<PublishHook>,
    snapshot_writer: SnapshotWriter,
    commands: CommandReceiver,
    meter: LevelMeter,
    /// Preallocated read buffer for the ring.
    scratch: Vec<f32>,
    /// Samples drained since start or the last reset.
    num_drained: u64,
    /// `feed.dropped_samples()` at the last reset.
    dropped_baseline: u64,
    /// When samples last arrived (for the level hold).
    last_input_at: Instant,
    /// The snapshot being built; compared with `published` to skip unchanged publishes.
    snapshot: EngineSnapshot,
    /// The last snapshot published.
    published: EngineSnapshot,
    /// One line per analyzer that panicked; it was dropped and the loop went on without it.
    faults: Vec<String>,
    /// `download::completed_generation()` last passed on to the analyzers.
    seen_download_generation: u64,
    /// Why the last `DownloadModel` could not even start (shown instead of the process's view).
    download_start_error: Option<crate::download::DownloadView>,
}

/// Runs `call` on every analyzer; one that panics is dropped (its state may be broken) and the
/// panic is recorded in `faults`, so a bug in one analyzer never takes the worker down. (Wrap an
/// analyzer in [`super::RestartingAnalyzer`] to have it rebuilt instead.)
fn call_each(
    analyzers: &mut Vec<Box<dyn Analyzer>>,
    faults: &mut Vec<String>,
    mut call: impl FnMut(&mut dyn Analyzer),
) {
    analyzers.retain_mut(|analyzer| {
        let result =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| call(analyzer.as_mut())));
        let Err(payload) = result else {
            return true;
        };
        faults.push(fault_line(payload.as_ref()));
        false
    });
}

/// The status line for an analyzer that panicked and was switched off.
fn fault_line(payload: &(dyn std::any::Any + Send)) -> String {
    format!(
        "an analyzer panicked and was switched off: {}",
        super::panic_message(payload)
    )
}

impl LoopState {
    pub(super) fn new(
        setup: WorkerSetup,
        snapshot_writer: SnapshotWriter,
        commands: CommandReceiver,
    ) -> Self {
        let level_window_samples = (setup.sample_rate_hz * LEVEL_WINDOW_MS / 1000.0) as usize;
        Self {
            sample_rate_hz: setup.sample_rate_hz,
            feed: setup.feed,
            settings_source: setup.settings,
            settings: None,
            analyzers: setup.analyzers,
            on_publish: setup.on_publish,
            snapshot_writer,
            commands,
            meter: LevelMeter::new(level_window_samples),
            scratch: vec![0.0; DRAIN_CHUNK_SAMPLES],
            num_drained: 0,
            dropped_baseline: 0,
            last_input_at: Instant::now(),
            snapshot: EngineSnapshot::default(),
            published: EngineSnapshot::default(),
            faults: Vec::new(),
            seen_download_generation: download::completed_generation(),
            download_start_error: None,
        }
    }

    /// The thread body: runs until `stop_requested`, then publishes a final `Stopped` snapshot.
    pub(super) fn run(&mut self, stop_requested: &AtomicBool) {
        let publish_interval = Duration::from_millis(PUBLISH_INTERVAL_MS);
        let mut next_publish = Instant::now();
        loop {
            let stopping = stop_requested.load(Ordering::Acquire);
            self.apply_commands();
            self.poll_settings();
            let num_drained = self.drain_once();
            if stopping {
                self.publish(WorkerState::Stopped);
                return;
            }
            let now = Instant::now();
            if now >= next_publish {
                let state = match self.settings {
                    Some(settings) if !settings.enabled => WorkerState::Paused,
                    _ => WorkerState::Running,
                };
                self.publish(state);
                next_publish = now + publish_interval;
            }
            if num_drained < DRAIN_CHUNK_SAMPLES {
                std::thread::park_timeout(Duration::from_millis(IDLE_SLEEP_MS));
            }
        }
    }

    fn apply_commands(&mut self) {
        while let Some(command) = self.commands.try_recv() {
            match &command {
                Command::ResetCounters => {
                    self.num_drained = 0;
                    self.dropped_baseline = self.feed.dropped_samples();
                    self.meter.clear();
                }
                Command::DownloadModel(request) => self.start_download(request),
                Command::CancelModelDownload => download::cancel(),
                _ => {}
            }
            call_each(&mut self.analyzers, &mut self.faults, |a| {
                a.on_command(&command)
            });
        }
        let generation = download::completed_generation();
        if generation != self.seen_download_generation {
            self.seen_download_generation = generation;
            call_each(&mut self.analyzers, &mut self.faults, |a| {
                a.on_command(&Command::ModelFilesChanged)
            });
        }
    }

    fn start_download(&mut self, request: &download::DownloadRequest) {
        self.download_start_error =
            download::start(request.clone())
                .err()
                .map(|error| DownloadView {
                    phase: DownloadPhase::Failed,
                    message: error.to_string(),
                    target: request.target.describe(),
                    ..DownloadView::default()
                });
    }

    fn poll_settings(&mut self) {
        let current = self.settings_source.analysis_settings();
        if self.settings != Some(current) {
            self.settings = Some(current);
            let rate_hz = self.sample_rate_hz;
            call_each(&mut self.analyzers, &mut self.faults, |a| {
                a.configure(&current, rate_hz)
            });
        }
    }

    /// Reads one chunk from the ring, meters it and (unless paused) feeds the analyzers.
    fn drain_once(&mut self) -> usize {
        let num_read = self.feed.pop_into(&mut self.scratch);
        self.meter.observe_peak(self.feed.take_peak());
        if num_read == 0 {
            if self.last_input_at.elapsed() > Duration::from_millis(LEVEL_HOLD_MS) {
                self.meter.clear();
            }
            return 0;
        }
        self.last_input_at = Instant::now();
        let mono = &self.scratch[..num_read];
        self.meter.observe(mono);
        self.num_drained += num_read as u64;
        if self.settings.is_none_or(|settings| settings.enabled) {
            let rate_hz = self.sample_rate_hz;
            call_each(&mut self.analyzers, &mut self.faults, |a| {
                a.on_samples(mono, rate_hz)
            });
        }
        num_read
    }

    /// Builds the snapshot and publishes it if anything changed since the last publish.
    fn publish(&mut self, state: WorkerState) {
        let settings = self.settings.unwrap_or_default();
        let snapshot = &mut self.snapshot;
        snapshot.sample_rate_hz = self.sample_rate_hz;
        snapshot.seconds_captured = self.num_drained as f64 / f64::from(self.sample_rate_hz);
        snapshot.ring_fill_samples = self.feed.fill_samples();
        snapshot.ring_capacity_samples = self.feed.capacity_samples();
        snapshot.dropped_samples = self.feed.dropped_samples() - self.dropped_baseline;
        snapshot.input_peak_dbfs = self.meter.peak_dbfs();
        snapshot.input_rms_dbfs = self.meter.rms_dbfs();
        snapshot.state = state;
        snapshot.window_s = settings.window_s;
        snapshot.hop_s = settings.hop_s;
        snapshot.analyzer_status.clear();
        snapshot.num_analyzer_restarts = 0;
        snapshot.download = match &self.download_start_error {
            Some(view) => view.clone(),
            None => download::current_view().unwrap_or_default(),
        };
        // `fill_snapshot` runs analyzer code too: one that panics there is switched off as well.
        let faults = &mut self.faults;
        self.analyzers.retain(|analyzer| {
            let filled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                analyzer.fill_snapshot(snapshot)
            }));
            match filled {
                Ok(()) => true,
                Err(payload) => {
                    faults.push(fault_line(payload.as_ref()));
                    false
                }
            }
        });
        for fault in &self.faults {
            if !snapshot.analyzer_status.is_empty() {
                snapshot.analyzer_status.push_str("; ");
            }
            snapshot.analyzer_status.push_str(fault);
        }
        snapshot.num_publishes = self.published.num_publishes;
        if *snapshot == self.published {
            return;
        }
        snapshot.num_publishes += 1;
        self.snapshot_writer.publish(snapshot);
        self.published.clone_from(snapshot);
        if let Some(hook) = &self.on_publish {
            hook(snapshot);
        }
    }
}
