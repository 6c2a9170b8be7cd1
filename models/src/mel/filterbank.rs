//! torchaudio-exact constants of the mel frontend: the periodic Hann window and the HTK mel
//! filterbank (`torchaudio.functional.melscale_fbanks`, `norm=None`, `mel_scale="htk"`).
//!
//! Reference: torchaudio 2.5.1 `functional/functional.py` (`melscale_fbanks`,
//! `_create_triangular_filterbank`) and PyTorch 2.5.1 `aten/src/ATen/native/TensorFactories.cpp`
//! (`hann_window`) / `RangeFactoriesKernel.cpp` (`linspace`). Both are evaluated in float32 the way
//! PyTorch does, so the result equals the fixture tensors bit for bit or within an ulp.

/// `torch.hann_window(len, periodic=True)` in float32:
/// `0.5 - 0.5 * cos(n * (2π / len))`, n = 0..len-1.
pub(crate) fn periodic_hann(len: usize) -> Vec<f32> {
    // torch builds a symmetric window of len + 1 points and drops the last one; the scalar factor
    // 2π / (len + 1 - 1) is computed in double and applied to the float32 `arange` as float32.
    let factor = (std::f64::consts::PI * 2.0 / len as f64) as f32;
    (0..len)
        .map(|n| (n as f32 * factor).cos() * -0.5 + 0.5)
        .collect()
}

/// `torch.linspace(start, end, steps)` for float32: the first half counts up from `start`, the
/// second half counts down from `end`, with a float32 step.
fn linspace_f32(start: f32, end: f32, steps: usize) -> Vec<f32> {
    match steps {
        0 => Vec::new(),
        1 => vec![start],
        _ => {
            let step = (end - start) / (steps - 1) as f32;
            let halfway = steps / 2;
            (0..steps)
                .map(|idx| {
                    if idx < halfway {
                        start + step * idx as f32
                    } else {
                        end - step * (steps - idx - 1) as f32
                    }
                })
                .collect()
        }
    }
}

/// HTK mel scale in double precision (torchaudio's `_hz_to_mel` works on Python floats).
fn hz_to_mel_htk(freq_hz: f64) -> f64 {
    2595.0 * (1.0 + freq_hz / 700.0).log10()
}

/// Inverse HTK mel scale in float32 (torchaudio's `_mel_to_hz` works on a float32 tensor).
fn mel_to_hz_htk(mel: f32) -> f32 {
    700.0 * (10.0_f32.powf(mel / 2595.0) - 1.0)
}

/// The mel filterbank `fb` of shape `(n_freqs, n_mels)`, row-major (`fb[bin * n_mels + band]`).
///
/// `all_freqs = linspace(0, sample_rate // 2, n_freqs)`; band `j` is the triangle between
/// `f_pts[j]`, `f_pts[j + 1]` and `f_pts[j + 2]`.
pub(crate) fn melscale_fbanks(
    n_freqs: usize,
    f_min_hz: f32,
    f_max_hz: f32,
    n_mels: usize,
    sample_rate_hz: u32,
) -> Vec<f32> {
    let all_freqs = linspace_f32(0.0, (sample_rate_hz / 2) as f32, n_freqs);
    let m_min = hz_to_mel_htk(f64::from(f_min_hz));
    let m_max = hz_to_mel_htk(f64::from(f_max_hz));
    let m_pts = linspace_f32(m_min as f32, m_max as f32, n_mels + 2);
    let f_pts: Vec<f32> = m_pts.iter().map(|&m| mel_to_hz_htk(m)).collect();
    let f_diff: Vec<f32> = f_pts.windows(2).map(|w| w[1] - w[0]).collect();

    let mut fb = vec![0.0_f32; n_freqs * n_mels];
    for (bin_idx, &freq) in all_freqs.iter().enumerate() {
        for band_idx in 0..n_mels {
            // slopes[i, k] = f_pts[k] - all_freqs[i]; torch's `-1.0 * slopes` is an exact
            // negation, and -(a - b) == b - a exactly in IEEE arithmetic.
            let down = (freq - f_pts[band_idx]) / f_diff[band_idx];
            let up = (f_pts[band_idx + 2] - freq) / f_diff[band_idx + 1];
            fb[bin_idx * n_mels + band_idx] = 0.0_f32.max(down.min(up));
        }
    }
    fb
}

/// One mel band's non-zero part of the filterbank: the contiguous bin range it touches and the
/// weights over that range.
#[derive(Debug, Clone)]
pub(crate) struct BandSpan {
    /// First FFT bin with a non-zero weight.
    pub first_bin_idx: usize,
    /// Offset of this band's weights in [`SparseFilterbank::weights`].
    pub weights_offset: usize,
    /// Number of bins (and weights) in the band.
    pub num_bins: usize,
}

/// The filterbank transposed and compressed to each band's non-zero bin range, so that one frame's
/// mel projection costs about `2 * n_freqs` multiply-adds instead of `n_freqs * n_mels`.
#[derive(Debug, Clone)]
pub(crate) struct SparseFilterbank {
    /// One span per mel band, in band order.
    pub bands: Vec<BandSpan>,
    /// All bands' weights, concatenated.
    pub weights: Vec<f32>,
}

impl SparseFilterbank {
    /// Compresses a row-major `(n_freqs, n_mels)` filterbank.
    pub fn from_dense(fb: &[f32], n_freqs: usize, n_mels: usize) -> Self {
        let mut bands = Vec::with_capacity(n_mels);
        let mut weights = Vec::new();
        for band_idx in 0..n_mels {
            let column = |bin_idx: usize| fb[bin_idx * n_mels + band_idx];
            let first = (0..n_freqs).find(|&b| column(b) != 0.0);
            let last = (0..n_freqs).rev().find(|&b| column(b) != 0.0);
            let weights_offset = weights.len();
            let (first_bin_idx, num_bins) = match (first, last) {
                (Some(first), Some(last)) => {
                    weights.extend((first..=last).map(column));
                    (first, last + 1 - first)
                }
                _ => (0, 0),
            };
            bands.push(BandSpan {
                first_bin_idx,
                weights_offset,
                num_bins,
            });
        }
        Self { bands, weights }
    }

    /// Projects a power spectrum onto the mel bands: `out[j] = Σ_i power[i] * fb[i, j]`.
    /// Real-time safe, does not allocate.
    pub fn project(&self, power: &[f32], out: &mut [f32]) {
        for (band, out_value) in self.bands.iter().zip(out.iter_mut()) {
            let bins = &power[band.first_bin_idx..band.first_bin_idx + band.num_bins];
            let w = &self.weights[band.weights_offset..band.weights_offset + band.num_bins];
            let acc: f64 = bins
                .iter()
                .zip(w)
                .map(|(&p, &w)| f64::from(p) * f64::from(w))
                .sum();
            *out_value = acc as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linspace_matches_endpoints_and_count() {
        let v = linspace_f32(0.0, 12000.0, 1025);
        assert_eq!(v.len(), 1025);
        assert_eq!(v[0], 0.0);
        assert_eq!(v[1024], 12000.0);
        assert!((v[512] - 6000.0).abs() < 1e-3);
    }

    #[test]
    fn hann_is_periodic() {
        let w = periodic_hann(8);
        assert_eq!(w[0], 0.0);
        assert!((w[4] - 1.0).abs() < 1e-7);
        // Periodic: w[n] == w[len - n], and no trailing zero.
        assert!((w[1] - w[7]).abs() < 1e-6);
        assert!(w[7] > 0.1);
    }

    #[test]
    fn sparse_projection_equals_dense_product() {
        let (n_freqs, n_mels) = (1025, 128);
        let fb = melscale_fbanks(n_freqs, 0.0, 12000.0, n_mels, 24000);
        let sparse = SparseFilterbank::from_dense(&fb, n_freqs, n_mels);
        let power: Vec<f32> = (0..n_freqs)
            .map(|i| ((i * 37 % 101) as f32).powi(2))
            .collect();
        let mut got = vec![0.0; n_mels];
        sparse.project(&power, &mut got);
        for band_idx in 0..n_mels {
            let dense: f64 = (0..n_freqs)
                .map(|b| f64::from(power[b]) * f64::from(fb[b * n_mels + band_idx]))
                .sum();
            assert!((f64::from(got[band_idx]) - dense).abs() <= 1e-6 * dense.abs().max(1.0));
        }
        // Sparse storage really is sparse.
        assert!(sparse.weights.len() < 3 * n_freqs);
    }
}
