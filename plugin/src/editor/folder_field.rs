//! A folder setting: a text box with Apply and Clear, used for the vocabulary and heads folders.

use super::model_setup::parse_folder;
use std::path::{Path, PathBuf};

/// What a folder field keeps between frames.
pub struct FolderField {
    /// The folder being typed.
    text: String,
    /// Why the typed folder was refused.
    rejection: Option<String>,
}

impl FolderField {
    /// Starts with `dir` (the persisted folder) in the box.
    pub fn new(dir: Option<&Path>) -> Self {
        Self {
            text: dir.map(|d| d.display().to_string()).unwrap_or_default(),
            rejection: None,
        }
    }

    /// Handles a click on Apply (`clear` false) or Clear (`clear` true): the folder to use
    /// (`None` for the default), or `None` when the typed folder was refused (the reason is
    /// kept for display).
    pub fn submit(&mut self, clear: bool) -> Option<Option<PathBuf>> {
        if clear {
            self.text.clear();
            self.rejection = None;
            return Some(None);
        }
        match parse_folder(&self.text) {
            Ok(dir) => {
                self.rejection = None;
                Some(dir)
            }
            Err(why) => {
                self.rejection = Some(why);
                None
            }
        }
    }
}

/// Draws the field (`id` keeps the widgets apart, `hint` fills the empty box); returns the
/// folder the user applied or cleared.
pub fn show(
    ui: &mut egui::Ui,
    id: &str,
    field: &mut FolderField,
    hint: &str,
) -> Option<Option<PathBuf>> {
    let mut submitted = None;
    ui.push_id(id, |ui| {
        ui.horizontal(|ui| {
            let edit = ui.add(
                egui::TextEdit::singleline(&mut field.text)
                    .hint_text(hint)
                    .desired_width((ui.available_width() - 110.0).max(80.0)),
            );
            let entered = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if ui.button("Apply").clicked() || entered {
                submitted = field.submit(false);
            }
            if ui
                .button("Clear")
                .on_hover_text("back to the built-in default")
                .clicked()
            {
                submitted = field.submit(true);
            }
        });
        if let Some(why) = &field.rejection {
            ui.colored_label(ui.visuals().warn_fg_color, why);
        }
    });
    submitted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apply_checks_the_folder_and_clear_resets() {
        let here = std::env::temp_dir();
        let mut field = FolderField::new(Some(&here));
        assert_eq!(field.submit(false), Some(Some(here.clone())));
        field.text = "/no/such/vocabulary".to_owned();
        assert_eq!(field.submit(false), None);
        assert!(
            field
                .rejection
                .as_deref()
                .is_some_and(|why| why.contains("/no/such/vocabulary"))
        );
        assert_eq!(field.submit(true), Some(None));
        assert!(field.text.is_empty() && field.rejection.is_none());
        // An empty box applies the default too.
        assert_eq!(field.submit(false), Some(None));
    }
}
