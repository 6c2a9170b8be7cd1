//! MuQ Live's VST3 under Carla's order of calls, driven by our own host
//! (`muq_live_tests::vst3_host`): Carla and `carla-discovery-native vst3` call
//! `IComponent::setActive(true)` before `IAudioProcessor::setupProcessing()`. Stock nice-plug
//! 0.4.2 refuses that activation, so Carla did not list the plugin; our patched copy
//! (`vendor/nice-plug`) activates with a default configuration and re-activates when the host's
//! configuration arrives.
//!
//! Each case runs on the release bundle and on the debug library wrapped in a VST3 folder, where
//! nice-plug's `assert_process_allocs` aborts the test on any allocation in `process()` (so the
//! re-activation is shown to leave the audio thread allocation-free). Host tests: run by
//! `scripts/test.sh`, or `cargo test -p muq-live-tests --test vst3_carla_order -- --ignored`.

use anyhow::Result;
use muq_live_tests::torture::debug_vst3_bundle;
use muq_live_tests::vst3_host::{RESULT_OK, Vst3Instance};
use muq_live_tests::{assert_bit_exact, test_signal, vst3_bundle};
use std::path::Path;

fn process_bit_exact(plugin: &Vst3Instance, num_frames: usize, sample_rate_hz: f32) -> Result<()> {
    let left = test_signal(num_frames, 0, sample_rate_hz);
    let right = test_signal(num_frames, 1, sample_rate_hz);
    let [out_left, out_right] = plugin.process_stereo([&left, &right])?;
    assert_bit_exact(&left, &out_left, "left")?;
    assert_bit_exact(&right, &out_right, "right")
}

/// The sequence of carla-discovery.cpp (`do_vst3_check`), call for call.
fn carla_discovery_sequence(bundle: &Path) -> Result<()> {
    let plugin = Vst3Instance::load(bundle)?;
    assert_eq!(plugin.can_process_f32(), RESULT_OK);
    assert_eq!(
        plugin.set_active(true),
        RESULT_OK,
        "setActive(true) before setupProcessing"
    );
    assert_eq!(plugin.setup_processing(44_100.0, 512), RESULT_OK);
    assert_eq!(plugin.set_active(false), RESULT_OK);
    plugin.activate_audio_buses()?;
    assert_eq!(plugin.set_active(true), RESULT_OK);
    assert_eq!(plugin.set_processing(true), RESULT_OK);
    process_bit_exact(&plugin, 512, 44_100.0)?;
    assert_eq!(plugin.set_processing(false), RESULT_OK);
    assert_eq!(plugin.set_active(false), RESULT_OK);
    Ok(())
}

/// Active with the default configuration (44.1 kHz, 8192 frames), then the host's configuration
/// arrives while active: 96 kHz and blocks twice the default's size pass through.
fn configuration_while_active(bundle: &Path) -> Result<()> {
    let plugin = Vst3Instance::load(bundle)?;
    assert_eq!(plugin.set_active(true), RESULT_OK);
    assert_eq!(plugin.setup_processing(96_000.0, 16_384), RESULT_OK);
    assert_eq!(plugin.set_processing(true), RESULT_OK);
    process_bit_exact(&plugin, 16_384, 96_000.0)?;
    process_bit_exact(&plugin, 7, 96_000.0)?;
    assert_eq!(plugin.set_processing(false), RESULT_OK);
    // The same configuration again while active changes nothing; a spec-following round after.
    assert_eq!(plugin.setup_processing(96_000.0, 16_384), RESULT_OK);
    assert_eq!(plugin.set_active(false), RESULT_OK);
    assert_eq!(plugin.setup_processing(48_000.0, 256), RESULT_OK);
    assert_eq!(plugin.set_active(true), RESULT_OK);
    assert_eq!(plugin.set_processing(true), RESULT_OK);
    process_bit_exact(&plugin, 256, 48_000.0)?;
    assert_eq!(plugin.set_processing(false), RESULT_OK);
    assert_eq!(plugin.set_active(false), RESULT_OK);
    Ok(())
}

/// A host that never calls setupProcessing processes with the default configuration.
fn never_set_up(bundle: &Path) -> Result<()> {
    let plugin = Vst3Instance::load(bundle)?;
    assert_eq!(plugin.set_active(true), RESULT_OK);
    assert_eq!(plugin.set_processing(true), RESULT_OK);
    process_bit_exact(&plugin, 8192, 44_100.0)?;
    assert_eq!(plugin.set_processing(false), RESULT_OK);
    assert_eq!(plugin.set_active(false), RESULT_OK);
    Ok(())
}

fn all_cases(bundle: &Path) -> Result<()> {
    carla_discovery_sequence(bundle)?;
    configuration_while_active(bundle)?;
    never_set_up(bundle)
}

#[test]
#[ignore = "needs target/bundled/muq-live.vst3: run scripts/test.sh"]
fn release_bundle_accepts_carlas_call_order() -> Result<()> {
    all_cases(&vst3_bundle()?)
}

#[test]
#[ignore = "host test: needs the debug plugin library; run with --ignored (scripts/test.sh)"]
fn debug_build_accepts_carlas_call_order_without_allocating() -> Result<()> {
    all_cases(&debug_vst3_bundle("carla-order-bundle")?)
}
