//! Which key profile the estimator correlates with, and its string form for the editor
//! (`Command::SetKeyMethod`): a shipped profile name, `a+b` for an ensemble of shipped
//! profiles, `"ensemble"` (the default ensemble), `"ensemble_opening"` (the default ensemble
//! plus the opening-chord tonic cue, [`super::opening`]), any name with `+opening` appended,
//! `"default"`, or a path to a profile JSON file.

use std::path::Path;

use super::profiles::{KeyProfile, KeyTemplates, ProfileKind};
use crate::{Error, Result};

/// Name of the default key method (what `"default"` and `None` select): [`DEFAULT_ENSEMBLE`].
/// The opening-chord arbiter (`"ensemble_opening"`) is not the default: it relies on music
/// opening on its tonic chord and loses when a window starts inside a phrase
/// (`tools/essentia_key_compare.md`).
pub const DEFAULT_KEY_METHOD: &str = ENSEMBLE_METHOD;

/// Name of the method that adds the opening-chord tonic cue to [`DEFAULT_ENSEMBLE`].
pub const ENSEMBLE_OPENING_METHOD: &str = "ensemble_opening";

/// Suffix that adds the opening-chord tonic cue to any method, e.g. `"shaath+opening"`.
pub const OPENING_SUFFIX: &str = "+opening";

/// Name of the method that averages the templates of [`DEFAULT_ENSEMBLE`].
pub const ENSEMBLE_METHOD: &str = "ensemble";

/// Profiles of the default ensemble: the best three-profile average on the dev corpus read
/// from its start and from 2, 3 and 5 s in (windows of live audio start anywhere in a
/// phrase; see `tools/essentia_key_compare.md`): one data-driven EDM set (bgate), Sha'ath's
/// profiles and Temperley's, whose strong leading tone separates fifth-related keys.
pub const DEFAULT_ENSEMBLE: [ProfileKind; 3] = [
    ProfileKind::Bgate,
    ProfileKind::Shaath,
    ProfileKind::Temperley,
];

/// Which key profile to correlate with.
#[derive(Debug, Clone, PartialEq)]
pub enum ProfileChoice {
    /// One of the profiles shipped in `assets/key_profiles/`.
    Builtin(ProfileKind),
    /// A user-supplied profile (see [`KeyProfile::from_json_file`]).
    Custom(KeyProfile),
    /// Several shipped profiles at once: their templates are averaged.
    Ensemble(Vec<ProfileKind>),
    /// The inner choice's templates plus the opening-chord tonic cue ([`super::opening`]).
    WithOpening(Box<ProfileChoice>),
}

impl Default for ProfileChoice {
    fn default() -> Self {
        Self::Ensemble(DEFAULT_ENSEMBLE.to_vec())
    }
}

impl ProfileChoice {
    /// Parses a key-method string: `"default"`, `"ensemble"`, a shipped profile name
    /// ([`ProfileKind::name`]),
    /// names joined by `+` (an ensemble), or the path of an existing profile JSON file.
    /// Anything else is an error that lists the valid names. Reads the file for a path, so
    /// call it off the audio thread.
    pub fn parse(spec: &str) -> Result<Self> {
        let trimmed = spec.trim();
        if let Some(inner) = strip_suffix_ignore_case(trimmed, OPENING_SUFFIX)
            && !inner.trim().is_empty()
            && let Ok(choice) = Self::parse(inner)
            && !choice.uses_opening()
        {
            return Ok(Self::WithOpening(Box::new(choice)));
        }
        if let Some(choice) = Self::parse_name(trimmed) {
            return Ok(choice);
        }
        let path = Path::new(trimmed);
        if !trimmed.is_empty() && path.is_file() {
            return KeyProfile::from_json_file(path).map(Self::Custom);
        }
        Err(Error::Unsupported(format!(
            "key method {spec:?} is neither a known name nor an existing profile file; \
             valid names: {}",
            valid_names().join(", ")
        )))
    }

    fn parse_name(name: &str) -> Option<Self> {
        if name.eq_ignore_ascii_case("default") {
            return Self::parse_name(DEFAULT_KEY_METHOD);
        }
        if name.eq_ignore_ascii_case(ENSEMBLE_OPENING_METHOD) {
            let ensemble = Self::Ensemble(DEFAULT_ENSEMBLE.to_vec());
            return Some(Self::WithOpening(Box::new(ensemble)));
        }
        if name.eq_ignore_ascii_case(ENSEMBLE_METHOD) {
            return Some(Self::Ensemble(DEFAULT_ENSEMBLE.to_vec()));
        }
        if name.contains('+') {
            let kinds = name
                .split('+')
                .map(ProfileKind::from_name)
                .collect::<Option<Vec<_>>>()?;
            return Some(Self::Ensemble(kinds));
        }
        ProfileKind::from_name(name).map(Self::Builtin)
    }

    /// Short text for display, e.g. `"Krumhansl–Kessler"` or `"custom: my_profile"`.
    pub fn label(&self) -> String {
        match self {
            Self::Builtin(kind) => kind.title().to_string(),
            Self::Custom(profile) => format!("custom: {}", profile.name),
            Self::Ensemble(kinds) => {
                let titles: Vec<&str> = kinds.iter().map(|k| k.title()).collect();
                format!("ensemble: {}", titles.join(" + "))
            }
            Self::WithOpening(inner) => format!("{} + opening chord", inner.label()),
        }
    }

    /// Key templates of this choice (the opening cue does not change them), with
    /// `num_harmonics` per profile note decaying by `harmonic_decay`. Not real-time safe.
    pub fn templates(&self, num_harmonics: usize, harmonic_decay: f32) -> Result<KeyTemplates> {
        let (h, decay) = (num_harmonics, harmonic_decay);
        match self {
            Self::Builtin(kind) => Ok(KeyTemplates::new(&KeyProfile::builtin(*kind)?, h, decay)),
            Self::Custom(profile) => Ok(KeyTemplates::new(profile, h, decay)),
            Self::Ensemble(kinds) => {
                let profiles = kinds
                    .iter()
                    .map(|&k| KeyProfile::builtin(k))
                    .collect::<Result<Vec<_>>>()?;
                KeyTemplates::ensemble(&profiles, h, decay).ok_or_else(|| {
                    Error::Unsupported("key estimator: an ensemble needs a profile".into())
                })
            }
            Self::WithOpening(inner) => inner.templates(h, decay),
        }
    }

    /// Whether the opening-chord tonic cue is on.
    pub fn uses_opening(&self) -> bool {
        matches!(self, Self::WithOpening(_))
    }
}

fn strip_suffix_ignore_case<'a>(text: &'a str, suffix: &str) -> Option<&'a str> {
    let cut = text.len().checked_sub(suffix.len())?;
    let tail = text.get(cut..)?;
    if !tail.eq_ignore_ascii_case(suffix) {
        return None;
    }
    text.get(..cut)
}

/// Every name [`ProfileChoice::parse`] accepts besides paths and `+` ensembles.
pub fn valid_names() -> Vec<&'static str> {
    let mut names = vec!["default", ENSEMBLE_OPENING_METHOD, ENSEMBLE_METHOD];
    names.extend(ProfileKind::ALL.iter().map(|k| k.name()));
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_names_and_default_parse() -> Result<()> {
        for kind in ProfileKind::ALL {
            assert_eq!(
                ProfileChoice::parse(kind.name())?,
                ProfileChoice::Builtin(kind)
            );
        }
        assert_eq!(ProfileChoice::parse(" default ")?, ProfileChoice::default());
        assert_eq!(
            ProfileChoice::parse(DEFAULT_KEY_METHOD)?,
            ProfileChoice::default()
        );
        assert_eq!(
            ProfileChoice::parse("ensemble")?,
            ProfileChoice::Ensemble(DEFAULT_ENSEMBLE.to_vec())
        );
        let with_opening = ProfileChoice::parse("Ensemble_Opening")?;
        assert_eq!(with_opening, ProfileChoice::WithOpening(Box::default()));
        assert!(with_opening.uses_opening());
        assert_eq!(ProfileChoice::parse("ensemble+opening")?, with_opening);
        assert!(!ProfileChoice::default().uses_opening());
        assert_eq!(
            ProfileChoice::parse("shaath+edma+opening")?,
            ProfileChoice::WithOpening(Box::new(ProfileChoice::Ensemble(vec![
                ProfileKind::Shaath,
                ProfileKind::Edma
            ])))
        );
        assert_eq!(
            ProfileChoice::parse("krumhansl_kessler+opening")?.label(),
            "Krumhansl–Kessler + opening chord"
        );
        assert_eq!(
            ProfileChoice::parse("shaath+edma")?,
            ProfileChoice::Ensemble(vec![ProfileKind::Shaath, ProfileKind::Edma])
        );
        assert_eq!(
            ProfileChoice::Builtin(ProfileKind::KrumhanslKessler).label(),
            "Krumhansl–Kessler"
        );
        Ok(())
    }

    #[test]
    fn a_bad_name_lists_the_valid_ones() {
        for spec in [
            "krumhansl",
            "",
            "shaath+nope",
            "/no/such/profile.json",
            "+opening",
            "ensemble_opening+opening",
        ] {
            let msg = ProfileChoice::parse(spec).err().map(|e| e.to_string());
            let msg = msg.unwrap_or_default();
            assert!(msg.contains("valid names"), "{spec:?}: {msg}");
            for kind in ProfileKind::ALL {
                assert!(msg.contains(kind.name()), "{spec:?}: {msg}");
            }
        }
    }

    #[test]
    fn a_json_path_gives_a_custom_profile() -> Result<()> {
        let dir = std::env::temp_dir().join(format!("muq-key-choice-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let good = dir.join("mine.json");
        let text = r#"{"name":"mine","major":[6,1,3,1,4,4,1,5,1,3,1,2],
            "minor":[6,1,3,5,1,3,1,5,4,1,3,2]}"#;
        std::fs::write(&good, text).map_err(|e| Error::io(&good, e))?;
        let bad = dir.join("bad.json");
        std::fs::write(&bad, "{\"name\":\"bad\"}").map_err(|e| Error::io(&bad, e))?;
        let choice = ProfileChoice::parse(&good.to_string_lossy());
        let bad_result = ProfileChoice::parse(&bad.to_string_lossy());
        let _ = std::fs::remove_dir_all(&dir);
        let choice = choice?;
        assert!(matches!(&choice, ProfileChoice::Custom(p) if p.name == "mine"));
        assert_eq!(choice.label(), "custom: mine");
        let msg = bad_result.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.contains("bad.json"), "{msg}");
        Ok(())
    }
}
