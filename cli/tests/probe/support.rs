//! Shared pieces of the probe tests: locating the golden MuQ cases and rendering a small
//! labelled data set (low tones vs noise bursts) as 24 kHz WAV files.

use std::path::{Path, PathBuf};

use muq_engine::heads::probe::LabelledFile;
use muq_engine::heads::probe::labels::LabelSet;

pub const SAMPLE_RATE_HZ: u32 = 24_000;

pub fn golden_dir() -> PathBuf {
    match std::env::var_os("MUQ_GOLDEN_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/golden"),
    }
}

/// The golden MuQ cases (config.json with `w2v2_config`), sorted by name.
pub fn muq_cases() -> Vec<PathBuf> {
    let dir = golden_dir();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("golden dir {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            std::fs::read_to_string(p.join("config.json"))
                .is_ok_and(|c| c.contains("\"w2v2_config\""))
        })
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 2,
        "need two golden MuQ cases in {}",
        dir.display()
    );
    cases
}

/// Deterministic uniform noise in [0, 1).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// 2 s of one or two low sines (50–300 Hz) with a slow tremolo.
pub fn render_tone(rng: &mut Rng) -> Vec<f32> {
    let (f1, f2, amp) = (
        50.0 + 250.0 * rng.next(),
        50.0 + 250.0 * rng.next(),
        0.2 + 0.3 * rng.next(),
    );
    let mix = rng.next();
    (0..2 * SAMPLE_RATE_HZ as usize)
        .map(|i| {
            let t = i as f32 / SAMPLE_RATE_HZ as f32;
            let trem = 1.0 + 0.2 * (std::f32::consts::TAU * 3.0 * t).sin();
            amp * trem
                * ((std::f32::consts::TAU * f1 * t).sin()
                    + mix * (std::f32::consts::TAU * f2 * t).sin())
                / (1.0 + mix)
        })
        .collect()
}

/// 2 s of white-noise bursts (80–300 ms) separated by silence.
pub fn render_noise(rng: &mut Rng) -> Vec<f32> {
    let num = 2 * SAMPLE_RATE_HZ as usize;
    let mut out = vec![0f32; num];
    let amp = 0.2 + 0.3 * rng.next();
    let mut pos = (rng.next() * 4800.0) as usize;
    while pos < num {
        let len = (SAMPLE_RATE_HZ as f32 * (0.08 + 0.22 * rng.next())) as usize;
        for s in out.iter_mut().skip(pos).take(len) {
            *s = amp * (2.0 * rng.next() - 1.0);
        }
        pos += len + (SAMPLE_RATE_HZ as f32 * (0.05 + 0.2 * rng.next())) as usize;
    }
    out
}

pub fn write_wav(path: &Path, samples: &[f32]) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: SAMPLE_RATE_HZ,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for &s in samples {
        w.write_sample(s).unwrap();
    }
    w.finalize().unwrap();
}

/// Renders `num_per_class` tone and noise files into `root/<split>/` and writes
/// `root/<split>.csv`; returns the CSV path.
pub fn render_split(root: &Path, split: &str, num_per_class: usize, seed: u64) -> PathBuf {
    std::fs::create_dir_all(root.join(split)).unwrap();
    let mut rng = Rng(seed);
    let mut csv = String::from("file,label\n");
    for idx in 0..num_per_class {
        for (label, samples) in [
            ("tone", render_tone(&mut rng)),
            ("noise", render_noise(&mut rng)),
        ] {
            let name = format!("{split}/{label}_{idx:02}.wav");
            write_wav(&root.join(&name), &samples);
            csv.push_str(&format!("{name},{label}\n"));
        }
    }
    let csv_path = root.join(format!("{split}.csv"));
    std::fs::write(&csv_path, csv).unwrap();
    csv_path
}

pub fn targets(rows: &[LabelledFile], labels: &LabelSet) -> Vec<Vec<usize>> {
    rows.iter()
        .map(|r| {
            r.labels
                .iter()
                .map(|l| labels.index_of(l).unwrap())
                .collect()
        })
        .collect()
}
