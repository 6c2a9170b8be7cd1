//! The egui editor: key, instrument, genre and text-query readouts over the worker's
//! [`EngineSnapshot`], model setup, settings and a status line. It never waits for the worker:
//! it reads the newest snapshot from a triple buffer and sends commands through a bounded queue.

mod bars;
mod format;
mod history_plot;
mod key_view;
mod labels_view;
mod link;
mod model_setup;
mod palette;
mod queries_view;
mod query_list;
mod readout_text;
mod settings;
mod status;
mod status_line;
#[cfg(test)]
mod tests;

pub use link::EditorLink;

use crate::params::MuqParams;
use model_setup::{ModelAction, ModelSetup};
use muq_engine::analysis::AnalysisPhase;
use muq_engine::bridge::{Command, EngineSnapshot};
use nice_plug::context::gui::GuiContext;
use nice_plug::editor::dpi::LogicalSize;
use nice_plug_egui::resizable_window::ResizableWindow;
use nice_plug_egui::{
    EguiEditor, EguiEditorState, EguiNiceSettings, Frame, NiceEguiApp, RepaintNotifier, baseview,
    create_egui_editor,
};
use queries_view::QueryInput;
use std::sync::Arc;

/// Logical width of the editor window, in points.
pub const EDITOR_WIDTH: f64 = 760.0;
/// Logical height of the editor window, in points.
pub const EDITOR_HEIGHT: f64 = 560.0;

/// Smallest logical width the window can be resized to, in points.
const MIN_WIDTH: f32 = 600.0;
/// Smallest logical height the window can be resized to, in points.
const MIN_HEIGHT: f32 = 440.0;
/// Instruments listed.
const NUM_INSTRUMENTS: usize = 5;
/// Genres listed.
const NUM_GENRES: usize = 3;
/// Background of the panels (dark, but lit enough to read as a panel).
const PANEL_FILL: egui::Color32 = egui::Color32::from_rgb(26, 28, 33);
/// Background of the section cards.
const CARD_FILL: egui::Color32 = egui::Color32::from_rgb(34, 37, 44);

/// Draws `add_contents` on a rounded card as wide as the column, left-aligned.
fn card<R>(ui: &mut egui::Ui, add_contents: impl FnOnce(&mut egui::Ui) -> R) -> R {
    egui::Frame::new()
        .fill(CARD_FILL)
        .corner_radius(6.0)
        .inner_margin(8.0)
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.with_layout(egui::Layout::top_down(egui::Align::Min), add_contents)
                .inner
        })
        .inner
}

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
    let model_setup = ModelSetup::new(params.model_dir.read().as_deref());
    let app = MuqEditor {
        params,
        link,
        gui_context: None,
        snapshot: EngineSnapshot::default(),
        last_command_error: None,
        queries: Vec::new(),
        query_input: QueryInput::default(),
        model_setup,
        queries_unsent: false,
    };
    let settings = EguiNiceSettings::new().with_tile("MuQ Live");
    create_egui_editor(state, repaint, settings, app)
}

/// The editor app; lives on the GUI thread (behind nice-plug-egui's mutex).
pub struct MuqEditor {
    /// Parameters and persisted fields (text queries, model folder).
    params: Arc<MuqParams>,
    /// Snapshots from and commands to the current worker.
    link: Arc<EditorLink>,
    /// Host callbacks for setting parameters; `None` until `build`.
    gui_context: Option<GuiContext>,
    /// Copy of the newest snapshot, refreshed at the start of every frame.
    snapshot: EngineSnapshot,
    /// Shown when the worker's command queue refused a command.
    last_command_error: Option<&'static str>,
    /// Working copy of the persisted text queries, refreshed every frame (a restored project
    /// may replace them).
    queries: Vec<String>,
    /// The query input box.
    query_input: QueryInput,
    /// The model folder box and lookup places.
    model_setup: ModelSetup,
    /// True when the last query list could not be sent; retried every frame.
    queries_unsent: bool,
}

impl MuqEditor {
    /// Sends `command`; false when no worker took it (the persisted fields still reach the
    /// next worker when the plugin is activated).
    fn send(&mut self, command: Command) -> bool {
        let sent = self.link.send(command).is_ok();
        self.last_command_error = (!sent)
            .then_some("the analysis is not running or is busy: the change applies when it starts");
        sent
    }

    /// Persists the edited query list and sends it to the worker.
    fn commit_queries(&mut self) {
        self.params.text_queries.write().clone_from(&self.queries);
        self.queries_unsent = !self.send(Command::SetTextQueries(self.queries.clone()));
    }

    fn apply_model_action(&mut self, action: ModelAction) {
        let dir = match action {
            ModelAction::SetDir(dir) => {
                self.params.model_dir.write().clone_from(&dir);
                dir
            }
            ModelAction::Rescan => self.params.model_dir.read().clone(),
        };
        self.send(Command::SetModelDir(dir));
    }

    fn header(&self, ui: &mut egui::Ui) {
        let readouts = &self.snapshot.readouts;
        ui.horizontal(|ui| {
            ui.heading(egui::RichText::new("MuQ Live").strong());
            ui.add_space(8.0);
            ui.label(
                egui::RichText::new(readouts.phase.label())
                    .strong()
                    .color(status_line::phase_colour(ui, readouts.phase)),
            );
        });
        ui.label(egui::RichText::new(readout_text::phase_detail(readouts)).weak());
        if readouts.phase == AnalysisPhase::Loading {
            ui.add(
                egui::ProgressBar::new(readout_text::bar_fraction(readouts.load_progress))
                    .desired_height(6.0),
            );
        }
    }

    /// Key, then the model's labels (or the model setup when there is no model).
    fn left_column(&mut self, ui: &mut egui::Ui) -> Option<ModelAction> {
        let readouts = &self.snapshot.readouts;
        card(ui, |ui| key_view::show(ui, &readouts.key));
        ui.add_space(6.0);
        if model_setup::needs_attention(readouts.phase) {
            return card(ui, |ui| {
                model_setup::show(ui, &mut self.model_setup, readouts)
            });
        }
        let waiting = "waiting for the first analysed window";
        let note = readout_text::labels_note(readouts);
        card(ui, |ui| {
            labels_view::show(
                ui,
                "INSTRUMENTS",
                note,
                &readouts.instruments,
                NUM_INSTRUMENTS,
                palette::INSTRUMENT,
                waiting,
            );
        });
        ui.add_space(6.0);
        card(ui, |ui| {
            labels_view::show(
                ui,
                "GENRE",
                note,
                &readouts.genres,
                NUM_GENRES,
                palette::GENRE,
                waiting,
            );
        });
        None
    }

    /// The header, status line and sections; returns the model-setup action, if any.
    fn panels(&mut self, ui: &mut egui::Ui) -> Option<ModelAction> {
        let mut model_action = None;
        egui::Panel::top("muq-header").show(ui, |ui| self.header(ui));
        egui::Panel::bottom("muq-status").show(ui, |ui| {
            ui.add_space(2.0);
            status_line::show(ui, &self.snapshot);
            if let Some(message) = self.last_command_error {
                ui.colored_label(ui.visuals().warn_fg_color, message);
            }
        });
        egui::CentralPanel::default().show(ui, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| {
                let mut queries_changed = false;
                let waiting_text = if model_setup::needs_attention(self.snapshot.readouts.phase) {
                    "no model"
                } else {
                    "pending"
                };
                ui.columns(2, |columns| {
                    model_action = self.left_column(&mut columns[0]);
                    queries_changed = card(&mut columns[1], |ui| {
                        queries_view::show(
                            ui,
                            &mut self.query_input,
                            &mut self.queries,
                            &self.snapshot.readouts.queries,
                            waiting_text,
                        )
                    });
                });
                if queries_changed {
                    self.commit_queries();
                }
                ui.add_space(8.0);
                ui.separator();
                model_action = self.footer(ui).or(model_action.take());
            });
        });
        model_action
    }

    fn footer(&mut self, ui: &mut egui::Ui) -> Option<ModelAction> {
        let mut action = None;
        egui::CollapsingHeader::new("Settings").show(ui, |ui| {
            if let Some(gui_context) = &self.gui_context {
                settings::show(ui, &self.params, &gui_context.param_setter());
            }
            if !model_setup::needs_attention(self.snapshot.readouts.phase) {
                ui.add_space(6.0);
                action = model_setup::show(ui, &mut self.model_setup, &self.snapshot.readouts);
            }
        });
        egui::CollapsingHeader::new("Engine details").show(ui, |ui| {
            if status::show(ui, &self.snapshot) {
                self.send(Command::ResetCounters);
            }
        });
        action
    }
}

impl NiceEguiApp for MuqEditor {
    fn build(
        &mut self,
        egui_ctx: egui::Context,
        gui_context: GuiContext,
        _frame: &mut Frame,
    ) -> Result<(), baseview::HandlerError> {
        let mut visuals = egui::Visuals::dark();
        visuals.panel_fill = PANEL_FILL;
        visuals.window_fill = PANEL_FILL;
        visuals.extreme_bg_color = egui::Color32::from_rgb(14, 15, 18);
        egui_ctx.set_visuals_of(egui::Theme::Dark, visuals);
        egui_ctx.set_theme(egui::Theme::Dark);
        self.gui_context = Some(gui_context);
        Ok(())
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut Frame) {
        self.link.copy_latest(&mut self.snapshot);
        self.queries.clone_from(&self.params.text_queries.read());
        if self.queries_unsent {
            self.queries_unsent = !self.send(Command::SetTextQueries(self.queries.clone()));
        }
        let min_size = egui::Vec2::new(MIN_WIDTH, MIN_HEIGHT);
        let model_action = ResizableWindow::new("muq-live-window")
            .min_size(min_size)
            .show(ui, |ui| self.panels(ui))
            .inner;
        if let Some(action) = model_action {
            self.apply_model_action(action);
        }
    }
}
