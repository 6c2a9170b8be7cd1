//! MIREX evaluation of the key estimator on a corpus the test renders itself (every key ×
//! every style of `muq_synth`), and an exporter of the same corpus as WAVs for
//! `tools/essentia_key_compare.py`.

use std::fmt::Write as _;
use std::path::PathBuf;

use muq_engine::heads::key::{
    ENSEMBLE_OPENING_METHOD, KeyConfig, MirexTally, ProfileChoice, estimate_key, estimate_key_with,
};
use muq_synth::{ClipSpec, Style, key_corpus, render_clip};

/// Corpus used by both the test and the exporter: 24 keys × 4 styles, 12 s each,
/// tempo 80-140 BPM, tuning within ±25 cents.
fn corpus(seed: u64) -> Vec<ClipSpec> {
    key_corpus(1, 12.0, 25.0, seed)
}

/// Seed the defaults were developed on.
const DEV_SEED: u64 = 2024;

/// Floors of the default method (`ensemble`: bgate + Sha'ath + Temperley), each set just
/// under the score measured at 22.05 kHz (0.8792 / 0.8510 / 0.8552; see
/// `tools/essentia_key_compare.md`). One clip read wrong costs about 0.01, so any real
/// regression fails. The previous estimator (KK profile,
/// no whitening, no harmonic votes) scored 0.8698 on the dev corpus.
const DEV_FLOOR: f64 = 0.87;
/// Held-out seeds: never used to choose a setting, only to check the choice.
const HELD_OUT_7_FLOOR: f64 = 0.845;
const HELD_OUT_99_FLOOR: f64 = 0.85;
/// Floors of the selectable `ensemble_opening` method (templates + opening-chord arbiter) on
/// the held-out seeds, just under its 0.8937 / 0.9135.
const OPENING_7_FLOOR: f64 = 0.89;
const OPENING_99_FLOOR: f64 = 0.91;
/// Where the held-out clips are also read from, as a live window that starts inside a phrase
/// (on another chord than the tonic) would see them, and the default's floors there, just
/// under its 0.8000 / 0.7698.
const LATE_START_S: f32 = 3.0;
const LATE_7_FLOOR: f64 = 0.79;
const LATE_99_FLOOR: f64 = 0.76;

/// What [`check_corpus`] asserts besides the default method read from the start.
#[derive(Default)]
struct ExtraFloors {
    /// `ensemble_opening` read from the start.
    opening: Option<f64>,
    /// The default method read from [`LATE_START_S`].
    late_start: Option<f64>,
}

/// Renders the corpus of `seed` at 22.05 kHz, prints per-style scores and misses, and checks
/// the MIREX score of the default method against `floor` and the extra floors given.
fn check_corpus(seed: u64, floor: f64, extra: ExtraFloors) -> anyhow::Result<()> {
    let sample_rate_hz = 22_050;
    let specs = corpus(seed);
    assert!(specs.len() >= 96);
    let opening_cfg =
        KeyConfig::offline().with_profile(ProfileChoice::parse(ENSEMBLE_OPENING_METHOD)?);
    let late_skip = (LATE_START_S * sample_rate_hz as f32) as usize;
    let mut total = MirexTally::default();
    let mut opening_total = MirexTally::default();
    let mut late_total = MirexTally::default();
    let mut by_style: Vec<(Style, MirexTally)> = Style::ALL
        .iter()
        .map(|&s| (s, MirexTally::default()))
        .collect();
    let mut misses = String::new();
    for spec in &specs {
        let samples = render_clip(spec, sample_rate_hz)?;
        let readout = estimate_key(&samples, sample_rate_hz as f32)?;
        total.add(readout.key, spec.key);
        if extra.opening.is_some() {
            let opening = estimate_key_with(&samples, sample_rate_hz as f32, opening_cfg.clone())?;
            opening_total.add(opening.key, spec.key);
        }
        if extra.late_start.is_some() {
            let late = estimate_key(
                samples.get(late_skip..).unwrap_or(&[]),
                sample_rate_hz as f32,
            )?;
            late_total.add(late.key, spec.key);
        }
        if let Some((_, tally)) = by_style.iter_mut().find(|(s, _)| *s == spec.style) {
            tally.add(readout.key, spec.key);
        }
        if readout.key != Some(spec.key) {
            let _ = write!(
                misses,
                "{} -> {}; ",
                spec.file_stem(0),
                readout.name().unwrap_or("none")
            );
        }
        assert!(readout.confidence.is_finite() && (0.0..=1.0).contains(&readout.confidence));
    }
    for (style, tally) in &by_style {
        println!("seed {seed} {:12} {tally}", style.name());
    }
    println!("seed {seed} misses: {misses}");
    check_floor(&format!("seed {seed} default"), &total, Some(floor));
    let opening_label = format!("seed {seed} {ENSEMBLE_OPENING_METHOD}");
    check_floor(&opening_label, &opening_total, extra.opening);
    let late_label = format!("seed {seed} default from {LATE_START_S} s in");
    check_floor(&late_label, &late_total, extra.late_start);
    Ok(())
}

/// Prints `tally` under `label` and asserts its MIREX score reaches `floor` (if one is given).
fn check_floor(label: &str, tally: &MirexTally, floor: Option<f64>) {
    let Some(floor) = floor else {
        return;
    };
    println!("{label}: {tally}");
    assert!(
        tally.score() >= floor,
        "{label}: MIREX {:.4} fell below the floor {floor}: {tally}",
        tally.score()
    );
}

#[test]
fn mirex_score_on_rendered_corpus() -> anyhow::Result<()> {
    check_corpus(DEV_SEED, DEV_FLOOR, ExtraFloors::default())
}

#[test]
fn mirex_score_on_held_out_seed_7() -> anyhow::Result<()> {
    check_corpus(
        7,
        HELD_OUT_7_FLOOR,
        ExtraFloors {
            opening: Some(OPENING_7_FLOOR),
            late_start: Some(LATE_7_FLOOR),
        },
    )
}

#[test]
fn mirex_score_on_held_out_seed_99() -> anyhow::Result<()> {
    check_corpus(
        99,
        HELD_OUT_99_FLOOR,
        ExtraFloors {
            opening: Some(OPENING_99_FLOOR),
            late_start: Some(LATE_99_FLOOR),
        },
    )
}

/// Writes the corpus as 44.1 kHz float WAVs plus `truths.csv` (`file,key,ours`) into
/// `$MUQ_KEY_CORPUS_DIR` (default `<temp dir>/key-corpus`), for `tools/essentia_key_compare.py`.
/// `$MUQ_KEY_CORPUS_SEED` picks the corpus seed (default: the dev seed 2024).
#[test]
#[ignore = "exporter for the Essentia comparison; writes files"]
fn export_key_corpus() -> anyhow::Result<()> {
    let dir = std::env::var_os("MUQ_KEY_CORPUS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("key-corpus"));
    std::fs::create_dir_all(&dir)?;
    let sample_rate_hz = 44_100;
    let spec_wav = hound::WavSpec {
        channels: 1,
        sample_rate: sample_rate_hz,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let seed = match std::env::var("MUQ_KEY_CORPUS_SEED") {
        Ok(text) => text.trim().parse::<u64>()?,
        Err(_) => DEV_SEED,
    };
    let mut csv = String::from("file,key,ours\n");
    let mut tally = MirexTally::default();
    for (idx, spec) in corpus(seed).iter().enumerate() {
        let samples = render_clip(spec, sample_rate_hz)?;
        let file = format!("{}.wav", spec.file_stem(idx));
        let mut writer = hound::WavWriter::create(dir.join(&file), spec_wav)?;
        for &sample in &samples {
            writer.write_sample(sample)?;
        }
        writer.finalize()?;
        let readout = estimate_key(&samples, sample_rate_hz as f32)?;
        tally.add(readout.key, spec.key);
        writeln!(
            csv,
            "{file},{},{}",
            spec.key.name(),
            readout.name().unwrap_or("")
        )?;
    }
    std::fs::write(dir.join("truths.csv"), csv)?;
    println!(
        "wrote {} clips to {}; ours at 44.1 kHz: {tally}",
        tally.num_items(),
        dir.display()
    );
    Ok(())
}
