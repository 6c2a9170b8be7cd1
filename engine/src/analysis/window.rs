//! The sliding-window plan (window and hop on MuQ's 960-sample token grid) and the front end
//! that turns host audio into 24 kHz windows: non-finite guard → streaming resampler → bounded
//! buffer → due windows (plus the key estimator, which needs no model).
//!
//! Runs on the analysis worker thread (or the CLI thread): it allocates only while its buffer
//! grows to one window plus one input chunk.

use crate::audio::{ChunkResampler, MUQ_SAMPLE_RATE_HZ};
use crate::heads::key::{KeyConfig, KeyEstimator, KeyReadout};
use crate::{Error, Result};

/// Samples per MuQ token at 24 kHz (25 tokens/s): window starts and lengths are multiples.
pub const TOKEN_SAMPLES: usize = 960;
/// Shortest window, in seconds (MuQ needs more than 1024 samples; two tokens = 80 ms).
pub const MIN_WINDOW_S: f32 = 0.08;
/// Longest window, in seconds (memory and attention cost grow with it).
pub const MAX_WINDOW_S: f32 = 60.0;
/// Host sample rates accepted, in Hz.
pub const SAMPLE_RATE_RANGE_HZ: (f32, f32) = (8_000.0, 192_000.0);
/// A hop whose samples all stay at or below this magnitude is digital silence (-120 dBFS).
pub const SILENCE_ABS: f32 = 1e-6;
/// Largest sample magnitude passed on (+80 dBFS; louder is a host bug): samples near
/// `f32::MAX` overflow the resampler's FFT into NaN, which made rubato panic the worker.
pub const MAX_ABS_SAMPLE: f32 = 1.0e4;

/// Window and hop in 24 kHz samples, both multiples of [`TOKEN_SAMPLES`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowPlan {
    /// Window length in samples.
    pub window_samples: usize,
    /// Hop in samples (at most the window).
    pub hop_samples: usize,
    /// Length of the provisional first window (0: none).
    pub provisional_samples: usize,
}

fn round_to_tokens(seconds: f32) -> usize {
    let tokens =
        (f64::from(seconds) * f64::from(MUQ_SAMPLE_RATE_HZ) / TOKEN_SAMPLES as f64).round();
    (tokens.max(1.0) as usize) * TOKEN_SAMPLES
}

impl WindowPlan {
    /// Rounds `window_s` and `hop_s` to the token grid (40 ms). `provisional_s` > 0 asks for a
    /// shorter first window marked provisional (ignored when not shorter than the window).
    /// Errors when a value is not finite, the window is outside
    /// [`MIN_WINDOW_S`]..=[`MAX_WINDOW_S`], or the hop is not in (0, window].
    pub fn new(window_s: f32, hop_s: f32, provisional_s: f32) -> Result<Self> {
        if !(window_s.is_finite() && (MIN_WINDOW_S..=MAX_WINDOW_S).contains(&window_s)) {
            return Err(Error::Unsupported(format!(
                "analysis window of {window_s} s: choose between {MIN_WINDOW_S} and {MAX_WINDOW_S} s"
            )));
        }
        if !(hop_s.is_finite() && hop_s > 0.0 && hop_s <= window_s) {
            return Err(Error::Unsupported(format!(
                "analysis hop of {hop_s} s: choose more than 0 and at most the window ({window_s} s)"
            )));
        }
        let window_samples = round_to_tokens(window_s).max(2 * TOKEN_SAMPLES);
        let hop_samples = round_to_tokens(hop_s).min(window_samples);
        let provisional_samples = if provisional_s.is_finite() && provisional_s >= MIN_WINDOW_S {
            let samples = round_to_tokens(provisional_s).max(2 * TOKEN_SAMPLES);
            if samples < window_samples { samples } else { 0 }
        } else {
            0
        };
        Ok(Self {
            window_samples,
            hop_samples,
            provisional_samples,
        })
    }

    /// Window length in seconds.
    pub fn window_s(&self) -> f32 {
        self.window_samples as f32 / MUQ_SAMPLE_RATE_HZ as f32
    }

    /// Hop in seconds.
    pub fn hop_s(&self) -> f32 {
        self.hop_samples as f32 / MUQ_SAMPLE_RATE_HZ as f32
    }
}

/// One window that became due, borrowed from the front end's buffer.
#[derive(Debug)]
pub struct DueWindow<'a> {
    /// 24 kHz mono samples, finite.
    pub samples: &'a [f32],
    /// Stream index (24 kHz) of the first sample; a multiple of [`TOKEN_SAMPLES`].
    pub start_sample: u64,
    /// True for the shorter first window.
    pub provisional: bool,
    /// True when the newest hop of the window is digital silence (no inference needed).
    pub silent: bool,
}

impl DueWindow<'_> {
    /// Stream time of the window's end in seconds.
    pub fn end_s(&self) -> f64 {
        (self.start_sample + self.samples.len() as u64) as f64 / f64::from(MUQ_SAMPLE_RATE_HZ)
    }
}

/// Host audio in, due windows and the key out. Owned by one thread.
pub struct WindowFront {
    plan: WindowPlan,
    /// `None` when the host already runs at 24 kHz.
    resampler: Option<ChunkResampler>,
    /// Finite copy of the input chunk.
    sanitized: Vec<f32>,
    /// 24 kHz samples from stream index `buf_start`.
    buf: Vec<f32>,
    buf_start: u64,
    /// 24 kHz samples produced so far.
    num_samples_24k: u64,
    /// End (exclusive stream index) of the next full window.
    next_end: u64,
    /// Whether the provisional window was already emitted (or is not wanted).
    provisional_done: bool,
    key: KeyEstimator,
    num_non_finite: u64,
}

impl WindowFront {
    /// A front end for host audio at `sample_rate_hz` (8–192 kHz) with the default key
    /// estimator. Allocates the resampler and the key estimator.
    pub fn new(plan: WindowPlan, sample_rate_hz: f32) -> Result<Self> {
        Self::with_key_config(plan, sample_rate_hz, KeyConfig::default())
    }

    /// Like [`Self::new`] with the key estimator configured by `key_config`.
    pub fn with_key_config(
        plan: WindowPlan,
        sample_rate_hz: f32,
        key_config: KeyConfig,
    ) -> Result<Self> {
        let (lo, hi) = SAMPLE_RATE_RANGE_HZ;
        if !(sample_rate_hz.is_finite() && (lo..=hi).contains(&sample_rate_hz)) {
            return Err(Error::Audio(format!(
                "host sample rate {sample_rate_hz} Hz is outside the supported {lo}..={hi} Hz"
            )));
        }
        let rate_hz = sample_rate_hz.round() as u32;
        let resampler = if rate_hz == MUQ_SAMPLE_RATE_HZ {
            None
        } else {
            Some(ChunkResampler::new(rate_hz, MUQ_SAMPLE_RATE_HZ)?)
        };
        Ok(Self {
            plan,
            resampler,
            sanitized: Vec::new(),
            buf: Vec::with_capacity(plan.window_samples + plan.hop_samples),
            buf_start: 0,
            num_samples_24k: 0,
            next_end: plan.window_samples as u64,
            provisional_done: plan.provisional_samples == 0,
            key: KeyEstimator::new(key_config, MUQ_SAMPLE_RATE_HZ as f32)?,
            num_non_finite: 0,
        })
    }

    /// The plan in use.
    pub fn plan(&self) -> WindowPlan {
        self.plan
    }

    /// Seconds of audio still needed before the first full window (0 once it was reached).
    pub fn seconds_needed(&self) -> f32 {
        let missing = (self.plan.window_samples as u64).saturating_sub(self.num_samples_24k);
        missing as f32 / MUQ_SAMPLE_RATE_HZ as f32
    }

    /// Seconds of 24 kHz audio produced so far.
    pub fn seconds_seen(&self) -> f64 {
        self.num_samples_24k as f64 / f64::from(MUQ_SAMPLE_RATE_HZ)
    }

    /// The current key readout.
    pub fn key(&self) -> KeyReadout {
        self.key.estimate()
    }

    /// Replaces the key estimator with one configured by `key_config` (the key starts over);
    /// on error the old one stays.
    pub fn set_key_config(&mut self, key_config: KeyConfig) -> Result<()> {
        self.key = KeyEstimator::new(key_config, MUQ_SAMPLE_RATE_HZ as f32)?;
        Ok(())
    }

    /// Non-finite input samples replaced by 0 so far.
    pub fn num_non_finite(&self) -> u64 {
        self.num_non_finite
    }

    /// Bytes held by the sample buffer (bounded by one window plus one input chunk).
    pub fn buffer_capacity_samples(&self) -> usize {
        self.buf.capacity()
    }

    /// Feeds host samples; calls `on_window` for every window that became due, oldest first.
    pub fn push(&mut self, mono: &[f32], mut on_window: impl FnMut(DueWindow<'_>)) -> Result<()> {
        self.sanitized.clear();
        self.sanitized.extend(mono.iter().map(|&x| {
            if x.is_finite() {
                x.clamp(-MAX_ABS_SAMPLE, MAX_ABS_SAMPLE)
            } else {
                0.0
            }
        }));
        self.num_non_finite += mono.iter().filter(|x| !x.is_finite()).count() as u64;
        let old_len = self.buf.len();
        match &mut self.resampler {
            Some(resampler) => resampler.push(&self.sanitized, &mut self.buf)?,
            None => self.buf.extend_from_slice(&self.sanitized),
        }
        self.num_samples_24k += (self.buf.len() - old_len) as u64;
        self.key.feed(&self.buf[old_len..]);
        self.emit_due(&mut on_window);
        Ok(())
    }

    fn emit_due(&mut self, on_window: &mut impl FnMut(DueWindow<'_>)) {
        let end_total = self.buf_start + self.buf.len() as u64;
        let window = self.plan.window_samples as u64;
        if !self.provisional_done && end_total >= self.plan.provisional_samples as u64 {
            self.provisional_done = true;
            if end_total < window {
                let len = self.plan.provisional_samples;
                let hop = self.plan.hop_samples.min(len);
                on_window(self.view(0, len, hop, true));
            }
        }
        while self.next_end <= end_total {
            let start = self.next_end - window;
            on_window(self.view(
                start,
                self.plan.window_samples,
                self.plan.hop_samples,
                false,
            ));
            self.next_end += self.plan.hop_samples as u64;
        }
        // Keep only what the next window needs.
        let keep_from = (self.next_end.saturating_sub(window)).max(self.buf_start);
        let num_drop = ((keep_from - self.buf_start) as usize).min(self.buf.len());
        if num_drop > 0 {
            self.buf.drain(..num_drop);
            self.buf_start += num_drop as u64;
        }
    }

    fn view(&self, start: u64, len: usize, hop: usize, provisional: bool) -> DueWindow<'_> {
        let offset = (start - self.buf_start) as usize;
        let samples = &self.buf[offset..offset + len];
        let silent = samples[len - hop..].iter().all(|x| x.abs() <= SILENCE_ABS);
        DueWindow {
            samples,
            start_sample: start,
            provisional,
            silent,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_rounds_to_the_token_grid_and_rejects_nonsense() -> Result<()> {
        let plan = WindowPlan::new(10.0, 2.0, 0.0)?;
        assert_eq!(plan.window_samples, 240_000);
        assert_eq!(plan.hop_samples, 48_000);
        let odd = WindowPlan::new(1.01, 0.333, 0.48)?;
        assert_eq!(odd.window_samples % TOKEN_SAMPLES, 0);
        assert_eq!(odd.hop_samples % TOKEN_SAMPLES, 0);
        assert_eq!(odd.provisional_samples, 11_520);
        for (w, h) in [
            (0.0, 1.0),
            (f32::NAN, 1.0),
            (100.0, 1.0),
            (2.0, 0.0),
            (2.0, 3.0),
            (2.0, f32::INFINITY),
        ] {
            assert!(WindowPlan::new(w, h, 0.0).is_err(), "{w} {h}");
        }
        Ok(())
    }

    #[test]
    fn windows_arrive_on_the_grid_with_bounded_memory() -> Result<()> {
        let plan = WindowPlan::new(0.4, 0.2, 0.2)?;
        let mut front = WindowFront::new(plan, 24_000.0)?;
        let ramp: Vec<f32> = (0..48_000)
            .map(|i| (i % 1000) as f32 / 1000.0 + 0.1)
            .collect();
        let mut seen = Vec::new();
        for chunk in ramp.chunks(777) {
            front.push(chunk, |w| {
                assert_eq!(
                    w.samples,
                    &ramp[w.start_sample as usize..w.start_sample as usize + w.samples.len()]
                );
                seen.push((w.start_sample, w.samples.len(), w.provisional, w.silent));
            })?;
        }
        assert_eq!(seen[0], (0, 4_800, true, false));
        assert_eq!(seen[1], (0, 9_600, false, false));
        assert_eq!(seen[2], (4_800, 9_600, false, false));
        assert_eq!(seen.len(), 1 + 9);
        assert!(front.buffer_capacity_samples() < 9_600 + 4_800 + 2 * 777);
        assert_eq!(front.seconds_needed(), 0.0);
        Ok(())
    }

    #[test]
    fn non_finite_input_is_zeroed_and_counted() -> Result<()> {
        let plan = WindowPlan::new(0.08, 0.04, 0.0)?;
        let mut front = WindowFront::new(plan, 48_000.0)?;
        let mut input = vec![0.0f32; 9_600];
        input[10] = f32::NAN;
        input[20] = f32::INFINITY;
        let mut num_windows = 0;
        front.push(&input, |w| {
            assert!(w.samples.iter().all(|x| x.is_finite()));
            assert!(w.silent);
            num_windows += 1;
        })?;
        assert_eq!(front.num_non_finite(), 2);
        assert!(num_windows >= 1);
        assert!(WindowFront::new(plan, 4_000.0).is_err());
        assert!(WindowFront::new(plan, f32::NAN).is_err());
        Ok(())
    }
}
