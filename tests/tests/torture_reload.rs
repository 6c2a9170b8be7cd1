//! Model reload while audio runs: `Command::SetModelDir` switches between the tiny golden
//! MuQ-MuLan folder and an empty folder, again and again, while blocks go through
//! `MuqLive::process()` (fake host, allocation-checked). After every switch to the model the
//! readouts must come back (new windows analysed, phase Analysing); after every switch to the
//! empty folder the panel must say "no model"; the passthrough stays bit-exact and no sample is
//! dropped.

use anyhow::{Result, bail};
use muq_engine::analysis::{AnalysisPhase, AnalyzerOptions};
use muq_engine::bridge::{Command, EngineSnapshot};
use muq_live::MuqLive;
use muq_live::editor::EditorLink;
use muq_live_tests::test_signal;
use muq_live_tests::torture::{
    FakeProcessContext, activate, golden_case, process_looped_block, set_param,
};
use nice_plug::prelude::*;
use std::time::{Duration, Instant};

const SAMPLE_RATE_HZ: f32 = 48_000.0;
const BLOCK_LEN: usize = 1024;
const NUM_SWITCHES: usize = 8;
/// Audio is fed this many times faster than real time.
const SPEEDUP: f64 = 20.0;

/// Drives the plugin, paced at SPEEDUP x real time, until `done(snapshot)` or `timeout`.
struct Driver {
    plugin: MuqLive,
    link: std::sync::Arc<EditorLink>,
    context: FakeProcessContext,
    inputs: Vec<Vec<f32>>,
    channels: Vec<Vec<f32>>,
    num_frames: usize,
    started: Instant,
    snapshot: EngineSnapshot,
}

impl Driver {
    fn run_until(
        &mut self,
        what: &str,
        timeout: Duration,
        done: impl Fn(&EngineSnapshot) -> bool,
    ) -> Result<f64> {
        let from_s = self.num_frames as f64 / f64::from(SAMPLE_RATE_HZ);
        let deadline = Instant::now() + timeout;
        loop {
            for _ in 0..8 {
                process_looped_block(
                    &mut self.plugin,
                    &mut self.context,
                    &self.inputs,
                    &mut self.channels,
                    self.num_frames,
                    what,
                )?;
                self.num_frames += BLOCK_LEN;
            }
            let due_s = self.num_frames as f64 / f64::from(SAMPLE_RATE_HZ) / SPEEDUP;
            if let Some(wait) = Duration::from_secs_f64(due_s).checked_sub(self.started.elapsed()) {
                std::thread::sleep(wait);
            }
            self.link.copy_latest(&mut self.snapshot);
            assert_eq!(
                self.snapshot.dropped_samples, 0,
                "{what}: {:?}",
                self.snapshot
            );
            if done(&self.snapshot) {
                return Ok(self.num_frames as f64 / f64::from(SAMPLE_RATE_HZ) - from_s);
            }
            if Instant::now() > deadline {
                bail!("{what}: timed out: {:?}", self.snapshot);
            }
        }
    }

    fn send(&self, command: Command) -> Result<()> {
        self.link
            .send(command)
            .map_err(|c| anyhow::anyhow!("the worker refused {c:?}"))
    }
}

#[test]
fn switching_the_model_folder_while_audio_runs_recovers_every_time() -> Result<()> {
    let started = Instant::now();
    let cache = tempfile::tempdir()?;
    let empty = tempfile::tempdir()?;
    let mulan = golden_case(|c| c.get("mulan").is_some())?;
    let mut options = AnalyzerOptions::new();
    options.model.cache_dir = Some(cache.path().to_path_buf());
    options.queries = vec!["calm ambient pads".into()];
    let mut plugin = MuqLive::with_analyzer_options(options);
    *plugin.params_arc().model_dir.write() = Some(mulan.clone());
    set_param(&plugin, "Window", 2.0)?;
    set_param(&plugin, "Hop", 0.5)?;
    if !activate(&mut plugin, 0, SAMPLE_RATE_HZ, BLOCK_LEN as u32) {
        bail!("activation failed");
    }
    let mut driver = Driver {
        link: plugin.editor_link(),
        plugin,
        context: FakeProcessContext::new(SAMPLE_RATE_HZ),
        inputs: (0..2)
            .map(|c| test_signal(SAMPLE_RATE_HZ as usize, c, SAMPLE_RATE_HZ))
            .collect(),
        channels: vec![vec![0.0; BLOCK_LEN]; 2],
        num_frames: 0,
        started: Instant::now(),
        snapshot: EngineSnapshot::default(),
    };
    let long = Duration::from_secs(30);
    let first_s = driver.run_until("first load", long, |s| {
        s.readouts.phase == AnalysisPhase::Analysing && s.readouts.num_windows_analysed >= 2
    })?;
    let (mut to_model_s, mut to_empty_s) = (Vec::new(), Vec::new());
    for switch_idx in 0..NUM_SWITCHES {
        driver.send(Command::SetModelDir(Some(empty.path().to_path_buf())))?;
        to_empty_s.push(driver.run_until("switch to an empty folder", long, |s| {
            s.readouts.phase == AnalysisPhase::NoModel
        })?);
        assert!(
            !driver.snapshot.readouts.message.is_empty(),
            "no reason given: {:?}",
            driver.snapshot.readouts
        );
        driver.send(Command::SetModelDir(Some(mulan.clone())))?;
        let analysed_before = driver.snapshot.readouts.num_windows_analysed;
        let end_before_s = driver.snapshot.readouts.window_end_s;
        to_model_s.push(driver.run_until("switch back to the model", long, |s| {
            s.readouts.phase == AnalysisPhase::Analysing
                && s.readouts.window_end_s > end_before_s
                && s.readouts.num_windows_analysed != analysed_before
                && s.readouts.instruments.iter().all(|l| l.score.is_finite())
        })?);
        if switch_idx == 0 {
            println!("after a reload: {:?}", driver.snapshot.analyzer_status);
        }
    }
    let s = driver.snapshot.clone();
    let total_s = driver.num_frames as f64 / f64::from(SAMPLE_RATE_HZ);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    println!(
        "model reload: {NUM_SWITCHES} x (golden MuQ-MuLan -> empty folder -> golden) over \
         {total_s:.1} s of audio at {SPEEDUP}x real time: first readout after {first_s:.1} s of \
         audio, 'no model' after {:.2} s (mean), readouts back after {:.2} s of audio (mean, max \
         {:.2}); dropped {}, passthrough bit-exact, 0 allocations; last: {} windows analysed, \
         {:?}; {:.1} s",
        mean(&to_empty_s),
        mean(&to_model_s),
        to_model_s.iter().copied().fold(0.0, f64::max),
        s.dropped_samples,
        s.readouts.num_windows_analysed,
        s.readouts.phase,
        started.elapsed().as_secs_f64()
    );
    assert_eq!(s.dropped_samples, 0);
    assert!(driver.plugin.is_worker_running());
    assert!(
        !s.analyzer_status.contains("panicked"),
        "{}",
        s.analyzer_status
    );
    driver.plugin.deactivate();
    Ok(())
}
