//! Model setup: says plainly when no weights were found or the model failed, offers to download
//! them (or the CLI command that does), shows where the plugin looks, and lets the user type a
//! folder or rescan.

use super::frame_record::DownloadCardRecord;
use super::model_download::{self, DownloadAction};
use super::palette;
use muq_engine::analysis::{AnalysisPhase, Readouts};
use muq_engine::download::{DownloadTarget, DownloadView};
use muq_engine::load::{MODEL_DIR_ENV, hub_cache_roots};
use std::path::{Path, PathBuf};

/// The command that downloads the weights.
pub const FETCH_COMMAND: &str = "muq fetch";

/// What the user asked for in the setup section.
#[derive(Debug, PartialEq)]
pub enum ModelAction {
    /// Use this folder (`None`: back to the default lookup), and load from it.
    SetDir(Option<PathBuf>),
    /// Look again in the current places (after running `muq fetch`).
    Rescan,
    /// Download the model files into this target (confirmed by the user).
    Download(DownloadTarget),
    /// Stop the running download.
    CancelDownload,
}

/// What the setup section keeps between frames.
pub struct ModelSetup {
    /// The folder being typed.
    folder_text: String,
    /// Why the typed folder was refused.
    rejection: Option<String>,
    /// Where the default lookup searches, computed once (reads the environment).
    places: Vec<String>,
    /// Where a download goes (the persisted folder, else the hub cache).
    download_target: DownloadTarget,
    /// The download confirmation is open.
    confirming_download: bool,
    /// What the download part drew in this frame (moved into the frame record).
    pub drawn_download: DownloadCardRecord,
}

impl ModelSetup {
    /// Starts with the persisted folder in the text box.
    pub fn new(model_dir: Option<&Path>) -> Self {
        let env_dir = std::env::var_os(MODEL_DIR_ENV).filter(|v| !v.is_empty());
        Self {
            folder_text: model_dir
                .map(|d| d.display().to_string())
                .unwrap_or_default(),
            rejection: None,
            places: lookup_places(env_dir.as_deref().map(Path::new), &hub_cache_roots()),
            download_target: model_download::download_target(model_dir),
            confirming_download: false,
            drawn_download: DownloadCardRecord::default(),
        }
    }
}

/// Whether the setup section should be open by itself: no model, or the model failed.
pub fn needs_attention(phase: AnalysisPhase) -> bool {
    matches!(phase, AnalysisPhase::NoModel | AnalysisPhase::Error)
}

/// The folder typed by the user: trimmed; empty means the default lookup; anything else must
/// be an existing folder.
pub fn parse_folder(text: &str) -> Result<Option<PathBuf>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let dir = PathBuf::from(text);
    if dir.is_dir() {
        Ok(Some(dir))
    } else {
        Err(format!("{text} is not a folder on this computer"))
    }
}

/// The places the default lookup searches, in order, as text.
pub fn lookup_places(env_dir: Option<&Path>, cache_roots: &[PathBuf]) -> Vec<String> {
    let mut places = Vec::with_capacity(cache_roots.len() + 1);
    match env_dir {
        Some(dir) => places.push(format!("${MODEL_DIR_ENV} = {}", dir.display())),
        None => places.push(format!("${MODEL_DIR_ENV} (not set)")),
    }
    places.extend(
        cache_roots
            .iter()
            .map(|root| format!("Hugging Face cache: {}", root.display())),
    );
    places
}

/// Draws the section; returns what the user asked for, if anything.
pub fn show(
    ui: &mut egui::Ui,
    setup: &mut ModelSetup,
    readouts: &Readouts,
    download: &DownloadView,
) -> Option<ModelAction> {
    let mut action = None;
    ui.label(
        egui::RichText::new("MODEL SETUP")
            .small()
            .strong()
            .color(palette::SECTION),
    );
    if readouts.phase == AnalysisPhase::Error {
        ui.colored_label(palette::BAD, "The model failed to load or run.");
        if !readouts.message.is_empty() {
            ui.colored_label(palette::BAD, &readouts.message);
        }
    } else if readouts.phase == AnalysisPhase::NoModel {
        let message = if readouts.message.is_empty() {
            "No MuQ-MuLan weights found: instruments, genres and text queries are off."
        } else {
            readouts.message.as_str()
        };
        ui.colored_label(ui.visuals().warn_fg_color, message);
        ui.label(egui::RichText::new("The key readout works without weights.").weak());
    }
    if !readouts.hint.is_empty() {
        ui.label(egui::RichText::new(&readouts.hint).italics());
    }
    let wants_model = needs_attention(readouts.phase);
    if wants_model || download.is_active() || download.phase != Default::default() {
        let download_action = model_download::show(
            ui,
            &mut setup.confirming_download,
            download,
            &setup.download_target,
            &mut setup.drawn_download,
        );
        action = download_action.map(|chosen| match chosen {
            DownloadAction::Start => ModelAction::Download(setup.download_target.clone()),
            DownloadAction::Cancel => ModelAction::CancelDownload,
        });
    }
    ui.horizontal(|ui| {
        ui.label("Or fetch them with");
        ui.code(FETCH_COMMAND);
        if ui.small_button("copy").clicked() {
            ui.ctx().copy_text(FETCH_COMMAND.to_owned());
        }
    });
    ui.label(egui::RichText::new("Looked in, in order:").weak());
    for place in &setup.places {
        ui.label(
            egui::RichText::new(format!("  • {place}"))
                .weak()
                .monospace()
                .size(10.5),
        );
    }
    ui.horizontal(|ui| {
        ui.label("Folder");
        let edit = ui.add(
            egui::TextEdit::singleline(&mut setup.folder_text)
                .hint_text("empty: default lookup")
                .desired_width((ui.available_width() - 110.0).max(80.0)),
        );
        let entered = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if ui.button("Use").clicked() || entered {
            match parse_folder(&setup.folder_text) {
                Ok(dir) => {
                    setup.rejection = None;
                    action = Some(ModelAction::SetDir(dir));
                }
                Err(why) => setup.rejection = Some(why),
            }
        }
        if ui
            .button("Rescan")
            .on_hover_text("look for the weights again")
            .clicked()
        {
            action = Some(ModelAction::Rescan);
        }
    });
    if let Some(why) = &setup.rejection {
        ui.colored_label(ui.visuals().warn_fg_color, why);
    }
    action
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_must_exist_and_empty_means_default() {
        assert_eq!(parse_folder("   "), Ok(None));
        let here = std::env::temp_dir();
        let typed = format!("  {}  ", here.display());
        assert_eq!(parse_folder(&typed), Ok(Some(here)));
        let missing = parse_folder("/no/such/muq/folder");
        assert!(missing.is_err_and(|why| why.contains("/no/such/muq/folder")));
    }

    #[test]
    fn places_list_the_override_then_the_caches() {
        let roots = [PathBuf::from("/h/hub"), PathBuf::from("/c/hub")];
        let places = lookup_places(Some(Path::new("/models/mulan")), &roots);
        assert_eq!(
            places,
            [
                "$MUQ_MODEL_DIR = /models/mulan",
                "Hugging Face cache: /h/hub",
                "Hugging Face cache: /c/hub",
            ]
        );
        assert_eq!(lookup_places(None, &[])[0], "$MUQ_MODEL_DIR (not set)");
    }

    #[test]
    fn setup_opens_for_missing_or_broken_models_only() {
        assert!(needs_attention(AnalysisPhase::NoModel));
        assert!(needs_attention(AnalysisPhase::Error));
        assert!(!needs_attention(AnalysisPhase::Analysing));
        assert!(!needs_attention(AnalysisPhase::Idle));
    }
}
