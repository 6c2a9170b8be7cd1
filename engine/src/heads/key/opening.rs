//! Opening-chord tonic cue: which key's tonic triad the music opens with, used to decide
//! between the best template key and its relative or parallel key.
//!
//! Key templates only see the pitch-class distribution, and a natural-minor loop
//! (i–VI–III–VII, i–iv–VII–III) has exactly the pitches of its relative major. What the
//! distribution cannot show is which chord the music *starts* on: openings establish the key,
//! and most progressions begin on the tonic chord. This stage keeps the plain sum of the first
//! [`OpeningConfig::window_s`] seconds of non-silent chroma frames (one fixed 120-bin
//! histogram) and scores every key by the Pearson correlation of that opening chroma with the
//! key's tonic triad. [`super::KeyEstimator`] uses it only as an arbiter between the top
//! template key and its relative and parallel keys (the pairs templates cannot tell apart),
//! and only when their template scores are within [`OpeningConfig::max_margin`]; in the live
//! (exponentially smoothed) setting the cue fades with the chroma average's time constant, so
//! it cannot pin the display after a key change.
//!
//! Caveat: the gain was measured on `synth::key_corpus`, whose progressions all start on the
//! tonic chord (see `tools/essentia_key_compare.md`). When the audio opens on another chord
//! the arbiter costs about 0.01–0.03 MIREX there; the restriction to relative / parallel keys
//! bounds that loss.

use super::camelot::NUM_KEYS;
use super::chroma::{FineChroma, NUM_FINE_BINS, fold_to_pitch_classes};
use super::profiles::normalize_zero_mean;

/// Settings of the opening-chord stage.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OpeningConfig {
    /// Seconds of non-silent audio, from the start (or the last reset), that form the opening.
    pub window_s: f32,
    /// Weight of the opening triad correlation next to the template correlation (0 = off).
    pub weight: f32,
    /// A relative / parallel key is considered only if its template score is at most this far
    /// below the top key's.
    pub max_margin: f32,
}

impl Default for OpeningConfig {
    /// 1 s, weight 0.8, margin 0.1: chosen on the dev seeds 2024/1/2, averaging audio that
    /// starts on the first chord and audio that starts 2–3 s in.
    fn default() -> Self {
        Self {
            window_s: 1.0,
            weight: 0.8,
            max_margin: 0.1,
        }
    }
}

/// Fixed-size accumulator of the opening chroma. Real-time safe after construction.
#[derive(Debug, Clone)]
pub struct OpeningChord {
    sum: FineChroma,
    hop_s: f32,
    /// Frames that make up the opening: `window_s / hop_s`, rounded, at least 1.
    max_frames: usize,
    num_frames: usize,
    /// Zero-mean, unit-norm tonic triad of each key (index as `Key::index`).
    triads: [[f32; 12]; NUM_KEYS],
}

impl OpeningChord {
    /// An empty opening of frames `hop_s` apart, with the tonic-triad templates built.
    pub fn new(cfg: OpeningConfig, hop_s: f32) -> Self {
        let mut triads = [[0.0; 12]; NUM_KEYS];
        for (key_idx, triad) in triads.iter_mut().enumerate() {
            let tonic = key_idx % 12;
            let third = if key_idx < 12 { 4 } else { 3 };
            for interval in [0, third, 7] {
                triad[(tonic + interval) % 12] = 1.0;
            }
            normalize_zero_mean(triad);
        }
        let max_frames = if hop_s > 0.0 {
            // Saturating float-to-int cast of a finite, non-negative ratio.
            (cfg.window_s / hop_s).round().max(1.0) as usize
        } else {
            1
        };
        Self {
            sum: [0.0; NUM_FINE_BINS],
            hop_s,
            max_frames,
            num_frames: 0,
            triads,
        }
    }

    /// Adds one non-silent frame if the opening window is not full yet.
    pub fn add(&mut self, treble: &FineChroma) {
        if self.num_frames >= self.max_frames {
            return;
        }
        for (acc, &v) in self.sum.iter_mut().zip(treble) {
            *acc += v;
        }
        self.num_frames += 1;
    }

    /// Seconds of opening collected so far (at most about `window_s`).
    pub fn collected_s(&self) -> f32 {
        self.num_frames as f32 * self.hop_s
    }

    /// Pearson correlation of the opening chroma (folded with `tuning_semitones`) with each
    /// key's tonic triad; all zeros while nothing has been collected.
    pub fn triad_scores(&self, tuning_semitones: f32, scores: &mut [f32; NUM_KEYS]) {
        let mut chroma = fold_to_pitch_classes(&self.sum, tuning_semitones);
        if !normalize_zero_mean(&mut chroma) {
            scores.fill(0.0);
            return;
        }
        for (score, triad) in scores.iter_mut().zip(&self.triads) {
            *score = triad.iter().zip(&chroma).map(|(a, b)| a * b).sum();
        }
    }

    /// Forgets the opening. Real-time safe.
    pub fn reset(&mut self) {
        self.sum = [0.0; NUM_FINE_BINS];
        self.num_frames = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heads::key::chroma::BINS_PER_SEMITONE;
    use crate::heads::key::{Key, Mode};

    fn frame_with(pitch_classes: &[usize]) -> FineChroma {
        let mut fine = [0.0; NUM_FINE_BINS];
        for &pc in pitch_classes {
            fine[pc * BINS_PER_SEMITONE] = 1.0;
        }
        fine
    }

    #[test]
    fn an_a_minor_opening_favours_a_minor_over_c_major() {
        let mut opening = OpeningChord::new(OpeningConfig::default(), 0.125);
        let mut scores = [0.0; NUM_KEYS];
        opening.triad_scores(0.0, &mut scores);
        assert!(scores.iter().all(|&s| s == 0.0), "{scores:?}");
        // A C E for 1 s, then C E G (which must be ignored: the window is full).
        for _ in 0..8 {
            opening.add(&frame_with(&[9, 0, 4]));
        }
        for _ in 0..40 {
            opening.add(&frame_with(&[0, 4, 7]));
        }
        assert!((opening.collected_s() - 1.0).abs() < 1e-4);
        opening.triad_scores(0.0, &mut scores);
        let a_minor = Key::new(9, Mode::Minor).index();
        let c_major = Key::new(0, Mode::Major).index();
        assert!((scores[a_minor] - 1.0).abs() < 1e-4, "{scores:?}");
        // C major shares two of the three notes: correlated, but clearly less.
        assert!(scores[c_major] < scores[a_minor] - 0.3, "{scores:?}");
        opening.reset();
        assert_eq!(opening.collected_s(), 0.0);
    }
}
