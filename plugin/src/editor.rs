//! The egui editor: key, instrument, genre, probe-head and text-query readouts over the
//! worker's [`EngineSnapshot`], model setup, settings and a status line. It never waits for the
//! worker: it reads the newest snapshot from a triple buffer and sends commands through a
//! bounded queue. It draws only when woken: by a changed snapshot (the worker's publish hook),
//! a parameter change or user input.

mod actions;
mod bars;
mod engine_settings;
mod folder_field;
mod format;
mod frame_record;
mod history_plot;
mod key_method;
mod key_view;
mod labels_view;
mod link;
mod model_download;
mod model_setup;
mod palette;
mod probes_view;
mod queries_view;
mod query_list;
mod readout_text;
mod settings;
mod status;
mod status_line;
#[cfg(test)]
mod tests;

pub use frame_record::{FrameRecord, FrameRecorder};
pub use link::EditorLink;

use crate::params::MuqParams;
use engine_settings::EngineSettings;
use model_setup::{ModelAction, ModelSetup};
use muq_engine::analysis::AnalysisPhase;
use muq_engine::bridge::{Command, EngineSnapshot};
use nice_plug::context::gui::GuiContext;
use nice_plug::editor::ResizeHint;
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

/// What the plugin shares with its editor.
pub struct EditorShared {
    /// Parameters and persisted fields.
    pub params: Arc<MuqParams>,
    /// Snapshots from and commands to the current worker.
    pub link: Arc<EditorLink>,
    /// The window's size and zoom.
    pub state: Arc<EguiEditorState>,
    /// Wakes the editor when the worker publishes a changed snapshot.
    pub repaint: RepaintNotifier,
    /// Where the editor records what it drew (when enabled).
    pub record: Arc<FrameRecorder>,
}

/// Builds the editor; called once by the wrapper when the plugin instance is created.
pub fn create(shared: EditorShared) -> Option<EguiEditor<MuqEditor>> {
    let app = MuqEditor::new(shared.params, shared.link, shared.record);
    // Resizable by the host and by the corner grip (`ResizableWindow`), down to the minimum.
    let resize_hint =
        ResizeHint::resizable().with_min_logical_size(LogicalSize::new(MIN_WIDTH, MIN_HEIGHT));
    let settings = EguiNiceSettings::new()
        .with_tile("MuQ Live")
        .with_resize_hint(resize_hint);
    create_egui_editor(shared.state, shared.repaint, settings, app)
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
    /// Height of the status panel in the previous frame, in points (egui sizes a panel from the
    /// previous frame, so a change means this frame drew it clipped).
    status_height: f32,
    /// Working copy of the persisted text queries, refreshed every frame (a restored project
    /// may replace them).
    queries: Vec<String>,
    /// The query input box.
    query_input: QueryInput,
    /// The model folder box and lookup places.
    model_setup: ModelSetup,
    /// True when the last query list could not be sent; retried every frame.
    queries_unsent: bool,
    /// Key method, vocabulary and heads folder widgets.
    engine_settings: EngineSettings,
    /// What the latest frame drew (shared with the plugin for tests).
    record: Arc<FrameRecorder>,
    /// Titles of the cards drawn in the current frame.
    cards: Vec<&'static str>,
    /// The phase label's rectangle in the current frame.
    phase_rect: egui::Rect,
    /// The Settings header's rectangle in the current frame.
    settings_rect: egui::Rect,
    /// What the probe-heads card drew in the current frame.
    probe_card: frame_record::ProbeCardRecord,
    /// True from `build` until the first frame has applied the persisted window size; window
    /// sizes reported before that are the default, not the user's, and are not persisted.
    size_restore_pending: bool,
}

impl MuqEditor {
    /// An editor over `params`, talking to the worker through `link`, recording its frames in
    /// `record`.
    pub fn new(params: Arc<MuqParams>, link: Arc<EditorLink>, record: Arc<FrameRecorder>) -> Self {
        let model_setup = ModelSetup::new(params.model_dir.read().as_deref());
        let engine_settings = EngineSettings::new(&params);
        Self {
            params,
            link,
            gui_context: None,
            snapshot: EngineSnapshot::default(),
            last_command_error: None,
            status_height: 0.0,
            queries: Vec::new(),
            query_input: QueryInput::default(),
            model_setup,
            queries_unsent: false,
            engine_settings,
            record,
            cards: Vec::new(),
            phase_rect: egui::Rect::NOTHING,
            settings_rect: egui::Rect::NOTHING,
            probe_card: frame_record::ProbeCardRecord::default(),
            size_restore_pending: true,
        }
    }

    /// Sends `command`; false when no worker took it (the persisted fields still reach the
    /// next worker when the plugin is activated).
    fn send(&mut self, command: Command) -> bool {
        let sent = self.link.send(command).is_ok();
        self.last_command_error = (!sent)
            .then_some("the analysis is not running or is busy: the change applies when it starts");
        sent
    }

    fn header(&mut self, ui: &mut egui::Ui) {
        let readouts = &self.snapshot.readouts;
        let phase_rect = ui.horizontal(|ui| {
            ui.heading(egui::RichText::new("MuQ Live").strong());
            ui.add_space(8.0);
            ui.label(
                egui::RichText::new(readouts.phase.label())
                    .strong()
                    .color(status_line::phase_colour(ui, readouts.phase)),
            )
            .rect
        });
        self.phase_rect = phase_rect.inner;
        ui.label(egui::RichText::new(readout_text::phase_detail(readouts)).weak());
        if readouts.phase == AnalysisPhase::Loading {
            ui.add(
                egui::ProgressBar::new(readout_text::bar_fraction(readouts.load_progress))
                    .desired_height(6.0),
            );
        }
    }

    /// Key, then the model's labels (or the model setup when there is no model), then the
    /// probe heads when any are loaded.
    fn left_column(&mut self, ui: &mut egui::Ui) -> Option<ModelAction> {
        let readouts = &self.snapshot.readouts;
        card(ui, |ui| key_view::show(ui, &readouts.key));
        self.cards.push("KEY");
        ui.add_space(6.0);
        if model_setup::needs_attention(readouts.phase) {
            self.cards.push("MODEL SETUP");
            let action = card(ui, |ui| {
                model_setup::show(ui, &mut self.model_setup, readouts, &self.snapshot.download)
            });
            self.probes_card(ui);
            return action;
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
        self.cards.extend(["INSTRUMENTS", "GENRE"]);
        self.probes_card(ui);
        None
    }

    /// The probe heads' card, when any head is loaded.
    fn probes_card(&mut self, ui: &mut egui::Ui) {
        let probes = &self.snapshot.readouts.probes;
        if !probes.is_empty() {
            ui.add_space(6.0);
            self.probe_card = card(ui, |ui| probes_view::show(ui, probes));
            self.cards.push(probes_view::TITLE);
        }
    }

    /// The header, status line and sections; returns the model-setup action, if any.
    fn panels(&mut self, ui: &mut egui::Ui) -> Option<ModelAction> {
        let mut model_action = None;
        egui::Panel::top("muq-header").show(ui, |ui| self.header(ui));
        let status_items = status_line::items(&self.snapshot);
        let status = egui::Panel::bottom("muq-status").show(ui, |ui| {
            ui.add_space(2.0);
            status_line::show(ui, &status_items);
            if let Some(message) = self.last_command_error {
                ui.colored_label(ui.visuals().warn_fg_color, message);
            }
        });
        // A status line that wrapped onto more (or fewer) rows than last frame was drawn with
        // the old height, its last rows cut off (e.g. the worker state behind a long error):
        // draw the next frame at once, with the panel at its new height.
        let status_height = status.response.rect.height();
        if (status_height - self.status_height).abs() > 0.5 {
            self.status_height = status_height;
            ui.ctx().request_repaint();
        }
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
                    self.cards.push("TEXT QUERIES");
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
        if self.record.is_enabled() {
            self.record_frame(ui, &status_items);
        } else {
            self.cards.clear();
            self.probe_card = frame_record::ProbeCardRecord::default();
            self.model_setup.drawn_download = frame_record::DownloadCardRecord::default();
        }
        model_action
    }

    /// Stores what this frame drew in the shared frame record.
    fn record_frame(&mut self, ui: &egui::Ui, status_items: &[status_line::StatusItem]) {
        let readouts = &self.snapshot.readouts;
        let colour = status_line::phase_colour(ui, readouts.phase);
        let rect = self.phase_rect;
        let settings = self.settings_rect;
        let screen = ui.ctx().content_rect();
        let mut record = self.record.lock();
        record.num_frames += 1;
        record.phase_label.clear();
        record.phase_label.push_str(readouts.phase.label());
        record.phase_detail = readout_text::phase_detail(readouts);
        record.phase_colour = [colour.r(), colour.g(), colour.b()];
        record.phase_rect = [rect.left(), rect.top(), rect.right(), rect.bottom()];
        record.settings_rect = [
            settings.left(),
            settings.top(),
            settings.right(),
            settings.bottom(),
        ];
        record.pixels_per_point = ui.ctx().pixels_per_point();
        record.screen_size = [screen.width(), screen.height()];
        record.status_line = status_line::text(status_items);
        record.key_source.clear();
        if self.cards.contains(&"SETTINGS") {
            record
                .key_source
                .push_str(engine_settings::key_source(readouts));
        }
        record.key_method =
            key_method::KeyMethod::from_setting(self.params.key_method.read().as_deref()).label();
        record.key_method_choices = key_method::choices(&readouts.probes)
            .iter()
            .map(key_method::KeyMethod::label)
            .collect();
        record.probe_card = std::mem::take(&mut self.probe_card);
        record.download_card = std::mem::take(&mut self.model_setup.drawn_download);
        record.cards.clear();
        record.cards.extend(self.cards.drain(..).map(str::to_owned));
    }

    fn footer(&mut self, ui: &mut egui::Ui) -> Option<ModelAction> {
        let mut action = None;
        let mut settings_action = None;
        let settings_section = egui::CollapsingHeader::new("Settings").show(ui, |ui| {
            if let Some(gui_context) = &self.gui_context {
                settings::show(ui, &self.params, &gui_context.param_setter());
            }
            ui.add_space(6.0);
            settings_action =
                engine_settings::show(ui, &mut self.engine_settings, &self.snapshot.readouts);
            if !model_setup::needs_attention(self.snapshot.readouts.phase) {
                ui.add_space(6.0);
                action = model_setup::show(
                    ui,
                    &mut self.model_setup,
                    &self.snapshot.readouts,
                    &self.snapshot.download,
                );
            }
        });
        self.settings_rect = settings_section.header_response.rect;
        if settings_section.body_returned.is_some() {
            self.cards.push("SETTINGS");
        }
        if let Some(settings_action) = settings_action {
            self.apply_settings_action(settings_action);
        }
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
        // A restored project may have replaced the persisted settings since the last opening.
        self.engine_settings = EngineSettings::new(&self.params);
        self.model_setup = ModelSetup::new(self.params.model_dir.read().as_deref());
        self.size_restore_pending = true;
        Ok(())
    }

    fn resized(&mut self, new_size: baseview::WindowSize) {
        if !self.size_restore_pending {
            self.remember_size(new_size.logical.width, new_size.logical.height);
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut Frame) {
        self.link.copy_latest(&mut self.snapshot);
        self.queries.clone_from(&self.params.text_queries.read());
        if self.queries_unsent {
            self.queries_unsent = !self.send(Command::SetTextQueries(self.queries.clone()));
        }
        if self.size_restore_pending {
            self.size_restore_pending = false;
            self.restore_size(ui);
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
