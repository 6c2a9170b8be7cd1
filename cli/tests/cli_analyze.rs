//! `muq analyze` on rendered files: any rate and channel count, folders with relative names,
//! JSON lines per window, the summary CSV, and the key-only mode without weights.
//!
//! Run: `cargo test -p muq-cli --test cli_analyze`.

#[path = "../../engine/tests/pipeline/support.rs"]
#[allow(dead_code)]
mod support;

use std::path::Path;
use std::process::Command;

fn write_wav(path: &Path, mono: &[f32], rate_hz: u32, num_channels: u16) {
    let spec = hound::WavSpec {
        channels: num_channels,
        sample_rate: rate_hz,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).unwrap();
    for &x in mono {
        for _ in 0..num_channels {
            writer.write_sample((x * 30_000.0) as i16).unwrap();
        }
    }
    writer.finalize().unwrap();
}

/// The library's whole-file key of `path` (what the CSV must say).
fn offline_key(path: &Path) -> String {
    let audio = muq_engine::audio::load_mono_24k(path).unwrap();
    let cfg = muq_engine::heads::key::KeyConfig::offline();
    let readout = muq_engine::heads::key::estimate_key_with(&audio.samples, 24_000.0, cfg).unwrap();
    readout.name().unwrap().to_string()
}

fn muq(args: &[&str], cache: &Path) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_muq"))
        .args(args)
        .env("MUQ_CACHE_DIR", cache)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn analyze_writes_json_lines_and_the_summary_csv() {
    let tmp = tempfile::tempdir().unwrap();
    let songs = tmp.path().join("songs");
    std::fs::create_dir_all(songs.join("sub")).unwrap();
    write_wav(
        &songs.join("a.wav"),
        &support::music(3.0, 44_100, 1),
        44_100,
        2,
    );
    write_wav(
        &songs.join("sub/b.wav"),
        &support::music(1.0, 22_050, 2),
        22_050,
        1,
    );
    let jsonl = tmp.path().join("w.jsonl");
    let csv = tmp.path().join("s.csv");
    let model = support::mulan_dir();
    let (ok, _, stderr) = muq(
        &[
            "analyze",
            songs.to_str().unwrap(),
            "--model",
            model.to_str().unwrap(),
            "--window-s",
            "2",
            "--hop-s",
            "0.48",
            "--jsonl",
            jsonl.to_str().unwrap(),
            "--summary-csv",
            csv.to_str().unwrap(),
            "--query",
            "loud drums",
        ],
        tmp.path(),
    );
    assert!(ok, "{stderr}");
    let csv_text = std::fs::read_to_string(&csv).unwrap();
    let rows: Vec<&str> = csv_text.lines().collect();
    assert_eq!(
        rows[0],
        "file,key,key_confidence,camelot,top_genre,genre_score,top_instrument,instrument_score"
    );
    assert_eq!(rows.len(), 3);
    assert!(
        rows[1].starts_with(&format!("a.wav,{},", offline_key(&songs.join("a.wav")))),
        "{}",
        rows[1]
    );
    assert!(rows[2].starts_with("sub/b.wav,"), "{}", rows[2]);
    for row in &rows[1..] {
        let cols: Vec<&str> = row.split(',').collect();
        assert_eq!(cols.len(), 8);
        assert!(!cols[4].is_empty() && !cols[6].is_empty(), "{row}");
        assert!(cols[5].parse::<f32>().unwrap() > 0.0);
    }
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&jsonl)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // a.wav: windows ending at 2.0, 2.48, 2.96 s; b.wav (1 s, shorter than a window): one window.
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert_eq!(lines[2]["end_s"], 2.96);
    assert_eq!(lines[3]["file"], "sub/b.wav");
    for line in &lines {
        let sim = line["model"]["queries"][0]["similarity"].as_f64().unwrap();
        assert!(sim.is_finite() && line["model"]["genres"].as_array().unwrap().len() == 3);
    }
}

#[test]
fn without_weights_the_key_is_still_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("x.wav");
    write_wav(&file, &support::music(3.0, 48_000, 4), 48_000, 2);
    let empty = tmp.path().join("no-model");
    std::fs::create_dir_all(&empty).unwrap();
    let (ok, stdout, stderr) = muq(
        &[
            "analyze",
            file.to_str().unwrap(),
            file.to_str().unwrap(),
            "--model",
            empty.to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert!(ok, "{stderr}");
    assert_eq!(stderr.matches("note:").count(), 1, "{stderr}");
    let rows: Vec<&str> = stdout.lines().collect();
    assert_eq!(rows.len(), 3);
    let expected = format!("{},{},", file.display(), offline_key(&file));
    assert!(
        rows[1].starts_with(&expected) && rows[1].ends_with(",,,,"),
        "{}",
        rows[1]
    );
    let (ok, _, stderr) = muq(
        &["analyze", tmp.path().join("missing.wav").to_str().unwrap()],
        tmp.path(),
    );
    assert!(!ok && stderr.contains("no such file"), "{stderr}");
}

#[test]
fn the_key_method_is_selectable_and_a_bad_one_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("x.wav");
    write_wav(&file, &support::music(3.0, 24_000, 9), 24_000, 1);
    let empty = tmp.path().join("no-model");
    std::fs::create_dir_all(&empty).unwrap();
    let file_s = file.to_str().unwrap();
    let empty_s = empty.to_str().unwrap();
    let audio = muq_engine::audio::load_mono_24k(&file).unwrap();
    for method in ["temperley", "krumhansl_kessler"] {
        let (ok, stdout, stderr) = muq(
            &[
                "analyze",
                file_s,
                "--model",
                empty_s,
                "--key-method",
                method,
            ],
            tmp.path(),
        );
        assert!(ok, "{stderr}");
        let profile = muq_engine::heads::key::ProfileChoice::parse(method).unwrap();
        let cfg = muq_engine::heads::key::KeyConfig::offline().with_profile(profile);
        let readout =
            muq_engine::heads::key::estimate_key_with(&audio.samples, 24_000.0, cfg).unwrap();
        let expected = format!(
            "{file_s},{},{:.4}",
            readout.name().unwrap_or(""),
            readout.confidence
        );
        let row = stdout.lines().nth(1).unwrap_or_default();
        assert!(row.starts_with(&expected), "{method}: {row} vs {expected}");
    }
    let (ok, _, stderr) = muq(
        &[
            "analyze",
            file_s,
            "--model",
            empty_s,
            "--key-method",
            "no_such_profile",
        ],
        tmp.path(),
    );
    assert!(!ok, "a bad key method was accepted");
    assert!(
        stderr.contains("--key-method") && stderr.contains("krumhansl_kessler"),
        "{stderr}"
    );
}
