//! The persisted engine settings reach a new worker: a plugin whose restored fields name the
//! tiny golden MuQ-MuLan, a vocabulary folder, a heads folder and a key profile is activated
//! and fed music through `process()`; the worker's readouts must then use all of them.

use super::*;
use muq_engine::heads::key::{Key, Mode, ProfileKind};
use muq_synth::{ClipSpec, Style, render_clip};
use nice_plug::context::process::SendEventError;
use std::path::PathBuf;
use std::time::{Duration, Instant};

struct NoHost;

impl ActivateContext<MuqLive> for NoHost {
    fn plugin_api(&self) -> PluginApi {
        PluginApi::Clap
    }
    fn execute(&self, _task: ()) {}
    fn set_latency_samples(&self, _samples: u32) {}
    fn set_current_voice_capacity(&self, _capacity: u32) {}
}

struct StoppedTransport(Transport);

impl ProcessContext<MuqLive> for StoppedTransport {
    fn plugin_api(&self) -> PluginApi {
        PluginApi::Clap
    }
    fn execute_background(&self, _task: ()) {}
    fn execute_gui(&self, _task: ()) {}
    fn transport(&self) -> &Transport {
        &self.0
    }
    fn next_event(&mut self) -> Option<PluginNoteEvent<MuqLive>> {
        None
    }
    fn try_send_event(
        &mut self,
        event: PluginNoteEvent<MuqLive>,
    ) -> Result<(), (PluginNoteEvent<MuqLive>, SendEventError)> {
        Err((event, SendEventError::NoOutputBuffer))
    }
    fn set_latency_samples(&self, _samples: u32) {}
    fn request_restart(&self) {}
    fn set_current_voice_capacity(&self, _capacity: u32) {}
}

/// The golden MuQ-MuLan case: `$MUQ_GOLDEN_DIR/mulan`, default `<repo>/../shared/golden/mulan`.
fn golden_mulan() -> PathBuf {
    let root = match std::env::var_os("MUQ_GOLDEN_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/golden"),
    };
    let dir = root.join("mulan");
    assert!(
        dir.join("config.json").is_file(),
        "golden MuQ-MuLan not found in {} (set MUQ_GOLDEN_DIR)",
        dir.display()
    );
    dir
}

fn set_plain(params: &MuqParams, id: &str, plain: f32) {
    for (param_id, ptr, _) in params.param_map() {
        if param_id == id {
            // SAFETY: the pointer comes from `params`, which outlives this call.
            unsafe {
                ptr._internal_set_normalized_value(ptr.preview_normalized(plain));
            }
        }
    }
}

fn process_mono(plugin: &mut MuqLive, context: &mut StoppedTransport, block: &mut Vec<f32>) {
    let num_frames = block.len();
    let mut buffer = Buffer::default();
    // SAFETY: the slice points into `block`, which outlives `buffer` (dropped at return).
    unsafe {
        buffer.set_slices(num_frames, |slices| slices.push(block.as_mut_slice()));
    }
    let mut aux = AuxiliaryBuffers {
        inputs: &mut [],
        outputs: &mut [],
    };
    plugin.process(&mut buffer, &mut aux, context);
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
    *params.model_dir.write() = Some(golden_mulan());
    *params.labels_dir.write() = Some(vocabulary);
    *params.heads_dir.write() = Some(heads);
    *params.key_method.write() = Some(ProfileKind::Temperley.name().to_owned());
    *params.text_queries.write() = vec!["calm ambient pads".to_owned()];
    set_plain(&params, "window", 2.0);
    set_plain(&params, "hop", 0.5);

    let sample_rate_hz = 48_000.0;
    let config = BufferConfig {
        sample_rate: sample_rate_hz,
        min_buffer_size: None,
        max_buffer_size: 512,
        process_mode: ProcessMode::Realtime,
    };
    assert!(plugin.activate(&MuqLive::AUDIO_IO_LAYOUTS[1], &config, &mut NoHost));
    let spec = ClipSpec {
        duration_s: 6.0,
        ..ClipSpec::new(Key::new(9, Mode::Minor), Style::Groove, 3)
    };
    let music = render_clip(&spec, sample_rate_hz as u32).unwrap();
    let mut context = StoppedTransport(Transport::new(sample_rate_hz));
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
        let config = BufferConfig {
            sample_rate: sample_rate_hz,
            min_buffer_size: None,
            max_buffer_size: 512,
            process_mode: ProcessMode::Realtime,
        };
        assert!(
            plugin.activate(&MuqLive::AUDIO_IO_LAYOUTS[1], &config, &mut NoHost),
            "activation at {sample_rate_hz} Hz"
        );
        let mut context = StoppedTransport(Transport::new(sample_rate_hz));
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
