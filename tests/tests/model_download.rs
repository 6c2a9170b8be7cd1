//! The model download against a hub on the loopback address (`muq_live_tests::fake_hub`)
//! serving the tiny golden MuQ-MuLan under the released names: a full download into the hub
//! cache and into a plain folder (both then located and verified), resume after a cut
//! connection (only the missing bytes are sent again), a flipped byte (refused, deleted), a 404,
//! a web page instead of the file, an unreachable hub, an unwritable target, and cancelling a
//! slow download. No internet needed.

use anyhow::{Result, bail};
use muq_engine::download::{
    DownloadError, DownloadPhase, DownloadRequest, DownloadTarget, FileState, Progress,
    check_files, run_download,
};
use muq_engine::models::mulan::MulanFiles;
use muq_live_tests::fake_hub::{FakeHub, Faults};
use muq_live_tests::golden_hub::golden_mulan_hub_files;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

fn hub() -> Result<FakeHub> {
    FakeHub::start(golden_mulan_hub_files()?)
}

fn bin_size() -> Result<u64> {
    let files = golden_mulan_hub_files()?;
    Ok(files
        .iter()
        .find(|(_, file, _)| *file == "pytorch_model.bin")
        .map_or(0, |(_, _, content)| content.len() as u64))
}

fn download(hub: &FakeHub, target: &DownloadTarget) -> Result<PathBuf, DownloadError> {
    let request = DownloadRequest::new(hub.endpoint(), target.clone());
    let progress = Progress::new(target.describe());
    run_download(&request, &progress, &AtomicBool::new(false))
}

/// Files under `dir` whose name ends in `.incomplete`.
fn partial_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.to_string_lossy().ends_with(".incomplete") {
                found.push(path);
            }
        }
    }
    found
}

fn assert_all_valid(target: &DownloadTarget) {
    for check in check_files(target) {
        assert_eq!(check.state, FileState::Valid, "{:?}", check);
    }
}

#[test]
fn full_download_into_the_hub_cache_is_found_and_verified() -> Result<()> {
    let hub = hub()?;
    let cache = tempfile::tempdir()?;
    let target = DownloadTarget::HubCache(cache.path().to_path_buf());
    let model_dir = download(&hub, &target)?;
    assert!(
        model_dir.starts_with(cache.path()),
        "{}",
        model_dir.display()
    );
    let files = MulanFiles::locate_with_caches(&model_dir, &[cache.path().to_path_buf()])?;
    assert!(files.weights.ends_with("pytorch_model.bin"));
    assert!(files.muq_config.is_some() && files.xlmr_config.is_some());
    assert_all_valid(&target);
    assert!(partial_files(cache.path()).is_empty());
    // A second run finds everything current and fetches no LFS object again.
    let num_gets = hub.num_lfs_gets();
    download(&hub, &target)?;
    assert_eq!(hub.num_lfs_gets(), num_gets);
    Ok(())
}

#[test]
fn full_download_into_a_folder_and_a_damaged_file_is_noticed() -> Result<()> {
    let hub = hub()?;
    let dir = tempfile::tempdir()?;
    let target = DownloadTarget::Folder(dir.path().to_path_buf());
    let model_dir = download(&hub, &target)?;
    assert_eq!(model_dir, dir.path());
    let files = MulanFiles::locate_with_caches(&model_dir, &[])?;
    assert_eq!(files.tokenizer, dir.path().join("tokenizer.json"));
    assert_all_valid(&target);
    // A byte changed on disk afterwards: `--check` says so.
    let bin = dir.path().join("pytorch_model.bin");
    let mut bytes = std::fs::read(&bin)?;
    bytes[5000] ^= 1;
    std::fs::write(&bin, bytes)?;
    let damaged: Vec<_> = check_files(&target)
        .into_iter()
        .filter(|c| matches!(c.state, FileState::Damaged(_)))
        .collect();
    assert_eq!(damaged.len(), 1, "{damaged:?}");
    assert_eq!(damaged[0].file.hub.file, "pytorch_model.bin");
    Ok(())
}

#[test]
fn a_cut_connection_resumes_where_it_stopped() -> Result<()> {
    let hub = hub()?;
    let cache = tempfile::tempdir()?;
    let target = DownloadTarget::HubCache(cache.path().to_path_buf());
    let cut_at = 200_000;
    hub.set_faults(Faults {
        cut_next_lfs_after_bytes: Some(cut_at),
        ..Faults::default()
    });
    let error = download(&hub, &target).expect_err("the cut must stop the download");
    assert!(
        matches!(error, DownloadError::Interrupted { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("resume"), "{error}");
    let partials = partial_files(cache.path());
    assert_eq!(partials.len(), 1, "{partials:?}");
    assert_eq!(std::fs::metadata(&partials[0])?.len(), cut_at);
    let snapshot = cache
        .path()
        .join("models--OpenMuQ--MuQ-MuLan-large/snapshots")
        .join(muq_live_tests::fake_hub::COMMIT);
    assert!(
        !snapshot.join("pytorch_model.bin").exists(),
        "nothing where a load would look"
    );
    download(&hub, &target)?;
    assert_eq!(
        hub.num_lfs_bytes_sent(),
        bin_size()?,
        "the resume must fetch only the missing bytes"
    );
    assert_eq!(hub.num_lfs_gets(), 2);
    assert_all_valid(&target);
    assert!(partial_files(cache.path()).is_empty());
    Ok(())
}

#[test]
fn a_flipped_byte_is_refused_and_nothing_is_left_to_load() -> Result<()> {
    let hub = hub()?;
    let dir = tempfile::tempdir()?;
    let target = DownloadTarget::Folder(dir.path().to_path_buf());
    hub.set_faults(Faults {
        flip_lfs_byte_at: Some(123_456),
        ..Faults::default()
    });
    let error = download(&hub, &target).expect_err("a damaged file must be refused");
    assert!(matches!(error, DownloadError::Damaged { .. }), "{error}");
    assert!(error.to_string().contains("damaged"), "{error}");
    assert!(!dir.path().join("pytorch_model.bin").exists());
    assert!(
        partial_files(dir.path()).is_empty(),
        "the damaged copy is deleted"
    );
    hub.set_faults(Faults::default());
    download(&hub, &target)?;
    assert_all_valid(&target);
    Ok(())
}

#[test]
fn a_missing_file_a_web_page_and_no_server_get_clear_errors() -> Result<()> {
    let hub = hub()?;
    let dir = tempfile::tempdir()?;
    let target = DownloadTarget::Folder(dir.path().to_path_buf());
    hub.set_faults(Faults {
        missing: vec!["OpenMuQ/MuQ-MuLan-large/pytorch_model.bin".into()],
        ..Faults::default()
    });
    let error = download(&hub, &target).expect_err("404");
    assert!(
        matches!(error, DownloadError::Status { status: 404, .. }),
        "{error}"
    );
    assert!(error.to_string().contains("not found"), "{error}");
    hub.set_faults(Faults {
        web_page: true,
        ..Faults::default()
    });
    let error = download(&hub, &target).expect_err("web page");
    assert!(error.to_string().contains("web page"), "{error}");
    assert!(!dir.path().join("config.json").exists());
    let started = Instant::now();
    let request = DownloadRequest::new("http://127.0.0.1:1", target.clone());
    let error = run_download(
        &request,
        &Progress::new(String::new()),
        &AtomicBool::new(false),
    )
    .expect_err("nothing listens on port 1");
    assert!(
        matches!(error, DownloadError::Unreachable { .. }),
        "{error}"
    );
    assert!(
        error.to_string().contains("copy the files in by hand"),
        "{error}"
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    Ok(())
}

#[test]
fn an_unwritable_target_is_reported_with_its_path() -> Result<()> {
    let hub = hub()?;
    let dir = tempfile::tempdir()?;
    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, b"not a folder")?;
    let target = DownloadTarget::Folder(blocker.join("model"));
    let error = download(&hub, &target).expect_err("cannot write below a file");
    assert!(matches!(error, DownloadError::Disk { .. }), "{error}");
    assert!(error.to_string().contains("a-file"), "{error}");
    Ok(())
}

#[test]
fn a_slow_download_cancels_within_a_second_and_keeps_its_bytes() -> Result<()> {
    let hub = hub()?;
    let cache = tempfile::tempdir()?;
    let target = DownloadTarget::HubCache(cache.path().to_path_buf());
    hub.set_faults(Faults {
        lfs_bytes_per_s: Some(100_000),
        ..Faults::default()
    });
    let request = DownloadRequest::new(hub.endpoint(), target);
    let progress = Progress::new(String::new());
    let cancel = AtomicBool::new(false);
    let outcome = std::thread::scope(|scope| {
        let running = scope.spawn(|| run_download(&request, &progress, &cancel));
        let deadline = Instant::now() + Duration::from_secs(20);
        while progress.view().bytes_done < 50_000 {
            if Instant::now() > deadline {
                bail!("no progress: {:?}", progress.view());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let view = progress.view();
        assert_eq!(view.phase, DownloadPhase::Downloading);
        assert!(view.bytes_total >= bin_size()?, "{view:?}");
        let cancelled_at = Instant::now();
        cancel.store(true, std::sync::atomic::Ordering::SeqCst);
        let outcome = running.join().map_err(|_| anyhow::anyhow!("panicked"))?;
        assert!(cancelled_at.elapsed() < Duration::from_secs(1));
        Ok(outcome)
    })?;
    assert!(
        matches!(outcome, Err(DownloadError::Cancelled)),
        "{outcome:?}"
    );
    let partials = partial_files(cache.path());
    assert_eq!(partials.len(), 1);
    assert!(std::fs::metadata(&partials[0])?.len() > 0);
    Ok(())
}

#[test]
fn muq_fetch_downloads_checks_and_repairs() -> Result<()> {
    use muq_cli::fetch::{FetchArgs, run};
    let hub = hub()?;
    let dir = tempfile::tempdir()?;
    let args = |check| FetchArgs {
        cache_dir: None,
        dir: Some(dir.path().to_path_buf()),
        endpoint: Some(hub.endpoint()),
        check,
    };
    let error = run(args(true)).expect_err("nothing there yet");
    assert!(
        error.to_string().contains("5 of 5 files missing"),
        "{error}"
    );
    run(args(false))?;
    run(args(true))?;
    let tokenizer = dir.path().join("tokenizer.json");
    let mut bytes = std::fs::read(&tokenizer)?;
    bytes[100] ^= 0x20;
    std::fs::write(&tokenizer, bytes)?;
    let error = run(args(true)).expect_err("a damaged tokenizer");
    assert!(
        error
            .to_string()
            .contains("1 of 5 files missing or damaged"),
        "{error}"
    );
    let num_gets = hub.num_lfs_gets();
    run(args(false))?;
    run(args(true))?;
    assert_eq!(
        hub.num_lfs_gets(),
        num_gets,
        "the intact checkpoint is not fetched again"
    );
    hub.set_faults(Faults {
        missing: vec!["xlm-roberta-base/config.json".into()],
        ..Faults::default()
    });
    let other = tempfile::tempdir()?;
    let error = run(FetchArgs {
        dir: Some(other.path().to_path_buf()),
        ..args(false)
    })
    .expect_err("404");
    let text = error.to_string();
    assert!(
        text.contains("404") && text.contains("curl -L -o"),
        "{text}"
    );
    Ok(())
}
