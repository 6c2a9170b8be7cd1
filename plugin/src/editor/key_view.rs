//! The key card: tonic and mode in large type, the Camelot code, a confidence bar, the runner-up
//! and how long the key has held. Works without model weights.

use super::{bars, palette, readout_text};
use muq_engine::heads::key::{KeyReadout, LIVE_MIN_EVIDENCE_S};

/// Size of the key name, in points.
const KEY_FONT_SIZE: f32 = 30.0;

/// Draws the key card for `key`.
pub fn show(ui: &mut egui::Ui, key: &KeyReadout) {
    ui.label(
        egui::RichText::new("KEY")
            .small()
            .strong()
            .color(palette::SECTION),
    );
    let Some(name) = key.name() else {
        ui.label(egui::RichText::new("—").size(KEY_FONT_SIZE).weak());
        let text = format!(
            "shown after {LIVE_MIN_EVIDENCE_S:.0} s of tonal audio ({:.1} s so far)",
            key.evidence_s.clamp(0.0, LIVE_MIN_EVIDENCE_S)
        );
        ui.label(egui::RichText::new(text).weak());
        return;
    };
    ui.horizontal(|ui| {
        ui.label(
            egui::RichText::new(name)
                .size(KEY_FONT_SIZE)
                .strong()
                .color(ui.visuals().strong_text_color()),
        );
        if let Some(camelot) = key.camelot() {
            ui.label(
                egui::RichText::new(camelot)
                    .size(KEY_FONT_SIZE * 0.6)
                    .monospace()
                    .color(palette::ACCENT),
            );
        }
    });
    ui.horizontal(|ui| {
        ui.label("confidence");
        bars::show(
            ui,
            readout_text::bar_fraction(key.confidence),
            &readout_text::percent(key.confidence),
            palette::ACCENT_DIM,
            None,
        );
    });
    ui.horizontal_wrapped(|ui| {
        ui.label(egui::RichText::new(readout_text::held_for(key.held_for_s)).weak());
        if let Some(runner_up) = key.runner_up {
            ui.label(egui::RichText::new(format!("· runner-up {}", runner_up.key.name())).weak());
        }
        if let Some(tuning) = readout_text::tuning(key.tuning_cents) {
            ui.label(egui::RichText::new(format!("· {tuning}")).weak());
        }
    });
}
