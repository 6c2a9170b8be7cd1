//! The worker half of the audio ring.

use super::shared::TapShared;
use std::sync::Arc;

/// What the analysis worker holds: the ring's read end and the audio thread's counters.
/// Created by [`super::new`] together with its [`super::AudioTap`].
pub struct WorkerFeed {
    /// The ring's read end. Read by the worker thread only.
    consumer: rtrb::Consumer<f32>,
    /// Counters written by the audio thread.
    shared: Arc<TapShared>,
}

impl WorkerFeed {
    pub(super) fn new(consumer: rtrb::Consumer<f32>, shared: Arc<TapShared>) -> Self {
        Self { consumer, shared }
    }

    /// Moves up to `out.len()` mono samples from the ring into `out` (oldest first) and returns
    /// how many. Never blocks; does not allocate.
    pub fn pop_into(&mut self, out: &mut [f32]) -> usize {
        let (filled, _remainder) = self.consumer.pop_partial_slice(out);
        filled.len()
    }

    /// Samples waiting in the ring.
    pub fn fill_samples(&self) -> usize {
        self.consumer.slots()
    }

    /// The ring's capacity in mono samples.
    pub fn capacity_samples(&self) -> usize {
        self.consumer.buffer().capacity()
    }

    /// Total mono samples the audio thread dropped because the ring was full.
    pub fn dropped_samples(&self) -> u64 {
        self.shared.dropped_samples()
    }

    /// Total mono samples the audio thread pushed into the ring.
    pub fn pushed_samples(&self) -> u64 {
        self.shared.pushed_samples()
    }

    /// The largest absolute sample pushed since the previous call (0 if none), resetting it.
    pub fn take_peak(&self) -> f32 {
        self.shared.take_peak()
    }

    /// Whether the [`super::AudioTap`] was dropped (the plugin was deactivated).
    pub fn is_abandoned(&self) -> bool {
        self.consumer.is_abandoned()
    }
}
