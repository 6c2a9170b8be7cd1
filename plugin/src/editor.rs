//! The egui editor: a status panel over the worker's [`EngineSnapshot`] plus the analysis
//! settings. It never waits for the worker: it reads the newest snapshot from a triple buffer and
//! sends commands through a bounded queue.

mod format;
mod link;
mod settings;
mod status;

pub use link::EditorLink;

use crate::params::MuqParams;
use muq_engine::bridge::{Command, EngineSnapshot};
use nice_plug::context::gui::GuiContext;
use nice_plug::editor::dpi::LogicalSize;
use nice_plug_egui::{
    EguiEditor, EguiEditorState, EguiNiceSettings, Frame, NiceEguiApp, RepaintNotifier, baseview,
    create_egui_editor,
};
use std::sync::Arc;

/// Logical width of the editor window, in points.
pub const EDITOR_WIDTH: f64 = 420.0;
/// Logical height of the editor window, in points.
pub const EDITOR_HEIGHT: f64 = 380.0;

/// The editor window's initial size and zoom.
pub fn default_state() -> Arc<EguiEditorState> {
    EguiEditorState::from_size(LogicalSize::new(EDITOR_WIDTH, EDITOR_HEIGHT), 1.0)
}

/// Builds the editor; called once by the wrapper when the plugin instance is created.
pub fn create(
    params: Arc<MuqParams>,
    link: Arc<EditorLink>,
    state: Arc<EguiEditorState>,
    repaint: RepaintNotifier,
) -> Option<EguiEditor<MuqEditor>> {
    let app = MuqEditor {
        params,
        link,
        gui_context: None,
        snapshot: EngineSnapshot::default(),
        last_command_error: None,
    };
    let settings = EguiNiceSettings::new().with_tile("MuQ Live");
    create_egui_editor(state, repaint, settings, app)
}

/// The editor app; lives on the GUI thread (behind nice-plug-egui's mutex).
pub struct MuqEditor {
    /// Parameters, for the settings controls.
    params: Arc<MuqParams>,
    /// Snapshots from and commands to the current worker.
    link: Arc<EditorLink>,
    /// Host callbacks for setting parameters; `None` until `build`.
    gui_context: Option<GuiContext>,
    /// Copy of the newest snapshot, refreshed at the start of every frame.
    snapshot: EngineSnapshot,
    /// Shown when the worker's command queue refused a command.
    last_command_error: Option<&'static str>,
}

impl MuqEditor {
    fn send(&mut self, command: Command) {
        self.last_command_error = match self.link.send(command) {
            Ok(()) => None,
            Err(_) => Some("the analysis worker is not running or is busy; try again"),
        };
    }
}

impl NiceEguiApp for MuqEditor {
    fn build(
        &mut self,
        _egui_ctx: egui::Context,
        gui_context: GuiContext,
        _frame: &mut Frame,
    ) -> Result<(), baseview::HandlerError> {
        self.gui_context = Some(gui_context);
        Ok(())
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut Frame) {
        self.link.copy_latest(&mut self.snapshot);
        egui::CentralPanel::default().show(ui, |ui| {
            ui.heading("MuQ Live");
            ui.label(egui::RichText::new("Live music analysis with MuQ").weak());
            ui.separator();
            if status::show(ui, &self.snapshot) {
                self.send(Command::ResetCounters);
            }
            if let Some(message) = self.last_command_error {
                ui.colored_label(ui.visuals().warn_fg_color, message);
            }
            ui.separator();
            if let Some(gui_context) = &self.gui_context {
                settings::show(ui, &self.params, &gui_context.param_setter());
            }
        });
    }
}
