//! Peak weighting before the chroma histogram: spectral whitening and harmonic votes, both as
//! in Gómez's HPCP (E. Gómez, "Tonal description of polyphonic audio for music content
//! processing", INFORMS Journal on Computing 18(3), 2006), the front end of Essentia's key
//! extractor.

use super::Peak;

/// Divides each peak's magnitude by `envelope^strength`, where the envelope at a peak is the
/// largest peak magnitude within `half_width_octaves` of it (peaks sorted by frequency). A
/// quiet register then counts as much as a loud one, so a loud bass or lead does not drown the
/// harmony. `envelope` is scratch with room for every peak; work is bounded by the peaks in
/// each window. Real-time safe.
pub(super) fn whiten(
    peaks: &mut [Peak],
    envelope: &mut Vec<f32>,
    strength: f32,
    half_width_octaves: f32,
) {
    if strength <= 0.0 || peaks.is_empty() {
        return;
    }
    let ratio = 2f32.powf(half_width_octaves);
    envelope.clear();
    let mut lo = 0;
    let mut hi = 0;
    for peak in peaks.iter() {
        while peaks[lo].freq_hz < peak.freq_hz / ratio {
            lo += 1;
        }
        while hi + 1 < peaks.len() && peaks[hi + 1].freq_hz <= peak.freq_hz * ratio {
            hi += 1;
        }
        let local_max = peaks[lo..=hi]
            .iter()
            .fold(0.0f32, |acc, p| acc.max(p.magnitude));
        // Capacity is reserved for every peak in `ChromaFrontend::new`, so this never allocates.
        envelope.push(local_max);
    }
    for (peak, &env) in peaks.iter_mut().zip(envelope.iter()) {
        if env > 1e-20 {
            peak.magnitude /= env.powf(strength);
        }
    }
}

/// Weight of a peak's vote for the pitch of which it would be harmonic `harmonic` (1 = the
/// fundamental itself): 1 up to two octaves above, then falling with the interval, as HPCP's
/// harmonic contribution table (`1 / max(1, semitones / 24)`).
pub(super) fn harmonic_vote_weight(harmonic: usize) -> f32 {
    let semitones = 12.0 * (harmonic.max(1) as f32).log2();
    1.0 / (semitones / 24.0).max(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peak(freq_hz: f32, magnitude: f32) -> Peak {
        Peak { freq_hz, magnitude }
    }

    #[test]
    fn whitening_levels_registers_but_keeps_local_ranking() {
        let mut peaks = vec![
            peak(100.0, 10.0),
            peak(110.0, 5.0),
            peak(1000.0, 0.1),
            peak(1100.0, 0.05),
        ];
        let mut envelope = Vec::with_capacity(peaks.len());
        whiten(&mut peaks, &mut envelope, 1.0, 1.0 / 3.0);
        let magnitudes: Vec<f32> = peaks.iter().map(|p| p.magnitude).collect();
        assert_eq!(magnitudes, vec![1.0, 0.5, 1.0, 0.5]);
        // Strength 0 leaves the peaks alone.
        let mut untouched = vec![peak(100.0, 10.0)];
        whiten(&mut untouched, &mut envelope, 0.0, 1.0 / 3.0);
        assert_eq!(untouched[0].magnitude, 10.0);
    }

    #[test]
    fn harmonic_votes_follow_the_hpcp_table() {
        for h in 1..=4 {
            assert_eq!(harmonic_vote_weight(h), 1.0);
        }
        let fifth = harmonic_vote_weight(5);
        assert!((fifth - 1.0 / 1.1610).abs() < 1e-3, "{fifth}");
        assert!(harmonic_vote_weight(8) < fifth);
    }
}
