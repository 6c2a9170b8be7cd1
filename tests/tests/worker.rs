//! The analysis worker end to end: audio pushed through the tap arrives at the analyzers, the
//! snapshot reports it, commands and settings reach the worker, and stopping is prompt.

use muq_engine::bridge::{self, Command, EngineSnapshot, WorkerState};
use muq_engine::worker::{
    self, AnalysisSettings, Analyzer, EngineLink, SettingsSource, WorkerSetup,
};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SAMPLE_RATE_HZ: f32 = 48_000.0;

/// Records what the worker hands it, shared with the test through an `Arc`.
#[derive(Default)]
struct Probe {
    num_samples: AtomicU64,
    num_configures: AtomicU64,
    last_window_ms: AtomicU64,
    commands: Mutex<Vec<Command>>,
}

struct ProbeAnalyzer(Arc<Probe>);

impl Analyzer for ProbeAnalyzer {
    fn configure(&mut self, settings: &AnalysisSettings, sample_rate_hz: f32) {
        assert_eq!(sample_rate_hz, SAMPLE_RATE_HZ);
        self.0.num_configures.fetch_add(1, Ordering::SeqCst);
        self.0
            .last_window_ms
            .store((settings.window_s * 1000.0) as u64, Ordering::SeqCst);
    }

    fn on_samples(&mut self, mono: &[f32], _sample_rate_hz: f32) {
        self.0
            .num_samples
            .fetch_add(mono.len() as u64, Ordering::SeqCst);
    }

    fn on_command(&mut self, command: &Command) {
        if let Ok(mut commands) = self.0.commands.lock() {
            commands.push(command.clone());
        }
    }

    fn fill_snapshot(&self, snapshot: &mut EngineSnapshot) {
        let num_samples = self.0.num_samples.load(Ordering::SeqCst);
        snapshot.analyzer_status = format!("probe saw {num_samples} samples");
    }
}

/// Settings the test can flip while the worker runs.
struct Switchable {
    enabled: AtomicBool,
    window_ms: AtomicU64,
}

impl SettingsSource for Switchable {
    fn analysis_settings(&self) -> AnalysisSettings {
        AnalysisSettings {
            enabled: self.enabled.load(Ordering::SeqCst),
            window_s: self.window_ms.load(Ordering::SeqCst) as f32 / 1000.0,
            hop_s: 2.0,
            hold_inference: false,
        }
    }
}

fn wait_for(
    link: &mut EngineLink,
    what: &str,
    pred: impl Fn(&EngineSnapshot) -> bool,
) -> EngineSnapshot {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let snapshot = link.latest().clone();
        if pred(&snapshot) {
            return snapshot;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; last snapshot {snapshot:?}"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn samples_commands_and_settings_reach_the_worker() -> anyhow::Result<()> {
    let (mut tap, feed) = bridge::new(bridge::ring_capacity_for(SAMPLE_RATE_HZ)?)?;
    let probe = Arc::new(Probe::default());
    let settings = Arc::new(Switchable {
        enabled: AtomicBool::new(true),
        window_ms: AtomicU64::new(10_000),
    });
    let num_publish_hooks = Arc::new(AtomicU64::new(0));
    let hook_counter = Arc::clone(&num_publish_hooks);
    let (worker, mut link) = worker::spawn(WorkerSetup {
        sample_rate_hz: SAMPLE_RATE_HZ,
        feed,
        settings: settings.clone(),
        analyzers: vec![Box::new(ProbeAnalyzer(Arc::clone(&probe)))],
        on_publish: Some(Box::new(move |_| {
            hook_counter.fetch_add(1, Ordering::SeqCst);
        })),
    })?;

    // One second of a -6 dBFS square wave, stereo, in uneven blocks.
    let amplitude = 0.5_f32;
    let left: Vec<f32> = (0..48_000)
        .map(|i| {
            if (i / 24) % 2 == 0 {
                amplitude
            } else {
                -amplitude
            }
        })
        .collect();
    let right = left.clone();
    let mut start = 0;
    for block_len in [1, 64, 511, 4096].iter().cycle() {
        let end = (start + block_len).min(left.len());
        assert_eq!(
            tap.push_block(&[&left[start..end], &right[start..end]]),
            end - start
        );
        start = end;
        if start == left.len() {
            break;
        }
    }

    let snapshot = wait_for(&mut link, "one second captured", |s| {
        s.seconds_captured >= 1.0
    });
    assert_eq!(snapshot.state, WorkerState::Running);
    assert_eq!(snapshot.sample_rate_hz, SAMPLE_RATE_HZ);
    assert_eq!(snapshot.dropped_samples, 0);
    assert!((snapshot.seconds_captured - 1.0).abs() < 1e-9);
    assert!(snapshot.ring_capacity_samples >= 20 * 48_000);
    assert!(
        (snapshot.input_peak_dbfs - -6.0206).abs() < 0.01,
        "{snapshot:?}"
    );
    assert!(
        (snapshot.input_rms_dbfs - -6.0206).abs() < 0.01,
        "{snapshot:?}"
    );
    assert_eq!(probe.num_samples.load(Ordering::SeqCst), 48_000);
    assert!(
        snapshot.analyzer_status.contains("48000"),
        "{}",
        snapshot.analyzer_status
    );
    assert!(num_publish_hooks.load(Ordering::SeqCst) >= 1);
    assert!(snapshot.num_publishes >= 1);

    // Settings: a changed window reconfigures the analyzers; disabling pauses them.
    settings.window_ms.store(5_000, Ordering::SeqCst);
    wait_for(&mut link, "new window", |s| s.window_s == 5.0);
    assert_eq!(probe.last_window_ms.load(Ordering::SeqCst), 5_000);
    assert!(probe.num_configures.load(Ordering::SeqCst) >= 2);
    settings.enabled.store(false, Ordering::SeqCst);
    wait_for(&mut link, "paused", |s| s.state == WorkerState::Paused);
    tap.push_block(&[&left[..4800]]);
    wait_for(&mut link, "1.1 s captured while paused", |s| {
        s.seconds_captured >= 1.1 - 1e-9
    });
    assert_eq!(
        probe.num_samples.load(Ordering::SeqCst),
        48_000,
        "paused analyzers got audio"
    );

    // Commands: reset clears the counters and is forwarded to the analyzers.
    link.send(Command::ResetCounters)
        .map_err(|c| anyhow::anyhow!("queue refused {c:?}"))?;
    link.send(Command::SetTextQueries(vec!["solo piano".into()]))
        .map_err(|c| anyhow::anyhow!("queue refused {c:?}"))?;
    wait_for(&mut link, "reset", |s| s.seconds_captured == 0.0);
    let deadline = Instant::now() + Duration::from_secs(5);
    while probe.commands.lock().map(|c| c.len()).unwrap_or(0) < 2 {
        assert!(Instant::now() < deadline, "commands were not forwarded");
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(
        *probe
            .commands
            .lock()
            .map_err(|_| anyhow::anyhow!("poisoned"))?,
        vec![
            Command::ResetCounters,
            Command::SetTextQueries(vec!["solo piano".into()])
        ]
    );

    // Stopping is prompt and the last snapshot says so.
    let started = Instant::now();
    worker.stop()?;
    let stop_ms = started.elapsed().as_secs_f64() * 1000.0;
    assert!(stop_ms < 50.0, "stopping took {stop_ms:.1} ms");
    assert_eq!(link.latest().state, WorkerState::Stopped);
    assert!(link.commands.is_disconnected());
    Ok(())
}

#[test]
fn a_full_ring_drops_and_the_snapshot_counts_it() -> anyhow::Result<()> {
    // A tiny ring and no worker draining it yet: the second block overflows.
    let (mut tap, feed) = bridge::new(1000)?;
    let block = vec![0.25_f32; 800];
    tap.push_block(&[&block[..]]);
    tap.push_block(&[&block[..]]);
    assert_eq!(tap.dropped_samples(), 600);
    let (worker, mut link) = worker::spawn(WorkerSetup {
        sample_rate_hz: SAMPLE_RATE_HZ,
        feed,
        settings: Arc::new(AnalysisSettings::default()),
        analyzers: Vec::new(),
        on_publish: None,
    })?;
    let snapshot = wait_for(&mut link, "the ring drained", |s| {
        s.seconds_captured > 0.0 && s.ring_fill_samples == 0
    });
    assert_eq!(snapshot.dropped_samples, 600);
    assert!((snapshot.seconds_captured * f64::from(SAMPLE_RATE_HZ) - 1000.0).abs() < 1e-6);
    drop(worker); // Drop joins too.
    assert_eq!(link.latest().state, WorkerState::Stopped);
    Ok(())
}

#[test]
fn bad_sample_rate_is_an_error_not_a_thread() -> anyhow::Result<()> {
    let (_tap, feed) = bridge::new(16)?;
    let result = worker::spawn(WorkerSetup {
        sample_rate_hz: f32::NAN,
        feed,
        settings: Arc::new(AnalysisSettings::default()),
        analyzers: Vec::new(),
        on_publish: None,
    });
    let Err(err) = result else {
        anyhow::bail!("a NaN sample rate was accepted")
    };
    assert!(err.to_string().contains("sample rate"), "{err}");
    Ok(())
}
