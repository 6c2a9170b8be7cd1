//! The text-query section: an input box (Enter adds), the queries with a live similarity meter
//! and a remove button each, and the history chart.

use super::{bars, history_plot, palette, query_list, readout_text};
use muq_engine::analysis::QueryReadout;
use muq_engine::heads::text_query::DEFAULT_HISTORY_LEN;

/// Height of the history chart, in points.
const PLOT_HEIGHT: f32 = 120.0;

/// What the query section keeps between frames.
#[derive(Default)]
pub struct QueryInput {
    /// The text being typed.
    text: String,
    /// Why the last Enter was refused, shown under the box.
    rejection: Option<String>,
}

/// Draws the section. `queries` is the user's list (edited in place); `readouts` what the
/// analysis reports for them; `waiting_text` stands in for a meter the analysis has not scored
/// yet. Returns true when the list changed.
pub fn show(
    ui: &mut egui::Ui,
    input: &mut QueryInput,
    queries: &mut Vec<String>,
    readouts: &[QueryReadout],
    waiting_text: &str,
) -> bool {
    let mut changed = false;
    ui.label(
        egui::RichText::new("TEXT QUERIES")
            .small()
            .strong()
            .color(palette::SECTION),
    );
    ui.horizontal(|ui| {
        let edit = ui.add(
            egui::TextEdit::singleline(&mut input.text)
                .hint_text("describe a sound, e.g. \"distorted guitar\"")
                .desired_width(ui.available_width() - 50.0),
        );
        let entered = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if ui.button("Add").clicked() || entered {
            match query_list::add(queries, &input.text) {
                Ok(()) => {
                    input.text.clear();
                    input.rejection = None;
                    changed = true;
                }
                Err(rejection) => input.rejection = Some(rejection.message()),
            }
            edit.request_focus();
        }
    });
    if let Some(rejection) = &input.rejection {
        ui.colored_label(ui.visuals().warn_fg_color, rejection);
    }
    if queries.is_empty() {
        ui.label(egui::RichText::new("no queries: type one and press Enter").weak());
    }
    let mut remove_idx = None;
    for (query_idx, query) in queries.iter().enumerate() {
        let readout = find(readouts, query);
        ui.horizontal(|ui| {
            if ui
                .small_button("×")
                .on_hover_text("remove this query")
                .clicked()
            {
                remove_idx = Some(query_idx);
            }
            let colour = palette::query_colour(query_idx);
            let (swatch, _) = ui.allocate_exact_size(egui::Vec2::splat(10.0), egui::Sense::hover());
            ui.painter().rect_filled(swatch, 2.0, colour);
            let label_width = (ui.available_width() * 0.55).max(60.0);
            ui.allocate_ui_with_layout(
                egui::Vec2::new(label_width, bars::BAR_HEIGHT),
                egui::Layout::left_to_right(egui::Align::Center),
                |ui| {
                    ui.set_width(label_width);
                    ui.add(egui::Label::new(query.as_str()).truncate());
                },
            );
            let cosine = readout.map_or(f32::NAN, |r| r.similarity);
            let text = match readout {
                Some(r) if r.truncated => format!("{} (cut)", readout_text::similarity(cosine)),
                Some(_) => readout_text::similarity(cosine),
                None => waiting_text.to_owned(),
            };
            let fraction = readout.map_or(0.0, |_| readout_text::similarity_fraction(cosine));
            bars::show(ui, fraction, &text, colour.gamma_multiply(0.6), None);
        });
    }
    if let Some(query_idx) = remove_idx {
        changed |= query_list::remove(queries, query_idx);
    }
    if !queries.is_empty() {
        ui.add_space(4.0);
        let lines: Vec<(egui::Color32, &[f32])> = queries
            .iter()
            .enumerate()
            .filter_map(|(query_idx, query)| {
                let readout = find(readouts, query)?;
                Some((palette::query_colour(query_idx), readout.history.as_slice()))
            })
            .collect();
        let longest = lines.iter().map(|(_, history)| history.len()).max();
        let num_slots = longest.unwrap_or(0).max(DEFAULT_HISTORY_LEN);
        history_plot::show(ui, &lines, num_slots, PLOT_HEIGHT);
        ui.label(
            egui::RichText::new(format!(
                "similarity over the last {num_slots} analysed windows"
            ))
            .small()
            .weak(),
        );
    }
    changed
}

/// The analysis's readout for `query`, if it has caught up with the list.
fn find<'a>(readouts: &'a [QueryReadout], query: &str) -> Option<&'a QueryReadout> {
    readouts.iter().find(|readout| readout.text == query)
}
