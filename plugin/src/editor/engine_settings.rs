//! The analysis settings that go to the engine as commands: key method, vocabulary folder and
//! probe-heads folder, with where the key comes from and the engine's complaints about them.

use super::folder_field::{self, FolderField};
use super::key_method::{self, KeyMethodEditor};
use crate::params::MuqParams;
use muq_engine::analysis::Readouts;
use std::path::PathBuf;

/// A setting the user applied.
#[derive(Clone, Debug, PartialEq)]
pub enum SettingsAction {
    /// `Command::SetKeyMethod`.
    KeyMethod(Option<String>),
    /// `Command::SetLabelsDir`.
    LabelsDir(Option<PathBuf>),
    /// `Command::SetHeadsDir`.
    HeadsDir(Option<PathBuf>),
}

/// What the section keeps between frames.
pub struct EngineSettings {
    /// The key-method chooser.
    key_method: KeyMethodEditor,
    /// The vocabulary folder box.
    labels_dir: FolderField,
    /// The heads folder box.
    heads_dir: FolderField,
}

impl EngineSettings {
    /// Starts with the persisted settings in the widgets.
    pub fn new(params: &MuqParams) -> Self {
        Self {
            key_method: KeyMethodEditor::new(params.key_method.read().as_deref()),
            labels_dir: FolderField::new(params.labels_dir.read().as_deref()),
            heads_dir: FolderField::new(params.heads_dir.read().as_deref()),
        }
    }
}

/// The lines of the engine's settings message (blank lines dropped).
pub fn message_lines(message: &str) -> impl Iterator<Item = &str> {
    message
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
}

/// Where the key comes from, `"built-in (default)"` before the engine has said.
pub fn key_source(readouts: &Readouts) -> &str {
    let source = readouts.key_source.trim();
    if source.is_empty() {
        "built-in (default)"
    } else {
        source
    }
}

/// Draws the section; returns the setting the user applied, if any.
pub fn show(
    ui: &mut egui::Ui,
    settings: &mut EngineSettings,
    readouts: &Readouts,
) -> Option<SettingsAction> {
    let mut action = None;
    egui::Grid::new("muq-engine-settings")
        .num_columns(2)
        .spacing([16.0, 6.0])
        .show(ui, |ui| {
            ui.label("Key method");
            ui.vertical(|ui| {
                if let Some(setting) =
                    key_method::show(ui, &mut settings.key_method, &readouts.probes)
                {
                    action = Some(SettingsAction::KeyMethod(setting));
                }
            });
            ui.end_row();

            ui.label("Key source");
            ui.label(egui::RichText::new(key_source(readouts)).monospace());
            ui.end_row();

            ui.label("Vocabulary")
                .on_hover_text("a folder with instruments.txt and genres.txt, one label a line");
            if let Some(dir) = folder_field::show(
                ui,
                "labels-dir",
                &mut settings.labels_dir,
                "empty: built-in labels",
            ) {
                action = Some(SettingsAction::LabelsDir(dir));
            }
            ui.end_row();

            ui.label("Probe heads")
                .on_hover_text("a folder of heads from `muq probe train` (<name>/head.json)");
            if let Some(dir) = folder_field::show(
                ui,
                "heads-dir",
                &mut settings.heads_dir,
                "empty: only <model folder>/heads",
            ) {
                action = Some(SettingsAction::HeadsDir(dir));
            }
            ui.end_row();
        });
    for line in message_lines(&readouts.settings_message) {
        ui.colored_label(ui.visuals().warn_fg_color, line);
    }
    action
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_and_sources_read_cleanly() {
        let lines: Vec<&str> = message_lines("head x refused\n\n  bad vocab  \n").collect();
        assert_eq!(lines, ["head x refused", "bad vocab"]);
        let mut readouts = Readouts::default();
        assert_eq!(key_source(&readouts), "built-in (default)");
        readouts.key_source = "probe head key".to_owned();
        assert_eq!(key_source(&readouts), "probe head key");
    }
}
