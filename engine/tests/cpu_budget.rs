//! The process-wide inference pool: its size follows the "analysis threads" setting, its
//! threads run below normal priority, rayon work inside it stays on its threads, and
//! instances take turns in the order they asked. One test function, because the setting and
//! the pool are process-wide.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use muq_engine::analysis::cpu_budget::{
    POOL_THREAD_PREFIX, analysis_threads, default_analysis_threads, max_analysis_threads,
    num_queued, pool_threads_in_use, run_on_pool, set_analysis_threads, wait_turn,
};
use rayon::prelude::*;

/// Names of the threads that ran a parallel loop inside the pool.
fn threads_used() -> Vec<String> {
    let names = Mutex::new(Vec::new());
    run_on_pool(|| {
        (0..256).into_par_iter().for_each(|_| {
            std::thread::sleep(Duration::from_micros(200));
            let name = std::thread::current().name().unwrap_or("").to_owned();
            let mut names = names.lock().unwrap();
            if !names.contains(&name) {
                names.push(name);
            }
        });
    });
    names.into_inner().unwrap()
}

#[cfg(target_os = "linux")]
fn nice_of_thread_named(prefix: &str) -> Vec<i64> {
    let mut nices = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if !comm.trim().starts_with(prefix) {
            continue;
        }
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap();
        // Fields after the ")" of the command: state is field 3, nice is field 19.
        let after = &stat[stat.rfind(')').unwrap() + 2..];
        let nice: i64 = after.split_whitespace().nth(16).unwrap().parse().unwrap();
        nices.push(nice);
    }
    nices
}

#[test]
fn the_pool_follows_the_setting_runs_low_and_takes_turns_in_order() {
    assert_eq!(analysis_threads(), default_analysis_threads());
    assert!(default_analysis_threads() >= 1);
    assert!(default_analysis_threads() <= max_analysis_threads().div_ceil(2).max(1));

    set_analysis_threads(1);
    let used = threads_used();
    assert_eq!(
        used.len(),
        1,
        "one thread budget, one thread used: {used:?}"
    );
    assert!(used[0].starts_with(POOL_THREAD_PREFIX), "{used:?}");
    assert_eq!(pool_threads_in_use(), 1);
    #[cfg(target_os = "linux")]
    {
        // 10 is the nice we set; if the process itself already runs niced, it may be higher.
        let nices = nice_of_thread_named(POOL_THREAD_PREFIX);
        assert!(!nices.is_empty());
        assert!(
            nices.iter().all(|&n| n >= 10),
            "pool threads below normal: {nices:?}"
        );
    }

    let most = max_analysis_threads();
    set_analysis_threads(most + 5);
    assert_eq!(analysis_threads(), most, "clamped to the logical cores");
    let used = threads_used();
    assert!(used.len() <= most && used.iter().all(|n| n.starts_with(POOL_THREAD_PREFIX)));
    assert_eq!(pool_threads_in_use(), most);
    set_analysis_threads(0);
    assert_eq!(analysis_threads(), default_analysis_threads());

    // Turns: callers queue in order; a cancelled caller leaves the line.
    let first = wait_turn(&AtomicBool::new(false)).expect("free pool");
    let order = Arc::new(Mutex::new(Vec::new()));
    let cancelled = Arc::new(AtomicBool::new(false));
    let handles: Vec<_> = (0..3)
        .map(|idx| {
            let order = Arc::clone(&order);
            let cancel = if idx == 1 {
                Arc::clone(&cancelled)
            } else {
                Arc::new(AtomicBool::new(false))
            };
            let handle = std::thread::spawn(move || {
                if let Some(turn) = wait_turn(&cancel) {
                    order.lock().unwrap().push(idx);
                    std::thread::sleep(Duration::from_millis(20));
                    drop(turn);
                }
            });
            // Queue them in index order.
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while num_queued() < idx + 2 && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(2));
            }
            handle
        })
        .collect();
    assert_eq!(num_queued(), 4);
    cancelled.store(true, Ordering::Relaxed);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while num_queued() > 3 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(num_queued(), 3, "the cancelled caller left the line");
    assert!(
        order.lock().unwrap().is_empty(),
        "nobody runs before the holder is done"
    );
    drop(first);
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(
        *order.lock().unwrap(),
        vec![0, 2],
        "first come, first served"
    );
    assert_eq!(num_queued(), 0);
}
