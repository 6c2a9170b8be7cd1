//! Mel spectrogram matching torchaudio's `MelSpectrogram` + `AmplitudeToDB` exactly as MuQ uses
//! them (`muq-reference.md` §2–3): periodic Hann window, centred reflect padding of `n_fft / 2`,
//! `|STFT|²`, HTK mel bands without norm, `10·log10(max(mel, 1e-10))`, no `top_db`, and the last
//! frame dropped (`MuQModel.preprocessing`).
//!
//! Two front ends share one per-frame analyzer:
//! - [`MelSpectrogram`]: a whole signal at once (batch).
//! - [`StreamingMel`]: samples pushed in chunks of any size, frames emitted as soon as their
//!   support is available; it yields exactly the batch frames (see its docs).

mod analyzer;
mod filterbank;
mod streaming;

#[cfg(test)]
mod golden_tests;

pub use streaming::StreamingMel;

use analyzer::{FrameAnalyzer, MelKernel};

use crate::{Error, Result};

/// Parameters of the mel frontend.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MelConfig {
    /// Input sample rate; also sets the filterbank's frequency axis (`0..sample_rate / 2`).
    pub sample_rate_hz: u32,
    /// FFT size = window length; the signal is reflect-padded by `n_fft / 2` on both sides.
    pub n_fft: usize,
    /// Samples between frames.
    pub hop_length: usize,
    /// Number of mel bands.
    pub n_mels: usize,
    /// Lowest filterbank edge.
    pub f_min_hz: f32,
    /// Highest filterbank edge.
    pub f_max_hz: f32,
}

impl MelConfig {
    /// MuQ's frontend: 24 kHz, n_fft 2048, hop 240, 128 HTK bands over 0–12 kHz.
    pub fn muq() -> Self {
        Self {
            sample_rate_hz: 24_000,
            n_fft: 2048,
            hop_length: 240,
            n_mels: 128,
            f_min_hz: 0.0,
            f_max_hz: 12_000.0,
        }
    }

    /// Checks that the values describe a computable frontend.
    pub fn validate(&self) -> Result<()> {
        let bad = |msg: String| Err(Error::Unsupported(format!("mel config: {msg}")));
        if self.sample_rate_hz == 0 {
            return bad("sample_rate_hz must be > 0".into());
        }
        if self.n_fft < 2 || self.n_fft > 1 << 20 {
            return bad(format!("n_fft must be in 2..=1048576, got {}", self.n_fft));
        }
        if self.hop_length == 0 {
            return bad("hop_length must be > 0".into());
        }
        if self.n_mels == 0 || self.n_mels > 4096 {
            return bad(format!("n_mels must be in 1..=4096, got {}", self.n_mels));
        }
        let nyquist_hz = (self.sample_rate_hz / 2) as f32;
        if !(self.f_min_hz.is_finite() && self.f_max_hz.is_finite())
            || self.f_min_hz < 0.0
            || self.f_max_hz <= self.f_min_hz
            || self.f_max_hz > nyquist_hz
        {
            return bad(format!(
                "need 0 <= f_min_hz < f_max_hz <= {nyquist_hz}, got {}..{}",
                self.f_min_hz, self.f_max_hz
            ));
        }
        Ok(())
    }

    /// Reflect padding on each side (`n_fft / 2`).
    pub fn pad_samples(&self) -> usize {
        self.n_fft / 2
    }

    /// Frames MuQ keeps for `num_samples` input samples: torchaudio's `1 + (N + 2·pad − n_fft) / hop`
    /// minus the dropped last frame (= `N / hop` for an even `n_fft`).
    pub fn num_frames(&self, num_samples: usize) -> usize {
        (num_samples + 2 * self.pad_samples() - self.n_fft) / self.hop_length
    }

    /// The smallest input reflect padding accepts (`pad + 1` samples).
    pub fn min_samples(&self) -> usize {
        self.pad_samples() + 1
    }
}

/// Mel dB frames, frame-major: `data[t * n_mels + m]`.
#[derive(Debug, Clone, PartialEq)]
pub struct MelFrames {
    /// Values per frame.
    pub n_mels: usize,
    /// Number of frames (the last torchaudio frame already dropped).
    pub num_frames: usize,
    /// `num_frames * n_mels` values in dB (before normalisation).
    pub data: Vec<f32>,
    /// Non-finite input samples that were replaced by 0 before the analysis.
    pub num_non_finite: usize,
}

impl MelFrames {
    /// The `n_mels` values of frame `frame_idx`, or `None` past the end.
    pub fn frame(&self, frame_idx: usize) -> Option<&[f32]> {
        let start = frame_idx.checked_mul(self.n_mels)?;
        self.data.get(start..start + self.n_mels)
    }
}

/// `x = (x - mean) / std` in place (MuQ's global `stat` normalisation). Real-time safe.
pub fn normalize_in_place(data: &mut [f32], mean: f32, std: f32) {
    for v in data.iter_mut() {
        *v = (*v - mean) / std;
    }
}

/// Batch mel frontend: the FFT is planned and the window/filterbank computed once at construction.
#[derive(Clone)]
pub struct MelSpectrogram {
    /// Shared constants (plan, window, filterbank).
    kernel: MelKernel,
}

impl std::fmt::Debug for MelSpectrogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MelSpectrogram")
            .field("cfg", &self.kernel.cfg)
            .finish_non_exhaustive()
    }
}

impl MelSpectrogram {
    /// Builds the frontend for a known-good configuration such as [`MelConfig::muq`].
    ///
    /// # Panics
    /// If `cfg` fails [`MelConfig::validate`]; use [`Self::try_new`] for configurations read from
    /// files.
    pub fn new(cfg: MelConfig) -> Self {
        match Self::try_new(cfg) {
            Ok(mel) => mel,
            Err(err) => panic!("MelSpectrogram::new: {err}"),
        }
    }

    /// Builds the frontend, rejecting an invalid configuration with an error.
    pub fn try_new(cfg: MelConfig) -> Result<Self> {
        cfg.validate()?;
        Ok(Self {
            kernel: MelKernel::new(cfg),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &MelConfig {
        &self.kernel.cfg
    }

    /// The mel filterbank, `(n_fft / 2 + 1, n_mels)` row-major, as torchaudio's `melscale_fbanks`.
    pub fn filterbank(&self) -> &[f32] {
        &self.kernel.fb_dense
    }

    /// The periodic Hann window (`n_fft` values).
    pub fn window(&self) -> &[f32] {
        &self.kernel.window
    }

    /// A streaming frontend with the same constants.
    pub fn streaming(&self) -> StreamingMel {
        StreamingMel::from_kernel(self.kernel.clone())
    }

    /// Mel dB frames of a whole signal (last frame dropped). Non-finite samples count as 0 and are
    /// counted in [`MelFrames::num_non_finite`]. Allocates; not for the audio thread.
    ///
    /// Errors if `wav` has at most `n_fft / 2` samples (too short for reflect padding).
    pub fn mel_db(&self, wav: &[f32]) -> Result<MelFrames> {
        let cfg = &self.kernel.cfg;
        let pad = cfg.pad_samples();
        if wav.len() <= pad {
            return Err(Error::Audio(format!(
                "audio too short for the mel frontend: {} samples, need at least {} ({:.1} ms at {} \
                 Hz)",
                wav.len(),
                cfg.min_samples(),
                cfg.min_samples() as f64 * 1000.0 / f64::from(cfg.sample_rate_hz),
                cfg.sample_rate_hz
            )));
        }
        let num_samples = wav.len();
        let mut num_non_finite = 0;
        let mut padded = Vec::with_capacity(num_samples + 2 * pad);
        // Left: x[pad], x[pad - 1], ..., x[1]; then x; then x[N-2], ..., x[N-1-pad].
        padded.extend((1..=pad).rev().map(|i| wav[i]));
        padded.extend_from_slice(wav);
        padded.extend((1..=pad).map(|i| wav[num_samples - 1 - i]));
        for v in padded.iter_mut() {
            if !v.is_finite() {
                *v = 0.0;
            }
        }
        num_non_finite += wav.iter().filter(|v| !v.is_finite()).count();

        let num_frames = cfg.num_frames(num_samples);
        let n_mels = cfg.n_mels;
        let mut data = vec![0.0; num_frames * n_mels];
        let mut analyzer = FrameAnalyzer::new(self.kernel.clone());
        for (frame_idx, out) in data.chunks_exact_mut(n_mels).enumerate() {
            let start = frame_idx * cfg.hop_length;
            analyzer
                .input_mut()
                .copy_from_slice(&padded[start..start + cfg.n_fft]);
            analyzer.analyze(out);
        }
        Ok(MelFrames {
            n_mels,
            num_frames,
            data,
            num_non_finite,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_count_drops_last_frame() {
        let cfg = MelConfig::muq();
        assert_eq!(cfg.num_frames(72_000), 300);
        assert_eq!(cfg.num_frames(240_000), 1000);
        assert_eq!(cfg.num_frames(1025), 4);
    }

    #[test]
    fn too_short_input_is_an_error() {
        let mel = MelSpectrogram::new(MelConfig::muq());
        assert!(mel.mel_db(&[0.0; 1024]).is_err());
        assert!(mel.mel_db(&[]).is_err());
        let ok = mel.mel_db(&[0.0; 1025]);
        assert!(matches!(ok, Ok(ref f) if f.num_frames == 4));
    }

    #[test]
    fn invalid_config_is_rejected() {
        let mut cfg = MelConfig::muq();
        cfg.hop_length = 0;
        assert!(MelSpectrogram::try_new(cfg).is_err());
        let mut cfg = MelConfig::muq();
        cfg.f_max_hz = 20_000.0;
        assert!(MelSpectrogram::try_new(cfg).is_err());
    }

    #[test]
    fn non_finite_samples_are_zeroed_and_counted() {
        let mel = MelSpectrogram::new(MelConfig::muq());
        let mut wav: Vec<f32> = (0..4800).map(|i| (i as f32 * 0.05).sin()).collect();
        let clean = {
            let mut w = wav.clone();
            w[100] = 0.0;
            w[2000] = 0.0;
            mel.mel_db(&w).map(|f| f.data)
        };
        wav[100] = f32::NAN;
        wav[2000] = f32::INFINITY;
        let frames = mel.mel_db(&wav);
        assert!(matches!(frames, Ok(ref f) if f.num_non_finite == 2));
        let (Ok(frames), Ok(clean)) = (frames, clean) else {
            panic!("mel failed")
        };
        assert!(frames.data.iter().all(|v| v.is_finite()));
        assert_eq!(frames.data, clean);
    }

    #[test]
    fn sine_peaks_in_the_right_band() {
        let cfg = MelConfig::muq();
        let mel = MelSpectrogram::new(cfg);
        let freq_hz = 1000.0_f32;
        let wav: Vec<f32> = (0..24_000)
            .map(|i| (2.0 * std::f32::consts::PI * freq_hz * i as f32 / 24_000.0).sin())
            .collect();
        let frames = mel.mel_db(&wav).map_err(|e| e.to_string());
        let Ok(frames) = frames else {
            panic!("{frames:?}")
        };
        let frame = frames.frame(50).unwrap_or(&[]);
        let peak = (0..cfg.n_mels).max_by(|&a, &b| frame[a].total_cmp(&frame[b]));
        // Band centre j lies at mel = (j + 1) * mel(12 kHz) / 129.
        let mel_1k = 2595.0 * (1.0_f32 + 1000.0 / 700.0).log10();
        let mel_max = 2595.0 * (1.0_f32 + 12000.0 / 700.0).log10();
        let expected = (mel_1k / mel_max * 129.0 - 1.0).round() as usize;
        assert!(
            peak.is_some_and(|p| p.abs_diff(expected) <= 1),
            "{peak:?} vs {expected}"
        );
    }

    #[test]
    fn normalize_uses_mean_and_std() {
        let mut v = vec![6.0, 10.0];
        normalize_in_place(&mut v, 2.0, 4.0);
        assert_eq!(v, vec![1.0, 2.0]);
    }
}
