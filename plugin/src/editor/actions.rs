//! What the editor does with the user's edits: persist them in the plugin state, then send them
//! to the worker. The persisted value is written first, so a refused command still reaches the
//! next worker when the plugin is activated again.

use super::engine_settings::SettingsAction;
use super::model_setup::{ModelAction, ModelSetup};
use super::{MIN_HEIGHT, MIN_WIDTH, MuqEditor};
use crate::params::EditorSize;
use muq_engine::bridge::Command;
use muq_engine::download::{DownloadRequest, endpoint_from_env};

/// Sizes closer than this to the current one (in points) are not worth a resize.
const SIZE_TOLERANCE: f32 = 1.0;

/// The persisted window size made safe to apply: at least the minimum size, `None` for
/// non-finite values.
pub fn usable_size(size: EditorSize) -> Option<egui::Vec2> {
    if !(size.width.is_finite() && size.height.is_finite()) {
        return None;
    }
    Some(egui::Vec2::new(
        size.width.max(MIN_WIDTH),
        size.height.max(MIN_HEIGHT),
    ))
}

impl MuqEditor {
    /// Persists the edited query list and sends it to the worker.
    pub(super) fn commit_queries(&mut self) {
        self.params.text_queries.write().clone_from(&self.queries);
        self.queries_unsent = !self.send(Command::SetTextQueries(self.queries.clone()));
    }

    pub(super) fn apply_model_action(&mut self, action: ModelAction) {
        let dir = match action {
            ModelAction::SetDir(dir) => {
                self.params.model_dir.write().clone_from(&dir);
                self.model_setup = ModelSetup::new(dir.as_deref());
                dir
            }
            ModelAction::Rescan => self.params.model_dir.read().clone(),
            ModelAction::Download(target) => {
                let request = DownloadRequest::new(endpoint_from_env(), target);
                self.send(Command::DownloadModel(request));
                return;
            }
            ModelAction::CancelDownload => {
                self.send(Command::CancelModelDownload);
                return;
            }
        };
        self.send(Command::SetModelDir(dir));
    }

    /// Persists a key-method, vocabulary or heads setting and sends it.
    pub(super) fn apply_settings_action(&mut self, action: SettingsAction) {
        let command = match action {
            SettingsAction::KeyMethod(method) => {
                self.params.key_method.write().clone_from(&method);
                Command::SetKeyMethod(method)
            }
            SettingsAction::LabelsDir(dir) => {
                self.params.labels_dir.write().clone_from(&dir);
                Command::SetLabelsDir(dir)
            }
            SettingsAction::HeadsDir(dir) => {
                self.params.heads_dir.write().clone_from(&dir);
                Command::SetHeadsDir(dir)
            }
        };
        self.send(command);
    }

    /// Persists the window's logical size (called when the window was resized).
    pub(super) fn remember_size(&mut self, width: f64, height: f64) {
        let size = EditorSize {
            width: width as f32,
            height: height as f32,
        };
        if usable_size(size).is_some() {
            *self.params.editor_size.write() = Some(size);
        }
    }

    /// Asks the window for the persisted size when it differs from the current one.
    pub(super) fn restore_size(&mut self, ui: &egui::Ui) {
        let Some(wanted) = self.params.editor_size.read().and_then(usable_size) else {
            return;
        };
        let current = ui.ctx().content_rect().size();
        if (wanted - current).abs().max_elem() > SIZE_TOLERANCE {
            ui.send_viewport_cmd(egui::ViewportCommand::InnerSize(wanted));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persisted_sizes_are_clamped_and_checked() {
        let small = EditorSize {
            width: 10.0,
            height: 900.0,
        };
        assert_eq!(usable_size(small), Some(egui::Vec2::new(MIN_WIDTH, 900.0)));
        let broken = EditorSize {
            width: f32::NAN,
            height: 500.0,
        };
        assert_eq!(usable_size(broken), None);
    }
}
