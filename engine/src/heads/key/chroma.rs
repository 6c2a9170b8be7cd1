//! Streaming, tuning-robust chroma for key estimation.
//!
//! Each STFT frame (Hann window, about 0.25 s, half overlap) is reduced to its spectral peaks
//! (quadratically interpolated on log magnitude), optionally with harmonics of lower peaks
//! attenuated, then whitened against their local envelope; each peak adds
//! `magnitude^exponent` to a *fine* pitch-class histogram with [`BINS_PER_SEMITONE`] bins per
//! semitone, and votes to the pitches it could be a harmonic of (HPCP, Gómez 2006). Folding
//! the fine histogram to 12 pitch classes happens later, around the tuning measured from the
//! histogram itself, so a detuned recording still lands on the right pitch classes. A separate
//! fine histogram collects peaks below `bass_max_hz` for bass emphasis.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};

mod config;
mod fold;
mod weighting;

pub use config::ChromaConfig;
pub use fold::{estimate_tuning, fold_to_pitch_classes};

use crate::Result;

/// Resolution of the fine pitch-class histogram.
pub const BINS_PER_SEMITONE: usize = 10;
/// Number of bins of the fine pitch-class histogram (one octave).
pub const NUM_FINE_BINS: usize = 12 * BINS_PER_SEMITONE;

/// A fine pitch-class histogram, bin 0 centred on an equal-tempered C (A = 440 Hz).
pub type FineChroma = [f32; NUM_FINE_BINS];

/// One analysed frame.
#[derive(Debug, Clone)]
pub struct ChromaFrame {
    /// Fine histogram of all peaks, normalised to sum 1 (all zeros when silent).
    pub treble: FineChroma,
    /// Fine histogram of the peaks below `bass_max_hz`, on the same scale as `treble`.
    pub bass: FineChroma,
    /// True when the frame was below the silence threshold (or had no peaks).
    pub is_silent: bool,
}

#[derive(Debug, Clone, Copy)]
struct Peak {
    freq_hz: f32,
    magnitude: f32,
}

/// Streaming STFT + peak chroma. Every buffer is allocated in [`ChromaFrontend::new`].
pub struct ChromaFrontend {
    cfg: ChromaConfig,
    sample_rate_hz: f32,
    frame_len: usize,
    hop_len: usize,
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    /// Circular buffer of the last `frame_len` input samples; `ring_pos` is the oldest.
    ring: Vec<f32>,
    ring_pos: usize,
    num_buffered: usize,
    since_frame: usize,
    fft_input: Vec<f32>,
    spectrum: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
    magnitudes: Vec<f32>,
    peaks: Vec<Peak>,
    /// Scratch for the whitening envelope, one value per peak.
    envelope: Vec<f32>,
    frame: ChromaFrame,
    num_non_finite: u64,
}

impl std::fmt::Debug for ChromaFrontend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChromaFrontend")
            .field("sample_rate_hz", &self.sample_rate_hz)
            .field("frame_len", &self.frame_len)
            .field("hop_len", &self.hop_len)
            .finish_non_exhaustive()
    }
}

impl ChromaFrontend {
    /// Plans the FFT and allocates every buffer. Not real-time safe.
    pub fn new(cfg: &ChromaConfig, sample_rate_hz: f32) -> Result<Self> {
        cfg.validate(sample_rate_hz)?;
        // Validated: frame_s <= 2 and the sample rate is checked by the caller (<= 768 kHz).
        let frame_len = (((cfg.frame_s * sample_rate_hz) / 16.0).round() as usize).max(4) * 16;
        let hop_len = ((cfg.hop_s * sample_rate_hz).round() as usize).clamp(1, frame_len);
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(frame_len);
        let window = (0..frame_len)
            .map(|i| {
                let phase = std::f32::consts::TAU * i as f32 / frame_len as f32;
                0.5 - 0.5 * phase.cos()
            })
            .collect();
        Ok(Self {
            cfg: cfg.clone(),
            sample_rate_hz,
            frame_len,
            hop_len,
            window,
            ring: vec![0.0; frame_len],
            ring_pos: 0,
            num_buffered: 0,
            since_frame: 0,
            fft_input: fft.make_input_vec(),
            spectrum: fft.make_output_vec(),
            scratch: fft.make_scratch_vec(),
            magnitudes: vec![0.0; frame_len / 2 + 1],
            peaks: Vec::with_capacity(frame_len / 2 + 1),
            envelope: Vec::with_capacity(frame_len / 2 + 1),
            fft,
            frame: ChromaFrame {
                treble: [0.0; NUM_FINE_BINS],
                bass: [0.0; NUM_FINE_BINS],
                is_silent: true,
            },
            num_non_finite: 0,
        })
    }

    /// Seconds between two frames.
    pub fn hop_s(&self) -> f32 {
        self.hop_len as f32 / self.sample_rate_hz
    }

    /// Number of non-finite input samples replaced by zeros since construction or reset.
    pub fn num_non_finite(&self) -> u64 {
        self.num_non_finite
    }

    /// Forgets all buffered audio. Real-time safe, does not allocate.
    pub fn reset(&mut self) {
        self.ring.fill(0.0);
        self.ring_pos = 0;
        self.num_buffered = 0;
        self.since_frame = 0;
        self.num_non_finite = 0;
    }

    /// Consumes samples until a frame completes or `samples` runs out. Returns how many samples
    /// were consumed and the finished frame, if any. Real-time safe, does not allocate.
    pub fn push(&mut self, samples: &[f32]) -> (usize, Option<&ChromaFrame>) {
        for (consumed, &sample) in samples.iter().enumerate() {
            let sample = if sample.is_finite() {
                sample
            } else {
                self.num_non_finite += 1;
                0.0
            };
            self.ring[self.ring_pos] = sample;
            self.ring_pos = (self.ring_pos + 1) % self.frame_len;
            self.num_buffered = (self.num_buffered + 1).min(self.frame_len);
            self.since_frame += 1;
            if self.num_buffered == self.frame_len && self.since_frame >= self.hop_len {
                self.since_frame = 0;
                self.analyse_frame();
                return (consumed + 1, Some(&self.frame));
            }
        }
        (samples.len(), None)
    }

    fn analyse_frame(&mut self) {
        self.frame.treble.fill(0.0);
        self.frame.bass.fill(0.0);
        self.frame.is_silent = true;
        let mut sum_sq = 0.0f64;
        for (i, out) in self.fft_input.iter_mut().enumerate() {
            let sample = self.ring[(self.ring_pos + i) % self.frame_len];
            sum_sq += f64::from(sample) * f64::from(sample);
            *out = sample * self.window[i];
        }
        let rms_db = 10.0 * (sum_sq / self.frame_len as f64 + 1e-30).log10();
        if rms_db < f64::from(self.cfg.silence_db) {
            return;
        }
        let fft_ok = self
            .fft
            .process_with_scratch(&mut self.fft_input, &mut self.spectrum, &mut self.scratch)
            .is_ok();
        if !fft_ok {
            // Buffer lengths come from the plan itself, so this cannot happen; stay silent.
            return;
        }
        for (m, c) in self.magnitudes.iter_mut().zip(&self.spectrum) {
            *m = c.norm();
        }
        self.find_peaks();
        if self.cfg.harmonic_suppression > 0.0 {
            self.suppress_harmonics();
        }
        weighting::whiten(
            &mut self.peaks,
            &mut self.envelope,
            self.cfg.whitening,
            self.cfg.whitening_octaves,
        );
        self.accumulate_peaks();
    }

    fn find_peaks(&mut self) {
        self.peaks.clear();
        let bin_hz = self.sample_rate_hz / self.frame_len as f32;
        let last_bin = self.magnitudes.len() - 2;
        // Float-to-int casts saturate; both ends are clamped to the spectrum.
        let lo_bin = ((self.cfg.min_hz / bin_hz).ceil() as usize).clamp(1, last_bin);
        let hi_bin = ((self.cfg.max_hz / bin_hz).floor() as usize).clamp(lo_bin, last_bin);
        let max_magnitude = self.magnitudes[lo_bin..=hi_bin]
            .iter()
            .fold(0.0f32, |acc, &m| acc.max(m));
        if !(max_magnitude > 1e-12) {
            return;
        }
        let floor = max_magnitude * 10f32.powf(self.cfg.peak_floor_db / 20.0);
        for k in lo_bin..=hi_bin {
            let (left, centre, right) = (
                self.magnitudes[k - 1],
                self.magnitudes[k],
                self.magnitudes[k + 1],
            );
            if centre > floor && centre > left && centre >= right {
                let (a, b, c) = ((left + 1e-20).ln(), centre.ln(), (right + 1e-20).ln());
                let denom = a - 2.0 * b + c;
                let offset = if denom < -1e-12 {
                    (0.5 * (a - c) / denom).clamp(-0.5, 0.5)
                } else {
                    0.0
                };
                let magnitude = (b - 0.25 * (a - c) * offset).exp();
                self.peaks.push(Peak {
                    freq_hz: (k as f32 + offset) * bin_hz,
                    magnitude,
                });
            }
        }
        if self.peaks.len() > self.cfg.max_peaks {
            self.peaks
                .select_nth_unstable_by(self.cfg.max_peaks, |a, b| {
                    b.magnitude.total_cmp(&a.magnitude)
                });
            self.peaks.truncate(self.cfg.max_peaks);
            self.peaks
                .sort_unstable_by(|a, b| a.freq_hz.total_cmp(&b.freq_hz));
        }
    }

    /// Attenuates peaks lying on harmonic 2..=max of a stronger lower peak (within 30 cents).
    fn suppress_harmonics(&mut self) {
        let keep = 1.0 - self.cfg.harmonic_suppression;
        let tolerance = 2f32.powf(30.0 / 1200.0) - 1.0;
        let max_harmonic = self.cfg.max_suppressed_harmonic;
        for i in (0..self.peaks.len()).rev() {
            let Peak { freq_hz, magnitude } = self.peaks[i];
            let is_harmonic = self.peaks[..i].iter().any(|lower| {
                lower.magnitude > magnitude
                    && (2..=max_harmonic)
                        .any(|h| ((lower.freq_hz * h as f32 - freq_hz) / freq_hz).abs() < tolerance)
            });
            if is_harmonic {
                self.peaks[i].magnitude *= keep;
            }
        }
    }

    fn accumulate_peaks(&mut self) {
        let exponent = self.cfg.magnitude_exponent;
        let mut total = 0.0f32;
        for peak in &self.peaks {
            let weight = peak.magnitude.powf(exponent);
            let is_bass = peak.freq_hz < self.cfg.bass_max_hz;
            for harmonic in 1..=1 + self.cfg.num_harmonic_votes {
                let vote = weight * weighting::harmonic_vote_weight(harmonic);
                let Some((bin_lo, frac)) = fine_bin_of(peak.freq_hz / harmonic as f32) else {
                    continue;
                };
                let bin_hi = (bin_lo + 1) % NUM_FINE_BINS;
                self.frame.treble[bin_lo] += vote * (1.0 - frac);
                self.frame.treble[bin_hi] += vote * frac;
                if is_bass {
                    self.frame.bass[bin_lo] += vote * (1.0 - frac);
                    self.frame.bass[bin_hi] += vote * frac;
                }
                total += vote;
            }
        }
        if self.cfg.frame_floor > 0.0 {
            let max_bin = self.frame.treble.iter().fold(0.0f32, |acc, &v| acc.max(v));
            let floor = self.cfg.frame_floor * max_bin;
            for (treble, bass) in self.frame.treble.iter_mut().zip(self.frame.bass.iter_mut()) {
                if *treble < floor {
                    *treble = 0.0;
                    *bass = 0.0;
                }
            }
            total = self.frame.treble.iter().sum();
        }
        if !(total > 0.0 && total.is_finite()) {
            self.frame.treble.fill(0.0);
            self.frame.bass.fill(0.0);
            return;
        }
        self.frame.treble.iter_mut().for_each(|v| *v /= total);
        self.frame.bass.iter_mut().for_each(|v| *v /= total);
        self.frame.is_silent = false;
    }
}

/// Lower fine bin and the fraction towards the next one for a frequency, `None` if not positive.
fn fine_bin_of(freq_hz: f32) -> Option<(usize, f32)> {
    if !(freq_hz > 0.0 && freq_hz.is_finite()) {
        return None;
    }
    // Semitones above C (MIDI 60 - 12·k); rem_euclid keeps one octave.
    let semitones = (12.0 * (freq_hz / 440.0).log2() + 9.0).rem_euclid(12.0);
    let position = semitones * BINS_PER_SEMITONE as f32;
    let bin_lo = position.floor();
    // position is in [0, 120], so the cast is in range; % wraps the 120.0 edge case.
    Some(((bin_lo as usize) % NUM_FINE_BINS, position - bin_lo))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    fn sine(freq_hz: f32, sample_rate_hz: f32, num_samples: usize) -> Vec<f32> {
        (0..num_samples)
            .map(|i| (std::f32::consts::TAU * freq_hz * i as f32 / sample_rate_hz).sin() * 0.5)
            .collect()
    }

    fn frames(frontend: &mut ChromaFrontend, samples: &[f32]) -> Vec<ChromaFrame> {
        let mut out = Vec::new();
        let mut rest = samples;
        while !rest.is_empty() {
            let (consumed, frame) = frontend.push(rest);
            if let Some(frame) = frame {
                out.push(frame.clone());
            }
            rest = &rest[consumed..];
        }
        out
    }

    #[test]
    fn a_sine_lands_on_its_pitch_class_even_when_detuned() -> Result<()> {
        let sample_rate_hz = 22_050.0;
        for (freq_hz, pitch_class, cents) in [(440.0, 9, 0.0), (261.63, 0, 0.0), (185.0, 6, 0.0)] {
            let detuned_hz = freq_hz * 2f32.powf(cents / 1200.0);
            let mut frontend = ChromaFrontend::new(&ChromaConfig::default(), sample_rate_hz)?;
            let frames = frames(&mut frontend, &sine(detuned_hz, sample_rate_hz, 22_050));
            let frame = frames
                .last()
                .ok_or_else(|| Error::Other("no frame".into()))?;
            let chroma = fold_to_pitch_classes(&frame.treble, estimate_tuning(&frame.treble));
            let best = (0..12).max_by(|&a, &b| chroma[a].total_cmp(&chroma[b]));
            assert_eq!(best, Some(pitch_class), "{freq_hz} Hz: {chroma:?}");
        }
        // 40 cents sharp: tuning estimate follows, and folding still finds A (without the
        // harmonic votes, which would also put a share on D, the fifth below).
        let no_votes = ChromaConfig {
            num_harmonic_votes: 0,
            ..ChromaConfig::default()
        };
        let mut frontend = ChromaFrontend::new(&no_votes, sample_rate_hz)?;
        let frames = frames(
            &mut frontend,
            &sine(440.0 * 2f32.powf(0.4 / 12.0), sample_rate_hz, 22_050),
        );
        let frame = frames
            .last()
            .ok_or_else(|| Error::Other("no frame".into()))?;
        let tuning = estimate_tuning(&frame.treble);
        assert!((tuning - 0.4).abs() < 0.06, "tuning {tuning}");
        let chroma = fold_to_pitch_classes(&frame.treble, tuning);
        assert!(chroma[9] > 0.9 * chroma.iter().sum::<f32>(), "{chroma:?}");
        Ok(())
    }

    #[test]
    fn silence_and_non_finite_input_give_silent_frames() -> Result<()> {
        let mut frontend = ChromaFrontend::new(&ChromaConfig::default(), 16_000.0)?;
        let frames_out = frames(&mut frontend, &vec![0.0; 16_000]);
        assert!(!frames_out.is_empty());
        assert!(
            frames_out
                .iter()
                .all(|f| f.is_silent && f.treble.iter().all(|&v| v == 0.0))
        );
        let junk = vec![f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.0];
        let junk: Vec<f32> = junk.iter().cycle().take(16_000).copied().collect();
        let frames_out = frames(&mut frontend, &junk);
        assert!(frames_out.iter().all(|f| f.is_silent));
        assert_eq!(frontend.num_non_finite(), 12_000);
        Ok(())
    }

    #[test]
    fn bad_configs_are_rejected() {
        let cfg = ChromaConfig {
            hop_s: 0.0,
            ..ChromaConfig::default()
        };
        assert!(ChromaFrontend::new(&cfg, 44_100.0).is_err());
        let cfg = ChromaConfig {
            min_hz: 5_000.0,
            max_hz: 6_000.0,
            ..ChromaConfig::default()
        };
        assert!(ChromaFrontend::new(&cfg, 8_000.0).is_err());
        let cfg = ChromaConfig {
            magnitude_exponent: f32::NAN,
            ..ChromaConfig::default()
        };
        assert!(ChromaFrontend::new(&cfg, 44_100.0).is_err());
    }
}
