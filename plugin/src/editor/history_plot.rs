//! A small line chart of the text-query similarity histories, drawn with egui's painter
//! (no plotting crate). The newest value sits at the right edge.

use egui::{Color32, Pos2, Rect, Sense, Stroke, Vec2};

/// Smallest vertical span shown, in cosine units, so that flat lines don't fill the plot.
const MIN_SPAN: f32 = 0.1;

/// The vertical range to show for `histories`: their min and max with 10 % headroom, at least
/// [`MIN_SPAN`] wide, within -1..1. `(-0.05, 0.05)`-ish around 0 when there is no finite value.
pub fn value_range<'a>(histories: impl IntoIterator<Item = &'a [f32]>) -> (f32, f32) {
    let (mut low, mut high) = (f32::INFINITY, f32::NEG_INFINITY);
    for value in histories.into_iter().flatten().filter(|v| v.is_finite()) {
        low = low.min(*value);
        high = high.max(*value);
    }
    if low > high {
        return (-MIN_SPAN / 2.0, MIN_SPAN / 2.0);
    }
    let pad = (high - low) * 0.1;
    let (mut low, mut high) = (low - pad, high + pad);
    if high - low < MIN_SPAN {
        let mid = (low + high) / 2.0;
        low = mid - MIN_SPAN / 2.0;
        high = mid + MIN_SPAN / 2.0;
    }
    (low.max(-1.0), high.min(1.0))
}

/// Screen points of `history` in `rect`: `num_slots` evenly spaced slots, the newest value in
/// the last one; values mapped from `range` (low at the bottom). Non-finite values are skipped.
pub fn points(history: &[f32], num_slots: usize, range: (f32, f32), rect: Rect) -> Vec<Pos2> {
    let num_slots = num_slots.max(history.len()).max(2);
    let first_slot = num_slots - history.len();
    let span = (range.1 - range.0).max(f32::EPSILON);
    history
        .iter()
        .enumerate()
        .filter(|(_, value)| value.is_finite())
        .map(|(idx, value)| {
            let x_frac = (first_slot + idx) as f32 / (num_slots - 1) as f32;
            let y_frac = ((value - range.0) / span).clamp(0.0, 1.0);
            Pos2::new(
                rect.left() + x_frac * rect.width(),
                rect.bottom() - y_frac * rect.height(),
            )
        })
        .collect()
}

/// Draws the chart of `lines` (colour, values oldest first) with `num_slots` slots across.
pub fn show(ui: &mut egui::Ui, lines: &[(Color32, &[f32])], num_slots: usize, height: f32) {
    let size = Vec2::new(ui.available_width(), height);
    let (rect, _) = ui.allocate_exact_size(size, Sense::hover());
    let painter = ui.painter_at(rect);
    let visuals = ui.visuals();
    painter.rect_filled(rect, 3.0, visuals.extreme_bg_color);
    let plot = rect.shrink2(Vec2::new(6.0, 8.0));
    let range = value_range(lines.iter().map(|(_, history)| *history));
    let grid = Stroke::new(1.0, visuals.faint_bg_color);
    for step in 0..=4 {
        let y = plot.top() + plot.height() * step as f32 / 4.0;
        painter.hline(plot.x_range(), y, grid);
    }
    if range.0 < 0.0 && range.1 > 0.0 {
        let zero_y = plot.bottom() - (-range.0 / (range.1 - range.0)) * plot.height();
        painter.hline(
            plot.x_range(),
            zero_y,
            Stroke::new(1.0, visuals.weak_text_color()),
        );
    }
    let font = egui::FontId::monospace(10.0);
    let weak = visuals.weak_text_color();
    painter.text(
        plot.left_top(),
        egui::Align2::LEFT_TOP,
        format!("{:+.2}", range.1),
        font.clone(),
        weak,
    );
    painter.text(
        plot.left_bottom(),
        egui::Align2::LEFT_BOTTOM,
        format!("{:+.2}", range.0),
        font,
        weak,
    );
    if lines.iter().all(|(_, history)| history.is_empty()) {
        painter.text(
            plot.center() - Vec2::new(0.0, 12.0),
            egui::Align2::CENTER_CENTER,
            "no values yet",
            egui::FontId::proportional(12.0),
            weak,
        );
    }
    for (colour, history) in lines {
        let line = points(history, num_slots, range, plot);
        if line.len() >= 2 {
            painter.add(egui::Shape::line(line, Stroke::new(1.5, *colour)));
        } else if let Some(point) = line.first() {
            painter.circle_filled(*point, 2.5, *colour);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_covers_the_values_with_headroom() {
        let a = [0.1_f32, 0.3];
        let b = [0.5_f32, f32::NAN];
        let (low, high) = value_range([a.as_slice(), b.as_slice()]);
        assert!((low - 0.06).abs() < 1e-5, "{low}");
        assert!((high - 0.54).abs() < 1e-5, "{high}");
    }

    #[test]
    fn range_of_flat_or_missing_data_has_a_minimum_span() {
        let flat = [0.2_f32; 4];
        let (low, high) = value_range([flat.as_slice()]);
        assert!((high - low - MIN_SPAN).abs() < 1e-5);
        assert!(low < 0.2 && high > 0.2);
        assert_eq!(value_range(std::iter::empty()), (-0.05, 0.05));
    }

    #[test]
    fn newest_point_sits_at_the_right_edge() {
        let rect = Rect::from_min_size(Pos2::new(10.0, 20.0), Vec2::new(100.0, 50.0));
        let line = points(&[0.0, 1.0], 11, (0.0, 1.0), rect);
        assert_eq!(line.len(), 2);
        assert_eq!(line[1], Pos2::new(110.0, 20.0));
        assert_eq!(line[0], Pos2::new(100.0, 70.0));
    }

    #[test]
    fn non_finite_values_are_skipped_and_values_clamped() {
        let rect = Rect::from_min_size(Pos2::ZERO, Vec2::new(10.0, 10.0));
        let line = points(&[f32::NAN, 5.0], 2, (0.0, 1.0), rect);
        assert_eq!(line, [Pos2::new(10.0, 0.0)]);
    }
}
