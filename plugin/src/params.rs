//! MuQ Live's parameters and persisted fields.
//!
//! Parameter IDs (`#[id = ...]`) and persist keys are stable: hosts and presets keep them
//! forever, so never rename or reuse one. Field names may change.

use muq_engine::bridge::Command;
use muq_engine::worker::{AnalysisSettings, SettingsSource};
use nice_plug::prelude::*;
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize};

/// Shortest analysis window, in seconds.
pub const MIN_WINDOW_S: f32 = 2.0;
/// Longest analysis window, in seconds.
pub const MAX_WINDOW_S: f32 = 30.0;
/// Default analysis window (MuQ-MuLan's clip length), in seconds.
pub const DEFAULT_WINDOW_S: f32 = 10.0;
/// Shortest hop between analyses, in seconds.
pub const MIN_HOP_S: f32 = 0.5;
/// Longest hop between analyses, in seconds.
pub const MAX_HOP_S: f32 = 10.0;
/// Default hop between analyses, in seconds.
pub const DEFAULT_HOP_S: f32 = 2.0;

/// The plugin's parameters (host-automatable) and persisted fields (saved with the state).
/// Shared as `Arc<MuqParams>` by the plugin, the editor and the worker's settings poll.
#[derive(Params)]
pub struct MuqParams {
    /// Whether the analysis runs. Off: audio still passes and is metered, nothing is analysed.
    #[id = "analysis"]
    pub analysis_enabled: BoolParam,
    /// The host's bypass (VST3 `kIsBypass`, CLAP bypass): audio passes through untouched (as
    /// always) and the analysis pauses; the panel shows "paused".
    #[id = "bypass"]
    pub bypass: BoolParam,
    /// Analysis window length in seconds.
    #[id = "window"]
    pub window_s: FloatParam,
    /// Hop between analysis windows in seconds.
    #[id = "hop"]
    pub hop_s: FloatParam,
    /// Free-text queries scored against the audio. Written by the editor, read by the worker.
    #[persist = "text-queries"]
    pub text_queries: RwLock<Vec<String>>,
    /// Folder holding the model weights; `None` uses `MUQ_MODEL_DIR` or the Hugging Face cache.
    #[persist = "model-dir"]
    pub model_dir: RwLock<Option<PathBuf>>,
    /// Key method: a shipped profile name, a profile JSON path or `probe:<task>`; `None` is the
    /// built-in default (see `Command::SetKeyMethod`).
    #[persist = "key-method"]
    pub key_method: RwLock<Option<String>>,
    /// Folder with `instruments.txt` / `genres.txt` replacing the built-in vocabularies.
    #[persist = "labels-dir"]
    pub labels_dir: RwLock<Option<PathBuf>>,
    /// Extra folder of probe heads, loaded besides `<model dir>/heads/`.
    #[persist = "heads-dir"]
    pub heads_dir: RwLock<Option<PathBuf>>,
    /// The editor window's last logical size; `None` until the user resizes it.
    #[persist = "editor-size"]
    pub editor_size: RwLock<Option<EditorSize>>,
    /// Inference threads shared by every instance in the process (0: the default, half the
    /// logical cores). Process-wide: the last instance to set it (or, when activated, to have
    /// a saved non-zero value) decides.
    #[persist = "analysis-threads"]
    pub analysis_threads: AtomicUsize,
    /// Run the model only while this instance's editor is open (the built-in key still
    /// follows); when the editor opens, the newest window is analysed at once.
    #[persist = "analyse-only-with-editor"]
    pub analyse_only_with_editor: AtomicBool,
}

/// The editor window's logical size, in points, as saved with the plugin state.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct EditorSize {
    /// Width in logical points.
    pub width: f32,
    /// Height in logical points.
    pub height: f32,
}

impl MuqParams {
    /// The commands that hand the persisted engine settings to a newly started worker, in the
    /// order they must be applied (the model folder first).
    pub fn engine_commands(&self) -> Vec<Command> {
        vec![
            Command::SetModelDir(self.model_dir.read().clone()),
            Command::SetLabelsDir(self.labels_dir.read().clone()),
            Command::SetHeadsDir(self.heads_dir.read().clone()),
            Command::SetKeyMethod(self.key_method.read().clone()),
            Command::SetTextQueries(self.text_queries.read().clone()),
        ]
    }
}

/// The window parameter's range, in seconds.
pub fn window_range() -> FloatRange {
    FloatRange::Linear {
        min: MIN_WINDOW_S,
        max: MAX_WINDOW_S,
    }
}

/// The hop parameter's range, in seconds.
pub fn hop_range() -> FloatRange {
    FloatRange::Linear {
        min: MIN_HOP_S,
        max: MAX_HOP_S,
    }
}

impl Default for MuqParams {
    fn default() -> Self {
        Self {
            analysis_enabled: BoolParam::new("Analysis", true),
            bypass: BoolParam::new("Bypass", false).make_bypass(),
            window_s: FloatParam::new("Window", DEFAULT_WINDOW_S, window_range())
                .with_step_size(0.5)
                .with_unit(" s")
                .with_value_to_string(formatters::v2s_f32_rounded(1)),
            hop_s: FloatParam::new("Hop", DEFAULT_HOP_S, hop_range())
                .with_step_size(0.25)
                .with_unit(" s")
                .with_value_to_string(formatters::v2s_f32_rounded(2)),
            text_queries: RwLock::new(Vec::new()),
            model_dir: RwLock::new(None),
            key_method: RwLock::new(None),
            labels_dir: RwLock::new(None),
            heads_dir: RwLock::new(None),
            editor_size: RwLock::new(None),
            analysis_threads: AtomicUsize::new(0),
            analyse_only_with_editor: AtomicBool::new(false),
        }
    }
}

/// The worker polls the parameters (atomics inside nice-plug) for its settings.
impl SettingsSource for MuqParams {
    fn analysis_settings(&self) -> AnalysisSettings {
        AnalysisSettings {
            enabled: self.analysis_enabled.value() && !self.bypass.value(),
            window_s: self.window_s.value(),
            hop_s: self.hop_s.value(),
            hold_inference: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;

    #[test]
    fn defaults_match_the_design_and_engine() {
        let params = MuqParams::default();
        let settings = params.analysis_settings();
        assert_eq!(settings, AnalysisSettings::default());
        assert!(window_range().normalize(DEFAULT_WINDOW_S) > 0.0);
        assert!(hop_range().normalize(DEFAULT_HOP_S) > 0.0);
    }

    #[test]
    fn parameter_ids_are_stable() {
        let params = MuqParams::default();
        let ids: Vec<String> = params
            .param_map()
            .into_iter()
            .map(|(id, _, _)| id)
            .collect();
        assert_eq!(ids, ["analysis", "bypass", "window", "hop"]);
    }

    #[test]
    fn persisted_fields_round_trip_under_stable_keys() {
        let params = MuqParams::default();
        *params.key_method.write() = Some("temperley".to_owned());
        *params.labels_dir.write() = Some(PathBuf::from("/vocab"));
        *params.heads_dir.write() = Some(PathBuf::from("/heads"));
        *params.editor_size.write() = Some(EditorSize {
            width: 900.0,
            height: 650.0,
        });
        params.analysis_threads.store(3, Ordering::Relaxed);
        params
            .analyse_only_with_editor
            .store(true, Ordering::Relaxed);
        let saved = params.serialize_fields();
        let mut keys: Vec<&str> = saved.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "analyse-only-with-editor",
                "analysis-threads",
                "editor-size",
                "heads-dir",
                "key-method",
                "labels-dir",
                "model-dir",
                "text-queries"
            ]
        );
        assert_eq!(saved["key-method"], r#""temperley""#);
        let restored = MuqParams::default();
        restored.deserialize_fields(&saved);
        assert_eq!(restored.key_method.read().as_deref(), Some("temperley"));
        assert_eq!(*restored.labels_dir.read(), Some(PathBuf::from("/vocab")));
        assert_eq!(*restored.heads_dir.read(), Some(PathBuf::from("/heads")));
        assert_eq!(*restored.editor_size.read(), *params.editor_size.read());
        assert_eq!(restored.analysis_threads.load(Ordering::Relaxed), 3);
        assert!(restored.analyse_only_with_editor.load(Ordering::Relaxed));
    }

    #[test]
    fn bypass_pauses_the_analysis() {
        let params = MuqParams::default();
        assert!(params.analysis_settings().enabled);
        assert!(params.bypass.flags().contains(ParamFlags::BYPASS));
        // SAFETY: the pointer comes from `params`, alive for this call.
        for (id, ptr, _) in params.param_map() {
            if id == "bypass" {
                unsafe { ptr._internal_set_normalized_value(1.0) };
            }
        }
        assert!(!params.analysis_settings().enabled);
    }

    #[test]
    fn engine_commands_carry_every_persisted_setting() {
        let params = MuqParams::default();
        *params.model_dir.write() = Some(PathBuf::from("/models"));
        *params.key_method.write() = Some("probe:key".to_owned());
        *params.text_queries.write() = vec!["choir".to_owned()];
        let commands = params.engine_commands();
        assert_eq!(
            commands[0],
            Command::SetModelDir(Some(PathBuf::from("/models")))
        );
        assert!(commands.contains(&Command::SetKeyMethod(Some("probe:key".to_owned()))));
        assert!(commands.contains(&Command::SetLabelsDir(None)));
        assert!(commands.contains(&Command::SetHeadsDir(None)));
        assert!(commands.contains(&Command::SetTextQueries(vec!["choir".to_owned()])));
    }
}
