//! Key readout: a streaming key estimator that needs no model weights.
//!
//! Pipeline: own STFT → spectral peaks, harmonics of lower peaks attenuated, whitened against
//! their local envelope, each also voting for the pitches it could be a harmonic of (HPCP) →
//! tuning-robust fine chroma (+ bass chroma) ([`chroma`]) → exponentially weighted average over
//! ~20 s ([`smoothing`]) → Pearson correlation with 24 key templates, by default the average of
//! the bgate, Sha'ath and Krumhansl–Kessler templates ([`profiles`], [`choice`]), plus (method
//! `ensemble_opening`, not the default) an arbiter between the top key and its relative /
//! parallel key that prefers the key whose tonic triad the first second of audio matches
//! ([`opening`]) → hysteresis on the displayed key so the live display does not flicker.
//! [`estimate_key`] runs the same pipeline over a whole file with a plain average.
//!
//! Threading: [`KeyEstimator::feed`] is real-time safe (no allocation, no locks, bounded work
//! per sample); [`KeyEstimator::new`] allocates and plans the FFT.

pub mod camelot;
pub mod choice;
pub mod chroma;
pub mod opening;
pub mod profiles;
pub mod scoring;
pub mod smoothing;

pub use camelot::{Key, Mode, NUM_KEYS};
pub use choice::{
    DEFAULT_ENSEMBLE, DEFAULT_KEY_METHOD, ENSEMBLE_METHOD, ENSEMBLE_OPENING_METHOD, OPENING_SUFFIX,
    ProfileChoice,
};
pub use chroma::ChromaConfig;
pub use opening::OpeningConfig;
pub use profiles::{KeyProfile, KeyTemplates, ProfileKind};
pub use scoring::{KeyRelation, MirexTally, mirex_score};
pub use smoothing::HysteresisConfig;

use chroma::{ChromaFrontend, FineChroma, NUM_FINE_BINS, estimate_tuning, fold_to_pitch_classes};
use opening::OpeningChord;
use smoothing::{ChromaAverage, KeyHysteresis, argmax};

use crate::{Error, Result};

/// Lowest and highest sample rates the estimator accepts.
pub const SAMPLE_RATE_RANGE_HZ: (f32, f32) = (4_000.0, 768_000.0);

/// Seconds of non-silent audio the live estimator needs before it shows a key: a first guess
/// from 1 s was wrong so often, for audio starting inside a phrase, that correcting it cost
/// more accuracy and more display changes than waiting (see [`HysteresisConfig::default`]).
pub const LIVE_MIN_EVIDENCE_S: f32 = 5.0;

/// Settings of the key estimator. [`KeyConfig::default`] is the live setting,
/// [`KeyConfig::offline`] the whole-file one.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyConfig {
    /// STFT and peak-chroma settings.
    pub chroma: ChromaConfig,
    /// Key profile the templates are built from (and whether the opening cue is on).
    pub profile: ProfileChoice,
    /// Opening-chord stage settings, used when [`ProfileChoice::uses_opening`].
    pub opening: OpeningConfig,
    /// Harmonics per profile note in the templates (1 = the bare profile).
    pub template_harmonics: usize,
    /// Weight of harmonic `h` in the templates is `template_harmonic_decay^(h-1)`.
    pub template_harmonic_decay: f32,
    /// Weight of the (normalised) bass chroma added to the (normalised) full chroma.
    pub bass_weight: f32,
    /// Time constant of the exponentially weighted chroma average; `None` averages everything.
    pub smoothing_s: Option<f32>,
    /// Hysteresis on the displayed key; `None` shows the best-scoring key at once.
    pub hysteresis: Option<HysteresisConfig>,
    /// Seconds of non-silent audio needed before a key is shown.
    pub min_evidence_s: f32,
    /// Softmax temperature turning the 24 correlations into the confidence.
    pub confidence_temperature: f32,
}

impl Default for KeyConfig {
    fn default() -> Self {
        Self {
            chroma: ChromaConfig::default(),
            profile: ProfileChoice::default(),
            opening: OpeningConfig::default(),
            template_harmonics: 1,
            template_harmonic_decay: 0.6,
            bass_weight: 0.0,
            smoothing_s: Some(20.0),
            hysteresis: Some(HysteresisConfig::default()),
            min_evidence_s: LIVE_MIN_EVIDENCE_S,
            confidence_temperature: 0.04,
        }
    }
}

impl KeyConfig {
    /// Whole-file setting: plain average over all frames, no hysteresis.
    pub fn offline() -> Self {
        Self {
            smoothing_s: None,
            hysteresis: None,
            min_evidence_s: 0.0,
            ..Self::default()
        }
    }

    /// This configuration with another key profile.
    pub fn with_profile(self, profile: ProfileChoice) -> Self {
        Self { profile, ..self }
    }

    fn validate(&self) -> Result<()> {
        let bad = |msg: &str| Err(Error::Unsupported(format!("key estimator: {msg}")));
        if self.template_harmonics == 0 || self.template_harmonics > 16 {
            return bad("template_harmonics must be in 1..=16");
        }
        if !(0.0..=1.0).contains(&self.template_harmonic_decay) {
            return bad("template_harmonic_decay must be in 0..=1");
        }
        if !(self.bass_weight >= 0.0 && self.bass_weight <= 10.0) {
            return bad("bass_weight must be in 0..=10");
        }
        if self.smoothing_s.is_some_and(|s| !(s > 0.0)) {
            return bad("smoothing_s must be positive (or None for a plain average)");
        }
        if let Some(h) = self.hysteresis {
            if !(h.switch_margin >= 0.0 && h.switch_hold_s >= 0.0 && h.switch_hold_s.is_finite()) {
                return bad("hysteresis margin and hold must be finite and >= 0");
            }
            if !(h.settle_s >= 0.0 && h.settle_s <= 600.0) {
                return bad("hysteresis settle_s must be in 0..=600");
            }
        }
        let opening = self.opening;
        if !(opening.window_s > 0.0 && opening.window_s <= 60.0) {
            return bad("opening window_s must be in (0, 60]");
        }
        if !(opening.weight >= 0.0 && opening.weight <= 10.0) {
            return bad("opening weight must be in 0..=10");
        }
        if !(opening.max_margin >= 0.0 && opening.max_margin <= 2.0) {
            return bad("opening max_margin must be in 0..=2");
        }
        if !(self.min_evidence_s >= 0.0 && self.min_evidence_s.is_finite()) {
            return bad("min_evidence_s must be finite and >= 0");
        }
        if !(self.confidence_temperature > 1e-4 && self.confidence_temperature.is_finite()) {
            return bad("confidence_temperature must be > 1e-4");
        }
        Ok(())
    }
}

/// A key with its correlation score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RankedKey {
    /// The key.
    pub key: Key,
    /// Pearson correlation of the chroma with a key template (-1..1). With the opening-chord
    /// stage on, the top key may have traded scores with its relative or parallel key.
    pub score: f32,
}

/// What the key display shows. Plain data, `Copy`, no allocation.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct KeyReadout {
    /// Displayed key; `None` until enough non-silent audio has arrived.
    pub key: Option<Key>,
    /// Correlation score of the displayed key (0 when none).
    pub score: f32,
    /// 0..1: softmax probability of the displayed key among the 24 (0 when none).
    pub confidence: f32,
    /// Best-scoring key other than the displayed one.
    pub runner_up: Option<RankedKey>,
    /// Seconds of audio for which the displayed key has stayed on display.
    pub held_for_s: f32,
    /// Measured tuning offset from A = 440 Hz equal temperament, in cents.
    pub tuning_cents: f32,
    /// Seconds of non-silent audio in the estimate.
    pub evidence_s: f32,
}

impl KeyReadout {
    /// Tonic pitch class of the displayed key, 0 = C .. 11 = B.
    pub fn tonic_idx(&self) -> Option<usize> {
        self.key.map(Key::tonic_idx)
    }

    /// Mode of the displayed key.
    pub fn mode(&self) -> Option<Mode> {
        self.key.map(Key::mode)
    }

    /// Name with sharps, e.g. `"F# minor"`.
    pub fn name(&self) -> Option<&'static str> {
        self.key.map(Key::name)
    }

    /// Camelot code, e.g. `"11A"`.
    pub fn camelot(&self) -> Option<&'static str> {
        self.key.map(Key::camelot)
    }
}

/// Streaming key estimator. Feed mono samples in chunks of any size, read [`KeyReadout`]s.
pub struct KeyEstimator {
    cfg: KeyConfig,
    frontend: ChromaFrontend,
    templates: KeyTemplates,
    average: ChromaAverage,
    hysteresis: Option<KeyHysteresis>,
    /// Opening-chord stage, when the method uses it.
    opening: Option<OpeningChord>,
    /// Scratch for the opening triad correlations.
    opening_scores: [f32; NUM_KEYS],
    /// Scratch for the averaged histograms, rewritten on each frame.
    mean_treble: FineChroma,
    mean_bass: FineChroma,
    /// Pitch-class profile the last scores were computed from (sums to ~1).
    chroma: [f32; 12],
    scores: [f32; NUM_KEYS],
    tuning_semitones: f32,
    evidence_s: f32,
    /// Key shown without hysteresis (argmax), once evidence suffices.
    best_idx: Option<usize>,
}

impl std::fmt::Debug for KeyEstimator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyEstimator")
            .field("frontend", &self.frontend)
            .field("evidence_s", &self.evidence_s)
            .finish_non_exhaustive()
    }
}

impl KeyEstimator {
    /// Validates `cfg`, plans the FFT and allocates everything. Not real-time safe.
    pub fn new(cfg: KeyConfig, sample_rate_hz: f32) -> Result<Self> {
        let (lo_hz, hi_hz) = SAMPLE_RATE_RANGE_HZ;
        if !(sample_rate_hz >= lo_hz && sample_rate_hz <= hi_hz) {
            return Err(Error::Unsupported(format!(
                "key estimator: sample rate {sample_rate_hz} Hz is outside {lo_hz}..={hi_hz} Hz"
            )));
        }
        cfg.validate()?;
        let frontend = ChromaFrontend::new(&cfg.chroma, sample_rate_hz)?;
        let (harmonics, decay) = (cfg.template_harmonics, cfg.template_harmonic_decay);
        let templates = cfg.profile.templates(harmonics, decay)?;
        let opening = cfg
            .profile
            .uses_opening()
            .then(|| OpeningChord::new(cfg.opening, frontend.hop_s()));
        let average = ChromaAverage::new(cfg.smoothing_s, frontend.hop_s());
        let hysteresis = cfg.hysteresis.map(KeyHysteresis::new);
        Ok(Self {
            cfg,
            frontend,
            templates,
            average,
            hysteresis,
            opening,
            opening_scores: [0.0; NUM_KEYS],
            mean_treble: [0.0; NUM_FINE_BINS],
            mean_bass: [0.0; NUM_FINE_BINS],
            chroma: [0.0; 12],
            scores: [0.0; NUM_KEYS],
            tuning_semitones: 0.0,
            evidence_s: 0.0,
            best_idx: None,
        })
    }

    /// Feeds mono samples; any chunk size works and gives identical results. Non-finite
    /// samples are replaced by zeros (counted in [`Self::num_non_finite_samples`]).
    /// Real-time safe: does not allocate or lock.
    pub fn feed(&mut self, samples: &[f32]) {
        let hop_s = self.frontend.hop_s();
        let mut rest = samples;
        while !rest.is_empty() {
            let (consumed, frame) = self.frontend.push(rest);
            rest = &rest[consumed..];
            let Some(frame) = frame else {
                continue;
            };
            if frame.is_silent {
                if let Some(h) = self.hysteresis.as_mut() {
                    h.tick(hop_s);
                }
                continue;
            }
            self.average.add(&frame.treble, &frame.bass);
            if let Some(opening) = self.opening.as_mut() {
                opening.add(&frame.treble);
            }
            self.evidence_s += hop_s;
            self.rescore();
            if self.evidence_s + 1e-6 < self.cfg.min_evidence_s {
                continue;
            }
            self.best_idx = Some(argmax(&self.scores));
            if let Some(h) = self.hysteresis.as_mut() {
                h.update(&self.scores, hop_s);
            }
        }
    }

    fn rescore(&mut self) {
        self.average
            .mean(&mut self.mean_treble, &mut self.mean_bass);
        self.tuning_semitones = estimate_tuning(&self.mean_treble);
        let treble = fold_to_pitch_classes(&self.mean_treble, self.tuning_semitones);
        let bass = fold_to_pitch_classes(&self.mean_bass, self.tuning_semitones);
        let treble_sum: f32 = treble.iter().sum();
        let bass_sum: f32 = bass.iter().sum();
        for (pc, out) in self.chroma.iter_mut().enumerate() {
            let t = if treble_sum > 0.0 {
                treble[pc] / treble_sum
            } else {
                0.0
            };
            let b = if bass_sum > 0.0 {
                bass[pc] / bass_sum
            } else {
                0.0
            };
            *out = t + self.cfg.bass_weight * b;
        }
        self.templates.correlate(&self.chroma, &mut self.scores);
        self.add_opening_cue();
    }

    /// Opening-chord arbiter: among the top-scoring key and its relative and parallel keys
    /// (those within [`OpeningConfig::max_margin`] of the top score), the one maximising
    /// `score + weight * opening triad correlation` swaps scores with the top key; no other
    /// key is touched. Live, the weight fades with the chroma average's time constant once the
    /// opening window is full.
    fn add_opening_cue(&mut self) {
        let Some(opening) = self.opening.as_ref() else {
            return;
        };
        let after_opening_s = (self.evidence_s - opening.collected_s()).max(0.0);
        let fade = self
            .cfg
            .smoothing_s
            .map_or(1.0, |tau_s| (-after_opening_s / tau_s).exp());
        let weight = self.cfg.opening.weight * fade;
        if !(weight > 1e-4) {
            return;
        }
        opening.triad_scores(self.tuning_semitones, &mut self.opening_scores);
        let best_idx = argmax(&self.scores);
        let best = Key::from_index(best_idx);
        let mixed = |idx: usize| self.scores[idx] + weight * self.opening_scores[idx];
        let mut winner_idx = best_idx;
        for candidate in [best.relative(), best.parallel()] {
            let idx = candidate.index();
            let within_margin =
                self.scores[best_idx] - self.scores[idx] <= self.cfg.opening.max_margin;
            if within_margin && mixed(idx) > mixed(winner_idx) {
                winner_idx = idx;
            }
        }
        self.scores.swap(best_idx, winner_idx);
    }

    /// The current readout. Cheap (24 exponentials), does not allocate.
    pub fn estimate(&self) -> KeyReadout {
        let displayed_idx = match &self.hysteresis {
            Some(h) => h.displayed_idx(),
            None => self.best_idx,
        };
        let tuning_cents = 100.0 * self.tuning_semitones;
        let Some(displayed_idx) = displayed_idx else {
            return KeyReadout {
                tuning_cents,
                evidence_s: self.evidence_s,
                ..KeyReadout::default()
            };
        };
        let runner_up_idx = (0..NUM_KEYS)
            .filter(|&idx| idx != displayed_idx)
            .max_by(|&a, &b| self.scores[a].total_cmp(&self.scores[b]));
        let max_score = self.scores.iter().fold(f32::MIN, |acc, &s| acc.max(s));
        let temperature = self.cfg.confidence_temperature;
        let partition: f32 = self
            .scores
            .iter()
            .map(|&s| ((s - max_score) / temperature).exp())
            .sum();
        let confidence = ((self.scores[displayed_idx] - max_score) / temperature).exp() / partition;
        KeyReadout {
            key: Some(Key::from_index(displayed_idx)),
            score: self.scores[displayed_idx],
            confidence: if confidence.is_finite() {
                confidence.clamp(0.0, 1.0)
            } else {
                0.0
            },
            runner_up: runner_up_idx.map(|idx| RankedKey {
                key: Key::from_index(idx),
                score: self.scores[idx],
            }),
            held_for_s: self
                .hysteresis
                .as_ref()
                .map_or(self.evidence_s, KeyHysteresis::held_s),
            tuning_cents,
            evidence_s: self.evidence_s,
        }
    }

    /// Score of each of the 24 keys (index as [`Key::index`]): template correlation; with the
    /// opening-chord stage on, the top key may have traded scores with its relative or parallel.
    pub fn scores(&self) -> &[f32; NUM_KEYS] {
        &self.scores
    }

    /// The smoothed 12-bin pitch-class profile behind the scores (C first), for display.
    pub fn pitch_class_profile(&self) -> &[f32; 12] {
        &self.chroma
    }

    /// Number of NaN/Inf samples replaced by zeros since construction or the last reset.
    pub fn num_non_finite_samples(&self) -> u64 {
        self.frontend.num_non_finite()
    }

    /// Forgets all audio and the displayed key. Real-time safe, does not allocate.
    pub fn reset(&mut self) {
        self.frontend.reset();
        self.average.reset();
        if let Some(h) = self.hysteresis.as_mut() {
            h.reset();
        }
        if let Some(opening) = self.opening.as_mut() {
            opening.reset();
        }
        self.chroma = [0.0; 12];
        self.scores = [0.0; NUM_KEYS];
        self.tuning_semitones = 0.0;
        self.evidence_s = 0.0;
        self.best_idx = None;
    }
}

/// Key of a whole recording (mono samples), with [`KeyConfig::offline`].
pub fn estimate_key(samples: &[f32], sample_rate_hz: f32) -> Result<KeyReadout> {
    estimate_key_with(samples, sample_rate_hz, KeyConfig::offline())
}

/// Key of a whole recording with an explicit configuration.
pub fn estimate_key_with(
    samples: &[f32],
    sample_rate_hz: f32,
    cfg: KeyConfig,
) -> Result<KeyReadout> {
    let mut estimator = KeyEstimator::new(cfg, sample_rate_hz)?;
    estimator.feed(samples);
    Ok(estimator.estimate())
}
