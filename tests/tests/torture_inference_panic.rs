//! A panic on MuqAnalyzer's own inference thread (standing in for a model bug), through the real
//! plugin: the thread dies without the worker seeing a panic, the analyzer reports itself
//! unhealthy, the worker's restart wrapper rebuilds it (settings and model folder replayed), and
//! the readouts come back, while the audio passes bit-exact with nothing dropped.

use anyhow::{Result, bail};
use muq_engine::analysis::AnalyzerOptions;
use muq_engine::bridge::EngineSnapshot;
use muq_live::MuqLive;
use muq_live_tests::test_signal;
use muq_live_tests::torture::{
    FakeProcessContext, activate, golden_case, process_looped_block, set_param,
};
use nice_plug::prelude::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const SAMPLE_RATE_HZ: f32 = 48_000.0;
const BLOCK_LEN: usize = 1_024;
/// Windows whose hook panics before the model runs normally.
const NUM_PANICS: u64 = 2;

#[test]
fn a_panic_on_the_inference_thread_restarts_the_analysis() -> Result<()> {
    let started = Instant::now();
    let cache = tempfile::tempdir()?;
    let mulan = golden_case(|c| c.get("mulan").is_some())?;
    let num_calls = Arc::new(AtomicU64::new(0));
    let hook_calls = Arc::clone(&num_calls);
    let mut options = AnalyzerOptions::new();
    options.model.cache_dir = Some(cache.path().to_path_buf());
    options.before_window = Some(Arc::new(move |_stop: &std::sync::atomic::AtomicBool| {
        if hook_calls.fetch_add(1, Ordering::SeqCst) < NUM_PANICS {
            panic!("injected model panic (test)");
        }
    }));
    let mut plugin = MuqLive::with_analyzer_options(options);
    *plugin.params_arc().model_dir.write() = Some(mulan);
    set_param(&plugin, "Window", 2.0)?;
    set_param(&plugin, "Hop", 0.5)?;
    if !activate(&mut plugin, 0, SAMPLE_RATE_HZ, BLOCK_LEN as u32) {
        bail!("activation failed");
    }
    let link = plugin.editor_link();
    let mut context = FakeProcessContext::new(SAMPLE_RATE_HZ);
    let inputs: Vec<Vec<f32>> = (0..2)
        .map(|c| test_signal(SAMPLE_RATE_HZ as usize * 4, c, SAMPLE_RATE_HZ))
        .collect();
    let mut channels = vec![vec![0.0_f32; BLOCK_LEN]; 2];
    let mut snapshot = EngineSnapshot::default();
    let (mut num_blocks, mut num_frames) = (0_usize, 0_usize);
    let mut max_restarts = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    // Feed at about 4x real time until the analysis has recovered and analysed windows again.
    loop {
        process_looped_block(
            &mut plugin,
            &mut context,
            &inputs,
            &mut channels,
            num_frames,
            "inference panic",
        )?;
        num_blocks += 1;
        num_frames += BLOCK_LEN;
        std::thread::sleep(Duration::from_secs_f32(
            BLOCK_LEN as f32 / SAMPLE_RATE_HZ / 4.0,
        ));
        link.copy_latest(&mut snapshot);
        max_restarts = max_restarts.max(snapshot.num_analyzer_restarts);
        let r = &snapshot.readouts;
        if max_restarts >= NUM_PANICS && r.num_windows_analysed >= 3 && !r.instruments.is_empty() {
            break;
        }
        if Instant::now() > deadline {
            bail!(
                "no recovery after {:.0} s of audio: {} restarts, {} hook calls, {snapshot:?}",
                num_frames as f32 / SAMPLE_RATE_HZ,
                max_restarts,
                num_calls.load(Ordering::SeqCst)
            );
        }
    }
    let r = &snapshot.readouts;
    println!(
        "inference panic: {NUM_PANICS} injected panics -> {max_restarts} analyzer restarts; \
         recovered after {:.1} s of audio: {} windows analysed, top instrument {:?}; dropped {}, \
         passthrough bit-exact in {num_blocks} blocks; {:.1} s",
        num_frames as f32 / SAMPLE_RATE_HZ,
        r.num_windows_analysed,
        r.instruments.first().map(|s| &s.label),
        snapshot.dropped_samples,
        started.elapsed().as_secs_f32()
    );
    assert!(max_restarts >= NUM_PANICS);
    assert_eq!(snapshot.dropped_samples, 0, "{snapshot:?}");
    assert!(r.instruments.iter().all(|s| s.score.is_finite()));
    assert!(num_calls.load(Ordering::SeqCst) > NUM_PANICS);
    plugin.deactivate();
    Ok(())
}
