//! The probe-heads card: each loaded head's task and its top labels with bars.

use super::frame_record::{ProbeCardRecord, ProbeHeadRecord};
use super::{labels_view, palette};
use muq_engine::analysis::ProbeReadout;

/// Labels listed per head.
const NUM_PROBE_LABELS: usize = 3;

/// Card title (the frame record lists it when drawn).
pub const TITLE: &str = "PROBE HEADS";

/// Draws the card for `probes` (the caller skips it when there are none); returns what it drew
/// for the frame record.
pub fn show(ui: &mut egui::Ui, probes: &[ProbeReadout]) -> ProbeCardRecord {
    ui.label(
        egui::RichText::new(TITLE)
            .small()
            .strong()
            .color(palette::SECTION),
    );
    for (probe_idx, probe) in probes.iter().enumerate() {
        if probe_idx > 0 {
            ui.add_space(4.0);
        }
        let note = probe.multi_label.then_some("multi-label");
        labels_view::show(
            ui,
            &probe.task,
            note,
            &probe.top,
            NUM_PROBE_LABELS,
            palette::PROBE,
            "no output yet",
        );
    }
    let rect = ui.min_rect();
    ProbeCardRecord {
        rect: [rect.left(), rect.top(), rect.right(), rect.bottom()],
        heads: probes.iter().map(drawn_head).collect(),
    }
}

/// The task and the labels [`show`] lists for `probe`.
fn drawn_head(probe: &ProbeReadout) -> ProbeHeadRecord {
    ProbeHeadRecord {
        task: probe.task.clone(),
        labels: probe
            .top
            .iter()
            .take(NUM_PROBE_LABELS)
            .map(|label| label.label.clone())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use muq_engine::analysis::LabelScore;

    fn probe(task: &str, labels: &[&str]) -> ProbeReadout {
        ProbeReadout {
            task: task.to_owned(),
            multi_label: false,
            top: labels
                .iter()
                .enumerate()
                .map(|(idx, label)| LabelScore {
                    label: (*label).to_owned(),
                    score: 0.5 / (idx + 1) as f32,
                    cosine: 0.0,
                })
                .collect(),
        }
    }

    #[test]
    fn the_record_lists_each_head_with_the_labels_drawn() {
        let probes = [
            probe("key", &["C major", "A minor", "F# major", "Eb minor"]),
            probe("timbre", &["music", "noise"]),
        ];
        let ctx = egui::Context::default();
        let mut drawn = ProbeCardRecord::default();
        let mut output = ctx.run_ui(egui::RawInput::default(), |ui| {
            drawn = show(ui, &probes);
        });
        output.textures_delta.clear();
        let heads: Vec<(&str, Vec<&str>)> = drawn
            .heads
            .iter()
            .map(|h| {
                (
                    h.task.as_str(),
                    h.labels.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            heads,
            [
                ("key", vec!["C major", "A minor", "F# major"]),
                ("timbre", vec!["music", "noise"]),
            ]
        );
        let [left, top, right, bottom] = drawn.rect;
        assert!(right > left && bottom - top > 100.0, "{:?}", drawn.rect);
    }
}
