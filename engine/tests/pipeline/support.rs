//! Shared helpers of the pipeline tests: the tiny MuQ-MuLan golden model, synthesised music,
//! analyzers with a private text cache, and readout checks.

use std::path::{Path, PathBuf};
use std::time::Duration;

use muq_engine::analysis::{AnalyzerOptions, MuqAnalyzer, Readouts};
use muq_engine::heads::key::{Key, Mode};
use muq_engine::worker::{AnalysisSettings, Analyzer};
use muq_synth::{ClipSpec, Style, render_clip};

/// Texts scored in the tests (different enough to give different latents).
pub const QUERIES: [&str; 3] = [
    "energetic rock with loud drums",
    "calm ambient pads",
    "classical piano",
];

/// `$MUQ_GOLDEN_DIR`, default `<repo>/../shared/golden`.
pub fn golden_dir() -> PathBuf {
    match std::env::var_os("MUQ_GOLDEN_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/golden"),
    }
}

/// The golden case whose config.json has a `mulan` section.
pub fn mulan_dir() -> PathBuf {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(golden_dir())
        .expect("golden fixtures folder (set MUQ_GOLDEN_DIR)")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    cases.sort();
    cases
        .into_iter()
        .find(|dir| {
            std::fs::read_to_string(dir.join("config.json"))
                .ok()
                .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
                .is_some_and(|v| v.get("mulan").is_some())
        })
        .expect("a golden case with a MuQ-MuLan config")
}

/// Window settings matching the tiny model's 2 s clips.
pub fn settings(hop_s: f32) -> AnalysisSettings {
    AnalysisSettings {
        enabled: true,
        window_s: 2.0,
        hop_s,
        hold_inference: false,
    }
}

/// Synthesised music in A minor at `rate_hz`.
pub fn music(duration_s: f32, rate_hz: u32, seed: u64) -> Vec<f32> {
    let spec = ClipSpec {
        duration_s,
        ..ClipSpec::new(Key::new(9, Mode::Minor), Style::Groove, seed)
    };
    render_clip(&spec, rate_hz).expect("synth")
}

/// Options using the golden model, the test queries, a private cache folder and no
/// provisional window unless asked.
pub fn options(cache: &Path, provisional_fraction: f32) -> AnalyzerOptions {
    let mut options = AnalyzerOptions::new();
    options.model.model_dir = Some(mulan_dir());
    options.model.cache_dir = Some(cache.to_path_buf());
    options.provisional_fraction = provisional_fraction;
    options.queries = QUERIES.iter().map(|q| q.to_string()).collect();
    options
}

/// An analyzer configured for `rate_hz` with a 2 s window and `hop_s`.
pub fn analyzer(options: AnalyzerOptions, rate_hz: f32, hop_s: f32) -> MuqAnalyzer {
    let mut analyzer = MuqAnalyzer::new(options).expect("analyzer");
    analyzer.configure(&settings(hop_s), rate_hz);
    analyzer
}

/// Feeds `samples` in `chunk` pieces, then waits for the inference thread.
pub fn feed_all(
    analyzer: &mut MuqAnalyzer,
    samples: &[f32],
    chunk: usize,
    rate_hz: f32,
) -> Readouts {
    for piece in samples.chunks(chunk) {
        analyzer.on_samples(piece, rate_hz);
    }
    assert!(
        analyzer.wait_idle(Duration::from_secs(120)),
        "inference did not finish"
    );
    readouts(analyzer)
}

/// The analyzer's readouts now.
pub fn readouts(analyzer: &MuqAnalyzer) -> Readouts {
    let mut r = Readouts::default();
    analyzer.fill_readouts(&mut r);
    r
}

/// Every number in the readouts is finite and in range.
pub fn assert_finite(r: &Readouts) {
    let k = &r.key;
    for v in [
        k.score,
        k.confidence,
        k.tuning_cents,
        k.evidence_s,
        r.inference_ms,
        r.achieved_hop_s,
        r.real_time_factor,
    ] {
        assert!(v.is_finite(), "{r:?}");
    }
    assert!(
        r.window_end_s.is_finite() && r.seconds_needed.is_finite() && r.load_progress.is_finite()
    );
    for l in r.instruments.iter().chain(&r.genres) {
        assert!(
            l.score.is_finite() && l.cosine.is_finite() && (0.0..=1.0).contains(&l.score),
            "{l:?}"
        );
    }
    for q in &r.queries {
        assert!(
            q.similarity.is_finite() && q.history.iter().all(|v| v.is_finite()),
            "{q:?}"
        );
        assert!((-1.001..=1.001).contains(&q.similarity));
    }
}
