//! Whole-clip sample-rate conversion with rubato.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{
    Async, Fft, FixedAsync, FixedSync, Resampler, SincInterpolationParameters,
    SincInterpolationType, WindowFunction,
};

use crate::{Error, Result};

/// Largest `rate / gcd(from, to)` for which the synchronous FFT resampler is used; beyond it (odd
/// rate pairs such as 44 101 Hz) the FFT sizes explode and an asynchronous sinc resampler is used.
const MAX_FFT_RATIO_TERM: usize = 4096;
/// Input chunk size for the resamplers.
const CHUNK_FRAMES: usize = 1024;

/// Resamples a mono clip from `from_hz` to `to_hz` (returns a copy when they are equal).
///
/// Uses rubato's synchronous FFT resampler (BlackmanHarris² anti-aliasing) for rational rate
/// pairs such as 44.1/48/16/22.05 kHz → 24 kHz, otherwise a 256-tap sinc resampler. The
/// resampler's delay is trimmed, so the output is aligned with the input and has
/// `ceil(len · to / from)` samples. Allocates.
pub fn resample(samples: &[f32], from_hz: u32, to_hz: u32) -> Result<Vec<f32>> {
    if from_hz == 0 || to_hz == 0 {
        return Err(Error::Audio(format!(
            "invalid sample rates for resampling: {from_hz} Hz -> {to_hz} Hz"
        )));
    }
    if from_hz == to_hz || samples.is_empty() {
        return Ok(samples.to_vec());
    }
    let (from, to) = (from_hz as usize, to_hz as usize);
    let gcd = gcd(from, to);
    let mut resampler: Box<dyn Resampler<f32>> =
        if from / gcd <= MAX_FFT_RATIO_TERM && to / gcd <= MAX_FFT_RATIO_TERM {
            Box::new(
                Fft::<f32>::new(from, to, CHUNK_FRAMES, 1, FixedSync::Input)
                    .map_err(|e| Error::Audio(format!("resampler {from_hz} -> {to_hz} Hz: {e}")))?,
            )
        } else {
            let params = SincInterpolationParameters {
                sinc_len: 256,
                f_cutoff: Some(0.95),
                interpolation: SincInterpolationType::Cubic,
                oversampling_factor: 256,
                window: WindowFunction::BlackmanHarris2,
            };
            Box::new(
                Async::<f32>::new_sinc(
                    to as f64 / from as f64,
                    1.0,
                    &params,
                    CHUNK_FRAMES,
                    1,
                    FixedAsync::Input,
                )
                .map_err(|e| Error::Audio(format!("resampler {from_hz} -> {to_hz} Hz: {e}")))?,
            )
        };
    let input = InterleavedSlice::new(samples, 1, samples.len())
        .map_err(|e| Error::Audio(format!("resampler input: {e}")))?;
    let output = resampler
        .process_all(&input, samples.len(), None)
        .map_err(|e| Error::Audio(format!("resampling {from_hz} -> {to_hz} Hz failed: {e}")))?;
    Ok(output.take_data())
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}
