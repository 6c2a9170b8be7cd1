//! The panel's "Download model" end to end, through the plugin: two instances with no model
//! (an empty model folder) both ask for the download at once (the editor's
//! `Command::DownloadModel`), from a hub on the loopback address serving the tiny golden
//! MuQ-MuLan (`muq_live_tests::fake_hub`), slowed so the two requests overlap. The process
//! must fetch the checkpoint once; both snapshots show the shared progress; when it completes
//! both instances find the model without a restart and analyse; audio passes bit-exact and
//! allocation-free throughout (`process_looped_block`).
//!
//! One test in its own binary: the download is process-wide.

use anyhow::{Result, bail};
use muq_engine::analysis::{AnalysisPhase, AnalyzerOptions};
use muq_engine::bridge::{Command, EngineSnapshot};
use muq_engine::download::{DownloadPhase, DownloadRequest, DownloadTarget};
use muq_live::MuqLive;
use muq_live::editor::EditorLink;
use muq_live_tests::fake_hub::{FakeHub, Faults};
use muq_live_tests::golden_hub::golden_mulan_hub_files;
use muq_live_tests::test_signal;
use muq_live_tests::torture::{FakeProcessContext, activate, process_looped_block, set_param};
use nice_plug::prelude::Plugin;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const SAMPLE_RATE_HZ: f32 = 48_000.0;
const BLOCK_LEN: usize = 1024;

struct Instance {
    plugin: MuqLive,
    link: Arc<EditorLink>,
    context: FakeProcessContext,
    channels: Vec<Vec<f32>>,
    snapshot: EngineSnapshot,
    saw_progress: bool,
}

impl Instance {
    fn new(model_dir: &Path, text_cache: &Path) -> Result<Self> {
        let mut options = AnalyzerOptions::new();
        options.model.cache_dir = Some(text_cache.to_path_buf());
        let mut plugin = MuqLive::with_analyzer_options(options);
        *plugin.params_arc().model_dir.write() = Some(model_dir.to_path_buf());
        set_param(&plugin, "Window", 2.0)?;
        set_param(&plugin, "Hop", 0.5)?;
        if !activate(&mut plugin, 0, SAMPLE_RATE_HZ, BLOCK_LEN as u32) {
            bail!("activation failed");
        }
        Ok(Self {
            link: plugin.editor_link(),
            plugin,
            context: FakeProcessContext::new(SAMPLE_RATE_HZ),
            channels: vec![vec![0.0; BLOCK_LEN]; 2],
            snapshot: EngineSnapshot::default(),
            saw_progress: false,
        })
    }
}

/// Feeds both instances (about 4x real time) until `done` holds for both, or `timeout`.
fn run_until(
    instances: &mut [Instance],
    inputs: &[Vec<f32>],
    num_frames: &mut usize,
    what: &str,
    timeout: Duration,
    done: impl Fn(&EngineSnapshot) -> bool,
) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        for instance in instances.iter_mut() {
            for block_idx in 0..2 {
                process_looped_block(
                    &mut instance.plugin,
                    &mut instance.context,
                    inputs,
                    &mut instance.channels,
                    *num_frames + block_idx * BLOCK_LEN,
                    what,
                )?;
            }
            instance.link.copy_latest(&mut instance.snapshot);
            let download = &instance.snapshot.download;
            if download.phase == DownloadPhase::Downloading && download.bytes_done > 0 {
                instance.saw_progress = true;
            }
        }
        *num_frames += 2 * BLOCK_LEN;
        std::thread::sleep(Duration::from_millis(10));
        if instances.iter().all(|i| done(&i.snapshot)) {
            return Ok(());
        }
        if Instant::now() > deadline {
            let states: Vec<_> = instances
                .iter()
                .map(|i| {
                    (
                        &i.snapshot.readouts.phase,
                        &i.snapshot.readouts.message,
                        &i.snapshot.download,
                    )
                })
                .collect();
            bail!("{what}: timed out: {states:?}");
        }
    }
}

#[test]
fn two_instances_download_once_and_both_pick_the_model_up() -> Result<()> {
    let hub = FakeHub::start(golden_mulan_hub_files()?)?;
    hub.set_faults(Faults {
        lfs_bytes_per_s: Some(300_000),
        ..Faults::default()
    });
    let model_dir = tempfile::tempdir()?;
    let text_cache = tempfile::tempdir()?;
    let mut instances = vec![
        Instance::new(model_dir.path(), text_cache.path())?,
        Instance::new(model_dir.path(), text_cache.path())?,
    ];
    let inputs: Vec<Vec<f32>> = (0..2)
        .map(|c| test_signal(SAMPLE_RATE_HZ as usize, c, SAMPLE_RATE_HZ))
        .collect();
    let mut num_frames = 0;
    let long = Duration::from_secs(60);
    run_until(
        &mut instances,
        &inputs,
        &mut num_frames,
        "no model yet",
        long,
        |s| s.readouts.phase == AnalysisPhase::NoModel,
    )?;
    let request = DownloadRequest::new(
        hub.endpoint(),
        DownloadTarget::Folder(model_dir.path().to_path_buf()),
    );
    for instance in &instances {
        if instance
            .link
            .send(Command::DownloadModel(request.clone()))
            .is_err()
        {
            bail!("the worker refused the download command");
        }
    }
    let started = Instant::now();
    run_until(
        &mut instances,
        &inputs,
        &mut num_frames,
        "download and load",
        long,
        |s| {
            s.download.phase == DownloadPhase::Done
                && s.readouts.phase == AnalysisPhase::Analysing
                && s.readouts.num_windows_analysed >= 1
        },
    )?;
    println!(
        "downloaded {} and analysing in both instances after {:.1} s; {} GET(s) of the \
         checkpoint",
        instances[0].snapshot.download.bytes_total,
        started.elapsed().as_secs_f64(),
        hub.num_lfs_gets()
    );
    assert_eq!(hub.num_lfs_gets(), 1, "one download for the process");
    for instance in &instances {
        assert!(instance.saw_progress, "progress visible in every instance");
        assert_eq!(instance.snapshot.dropped_samples, 0);
        assert!(instance.snapshot.download.message.contains("model ready"));
    }
    for instance in &mut instances {
        instance.plugin.deactivate();
    }
    Ok(())
}
