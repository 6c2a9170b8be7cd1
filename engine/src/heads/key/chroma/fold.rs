//! From the fine pitch-class histogram to 12 pitch classes: the tuning estimate and the fold
//! around it.

use super::{BINS_PER_SEMITONE, FineChroma};

/// Tuning offset in semitones (-0.5..0.5) of a fine histogram: the circular mean of where its
/// mass sits within a semitone. 0 for an empty histogram.
pub fn estimate_tuning(fine: &FineChroma) -> f32 {
    let (mut re, mut im) = (0.0f32, 0.0f32);
    for (bin, &v) in fine.iter().enumerate() {
        let angle =
            std::f32::consts::TAU * (bin % BINS_PER_SEMITONE) as f32 / BINS_PER_SEMITONE as f32;
        re += v * angle.cos();
        im += v * angle.sin();
    }
    if re.hypot(im) < 1e-12 {
        return 0.0;
    }
    im.atan2(re) / std::f32::consts::TAU
}

/// Folds a fine histogram to 12 pitch classes centred `tuning_semitones` off equal temperament,
/// each class gathering the bins within half a semitone with a cos² taper.
pub fn fold_to_pitch_classes(fine: &FineChroma, tuning_semitones: f32) -> [f32; 12] {
    let mut chroma = [0.0; 12];
    for (bin, &v) in fine.iter().enumerate() {
        if v == 0.0 {
            continue;
        }
        let semitones = bin as f32 / BINS_PER_SEMITONE as f32 - tuning_semitones;
        let nearest = semitones.round();
        let distance = semitones - nearest;
        let weight = (std::f32::consts::PI * distance).cos().powi(2);
        // rem_euclid keeps the class in 0..12.
        chroma[(nearest as i32).rem_euclid(12) as usize] += v * weight;
    }
    chroma
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heads::key::chroma::NUM_FINE_BINS;

    #[test]
    fn fold_and_tuning_of_synthetic_histograms() {
        let mut fine = [0.0; NUM_FINE_BINS];
        fine[7 * BINS_PER_SEMITONE + 2] = 1.0; // G, 20 cents sharp
        let tuning = estimate_tuning(&fine);
        assert!((tuning - 0.2).abs() < 1e-4);
        let chroma = fold_to_pitch_classes(&fine, tuning);
        assert!((chroma[7] - 1.0).abs() < 1e-5);
        assert_eq!(estimate_tuning(&[0.0; NUM_FINE_BINS]), 0.0);
    }
}
