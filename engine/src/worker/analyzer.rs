//! The seam where analysis plugs into the worker: settings and the [`Analyzer`] trait.

use crate::bridge::{Command, EngineSnapshot};

/// Analysis settings the worker polls from its [`SettingsSource`] (the plugin's parameters).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AnalysisSettings {
    /// Whether analyzers receive audio. When off the worker still drains the ring and meters.
    pub enabled: bool,
    /// Analysis window length in seconds.
    pub window_s: f32,
    /// Hop between analysis windows in seconds.
    pub hop_s: f32,
    /// Keep the newest due window instead of running the model ("analyse only while the
    /// editor is open", editor closed). Audio is still taken in and the built-in key still
    /// follows; when the hold ends, the newest held window is analysed at once.
    pub hold_inference: bool,
}

impl Default for AnalysisSettings {
    /// The design's defaults: enabled, 10 s window, 2 s hop.
    fn default() -> Self {
        Self {
            enabled: true,
            window_s: 10.0,
            hop_s: 2.0,
            hold_inference: false,
        }
    }
}

/// Where the worker reads the current settings; polled on the worker thread every loop, so
/// reads must be cheap and lock-free (the plugin implements it over its atomic parameters).
pub trait SettingsSource: Send + Sync {
    /// The settings now.
    fn analysis_settings(&self) -> AnalysisSettings;
}

/// Fixed settings (tests, CLI).
impl SettingsSource for AnalysisSettings {
    fn analysis_settings(&self) -> AnalysisSettings {
        *self
    }
}

/// One stage of analysis run by the worker thread, e.g. the MuQ pipeline. All methods run on
/// the worker thread, which owns the analyzer; they may allocate and take their time (the audio
/// thread never waits for them), but a slow analyzer delays snapshots, so skip work when behind.
pub trait Analyzer: Send {
    /// Called once when the worker starts and again whenever the settings change.
    fn configure(&mut self, _settings: &AnalysisSettings, _sample_rate_hz: f32) {}

    /// New mono samples at `sample_rate_hz`, in order, without gaps except where the audio
    /// thread dropped samples (see [`EngineSnapshot::dropped_samples`]). Not called while
    /// analysis is disabled.
    fn on_samples(&mut self, mono: &[f32], sample_rate_hz: f32);

    /// A command from the editor. The worker has already applied the ones it handles itself.
    fn on_command(&mut self, _command: &Command) {}

    /// Writes this analyzer's readouts into the snapshot about to be published.
    fn fill_snapshot(&self, _snapshot: &mut EngineSnapshot) {}

    /// `Err(why)` when part of the analyzer died without a panic reaching the worker, e.g. a
    /// helper (inference) thread that panicked. [`super::RestartingAnalyzer`] polls it before
    /// every call and rebuilds an unhealthy analyzer as if it had panicked. Must be cheap.
    fn health(&self) -> std::result::Result<(), String> {
        Ok(())
    }
}
