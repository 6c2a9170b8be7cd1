//! The persisted engine settings reach a new worker: a plugin whose restored fields name the
//! tiny golden MuQ-MuLan, a vocabulary folder, a heads folder and a key profile is activated
//! and fed music through `process()`; the worker's readouts must then use all of them. And any
//! sample rate activates, with the panel explaining one the analysis does not support.
//! (Moved from the plugin's unit tests: it uses only the plugin's public API and the shared fake
//! host of `muq_live_tests::torture`.)

use muq_engine::analysis::AnalyzerOptions;
use muq_engine::heads::key::{Key, Mode, ProfileKind};
use muq_live::MuqLive;
use muq_live_tests::torture::{
    FakeProcessContext, activate, golden_case, process_block, set_param,
};
use muq_synth::{ClipSpec, Style, render_clip};
use nice_plug::prelude::Plugin;
use std::time::{Duration, Instant};

/// The mono layout (`MuqLive::AUDIO_IO_LAYOUTS[1]`).
const MONO_LAYOUT_IDX: usize = 1;

fn process_mono(plugin: &mut MuqLive, context: &mut FakeProcessContext, block: &mut Vec<f32>) {
    let num_frames = block.len();
    let mut channels = vec![std::mem::take(block)];
    process_block(plugin, context, &mut channels, num_frames, false);
    *block = channels.pop().unwrap_or_default();
}

#[test]
fn persisted_engine_settings_reach_the_worker_on_activation() {
    let folders = tempfile::tempdir().unwrap();
    let vocabulary = folders.path().join("vocabulary");
    std::fs::create_dir_all(&vocabulary).unwrap();
    std::fs::write(
        vocabulary.join("instruments.txt"),
        "test zither\ntest kazoo\ntest theremin\ntest ocarina\ntest celesta\ntest tuba\n",
    )
    .unwrap();
    std::fs::write(
        vocabulary.join("genres.txt"),
        "test polka\ntest dub\ntest fado\n",
    )
    .unwrap();
    let heads = folders.path().join("heads");
    std::fs::create_dir_all(&heads).unwrap();

    let mut options = AnalyzerOptions::new();
    options.model.cache_dir = Some(folders.path().join("cache"));
    let mut plugin = MuqLive::with_analyzer_options(options);
    let params = plugin.params_arc();
    *params.model_dir.write() = Some(golden_case(|c| c.get("mulan").is_some()).unwrap());
    *params.labels_dir.write() = Some(vocabulary);
    *params.heads_dir.write() = Some(heads);
    *params.key_method.write() = Some(ProfileKind::Temperley.name().to_owned());
    *params.text_queries.write() = vec!["calm ambient pads".to_owned()];
    set_param(&plugin, "Window", 2.0).unwrap();
    set_param(&plugin, "Hop", 0.5).unwrap();

    let sample_rate_hz = 48_000.0;
    assert!(activate(&mut plugin, MONO_LAYOUT_IDX, sample_rate_hz, 512));
    let spec = ClipSpec {
        duration_s: 6.0,
        ..ClipSpec::new(Key::new(9, Mode::Minor), Style::Groove, 3)
    };
    let music = render_clip(&spec, sample_rate_hz as u32).unwrap();
    let mut context = FakeProcessContext::new(sample_rate_hz);
    let link = plugin.editor_link();
    let mut snapshot = muq_engine::bridge::EngineSnapshot::default();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut chunks = music.chunks(512).cycle();
    loop {
        // About four times real time, so the ring never overflows.
        for _ in 0..20 {
            let mut block = chunks.next().unwrap_or_default().to_vec();
            process_mono(&mut plugin, &mut context, &mut block);
        }
        std::thread::sleep(Duration::from_millis(50));
        link.copy_latest(&mut snapshot);
        let r = &snapshot.readouts;
        if !r.instruments.is_empty() && !r.genres.is_empty() && !r.queries.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "no readouts in time: {r:?}");
    }
    plugin.deactivate();

    let r = &snapshot.readouts;
    assert!(
        r.key_source.contains(ProfileKind::Temperley.title()),
        "key source {:?}",
        r.key_source
    );
    assert!(
        r.instruments.iter().all(|l| l.label.starts_with("test ")),
        "instruments not from the vocabulary folder: {:?}",
        r.instruments
    );
    assert!(
        r.genres.iter().all(|l| l.label.starts_with("test ")),
        "genres not from the vocabulary folder: {:?}",
        r.genres
    );
    assert_eq!(r.queries[0].text, "calm ambient pads");
    assert_eq!(r.model_name, "mulan");
    assert!(r.model_size_bytes > 0);
    assert!(
        r.probes.is_empty(),
        "the heads folder is empty: {:?}",
        r.probes
    );
}

/// Validators activate at rates no DAW uses: activation succeeds, audio passes (subnormals
/// flushed), and the panel says why the analysis does not run.
#[test]
fn any_sample_rate_activates_and_the_panel_explains_an_unsupported_one() {
    let folders = tempfile::tempdir().unwrap();
    for (sample_rate_hz, analysis_runs) in [(1_234_567.8_f32, false), (8_000.0, true)] {
        let mut options = AnalyzerOptions::new();
        options.model.cache_dir = Some(folders.path().join("cache"));
        options.model.model_dir = Some(folders.path().join("no-model-here"));
        let mut plugin = MuqLive::with_analyzer_options(options);
        assert!(
            activate(&mut plugin, MONO_LAYOUT_IDX, sample_rate_hz, 512),
            "activation at {sample_rate_hz} Hz"
        );
        let mut context = FakeProcessContext::new(sample_rate_hz);
        let input: Vec<f32> = (0..512)
            .map(|idx| match idx % 3 {
                0 => 1.0e-40,
                1 => -0.25,
                _ => (idx as f32 * 0.01).sin() * 0.5,
            })
            .collect();
        let link = plugin.editor_link();
        let mut snapshot = muq_engine::bridge::EngineSnapshot::default();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let mut block = input.clone();
            process_mono(&mut plugin, &mut context, &mut block);
            for (out, inp) in block.iter().zip(&input) {
                let expected = if inp.is_subnormal() { 0.0 } else { *inp };
                assert_eq!(out.to_bits(), expected.to_bits(), "{sample_rate_hz} Hz");
            }
            std::thread::sleep(Duration::from_millis(20));
            link.copy_latest(&mut snapshot);
            if snapshot.seconds_captured > 0.0 {
                break;
            }
            assert!(Instant::now() < deadline, "the worker never ran");
        }
        let status = format!(
            "{} {} {}",
            snapshot.readouts.message, snapshot.readouts.hint, snapshot.analyzer_status
        );
        plugin.deactivate();
        if analysis_runs {
            assert!(!status.contains("outside the supported"), "{status}");
        } else {
            assert!(
                status.contains("outside the supported"),
                "{sample_rate_hz} Hz: {status}"
            );
        }
    }
}
