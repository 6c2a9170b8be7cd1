//! Two tiny probe heads trained by the tests themselves (engine API, the inner MuQ of the tiny
//! golden MuQ-MuLan, audio rendered here) and saved in a heads folder the plugin loads:
//! - [`TIMBRE_TASK`]: synthesised music vs. bursts of white noise;
//! - [`KEY_TASK`]: the key of synthesised clips, labelled with key names, so that the key
//!   method `probe:key` can replace the built-in key readout.
//!
//! Shared by `editor_screenshot.rs` (the `state_probes.png` screenshot) and
//! `probe_heads_plugin.rs` (the host-less plugin test).

use anyhow::{Context, Result};
use candle_core::Device;
use muq_cli::probe::train::{Dataset, TrainOptions, TrainReport, train_head};
use muq_engine::heads::key::Key;
use muq_engine::heads::probe::{FeatureExtractor, ModelIdentity};
use muq_engine::heads::probe::{HeadKind, Pooling, TaskKind};
use muq_engine::models::mulan::{MulanFiles, MuqMulan};
use muq_synth::{ClipSpec, Style, render_clip};
use std::path::Path;

/// MuQ's sample rate: the heads are trained on 24 kHz audio.
const SAMPLE_RATE_HZ: u32 = 24_000;
/// Samples per training window (the plugin analyses 2 s windows in these tests).
const WINDOW_LEN: usize = 2 * SAMPLE_RATE_HZ as usize;

/// Task of the music-vs-noise head.
pub const TIMBRE_TASK: &str = "timbre";
/// Labels of the music-vs-noise head.
pub const TIMBRE_LABELS: [&str; 2] = ["music", "noise"];
/// Task of the key head (the key method `probe:key`).
pub const KEY_TASK: &str = "key";
/// Labels of the key head: far apart on the circle of fifths, both modes, and the key of the
/// music the tests feed (A minor).
pub const KEY_LABELS: [&str; 4] = ["A minor", "C major", "F# major", "Eb minor"];

/// What training reported, for the test's printout.
pub struct TrainedHead {
    /// The head's task.
    pub task: &'static str,
    /// Training windows.
    pub num_windows: usize,
    /// Validation accuracy of the kept weights.
    pub val_accuracy: f64,
}

/// Labelled windows of one task.
struct Examples {
    features: Vec<Vec<f32>>,
    targets: Vec<Vec<usize>>,
    keys: Vec<String>,
}

impl Examples {
    fn new() -> Self {
        Self {
            features: Vec::new(),
            targets: Vec::new(),
            keys: Vec::new(),
        }
    }

    /// Adds every whole 2 s window of `samples` (24 kHz) with label `label_idx`, keyed by `clip`.
    fn add_clip(
        &mut self,
        extractor: &FeatureExtractor,
        samples: &[f32],
        label_idx: usize,
        clip: &str,
    ) -> Result<()> {
        for window in samples.chunks_exact(WINDOW_LEN) {
            self.features.push(extractor.features_of_samples(window)?);
            self.targets.push(vec![label_idx]);
            self.keys.push(clip.to_owned());
        }
        Ok(())
    }

    fn train(
        &self,
        identity: &ModelIdentity,
        task: &'static str,
        labels: &[&str],
        layer: usize,
        out: &Path,
    ) -> Result<TrainedHead> {
        let labels: Vec<String> = labels.iter().map(|l| (*l).to_owned()).collect();
        let data = Dataset {
            features: &self.features,
            targets: &self.targets,
            keys: &self.keys,
            labels: &labels,
            task_kind: TaskKind::MultiClass,
        };
        let mut opts = TrainOptions::new(task, layer);
        opts.pooling = Pooling::Meanmax;
        opts.head = HeadKind::Linear;
        opts.num_epochs = 200;
        let report: TrainReport = train_head(&data, identity.clone(), &opts, |_| {})
            .with_context(|| format!("training the {task} head"))?;
        report.head.save(out)?;
        Ok(TrainedHead {
            task,
            num_windows: self.features.len(),
            val_accuracy: report.val_accuracy,
        })
    }
}

/// `num` samples of white-noise bursts (80–300 ms) separated by silence, seeded.
fn noise_bursts(num: usize, seed: u64) -> Vec<f32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1u64 << 24) as f32
    };
    let mut out = vec![0f32; num];
    let amp = 0.2 + 0.3 * next();
    let mut pos = (next() * 4_800.0) as usize;
    while pos < num {
        let len = (SAMPLE_RATE_HZ as f32 * (0.08 + 0.22 * next())) as usize;
        for sample in out.iter_mut().skip(pos).take(len) {
            *sample = amp * (2.0 * next() - 1.0);
        }
        pos += len + (SAMPLE_RATE_HZ as f32 * (0.05 + 0.2 * next())) as usize;
    }
    out
}

/// The key called `name`.
pub fn key_named(name: &str) -> Result<Key> {
    Key::parse(name).with_context(|| format!("{name:?} is not a key name"))
}

/// A synthesised clip in `key` (24 kHz), style and tempo varied by `idx`.
fn keyed_clip(key: Key, idx: usize, duration_s: f32, seed: u64) -> Result<Vec<f32>> {
    let spec = ClipSpec {
        duration_s,
        tempo_bpm: 90.0 + 10.0 * (idx % 5) as f32,
        ..ClipSpec::new(key, Style::ALL[idx % Style::ALL.len()], seed)
    };
    Ok(render_clip(&spec, SAMPLE_RATE_HZ)?)
}

/// Trains the timbre and key heads on the inner MuQ of the MuQ-MuLan folder `mulan` and saves
/// them as `heads_dir/timbre/` and `heads_dir/key/`.
pub fn train_heads(mulan: &Path, heads_dir: &Path) -> Result<Vec<TrainedHead>> {
    let device = Device::Cpu;
    let files = MulanFiles::locate(mulan)?;
    let muq = MuqMulan::load_inner_muq(&files, &device)?;
    let identity = ModelIdentity::of_dir(mulan, &muq)?;
    let layer = identity.encoder_depth;
    let extractor = FeatureExtractor::new(&muq, identity.clone(), layer, Pooling::Meanmax, None)?;

    let mut timbre = Examples::new();
    for idx in 0..6 {
        let key = key_named(KEY_LABELS[idx % KEY_LABELS.len()])?;
        let music = keyed_clip(key, idx, 2.0, 500 + idx as u64)?;
        timbre.add_clip(&extractor, &music, 0, &format!("music{idx}"))?;
        let noise = noise_bursts(WINDOW_LEN, 900 + idx as u64);
        timbre.add_clip(&extractor, &noise, 1, &format!("noise{idx}"))?;
    }
    let mut key = Examples::new();
    for (label_idx, name) in KEY_LABELS.iter().enumerate() {
        for idx in 0..3 {
            let clip = keyed_clip(key_named(name)?, idx + label_idx, 4.0, 7_000 + idx as u64)?;
            key.add_clip(&extractor, &clip, label_idx, &format!("{name} {idx}"))?;
        }
    }
    Ok(vec![
        timbre.train(
            &identity,
            TIMBRE_TASK,
            &TIMBRE_LABELS,
            layer,
            &heads_dir.join(TIMBRE_TASK),
        )?,
        key.train(
            &identity,
            KEY_TASK,
            &KEY_LABELS,
            layer,
            &heads_dir.join(KEY_TASK),
        )?,
    ])
}
