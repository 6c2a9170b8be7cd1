//! The inference thread's body, split by the decisions it makes each round: wait for work and
//! take it, apply settings, (re)load the model, embed new queries, run a window and record it.

use std::path::PathBuf;
use std::time::Instant;

use super::settings::{SettingsChanges, apply_changes, session_info};
use super::{LatestResult, ModelStatus, Shared, WindowHook, WindowJob, lock};
use crate::analysis::cpu_budget;
use crate::analysis::session::{ModelOptions, Session};

/// MuQ's sample rate: stream indices of windows count 24 kHz samples.
const MUQ_RATE_HZ: f64 = 24_000.0;

/// What one round took from the shared slot.
struct Work {
    job: Option<WindowJob>,
    new_queries: Option<Vec<String>>,
    new_dir: Option<Option<PathBuf>>,
    want_load: bool,
    changes: SettingsChanges,
}

/// The achieved hop and the windows analysed, over the current stream.
#[derive(Default)]
struct HopTracker {
    epoch: u64,
    last_end_s: Option<f64>,
    achieved_hop_s: f32,
    num_analysed: u64,
}

impl HopTracker {
    /// A new stream epoch forgets the last window's end (the hop restarts).
    fn start_epoch(&mut self, epoch: u64) -> bool {
        if epoch == self.epoch {
            return false;
        }
        self.epoch = epoch;
        self.last_end_s = None;
        true
    }

    /// Records a window ending at `window_end_s`; a provisional one does not count for the hop.
    fn record(&mut self, window_end_s: f64, provisional: bool) {
        if let Some(prev) = self.last_end_s.filter(|_| !provisional) {
            let hop = (window_end_s - prev) as f32;
            self.achieved_hop_s = if self.achieved_hop_s == 0.0 {
                hop
            } else {
                0.7 * self.achieved_hop_s + 0.3 * hop
            };
        }
        if !provisional {
            self.last_end_s = Some(window_end_s);
        }
        self.num_analysed += 1;
    }
}

/// The thread's own state between rounds.
struct InferenceLoop<'a> {
    shared: &'a Shared,
    options: ModelOptions,
    hook: Option<WindowHook>,
    session: Option<Session>,
    queries: Vec<String>,
    key_head: Option<String>,
    hops: HopTracker,
}

/// The thread body: rounds until asked to stop.
pub(super) fn run(shared: &Shared, options: ModelOptions, hook: Option<WindowHook>) {
    let mut state = InferenceLoop {
        shared,
        options,
        hook,
        session: None,
        queries: Vec::new(),
        key_head: None,
        hops: HopTracker::default(),
    };
    while let Some(work) = state.take_work() {
        state.apply_settings(&work);
        if work.want_load {
            state.load(work.new_queries.as_ref());
        }
        if let Some(texts) = work.new_queries {
            state.set_queries(texts);
        }
        let ran = match work.job {
            Some(job) => state.analyse(job),
            None => {
                state.mark_idle();
                Some(())
            }
        };
        if ran.is_none() {
            return;
        }
    }
}

impl InferenceLoop<'_> {
    /// Waits until there is something to do and takes it; `None` when asked to stop.
    fn take_work(&mut self) -> Option<Work> {
        let mut state = lock(self.shared);
        loop {
            let wants_load = state.load_requested && matches!(state.status, ModelStatus::NotLoaded);
            let has_work = state.job.is_some() || state.has_pending_settings();
            if state.stop || wants_load || has_work {
                break;
            }
            state = self
                .shared
                .wake
                .wait(state)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        if state.stop {
            return None;
        }
        let new_dir = state.model_dir.take();
        let want_load = new_dir.is_some()
            || (state.load_requested && matches!(state.status, ModelStatus::NotLoaded));
        if want_load {
            state.status = ModelStatus::Loading(0.0, "locating the model".into());
            state.info = Default::default();
            state.model_users = None;
        }
        let changes = SettingsChanges {
            labels_dir: state.labels_dir.take(),
            heads_dir: state.heads_dir.take(),
            key_head: state.key_head.take(),
        };
        if changes.any() || state.queries.is_some() {
            // Until applied: `wait_idle` must not see an idle thread.
            state.busy = true;
        }
        Some(Work {
            job: state.job.take(),
            new_queries: state.queries.take(),
            new_dir,
            want_load,
            changes,
        })
    }

    /// A new model folder, key head, vocabulary or heads folder: applied to the loaded session,
    /// or kept in the options for the load about to happen.
    fn apply_settings(&mut self, work: &Work) {
        if let Some(dir) = work.new_dir.clone() {
            self.options.model_dir = dir;
        }
        let changes = &work.changes;
        if let Some(task) = changes.key_head.clone() {
            self.key_head = task;
        }
        if !work.want_load
            && let Some(session) = &mut self.session
        {
            apply_changes(session, &mut self.options, changes, &self.key_head);
        } else {
            if let Some(dir) = changes.labels_dir.clone() {
                self.options.labels_dir = dir;
            }
            if let Some(dir) = changes.heads_dir.clone() {
                self.options.heads_dir = dir;
            }
        }
        if changes.any() || work.want_load {
            let mut state = lock(self.shared);
            state.info = self.session.as_ref().map(session_info).unwrap_or_default();
            // Readouts of heads that are gone are not shown until the next window.
            if let (Some(latest), Some(session)) = (state.latest.as_mut(), &self.session) {
                latest
                    .output
                    .probes
                    .retain(|p| session.probes().find(&p.task).is_some());
            }
        }
    }

    /// (Re)loads the model; the queries about to be set (`upcoming`, else the current ones)
    /// are embedded before the audio side.
    fn load(&mut self, upcoming: Option<&Vec<String>>) {
        self.session = None;
        let upcoming = upcoming.unwrap_or(&self.queries);
        let shared = self.shared;
        let loaded = cpu_budget::run_on_pool(|| {
            Session::load_cancellable(&self.options, upcoming, &shared.cancel, |fraction, what| {
                lock(shared).status = ModelStatus::Loading(fraction, what.to_string());
            })
        });
        let status = match loaded {
            Ok(mut session) => {
                session.set_key_head(self.key_head.as_deref());
                let queries = &self.queries;
                let status = match cpu_budget::run_on_pool(|| session.set_queries(queries)) {
                    Ok(()) => ModelStatus::Ready(session.device().to_string()),
                    Err(e) => {
                        ModelStatus::Failed(format!("text queries: {e}"), "edit the queries".into())
                    }
                };
                self.session = Some(session);
                status
            }
            Err(p) if p.missing => ModelStatus::Missing(p.message, p.hint),
            Err(p) => ModelStatus::Failed(p.message, p.hint),
        };
        let mut state = lock(shared);
        state.status = status;
        state.info = self.session.as_ref().map(session_info).unwrap_or_default();
        state.model_users = self.session.as_ref().and_then(Session::shared_model);
    }

    /// New text queries: embedded now when a model is loaded.
    fn set_queries(&mut self, texts: Vec<String>) {
        self.queries = texts;
        let queries = &self.queries;
        if let Some(session) = &mut self.session
            && let Err(e) = cpu_budget::run_on_pool(|| session.set_queries(queries))
        {
            lock(self.shared).window_error = Some(format!("text queries: {e}"));
        }
    }

    /// Nothing to run this round: busy only if a window arrived meanwhile.
    fn mark_idle(&self) {
        let mut state = lock(self.shared);
        state.busy = state.job.is_some();
    }

    /// Runs one window and records its result; `None` when asked to stop meanwhile. Without a
    /// model the window is dropped.
    fn analyse(&mut self, job: WindowJob) -> Option<()> {
        let shared = self.shared;
        let Some(session) = &mut self.session else {
            self.mark_idle();
            return Some(());
        };
        if self.hops.start_epoch(job.stream_epoch) {
            session.reset_stream();
        }
        if lock(shared).stop {
            return None;
        }
        // Instances take turns on the shared pool, one window each.
        let _turn = cpu_budget::wait_turn(&shared.cancel)?;
        // The hook stands in for a slower model, so its time counts as inference time.
        let started = Instant::now();
        if let Some(hook) = &self.hook {
            hook(&shared.cancel);
        }
        let result = cpu_budget::run_on_pool(|| session.analyse(&job.samples, job.start_sample));
        let inference_ms = started.elapsed().as_secs_f32() * 1e3;
        let window_end_s = (job.start_sample + job.samples.len() as u64) as f64 / MUQ_RATE_HZ;
        let mut state = lock(shared);
        state.busy = state.job.is_some();
        match result {
            Ok(output) => {
                self.hops.record(window_end_s, job.provisional);
                state.window_error = None;
                state.latest = Some(LatestResult {
                    output,
                    window_end_s,
                    window_s: job.samples.len() as f32 / MUQ_RATE_HZ as f32,
                    provisional: job.provisional,
                    inference_ms,
                    achieved_hop_s: self.hops.achieved_hop_s,
                    num_analysed: self.hops.num_analysed,
                });
            }
            Err(e) => state.window_error = Some(e.to_string()),
        }
        Some(())
    }
}
