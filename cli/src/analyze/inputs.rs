//! Which files `muq analyze` reads: files as given, folders walked recursively (sorted) for
//! audio extensions, each with the name the reports use.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// Extensions (lower case) taken from folders; files named explicitly are always tried.
pub const AUDIO_EXTENSIONS: [&str; 6] = ["wav", "wave", "flac", "mp3", "ogg", "oga"];

/// One input file.
#[derive(Debug, Clone, PartialEq)]
pub struct InputFile {
    /// Where to read it.
    pub path: PathBuf,
    /// Its name in the reports: relative to the folder given, or the path as given.
    pub name: String,
}

fn is_audio(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| AUDIO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) -> Result<()> {
    if depth > 32 {
        bail!("{}: folders nested more than 32 deep", dir.display());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading folder {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk(&path, out, depth + 1)?;
        } else if is_audio(&path) {
            out.push(path);
        }
    }
    Ok(())
}

/// Expands `paths` into input files. Errors for a path that does not exist.
pub fn collect(paths: &[PathBuf]) -> Result<Vec<InputFile>> {
    let mut files = Vec::new();
    for given in paths {
        if given.is_dir() {
            let mut found = Vec::new();
            walk(given, &mut found, 0)?;
            for path in found {
                let name = path
                    .strip_prefix(given)
                    .unwrap_or(&path)
                    .to_string_lossy()
                    .replace('\\', "/");
                files.push(InputFile { path, name });
            }
        } else if given.is_file() {
            files.push(InputFile {
                path: given.clone(),
                name: given.to_string_lossy().into_owned(),
            });
        } else {
            bail!("{}: no such file or folder", given.display());
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_give_relative_names_and_files_keep_theirs() -> Result<()> {
        let tmp = tempfile::tempdir()?;
        std::fs::create_dir_all(tmp.path().join("a/b"))?;
        for f in ["a/b/x.WAV", "a/y.flac", "a/notes.txt", "z.mp3"] {
            std::fs::write(tmp.path().join(f), b"")?;
        }
        let files = collect(&[tmp.path().join("a"), tmp.path().join("z.mp3")])?;
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names[..2], ["b/x.WAV", "y.flac"]);
        assert!(names[2].ends_with("z.mp3"));
        assert_eq!(files.len(), 3);
        assert!(collect(&[tmp.path().join("missing")]).is_err());
        Ok(())
    }
}
