//! Worker faults: an analyzer that panics (in `on_samples`, `configure`, `on_command` or
//! `fill_snapshot`) is caught by the worker, reported in the snapshot's `analyzer_status`, and
//! switched off; wrapped in a `RestartingAnalyzer` it is rebuilt by its factory after a back-off
//! and gets the settings and commands back (`num_analyzer_restarts` counts it). The worker keeps
//! draining, metering and publishing, the other analyzers keep running, and nothing is dropped.

use anyhow::{Result, bail};
use muq_engine::bridge::{self, Command, EngineSnapshot, WorkerState};
use muq_engine::worker::{
    self, AnalysisSettings, Analyzer, AnalyzerFactory, EngineLink, RestartingAnalyzer, WorkerSetup,
};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SAMPLE_RATE_HZ: f32 = 48_000.0;

/// Where the faulty analyzer panics.
#[derive(Clone, Copy, PartialEq)]
enum FaultAt {
    Samples,
    Configure,
    Command,
}

struct Faulty {
    at: FaultAt,
    num_samples: Arc<AtomicU64>,
}

impl Analyzer for Faulty {
    fn configure(&mut self, _settings: &AnalysisSettings, _sample_rate_hz: f32) {
        assert!(self.at != FaultAt::Configure, "injected fault in configure");
    }
    fn on_samples(&mut self, mono: &[f32], _sample_rate_hz: f32) {
        let seen = self
            .num_samples
            .fetch_add(mono.len() as u64, Ordering::SeqCst);
        // Panics once it has seen about a quarter second, like a model failing mid-stream.
        assert!(
            self.at != FaultAt::Samples || seen < 12_000,
            "injected fault in inference"
        );
    }
    fn on_command(&mut self, _command: &Command) {
        assert!(self.at != FaultAt::Command, "injected fault in on_command");
    }
    fn fill_snapshot(&self, _snapshot: &mut EngineSnapshot) {}
}

/// A healthy analyzer next to the faulty one: it must keep getting every sample.
struct Counter(Arc<AtomicU64>);

impl Analyzer for Counter {
    fn configure(&mut self, _settings: &AnalysisSettings, _sample_rate_hz: f32) {}
    fn on_samples(&mut self, mono: &[f32], _sample_rate_hz: f32) {
        self.0.fetch_add(mono.len() as u64, Ordering::SeqCst);
    }
    fn on_command(&mut self, _command: &Command) {}
    fn fill_snapshot(&self, snapshot: &mut EngineSnapshot) {
        snapshot.analyzer_status = format!("counter: {}", self.0.load(Ordering::SeqCst));
    }
}

fn wait_for(
    link: &mut EngineLink,
    what: &str,
    pred: impl Fn(&EngineSnapshot) -> bool,
) -> Result<EngineSnapshot> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let snapshot = link.latest().clone();
        if pred(&snapshot) {
            return Ok(snapshot);
        }
        if Instant::now() > deadline {
            bail!("timed out waiting for {what}: {snapshot:?}");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn survive(at: FaultAt, label: &str) -> Result<()> {
    let (mut tap, feed) = bridge::new(bridge::ring_capacity_for(SAMPLE_RATE_HZ)?)?;
    let faulty_samples = Arc::new(AtomicU64::new(0));
    let healthy_samples = Arc::new(AtomicU64::new(0));
    let (worker, mut link) = worker::spawn(WorkerSetup {
        sample_rate_hz: SAMPLE_RATE_HZ,
        feed,
        settings: Arc::new(AnalysisSettings::default()),
        analyzers: vec![
            Box::new(Faulty {
                at,
                num_samples: Arc::clone(&faulty_samples),
            }),
            Box::new(Counter(Arc::clone(&healthy_samples))),
        ],
        on_publish: None,
    })?;
    if at == FaultAt::Command {
        link.send(Command::ResetCounters)
            .map_err(|c| anyhow::anyhow!("queue refused {c:?}"))?;
    }
    // Two seconds of audio in 512-frame blocks, paced so the ring never overflows.
    let block = vec![0.25_f32; 512];
    let num_blocks = 2 * SAMPLE_RATE_HZ as usize / 512;
    for _ in 0..num_blocks {
        tap.push_block(&[&block[..], &block[..]]);
    }
    let total = (num_blocks * 512) as f64 / f64::from(SAMPLE_RATE_HZ);
    let snapshot = wait_for(&mut link, "all audio drained after the fault", |s| {
        (s.seconds_captured - total).abs() < 1e-9 && s.analyzer_status.contains("panicked")
    })?;
    println!(
        "{label}: {:?} | worker {:?}, {:.3} s captured, dropped {}, peak {:.2} dBFS",
        snapshot.analyzer_status,
        snapshot.state,
        snapshot.seconds_captured,
        snapshot.dropped_samples,
        snapshot.input_peak_dbfs
    );
    assert_eq!(snapshot.state, WorkerState::Running);
    assert_eq!(snapshot.dropped_samples, 0);
    assert!(
        snapshot.analyzer_status.contains("injected fault"),
        "{}",
        snapshot.analyzer_status
    );
    assert!(
        (snapshot.input_peak_dbfs - -12.04).abs() < 0.01,
        "metering stopped: {snapshot:?}"
    );
    assert_eq!(
        healthy_samples.load(Ordering::SeqCst),
        (num_blocks * 512) as u64
    );
    if at == FaultAt::Samples {
        assert!(faulty_samples.load(Ordering::SeqCst) >= 12_000);
    }
    assert!(worker.is_running(), "the worker thread died");
    worker.stop()?;
    Ok(())
}

#[test]
fn a_panic_in_inference_is_reported_and_the_worker_keeps_going() -> Result<()> {
    survive(FaultAt::Samples, "panic in on_samples")
}

#[test]
fn a_panic_in_configure_or_a_command_is_reported_and_the_worker_keeps_going() -> Result<()> {
    survive(FaultAt::Configure, "panic in configure")?;
    survive(FaultAt::Command, "panic in on_command")
}

/// What each instance built by the restart test's factory has seen; shared with the test.
#[derive(Default)]
struct Instances {
    /// Per instance: samples seen, whether it was configured, the queries it was given.
    seen: Mutex<Vec<(u64, bool, Vec<String>)>>,
}

impl Instances {
    fn seen(&self) -> std::sync::MutexGuard<'_, Vec<(u64, bool, Vec<String>)>> {
        // A panicking instance may poison the lock; the data is still what it saw.
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Panics after 12 000 samples while it is one of the first `num_faulty` instances, and in
/// `fill_snapshot` when `fill_panics` (first instance only).
struct Restartable {
    idx: usize,
    num_faulty: usize,
    fill_panics: bool,
    shared: Arc<Instances>,
}

impl Analyzer for Restartable {
    fn configure(&mut self, _settings: &AnalysisSettings, _sample_rate_hz: f32) {
        self.shared.seen()[self.idx].1 = true;
    }
    fn on_samples(&mut self, mono: &[f32], _sample_rate_hz: f32) {
        let seen = {
            let mut all = self.shared.seen();
            all[self.idx].0 += mono.len() as u64;
            all[self.idx].0
        };
        assert!(
            self.idx >= self.num_faulty || self.fill_panics || seen < 12_000,
            "injected fault in inference of instance {}",
            self.idx
        );
    }
    fn on_command(&mut self, command: &Command) {
        if let Command::SetTextQueries(texts) = command {
            self.shared.seen()[self.idx].2.clone_from(texts);
        }
    }
    fn fill_snapshot(&self, snapshot: &mut EngineSnapshot) {
        assert!(
            !(self.fill_panics && self.idx == 0 && self.shared.seen()[0].0 >= 12_000),
            "injected fault in fill_snapshot"
        );
        snapshot.readouts.message = format!("instance {}", self.idx);
    }
}

/// Pushes `seconds` of audio in 512-frame blocks, waiting so the ring never fills.
fn push_paced(tap: &mut bridge::AudioTap, link: &mut EngineLink, seconds: f32) -> Result<u64> {
    let block = vec![0.25_f32; 512];
    let num_blocks = (seconds * SAMPLE_RATE_HZ) as usize / 512;
    let start_s = link.latest().seconds_captured;
    for block_idx in 0..num_blocks {
        tap.push_block(&[&block[..], &block[..]]);
        if block_idx % 64 == 63 {
            let pushed_s = start_s + ((block_idx + 1) * 512) as f64 / f64::from(SAMPLE_RATE_HZ);
            wait_for(link, "the worker to keep up", |s| {
                s.seconds_captured + 5.0 >= pushed_s
            })?;
            // Real time passes too, so the restart back-off can run out.
            std::thread::sleep(Duration::from_millis(4));
        }
    }
    Ok((num_blocks * 512) as u64)
}

fn restart_case(num_faulty: usize, fill_panics: bool, label: &str) -> Result<()> {
    let (mut tap, feed) = bridge::new(bridge::ring_capacity_for(SAMPLE_RATE_HZ)?)?;
    let shared = Arc::new(Instances::default());
    let healthy_samples = Arc::new(AtomicU64::new(0));
    let factory_shared = Arc::clone(&shared);
    let factory: AnalyzerFactory = Box::new(move || {
        let mut seen = factory_shared.seen();
        seen.push((0, false, Vec::new()));
        Ok(Box::new(Restartable {
            idx: seen.len() - 1,
            num_faulty,
            fill_panics,
            shared: Arc::clone(&factory_shared),
        }) as Box<dyn Analyzer>)
    });
    let (worker, mut link) = worker::spawn(WorkerSetup {
        sample_rate_hz: SAMPLE_RATE_HZ,
        feed,
        settings: Arc::new(AnalysisSettings::default()),
        // The counter first: it overwrites the status line, the restarting wrapper appends.
        analyzers: vec![
            Box::new(Counter(Arc::clone(&healthy_samples))),
            Box::new(RestartingAnalyzer::new(factory)?),
        ],
        on_publish: None,
    })?;
    let queries = vec!["solo piano".to_string()];
    link.send(Command::SetTextQueries(queries.clone()))
        .map_err(|c| anyhow::anyhow!("queue refused {c:?}"))?;
    let started = Instant::now();
    let mut num_pushed = 0;
    let expected_restarts = num_faulty.max(usize::from(fill_panics)) as u64;
    // Push until the last instance has been built and has run a while (the back-off doubles).
    while started.elapsed() < Duration::from_secs(20) {
        num_pushed += push_paced(&mut tap, &mut link, 1.0)?;
        let s = link.latest().clone();
        if s.num_analyzer_restarts >= expected_restarts
            && s.readouts.message.starts_with("instance")
        {
            break;
        }
    }
    let total_s = num_pushed as f64 / f64::from(SAMPLE_RATE_HZ);
    let snapshot = wait_for(&mut link, "all audio drained", |s| {
        (s.seconds_captured - total_s).abs() < 1e-9
    })?;
    let seen = shared.seen().clone();
    println!(
        "{label}: {} restarts in {:.2} s of wall time, {:.1} s of audio; status {:?}; per instance \
         (samples, configured, queries): {seen:?}",
        snapshot.num_analyzer_restarts,
        started.elapsed().as_secs_f64(),
        total_s,
        snapshot.analyzer_status
    );
    assert_eq!(
        snapshot.num_analyzer_restarts, expected_restarts,
        "{snapshot:?}"
    );
    assert_eq!(seen.len() as u64, expected_restarts + 1);
    assert!(
        snapshot.analyzer_status.contains("restarted it"),
        "{snapshot:?}"
    );
    assert!(
        snapshot.analyzer_status.contains("injected fault"),
        "{snapshot:?}"
    );
    assert_eq!(
        snapshot.readouts.message,
        format!("instance {expected_restarts}")
    );
    // Every new instance got the settings and the queries replayed, and audio again.
    for (idx, (num_samples, configured, got_queries)) in seen.iter().enumerate() {
        assert!(*configured, "instance {idx} was not configured");
        assert_eq!(got_queries, &queries, "instance {idx} lost the queries");
        assert!(*num_samples > 0, "instance {idx} got no audio");
    }
    assert_eq!(snapshot.dropped_samples, 0);
    assert_eq!(healthy_samples.load(Ordering::SeqCst), num_pushed);
    assert!(worker.is_running(), "the worker thread died");
    worker.stop()?;
    Ok(())
}

#[test]
fn a_panicking_analyzer_is_restarted_with_back_off_and_gets_its_settings_back() -> Result<()> {
    restart_case(3, false, "3 panics in on_samples")
}

#[test]
fn a_panic_in_fill_snapshot_is_caught_and_restarted() -> Result<()> {
    restart_case(0, true, "panic in fill_snapshot (restarting wrapper)")
}

/// A plain analyzer that panics in `fill_snapshot` is switched off like one that panics
/// elsewhere; the worker keeps publishing.
struct BadFill;

impl Analyzer for BadFill {
    fn on_samples(&mut self, _mono: &[f32], _sample_rate_hz: f32) {}
    fn fill_snapshot(&self, _snapshot: &mut EngineSnapshot) {
        panic!("injected fault in fill_snapshot");
    }
}

#[test]
fn a_panic_in_fill_snapshot_switches_a_plain_analyzer_off() -> Result<()> {
    let (mut tap, feed) = bridge::new(bridge::ring_capacity_for(SAMPLE_RATE_HZ)?)?;
    let healthy_samples = Arc::new(AtomicU64::new(0));
    let (worker, mut link) = worker::spawn(WorkerSetup {
        sample_rate_hz: SAMPLE_RATE_HZ,
        feed,
        settings: Arc::new(AnalysisSettings::default()),
        analyzers: vec![
            Box::new(BadFill),
            Box::new(Counter(Arc::clone(&healthy_samples))),
        ],
        on_publish: None,
    })?;
    let num_pushed = push_paced(&mut tap, &mut link, 1.0)?;
    let snapshot = wait_for(&mut link, "the fault reported and audio drained", |s| {
        s.analyzer_status.contains("fill_snapshot")
            && healthy_samples.load(Ordering::SeqCst) == num_pushed
    })?;
    println!(
        "plain analyzer panicking in fill_snapshot: {:?}",
        snapshot.analyzer_status
    );
    assert!(snapshot.analyzer_status.contains("switched off"));
    assert_eq!(snapshot.state, WorkerState::Running);
    assert!(worker.is_running());
    worker.stop()?;
    Ok(())
}

/// Like the MuQ analyzer, runs "inference" on its own thread; the first instance's thread
/// panics on its first window, the worker-side calls never do. `health` reports the dead thread.
struct WithHelperThread {
    idx: usize,
    helper: std::thread::JoinHandle<()>,
    windows: std::sync::mpsc::Sender<u64>,
    num_samples: u64,
    num_built: Arc<AtomicU64>,
}

impl WithHelperThread {
    fn new(num_built: Arc<AtomicU64>) -> Self {
        let idx = num_built.fetch_add(1, Ordering::SeqCst) as usize;
        let (windows, inbox) = std::sync::mpsc::channel::<u64>();
        let helper = std::thread::spawn(move || {
            while let Ok(window_idx) = inbox.recv() {
                assert!(
                    idx > 0,
                    "injected fault in the inference thread, window {window_idx}"
                );
            }
        });
        Self {
            idx,
            helper,
            windows,
            num_samples: 0,
            num_built,
        }
    }
}

impl Analyzer for WithHelperThread {
    fn on_samples(&mut self, mono: &[f32], _sample_rate_hz: f32) {
        self.num_samples += mono.len() as u64;
        // A "window" every 24 000 samples; sending to a dead thread is not an error here.
        let _ = self.windows.send(self.num_samples / 24_000);
    }
    fn fill_snapshot(&self, snapshot: &mut EngineSnapshot) {
        snapshot.readouts.message = format!(
            "instance {} of {}",
            self.idx,
            self.num_built.load(Ordering::SeqCst)
        );
    }
    fn health(&self) -> std::result::Result<(), String> {
        if self.helper.is_finished() {
            Err("the inference thread died".into())
        } else {
            Ok(())
        }
    }
}

#[test]
fn a_dead_inference_thread_is_noticed_through_health_and_restarted() -> Result<()> {
    let (mut tap, feed) = bridge::new(bridge::ring_capacity_for(SAMPLE_RATE_HZ)?)?;
    let num_built = Arc::new(AtomicU64::new(0));
    let factory_count = Arc::clone(&num_built);
    let factory: AnalyzerFactory = Box::new(move || {
        Ok(Box::new(WithHelperThread::new(Arc::clone(&factory_count))) as Box<dyn Analyzer>)
    });
    let (worker, mut link) = worker::spawn(WorkerSetup {
        sample_rate_hz: SAMPLE_RATE_HZ,
        feed,
        settings: Arc::new(AnalysisSettings::default()),
        analyzers: vec![Box::new(RestartingAnalyzer::new(factory)?)],
        on_publish: None,
    })?;
    let started = Instant::now();
    let mut snapshot = link.latest().clone();
    while started.elapsed() < Duration::from_secs(10) {
        push_paced(&mut tap, &mut link, 0.5)?;
        snapshot = link.latest().clone();
        if snapshot.num_analyzer_restarts >= 1
            && snapshot.readouts.message.starts_with("instance 1")
        {
            break;
        }
    }
    println!(
        "helper thread panic: {} restart(s) after {:.2} s; status {:?}",
        snapshot.num_analyzer_restarts,
        started.elapsed().as_secs_f64(),
        snapshot.analyzer_status
    );
    assert_eq!(snapshot.num_analyzer_restarts, 1, "{snapshot:?}");
    assert!(
        snapshot
            .analyzer_status
            .contains("the inference thread died"),
        "{snapshot:?}"
    );
    assert_eq!(snapshot.dropped_samples, 0);
    assert!(worker.is_running());
    worker.stop()?;
    Ok(())
}
