//! Just enough music theory for the test corpus: scales, diatonic triads and common
//! progressions in major and minor keys.

use muq_engine::heads::key::{Key, Mode};

/// Major scale, semitones above the tonic.
pub const MAJOR_SCALE: [i32; 7] = [0, 2, 4, 5, 7, 9, 11];
/// Natural minor scale, semitones above the tonic.
pub const NATURAL_MINOR_SCALE: [i32; 7] = [0, 2, 3, 5, 7, 8, 10];

/// A chord as pitch classes relative to the key's tonic (root first, then third, fifth…).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chord {
    /// Semitones of each chord tone above the tonic (may exceed 12).
    pub tones: [i32; 3],
}

impl Chord {
    /// The root, 0..12 above the tonic.
    pub fn root(&self) -> i32 {
        self.tones[0].rem_euclid(12)
    }
}

/// The scale of a key: major, or natural minor.
pub fn scale(mode: Mode) -> [i32; 7] {
    match mode {
        Mode::Major => MAJOR_SCALE,
        Mode::Minor => NATURAL_MINOR_SCALE,
    }
}

/// Diatonic triad on `degree` (0 = I/i .. 6 = vii°/VII, taken modulo 7). In minor the
/// dominant (degree 4) is major, with the raised leading tone, as in common practice.
pub fn triad(mode: Mode, degree: usize) -> Chord {
    let scale = scale(mode);
    let step = |i: usize| scale[i % 7] + 12 * (i / 7) as i32;
    let degree = degree % 7;
    let mut tones = [step(degree), step(degree + 2), step(degree + 4)];
    if mode == Mode::Minor && degree == 4 {
        tones[1] += 1; // raised 7th: the minor key's V is major
    }
    Chord { tones }
}

/// Common progressions (scale degrees, 0-based), each starting on the tonic chord.
pub fn progressions(mode: Mode) -> &'static [&'static [usize]] {
    match mode {
        Mode::Major => &[
            &[0, 3, 4, 0],
            &[0, 5, 3, 4],
            &[0, 4, 5, 3],
            &[0, 1, 4, 0],
            &[0, 3, 0, 4],
            &[0, 2, 3, 4],
            &[0, 5, 1, 4],
        ],
        Mode::Minor => &[
            &[0, 3, 4, 0],
            &[0, 5, 2, 6],
            &[0, 6, 5, 4],
            &[0, 3, 6, 2],
            &[0, 1, 4, 0],
            &[0, 5, 3, 4],
            &[0, 3, 0, 4],
        ],
    }
}

/// MIDI pitch of `semitones_above_tonic` in `key`, folded into `[lo_midi, lo_midi + 12)`.
pub fn pitch_in_octave(key: Key, semitones_above_tonic: i32, lo_midi: i32) -> i32 {
    let pc = (key.tonic_idx() as i32 + semitones_above_tonic).rem_euclid(12);
    lo_midi + (pc - lo_midi).rem_euclid(12)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triads_have_the_expected_qualities() {
        // Major key: I, IV, V major; ii, iii, vi minor; vii° diminished.
        let quality = |c: Chord| (c.tones[1] - c.tones[0], c.tones[2] - c.tones[1]);
        assert_eq!(quality(triad(Mode::Major, 0)), (4, 3));
        assert_eq!(quality(triad(Mode::Major, 1)), (3, 4));
        assert_eq!(quality(triad(Mode::Major, 4)), (4, 3));
        assert_eq!(quality(triad(Mode::Major, 6)), (3, 3));
        // Minor key: i minor, V major (harmonic minor), VI major.
        assert_eq!(quality(triad(Mode::Minor, 0)), (3, 4));
        assert_eq!(quality(triad(Mode::Minor, 4)), (4, 3));
        assert_eq!(quality(triad(Mode::Minor, 5)), (4, 3));
        assert_eq!(triad(Mode::Minor, 4).tones, [7, 11, 14]);
        assert!(progressions(Mode::Major).iter().all(|p| p[0] == 0));
        assert!(progressions(Mode::Minor).iter().all(|p| p[0] == 0));
    }

    #[test]
    fn pitches_fold_into_the_requested_octave() {
        let key = Key::new(9, Mode::Minor); // A minor
        assert_eq!(pitch_in_octave(key, 0, 60), 69);
        assert_eq!(pitch_in_octave(key, 3, 60), 60); // C
        assert_eq!(pitch_in_octave(key, 7, 36), 40); // E2
    }
}
