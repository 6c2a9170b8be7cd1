//! Keys as a value type: tonic and mode, names written with sharps, Camelot codes and the
//! relations between keys (fifth, relative, parallel) that the MIREX score rewards.

/// Major or minor mode of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Major (Ionian) mode.
    Major,
    /// Minor (Aeolian / harmonic minor) mode.
    Minor,
}

/// Number of keys the estimator distinguishes: 12 tonics × 2 modes.
pub const NUM_KEYS: usize = 24;

/// Pitch-class names with sharps, index 0 = C.
pub const PITCH_CLASS_NAMES: [&str; 12] = [
    "C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B",
];

const MAJOR_NAMES: [&str; 12] = [
    "C major", "C# major", "D major", "D# major", "E major", "F major", "F# major", "G major",
    "G# major", "A major", "A# major", "B major",
];
const MINOR_NAMES: [&str; 12] = [
    "C minor", "C# minor", "D minor", "D# minor", "E minor", "F minor", "F# minor", "G minor",
    "G# minor", "A minor", "A# minor", "B minor",
];
/// Camelot numbers 1..=12 listed in wheel order, for the `N` + `A`/`B` codes.
const CAMELOT_MAJOR: [&str; 12] = [
    "8B", "3B", "10B", "5B", "12B", "7B", "2B", "9B", "4B", "11B", "6B", "1B",
];
const CAMELOT_MINOR: [&str; 12] = [
    "5A", "12A", "7A", "2A", "9A", "4A", "11A", "6A", "1A", "8A", "3A", "10A",
];

/// A musical key: tonic pitch class (0 = C .. 11 = B) and mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    tonic_idx: u8,
    mode: Mode,
}

impl Key {
    /// The key with tonic `tonic_idx` (taken modulo 12, so any integer is accepted) and `mode`.
    pub fn new(tonic_idx: usize, mode: Mode) -> Self {
        // `% 12` keeps the value below 12, so the narrowing cast is lossless.
        Self {
            tonic_idx: (tonic_idx % 12) as u8,
            mode,
        }
    }

    /// The key with dense index `key_idx` (0..12 major C..B, 12..24 minor C..B), taken modulo 24.
    pub fn from_index(key_idx: usize) -> Self {
        let key_idx = key_idx % NUM_KEYS;
        let mode = if key_idx < 12 {
            Mode::Major
        } else {
            Mode::Minor
        };
        Self::new(key_idx % 12, mode)
    }

    /// Dense index 0..24: major keys first (C major = 0), then minor keys (C minor = 12).
    pub fn index(self) -> usize {
        usize::from(self.tonic_idx) + if self.mode == Mode::Minor { 12 } else { 0 }
    }

    /// Tonic pitch class, 0 = C .. 11 = B.
    pub fn tonic_idx(self) -> usize {
        usize::from(self.tonic_idx)
    }

    /// Major or minor.
    pub fn mode(self) -> Mode {
        self.mode
    }

    /// Name with sharps, e.g. `"F# minor"`.
    pub fn name(self) -> &'static str {
        match self.mode {
            Mode::Major => MAJOR_NAMES[self.tonic_idx()],
            Mode::Minor => MINOR_NAMES[self.tonic_idx()],
        }
    }

    /// Camelot wheel code, e.g. `"11A"` for F# minor, `"8B"` for C major.
    pub fn camelot(self) -> &'static str {
        match self.mode {
            Mode::Major => CAMELOT_MAJOR[self.tonic_idx()],
            Mode::Minor => CAMELOT_MINOR[self.tonic_idx()],
        }
    }

    /// Parses names such as `"F# minor"`, `"Gb major"`, `"a minor"`, `"C#m"`; `None` when unknown.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let (tonic_part, mode) = if let Some(rest) = strip_suffix_ci(text, "major") {
            (rest.trim(), Mode::Major)
        } else if let Some(rest) = strip_suffix_ci(text, "minor") {
            (rest.trim(), Mode::Minor)
        } else if let Some(rest) = text.strip_suffix('m') {
            (rest.trim(), Mode::Minor)
        } else {
            (text, Mode::Major)
        };
        let mut chars = tonic_part.chars();
        let letter = chars.next()?.to_ascii_uppercase();
        let natural: i32 = match letter {
            'C' => 0,
            'D' => 2,
            'E' => 4,
            'F' => 5,
            'G' => 7,
            'A' => 9,
            'B' => 11,
            _ => return None,
        };
        let accidental: i32 = match chars.as_str() {
            "" => 0,
            "#" | "♯" => 1,
            "b" | "♭" => -1,
            _ => return None,
        };
        let tonic = (natural + accidental).rem_euclid(12);
        // rem_euclid(12) is in 0..12, so the cast is lossless.
        Some(Self::new(tonic as usize, mode))
    }

    /// The same-mode key a perfect fifth above (the dominant key).
    pub fn fifth_above(self) -> Self {
        Self::new(self.tonic_idx() + 7, self.mode)
    }

    /// The relative key: A minor for C major, C major for A minor.
    pub fn relative(self) -> Self {
        match self.mode {
            Mode::Major => Self::new(self.tonic_idx() + 9, Mode::Minor),
            Mode::Minor => Self::new(self.tonic_idx() + 3, Mode::Major),
        }
    }

    /// The parallel key: C minor for C major and back.
    pub fn parallel(self) -> Self {
        match self.mode {
            Mode::Major => Self::new(self.tonic_idx(), Mode::Minor),
            Mode::Minor => Self::new(self.tonic_idx(), Mode::Major),
        }
    }

    /// All 24 keys in index order.
    pub fn all() -> impl Iterator<Item = Key> {
        (0..NUM_KEYS).map(Self::from_index)
    }
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

fn strip_suffix_ci<'a>(text: &'a str, suffix: &str) -> Option<&'a str> {
    let split_idx = text.len().checked_sub(suffix.len())?;
    let tail = text.get(split_idx..)?;
    tail.eq_ignore_ascii_case(suffix)
        .then(|| &text[..split_idx])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camelot_codes_walk_the_circle_of_fifths_for_all_24_keys() {
        // Independent construction: C major is 8B and each fifth up adds one (mod 12, 1-based);
        // a minor key shares its number with its relative major and uses the letter A.
        for key in Key::all() {
            let major_tonic = match key.mode() {
                Mode::Major => key.tonic_idx(),
                Mode::Minor => (key.tonic_idx() + 3) % 12,
            };
            let fifths_from_c = (major_tonic * 7) % 12;
            let number = (fifths_from_c + 7) % 12 + 1;
            let letter = if key.mode() == Mode::Major { 'B' } else { 'A' };
            assert_eq!(key.camelot(), format!("{number}{letter}"), "{key}");
        }
        assert_eq!(Key::new(6, Mode::Minor).camelot(), "11A");
        assert_eq!(Key::new(0, Mode::Major).camelot(), "8B");
        assert_eq!(Key::new(9, Mode::Minor).camelot(), "8A");
        assert_eq!(Key::new(11, Mode::Major).camelot(), "1B");
    }

    #[test]
    fn camelot_codes_are_unique() {
        let mut codes: Vec<&str> = Key::all().map(Key::camelot).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), NUM_KEYS);
    }

    #[test]
    fn names_use_sharps_and_round_trip() {
        assert_eq!(Key::new(6, Mode::Minor).name(), "F# minor");
        assert_eq!(Key::new(10, Mode::Major).name(), "A# major");
        for key in Key::all() {
            assert!(
                !key.name().contains('b'),
                "{key} should be spelled with sharps"
            );
            assert_eq!(Key::parse(key.name()), Some(key));
            assert_eq!(Key::from_index(key.index()), key);
        }
        assert_eq!(Key::parse("Gb major"), Some(Key::new(6, Mode::Major)));
        assert_eq!(Key::parse("C#m"), Some(Key::new(1, Mode::Minor)));
        assert_eq!(Key::parse("Cb minor"), Some(Key::new(11, Mode::Minor)));
        assert_eq!(Key::parse("H major"), None);
        assert_eq!(Key::parse(""), None);
    }

    #[test]
    fn relations_match_music_theory() {
        let c_major = Key::new(0, Mode::Major);
        assert_eq!(c_major.fifth_above().name(), "G major");
        assert_eq!(c_major.relative().name(), "A minor");
        assert_eq!(c_major.parallel().name(), "C minor");
        let a_minor = Key::new(9, Mode::Minor);
        assert_eq!(a_minor.relative().name(), "C major");
        assert_eq!(a_minor.fifth_above().name(), "E minor");
        for key in Key::all() {
            assert_eq!(key.relative().relative(), key);
            assert_eq!(key.parallel().parallel(), key);
        }
    }
}
