//! A thin horizontal score bar with its value written on top, drawn with the painter.

use egui::{Color32, Sense, Vec2};

/// Height of a score bar, in points.
pub const BAR_HEIGHT: f32 = 14.0;

/// Draws a bar `width` wide (the rest of the row when `None`) filled to `fraction` (0..1,
/// already clamped by the caller) in `fill`, with `text` at its right end. The response allows
/// a hover text.
pub fn show(
    ui: &mut egui::Ui,
    fraction: f32,
    text: &str,
    fill: Color32,
    width: Option<f32>,
) -> egui::Response {
    let width = width.unwrap_or_else(|| ui.available_width()).max(24.0);
    let (rect, response) = ui.allocate_exact_size(Vec2::new(width, BAR_HEIGHT), Sense::hover());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 2.0, ui.visuals().extreme_bg_color);
    let mut filled = rect;
    filled.set_width(rect.width() * fraction.clamp(0.0, 1.0));
    painter.rect_filled(filled, 2.0, fill);
    painter.text(
        rect.right_center() - Vec2::new(4.0, 0.0),
        egui::Align2::RIGHT_CENTER,
        text,
        egui::FontId::monospace(11.0),
        ui.visuals().strong_text_color(),
    );
    response
}
