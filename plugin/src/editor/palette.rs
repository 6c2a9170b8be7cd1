//! The panel's colours (dark theme).

use egui::Color32;

/// Section titles.
pub const SECTION: Color32 = Color32::from_rgb(140, 150, 170);
/// The key accent (Camelot code).
pub const ACCENT: Color32 = Color32::from_rgb(110, 170, 255);
/// Confidence bar fill.
pub const ACCENT_DIM: Color32 = Color32::from_rgb(50, 95, 160);
/// Instrument score bars.
pub const INSTRUMENT: Color32 = Color32::from_rgb(60, 140, 120);
/// Genre score bars.
pub const GENRE: Color32 = Color32::from_rgb(150, 100, 170);
/// Probe-head score bars.
pub const PROBE: Color32 = Color32::from_rgb(170, 130, 60);
/// The "running" / "analysing" state (the screenshot test looks for this exact colour).
pub const GOOD: Color32 = Color32::from_rgb(80, 190, 110);
/// Errors.
pub const BAD: Color32 = Color32::from_rgb(230, 90, 80);

/// Line colours of the text queries, by position in the list (repeats after eight).
const QUERY_COLOURS: [Color32; 8] = [
    Color32::from_rgb(240, 180, 60),
    Color32::from_rgb(90, 200, 230),
    Color32::from_rgb(230, 110, 170),
    Color32::from_rgb(140, 220, 100),
    Color32::from_rgb(200, 150, 255),
    Color32::from_rgb(255, 130, 90),
    Color32::from_rgb(120, 160, 255),
    Color32::from_rgb(220, 220, 130),
];

/// The colour of the query at `query_idx`.
pub fn query_colour(query_idx: usize) -> Color32 {
    QUERY_COLOURS[query_idx % QUERY_COLOURS.len()]
}
