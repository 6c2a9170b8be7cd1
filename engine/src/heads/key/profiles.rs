//! Key profiles (expected pitch-class weights of a major and a minor key, tonic first) and the
//! 24 correlation templates built from them.
//!
//! The shipped profiles live in `assets/key_profiles/*.json`, each with its published source;
//! they are compiled into the binary. A user profile can be read from a JSON file of the same
//! shape (`name`, `title`, `source`, `major`, `minor`).

use std::path::Path;

use serde::Deserialize;

use super::camelot::NUM_KEYS;
use crate::{Error, Result};

/// The key profiles shipped in `assets/key_profiles/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProfileKind {
    /// Krumhansl & Kessler (1982) probe-tone ratings.
    KrumhanslKessler,
    /// Temperley (1999) revised profiles.
    Temperley,
    /// Temperley (2007) Kostka-Payne corpus distributions.
    TemperleyKostkaPayne,
    /// Aarden (2003) Essen folksong distributions.
    AardenEssen,
    /// Bellman (2005) / Budge (1943) chord-based profiles.
    BellmanBudge,
    /// Sha'ath (2011) KeyFinder profiles.
    Shaath,
    /// Faraldo et al. (2016) EDMA profiles.
    Edma,
    /// Faraldo, Jordà & Herrera (2017) Beatport median profiles, least relevant degrees zeroed.
    Bgate,
    /// Faraldo, Jordà & Herrera (2017) Beatport median profiles.
    Braw,
}

impl ProfileKind {
    /// Every shipped profile.
    pub const ALL: [ProfileKind; 9] = [
        Self::KrumhanslKessler,
        Self::Temperley,
        Self::TemperleyKostkaPayne,
        Self::AardenEssen,
        Self::BellmanBudge,
        Self::Shaath,
        Self::Edma,
        Self::Bgate,
        Self::Braw,
    ];

    /// Snake-case name, the stem of the profile's asset file (e.g. `"krumhansl_kessler"`).
    pub fn name(self) -> &'static str {
        match self {
            Self::KrumhanslKessler => "krumhansl_kessler",
            Self::Temperley => "temperley",
            Self::TemperleyKostkaPayne => "temperley_kostka_payne",
            Self::AardenEssen => "aarden_essen",
            Self::BellmanBudge => "bellman_budge",
            Self::Shaath => "shaath",
            Self::Edma => "edma",
            Self::Bgate => "bgate",
            Self::Braw => "braw",
        }
    }

    /// The profile with this [`Self::name`] (ASCII case ignored, `-` read as `_`).
    pub fn from_name(name: &str) -> Option<Self> {
        let wanted = name.trim().to_ascii_lowercase().replace('-', "_");
        Self::ALL.into_iter().find(|kind| kind.name() == wanted)
    }

    /// Human-readable title for display, e.g. `"Krumhansl–Kessler"`.
    pub fn title(self) -> &'static str {
        match self {
            Self::KrumhanslKessler => "Krumhansl–Kessler",
            Self::Temperley => "Temperley",
            Self::TemperleyKostkaPayne => "Temperley (Kostka–Payne)",
            Self::AardenEssen => "Aarden (Essen)",
            Self::BellmanBudge => "Bellman–Budge",
            Self::Shaath => "Sha'ath (KeyFinder)",
            Self::Edma => "EDMA",
            Self::Bgate => "Beatport gated (bgate)",
            Self::Braw => "Beatport median (braw)",
        }
    }

    fn json(self) -> &'static str {
        match self {
            Self::KrumhanslKessler => {
                include_str!("../../../../assets/key_profiles/krumhansl_kessler.json")
            }
            Self::Temperley => include_str!("../../../../assets/key_profiles/temperley.json"),
            Self::TemperleyKostkaPayne => {
                include_str!("../../../../assets/key_profiles/temperley_kostka_payne.json")
            }
            Self::AardenEssen => include_str!("../../../../assets/key_profiles/aarden_essen.json"),
            Self::BellmanBudge => {
                include_str!("../../../../assets/key_profiles/bellman_budge.json")
            }
            Self::Shaath => include_str!("../../../../assets/key_profiles/shaath.json"),
            Self::Edma => include_str!("../../../../assets/key_profiles/edma.json"),
            Self::Bgate => include_str!("../../../../assets/key_profiles/bgate.json"),
            Self::Braw => include_str!("../../../../assets/key_profiles/braw.json"),
        }
    }
}

/// A major/minor pair of pitch-class weights, index 0 = tonic.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct KeyProfile {
    /// Short identifier, e.g. `"temperley"`.
    pub name: String,
    /// Human-readable title.
    #[serde(default)]
    pub title: String,
    /// Publication the numbers come from.
    #[serde(default)]
    pub source: String,
    /// Weights of the 12 pitch classes above a major tonic.
    pub major: [f32; 12],
    /// Weights of the 12 pitch classes above a minor tonic.
    pub minor: [f32; 12],
}

impl KeyProfile {
    /// One of the shipped profiles.
    pub fn builtin(kind: ProfileKind) -> Result<Self> {
        Self::from_json_str(kind.json(), Path::new("assets/key_profiles"))
    }

    /// Reads a profile from a JSON file.
    pub fn from_json_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_json_str(&text, path)
    }

    fn from_json_str(text: &str, path: &Path) -> Result<Self> {
        let profile: Self = serde_json::from_str(text).map_err(|e| Error::Config {
            path: path.to_path_buf(),
            msg: e.to_string(),
        })?;
        profile.validate().map_err(|msg| Error::Config {
            path: path.to_path_buf(),
            msg,
        })?;
        Ok(profile)
    }

    fn validate(&self) -> std::result::Result<(), String> {
        for (mode, weights) in [("major", &self.major), ("minor", &self.minor)] {
            if weights.iter().any(|w| !w.is_finite() || *w < 0.0) {
                return Err(format!("{mode} weights must be finite and non-negative"));
            }
            let (lo, hi) = weights
                .iter()
                .fold((f32::MAX, f32::MIN), |(lo, hi), &w| (lo.min(w), hi.max(w)));
            if hi - lo <= f32::EPSILON * hi.abs().max(1.0) {
                return Err(format!(
                    "{mode} weights are constant, so they cannot rank keys"
                ));
            }
        }
        Ok(())
    }
}

/// The 24 zero-mean, unit-norm key templates the chroma is correlated with.
#[derive(Debug, Clone)]
pub struct KeyTemplates {
    /// `templates[key_idx][pitch_class]`, key index as in [`super::Key::index`].
    templates: [[f32; 12]; NUM_KEYS],
}

impl KeyTemplates {
    /// Builds templates from `profile`; with `num_harmonics > 1` each profile note also adds its
    /// harmonics (weights `harmonic_decay^(h-1)`) to their pitch classes, so the templates look
    /// like the chroma of real tones (Gómez 2006, "Tonal description of music audio signals").
    pub fn new(profile: &KeyProfile, num_harmonics: usize, harmonic_decay: f32) -> Self {
        let mut templates = [[0.0; 12]; NUM_KEYS];
        for (key_idx, template) in templates.iter_mut().enumerate() {
            let tonic = key_idx % 12;
            let weights = if key_idx < 12 {
                &profile.major
            } else {
                &profile.minor
            };
            let expanded = expand_harmonics(weights, num_harmonics, harmonic_decay);
            for (interval, &w) in expanded.iter().enumerate() {
                template[(tonic + interval) % 12] = w;
            }
            normalize_zero_mean(template);
        }
        Self { templates }
    }

    /// The average of the templates of several profiles (re-normalised); `None` when empty.
    pub fn ensemble(
        profiles: &[KeyProfile],
        num_harmonics: usize,
        harmonic_decay: f32,
    ) -> Option<Self> {
        if profiles.is_empty() {
            return None;
        }
        let mut templates = [[0.0; 12]; NUM_KEYS];
        for profile in profiles {
            let member = Self::new(profile, num_harmonics, harmonic_decay);
            for (sum, one) in templates.iter_mut().zip(&member.templates) {
                sum.iter_mut().zip(one).for_each(|(a, b)| *a += b);
            }
        }
        templates.iter_mut().for_each(|t| {
            normalize_zero_mean(t);
        });
        Some(Self { templates })
    }

    /// Pearson correlation of `chroma` with each key template, written to `scores`.
    /// A constant (e.g. all-zero) chroma scores 0 everywhere. Real-time safe.
    pub fn correlate(&self, chroma: &[f32; 12], scores: &mut [f32; NUM_KEYS]) {
        let mut centred = *chroma;
        if !normalize_zero_mean(&mut centred) {
            scores.fill(0.0);
            return;
        }
        for (score, template) in scores.iter_mut().zip(&self.templates) {
            *score = template.iter().zip(&centred).map(|(a, b)| a * b).sum();
        }
    }
}

/// Pitch-class offset of harmonic `h` (1-based) above its fundamental.
fn harmonic_interval(h: usize) -> usize {
    let semitones = 12.0 * (h as f32).log2();
    // Rounded semitones of small harmonics are small non-negative integers.
    (semitones.round() as usize) % 12
}

fn expand_harmonics(weights: &[f32; 12], num_harmonics: usize, decay: f32) -> [f32; 12] {
    let mut out = [0.0; 12];
    for (pc, &w) in weights.iter().enumerate() {
        let mut gain = 1.0;
        for h in 1..=num_harmonics.max(1) {
            out[(pc + harmonic_interval(h)) % 12] += w * gain;
            gain *= decay;
        }
    }
    out
}

/// Subtracts the mean and scales to unit norm; returns false (leaving zeros) for constant input.
pub(super) fn normalize_zero_mean(values: &mut [f32; 12]) -> bool {
    let mean = values.iter().sum::<f32>() / 12.0;
    values.iter_mut().for_each(|v| *v -= mean);
    let norm = values.iter().map(|v| v * v).sum::<f32>().sqrt();
    if !(norm > 1e-12) {
        values.fill(0.0);
        return false;
    }
    values.iter_mut().for_each(|v| *v /= norm);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heads::key::{Key, Mode};

    #[test]
    fn all_builtin_profiles_parse_and_cite_a_source() {
        for kind in ProfileKind::ALL {
            let profile = KeyProfile::builtin(kind).unwrap_or_else(|e| panic!("{kind:?}: {e}"));
            assert!(!profile.source.is_empty(), "{kind:?} has no source");
            // Every tonal profile weights the tonic above the tritone.
            assert!(profile.major[0] > profile.major[6] && profile.minor[0] > profile.minor[6]);
        }
    }

    #[test]
    fn names_round_trip_and_match_the_asset_files() -> Result<()> {
        for kind in ProfileKind::ALL {
            assert_eq!(ProfileKind::from_name(kind.name()), Some(kind));
            assert_eq!(KeyProfile::builtin(kind)?.name, kind.name());
            assert!(!kind.title().is_empty());
        }
        assert_eq!(
            ProfileKind::from_name(" Krumhansl-Kessler "),
            Some(ProfileKind::KrumhanslKessler)
        );
        assert_eq!(ProfileKind::from_name("krumhansl"), None);
        Ok(())
    }

    #[test]
    fn bad_profiles_are_rejected_with_a_message() {
        let path = Path::new("test.json");
        let constant = r#"{"name":"x","major":[1,1,1,1,1,1,1,1,1,1,1,1],
            "minor":[1,2,1,1,1,1,1,1,1,1,1,1]}"#;
        let err = KeyProfile::from_json_str(constant, path)
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|m| m.contains("constant")));
        let short = r#"{"name":"x","major":[1,2],"minor":[1,2]}"#;
        assert!(KeyProfile::from_json_str(short, path).is_err());
        let negative = r#"{"name":"x","major":[1,-2,1,1,1,1,1,1,1,1,1,1],
            "minor":[1,2,1,1,1,1,1,1,1,1,1,1]}"#;
        assert!(KeyProfile::from_json_str(negative, path).is_err());
    }

    #[test]
    fn a_profile_shaped_chroma_correlates_best_with_its_own_key() -> Result<()> {
        let profile = KeyProfile::builtin(ProfileKind::Temperley)?;
        let templates = KeyTemplates::new(&profile, 1, 0.6);
        let mut scores = [0.0; NUM_KEYS];
        for key in Key::all() {
            let weights = if key.mode() == Mode::Major {
                profile.major
            } else {
                profile.minor
            };
            let mut chroma = [0.0; 12];
            for (interval, w) in weights.iter().enumerate() {
                chroma[(key.tonic_idx() + interval) % 12] = *w;
            }
            templates.correlate(&chroma, &mut scores);
            let best = (0..NUM_KEYS).max_by(|&a, &b| scores[a].total_cmp(&scores[b]));
            assert_eq!(best, Some(key.index()));
            assert!((scores[key.index()] - 1.0).abs() < 1e-5);
        }
        templates.correlate(&[0.0; 12], &mut scores);
        assert!(scores.iter().all(|&s| s == 0.0));
        Ok(())
    }

    #[test]
    fn harmonic_intervals_are_octaves_fifths_and_thirds() {
        let intervals: Vec<usize> = (1..=8).map(harmonic_interval).collect();
        assert_eq!(intervals, vec![0, 0, 7, 0, 4, 7, 10, 0]);
    }
}
