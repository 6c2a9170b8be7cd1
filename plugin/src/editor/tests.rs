//! The editor's command and persistence paths, without a window.

use super::*;
use crate::params::EditorSize;
use engine_settings::SettingsAction;
use nice_plug::prelude::Params;
use std::path::PathBuf;

fn editor_without_worker() -> MuqEditor {
    let record = Arc::new(FrameRecorder::default());
    record.enable();
    MuqEditor::new(
        Arc::new(MuqParams::default()),
        Arc::new(EditorLink::default()),
        record,
    )
}

#[test]
fn edited_queries_are_persisted_with_the_plugin_state() {
    let mut editor = editor_without_worker();
    editor.queries = vec!["distorted guitar".to_owned(), "choir".to_owned()];
    editor.commit_queries();
    assert_eq!(*editor.params.text_queries.read(), editor.queries);
    // No worker yet: the list is kept for a retry and the user is told.
    assert!(editor.queries_unsent);
    assert!(editor.last_command_error.is_some());

    let saved = editor.params.serialize_fields();
    let restored = MuqParams::default();
    restored.deserialize_fields(&saved);
    assert_eq!(*restored.text_queries.read(), ["distorted guitar", "choir"]);
}

#[test]
fn a_chosen_model_folder_is_persisted_and_rescan_keeps_it() {
    let mut editor = editor_without_worker();
    let dir = std::env::temp_dir();
    editor.apply_model_action(ModelAction::SetDir(Some(dir.clone())));
    assert_eq!(editor.params.model_dir.read().as_ref(), Some(&dir));
    editor.apply_model_action(ModelAction::Rescan);
    assert_eq!(editor.params.model_dir.read().as_ref(), Some(&dir));
    editor.apply_model_action(ModelAction::SetDir(None));
    assert_eq!(*editor.params.model_dir.read(), None);
}

#[test]
fn engine_settings_are_persisted_even_without_a_worker() {
    let mut editor = editor_without_worker();
    editor.apply_settings_action(SettingsAction::KeyMethod(Some("probe:key".to_owned())));
    editor.apply_settings_action(SettingsAction::LabelsDir(Some(PathBuf::from("/vocab"))));
    editor.apply_settings_action(SettingsAction::HeadsDir(Some(PathBuf::from("/heads"))));
    assert!(editor.last_command_error.is_some());
    let saved = editor.params.serialize_fields();
    let restored = MuqParams::default();
    restored.deserialize_fields(&saved);
    assert_eq!(restored.key_method.read().as_deref(), Some("probe:key"));
    assert_eq!(*restored.labels_dir.read(), Some(PathBuf::from("/vocab")));
    assert_eq!(*restored.heads_dir.read(), Some(PathBuf::from("/heads")));
    editor.apply_settings_action(SettingsAction::KeyMethod(None));
    editor.apply_settings_action(SettingsAction::HeadsDir(None));
    assert_eq!(*editor.params.key_method.read(), None);
    assert_eq!(*editor.params.heads_dir.read(), None);
}

#[test]
fn window_sizes_are_remembered_only_when_usable() {
    let mut editor = editor_without_worker();
    editor.remember_size(900.0, 700.0);
    assert_eq!(
        *editor.params.editor_size.read(),
        Some(EditorSize {
            width: 900.0,
            height: 700.0
        })
    );
    editor.remember_size(f64::INFINITY, 700.0);
    assert_eq!(
        editor.params.editor_size.read().map(|s| s.width),
        Some(900.0)
    );
}

/// Runs one headless egui frame of `editor` over `snapshot` and returns the frame record.
fn headless_frame(editor: &mut MuqEditor, snapshot: EngineSnapshot) -> FrameRecord {
    editor.snapshot = snapshot;
    let ctx = egui::Context::default();
    let input = egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(
            egui::Pos2::ZERO,
            egui::Vec2::new(EDITOR_WIDTH as f32, EDITOR_HEIGHT as f32),
        )),
        ..egui::RawInput::default()
    };
    let mut output = ctx.run_ui(input, |ui| {
        editor.panels(ui);
    });
    output.textures_delta.clear();
    editor.record.lock().clone()
}

#[test]
fn the_frame_record_says_what_was_drawn() {
    use muq_engine::analysis::{AnalysisPhase, LabelScore, ProbeReadout, Readouts};
    let mut editor = editor_without_worker();
    let no_model = EngineSnapshot {
        readouts: Readouts {
            phase: AnalysisPhase::NoModel,
            ..Readouts::default()
        },
        ..EngineSnapshot::default()
    };
    let record = headless_frame(&mut editor, no_model);
    assert_eq!(record.num_frames, 1);
    assert_eq!(record.phase_label, "key only (no model)");
    assert_eq!(record.cards, ["KEY", "MODEL SETUP", "TEXT QUERIES"]);
    assert!(record.status_line.contains("| no model |"), "{record:?}");
    assert!(record.phase_rect[2] > record.phase_rect[0]);
    assert!(record.phase_rect[3] > record.phase_rect[1]);

    let analysing = EngineSnapshot {
        readouts: Readouts {
            phase: AnalysisPhase::Analysing,
            model_name: "mulan".to_owned(),
            model_size_bytes: 2048,
            probes: vec![ProbeReadout {
                task: "mood".to_owned(),
                multi_label: false,
                top: vec![LabelScore {
                    label: "calm".to_owned(),
                    score: 0.8,
                    cosine: 0.0,
                }],
            }],
            ..Readouts::default()
        },
        ..EngineSnapshot::default()
    };
    let record = headless_frame(&mut editor, analysing);
    assert_eq!(record.num_frames, 2);
    assert_eq!(record.phase_label, "analysing");
    assert_eq!(record.phase_colour, [80, 190, 110]);
    assert_eq!(
        record.cards,
        ["KEY", "INSTRUMENTS", "GENRE", "PROBE HEADS", "TEXT QUERIES"]
    );
    assert!(
        record.status_line.contains("model mulan · 2.00 KiB"),
        "{record:?}"
    );
    assert_eq!(
        record.screen_size,
        [EDITOR_WIDTH as f32, EDITOR_HEIGHT as f32]
    );
}
