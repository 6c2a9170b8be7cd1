//! One STFT frame → one column of mel dB values. Shared by the batch and the streaming frontend.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};

use super::MelConfig;
use super::filterbank::{SparseFilterbank, melscale_fbanks, periodic_hann};

/// `AmplitudeToDB`'s `amin` (torchaudio default).
const AMIN_POWER: f32 = 1e-10;

/// The per-configuration constants: FFT plan, window and filterbank. Built once, shared (cheaply
/// cloned) between the batch frontend and any number of [`FrameAnalyzer`]s.
#[derive(Clone)]
pub(crate) struct MelKernel {
    /// The validated configuration.
    pub cfg: MelConfig,
    /// Forward real FFT of length `n_fft`, planned once.
    pub fft: Arc<dyn RealToComplex<f32>>,
    /// Periodic Hann window, `n_fft` values.
    pub window: Arc<[f32]>,
    /// Dense filterbank `(n_fft / 2 + 1, n_mels)`, row-major (for inspection and tests).
    pub fb_dense: Arc<[f32]>,
    /// The same filterbank restricted to each band's non-zero bins.
    pub fb_sparse: Arc<SparseFilterbank>,
}

impl MelKernel {
    /// Plans the FFT and computes the window and filterbank. `cfg` must be validated.
    pub fn new(cfg: MelConfig) -> Self {
        let n_freqs = cfg.n_fft / 2 + 1;
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(cfg.n_fft);
        let window: Arc<[f32]> = periodic_hann(cfg.n_fft).into();
        let fb = melscale_fbanks(
            n_freqs,
            cfg.f_min_hz,
            cfg.f_max_hz,
            cfg.n_mels,
            cfg.sample_rate_hz,
        );
        let fb_sparse = Arc::new(SparseFilterbank::from_dense(&fb, n_freqs, cfg.n_mels));
        Self {
            cfg,
            fft,
            window,
            fb_dense: fb.into(),
            fb_sparse,
        }
    }
}

/// Computes mel dB columns from raw (unwindowed) frames with preallocated buffers.
pub(crate) struct FrameAnalyzer {
    /// Shared constants.
    kernel: MelKernel,
    /// FFT input: the caller writes the raw frame here, `analyze` windows it in place.
    input: Vec<f32>,
    /// FFT output, `n_fft / 2 + 1` bins.
    spectrum: Vec<Complex<f32>>,
    /// FFT scratch from `make_scratch_vec()` (may be empty for some sizes).
    scratch: Vec<Complex<f32>>,
    /// Power spectrum `|X|²`.
    power: Vec<f32>,
}

impl FrameAnalyzer {
    /// Allocates every buffer the analysis needs. Not real-time safe (allocates).
    pub fn new(kernel: MelKernel) -> Self {
        let input = kernel.fft.make_input_vec();
        let spectrum = kernel.fft.make_output_vec();
        let scratch = kernel.fft.make_scratch_vec();
        let power = vec![0.0; spectrum.len()];
        Self {
            kernel,
            input,
            spectrum,
            scratch,
            power,
        }
    }

    /// The shared constants.
    pub fn kernel(&self) -> &MelKernel {
        &self.kernel
    }

    /// The `n_fft` raw samples of the next frame; fill it, then call [`Self::analyze`].
    pub fn input_mut(&mut self) -> &mut [f32] {
        &mut self.input
    }

    /// Windows the frame in [`Self::input_mut`], takes `|FFT|²`, projects onto the mel bands and
    /// converts to dB (`10·log10(max(mel, 1e-10))`), writing `n_mels` values to `out`.
    /// Real-time safe, does not allocate.
    pub fn analyze(&mut self, out: &mut [f32]) {
        for (x, &w) in self.input.iter_mut().zip(self.kernel.window.iter()) {
            *x *= w;
        }
        // The buffers come from the plan itself, so the lengths always match; an error here
        // would be a bug in this module. Fall back to silence instead of panicking.
        if self
            .kernel
            .fft
            .process_with_scratch(&mut self.input, &mut self.spectrum, &mut self.scratch)
            .is_err()
        {
            out.fill(10.0 * AMIN_POWER.log10());
            return;
        }
        for (p, c) in self.power.iter_mut().zip(&self.spectrum) {
            *p = c.re * c.re + c.im * c.im;
        }
        self.kernel.fb_sparse.project(&self.power, out);
        for v in out.iter_mut() {
            *v = 10.0 * v.max(AMIN_POWER).log10();
        }
    }
}
