//! The one-line status bar at the bottom: worker state, inference cost, achieved hop, ring fill,
//! dropped samples and the compute device.

use super::{format, palette, readout_text};
use muq_engine::analysis::AnalysisPhase;
use muq_engine::bridge::{EngineSnapshot, WorkerState};

/// Draws the status line for `snapshot`.
pub fn show(ui: &mut egui::Ui, snapshot: &EngineSnapshot) {
    let readouts = &snapshot.readouts;
    ui.horizontal_wrapped(|ui| {
        ui.spacing_mut().item_spacing.x = 10.0;
        ui.colored_label(worker_colour(ui, snapshot.state), snapshot.state.label());
        let small = |text: String| egui::RichText::new(text).monospace().size(11.0);
        ui.label(small(readout_text::inference(
            readouts.inference_ms,
            readouts.real_time_factor,
        )));
        ui.label(small(readout_text::achieved_hop(
            readouts.achieved_hop_s,
            snapshot.hop_s,
        )));
        ui.label(small(format!(
            "ring {}",
            readout_text::percent(snapshot.ring_fill_ratio())
        )));
        let dropped = small(format!(
            "dropped {}",
            format::count(snapshot.dropped_samples)
        ));
        if snapshot.dropped_samples > 0 {
            ui.label(dropped.color(ui.visuals().warn_fg_color));
        } else {
            ui.label(dropped);
        }
        if readouts.num_windows_skipped > 0 {
            ui.label(
                small(format!(
                    "skipped {}",
                    format::count(readouts.num_windows_skipped)
                ))
                .color(ui.visuals().warn_fg_color),
            )
            .on_hover_text("windows skipped because inference was slower than the hop");
        }
        ui.label(small(readout_text::device(&readouts.device).to_owned()));
    });
}

/// Colour of the phase label at the top of the panel.
pub fn phase_colour(ui: &egui::Ui, phase: AnalysisPhase) -> egui::Color32 {
    match phase {
        AnalysisPhase::Analysing => palette::GOOD,
        AnalysisPhase::Loading | AnalysisPhase::Listening => palette::ACCENT,
        AnalysisPhase::Stale | AnalysisPhase::NoModel => ui.visuals().warn_fg_color,
        AnalysisPhase::Error => palette::BAD,
        AnalysisPhase::Idle => ui.visuals().weak_text_color(),
    }
}

fn worker_colour(ui: &egui::Ui, state: WorkerState) -> egui::Color32 {
    match state {
        WorkerState::Running => palette::GOOD,
        WorkerState::Paused => ui.visuals().warn_fg_color,
        WorkerState::Inactive | WorkerState::Stopped => ui.visuals().weak_text_color(),
    }
}
