//! The zero-shot label lists (instruments, genres) with score bars.

use super::{bars, readout_text};
use muq_engine::analysis::LabelScore;

/// Width of the label column, in points.
const LABEL_WIDTH: f32 = 120.0;

/// Draws a titled list of at most `max_rows` labels, best first, or `empty_text` when empty;
/// `note` (e.g. "stale") is shown next to the title.
pub fn show(
    ui: &mut egui::Ui,
    title: &str,
    note: Option<&str>,
    labels: &[LabelScore],
    max_rows: usize,
    fill: egui::Color32,
    empty_text: &str,
) {
    ui.horizontal(|ui| {
        ui.label(
            egui::RichText::new(title)
                .small()
                .strong()
                .color(super::palette::SECTION),
        );
        if let Some(note) = note {
            ui.label(
                egui::RichText::new(note)
                    .small()
                    .color(ui.visuals().warn_fg_color),
            );
        }
    });
    if labels.is_empty() {
        ui.label(egui::RichText::new(empty_text).weak());
        return;
    }
    for label in labels.iter().take(max_rows) {
        ui.horizontal(|ui| {
            let (rect, _) = ui.allocate_exact_size(
                egui::Vec2::new(LABEL_WIDTH, bars::BAR_HEIGHT),
                egui::Sense::hover(),
            );
            ui.painter_at(rect).text(
                rect.left_center(),
                egui::Align2::LEFT_CENTER,
                &label.label,
                egui::TextStyle::Body.resolve(ui.style()),
                ui.visuals().text_color(),
            );
            bars::show(
                ui,
                readout_text::bar_fraction(label.score),
                &readout_text::percent(label.score),
                fill,
                None,
            )
            .on_hover_text(format!(
                "cosine similarity {}",
                readout_text::similarity(label.cosine)
            ));
        });
    }
}
