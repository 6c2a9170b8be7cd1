//! The status bar at the bottom: worker state, the model and its size, inference cost, achieved
//! hop, ring fill, dropped samples and the compute device; in the error state, the message and
//! what to do about it. [`items`] builds the text (pure, tested); [`show`] draws it.

use super::{format, palette, readout_text};
use muq_engine::analysis::{AnalysisPhase, Readouts};
use muq_engine::bridge::{EngineSnapshot, WorkerState};

/// Longest error message or remedy shown in the line, in characters (the rest is on hover and
/// in the model setup card).
pub const MAX_ERROR_CHARS: usize = 90;

/// What to do when the model failed and the analysis gave no hint of its own.
pub const DEFAULT_ERROR_HINT: &str =
    "check the model folder under Settings (or run `muq fetch`), then press Rescan";

/// How a status item is coloured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    /// Ordinary text.
    Plain,
    /// Working as it should (the running worker).
    Good,
    /// Needs a look (drops, skipped windows, a paused worker).
    Warn,
    /// Broken (the model error and its remedy).
    Bad,
    /// Not running or nothing to report.
    Weak,
}

/// One piece of the status line.
#[derive(Clone, Debug, PartialEq)]
pub struct StatusItem {
    /// The text shown.
    pub text: String,
    /// Its colour.
    pub tone: Tone,
    /// Shown on hover; empty for none.
    pub hover: String,
}

impl StatusItem {
    fn new(text: impl Into<String>, tone: Tone) -> Self {
        Self {
            text: text.into(),
            tone,
            hover: String::new(),
        }
    }
}

/// `text` cut to `max_chars` characters with an ellipsis (whitespace runs folded to one space);
/// whether it was cut.
pub fn shorten(text: &str, max_chars: usize) -> (String, bool) {
    let folded = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if folded.chars().count() <= max_chars {
        return (folded, false);
    }
    let mut cut: String = folded.chars().take(max_chars.saturating_sub(1)).collect();
    cut.push('…');
    (cut, true)
}

/// An item for `prefix` + `text`, shortened to [`MAX_ERROR_CHARS`] with the whole on hover.
fn error_item(prefix: &str, text: &str) -> StatusItem {
    let (short, was_cut) = shorten(text, MAX_ERROR_CHARS);
    StatusItem {
        text: format!("{prefix}{short}"),
        tone: Tone::Bad,
        hover: if was_cut {
            text.to_owned()
        } else {
            String::new()
        },
    }
}

/// The model part: `"model MuQ-MuLan-large · 2.47 GiB"`, `"model MuQ-MuLan-large"` when the
/// size is unknown, `"no model"` when none is loaded; `" · shared by 3"` when other instances
/// use the same weights.
pub fn model(readouts: &Readouts) -> String {
    let name = readouts.model_name.trim();
    let shared = if readouts.num_model_users > 1 {
        format!(" · shared by {}", readouts.num_model_users)
    } else {
        String::new()
    };
    match (name.is_empty(), readouts.model_size_bytes) {
        (true, _) => "no model".to_owned(),
        (false, 0) => format!("model {name}{shared}"),
        (false, num_bytes) => format!("model {name} · {}{shared}", format::bytes(num_bytes)),
    }
}

/// The items of the status line for `snapshot`, left to right.
pub fn items(snapshot: &EngineSnapshot) -> Vec<StatusItem> {
    let readouts = &snapshot.readouts;
    let mut items = Vec::with_capacity(10);
    if readouts.phase == AnalysisPhase::Error {
        let message = readouts.message.trim();
        let message = if message.is_empty() {
            "the model stopped"
        } else {
            message
        };
        items.push(error_item("error: ", message));
        let hint = readouts.hint.trim();
        let hint = if hint.is_empty() {
            DEFAULT_ERROR_HINT
        } else {
            hint
        };
        items.push(error_item("to fix: ", hint));
    }
    let worker_tone = match snapshot.state {
        WorkerState::Running => Tone::Good,
        WorkerState::Paused => Tone::Warn,
        WorkerState::Inactive | WorkerState::Stopped => Tone::Weak,
    };
    items.push(StatusItem::new(snapshot.state.label(), worker_tone));
    let model_tone = if readouts.model_name.trim().is_empty() {
        Tone::Weak
    } else {
        Tone::Plain
    };
    items.push(StatusItem::new(model(readouts), model_tone));
    items.push(StatusItem::new(
        readout_text::inference(readouts.inference_ms, readouts.real_time_factor),
        Tone::Plain,
    ));
    items.push(StatusItem::new(
        readout_text::achieved_hop(readouts.achieved_hop_s, snapshot.hop_s),
        Tone::Plain,
    ));
    if readouts.analysis_threads > 0 {
        items.push(StatusItem {
            hover:
                "inference threads shared by every MuQ Live instance (Settings → analysis threads)"
                    .to_owned(),
            ..StatusItem::new(
                format!(
                    "{} thread{}",
                    readouts.analysis_threads,
                    if readouts.analysis_threads == 1 {
                        ""
                    } else {
                        "s"
                    }
                ),
                Tone::Plain,
            )
        });
    }
    items.push(StatusItem::new(
        format!("ring {}", readout_text::percent(snapshot.ring_fill_ratio())),
        Tone::Plain,
    ));
    let drop_tone = if snapshot.dropped_samples > 0 {
        Tone::Warn
    } else {
        Tone::Plain
    };
    items.push(StatusItem::new(
        format!("dropped {}", format::count(snapshot.dropped_samples)),
        drop_tone,
    ));
    if readouts.num_windows_skipped > 0 {
        items.push(StatusItem {
            hover: "windows skipped because inference was slower than the hop".to_owned(),
            ..StatusItem::new(
                format!("skipped {}", format::count(readouts.num_windows_skipped)),
                Tone::Warn,
            )
        });
    }
    items.push(StatusItem::new(
        readout_text::device(&readouts.device),
        Tone::Plain,
    ));
    items
}

/// The status line as one string (the frame record keeps it for tests).
pub fn text(items: &[StatusItem]) -> String {
    items
        .iter()
        .map(|item| item.text.as_str())
        .collect::<Vec<_>>()
        .join(" | ")
}

/// Draws `items`.
pub fn show(ui: &mut egui::Ui, items: &[StatusItem]) {
    ui.horizontal_wrapped(|ui| {
        ui.spacing_mut().item_spacing.x = 10.0;
        for item in items {
            let mut text = egui::RichText::new(&item.text);
            if item.tone != Tone::Good {
                text = text.monospace().size(11.0);
            }
            let colour = match item.tone {
                Tone::Plain => None,
                Tone::Good => Some(palette::GOOD),
                Tone::Warn => Some(ui.visuals().warn_fg_color),
                Tone::Bad => Some(palette::BAD),
                Tone::Weak => Some(ui.visuals().weak_text_color()),
            };
            if let Some(colour) = colour {
                text = text.color(colour);
            }
            let response = ui.label(text);
            if !item.hover.is_empty() {
                response.on_hover_text(&item.hover);
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(readouts: Readouts) -> EngineSnapshot {
        EngineSnapshot {
            state: WorkerState::Running,
            readouts,
            ..EngineSnapshot::default()
        }
    }

    #[test]
    fn model_name_and_size() {
        let mut readouts = Readouts::default();
        assert_eq!(model(&readouts), "no model");
        readouts.model_name = "MuQ-MuLan-large".to_owned();
        assert_eq!(model(&readouts), "model MuQ-MuLan-large");
        readouts.model_size_bytes = 2_650_000_000;
        assert_eq!(model(&readouts), "model MuQ-MuLan-large · 2.47 GiB");
        readouts.num_model_users = 1;
        assert_eq!(model(&readouts), "model MuQ-MuLan-large · 2.47 GiB");
        readouts.num_model_users = 3;
        assert_eq!(
            model(&readouts),
            "model MuQ-MuLan-large · 2.47 GiB · shared by 3"
        );
    }

    #[test]
    fn the_line_shows_the_analysis_threads_after_the_hop() {
        let readouts = Readouts {
            analysis_threads: 4,
            achieved_hop_s: 2.0,
            ..Readouts::default()
        };
        let line = items(&snapshot(readouts));
        let hop_idx = line
            .iter()
            .position(|item| item.text.starts_with("hop "))
            .expect("hop item");
        assert_eq!(line[hop_idx + 1].text, "4 threads");
        assert!(line[hop_idx + 1].hover.contains("every MuQ Live instance"));
    }

    #[test]
    fn the_line_lists_state_model_cost_hop_ring_drops_and_device() {
        let readouts = Readouts {
            model_name: "mulan".to_owned(),
            model_size_bytes: 3 * 1024 * 1024,
            inference_ms: 412.4,
            real_time_factor: 0.206,
            achieved_hop_s: 2.0,
            device: "cpu".to_owned(),
            ..Readouts::default()
        };
        let mut snap = snapshot(readouts);
        snap.hop_s = 2.0;
        snap.dropped_samples = 1500;
        let line = items(&snap);
        let texts: Vec<&str> = line.iter().map(|item| item.text.as_str()).collect();
        assert_eq!(texts[0], WorkerState::Running.label());
        assert_eq!(line[0].tone, Tone::Good);
        assert_eq!(texts[1], "model mulan · 3.00 MiB");
        assert_eq!(texts[2], "412 ms / window · RTF 0.21");
        assert_eq!(texts[3], "hop 2.00 s");
        assert!(texts[4].starts_with("ring "));
        assert_eq!(texts[5], "dropped 1\u{2009}500");
        assert_eq!(line[5].tone, Tone::Warn);
        assert_eq!(texts.last(), Some(&"cpu"));
        assert!(text(&line).contains("model mulan · 3.00 MiB | 412 ms"));
    }

    #[test]
    fn an_error_says_what_happened_and_what_to_do() {
        let mut readouts = Readouts {
            phase: AnalysisPhase::Error,
            message: "model.safetensors is truncated".to_owned(),
            ..Readouts::default()
        };
        let line = items(&snapshot(readouts.clone()));
        assert_eq!(line[0].text, "error: model.safetensors is truncated");
        assert_eq!(line[1].text, format!("to fix: {DEFAULT_ERROR_HINT}"));
        assert!(line[..2].iter().all(|item| item.tone == Tone::Bad));
        readouts.hint = "download the weights again".to_owned();
        let line = items(&snapshot(readouts.clone()));
        assert_eq!(line[1].text, "to fix: download the weights again");
        // A long message is cut in the line and whole on hover.
        readouts.message = format!("could not load\n  {}", "x".repeat(200));
        let line = items(&snapshot(readouts.clone()));
        assert_eq!(
            line[0].text.chars().count(),
            "error: ".len() + MAX_ERROR_CHARS
        );
        assert!(
            line[0].text.starts_with("error: could not load xxx") && line[0].text.ends_with('…')
        );
        assert_eq!(line[0].hover, readouts.message);
        // Without an error there is no error item.
        let line = items(&snapshot(Readouts::default()));
        assert!(line.iter().all(|item| item.tone != Tone::Bad));
        assert_eq!(line[1].text, "no model");
    }

    #[test]
    fn shortening_folds_whitespace_and_marks_cuts() {
        assert_eq!(shorten("a  b\n c", 10), ("a b c".to_owned(), false));
        assert_eq!(shorten("abcdef", 4), ("abc…".to_owned(), true));
        assert_eq!(shorten("", 4), (String::new(), false));
    }

    #[test]
    fn skipped_windows_are_flagged() {
        let readouts = Readouts {
            num_windows_skipped: 3,
            ..Readouts::default()
        };
        let line = items(&snapshot(readouts));
        let skipped = line.iter().find(|item| item.text == "skipped 3");
        assert!(skipped.is_some_and(|item| item.tone == Tone::Warn && !item.hover.is_empty()));
    }
}
