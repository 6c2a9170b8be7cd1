//! Turning analysis readouts into panel text and bar positions. Pure functions.

use muq_engine::analysis::{AnalysisPhase, Readouts};

/// A 0..1 score as a whole percentage, `"42 %"`; non-finite reads as `"—"`.
pub fn percent(fraction: f32) -> String {
    if fraction.is_finite() {
        format!("{:.0} %", (fraction * 100.0).clamp(0.0, 100.0))
    } else {
        "—".to_owned()
    }
}

/// A 0..1 value clamped for a bar (NaN reads as empty).
pub fn bar_fraction(value: f32) -> f32 {
    if value.is_nan() {
        0.0
    } else {
        value.clamp(0.0, 1.0)
    }
}

/// Position of a cosine similarity (-1..1) on a meter, 0..1 (NaN reads as the middle).
pub fn similarity_fraction(cosine: f32) -> f32 {
    if cosine.is_nan() {
        0.5
    } else {
        ((cosine + 1.0) / 2.0).clamp(0.0, 1.0)
    }
}

/// A cosine similarity with a sign and three decimals, `"+0.231"`.
pub fn similarity(cosine: f32) -> String {
    if cosine.is_finite() {
        format!("{cosine:+.3}")
    } else {
        "—".to_owned()
    }
}

/// How long the key has held: `"held 12 s"`, `"held 2 min 05 s"`, `"just changed"` below 1 s.
pub fn held_for(held_for_s: f32) -> String {
    if !held_for_s.is_finite() || held_for_s < 1.0 {
        return "just changed".to_owned();
    }
    let whole_s = held_for_s.floor() as u64;
    if whole_s < 60 {
        format!("held {whole_s} s")
    } else {
        format!("held {} min {:02} s", whole_s / 60, whole_s % 60)
    }
}

/// The tuning offset, `"A4 = 440 Hz +3 ct"`; hidden (`None`) within ±1 cent or when unknown.
pub fn tuning(tuning_cents: f32) -> Option<String> {
    if !tuning_cents.is_finite() || tuning_cents.abs() < 1.0 {
        None
    } else {
        Some(format!("tuning {tuning_cents:+.0} ct"))
    }
}

/// The one line under the panel title that says what the analysis is doing right now.
pub fn phase_detail(readouts: &Readouts) -> String {
    let detail = match readouts.phase {
        AnalysisPhase::Idle => "waiting for audio".to_owned(),
        AnalysisPhase::Loading => format!("loading the model… {}", percent(readouts.load_progress)),
        AnalysisPhase::Listening => format!(
            "listening: {:.1} s more audio before the first analysis",
            readouts.seconds_needed.max(0.0)
        ),
        AnalysisPhase::Analysing if readouts.provisional => {
            "analysing (provisional: the first window is still short)".to_owned()
        }
        AnalysisPhase::Analysing => "analysing".to_owned(),
        AnalysisPhase::Stale => "stale: the input is silent, showing the last readouts".to_owned(),
        AnalysisPhase::NoModel => "no model weights found: key readout only".to_owned(),
        AnalysisPhase::Error => "the model stopped with an error".to_owned(),
    };
    // Without a model the setup section shows the message and the hint; while listening the
    // message only repeats the seconds still needed.
    let message_is_shown_elsewhere = matches!(
        readouts.phase,
        AnalysisPhase::Error | AnalysisPhase::NoModel | AnalysisPhase::Listening
    );
    if readouts.message.is_empty() || message_is_shown_elsewhere {
        detail
    } else {
        format!("{detail} — {}", readouts.message)
    }
}

/// A note for the model's label lists: `"stale"` when they describe older audio,
/// `"provisional"` when the first window was short, `None` when current.
pub fn labels_note(readouts: &Readouts) -> Option<&'static str> {
    if readouts.stale {
        Some("stale")
    } else if readouts.provisional {
        Some("provisional")
    } else {
        None
    }
}

/// Inference time per window and real-time factor, `"412 ms / window · RTF 0.21"`; a dash
/// before the first window.
pub fn inference(inference_ms: f32, real_time_factor: f32) -> String {
    if inference_ms > 0.0 && inference_ms.is_finite() {
        format!(
            "{inference_ms:.0} ms / window · RTF {:.2}",
            real_time_factor.max(0.0)
        )
    } else {
        "— ms / window".to_owned()
    }
}

/// The hop achieved against the configured one, `"hop 2.00 s"` or `"hop 4.00 s (set 2.00 s)"`
/// when inference cannot keep up.
pub fn achieved_hop(achieved_hop_s: f32, configured_hop_s: f32) -> String {
    if !(achieved_hop_s > 0.0 && achieved_hop_s.is_finite()) {
        return "hop —".to_owned();
    }
    if configured_hop_s > 0.0 && achieved_hop_s > configured_hop_s * 1.05 {
        format!("hop {achieved_hop_s:.2} s (set {configured_hop_s:.2} s)")
    } else {
        format!("hop {achieved_hop_s:.2} s")
    }
}

/// The compute device, `"cpu"` when the analysis has not said yet.
pub fn device(device: &str) -> &str {
    if device.is_empty() { "cpu" } else { device }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_and_bars_are_clamped() {
        assert_eq!(percent(0.423), "42 %");
        assert_eq!(percent(1.7), "100 %");
        assert_eq!(percent(f32::NAN), "—");
        assert_eq!(bar_fraction(-0.2), 0.0);
        assert_eq!(bar_fraction(f32::NAN), 0.0);
        assert_eq!(bar_fraction(0.3), 0.3);
    }

    #[test]
    fn similarities_map_onto_the_meter() {
        assert_eq!(similarity_fraction(-1.0), 0.0);
        assert_eq!(similarity_fraction(0.0), 0.5);
        assert_eq!(similarity_fraction(1.0), 1.0);
        assert_eq!(similarity_fraction(f32::NAN), 0.5);
        assert_eq!(similarity(0.2314), "+0.231");
        assert_eq!(similarity(-0.05), "-0.050");
    }

    #[test]
    fn hold_times_and_tuning() {
        assert_eq!(held_for(0.4), "just changed");
        assert_eq!(held_for(12.9), "held 12 s");
        assert_eq!(held_for(125.0), "held 2 min 05 s");
        assert_eq!(held_for(f32::NAN), "just changed");
        assert_eq!(tuning(0.4), None);
        assert_eq!(tuning(-12.6).as_deref(), Some("tuning -13 ct"));
    }

    #[test]
    fn phase_details_name_what_to_wait_for() {
        let mut readouts = Readouts {
            phase: AnalysisPhase::Listening,
            seconds_needed: 3.24,
            ..Readouts::default()
        };
        assert_eq!(
            phase_detail(&readouts),
            "listening: 3.2 s more audio before the first analysis"
        );
        readouts.message = "3.2 s still needed".to_owned();
        assert_eq!(
            phase_detail(&readouts),
            "listening: 3.2 s more audio before the first analysis"
        );
        readouts.phase = AnalysisPhase::Loading;
        readouts.load_progress = 0.5;
        readouts.message = "reading weights".to_owned();
        assert_eq!(
            phase_detail(&readouts),
            "loading the model… 50 % — reading weights"
        );
        readouts.phase = AnalysisPhase::Error;
        readouts.message = "bad file".to_owned();
        assert_eq!(phase_detail(&readouts), "the model stopped with an error");
        readouts.phase = AnalysisPhase::NoModel;
        assert_eq!(
            phase_detail(&readouts),
            "no model weights found: key readout only"
        );
    }

    #[test]
    fn label_notes_flag_old_or_short_windows() {
        let mut readouts = Readouts::default();
        assert_eq!(labels_note(&readouts), None);
        readouts.provisional = true;
        assert_eq!(labels_note(&readouts), Some("provisional"));
        readouts.stale = true;
        assert_eq!(labels_note(&readouts), Some("stale"));
    }

    #[test]
    fn status_figures() {
        assert_eq!(inference(0.0, 0.0), "— ms / window");
        assert_eq!(inference(412.4, 0.206), "412 ms / window · RTF 0.21");
        assert_eq!(achieved_hop(0.0, 2.0), "hop —");
        assert_eq!(achieved_hop(2.01, 2.0), "hop 2.01 s");
        assert_eq!(achieved_hop(4.0, 2.0), "hop 4.00 s (set 2.00 s)");
        assert_eq!(device(""), "cpu");
        assert_eq!(device("cuda:0"), "cuda:0");
    }
}
