//! The settings that change a loaded [`Session`]'s heads without reloading the model: the
//! vocabulary folder of the zero-shot heads, the probe heads folder and the probe key head.
//! Each keeps the heads in use when the new setting cannot be applied, and says why in
//! [`Session::settings_messages`].

use std::path::{Path, PathBuf};

use super::super::model::WindowModel;
use super::super::probe_key::{PROBE_KEY_PREFIX, ProbeKeyTracker};
use super::super::text_cache::TextLatentCache;
use super::Session;
use crate::heads::zero_shot::{HeadKind, Vocabulary, ZeroShotHead};
use crate::{Error, Result};

/// Checks that `dir` is a folder holding `instruments.txt` and/or `genres.txt`.
pub fn check_labels_dir(dir: &Path) -> Result<()> {
    if !dir.is_dir() {
        return Err(Error::Other("not a folder".into()));
    }
    let has_any = [HeadKind::Instruments, HeadKind::Genres]
        .iter()
        .any(|kind| dir.join(format!("{}.txt", kind.name())).is_file());
    if !has_any {
        return Err(Error::Other(
            "holds neither instruments.txt nor genres.txt".into(),
        ));
    }
    Ok(())
}

/// The instrument and genre heads for the vocabularies in `labels_dir` (`None`: built-in),
/// their text latents from `cache` or `model`.
pub fn build_zero_shot(
    model: &mut dyn WindowModel,
    cache: &mut TextLatentCache,
    labels_dir: Option<&Path>,
    progress: &mut dyn FnMut(f32, &str),
) -> Result<(ZeroShotHead, ZeroShotHead)> {
    if let Some(dir) = labels_dir {
        check_labels_dir(dir)?;
    }
    let instruments_vocab = Vocabulary::load(HeadKind::Instruments, labels_dir)?;
    let genres_vocab = Vocabulary::load(HeadKind::Genres, labels_dir)?;
    let total = (instruments_vocab.labels.len() + genres_vocab.labels.len()).max(1);
    let mut build = |kind: HeadKind, vocab: &Vocabulary, offset: usize| {
        ZeroShotHead::build(
            kind,
            vocab,
            |text| Ok(cache.get(model, text)?.latent),
            |done, _| {
                progress(
                    (offset + done) as f32 / total as f32,
                    "encoding label texts",
                )
            },
        )
    };
    let instruments = build(HeadKind::Instruments, &instruments_vocab, 0)?;
    let genres = build(
        HeadKind::Genres,
        &genres_vocab,
        instruments_vocab.labels.len(),
    )?;
    Ok((instruments, genres))
}

impl Session {
    /// Rebuilds the zero-shot heads from the vocabularies in `dir` (`None`: built-in), with
    /// cached text latents. On failure the heads in use are kept and the reason goes to
    /// [`Self::settings_messages`]; returns whether the new vocabularies are in use.
    pub fn set_labels_dir(&mut self, dir: Option<&Path>) -> bool {
        let built = build_zero_shot(self.model.as_mut(), &mut self.cache, dir, &mut |_, _| {});
        self.cache.save_noting();
        match built {
            Ok((instruments, genres)) => {
                self.instruments = instruments;
                self.genres = genres;
                self.labels_dir = dir.map(Path::to_path_buf);
                self.labels_message = None;
                true
            }
            Err(e) => {
                let name = dir.map_or_else(|| "built-in".into(), |d| d.display().to_string());
                self.labels_message = Some(format!(
                    "vocabulary folder {name}: {e}; keeping the previous labels"
                ));
                false
            }
        }
    }

    /// The vocabulary folder in use (`None`: built-in).
    pub fn labels_dir(&self) -> Option<&Path> {
        self.labels_dir.as_deref()
    }

    /// Loads the probe heads from `<model dir>/heads/` and `dir` again (refused heads go to
    /// [`Self::settings_messages`]).
    pub fn set_heads_dir(&mut self, dir: Option<PathBuf>) {
        self.heads_dir = dir;
        self.reload_heads();
    }

    /// Selects the probe head with task `task` as the key source (`None`: the built-in key).
    /// Returns whether it is active; when the head is missing or its labels are not key names,
    /// the reason goes to [`Self::settings_messages`] and the built-in key stays.
    pub fn set_key_head(&mut self, task: Option<&str>) -> bool {
        self.key_head = task.map(str::to_owned);
        self.key_tracker = None;
        self.key_message = None;
        let Some(task) = task else { return false };
        match self.probes.find(task) {
            None => {
                let loaded: Vec<&str> = self
                    .probes
                    .heads()
                    .iter()
                    .map(|p| p.head.meta.task.as_str())
                    .collect();
                self.key_message = Some(format!(
                    "key method {PROBE_KEY_PREFIX}{task}: no loaded probe head has that task \
                     (loaded: {}); using the built-in key",
                    if loaded.is_empty() {
                        "none".to_string()
                    } else {
                        loaded.join(", ")
                    }
                ));
                false
            }
            Some(head) => match ProbeKeyTracker::new(head) {
                Ok(tracker) => {
                    self.key_tracker = Some(tracker);
                    true
                }
                Err(msg) => {
                    self.key_message = Some(msg);
                    false
                }
            },
        }
    }

    /// Task of the probe head giving the key, when one is active.
    pub fn active_key_head(&self) -> Option<&str> {
        self.key_tracker.as_ref().map(ProbeKeyTracker::task)
    }

    /// Problems with the heads folder, the vocabulary folder or the key head, one per line.
    pub fn settings_messages(&self) -> Vec<String> {
        let mut out = self.head_messages.clone();
        out.extend(self.labels_message.iter().cloned());
        out.extend(self.key_message.iter().cloned());
        out.extend(self.cache.save_error().map(str::to_owned));
        out
    }
}
