//! The engine snapshot the worker publishes and the editor renders.

/// What the worker thread is doing, as shown in the panel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WorkerState {
    /// No worker runs: the plugin is not activated (the initial state).
    #[default]
    Inactive,
    /// The worker drains the ring and feeds the analyzers.
    Running,
    /// The worker drains the ring but analysis is switched off in the settings.
    Paused,
    /// The worker was asked to stop; this is its last snapshot.
    Stopped,
}

impl WorkerState {
    /// A short human-readable label for the panel.
    pub fn label(self) -> &'static str {
        match self {
            WorkerState::Inactive => "inactive",
            WorkerState::Running => "running",
            WorkerState::Paused => "paused",
            WorkerState::Stopped => "stopped",
        }
    }
}

/// One consistent view of the engine, published by the worker through a triple buffer and
/// rendered by the editor. Numbers are raw; the editor formats them.
///
/// Every field is written by the worker thread only, once per publish (about every
/// the worker's publish interval), and reset to its default when a new worker starts.
/// Later issues add their readouts as new fields (keep `Default` meaning "nothing yet").
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EngineSnapshot {
    /// Sample rate the plugin was activated at, in Hz (0 before activation).
    pub sample_rate_hz: f32,
    /// Seconds of mono audio the worker has drained from the ring since it started (or since the
    /// last reset command).
    pub seconds_captured: f64,
    /// Samples waiting in the ring when the snapshot was taken.
    pub ring_fill_samples: usize,
    /// The ring's capacity in samples.
    pub ring_capacity_samples: usize,
    /// Samples the audio thread dropped because the ring was full (since start or reset).
    pub dropped_samples: u64,
    /// Peak level of the mono input over the last level window, in dBFS (`-inf` for silence).
    pub input_peak_dbfs: f32,
    /// RMS level of the mono input over the last level window, in dBFS (`-inf` for silence).
    pub input_rms_dbfs: f32,
    /// What the worker is doing.
    pub state: WorkerState,
    /// Analysis window length the analyzers were last configured with, in seconds.
    pub window_s: f32,
    /// Analysis hop the analyzers were last configured with, in seconds.
    pub hop_s: f32,
    /// Number of snapshots the current worker has published (a generation counter).
    pub num_publishes: u64,
    /// A status line from the analyzers (e.g. model loading), empty when there is nothing to say.
    pub analyzer_status: String,
    /// How many times analyzers were rebuilt after a panic
    /// (the worker's `RestartingAnalyzer`); 0 when none panicked.
    pub num_analyzer_restarts: u64,
    /// The analysis readouts (key, instruments, genre, text queries, model state), written by
    /// the live analyzer (`analysis::MuqAnalyzer`); default when no such analyzer runs.
    pub readouts: crate::readouts::Readouts,
    /// The model download of this process (started by any instance), `Idle` when none.
    pub download: crate::download::DownloadView,
}

impl EngineSnapshot {
    /// Ring fill as a fraction of its capacity, 0..=1 (0 when there is no ring).
    pub fn ring_fill_ratio(&self) -> f32 {
        if self.ring_capacity_samples == 0 {
            0.0
        } else {
            self.ring_fill_samples as f32 / self.ring_capacity_samples as f32
        }
    }
}

/// The worker's half of the snapshot channel.
pub struct SnapshotWriter {
    /// Triple-buffer input; written by the worker thread only.
    input: triple_buffer::Input<EngineSnapshot>,
}

/// The editor's half of the snapshot channel.
pub struct SnapshotReader {
    /// Triple-buffer output; read by the GUI thread only.
    output: triple_buffer::Output<EngineSnapshot>,
}

/// Creates the snapshot channel; both halves start at [`EngineSnapshot::default`].
pub fn channel() -> (SnapshotWriter, SnapshotReader) {
    let (input, output) = triple_buffer::triple_buffer(&EngineSnapshot::default());
    (SnapshotWriter { input }, SnapshotReader { output })
}

impl SnapshotWriter {
    /// Publishes a copy of `snapshot`, reusing the back buffer's allocations. Never blocks.
    pub fn publish(&mut self, snapshot: &EngineSnapshot) {
        self.input.input_buffer_mut().clone_from(snapshot);
        self.input.publish();
    }
}

impl SnapshotReader {
    /// The newest published snapshot. Never blocks.
    pub fn latest(&mut self) -> &EngineSnapshot {
        self.output.read()
    }

    /// Whether a snapshot newer than the last [`Self::latest`] is waiting.
    pub fn has_update(&self) -> bool {
        self.output.updated()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_sees_the_newest_publish() {
        let (mut writer, mut reader) = channel();
        assert_eq!(reader.latest(), &EngineSnapshot::default());
        let mut snapshot = EngineSnapshot {
            num_publishes: 1,
            ..Default::default()
        };
        writer.publish(&snapshot);
        snapshot.num_publishes = 2;
        snapshot.analyzer_status.push_str("loading");
        writer.publish(&snapshot);
        assert!(reader.has_update());
        assert_eq!(reader.latest(), &snapshot);
        assert!(!reader.has_update());
    }

    #[test]
    fn ring_fill_ratio_handles_missing_ring() {
        let mut snapshot = EngineSnapshot::default();
        assert_eq!(snapshot.ring_fill_ratio(), 0.0);
        snapshot.ring_capacity_samples = 400;
        snapshot.ring_fill_samples = 100;
        assert_eq!(snapshot.ring_fill_ratio(), 0.25);
    }
}
