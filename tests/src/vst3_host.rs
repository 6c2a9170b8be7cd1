//! A minimal VST3 host driven call by call, so a test can reproduce the exact call order of a
//! particular host: Carla and its plugin discovery (`carla-discovery-native vst3`) activate a
//! component *before* `IAudioProcessor::setupProcessing()`, which the VST3 specification orders
//! the other way round. pedalboard (JUCE) follows the specification, so only a host of our own
//! can check the other order in the test suite.
//!
//! It loads the library inside a `.vst3` bundle, instantiates the first "Audio Module Class",
//! and exposes the `IComponent` / `IAudioProcessor` calls a host makes, returning their raw
//! `tresult`s for the test to judge.

use anyhow::{Context, Result, bail, ensure};
use std::ffi::{CStr, c_void};
use std::path::Path;
use std::ptr;
use vst3::ComPtr;
use vst3::Interface;
use vst3::Steinberg::Vst::{
    AudioBusBuffers, AudioBusBuffers__type0, BusDirections_, IAudioProcessor, IAudioProcessorTrait,
    IComponent, IComponentTrait, MediaTypes_, ProcessData, ProcessModes_, ProcessSetup,
    SymbolicSampleSizes_,
};
use vst3::Steinberg::{
    IPluginBaseTrait, IPluginFactory, IPluginFactoryTrait, PClassInfo, kResultOk, tresult,
};

/// `tresult` of a successful call.
pub const RESULT_OK: tresult = kResultOk;

/// One instance of a bundle's audio component. Dropping it terminates and releases the component;
/// the library stays loaded for the life of the process (threads the plugin shares between its
/// instances may outlive one instance, as they may in a DAW, so unloading could pull code from
/// under them).
pub struct Vst3Instance {
    component: ComPtr<IComponent>,
    processor: ComPtr<IAudioProcessor>,
    _library: std::mem::ManuallyDrop<libloading::Library>,
}

impl Vst3Instance {
    /// Loads `bundle/Contents/<arch>-linux/<name>.so`, calls `ModuleEntry` as Linux hosts do,
    /// creates and initialises the first audio component.
    pub fn load(bundle: &Path) -> Result<Self> {
        let library_path = bundle_library(bundle)?;
        // SAFETY: loading a plugin library runs its initialisers; this is what a host does.
        let library = unsafe { libloading::Library::new(&library_path) }
            .with_context(|| format!("loading {}", library_path.display()))?;
        // SAFETY: symbol types as declared by the VST3 SDK (ivstpluginfactory / moduleinit).
        let (component, processor) = unsafe {
            let module_entry = library
                .get::<unsafe extern "C" fn(*mut c_void) -> bool>(b"ModuleEntry\0")
                .context("the library exports no ModuleEntry")?;
            ensure!(module_entry(ptr::null_mut()), "ModuleEntry returned false");
            let get_factory = library
                .get::<unsafe extern "system" fn() -> *mut IPluginFactory>(b"GetPluginFactory\0")
                .context("the library exports no GetPluginFactory")?;
            let factory = ComPtr::from_raw(get_factory())
                .context("GetPluginFactory returned a null factory")?;
            let component = create_audio_component(&factory)?;
            let result = component.initialize(ptr::null_mut());
            ensure!(
                result == RESULT_OK,
                "IComponent::initialize returned {result}"
            );
            let processor = component
                .cast::<IAudioProcessor>()
                .context("the component implements no IAudioProcessor")?;
            (component, processor)
        };
        Ok(Self {
            component,
            processor,
            _library: std::mem::ManuallyDrop::new(library),
        })
    }

    pub fn can_process_f32(&self) -> tresult {
        // SAFETY: a plain call on a live component.
        unsafe {
            self.processor
                .canProcessSampleSize(SymbolicSampleSizes_::kSample32 as i32)
        }
    }

    pub fn set_active(&self, active: bool) -> tresult {
        // SAFETY: a plain call on a live component.
        unsafe { self.component.setActive(u8::from(active)) }
    }

    pub fn setup_processing(&self, sample_rate_hz: f64, max_block_size: usize) -> tresult {
        let mut setup = ProcessSetup {
            processMode: ProcessModes_::kRealtime as i32,
            symbolicSampleSize: SymbolicSampleSizes_::kSample32 as i32,
            maxSamplesPerBlock: i32::try_from(max_block_size).unwrap_or(i32::MAX),
            sampleRate: sample_rate_hz,
        };
        // SAFETY: `setup` outlives the call.
        unsafe { self.processor.setupProcessing(&mut setup) }
    }

    /// Activates every audio input and output bus, as Carla's discovery does.
    pub fn activate_audio_buses(&self) -> Result<()> {
        for direction in [BusDirections_::kInput, BusDirections_::kOutput] {
            // SAFETY: plain calls on a live component.
            let num_buses = unsafe {
                self.component
                    .getBusCount(MediaTypes_::kAudio as i32, direction as i32)
            };
            for bus_idx in 0..num_buses {
                let result = unsafe {
                    self.component.activateBus(
                        MediaTypes_::kAudio as i32,
                        direction as i32,
                        bus_idx,
                        1,
                    )
                };
                ensure!(
                    result == RESULT_OK,
                    "activateBus({direction}, {bus_idx}) returned {result}"
                );
            }
        }
        Ok(())
    }

    pub fn set_processing(&self, processing: bool) -> tresult {
        // SAFETY: a plain call on a live component.
        unsafe { self.processor.setProcessing(u8::from(processing)) }
    }

    /// One `process()` call on the main stereo bus: `inputs` are copied into the host's input
    /// buffers, the plugin's output comes back. No parameter changes, events or context.
    pub fn process_stereo(&self, inputs: [&[f32]; 2]) -> Result<[Vec<f32>; 2]> {
        let num_samples = inputs[0].len();
        ensure!(
            inputs[1].len() == num_samples,
            "both channels need the same length"
        );
        let mut input_channels = [inputs[0].to_vec(), inputs[1].to_vec()];
        let mut output_channels = [vec![0.0_f32; num_samples], vec![0.0_f32; num_samples]];
        let mut input_ptrs = input_channels
            .each_mut()
            .map(|channel| channel.as_mut_ptr());
        let mut output_ptrs = output_channels
            .each_mut()
            .map(|channel| channel.as_mut_ptr());
        let mut input_bus = stereo_bus(&mut input_ptrs);
        let mut output_bus = stereo_bus(&mut output_ptrs);
        let mut data = ProcessData {
            processMode: ProcessModes_::kRealtime as i32,
            symbolicSampleSize: SymbolicSampleSizes_::kSample32 as i32,
            numSamples: i32::try_from(num_samples).context("block too long")?,
            numInputs: 1,
            numOutputs: 1,
            inputs: &mut input_bus,
            outputs: &mut output_bus,
            inputParameterChanges: ptr::null_mut(),
            outputParameterChanges: ptr::null_mut(),
            inputEvents: ptr::null_mut(),
            outputEvents: ptr::null_mut(),
            processContext: ptr::null_mut(),
        };
        // SAFETY: every buffer `data` points to lives until the end of this function.
        let result = unsafe { self.processor.process(&mut data) };
        ensure!(
            result == RESULT_OK,
            "IAudioProcessor::process returned {result}"
        );
        Ok(output_channels)
    }
}

impl Drop for Vst3Instance {
    fn drop(&mut self) {
        // SAFETY: a plain call on a live component.
        unsafe {
            self.component.terminate();
        }
    }
}

fn stereo_bus(channel_ptrs: &mut [*mut f32; 2]) -> AudioBusBuffers {
    AudioBusBuffers {
        numChannels: 2,
        silenceFlags: 0,
        __field0: AudioBusBuffers__type0 {
            channelBuffers32: channel_ptrs.as_mut_ptr(),
        },
    }
}

/// The shared library inside a Linux `.vst3` bundle.
fn bundle_library(bundle: &Path) -> Result<std::path::PathBuf> {
    let arch_dir = bundle
        .join("Contents")
        .join(format!("{}-linux", std::env::consts::ARCH));
    let stem = bundle
        .file_stem()
        .context("the bundle path has no name")?
        .to_string_lossy()
        .into_owned();
    let library = arch_dir.join(format!("{stem}.so"));
    ensure!(library.exists(), "{} does not exist", library.display());
    Ok(library)
}

/// Creates the factory's first class of category "Audio Module Class" as an `IComponent`.
///
/// # Safety
/// `factory` must be a live plugin factory.
unsafe fn create_audio_component(factory: &ComPtr<IPluginFactory>) -> Result<ComPtr<IComponent>> {
    let num_classes = unsafe { factory.countClasses() };
    for class_idx in 0..num_classes {
        // SAFETY: PClassInfo is plain old data; the factory fills it in.
        let mut info: PClassInfo = unsafe { std::mem::zeroed() };
        let result = unsafe { factory.getClassInfo(class_idx, &mut info) };
        ensure!(
            result == RESULT_OK,
            "getClassInfo({class_idx}) returned {result}"
        );
        // SAFETY: the category is a NUL-terminated string inside its fixed array.
        let category = unsafe { CStr::from_ptr(info.category.as_ptr()) };
        if category.to_bytes() != b"Audio Module Class" {
            continue;
        }
        let mut object: *mut c_void = ptr::null_mut();
        let result = unsafe {
            factory.createInstance(
                info.cid.as_ptr(),
                IComponent::IID.as_ptr().cast(),
                &mut object,
            )
        };
        ensure!(result == RESULT_OK, "createInstance returned {result}");
        // SAFETY: createInstance handed us one reference to an IComponent.
        return unsafe { ComPtr::from_raw(object.cast::<IComponent>()) }
            .context("createInstance returned a null object");
    }
    bail!("the factory has no audio component class")
}
