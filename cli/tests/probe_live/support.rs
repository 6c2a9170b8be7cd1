//! Helpers of the live probe tests: training heads with the `muq` CLI on the tiny golden
//! MuQ-MuLan folder, rendering keyed clips, and feeding audio clip by clip to an analyzer.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use muq_engine::analysis::{MuqAnalyzer, Readouts};
use muq_engine::heads::key::Key;
use muq_synth::{ClipSpec, Style, render_clip};

use crate::probe_support::{SAMPLE_RATE_HZ, write_wav};
use crate::support::{feed_all, readouts};

/// Runs the `muq` binary; panics with its output when it fails.
pub fn muq(args: &[&str]) -> String {
    let out: Output = Command::new(env!("CARGO_BIN_EXE_muq"))
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "muq {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

pub fn s(p: &Path) -> String {
    p.display().to_string()
}

/// `muq probe train` on 2 s windows of the MuQ-MuLan folder's inner MuQ, meanmax pooling.
pub fn train_head(model: &Path, task: &str, csv: &Path, root: &Path, out: &Path) -> String {
    muq(&[
        "probe",
        "train",
        "--task",
        task,
        "--labels",
        &s(csv),
        "--audio-root",
        &s(root),
        "--model",
        &s(model),
        "--unit",
        "window",
        "--window-s",
        "2",
        "--pool",
        "meanmax",
        "--epochs",
        "200",
        "--out",
        &s(out),
    ])
}

/// The keys of the key-head tests: far apart on the circle of fifths, both modes.
pub const KEYS: [&str; 4] = ["C major", "F# major", "A minor", "Eb minor"];

/// Renders `num_per_key` clips of `duration_s` per key of [`KEYS`] (styles and seeds varied by
/// `seed`) into `root/<split>/` and writes `root/<split>.csv`; returns the CSV and the clips.
pub fn render_keys(
    root: &Path,
    split: &str,
    num_per_key: usize,
    duration_s: f32,
    seed: u64,
) -> (PathBuf, Vec<(Key, Vec<f32>)>) {
    std::fs::create_dir_all(root.join(split)).unwrap();
    let mut csv = String::from("file,label\n");
    let mut clips = Vec::new();
    for (key_idx, name) in KEYS.iter().enumerate() {
        let key = Key::parse(name).unwrap();
        for idx in 0..num_per_key {
            let style = Style::ALL[(idx + key_idx) % Style::ALL.len()];
            let spec = ClipSpec {
                duration_s,
                tempo_bpm: 90.0 + 10.0 * ((idx * 7 + key_idx) % 5) as f32,
                ..ClipSpec::new(key, style, seed * 1_000 + (key_idx * 100 + idx) as u64)
            };
            let samples = render_clip(&spec, SAMPLE_RATE_HZ).unwrap();
            let file = format!("{split}/{}_{idx:02}.wav", name.replace(' ', "_"));
            write_wav(&root.join(&file), &samples);
            csv.push_str(&format!("{file},{name}\n"));
            clips.push((key, samples));
        }
    }
    let csv_path = root.join(format!("{split}.csv"));
    std::fs::write(&csv_path, csv).unwrap();
    (csv_path, clips)
}

/// Feeds one clip (24 kHz) and returns the readouts once the inference thread is idle.
pub fn feed_clip(analyzer: &mut MuqAnalyzer, samples: &[f32]) -> Readouts {
    feed_all(analyzer, samples, 4_800, SAMPLE_RATE_HZ as f32)
}

/// Sends a command and waits until the inference thread applied it.
pub fn command(analyzer: &mut MuqAnalyzer, command: muq_engine::bridge::Command) -> Readouts {
    use muq_engine::worker::Analyzer;
    analyzer.on_command(&command);
    assert!(analyzer.wait_idle(std::time::Duration::from_secs(120)));
    readouts(analyzer)
}
