//! [`MuqAnalyzer`]: the live pipeline as a worker [`Analyzer`].

mod phase;

use super::inference::{InferenceThread, InferenceView, ModelStatus, WindowHook, WindowJob};
use super::probe_key::PROBE_KEY_PREFIX;
use super::session::ModelOptions;
use super::window::{WindowFront, WindowPlan};
use crate::Result;
use crate::bridge::{Command, EngineSnapshot};
use crate::heads::key::{KeyConfig, ProfileChoice};
use crate::readouts::{AnalysisPhase, Readouts};
use crate::worker::{AnalysisSettings, Analyzer};

/// Construction options of [`MuqAnalyzer`].
#[derive(Clone, Default)]
pub struct AnalyzerOptions {
    /// Model, vocabularies, cache and device.
    pub model: ModelOptions,
    /// Length of the provisional first window as a fraction of the window (0: none). The
    /// default (via [`AnalyzerOptions::new`]) is 0.5.
    pub provisional_fraction: f32,
    /// Text queries to start with.
    pub queries: Vec<String>,
    /// Called on the inference thread before each window (tests inject delays).
    pub before_window: Option<WindowHook>,
}

impl AnalyzerOptions {
    /// Defaults: default model lookup, disk cache in [`super::text_cache::default_cache_dir`],
    /// provisional first window at half the window.
    pub fn new() -> Self {
        Self {
            model: ModelOptions {
                cache_dir: super::text_cache::default_cache_dir(),
                ..ModelOptions::default()
            },
            provisional_fraction: 0.5,
            queries: Vec::new(),
            before_window: None,
        }
    }
}

/// The live MuQ / MuQ-MuLan analysis. Create it anywhere (cheap: no model is loaded, only a
/// parked thread is started) and give it to the worker; the model loads when audio arrives.
pub struct MuqAnalyzer {
    options: AnalyzerOptions,
    inference: InferenceThread,
    front: Option<WindowFront>,
    /// `(window_s, hop_s, sample_rate_hz)` the front was built for.
    configured: Option<(f32, f32, f32)>,
    /// Error from the last `configure` (bad settings or sample rate).
    config_error: Option<String>,
    stream_epoch: u64,
    /// Whether the newest due window was digital silence.
    silent: bool,
    num_silent: u64,
    any_samples: bool,
    /// A reusable window buffer.
    spare: Vec<f32>,
    /// Key profile of the built-in key estimator.
    key_profile: ProfileChoice,
    /// Task of the probe head asked to give the key (`SetKeyMethod(Some("probe:<task>"))`).
    probe_key_task: Option<String>,
    /// Why the last key method could not be applied.
    key_message: Option<String>,
    /// Windows are held back instead of analysed ([`AnalysisSettings::hold_inference`]).
    hold_inference: bool,
    /// The newest window due while held; submitted when the hold ends.
    held: Option<WindowJob>,
}

impl MuqAnalyzer {
    /// Starts the (idle) inference thread. Errors only when the OS refuses a thread.
    pub fn new(options: AnalyzerOptions) -> Result<Self> {
        let inference =
            InferenceThread::spawn(options.model.clone(), options.before_window.clone())?;
        if !options.queries.is_empty() {
            inference.set_queries(options.queries.clone());
        }
        Ok(Self {
            options,
            inference,
            front: None,
            configured: None,
            config_error: None,
            stream_epoch: 0,
            silent: false,
            num_silent: 0,
            any_samples: false,
            spare: Vec::new(),
            key_profile: ProfileChoice::default(),
            probe_key_task: None,
            key_message: None,
            hold_inference: false,
            held: None,
        })
    }

    /// Whether a due window is being held back (the hold is on and a window arrived).
    pub fn has_held_window(&self) -> bool {
        self.held.is_some()
    }

    /// Waits (polling every 5 ms) until no window is queued or running and the model is no
    /// longer loading; `false` when `timeout` passed first. For tests and offline callers; never
    /// call it on the worker thread.
    pub fn wait_idle(&self, timeout: std::time::Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let view = self.inference.view();
            let loading = matches!(view.status, ModelStatus::Loading(..))
                || (self.any_samples && view.status == ModelStatus::NotLoaded);
            if !view.busy && !loading {
                return true;
            }
            if std::time::Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    /// Bytes-bound of the window buffer, in samples (one window plus one input chunk).
    pub fn buffer_capacity_samples(&self) -> usize {
        self.front
            .as_ref()
            .map_or(0, WindowFront::buffer_capacity_samples)
    }

    /// Fills `readouts` (what [`Analyzer::fill_snapshot`] writes into the snapshot).
    pub fn fill_readouts(&self, r: &mut Readouts) {
        let view = self.inference.view();
        r.message.clear();
        r.hint.clear();
        self.fill_key(&view, r);
        self.fill_settings(&view, r);
        r.seconds_needed = self.front.as_ref().map_or(0.0, WindowFront::seconds_needed);
        r.num_non_finite_samples = self.front.as_ref().map_or(0, WindowFront::num_non_finite);
        r.num_windows_skipped = view.num_skipped;
        r.num_windows_silent = self.num_silent;
        self.fill_latest(&view, r);
        // Stale: the input went silent, the newest window failed, or the model fell so far
        // behind (overload) that its newest readout describes audio long gone; a model merely a
        // little slower than the hop is not stale (`window_end_s` and the achieved hop say by
        // how much it lags).
        let lag_s = self.front.as_ref().map_or(0.0, |front| {
            (front.seconds_seen() - r.window_end_s).max(0.0)
        });
        let overloaded = view.latest.is_some() && lag_s > overload_lag_s(self.front.as_ref());
        r.stale = self.silent || view.window_error.is_some() || overloaded;
        r.load_progress = 0.0;
        r.device.clear();
        r.phase = match &self.config_error {
            Some(e) => {
                r.message.clone_from(e);
                r.hint
                    .push_str("change the window/hop settings or the host sample rate");
                AnalysisPhase::Error
            }
            None => self.model_phase(&view, r, overloaded, lag_s),
        };
    }

    /// The newest window's labels, queries, probes and figures (cleared before the first).
    fn fill_latest(&self, view: &InferenceView, r: &mut Readouts) {
        let hop_s = self.front.as_ref().map_or(0.0, |f| f.plan().hop_s());
        match &view.latest {
            Some(latest) => {
                r.instruments.clone_from(&latest.output.instruments);
                r.genres.clone_from(&latest.output.genres);
                r.queries.clone_from(&latest.output.queries);
                r.probes.clone_from(&latest.output.probes);
                r.provisional = latest.provisional;
                r.window_end_s = latest.window_end_s;
                r.analysed_window_s = latest.window_s;
                r.num_windows_analysed = latest.num_analysed;
                r.inference_ms = latest.inference_ms;
                r.achieved_hop_s = latest.achieved_hop_s;
                r.real_time_factor = if hop_s > 0.0 {
                    latest.inference_ms / (1e3 * hop_s)
                } else {
                    0.0
                };
            }
            None => {
                r.instruments.clear();
                r.genres.clear();
                r.queries.clear();
                r.probes.clear();
                r.provisional = false;
                r.window_end_s = 0.0;
                r.analysed_window_s = 0.0;
                r.num_windows_analysed = 0;
                r.inference_ms = 0.0;
                r.achieved_hop_s = 0.0;
                r.real_time_factor = 0.0;
            }
        }
    }

    /// The key readout and where it comes from: the probe key head when one was asked for and
    /// the session accepted it, else the built-in estimator.
    fn fill_key(&self, view: &InferenceView, r: &mut Readouts) {
        let builtin = self
            .front
            .as_ref()
            .map(WindowFront::key)
            .unwrap_or_default();
        let active = view.info.active_key_head.as_deref();
        match self
            .probe_key_task
            .as_deref()
            .filter(|&t| Some(t) == active)
        {
            Some(task) => {
                let mut key = view
                    .latest
                    .as_ref()
                    .and_then(|l| l.output.probe_key)
                    .unwrap_or_default();
                // A probe head does not measure tuning; the built-in estimator does.
                key.tuning_cents = builtin.tuning_cents;
                r.key = key;
                r.key_source = format!("probe head {task}");
            }
            None => {
                r.key = builtin;
                r.key_source = format!("built-in ({})", self.key_profile.label());
            }
        }
    }

    /// Model name and size, and the settings problems, one per line.
    fn fill_settings(&self, view: &InferenceView, r: &mut Readouts) {
        let ready = matches!(view.status, ModelStatus::Ready(_));
        r.model_name.clear();
        r.model_size_bytes = 0;
        r.num_model_users = 0;
        r.analysis_threads = super::cpu_budget::analysis_threads();
        if ready {
            r.model_name.clone_from(&view.info.model_name);
            r.model_size_bytes = view.info.model_size_bytes;
            r.num_model_users = view.info.num_sharing;
        }
        let mut lines: Vec<&str> = Vec::new();
        lines.extend(self.key_message.as_deref());
        lines.extend(view.info.settings_messages.iter().map(String::as_str));
        let no_model = matches!(
            view.status,
            ModelStatus::Missing(..) | ModelStatus::Failed(..)
        );
        let waiting;
        if let Some(task) = &self.probe_key_task
            && no_model
        {
            waiting = format!(
                "key method {PROBE_KEY_PREFIX}{task} needs the model, which is not loaded; using the built-in key"
            );
            lines.push(&waiting);
        }
        r.settings_message = lines.join("\n");
    }

    /// Applies `Command::SetKeyMethod`.
    fn set_key_method(&mut self, method: Option<&str>) {
        self.key_message = None;
        let method = method.map(str::trim).filter(|m| !m.is_empty());
        if let Some(task) = method.and_then(|m| m.strip_prefix(PROBE_KEY_PREFIX)) {
            let task = task.trim();
            if task.is_empty() {
                self.key_message = Some(format!(
                    "key method {PROBE_KEY_PREFIX} needs a head's task name, e.g. {PROBE_KEY_PREFIX}key; using the built-in key"
                ));
                self.probe_key_task = None;
                self.inference.set_key_head(None);
            } else {
                self.probe_key_task = Some(task.to_owned());
                self.inference.set_key_head(Some(task.to_owned()));
            }
            return;
        }
        self.probe_key_task = None;
        self.inference.set_key_head(None);
        let choice = match method {
            None => Ok(ProfileChoice::default()),
            Some(m) => ProfileChoice::parse(m),
        };
        match choice {
            Ok(choice) => self.set_key_profile(choice),
            Err(e) => {
                self.key_message = Some(format!("{e}; keeping {}", self.key_profile.label()));
            }
        }
    }

    /// Switches the built-in estimator's profile (the key starts over; no-op when unchanged).
    fn set_key_profile(&mut self, choice: ProfileChoice) {
        if choice == self.key_profile {
            return;
        }
        if let Some(front) = &mut self.front
            && let Err(e) = front.set_key_config(KeyConfig::default().with_profile(choice.clone()))
        {
            self.key_message = Some(format!(
                "key profile {}: {e}; keeping {}",
                choice.label(),
                self.key_profile.label()
            ));
            return;
        }
        self.key_profile = choice;
    }

    fn rebuild_front(&mut self, settings: &AnalysisSettings, sample_rate_hz: f32) {
        let key = (settings.window_s, settings.hop_s, sample_rate_hz);
        if self.configured == Some(key) {
            return;
        }
        self.configured = Some(key);
        self.stream_epoch += 1;
        self.silent = false;
        let provisional_s = settings.window_s * self.options.provisional_fraction;
        let built =
            WindowPlan::new(settings.window_s, settings.hop_s, provisional_s).and_then(|plan| {
                let key_config = KeyConfig::default().with_profile(self.key_profile.clone());
                WindowFront::with_key_config(plan, sample_rate_hz, key_config)
            });
        match built {
            Ok(front) => {
                self.front = Some(front);
                self.config_error = None;
            }
            Err(e) => {
                self.front = None;
                self.config_error = Some(e.to_string());
            }
        }
    }
}

impl Analyzer for MuqAnalyzer {
    fn health(&self) -> std::result::Result<(), String> {
        self.inference.health()
    }

    fn configure(&mut self, settings: &AnalysisSettings, sample_rate_hz: f32) {
        self.rebuild_front(settings, sample_rate_hz);
        self.hold_inference = settings.hold_inference;
        if !self.hold_inference
            && let Some(job) = self.held.take()
        {
            // The newest window of the held stretch, at once.
            if job.stream_epoch == self.stream_epoch
                && let Some(old) = self.inference.submit(job)
            {
                self.spare = old;
            }
        }
    }

    fn on_samples(&mut self, mono: &[f32], sample_rate_hz: f32) {
        if self.front.is_none() && self.config_error.is_none() {
            self.rebuild_front(&AnalysisSettings::default(), sample_rate_hz);
        }
        let Some(front) = &mut self.front else { return };
        if !self.any_samples {
            self.any_samples = true;
            self.inference.request_load();
        }
        let (inference, spare, epoch) = (&self.inference, &mut self.spare, self.stream_epoch);
        let (silent, num_silent) = (&mut self.silent, &mut self.num_silent);
        let (hold, held) = (self.hold_inference, &mut self.held);
        let pushed = front.push(mono, |window| {
            *silent = window.silent;
            if window.silent {
                *num_silent += 1;
                return;
            }
            let mut samples = std::mem::take(spare);
            samples.clear();
            samples.extend_from_slice(window.samples);
            let job = WindowJob {
                samples,
                start_sample: window.start_sample,
                provisional: window.provisional,
                stream_epoch: epoch,
            };
            if hold {
                if let Some(old) = held.replace(job) {
                    *spare = old.samples;
                }
            } else if let Some(old) = inference.submit(job) {
                *spare = old;
            }
        });
        if let Err(e) = pushed {
            self.config_error = Some(format!("resampling failed: {e}"));
            self.front = None;
        }
    }

    fn on_command(&mut self, command: &Command) {
        match command {
            Command::SetTextQueries(texts) => self.inference.set_queries(texts.clone()),
            Command::SetModelDir(dir) => self.inference.set_model_dir(dir.clone()),
            Command::SetKeyMethod(method) => self.set_key_method(method.as_deref()),
            Command::SetLabelsDir(dir) => self.inference.set_labels_dir(dir.clone()),
            Command::SetHeadsDir(dir) => self.inference.set_heads_dir(dir.clone()),
            Command::ModelFilesChanged => self.inference.rescan_if_missing(),
            _ => {}
        }
    }

    fn fill_snapshot(&self, snapshot: &mut EngineSnapshot) {
        self.fill_readouts(&mut snapshot.readouts);
        let r = &snapshot.readouts;
        if snapshot.analyzer_status.is_empty() {
            snapshot.analyzer_status.push_str(r.phase.label());
            if !r.message.is_empty() {
                snapshot.analyzer_status.push_str(": ");
                snapshot.analyzer_status.push_str(&r.message);
            }
        }
    }
}

/// Lag of the newest analysed window behind the audio beyond which the model readouts count as
/// stale (overload): twice the window or four hops, whichever is longer, in seconds. A model
/// that is merely slower than the hop (the real model on a laptop CPU: ~1 window per window
/// length) stays below it.
fn overload_lag_s(front: Option<&WindowFront>) -> f64 {
    front.map_or(f64::INFINITY, |front| {
        let plan = front.plan();
        f64::from((2.0 * plan.window_s()).max(4.0 * plan.hop_s()))
    })
}
