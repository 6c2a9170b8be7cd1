//! The hub repositories MuQ-MuLan needs and how to place them by hand. Finding them in the
//! cache is `crate::load::hf_cache` (re-exported here); downloading is `muq_engine::download`
//! (the `muq-engine` crate).

use std::path::Path;

/// The released MuQ-MuLan repository.
pub const MULAN_REPO: &str = "OpenMuQ/MuQ-MuLan-large";
/// The MuQ repository whose `config.json` describes MuQ-MuLan's audio encoder.
pub const MUQ_REPO: &str = "OpenMuQ/MuQ-large-msd-iter";
/// The text encoder's repository (its tokenizer and config).
pub const XLMR_REPO: &str = "xlm-roberta-base";

/// One file of one repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HubFile {
    /// `owner/name` (or a legacy bare name like `xlm-roberta-base`).
    pub repo: &'static str,
    /// File name inside the repository.
    pub file: &'static str,
}

pub use crate::load::hf_cache::{cached_file, default_cache_dir, repo_folder, snapshot_dir};

/// Step-by-step instructions to place `missing` by hand into the cache at `root`.
pub fn manual_instructions(root: &Path, endpoint: &str, missing: &[HubFile]) -> String {
    let mut s = format!(
        "Download these files with a browser or `curl -L -o TARGET URL` on a machine with internet \
         access and copy them here (hub cache: {}):\n",
        root.display()
    );
    for f in missing {
        let target = repo_folder(root, f.repo)
            .join("snapshots")
            .join("main")
            .join(f.file);
        s += &format!(
            "  {endpoint}/{}/resolve/main/{}\n      -> {}\n",
            f.repo,
            f.file,
            target.display()
        );
    }
    let mut repos: Vec<&str> = missing.iter().map(|f| f.repo).collect();
    repos.dedup();
    for r in repos {
        s += &format!(
            "  and write the word `main` into {}\n",
            repo_folder(root, r).join("refs").join("main").display()
        );
    }
    s += "Alternatively put MuQ-MuLan-large's config.json and pytorch_model.bin plus xlm-roberta-base's \
          tokenizer.json into one folder and pass it as --model DIR.";
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(root: &Path, repo: &str, rev: &str, file: &str, write_ref: bool) {
        let folder = repo_folder(root, repo);
        std::fs::create_dir_all(folder.join("snapshots").join(rev)).unwrap();
        std::fs::write(folder.join("snapshots").join(rev).join(file), b"{}").unwrap();
        if write_ref {
            std::fs::create_dir_all(folder.join("refs")).unwrap();
            std::fs::write(folder.join("refs").join("main"), rev).unwrap();
        }
    }

    #[test]
    fn discovers_files_in_a_fake_cache() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        assert!(cached_file(root, MULAN_REPO, "config.json").is_none());
        put(root, MULAN_REPO, "abc123", "config.json", true);
        put(root, MULAN_REPO, "abc123", "pytorch_model.bin", true);
        put(root, MUQ_REPO, "deadbeef", "config.json", false); // no refs/main: newest snapshot
        put(
            root,
            "FacebookAI/xlm-roberta-base",
            "r1",
            "tokenizer.json",
            true,
        );
        assert!(cached_file(root, XLMR_REPO, "config.json").is_none());
        assert!(cached_file(root, XLMR_REPO, "tokenizer.json").is_some());
        let p = cached_file(root, MULAN_REPO, "pytorch_model.bin").unwrap();
        assert!(p.ends_with("models--OpenMuQ--MuQ-MuLan-large/snapshots/abc123/pytorch_model.bin"));
        assert!(cached_file(root, MUQ_REPO, "config.json").is_some());
    }
}
