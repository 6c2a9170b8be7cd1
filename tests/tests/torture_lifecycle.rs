//! Activate/deactivate cycling as a restless host does it: up to 1 000 cycles (or ~20 s of them)
//! over changing sample rates and layouts, a few blocks processed in each, with the process's
//! thread count (`/proc/self/task`) and resident memory (`VmRSS`) compared before and after:
//! no thread may be left behind and RSS growth must stay bounded.
//!
//! The only test in this binary, so no other test's threads or memory blur the figures.

use anyhow::{Context, Result, bail};
use muq_live::MuqLive;
use muq_live_tests::test_signal;
use muq_live_tests::torture::{FakeProcessContext, activate, process_block, rss_kib};
use nice_plug::prelude::*;
use std::time::{Duration, Instant};

const MAX_CYCLES: usize = 1000;
const TIME_BUDGET: Duration = Duration::from_secs(20);
const NUM_WARMUP_CYCLES: usize = 20;
/// Allowed RSS growth over the measured cycles (allocator caches, lazily mapped pages).
const MAX_RSS_GROWTH_KIB: i64 = 4 * 1024;

/// Live threads of this process. A thread that was joined can stay listed in
/// `/proc/self/task` for a moment while the kernel releases it (state `Z`/`X`, or its stat
/// already gone); those are not counted.
fn num_threads() -> Result<usize> {
    let mut count = 0;
    for task in std::fs::read_dir("/proc/self/task").context("reading /proc/self/task")? {
        let Ok(stat) = std::fs::read_to_string(task?.path().join("stat")) else {
            continue;
        };
        let state = stat
            .rfind(')')
            .and_then(|idx| stat[idx + 1..].split_whitespace().next());
        if !matches!(state, Some("Z" | "X" | "x")) {
            count += 1;
        }
    }
    Ok(count)
}

/// The thread count once the just-stopped workers have fully exited (joined threads can take a
/// moment to leave /proc).
fn settled_threads(at_most: usize) -> Result<usize> {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let count = num_threads()?;
        if count <= at_most || Instant::now() > deadline {
            return Ok(count);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn cycle(plugin: &mut MuqLive, cycle_idx: usize, input: &[Vec<f32>]) -> Result<()> {
    let sample_rate_hz = [44_100.0, 48_000.0, 96_000.0][cycle_idx % 3];
    let layout_idx = cycle_idx % MuqLive::AUDIO_IO_LAYOUTS.len();
    if !activate(plugin, layout_idx, sample_rate_hz, 512) {
        bail!("cycle {cycle_idx}: activation at {sample_rate_hz} Hz failed");
    }
    if !plugin.is_worker_running() {
        bail!("cycle {cycle_idx}: no worker after activate");
    }
    let num_channels = MuqLive::AUDIO_IO_LAYOUTS[layout_idx]
        .main_output_channels
        .map_or(0, |n| n.get() as usize);
    let mut channels: Vec<Vec<f32>> = input[..num_channels].to_vec();
    let mut context = FakeProcessContext::new(sample_rate_hz);
    for _ in 0..4 {
        process_block(plugin, &mut context, &mut channels, 512, true);
    }
    // Hosts sometimes re-activate without deactivating; every fifth cycle does.
    if cycle_idx % 5 == 4 {
        return Ok(());
    }
    plugin.deactivate();
    if plugin.is_worker_running() {
        bail!("cycle {cycle_idx}: the worker survived deactivate");
    }
    Ok(())
}

#[test]
fn activate_deactivate_cycles_leave_no_threads_and_bounded_memory() -> Result<()> {
    let input: Vec<Vec<f32>> = (0..2).map(|c| test_signal(512, c, 48_000.0)).collect();
    // The process-wide inference pool lives as long as the process (shared by all instances,
    // started by the first load attempt): start it now so it counts as idle.
    muq_engine::analysis::cpu_budget::run_on_pool(|| ());
    let threads_idle = num_threads()?;
    let mut plugin = MuqLive::default();
    for cycle_idx in 0..NUM_WARMUP_CYCLES {
        cycle(&mut plugin, cycle_idx, &input)?;
    }
    plugin.deactivate();
    let threads_before = settled_threads(threads_idle)?;
    let rss_before_kib = rss_kib()?;

    let started = Instant::now();
    let mut num_cycles = 0;
    let mut max_threads = threads_before;
    while num_cycles < MAX_CYCLES && started.elapsed() < TIME_BUDGET {
        cycle(&mut plugin, NUM_WARMUP_CYCLES + num_cycles, &input)?;
        let mut now = num_threads()?;
        if now > threads_before + 2 {
            // A thread joined a moment ago may still be listed while the kernel releases it;
            // look again once before counting it (a real extra thread is still there).
            std::thread::sleep(Duration::from_millis(5));
            now = num_threads()?;
        }
        max_threads = max_threads.max(now);
        num_cycles += 1;
    }
    plugin.deactivate();
    let elapsed_s = started.elapsed().as_secs_f64();
    let threads_after = settled_threads(threads_before)?;
    let rss_after_kib = rss_kib()?;
    drop(plugin);
    let growth_kib = rss_after_kib - rss_before_kib;
    println!(
        "{num_cycles} activate/deactivate cycles in {elapsed_s:.1} s ({:.1} ms each, every 5th \
         a re-activation without deactivate); threads {threads_before} before, {threads_after} \
         after, {max_threads} at most; RSS {rss_before_kib} KiB before, {rss_after_kib} KiB \
         after ({growth_kib:+} KiB, {:+.2} KiB per cycle)",
        1000.0 * elapsed_s / num_cycles.max(1) as f64,
        growth_kib as f64 / num_cycles.max(1) as f64
    );
    assert!(
        num_cycles >= 100,
        "only {num_cycles} cycles fit in the budget"
    );
    assert_eq!(threads_after, threads_before, "threads were left behind");
    // One worker at a time (plus the one being replaced during re-activation).
    assert!(
        max_threads <= threads_before + 2,
        "{max_threads} threads at once"
    );
    assert!(
        growth_kib <= MAX_RSS_GROWTH_KIB,
        "RSS grew by {growth_kib} KiB over {num_cycles} cycles"
    );
    Ok(())
}
