//! Settings of the key chroma front end, with validation.

use crate::{Error, Result};

/// Settings of the chroma front end.
#[derive(Debug, Clone, PartialEq)]
pub struct ChromaConfig {
    /// STFT frame length in seconds (rounded to a multiple of 16 samples).
    pub frame_s: f32,
    /// Hop between frames in seconds.
    pub hop_s: f32,
    /// Lowest peak frequency used.
    pub min_hz: f32,
    /// Highest peak frequency used.
    pub max_hz: f32,
    /// Peaks below this frequency also feed the bass histogram.
    pub bass_max_hz: f32,
    /// Peaks weaker than the frame's strongest by more than this many dB are ignored.
    pub peak_floor_db: f32,
    /// At most this many peaks (the strongest) per frame.
    pub max_peaks: usize,
    /// Each peak adds `magnitude^magnitude_exponent`.
    pub magnitude_exponent: f32,
    /// Fraction (0..1) by which a peak is attenuated when it sits on harmonic
    /// 2..=`max_suppressed_harmonic` of a stronger lower peak.
    pub harmonic_suppression: f32,
    /// Highest harmonic number checked by the suppression (5 catches the major third above a
    /// minor tonic, which otherwise pulls minor keys towards their parallel major).
    pub max_suppressed_harmonic: usize,
    /// Spectral whitening: each peak is divided by `envelope^whitening`, the envelope being the
    /// strongest peak within `whitening_octaves` of it (0 disables, 1 fully whitens).
    pub whitening: f32,
    /// Half-width of the whitening envelope window, in octaves.
    pub whitening_octaves: f32,
    /// Each peak also votes for the pitches of which it would be harmonic 2..=1+this (HPCP
    /// harmonic weighting; 0 disables).
    pub num_harmonic_votes: usize,
    /// Frames whose RMS level is below this (dBFS) count as silence and are skipped.
    pub silence_db: f32,
    /// Per frame, fine bins below this fraction of the frame's strongest bin are zeroed
    /// (keeps the sounding chord tones, drops weak partials and noise; 0 disables).
    pub frame_floor: f32,
}

impl Default for ChromaConfig {
    fn default() -> Self {
        Self {
            frame_s: 0.25,
            hop_s: 0.125,
            min_hz: 50.0,
            max_hz: 4000.0,
            bass_max_hz: 220.0,
            peak_floor_db: -60.0,
            max_peaks: 80,
            magnitude_exponent: 1.0,
            harmonic_suppression: 0.5,
            max_suppressed_harmonic: 4,
            whitening: 1.0,
            whitening_octaves: 1.0 / 3.0,
            num_harmonic_votes: 4,
            silence_db: -80.0,
            frame_floor: 0.2,
        }
    }
}

impl ChromaConfig {
    pub(super) fn validate(&self, sample_rate_hz: f32) -> Result<()> {
        let bad = |msg: String| Err(Error::Unsupported(format!("key chroma: {msg}")));
        let nyquist_hz = sample_rate_hz / 2.0;
        if !(self.frame_s >= 0.02 && self.frame_s <= 2.0) {
            return bad(format!("frame_s {} must be in 0.02..=2", self.frame_s));
        }
        if !(self.hop_s > 0.0 && self.hop_s <= self.frame_s) {
            return bad(format!("hop_s {} must be in (0, frame_s]", self.hop_s));
        }
        if !(self.min_hz >= 20.0 && self.min_hz < self.max_hz) {
            return bad(format!(
                "min_hz {} must be >= 20 and below max_hz",
                self.min_hz
            ));
        }
        if !(self.min_hz < nyquist_hz) {
            return bad(format!(
                "min_hz {} is above Nyquist ({nyquist_hz} Hz)",
                self.min_hz
            ));
        }
        if !self.bass_max_hz.is_finite() || !self.peak_floor_db.is_finite() || self.max_peaks == 0 {
            return bad("bass_max_hz, peak_floor_db and max_peaks must be finite and > 0".into());
        }
        if !(self.magnitude_exponent > 0.0 && self.magnitude_exponent <= 4.0) {
            return bad(format!(
                "magnitude_exponent {} must be in (0, 4]",
                self.magnitude_exponent
            ));
        }
        if !(0.0..=1.0).contains(&self.harmonic_suppression) || !self.silence_db.is_finite() {
            return bad("harmonic_suppression must be in 0..=1 and silence_db finite".into());
        }
        if self.max_suppressed_harmonic > 16 {
            return bad(format!(
                "max_suppressed_harmonic {} must be <= 16",
                self.max_suppressed_harmonic
            ));
        }
        let whitening_ok = (0.0..=1.0).contains(&self.whitening);
        let octaves_ok = self.whitening_octaves > 0.0 && self.whitening_octaves <= 4.0;
        if !(whitening_ok && octaves_ok) {
            return bad(format!(
                "whitening {} must be in 0..=1 and whitening_octaves {} in (0, 4]",
                self.whitening, self.whitening_octaves
            ));
        }
        if self.num_harmonic_votes > 16 {
            return bad(format!(
                "num_harmonic_votes {} must be <= 16",
                self.num_harmonic_votes
            ));
        }
        if !(0.0..1.0).contains(&self.frame_floor) {
            return bad(format!("frame_floor {} must be in 0..1", self.frame_floor));
        }
        Ok(())
    }
}
