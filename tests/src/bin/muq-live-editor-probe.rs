//! The standalone MuQ Live (nice-plug's `standalone` wrapper) as a fixture for the editor
//! screenshot test; built by this crate so that its tests find it through
//! `CARGO_BIN_EXE_muq-live-editor-probe`.
//!
//! A thin wrapper plugin runs the real `MuqLive` (its `process()`, worker, analyzer and editor)
//! and, for the test, takes settings from the environment:
//! - `MUQ_PROBE_MODEL_DIR`: the persisted model folder, set before activation;
//! - `MUQ_PROBE_HEADS_DIR`, `MUQ_PROBE_KEY_METHOD`: the persisted probe-heads folder
//!   (`heads-dir`) and key method (`key-method`, e.g. `probe:key`), restored the way a host
//!   restores a saved state;
//! - `MUQ_PROBE_WINDOW_S`, `MUQ_PROBE_HOP_S`: the window and hop parameters;
//! - `MUQ_PROBE_FEED_S`: replace the backend's input (silence with `--backend dummy`) with
//!   synthesised music for this many seconds (`inf`: forever), then stop calling
//!   `MuqLive::process()`, as a host that stopped playing; unset: pass the input through;
//! - `MUQ_PROBE_EDITOR_SIZE`: `WIDTHxHEIGHT`, the persisted editor size;
//! - `MUQ_PROBE_RECORD`: a file the editor's frame record is written to (JSON, every 100 ms).

use muq_engine::heads::key::{Key, Mode};
use muq_live::MuqLive;
use muq_live::params::EditorSize;
use muq_live_tests::torture::{FakeActivateContext, FakeProcessContext};
use muq_synth::{ClipSpec, Style, render_clip};
use nice_plug::prelude::*;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Length of the synthesised clip that is looped, in seconds.
const CLIP_S: f32 = 8.0;

/// `MuqLive` with a test input in front of it.
struct Probe {
    inner: MuqLive,
    /// Seconds of music to feed; `None`: pass the host's input through.
    feed_s: Option<f32>,
    /// The music, rendered at the activation's sample rate.
    music: Vec<f32>,
    /// Next sample of `music`.
    music_idx: usize,
    /// Samples fed since activation.
    num_fed: u64,
    /// Samples to feed at this sample rate (`u64::MAX`: forever).
    feed_limit: u64,
    /// Handed to `MuqLive::process()`.
    context: FakeProcessContext,
}

fn env_f32(name: &str) -> Option<f32> {
    std::env::var(name).ok()?.trim().parse().ok()
}

/// Sets a parameter from its plain value, as a host would.
fn set_param(params: &dyn Params, id: &str, plain: f32) {
    for (param_id, ptr, _) in params.param_map() {
        if param_id == id {
            // SAFETY: the pointer comes from the live params object, which outlives this call.
            unsafe {
                let normalized = ptr.preview_normalized(plain);
                ptr._internal_set_normalized_value(normalized);
            }
        }
    }
}

/// Restores `heads-dir` and `key-method` from `MUQ_PROBE_HEADS_DIR` and `MUQ_PROBE_KEY_METHOD`
/// through the plugin's persisted-state path (`Params::deserialize_fields`, JSON values).
fn restore_engine_settings(params: &dyn Params) {
    let mut state = std::collections::BTreeMap::new();
    for (key, var) in [
        ("heads-dir", "MUQ_PROBE_HEADS_DIR"),
        ("key-method", "MUQ_PROBE_KEY_METHOD"),
    ] {
        if let Ok(value) = std::env::var(var) {
            state.insert(key.to_owned(), serde_json::Value::String(value).to_string());
        }
    }
    if !state.is_empty() {
        params.deserialize_fields(&state);
    }
}

/// Writes the frame record to `path` every 100 ms (through a temporary file, so readers never
/// see half a record).
fn spawn_record_writer(inner: &MuqLive, path: PathBuf) {
    let record = inner.frame_record();
    let tmp = path.with_extension("tmp");
    std::thread::spawn(move || {
        loop {
            let json = record.lock().to_json();
            if std::fs::write(&tmp, json).is_ok() {
                let _ = std::fs::rename(&tmp, &path);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    });
}

impl Default for Probe {
    fn default() -> Self {
        let inner = MuqLive::default();
        let params = inner.params_arc();
        if let Some(dir) = std::env::var_os("MUQ_PROBE_MODEL_DIR") {
            *params.model_dir.write() = Some(PathBuf::from(dir));
        }
        restore_engine_settings(params.as_ref());
        if let Some(window_s) = env_f32("MUQ_PROBE_WINDOW_S") {
            set_param(params.as_ref(), "window", window_s);
        }
        if let Some(hop_s) = env_f32("MUQ_PROBE_HOP_S") {
            set_param(params.as_ref(), "hop", hop_s);
        }
        if let Ok(size) = std::env::var("MUQ_PROBE_EDITOR_SIZE")
            && let Some((width, height)) = size.split_once('x')
            && let (Ok(width), Ok(height)) = (width.parse(), height.parse())
        {
            *params.editor_size.write() = Some(EditorSize { width, height });
        }
        if let Some(path) = std::env::var_os("MUQ_PROBE_RECORD") {
            spawn_record_writer(&inner, PathBuf::from(path));
        }
        Self {
            inner,
            feed_s: env_f32("MUQ_PROBE_FEED_S"),
            music: Vec::new(),
            music_idx: 0,
            num_fed: 0,
            feed_limit: 0,
            context: FakeProcessContext::new(48_000.0),
        }
    }
}

impl Plugin for Probe {
    const NAME: &'static str = MuqLive::NAME;
    const VENDOR: &'static str = MuqLive::VENDOR;
    const URL: &'static str = MuqLive::URL;
    const EMAIL: &'static str = MuqLive::EMAIL;
    const VERSION: &'static str = MuqLive::VERSION;
    const AUDIO_IO_LAYOUTS: &'static [AudioIOLayout] = MuqLive::AUDIO_IO_LAYOUTS;

    type SysExMessage = ();
    type BackgroundTask = ();
    type Editor = <MuqLive as Plugin>::Editor;

    fn params(&self) -> Arc<dyn Params> {
        self.inner.params()
    }

    fn editor(&mut self, _async_executor: AsyncExecutor<Self>) -> Option<Self::Editor> {
        self.inner.build_editor()
    }

    fn activate(
        &mut self,
        audio_io_layout: &AudioIOLayout,
        buffer_config: &BufferConfig,
        _context: &mut impl ActivateContext<Self>,
    ) -> bool {
        let sample_rate_hz = buffer_config.sample_rate;
        if let Some(feed_s) = self.feed_s {
            let spec = ClipSpec {
                duration_s: CLIP_S,
                ..ClipSpec::new(Key::new(9, Mode::Minor), Style::Groove, 7)
            };
            match render_clip(&spec, sample_rate_hz.round() as u32) {
                Ok(music) => self.music = music,
                Err(err) => {
                    eprintln!("probe: cannot synthesise the test music: {err}");
                    return false;
                }
            }
            self.feed_limit = if feed_s.is_finite() {
                (feed_s.max(0.0) * sample_rate_hz) as u64
            } else {
                u64::MAX
            };
        }
        self.music_idx = 0;
        self.num_fed = 0;
        self.context = FakeProcessContext::new(sample_rate_hz);
        self.inner
            .activate(audio_io_layout, buffer_config, &mut FakeActivateContext)
    }

    fn process(
        &mut self,
        buffer: &mut Buffer,
        aux: &mut AuxiliaryBuffers,
        _context: &mut impl ProcessContext<Self>,
    ) -> ProcessStatus {
        if self.feed_s.is_some() {
            if self.num_fed >= self.feed_limit || self.music.is_empty() {
                return ProcessStatus::Normal;
            }
            for mut frame in buffer.iter_samples() {
                let sample = self.music[self.music_idx];
                self.music_idx = (self.music_idx + 1) % self.music.len();
                for channel_sample in frame.iter_mut() {
                    *channel_sample = sample;
                }
            }
            self.num_fed += buffer.samples() as u64;
        }
        self.inner.process(buffer, aux, &mut self.context)
    }

    fn deactivate(&mut self) {
        self.inner.deactivate();
    }
}

fn main() {
    nice_plug::prelude::nice_export_standalone::<Probe>();
}
