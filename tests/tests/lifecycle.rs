//! The plugin's worker lifecycle as hosts drive it: re-activation without deactivation, a bad
//! sample rate, deactivation and drop all leave exactly the right worker running (or none).

use muq_engine::bridge::{EngineSnapshot, WorkerState};
use muq_live::MuqLive;
use muq_live::editor::EditorLink;
use nice_plug::prelude::*;
use std::time::{Duration, Instant};

struct FakeActivateContext;

impl ActivateContext<MuqLive> for FakeActivateContext {
    fn plugin_api(&self) -> PluginApi {
        PluginApi::Vst3
    }
    fn execute(&self, _task: ()) {}
    fn set_latency_samples(&self, _samples: u32) {}
    fn set_current_voice_capacity(&self, _capacity: u32) {}
}

fn activate(plugin: &mut MuqLive, sample_rate_hz: f32) -> bool {
    let config = BufferConfig {
        sample_rate: sample_rate_hz,
        min_buffer_size: None,
        max_buffer_size: 512,
        process_mode: ProcessMode::Realtime,
    };
    plugin.activate(
        &MuqLive::AUDIO_IO_LAYOUTS[0],
        &config,
        &mut FakeActivateContext,
    )
}

/// Waits until the editor link shows a snapshot matching `pred`.
fn wait_for(
    link: &EditorLink,
    what: &str,
    pred: impl Fn(&EngineSnapshot) -> bool,
) -> EngineSnapshot {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut snapshot = EngineSnapshot::default();
    loop {
        link.copy_latest(&mut snapshot);
        if pred(&snapshot) {
            return snapshot;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {snapshot:?}"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn reactivation_replaces_the_worker_and_deactivation_stops_it() {
    let mut plugin = MuqLive::default();
    let link = plugin.editor_link();
    assert!(activate(&mut plugin, 44_100.0));
    wait_for(&link, "first worker", |s| {
        s.sample_rate_hz == 44_100.0 && s.state == WorkerState::Running
    });
    // Hosts may activate again without deactivating (e.g. a new sample rate).
    assert!(activate(&mut plugin, 96_000.0));
    let snapshot = wait_for(&link, "second worker", |s| {
        s.sample_rate_hz == 96_000.0 && s.state == WorkerState::Running
    });
    assert!(snapshot.ring_capacity_samples >= 20 * 96_000);
    assert!(plugin.is_worker_running());
    plugin.deactivate();
    assert!(!plugin.is_worker_running());
    wait_for(&link, "stopped", |s| s.state == WorkerState::Stopped);
}

#[test]
fn a_bad_sample_rate_fails_activation_without_a_worker() {
    let mut plugin = MuqLive::default();
    for sample_rate_hz in [0.0, -48_000.0, f32::NAN, f32::INFINITY] {
        assert!(
            !activate(&mut plugin, sample_rate_hz),
            "{sample_rate_hz} Hz was accepted"
        );
        assert!(!plugin.is_worker_running());
    }
    // A good rate afterwards still works, and so does any finite positive rate a validator
    // picks (the analysis declines what it cannot handle; the audio passes).
    for sample_rate_hz in [48_000.0, 1_234_567.8, 1.0e9, 8_000.0] {
        assert!(activate(&mut plugin, sample_rate_hz), "{sample_rate_hz} Hz");
        assert!(plugin.is_worker_running());
    }
}

#[test]
fn dropping_an_active_plugin_joins_its_worker() {
    let mut plugin = MuqLive::default();
    let link = plugin.editor_link();
    assert!(activate(&mut plugin, 48_000.0));
    wait_for(&link, "running", |s| s.state == WorkerState::Running);
    let started = Instant::now();
    drop(plugin);
    let drop_ms = started.elapsed().as_secs_f64() * 1000.0;
    // The last snapshot is published by the worker itself as it exits, before the join returns.
    let mut snapshot = EngineSnapshot::default();
    link.copy_latest(&mut snapshot);
    assert_eq!(snapshot.state, WorkerState::Stopped);
    assert!(drop_ms < 50.0, "dropping took {drop_ms:.1} ms");
}
