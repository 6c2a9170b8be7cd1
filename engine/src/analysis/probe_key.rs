//! The key readout from a probe head whose labels are key names ("F# minor", "Bb major", …),
//! chosen with `Command::SetKeyMethod(Some("probe:<task>"))`: the head's per-window
//! probabilities are mapped onto the 24 keys, smoothed over time (exponentially, time
//! constant [`PROBE_KEY_SMOOTHING_S`]) and shown through the same hysteresis as the built-in
//! estimator, so the display does not flicker from one window to the next.

use crate::heads::key::smoothing::KeyHysteresis;
use crate::heads::key::{HysteresisConfig, Key, KeyReadout, NUM_KEYS, RankedKey};
use crate::heads::probe::ProbeHead;

/// Time constant of the smoothing of a probe key head's probabilities, in seconds.
pub const PROBE_KEY_SMOOTHING_S: f32 = 4.0;
/// Hysteresis of the displayed probe key: a challenger must lead by this probability...
pub const PROBE_KEY_SWITCH_MARGIN: f32 = 0.1;
/// ...for this many seconds of audio before the display switches.
pub const PROBE_KEY_SWITCH_HOLD_S: f32 = 4.0;

/// Prefix of a key method that selects a probe head.
pub const PROBE_KEY_PREFIX: &str = "probe:";

/// Every label parsed as a key, or the first label that is not a key name.
pub fn key_labels(labels: &[String]) -> std::result::Result<Vec<Key>, String> {
    labels
        .iter()
        .map(|l| Key::parse(l).ok_or_else(|| l.clone()))
        .collect()
}

/// Turns a key head's window probabilities into a stable [`KeyReadout`].
#[derive(Debug, Clone)]
pub struct ProbeKeyTracker {
    task: String,
    /// Key index of each head label.
    label_keys: Vec<usize>,
    smoothed: Option<[f32; NUM_KEYS]>,
    hysteresis: KeyHysteresis,
    evidence_s: f32,
}

impl ProbeKeyTracker {
    /// A tracker for `head`; errors (with the reason, for the settings message) when a label
    /// is not a key name.
    pub fn new(head: &ProbeHead) -> std::result::Result<Self, String> {
        let task = &head.meta.task;
        let keys = key_labels(&head.meta.labels).map_err(|label| {
            format!(
                "probe head {task} cannot give the key: its label {label:?} is not a key name \
                 (e.g. \"F# minor\"); using the built-in key"
            )
        })?;
        Ok(Self {
            task: task.clone(),
            label_keys: keys.into_iter().map(Key::index).collect(),
            smoothed: None,
            hysteresis: KeyHysteresis::new(HysteresisConfig {
                switch_margin: PROBE_KEY_SWITCH_MARGIN,
                switch_hold_s: PROBE_KEY_SWITCH_HOLD_S,
                settle_s: 0.0,
            }),
            evidence_s: 0.0,
        })
    }

    /// The head's task name.
    pub fn task(&self) -> &str {
        &self.task
    }

    /// Adds one window's probabilities (label order), `dt_s` seconds of new audio after the
    /// previous one. Ignored when the values are not finite or do not match the labels.
    pub fn update(&mut self, probs: &[f32], dt_s: f32) {
        if probs.len() != self.label_keys.len() || probs.iter().any(|p| !p.is_finite()) {
            return;
        }
        let mut per_key = [0f32; NUM_KEYS];
        for (&key_idx, &p) in self.label_keys.iter().zip(probs) {
            per_key[key_idx] += p.max(0.0);
        }
        let total: f32 = per_key.iter().sum();
        if !(total > 0.0 && total.is_finite()) {
            return;
        }
        per_key.iter_mut().for_each(|p| *p /= total);
        let dt_s = if dt_s.is_finite() { dt_s.max(0.0) } else { 0.0 };
        let smoothed = match self.smoothed {
            None => per_key,
            Some(mut old) => {
                let alpha = 1.0 - (-dt_s / PROBE_KEY_SMOOTHING_S).exp();
                for (o, n) in old.iter_mut().zip(per_key) {
                    *o += alpha * (n - *o);
                }
                old
            }
        };
        self.smoothed = Some(smoothed);
        self.evidence_s += dt_s;
        self.hysteresis.update(&smoothed, dt_s);
    }

    /// The current readout (no key before the first window). `tuning_cents` is left at 0:
    /// a probe head does not measure tuning.
    pub fn readout(&self) -> KeyReadout {
        let (Some(scores), Some(displayed_idx)) = (self.smoothed, self.hysteresis.displayed_idx())
        else {
            return KeyReadout {
                evidence_s: self.evidence_s,
                ..KeyReadout::default()
            };
        };
        let runner_up = (0..NUM_KEYS)
            .filter(|&idx| idx != displayed_idx)
            .max_by(|&a, &b| scores[a].total_cmp(&scores[b]))
            .map(|idx| RankedKey {
                key: Key::from_index(idx),
                score: scores[idx],
            });
        let probability = scores[displayed_idx].clamp(0.0, 1.0);
        KeyReadout {
            key: Some(Key::from_index(displayed_idx)),
            score: probability,
            confidence: probability,
            runner_up,
            held_for_s: self.hysteresis.held_s(),
            tuning_cents: 0.0,
            evidence_s: self.evidence_s,
        }
    }

    /// Forgets the audio (a new stream starts).
    pub fn reset(&mut self) {
        self.smoothed = None;
        self.hysteresis.reset();
        self.evidence_s = 0.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heads::probe::{HeadKind, HeadMeta, Pooling, TaskKind};
    use crate::load::identity::ModelIdentity;

    fn head(labels: &[&str]) -> ProbeHead {
        let meta = HeadMeta {
            format_version: 1,
            task: "key".into(),
            task_kind: TaskKind::MultiClass,
            labels: labels.iter().map(|l| l.to_string()).collect(),
            layer: 1,
            pooling: Pooling::Mean,
            head: HeadKind::Linear,
            num_hidden: 0,
            model: ModelIdentity {
                config_hash: "0".into(),
                encoder_dim: 2,
                encoder_depth: 1,
            },
            feature_mean: vec![0.0; 2],
            feature_std: vec![1.0; 2],
            example_window_s: None,
        };
        let net = ProbeHead::fresh_net(&meta, 0).unwrap();
        ProbeHead::new(meta, net).unwrap()
    }

    #[test]
    fn the_display_follows_a_sustained_change_only() {
        let mut tracker = ProbeKeyTracker::new(&head(&["C major", "A minor", "G major"])).unwrap();
        assert_eq!(tracker.readout().key, None);
        tracker.update(&[0.8, 0.1, 0.1], 2.0);
        let r = tracker.readout();
        assert_eq!(r.name(), Some("C major"));
        assert!((r.confidence - 0.8).abs() < 1e-6 && r.evidence_s == 2.0);
        assert!(r.runner_up.is_some_and(|ru| (ru.score - 0.1).abs() < 1e-6));
        // One window of A minor: smoothed, and not held long enough to switch.
        tracker.update(&[0.0, 1.0, 0.0], 2.0);
        assert_eq!(tracker.readout().name(), Some("C major"));
        for _ in 0..4 {
            tracker.update(&[0.0, 1.0, 0.0], 2.0);
        }
        let r = tracker.readout();
        assert_eq!(r.name(), Some("A minor"));
        // A minor led from the 3rd window on, switched after leading 4 s (2 windows), and
        // has been shown for the last 2 windows.
        assert!(
            (r.held_for_s - 4.0).abs() < 1e-6 && r.confidence > 0.8,
            "{r:?}"
        );
        // Garbage is ignored; a reset forgets everything.
        tracker.update(&[f32::NAN, 0.5, 0.5], 2.0);
        tracker.update(&[0.5, 0.5], 2.0);
        assert_eq!(tracker.readout().evidence_s, 12.0);
        tracker.reset();
        assert_eq!(tracker.readout().key, None);
        assert!(
            ProbeKeyTracker::new(&head(&["C major", "tone"])).is_err_and(|m| m.contains("tone"))
        );
    }

    #[test]
    fn key_names_parse_and_other_labels_are_named() {
        let keys = key_labels(&["F# minor".into(), "Bb major".into(), "A minor".into()]);
        assert_eq!(
            keys.map(|k| k.iter().map(|k| k.name()).collect::<Vec<_>>()),
            Ok(vec!["F# minor", "A# major", "A minor"])
        );
        assert_eq!(
            key_labels(&["C major".into(), "tone".into()]),
            Err("tone".to_string())
        );
    }
}
