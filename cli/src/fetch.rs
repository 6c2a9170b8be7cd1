//! `muq fetch`: downloads MuQ-MuLan-large and what it needs into the Hugging Face cache (or a
//! folder), with a progress bar; resumes an interrupted download; verifies every file against
//! the digest the hub publishes. `--check` verifies what is there without the network.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use muq_engine::download::{
    DownloadPhase, DownloadRequest, DownloadTarget, FileState, MODEL_FILES, Progress,
    approx_total_bytes, check_files, endpoint_from_env, run_download,
};
use muq_engine::models::mulan::hub::{HubFile, default_cache_dir, manual_instructions};

/// Arguments of `muq fetch`.
#[derive(Debug, clap::Args)]
pub struct FetchArgs {
    /// Hub cache folder (default `$HF_HUB_CACHE`, `$HF_HOME/hub` or `~/.cache/huggingface/hub`).
    #[arg(long, conflicts_with = "dir")]
    pub cache_dir: Option<PathBuf>,
    /// A plain model folder instead of the hub cache (pass it later as `--model DIR`, or as the
    /// plugin's model folder).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Hub address (default `$HF_ENDPOINT` or the public hub).
    #[arg(long)]
    pub endpoint: Option<String>,
    /// Check what is present and whether it is intact (reads every file); download nothing.
    #[arg(long)]
    pub check: bool,
}

/// Downloads what is missing with a progress bar, then prints the model folder.
pub fn run(args: FetchArgs) -> anyhow::Result<()> {
    let target = match (&args.dir, &args.cache_dir) {
        (Some(dir), _) => DownloadTarget::Folder(dir.clone()),
        (None, Some(root)) => DownloadTarget::HubCache(root.clone()),
        (None, None) => DownloadTarget::HubCache(default_cache_dir()),
    };
    if args.check {
        return check(&target);
    }
    let endpoint = args
        .endpoint
        .map(|e| e.trim_end_matches('/').to_string())
        .unwrap_or_else(endpoint_from_env);
    eprintln!(
        "MuQ-MuLan-large (about {:.1} GB) into {}.\nThe weights are licensed CC BY-NC 4.0: \
         non-commercial use only (https://huggingface.co/OpenMuQ/MuQ-MuLan-large).",
        approx_total_bytes() as f64 / 1e9,
        target.describe()
    );
    let request = DownloadRequest::new(endpoint.clone(), target.clone());
    let progress = Progress::new(target.describe());
    let cancel = AtomicBool::new(false);
    let outcome = std::thread::scope(|scope| {
        let running = scope.spawn(|| run_download(&request, &progress, &cancel));
        draw_progress(&progress, || running.is_finished());
        running.join()
    })
    .map_err(|_| anyhow::anyhow!("the download thread panicked"))?;
    match outcome {
        Ok(model_dir) => {
            println!("{}", model_dir.display());
            eprintln!(
                "MuQ-MuLan-large is ready: muq text --model {} \"calm piano\"",
                model_dir.display()
            );
            Ok(())
        }
        Err(error) => {
            let help = match &target {
                DownloadTarget::HubCache(root) => {
                    let files: Vec<HubFile> = MODEL_FILES.iter().map(|f| f.hub).collect();
                    manual_instructions(root, &endpoint, &files)
                }
                DownloadTarget::Folder(dir) => folder_instructions(dir, &endpoint),
            };
            anyhow::bail!("{error}\n{help}")
        }
    }
}

/// Redraws a progress bar from `progress` until `finished()`.
fn draw_progress(progress: &Progress, finished: impl Fn() -> bool) {
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg:40!} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta} left",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    while !finished() {
        let view = progress.view();
        bar.set_length(view.bytes_total);
        bar.set_position(view.bytes_done);
        bar.set_message(if view.phase == DownloadPhase::Checking {
            "asking the hub".to_string()
        } else {
            view.file
        });
        std::thread::sleep(Duration::from_millis(100));
    }
    bar.finish_and_clear();
}

fn folder_instructions(dir: &std::path::Path, endpoint: &str) -> String {
    let mut text = format!(
        "To place the files by hand, download each with a browser or `curl -L -o TARGET URL` \
         into {}:\n",
        dir.display()
    );
    for file in &MODEL_FILES {
        text += &format!(
            "  {endpoint}/{}/resolve/main/{}\n      -> {}\n",
            file.hub.repo,
            file.hub.file,
            dir.join(file.folder_path).display()
        );
    }
    text
}

fn check(target: &DownloadTarget) -> anyhow::Result<()> {
    let mut num_bad = 0;
    for check in check_files(target) {
        let name = format!("{}/{}", check.file.hub.repo, check.file.hub.file);
        let state = match &check.state {
            FileState::Valid => "valid".to_string(),
            FileState::Unverified => "present (no recorded digest: size not checked)".to_string(),
            FileState::Missing => {
                num_bad += 1;
                "missing".to_string()
            }
            FileState::Damaged(why) => {
                num_bad += 1;
                format!("DAMAGED: {why}")
            }
        };
        let path = check
            .path
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        println!("{state}\t{name}\t{path}");
    }
    anyhow::ensure!(
        num_bad == 0,
        "{num_bad} of {} files missing or damaged in {}: run `muq fetch` to download or repair \
         them",
        MODEL_FILES.len(),
        target.describe()
    );
    Ok(())
}
