//! Which key profile the estimator correlates with, and its string form for the editor
//! (`Command::SetKeyMethod`): a shipped profile name, `a+b` for an ensemble of shipped
//! profiles, `"ensemble"` (the default ensemble), `"default"`, or a path to a profile JSON file.

use std::path::Path;

use super::profiles::{KeyProfile, ProfileKind};
use crate::{Error, Result};

/// Name of the default key method (what `"default"` and `None` select): [`DEFAULT_ENSEMBLE`].
pub const DEFAULT_KEY_METHOD: &str = ENSEMBLE_METHOD;

/// Name of the method that averages the templates of [`DEFAULT_ENSEMBLE`].
pub const ENSEMBLE_METHOD: &str = "ensemble";

/// Profiles of the default ensemble: the best-scoring profiles on the dev corpus (see
/// `tools/essentia_key_compare.md`), one data-driven EDM set and two classic ones.
pub const DEFAULT_ENSEMBLE: [ProfileKind; 3] = [
    ProfileKind::Bgate,
    ProfileKind::Shaath,
    ProfileKind::KrumhanslKessler,
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
        }
    }
}

/// Every name [`ProfileChoice::parse`] accepts besides paths and `+` ensembles.
pub fn valid_names() -> Vec<&'static str> {
    let mut names = vec!["default", ENSEMBLE_METHOD];
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
        for spec in ["krumhansl", "", "shaath+nope", "/no/such/profile.json"] {
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
