//! [`RestartingAnalyzer`]: an [`Analyzer`] rebuilt from its factory after it panics.
//!
//! The worker switches off an analyzer that panics (its state may be broken). Wrapped in a
//! `RestartingAnalyzer`, the panic is caught one level lower (and an instance whose
//! [`Analyzer::health`] reports a dead part, e.g. a helper thread that panicked, is treated the
//! same way): the broken instance is dropped, the fault is reported in the snapshot's
//! `analyzer_status`, and after a back-off (doubling from [`RESTART_BACKOFF_MIN_MS`] to
//! [`RESTART_BACKOFF_MAX_MS`]) a fresh instance is built by the factory, configured with the
//! last settings and given the last command of every kind (model folder, queries, ...), so it
//! picks up where the old one stopped. Audio that arrives while no instance runs is skipped and
//! counted. After [`MAX_RESTARTS_IN_A_ROW`] faults without a healthy [`HEALTHY_RESET_S`] in
//! between it gives up and stays off.

use super::{AnalysisSettings, Analyzer, panic_message};
use crate::bridge::{Command, EngineSnapshot};
use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

/// First back-off before a restart, in milliseconds; doubles with every fault in a row.
pub const RESTART_BACKOFF_MIN_MS: u64 = 50;
/// Longest back-off before a restart, in milliseconds.
pub const RESTART_BACKOFF_MAX_MS: u64 = 5_000;
/// Faults in a row (without a healthy stretch between them) after which restarting stops.
pub const MAX_RESTARTS_IN_A_ROW: u32 = 8;
/// An instance that has run this long without a fault resets the back-off, in seconds.
pub const HEALTHY_RESET_S: u64 = 30;

/// Builds a fresh analyzer; called on the worker thread at start and after every fault.
pub type AnalyzerFactory = Box<dyn FnMut() -> crate::Result<Box<dyn Analyzer>> + Send>;

/// An analyzer that is rebuilt by its factory after a panic (see the module docs).
pub struct RestartingAnalyzer {
    factory: AnalyzerFactory,
    /// The running instance; `None` while waiting for a restart (or after giving up).
    inner: Option<Box<dyn Analyzer>>,
    /// Set by `fill_snapshot` (which only has `&self`) when the instance panicked there.
    fill_fault: RefCell<Option<String>>,
    /// Settings and sample rate of the last `configure`, replayed to a new instance.
    settings: Option<(AnalysisSettings, f32)>,
    /// The newest command of each kind, replayed to a new instance in order.
    commands: Vec<Command>,
    num_restarts: u64,
    num_faults_in_a_row: u32,
    restart_at: Option<Instant>,
    started_at: Instant,
    last_fault: Option<String>,
    num_samples_skipped: u64,
    gave_up: bool,
}

impl RestartingAnalyzer {
    /// Builds the first instance with `factory`; errors when that first build fails.
    pub fn new(mut factory: AnalyzerFactory) -> crate::Result<Self> {
        let inner = factory()?;
        Ok(Self {
            factory,
            inner: Some(inner),
            fill_fault: RefCell::new(None),
            settings: None,
            commands: Vec::new(),
            num_restarts: 0,
            num_faults_in_a_row: 0,
            restart_at: None,
            started_at: Instant::now(),
            last_fault: None,
            num_samples_skipped: 0,
            gave_up: false,
        })
    }

    /// How many times a fresh instance was built after a fault.
    pub fn num_restarts(&self) -> u64 {
        self.num_restarts
    }

    /// Runs `call` on the instance (restarting it first when due); a panic drops the instance.
    /// Returns whether the call ran.
    fn with_inner(&mut self, call: impl FnOnce(&mut dyn Analyzer)) -> bool {
        if let Some(msg) = self.fill_fault.get_mut().take() {
            self.fault(msg);
        }
        self.restart_if_due();
        let Some(inner) = self.inner.as_mut() else {
            return false;
        };
        let health = catch_unwind(AssertUnwindSafe(|| inner.health()))
            .unwrap_or_else(|payload| Err(panic_message(payload.as_ref())));
        if let Err(why) = health {
            self.fault(why);
            return false;
        }
        let Some(inner) = self.inner.as_mut() else {
            return false;
        };
        match catch_unwind(AssertUnwindSafe(|| call(inner.as_mut()))) {
            Ok(()) => {
                if self.num_faults_in_a_row > 0
                    && self.started_at.elapsed() >= Duration::from_secs(HEALTHY_RESET_S)
                {
                    self.num_faults_in_a_row = 0;
                }
                true
            }
            Err(payload) => {
                self.fault(panic_message(payload.as_ref()));
                false
            }
        }
    }

    /// Drops the instance and schedules a restart after the back-off (or gives up).
    fn fault(&mut self, msg: String) {
        self.inner = None;
        self.last_fault = Some(msg);
        self.num_faults_in_a_row += 1;
        if self.num_faults_in_a_row > MAX_RESTARTS_IN_A_ROW {
            self.gave_up = true;
            self.restart_at = None;
            return;
        }
        let doublings = (self.num_faults_in_a_row - 1).min(16);
        let backoff_ms = (RESTART_BACKOFF_MIN_MS << doublings).min(RESTART_BACKOFF_MAX_MS);
        self.restart_at = Some(Instant::now() + Duration::from_millis(backoff_ms));
    }

    fn restart_if_due(&mut self) {
        if self.inner.is_some() || self.restart_at.is_none_or(|at| Instant::now() < at) {
            return;
        }
        self.restart_at = None;
        let built = catch_unwind(AssertUnwindSafe(|| (self.factory)()));
        let mut fresh = match built {
            Ok(Ok(fresh)) => fresh,
            Ok(Err(e)) => return self.fault(format!("restart failed: {e}")),
            Err(payload) => {
                return self.fault(format!(
                    "restart panicked: {}",
                    panic_message(payload.as_ref())
                ));
            }
        };
        let (settings, commands) = (self.settings, &self.commands);
        let replayed = catch_unwind(AssertUnwindSafe(|| {
            if let Some((settings, sample_rate_hz)) = settings {
                fresh.configure(&settings, sample_rate_hz);
            }
            for command in commands {
                fresh.on_command(command);
            }
        }));
        self.num_restarts += 1;
        match replayed {
            Ok(()) => {
                self.inner = Some(fresh);
                self.started_at = Instant::now();
            }
            Err(payload) => self.fault(panic_message(payload.as_ref())),
        }
    }
}

impl Analyzer for RestartingAnalyzer {
    fn configure(&mut self, settings: &AnalysisSettings, sample_rate_hz: f32) {
        self.settings = Some((*settings, sample_rate_hz));
        self.with_inner(|a| a.configure(settings, sample_rate_hz));
    }

    fn on_samples(&mut self, mono: &[f32], sample_rate_hz: f32) {
        if !self.with_inner(|a| a.on_samples(mono, sample_rate_hz)) {
            self.num_samples_skipped += mono.len() as u64;
        }
    }

    fn on_command(&mut self, command: &Command) {
        if *command != Command::ResetCounters {
            let kind = std::mem::discriminant(command);
            self.commands
                .retain(|old| std::mem::discriminant(old) != kind);
            self.commands.push(command.clone());
        }
        self.with_inner(|a| a.on_command(command));
    }

    fn fill_snapshot(&self, snapshot: &mut EngineSnapshot) {
        snapshot.num_analyzer_restarts += self.num_restarts;
        if let Some(inner) = &self.inner
            && self.fill_fault.borrow().is_none()
            && let Err(payload) = catch_unwind(AssertUnwindSafe(|| inner.fill_snapshot(snapshot)))
        {
            // Dropped and restarted on the next call that may mutate (`&self` here).
            *self.fill_fault.borrow_mut() = Some(panic_message(payload.as_ref()));
        }
        let Some(fault) = &self.last_fault else {
            return;
        };
        if !snapshot.analyzer_status.is_empty() {
            snapshot.analyzer_status.push_str("; ");
        }
        let state = if self.gave_up {
            "gave up restarting it"
        } else if self.inner.is_none() {
            "restarting it"
        } else {
            "restarted it"
        };
        snapshot.analyzer_status.push_str(&format!(
            "the analyzer panicked ({fault}); {state} ({} restarts, {} samples skipped)",
            self.num_restarts, self.num_samples_skipped
        ));
    }
}
