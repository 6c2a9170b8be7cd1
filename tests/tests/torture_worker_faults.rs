//! Worker faults: an analyzer that panics (in `on_samples`, `configure` or `on_command`) is
//! caught by the worker, reported in the snapshot's `analyzer_status`, and switched off; the
//! worker keeps draining, metering and publishing, the other analyzers keep running, and
//! nothing is dropped.

use anyhow::{Result, bail};
use muq_engine::bridge::{self, Command, EngineSnapshot, WorkerState};
use muq_engine::worker::{self, AnalysisSettings, Analyzer, EngineLink, WorkerSetup};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
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
