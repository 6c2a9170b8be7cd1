//! A private copy of a model folder per test, so that the process-wide model registry counts
//! (loads, users) of one test are its own even when tests run in parallel.

use std::path::{Path, PathBuf};

/// Copies `from` into `to` recursively.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read model folder") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// `<tmp>/mulan`, a copy of the MuQ-MuLan folder `model`, and its weights file.
pub fn private_copy(model: &Path, tmp: &Path) -> (PathBuf, PathBuf) {
    let dir = tmp.join("mulan");
    copy_dir(model, &dir);
    let weights = dir.join("model.safetensors");
    (dir, weights)
}
