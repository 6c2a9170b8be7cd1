//! Trained probe heads run in the real plugin, no host and no window: two tiny heads (music vs.
//! noise, and a key head labelled with key names) are trained here on the tiny golden
//! MuQ-MuLan's inner MuQ, saved in a heads folder, and handed to `MuqLive` only through its
//! persisted state (`model-dir`, `heads-dir`, `key-method` = `probe:key`, restored with
//! `deserialize_fields` as a host restores a session). Synthesised music in A minor then goes
//! through `MuqLive::process()` (fake host contexts) and the editor link's snapshot must carry
//! both heads' readouts, the key head's key and `key_source` "probe head key". Without the
//! `key-method` entry the same heads run but the key stays built-in.
//!
//! Run: `cargo test -p muq-live-tests --test probe_heads_plugin -- --nocapture`.

#[path = "editor_screenshot/heads.rs"]
mod heads;

use anyhow::{Result, bail};
use heads::{KEY_LABELS, KEY_TASK, TIMBRE_LABELS, TIMBRE_TASK, key_named, train_heads};
use muq_engine::analysis::{AnalysisPhase, AnalyzerOptions, ProbeReadout};
use muq_engine::bridge::EngineSnapshot;
use muq_live::MuqLive;
use muq_live_tests::torture::{
    FakeProcessContext, activate, golden_case, process_block, set_param,
};
use muq_synth::{ClipSpec, Style, render_clip};
use nice_plug::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

const SAMPLE_RATE_HZ: f32 = 48_000.0;
const BLOCK_LEN: usize = 1024;
/// Audio is fed this many times faster than real time.
const SPEEDUP: f64 = 8.0;
/// Windows analysed before the readouts are checked (the key head's smoothing settles).
const NUM_WINDOWS: u64 = 4;

/// The persisted state a host would restore: JSON values under the plugin's persist keys.
fn saved_state(
    mulan: &Path,
    heads_dir: &Path,
    key_method: Option<&str>,
) -> BTreeMap<String, String> {
    let json = |value: &str| serde_json::Value::String(value.to_owned()).to_string();
    let mut state = BTreeMap::from([
        ("model-dir".to_owned(), json(&mulan.display().to_string())),
        (
            "heads-dir".to_owned(),
            json(&heads_dir.display().to_string()),
        ),
    ]);
    if let Some(method) = key_method {
        state.insert("key-method".to_owned(), json(method));
    }
    state
}

/// Restores `state` into a fresh plugin, activates it with 2 s windows every second and feeds
/// synthesised A-minor music, paced at [`SPEEDUP`], until [`NUM_WINDOWS`] windows carry every
/// probe readout; returns the snapshot.
fn run_plugin(state: &BTreeMap<String, String>, cache: &Path) -> Result<EngineSnapshot> {
    let mut options = AnalyzerOptions::new();
    options.model.cache_dir = Some(cache.to_path_buf());
    let mut plugin = MuqLive::with_analyzer_options(options);
    plugin.params_arc().deserialize_fields(state);
    set_param(&plugin, "Window", 2.0)?;
    set_param(&plugin, "Hop", 1.0)?;
    if !activate(&mut plugin, 0, SAMPLE_RATE_HZ, BLOCK_LEN as u32) {
        bail!("activation failed");
    }
    let spec = ClipSpec {
        duration_s: 8.0,
        ..ClipSpec::new(key_named("A minor")?, Style::Groove, 7)
    };
    let music = render_clip(&spec, SAMPLE_RATE_HZ as u32)?;
    let link = plugin.editor_link();
    let mut context = FakeProcessContext::new(SAMPLE_RATE_HZ);
    let mut channels = vec![vec![0.0; BLOCK_LEN]; 2];
    let mut snapshot = EngineSnapshot::default();
    let (started, deadline) = (Instant::now(), Instant::now() + Duration::from_secs(120));
    let mut num_frames = 0usize;
    loop {
        for _ in 0..8 {
            let offset = num_frames % (music.len() - BLOCK_LEN);
            for channel in &mut channels {
                channel.copy_from_slice(&music[offset..offset + BLOCK_LEN]);
            }
            let status = process_block(&mut plugin, &mut context, &mut channels, BLOCK_LEN, false);
            if !matches!(status, ProcessStatus::Normal) {
                bail!("process returned {status:?}");
            }
            num_frames += BLOCK_LEN;
        }
        let due_s = num_frames as f64 / f64::from(SAMPLE_RATE_HZ) / SPEEDUP;
        if let Some(wait) = Duration::from_secs_f64(due_s).checked_sub(started.elapsed()) {
            std::thread::sleep(wait);
        }
        link.copy_latest(&mut snapshot);
        let readouts = &snapshot.readouts;
        if readouts.phase == AnalysisPhase::Analysing
            && readouts.num_windows_analysed >= NUM_WINDOWS
            && readouts.probes.len() >= 2
        {
            plugin.deactivate();
            return Ok(snapshot);
        }
        if Instant::now() > deadline {
            bail!("timed out: {snapshot:?}");
        }
    }
}

/// The probe readout of `task`, checked against the head's labels.
fn probe<'a>(snapshot: &'a EngineSnapshot, task: &str, labels: &[&str]) -> &'a ProbeReadout {
    let readouts = &snapshot.readouts;
    let found = readouts.probes.iter().find(|p| p.task == task);
    let Some(probe) = found else {
        panic!(
            "no {task} head in {:?}; settings message {:?}",
            readouts.probes, readouts.settings_message
        );
    };
    assert!(!probe.multi_label, "{probe:?}");
    assert_eq!(probe.top.len(), labels.len(), "{probe:?}");
    for label in &probe.top {
        assert!(
            labels.contains(&label.label.as_str()),
            "{label:?} is not a label of {task}"
        );
        assert!((0.0..=1.0).contains(&label.score), "{probe:?}");
    }
    let sum: f32 = probe.top.iter().map(|l| l.score).sum();
    assert!(
        (sum - 1.0).abs() < 1e-3,
        "softmax scores sum to {sum}: {probe:?}"
    );
    probe
}

#[test]
fn persisted_heads_dir_and_key_method_make_the_plugin_run_probe_heads() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let mulan = golden_case(|config| config.get("mulan").is_some())?;
    let heads_dir = tmp.path().join("heads");
    let started = Instant::now();
    let trained = train_heads(&mulan, &heads_dir)?;
    let train_s = started.elapsed().as_secs_f64();
    for head in &trained {
        println!(
            "{}: {} windows, validation accuracy {:.2}",
            head.task, head.num_windows, head.val_accuracy
        );
    }
    println!("trained both heads in {train_s:.1} s");
    let cache = tempfile::tempdir()?;

    let key_method = format!("probe:{KEY_TASK}");
    let started = Instant::now();
    let snapshot = run_plugin(
        &saved_state(&mulan, &heads_dir, Some(&key_method)),
        cache.path(),
    )?;
    let readouts = &snapshot.readouts;
    println!(
        "with key-method {key_method}: {:.1} s; key source {:?}, key {:?} ({:.2}), probes {:?}",
        started.elapsed().as_secs_f64(),
        readouts.key_source,
        readouts.key.key.map(|k| k.to_string()),
        readouts.key.confidence,
        readouts.probes
    );
    assert!(
        readouts.settings_message.is_empty(),
        "{}",
        readouts.settings_message
    );
    assert_eq!(readouts.probes.len(), 2, "{:?}", readouts.probes);
    let timbre = probe(&snapshot, TIMBRE_TASK, &TIMBRE_LABELS);
    assert_eq!(
        timbre.top[0].label, TIMBRE_LABELS[0],
        "the music fed is not heard as music: {timbre:?}"
    );
    let key_probe = probe(&snapshot, KEY_TASK, &KEY_LABELS);
    assert_eq!(readouts.key_source, format!("probe head {KEY_TASK}"));
    let Some(key) = readouts.key.key else {
        panic!("no key from the probe head: {:?}", readouts.key);
    };
    assert!(
        KEY_LABELS
            .iter()
            .any(|name| key_named(name).ok() == Some(key)),
        "{key} is not one of the key head's labels"
    );
    assert!(
        key_probe
            .top
            .iter()
            .any(|l| key_named(&l.label).ok() == Some(key)),
        "the key shown ({key}) is not among the head's outputs {key_probe:?}"
    );

    // The same state without `key-method`: the heads run, the key stays built-in.
    let snapshot = run_plugin(&saved_state(&mulan, &heads_dir, None), cache.path())?;
    let readouts = &snapshot.readouts;
    println!("without key-method: key source {:?}", readouts.key_source);
    assert!(
        readouts.key_source.starts_with("built-in"),
        "{}",
        readouts.key_source
    );
    probe(&snapshot, KEY_TASK, &KEY_LABELS);
    probe(&snapshot, TIMBRE_TASK, &TIMBRE_LABELS);
    Ok(())
}
