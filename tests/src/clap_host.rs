//! A small CLAP test host on `clack-host`: loads a `.clap`, reads its descriptor, parameters and
//! state, and runs blocks of audio through it on the calling thread.

use anyhow::{Context, Result, bail};
use clack_extensions::audio_ports::{AudioPortInfoBuffer, PluginAudioPorts};
use clack_extensions::audio_ports_config::{AudioPortsConfigBuffer, PluginAudioPortsConfig};
use clack_extensions::params::{ParamInfoBuffer, ParamInfoFlags, PluginParams};
use clack_extensions::state::PluginState;
use clack_host::events::event_types::ParamValueEvent;
use clack_host::prelude::*;
use std::ffi::CStr;
use std::path::Path;

/// Host callbacks shared across threads; the plugin's requests are accepted and ignored, since
/// the test drives every call itself.
pub struct TestHostShared;

impl SharedHandler<'_> for TestHostShared {
    fn request_restart(&self) {}
    fn request_process(&self) {}
    fn request_callback(&self) {}
}

/// The host type: no main-thread or audio-thread state.
pub struct TestHost;

impl HostHandlers for TestHost {
    type Shared<'a> = TestHostShared;
    type MainThread<'a> = ();
    type AudioProcessor<'a> = ();
}

/// What the plugin's factory says about its one plugin.
#[derive(Debug, Clone)]
pub struct DescriptorInfo {
    pub id: String,
    pub name: String,
    pub vendor: String,
    pub version: String,
    pub features: Vec<String>,
}

/// One parameter as the plugin describes it.
#[derive(Debug, Clone)]
pub struct ParamDescription {
    pub id: ClapId,
    pub name: String,
    pub min_value: f64,
    pub max_value: f64,
    pub default_value: f64,
    /// `CLAP_PARAM_IS_BYPASS`: the host's bypass switch.
    pub is_bypass: bool,
}

/// A loaded plugin library and its descriptor.
pub struct LoadedClap {
    entry: PluginEntry,
    pub descriptor: DescriptorInfo,
}

fn cstr(value: Option<&CStr>) -> String {
    value
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

impl LoadedClap {
    /// Loads the library and reads the descriptor of its single plugin.
    pub fn load(path: &Path) -> Result<Self> {
        // SAFETY: loading runs the library's initialisers; we load only our own plugin.
        let entry = unsafe { PluginEntry::load(path) }
            .map_err(|err| anyhow::anyhow!("cannot load {}: {err:?}", path.display()))?;
        let factory = entry
            .get_plugin_factory()
            .context("the entry has no plugin factory")?;
        let descriptors: Vec<_> = factory.plugin_descriptors().collect();
        if descriptors.len() != 1 {
            bail!(
                "expected exactly one plugin in {}, found {}",
                path.display(),
                descriptors.len()
            );
        }
        let d = &descriptors[0];
        let descriptor = DescriptorInfo {
            id: cstr(d.id()),
            name: cstr(d.name()),
            vendor: cstr(d.vendor()),
            version: cstr(d.version()),
            features: d
                .features()
                .map(|f| f.to_string_lossy().into_owned())
                .collect(),
        };
        Ok(Self { entry, descriptor })
    }

    /// Creates a new instance of the plugin.
    pub fn instantiate(&self) -> Result<ClapInstance> {
        let host_info = HostInfo::new(
            "MuQ Live test host",
            "MuQ Live",
            "https://example.invalid",
            "0.1",
        )
        .map_err(|err| anyhow::anyhow!("host info: {err:?}"))?;
        let id = std::ffi::CString::new(self.descriptor.id.clone())?;
        let instance = PluginInstance::<TestHost>::new(
            |_| TestHostShared,
            |_| (),
            &self.entry,
            &id,
            &host_info,
        )
        .map_err(|err| anyhow::anyhow!("cannot instantiate: {err:?}"))?;
        Ok(ClapInstance { instance })
    }
}

/// A plugin instance on the main (= calling) thread.
pub struct ClapInstance {
    instance: PluginInstance<TestHost>,
}

impl ClapInstance {
    fn params_ext(&mut self) -> Result<PluginParams> {
        self.instance
            .plugin_handle()
            .get_extension()
            .context("the plugin has no params extension")
    }

    fn state_ext(&mut self) -> Result<PluginState> {
        self.instance
            .plugin_handle()
            .get_extension()
            .context("the plugin has no state extension")
    }

    /// The (input, output) main-port channel counts of every audio port configuration.
    pub fn layouts(&mut self) -> Result<Vec<(ClapId, u32, u32)>> {
        let ext: PluginAudioPortsConfig = self
            .instance
            .plugin_handle()
            .get_extension()
            .context("the plugin has no audio-ports-config extension")?;
        let handle = self.instance.plugin_handle();
        let mut out = Vec::new();
        for idx in 0..ext.count(&handle) {
            let mut buffer = AudioPortsConfigBuffer::new();
            let config = ext
                .get(&handle, idx, &mut buffer)
                .with_context(|| format!("config {idx}"))?;
            let channels = |port: Option<_>| {
                port.map_or(
                    0,
                    |p: clack_extensions::audio_ports_config::MainPortInfo| p.channel_count,
                )
            };
            out.push((
                config.id,
                channels(config.main_input),
                channels(config.main_output),
            ));
        }
        Ok(out)
    }

    /// Selects the audio port configuration with `num_channels` in and out (while inactive).
    pub fn select_layout(&mut self, num_channels: u32) -> Result<()> {
        let id = self
            .layouts()?
            .into_iter()
            .find(|&(_, num_in, num_out)| num_in == num_channels && num_out == num_channels)
            .map(|(id, _, _)| id)
            .with_context(|| format!("no {num_channels}-channel layout"))?;
        let ext: PluginAudioPortsConfig = self
            .instance
            .plugin_handle()
            .get_extension()
            .context("no audio-ports-config")?;
        ext.select(&self.instance.plugin_handle(), id)
            .map_err(|err| anyhow::anyhow!("select {num_channels}-channel layout: {err:?}"))
    }

    /// Channel counts of the current main input and output ports (audio-ports extension).
    pub fn main_port_channels(&mut self) -> Result<(u32, u32)> {
        let ext: PluginAudioPorts = self
            .instance
            .plugin_handle()
            .get_extension()
            .context("the plugin has no audio-ports extension")?;
        let handle = self.instance.plugin_handle();
        let mut channels = [0, 0];
        for (slot, is_input) in channels.iter_mut().zip([true, false]) {
            let mut buffer = AudioPortInfoBuffer::new();
            if ext.count(&handle, is_input) > 0 {
                *slot = ext
                    .get(&handle, 0, is_input, &mut buffer)
                    .context("port 0")?
                    .channel_count;
            }
        }
        Ok((channels[0], channels[1]))
    }

    /// Every parameter's description.
    pub fn params(&mut self) -> Result<Vec<ParamDescription>> {
        let ext = self.params_ext()?;
        let handle = self.instance.plugin_handle();
        let mut out = Vec::new();
        for idx in 0..ext.count(&handle) {
            let mut buffer = ParamInfoBuffer::new();
            let info = ext
                .get_info(&handle, idx, &mut buffer)
                .with_context(|| format!("param {idx}"))?;
            out.push(ParamDescription {
                id: info.id,
                name: String::from_utf8_lossy(info.name)
                    .trim_end_matches('\0')
                    .to_owned(),
                min_value: info.min_value,
                max_value: info.max_value,
                default_value: info.default_value,
                is_bypass: info.flags.contains(ParamInfoFlags::IS_BYPASS),
            });
        }
        Ok(out)
    }

    /// A parameter's current value (CLAP values of nice-plug plugins are normalised 0..1).
    pub fn param_value(&mut self, id: ClapId) -> Result<f64> {
        let ext = self.params_ext()?;
        ext.get_value(&self.instance.plugin_handle(), id)
            .context("get_value failed")
    }

    /// The plugin's saved state.
    pub fn save_state(&mut self) -> Result<Vec<u8>> {
        let ext = self.state_ext()?;
        let mut bytes = Vec::new();
        ext.save(&self.instance.plugin_handle(), &mut bytes)
            .map_err(|err| anyhow::anyhow!("state save: {err}"))?;
        Ok(bytes)
    }

    /// Loads a saved state.
    pub fn load_state(&mut self, bytes: &[u8]) -> Result<()> {
        let ext = self.state_ext()?;
        ext.load(
            &self.instance.plugin_handle(),
            &mut std::io::Cursor::new(bytes),
        )
        .map_err(|err| anyhow::anyhow!("state load: {err}"))
    }

    /// Activates at `sample_rate_hz`, runs `input` (one `Vec` per channel) through the plugin in
    /// blocks of `block_sizes` (cycled), with `param_changes` (id, value) sent in the first block,
    /// and returns the output channels. Deactivates before returning.
    pub fn process(
        &mut self,
        sample_rate_hz: f64,
        block_sizes: &[usize],
        input: &[Vec<f32>],
        param_changes: &[(ClapId, f64)],
    ) -> Result<Vec<Vec<f32>>> {
        let max_block = block_sizes.iter().copied().max().unwrap_or(1);
        let config = PluginAudioConfiguration {
            sample_rate: sample_rate_hz,
            min_frames_count: 1,
            max_frames_count: max_block as u32,
        };
        let processor = self
            .instance
            .activate(|_, _| (), config)
            .map_err(|err| anyhow::anyhow!("activate at {sample_rate_hz} Hz: {err:?}"))?;
        let mut processor = processor
            .start_processing()
            .map_err(|err| anyhow::anyhow!("start_processing: {err:?}"))?;

        let num_channels = input.len();
        let num_frames = input.first().map_or(0, Vec::len);
        let mut output: Vec<Vec<f32>> = vec![vec![0.0; num_frames]; num_channels];
        let mut in_block: Vec<Vec<f32>> = vec![vec![0.0; max_block]; num_channels];
        let mut out_block: Vec<Vec<f32>> = vec![vec![0.0; max_block]; num_channels];
        let mut input_ports = AudioPorts::with_capacity(num_channels, 1);
        let mut output_ports = AudioPorts::with_capacity(num_channels, 1);
        let param_events: Vec<ParamValueEvent> = param_changes
            .iter()
            .map(|&(id, value)| ParamValueEvent::new(0, id, Pckn::match_all(), value))
            .collect();
        let mut output_events = EventBuffer::new();

        let mut start = 0;
        let mut steady_time = 0_u64;
        let mut result = Ok(());
        for (block_idx, &block_size) in block_sizes.iter().cycle().enumerate() {
            if start >= num_frames {
                break;
            }
            let len = block_size.min(num_frames - start);
            for (block, channel) in in_block.iter_mut().zip(input) {
                block[..len].copy_from_slice(&channel[start..start + len]);
            }
            for block in &mut out_block {
                block[..len].fill(f32::NAN); // a plugin that writes nothing fails the compare
            }
            let events: &[ParamValueEvent] = if block_idx == 0 { &param_events } else { &[] };
            let input_events = InputEvents::from_buffer(&events);
            let mut output_events_io = OutputEvents::from_buffer(&mut output_events);
            let input_audio = input_ports.with_input_buffers([AudioPortBuffer {
                latency: 0,
                channels: AudioPortBufferType::f32_input_only(
                    in_block
                        .iter_mut()
                        .map(|b| InputChannel::variable(&mut b[..len])),
                ),
            }]);
            let mut output_audio = output_ports.with_output_buffers([AudioPortBuffer {
                latency: 0,
                channels: AudioPortBufferType::f32_output_only(
                    out_block.iter_mut().map(|b| &mut b[..len]),
                ),
            }]);
            if let Err(err) = processor.process(
                &input_audio,
                &mut output_audio,
                &input_events,
                &mut output_events_io,
                Some(steady_time),
                None,
            ) {
                result = Err(anyhow::anyhow!(
                    "process block {block_idx} ({len} frames): {err:?}"
                ));
                break;
            }
            for (channel, block) in output.iter_mut().zip(&out_block) {
                channel[start..start + len].copy_from_slice(&block[..len]);
            }
            start += len;
            steady_time += len as u64;
        }
        let stopped = processor.stop_processing();
        self.instance.deactivate(stopped);
        result.map(|()| output)
    }
}
