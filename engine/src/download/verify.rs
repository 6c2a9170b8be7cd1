//! Hashing content as the hub publishes it, and checking files already on disk.

use super::http::Digest;
use super::target::DownloadTarget;
use super::{MODEL_FILES, ModelFile};
use ring::digest::{Context, SHA1_FOR_LEGACY_USE_ONLY, SHA256};
use std::io::Read;
use std::path::PathBuf;

/// Hashes a file's content the way its [`Digest`] is defined.
pub struct ContentHasher {
    context: Context,
}

impl ContentHasher {
    /// A hasher for content of `num_bytes` bytes checked against `digest`.
    pub fn new(digest: &Digest, num_bytes: u64) -> Self {
        match digest {
            Digest::Sha256(_) => Self {
                context: Context::new(&SHA256),
            },
            Digest::GitSha1(_) => {
                let mut context = Context::new(&SHA1_FOR_LEGACY_USE_ONLY);
                context.update(format!("blob {num_bytes}\0").as_bytes());
                Self { context }
            }
        }
    }

    pub fn update(&mut self, bytes: &[u8]) {
        self.context.update(bytes);
    }

    /// The digest as lowercase hex.
    pub fn finish(self) -> String {
        self.context
            .finish()
            .as_ref()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }
}

/// Hashes `reader` to its end into `hasher`; returns the bytes read.
pub fn hash_reader(hasher: &mut ContentHasher, reader: &mut impl Read) -> std::io::Result<u64> {
    let mut buffer = vec![0u8; 1 << 16];
    let mut num_bytes = 0u64;
    loop {
        let num_read = reader.read(&mut buffer)?;
        if num_read == 0 {
            return Ok(num_bytes);
        }
        hasher.update(&buffer[..num_read]);
        num_bytes += num_read as u64;
    }
}

/// The state of one model file on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileState {
    Missing,
    /// Present and equal to the digest it was downloaded with.
    Valid,
    /// Present, but no digest is known for it (copied in by hand): size only.
    Unverified,
    /// Present and different from its digest.
    Damaged(String),
}

/// One line of `muq fetch --check`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileCheck {
    pub file: ModelFile,
    pub path: Option<PathBuf>,
    pub state: FileState,
}

/// Checks every model file at `target`: present, and equal to its recorded digest (the blob's
/// name in the hub cache; the manifest the download wrote in a plain folder). Reads every file
/// once (about 10 s for the 2.6 GB checkpoint).
pub fn check_files(target: &DownloadTarget) -> Vec<FileCheck> {
    MODEL_FILES
        .iter()
        .map(|&file| {
            let Some((path, digest)) = target.existing(&file) else {
                return FileCheck {
                    file,
                    path: None,
                    state: FileState::Missing,
                };
            };
            let state = match digest {
                None => FileState::Unverified,
                Some(digest) => match file_digest(&path, &digest) {
                    Ok(actual) if actual == digest.hex() => FileState::Valid,
                    Ok(actual) => FileState::Damaged(format!(
                        "content hashes to {actual}, expected {}",
                        digest.hex()
                    )),
                    Err(error) => FileState::Damaged(format!("cannot read it: {error}")),
                },
            };
            FileCheck {
                file,
                path: Some(path),
                state,
            }
        })
        .collect()
}

/// Hashes the file at `path` the way `digest` is defined.
pub fn file_digest(path: &std::path::Path, digest: &Digest) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let num_bytes = file.metadata()?.len();
    let mut hasher = ContentHasher::new(digest, num_bytes);
    hash_reader(&mut hasher, &mut file)?;
    Ok(hasher.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_match_known_values() {
        // `printf 'hello\n' | sha256sum` and `printf 'hello\n' | git hash-object --stdin`.
        let sha256 = Digest::Sha256(String::new());
        let mut hasher = ContentHasher::new(&sha256, 6);
        hasher.update(b"hello\n");
        assert_eq!(
            hasher.finish(),
            "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
        );
        let git = Digest::GitSha1(String::new());
        let mut hasher = ContentHasher::new(&git, 6);
        hasher.update(b"hello\n");
        assert_eq!(hasher.finish(), "ce013625030ba8dba906f756967f9e9ca394464a");
    }
}
