//! The live analysis pipeline end to end with the tiny MuQ-MuLan golden model standing in for
//! the real one: readouts exist, are finite and follow the text embeddings; any host sample
//! rate works; results do not depend on how the audio was chunked.
//!
//! Run: `cargo test -p muq-engine --test pipeline -- --nocapture`.

#[path = "pipeline/support.rs"]
mod support;

use candle_core::Device;
use muq_engine::analysis::AnalysisPhase;
use muq_engine::models::mulan::MuqMulan;
use support::*;

fn to_vec(t: &candle_core::Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
fn readouts_exist_are_finite_and_follow_the_text_embeddings() {
    let cache = tempfile::tempdir().unwrap();
    let mut analyzer = analyzer(options(cache.path(), 0.0), 24_000.0, 0.48);
    // Longer than the 5 s of tonal audio the live key estimator needs.
    let audio = music(6.5, 24_000, 3);
    let r = feed_all(&mut analyzer, &audio, 4_096, 24_000.0);
    assert_finite(&r);
    assert_eq!(r.phase, AnalysisPhase::Analysing, "{r:?}");
    assert_eq!(r.device, "cpu");
    assert_eq!(r.instruments.len(), 5);
    assert_eq!(r.genres.len(), 3);
    assert_eq!(r.queries.len(), QUERIES.len());
    assert!(r.key.key.is_some());
    assert!(r.num_windows_analysed >= 1 && !r.stale && !r.provisional);
    assert!(r.inference_ms > 0.0 && r.real_time_factor > 0.0);
    for pair in r.instruments.windows(2).chain(r.genres.windows(2)) {
        assert!(
            pair[0].score >= pair[1].score && pair[0].cosine >= pair[1].cosine - 1e-6,
            "{pair:?}"
        );
    }

    // The newest window is [end - 2 s, end): recompute its latent with the plain (non-streaming)
    // model and check every query similarity and the query ranking.
    let end = (r.window_end_s * 24_000.0).round() as usize;
    assert_eq!(end % 960, 0);
    let window = &audio[end - 48_000..end];
    let model = MuqMulan::load(&mulan_dir(), &Device::Cpu).unwrap();
    let audio_latent = to_vec(&model.audio_clip(window).unwrap().1);
    let expected: Vec<f32> = QUERIES
        .iter()
        .map(|q| {
            dot(
                &audio_latent,
                &to_vec(&model.text_latent(q).unwrap().latent),
            )
        })
        .collect();
    for (q, want) in r.queries.iter().zip(&expected) {
        assert!(
            (q.similarity - want).abs() < 1e-4,
            "{}: {} vs {want}",
            q.text,
            q.similarity
        );
        assert_eq!(q.history.len() as u64, r.num_windows_analysed);
    }
    let best = |v: &[f32]| (0..v.len()).max_by(|&a, &b| v[a].total_cmp(&v[b])).unwrap();
    let got: Vec<f32> = r.queries.iter().map(|q| q.similarity).collect();
    assert_eq!(best(&got), best(&expected));
    // Instrument scores: softmax of cosine / T, so score ratios follow cosine differences.
    let (a, b) = (&r.instruments[0], &r.instruments[1]);
    let implied_t = (a.cosine - b.cosine) / (a.score / b.score).ln();
    assert!(
        a.cosine == b.cosine || (implied_t - 0.03).abs() < 1e-3,
        "temperature {implied_t}"
    );
    eprintln!(
        "inference {:.1} ms per 2 s window, rtf {:.3}",
        r.inference_ms, r.real_time_factor
    );

    // The text latents went to the disk cache: a second analyzer loads them from there.
    let files: Vec<_> = std::fs::read_dir(cache.path()).unwrap().collect();
    assert_eq!(files.len(), 1);
}

#[test]
fn every_host_sample_rate_gives_the_same_window_grid_and_finite_readouts() {
    let cache = tempfile::tempdir().unwrap();
    for rate_hz in [8_000u32, 22_050, 44_100, 48_000, 96_000, 192_000] {
        let mut analyzer = analyzer(options(cache.path(), 0.0), rate_hz as f32, 1.0);
        // Longer than the 5 s of tonal audio the live key estimator needs.
        let audio = music(6.5, rate_hz, 5);
        let r = feed_all(&mut analyzer, &audio, 512, rate_hz as f32);
        assert_finite(&r);
        assert_eq!(r.phase, AnalysisPhase::Analysing, "{rate_hz} Hz: {r:?}");
        // 6.5 s minus the resampler's fill: windows end at 2, 3, .. 6 s.
        assert_eq!(r.window_end_s, 6.0, "{rate_hz} Hz");
        assert_eq!(r.genres.len(), 3);
        assert!(r.key.key.is_some(), "{rate_hz} Hz");
    }
}

#[test]
fn readouts_do_not_depend_on_the_chunk_size() {
    let cache = tempfile::tempdir().unwrap();
    let audio = music(3.2, 44_100, 9);
    let mut results = Vec::new();
    for chunk in [1usize, 64, 511, 4_096] {
        let mut analyzer = analyzer(options(cache.path(), 0.5), 44_100.0, 0.4);
        results.push((chunk, feed_all(&mut analyzer, &audio, chunk, 44_100.0)));
    }
    let (_, reference) = &results[3];
    assert_finite(reference);
    assert!(reference.window_end_s > 2.0);
    for (chunk, r) in &results {
        assert_eq!(r.window_end_s, reference.window_end_s, "chunk {chunk}");
        assert_eq!(r.key.key, reference.key.key, "chunk {chunk}");
        assert!(
            (r.key.confidence - reference.key.confidence).abs() < 1e-5,
            "chunk {chunk}"
        );
        let labels = |r: &muq_engine::analysis::Readouts| {
            r.genres.iter().map(|g| g.label.clone()).collect::<Vec<_>>()
        };
        assert_eq!(labels(r), labels(reference), "chunk {chunk}");
        for (a, b) in r.queries.iter().zip(&reference.queries) {
            assert!(
                (a.similarity - b.similarity).abs() < 1e-4,
                "chunk {chunk}: {a:?} vs {b:?}"
            );
        }
        for (a, b) in r.instruments.iter().zip(&reference.instruments) {
            assert_eq!(a.label, b.label, "chunk {chunk}");
            assert!((a.score - b.score).abs() < 1e-3, "chunk {chunk}");
        }
    }
}

#[test]
fn cold_start_says_how_long_to_wait_and_marks_the_provisional_window() {
    let cache = tempfile::tempdir().unwrap();
    let audio = music(1.3, 48_000, 6);
    // Without a provisional window: listening, 2 s - ~1.3 s still needed, no model readouts.
    let mut plain = analyzer(options(cache.path(), 0.0), 48_000.0, 0.4);
    let r = feed_all(&mut plain, &audio, 1_000, 48_000.0);
    assert_eq!(r.phase, AnalysisPhase::Listening, "{r:?}");
    assert!(
        (0.7..0.8).contains(&r.seconds_needed),
        "{}",
        r.seconds_needed
    );
    assert!(r.message.contains("still needed"), "{}", r.message);
    assert!(r.genres.is_empty() && r.num_windows_analysed == 0);
    // With one at half the window: a result marked provisional, still listening.
    let mut early = analyzer(options(cache.path(), 0.5), 48_000.0, 0.4);
    let r = feed_all(&mut early, &audio, 1_000, 48_000.0);
    assert_finite(&r);
    assert_eq!(r.phase, AnalysisPhase::Listening, "{r:?}");
    assert!(r.provisional && r.num_windows_analysed == 1);
    assert_eq!(r.analysed_window_s, 1.0);
    assert_eq!(r.genres.len(), 3);
    // The first full window replaces it.
    let r = feed_all(&mut early, &music(1.0, 48_000, 7), 1_000, 48_000.0);
    assert!(!r.provisional && r.analysed_window_s == 2.0, "{r:?}");
    assert_eq!(r.phase, AnalysisPhase::Analysing);
}
