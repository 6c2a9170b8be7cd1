//! The editor's command and persistence paths, without a window.

use super::*;
use nice_plug::prelude::Params;

fn editor_without_worker() -> MuqEditor {
    let params = Arc::new(MuqParams::default());
    let model_setup = ModelSetup::new(None);
    MuqEditor {
        params,
        link: Arc::new(EditorLink::default()),
        gui_context: None,
        snapshot: EngineSnapshot::default(),
        last_command_error: None,
        queries: Vec::new(),
        query_input: QueryInput::default(),
        model_setup,
        queries_unsent: false,
    }
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
