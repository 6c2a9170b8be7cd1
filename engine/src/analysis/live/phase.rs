//! The analysis phase of the readouts, decided from the model's state and the live input.

use super::MuqAnalyzer;
use crate::analysis::inference::{InferenceView, ModelStatus};
use crate::readouts::{AnalysisPhase, Readouts};

impl MuqAnalyzer {
    /// The phase (and its message) from the model's state.
    pub(super) fn model_phase(
        &self,
        view: &InferenceView,
        r: &mut Readouts,
        overloaded: bool,
        lag_s: f64,
    ) -> AnalysisPhase {
        match &view.status {
            ModelStatus::Failed(message, hint) => {
                r.message.clone_from(message);
                r.hint.clone_from(hint);
                AnalysisPhase::Error
            }
            ModelStatus::Missing(message, hint) => {
                r.message.clone_from(message);
                r.hint.clone_from(hint);
                AnalysisPhase::NoModel
            }
            ModelStatus::Loading(progress, what) => {
                r.load_progress = *progress;
                r.message.clone_from(what);
                AnalysisPhase::Loading
            }
            ModelStatus::NotLoaded if !self.any_samples => AnalysisPhase::Idle,
            ModelStatus::NotLoaded | ModelStatus::Ready(_) => {
                if let ModelStatus::Ready(device) = &view.status {
                    r.device.clone_from(device);
                    r.load_progress = 1.0;
                }
                self.running_phase(view, r, overloaded, lag_s)
            }
        }
    }

    /// The phase of a model that is there (or not asked for yet): silence, a failed window,
    /// still listening, or analysing (overloaded or not).
    fn running_phase(
        &self,
        view: &InferenceView,
        r: &mut Readouts,
        overloaded: bool,
        lag_s: f64,
    ) -> AnalysisPhase {
        if self.silent {
            r.message
                .push_str("digital silence: analysis paused, showing the last readouts");
            AnalysisPhase::Stale
        } else if let Some(e) = &view.window_error {
            r.message.clone_from(e);
            r.hint.push_str("the next window will be tried again");
            AnalysisPhase::Error
        } else if view.latest.is_none() || r.seconds_needed > 0.0 && r.provisional {
            if r.seconds_needed > 0.0 {
                r.message = format!("{:.1} s still needed", r.seconds_needed);
            }
            AnalysisPhase::Listening
        } else {
            if overloaded {
                r.message = format!(
                    "overload: the model is {lag_s:.0} s behind the audio, windows are skipped"
                );
                r.hint
                    .push_str("use a longer hop, a GPU, or fewer plugin instances");
            }
            AnalysisPhase::Analysing
        }
    }
}
