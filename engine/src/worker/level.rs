//! Input level meter: peak and RMS over fixed windows of samples.

/// Peak and RMS of the mono input over consecutive windows; owned by the worker thread.
#[derive(Debug, Clone)]
pub struct LevelMeter {
    /// Samples per window (at least 1).
    window_samples: usize,
    /// Samples seen in the window being measured.
    num_samples: usize,
    /// Sum of squares in the window being measured (f64: thousands of small terms).
    sum_squares: f64,
    /// Largest absolute sample in the window being measured.
    peak_abs: f32,
    /// Peak of the last complete window, linear.
    last_peak_abs: f32,
    /// RMS of the last complete window, linear.
    last_rms: f32,
}

/// Converts a linear amplitude to dBFS; 0 (silence) gives `-inf`.
pub fn amplitude_to_dbfs(amplitude: f32) -> f32 {
    if amplitude > 0.0 {
        20.0 * amplitude.log10()
    } else {
        f32::NEG_INFINITY
    }
}

impl LevelMeter {
    /// A meter measuring windows of `window_samples` (clamped to at least 1).
    pub fn new(window_samples: usize) -> Self {
        Self {
            window_samples: window_samples.max(1),
            num_samples: 0,
            sum_squares: 0.0,
            peak_abs: 0.0,
            last_peak_abs: 0.0,
            last_rms: 0.0,
        }
    }

    /// Feeds samples; every time a window completes its peak and RMS become the reading.
    /// Non-finite samples are ignored.
    pub fn observe(&mut self, mono: &[f32]) {
        for &sample in mono {
            if sample.is_finite() {
                self.sum_squares += f64::from(sample) * f64::from(sample);
                self.peak_abs = self.peak_abs.max(sample.abs());
            }
            self.num_samples += 1;
            if self.num_samples == self.window_samples {
                self.last_rms = (self.sum_squares / self.num_samples as f64).sqrt() as f32;
                self.last_peak_abs = self.peak_abs;
                self.num_samples = 0;
                self.sum_squares = 0.0;
                self.peak_abs = 0.0;
            }
        }
    }

    /// Raises the current window's peak with a peak measured elsewhere (the audio thread sees
    /// samples that a full ring later drops).
    pub fn observe_peak(&mut self, peak_abs: f32) {
        if peak_abs.is_finite() {
            self.peak_abs = self.peak_abs.max(peak_abs);
        }
    }

    /// Forgets everything: the reading becomes silence.
    pub fn clear(&mut self) {
        *self = Self::new(self.window_samples);
    }

    /// Peak of the last complete window in dBFS.
    pub fn peak_dbfs(&self) -> f32 {
        amplitude_to_dbfs(self.last_peak_abs)
    }

    /// RMS of the last complete window in dBFS.
    pub fn rms_dbfs(&self) -> f32 {
        amplitude_to_dbfs(self.last_rms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_scale_square_wave_reads_zero_dbfs() {
        let mut meter = LevelMeter::new(100);
        let square: Vec<f32> = (0..100)
            .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        meter.observe(&square);
        assert!(meter.peak_dbfs().abs() < 1e-6);
        assert!(meter.rms_dbfs().abs() < 1e-6);
    }

    #[test]
    fn sine_rms_is_three_db_below_peak_and_updates_only_per_window() {
        let mut meter = LevelMeter::new(480);
        let sine: Vec<f32> = (0..960)
            .map(|i| 0.5 * (2.0 * std::f32::consts::PI * 100.0 * i as f32 / 48_000.0).sin())
            .collect();
        meter.observe(&sine[..479]);
        assert_eq!(meter.rms_dbfs(), f32::NEG_INFINITY);
        meter.observe(&sine[479..]);
        assert!((meter.peak_dbfs() - amplitude_to_dbfs(0.5)).abs() < 0.01);
        assert!((meter.peak_dbfs() - meter.rms_dbfs() - 3.0103).abs() < 0.01);
    }

    #[test]
    fn external_peak_and_clear() {
        let mut meter = LevelMeter::new(4);
        meter.observe_peak(0.9);
        meter.observe(&[0.1, f32::NAN, 0.1, 0.1]);
        assert!((meter.peak_dbfs() - amplitude_to_dbfs(0.9)).abs() < 1e-6);
        meter.clear();
        assert_eq!(meter.peak_dbfs(), f32::NEG_INFINITY);
        assert_eq!(amplitude_to_dbfs(0.0), f32::NEG_INFINITY);
    }
}
