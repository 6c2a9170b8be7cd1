//! `muq fetch`: downloads MuQ-MuLan-large and what it needs into the Hugging Face cache.

use std::path::PathBuf;

use crate::models::mulan::hub::{
    DEFAULT_ENDPOINT, FETCH_FILES, default_cache_dir, fetch_missing, missing_files,
};

/// Arguments of `muq fetch`.
#[derive(Debug, clap::Args)]
pub struct FetchArgs {
    /// Hub cache folder (default `$HF_HUB_CACHE`, `$HF_HOME/hub` or `~/.cache/huggingface/hub`).
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
    /// Hub address (default `$HF_ENDPOINT` or the public hub).
    #[arg(long)]
    pub endpoint: Option<String>,
    /// Only report what is present and what is missing; download nothing.
    #[arg(long)]
    pub check: bool,
}

/// Downloads the missing files with a progress bar, then prints the model folder to pass as
/// `--model`. Offline it fails at once and says which files to put where.
pub fn run(args: FetchArgs) -> anyhow::Result<()> {
    let root = args.cache_dir.unwrap_or_else(default_cache_dir);
    let endpoint = args
        .endpoint
        .or_else(|| std::env::var("HF_ENDPOINT").ok().filter(|e| !e.is_empty()))
        .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string());
    let missing = missing_files(&root);
    if args.check {
        for f in FETCH_FILES {
            let state = if missing.contains(&f) {
                "missing"
            } else {
                "present"
            };
            println!("{state}\t{}/{}", f.repo, f.file);
        }
        anyhow::ensure!(
            missing.is_empty(),
            "{} of {} files missing in {}",
            missing.len(),
            FETCH_FILES.len(),
            root.display()
        );
        return Ok(());
    }
    if !missing.is_empty() {
        eprintln!(
            "downloading {} file(s) into {} (pytorch_model.bin is about 2.5 GB)",
            missing.len(),
            root.display()
        );
    }
    let paths = fetch_missing(&root, &endpoint, true)?;
    for p in &paths {
        println!("{}", p.display());
    }
    if let Some(dir) = paths.first().and_then(|p| p.parent()) {
        eprintln!(
            "MuQ-MuLan-large is ready: muq text --model {} \"calm piano\"",
            dir.display()
        );
    }
    Ok(())
}
