//! Helpers for the torture tests (`tests/tests/torture_*.rs`): a seeded RNG, the golden fixture
//! folder, catching panics with the case that caused them, and a fake host context for driving
//! `MuqLive::process()` in-process.

pub mod fuzz;

use anyhow::{Context, Result, bail};
use muq_live::MuqLive;
use nice_plug::context::process::SendEventError;
use nice_plug::prelude::*;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

/// The project's SplitMix64 (`muq_engine::nn::random_init`) with the draws the torture tests
/// use, so every torture run is the same.
#[derive(Debug, Clone)]
pub struct SplitMix64(muq_engine::nn::random_init::SplitMix64);

impl SplitMix64 {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(muq_engine::nn::random_init::SplitMix64::new(seed))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in `0..bound` (0 when `bound` is 0).
    pub fn below(&mut self, bound: usize) -> usize {
        if bound == 0 {
            return 0;
        }
        (self.next_u64() % bound as u64) as usize
    }

    /// Uniform in `[-1, 1)`.
    pub fn signed_unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }

    /// One element of `items` (`items` must not be empty).
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// The golden fixtures: `MUQ_GOLDEN_DIR`, else `<workspace>/../shared/golden`.
pub fn golden_dir() -> Result<PathBuf> {
    let dir = match std::env::var_os("MUQ_GOLDEN_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => crate::workspace_root()
            .join("..")
            .join("shared")
            .join("golden"),
    };
    if !dir.is_dir() {
        bail!(
            "golden fixtures not found at {} (set MUQ_GOLDEN_DIR)",
            dir.display()
        );
    }
    Ok(dir)
}

/// The first golden case folder whose parsed `config.json` satisfies `pred`.
pub fn golden_case(pred: impl Fn(&serde_json::Value) -> bool) -> Result<PathBuf> {
    let root = golden_dir()?;
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .with_context(|| format!("reading {}", root.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.join("config.json").is_file())
        .collect();
    dirs.sort();
    for dir in dirs {
        let text = std::fs::read_to_string(dir.join("config.json"))?;
        let config: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("parsing {}/config.json", dir.display()))?;
        if pred(&config) {
            return Ok(dir);
        }
    }
    bail!("no golden case under {} matches", root.display())
}

/// Simulated seconds of the long runs (the soak and the hostile-audio run): `MUQ_SOAK_S` when
/// set (`MUQ_SOAK_S=3600` for the full hour), else ten minutes, what CI runs.
pub fn soak_seconds() -> Result<f64> {
    match std::env::var("MUQ_SOAK_S") {
        Ok(text) => {
            let seconds: f64 = text
                .trim()
                .parse()
                .context("MUQ_SOAK_S must be a number of seconds")?;
            anyhow::ensure!(seconds >= 60.0, "MUQ_SOAK_S must be at least 60 seconds");
            Ok(seconds)
        }
        Err(_) => Ok(600.0),
    }
}

/// Runs `case`, turning a panic into an error that names `what` (the case and its seed).
pub fn no_panic<T>(what: &str, case: impl FnOnce() -> T) -> Result<T> {
    catch_unwind(AssertUnwindSafe(case)).map_err(|payload| {
        let msg = muq_engine::worker::panic_message(payload.as_ref());
        anyhow::anyhow!("PANIC in {what}: {msg}")
    })
}

/// An `ActivateContext` that does nothing, as a minimal host would.
pub struct FakeActivateContext;

impl ActivateContext<MuqLive> for FakeActivateContext {
    fn plugin_api(&self) -> PluginApi {
        PluginApi::Clap
    }
    fn execute(&self, _task: ()) {}
    fn set_latency_samples(&self, _samples: u32) {}
    fn set_current_voice_capacity(&self, _capacity: u32) {}
}

/// A `ProcessContext` with a fixed transport and no events.
pub struct FakeProcessContext {
    /// The transport `process()` sees.
    pub transport: Transport,
}

impl FakeProcessContext {
    /// A stopped transport at `sample_rate_hz`.
    pub fn new(sample_rate_hz: f32) -> Self {
        Self {
            transport: Transport::new(sample_rate_hz),
        }
    }
}

impl ProcessContext<MuqLive> for FakeProcessContext {
    fn plugin_api(&self) -> PluginApi {
        PluginApi::Clap
    }
    fn execute_background(&self, _task: ()) {}
    fn execute_gui(&self, _task: ()) {}
    fn transport(&self) -> &Transport {
        &self.transport
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

/// Activates `plugin` with `layout_idx` of `MuqLive::AUDIO_IO_LAYOUTS` at `sample_rate_hz`.
pub fn activate(
    plugin: &mut MuqLive,
    layout_idx: usize,
    sample_rate_hz: f32,
    max_buffer_size: u32,
) -> bool {
    let config = BufferConfig {
        sample_rate: sample_rate_hz,
        min_buffer_size: None,
        max_buffer_size,
        process_mode: ProcessMode::Realtime,
    };
    plugin.activate(
        &MuqLive::AUDIO_IO_LAYOUTS[layout_idx],
        &config,
        &mut FakeActivateContext,
    )
}

/// Copies the next `channels[..].len()` frames of the looped `inputs` (the stream so far has
/// played `num_frames_played` frames; the read offset wraps at `input length − block length`)
/// into `channels`, runs `process()` on them under `assert_no_alloc`, and checks the call
/// returned `Normal` and passed the audio through bit-exactly (`what` names the case in errors).
pub fn process_looped_block(
    plugin: &mut MuqLive,
    context: &mut FakeProcessContext,
    inputs: &[Vec<f32>],
    channels: &mut [Vec<f32>],
    num_frames_played: usize,
    what: &str,
) -> Result<()> {
    let num_frames = channels.first().map_or(0, Vec::len);
    let input_len = inputs.iter().map(Vec::len).min().unwrap_or(0);
    if input_len <= num_frames {
        bail!("{what}: inputs of {input_len} frames cannot loop blocks of {num_frames}");
    }
    let offset = num_frames_played % (input_len - num_frames);
    for (channel, input) in channels.iter_mut().zip(inputs) {
        channel.copy_from_slice(&input[offset..offset + num_frames]);
    }
    let status = process_block(plugin, context, channels, num_frames, true);
    if !matches!(status, ProcessStatus::Normal) {
        bail!("{what}: process returned {status:?}");
    }
    for (channel, input) in channels.iter().zip(inputs) {
        crate::assert_bit_exact(&input[offset..offset + num_frames], channel, what)?;
    }
    Ok(())
}

/// Runs one `process()` call over `channels[..][..num_frames]` in place; with `no_alloc`, the
/// call (and only the call: building the host buffer allocates) runs inside `assert_no_alloc`.
pub fn process_block(
    plugin: &mut MuqLive,
    context: &mut FakeProcessContext,
    channels: &mut [Vec<f32>],
    num_frames: usize,
    no_alloc: bool,
) -> ProcessStatus {
    let mut buffer = Buffer::default();
    // SAFETY: the slices point into `channels`, which outlives `buffer` (dropped at return).
    unsafe {
        buffer.set_slices(num_frames, |slices| {
            for channel in channels.iter_mut() {
                slices.push(&mut channel[..num_frames]);
            }
        });
    }
    let mut aux = AuxiliaryBuffers {
        inputs: &mut [],
        outputs: &mut [],
    };
    if no_alloc {
        nice_assert_no_alloc::assert_no_alloc(|| plugin.process(&mut buffer, &mut aux, context))
    } else {
        plugin.process(&mut buffer, &mut aux, context)
    }
}

/// Sets the parameter named `name` (e.g. "Window", "Hop") to `plain`, as a host would between
/// blocks; errors when no parameter has that name.
pub fn set_param(plugin: &MuqLive, name: &str, plain: f32) -> Result<()> {
    for (_id, ptr, _group) in plugin.params().param_map() {
        // SAFETY: `ptr` points into the plugin's parameters, which outlive this call; the plugin
        // is not processing on another thread (the test drives it from this one).
        unsafe {
            if ptr.name() == name {
                ptr._internal_set_normalized_value(ptr.preview_normalized(plain));
                return Ok(());
            }
        }
    }
    bail!("no parameter named {name}")
}

/// Resident memory of this process (`VmRSS` in `/proc/self/status`), in KiB.
pub fn rss_kib() -> Result<i64> {
    let kib = muq_cli::proc_stats::status_kib("VmRSS").context("no VmRSS in /proc/self/status")?;
    Ok(i64::try_from(kib)?)
}

/// Wraps the debug plugin library (allocation-checking `process()`) in a VST3 bundle folder
/// under `target/<folder>/` (a symlink: the library is hundreds of MB). Each test binary passes
/// its own `folder`, so test processes running at once never replace each other's link.
pub fn debug_vst3_bundle(folder: &str) -> Result<PathBuf> {
    let library = crate::debug_plugin_library()?;
    let bundle = crate::target_dir().join(folder).join("muq-live.vst3");
    let arch_dir = bundle
        .join("Contents")
        .join(format!("{}-linux", std::env::consts::ARCH));
    std::fs::create_dir_all(&arch_dir)
        .with_context(|| format!("creating {}", arch_dir.display()))?;
    let link = arch_dir.join("muq-live.so");
    if link.symlink_metadata().is_ok() {
        std::fs::remove_file(&link).with_context(|| format!("removing {}", link.display()))?;
    }
    std::os::unix::fs::symlink(&library, &link)
        .with_context(|| format!("linking {} to {}", link.display(), library.display()))?;
    Ok(bundle)
}
