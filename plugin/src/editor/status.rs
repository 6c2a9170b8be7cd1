//! The status panel: what the worker reports in its snapshot.

use super::format;
use muq_engine::bridge::{EngineSnapshot, WorkerState};

/// Width of the ring and level bars, in points.
const METER_WIDTH: f32 = 220.0;

/// Draws the status grid for `snapshot`. Returns true when the user asked to reset the counters.
pub fn show(ui: &mut egui::Ui, snapshot: &EngineSnapshot) -> bool {
    let mut reset_clicked = false;
    egui::Grid::new("muq-status")
        .num_columns(2)
        .spacing([16.0, 6.0])
        .striped(true)
        .show(ui, |ui| {
            ui.label("Worker");
            ui.colored_label(state_colour(ui, snapshot.state), snapshot.state.label());
            ui.end_row();

            ui.label("Sample rate");
            ui.label(format::sample_rate(snapshot.sample_rate_hz));
            ui.end_row();

            ui.label("Captured");
            ui.horizontal(|ui| {
                ui.monospace(format::duration(snapshot.seconds_captured));
                reset_clicked = ui.small_button("Reset").clicked();
            });
            ui.end_row();

            ui.label("Ring fill");
            let fill = snapshot.ring_fill_ratio();
            ui.add(
                egui::ProgressBar::new(fill)
                    .desired_width(METER_WIDTH)
                    .corner_radius(2.0)
                    .text(format!("{:.0} %", fill * 100.0)),
            );
            ui.end_row();

            ui.label("Dropped samples");
            let dropped = format::count(snapshot.dropped_samples);
            if snapshot.dropped_samples > 0 {
                ui.colored_label(ui.visuals().warn_fg_color, dropped);
            } else {
                ui.monospace(dropped);
            }
            ui.end_row();

            level_row(ui, "Input peak", snapshot.input_peak_dbfs);
            level_row(ui, "Input RMS", snapshot.input_rms_dbfs);

            ui.label("Analysis");
            ui.label(format!(
                "{:.1} s window, {:.2} s hop",
                snapshot.window_s, snapshot.hop_s
            ));
            ui.end_row();

            if !snapshot.analyzer_status.is_empty() {
                ui.label("Status");
                ui.label(&snapshot.analyzer_status);
                ui.end_row();
            }
        });
    reset_clicked
}

fn level_row(ui: &mut egui::Ui, label: &str, level_dbfs: f32) {
    ui.label(label);
    ui.add(
        egui::ProgressBar::new(format::meter_fraction(level_dbfs))
            .desired_width(METER_WIDTH)
            .corner_radius(2.0)
            .fill(level_colour(level_dbfs))
            .text(format::dbfs(level_dbfs)),
    );
    ui.end_row();
}

/// Green below -6 dBFS, amber up to -1 dBFS, red above: the usual meter zones.
fn level_colour(level_dbfs: f32) -> egui::Color32 {
    if level_dbfs > -1.0 {
        egui::Color32::from_rgb(220, 60, 50)
    } else if level_dbfs > -6.0 {
        egui::Color32::from_rgb(230, 170, 40)
    } else {
        egui::Color32::from_rgb(60, 170, 90)
    }
}

fn state_colour(ui: &egui::Ui, state: WorkerState) -> egui::Color32 {
    match state {
        WorkerState::Running => egui::Color32::from_rgb(80, 190, 110),
        WorkerState::Paused => ui.visuals().warn_fg_color,
        WorkerState::Inactive | WorkerState::Stopped => ui.visuals().weak_text_color(),
    }
}
