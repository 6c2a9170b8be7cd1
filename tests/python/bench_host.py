"""MuQ Live at real size in a real host: the release VST3 in pedalboard, fed music-like audio in
512-frame blocks paced in real time, with a real-size MuQ-MuLan-large (`muq fixture`).

    .venv/bin/python tests/python/bench_host.py BUNDLE --model DIR [--seconds 150]
        [--scenario reactivate48,1x44k,2x44k,4x44k] [--json OUT] [--check]

Each scenario runs in a fresh Python process (so its memory is its own) and prints one line:
peak and steady RSS, inference cores used, threads, and the achieved hop of every instance
(read from the files the plugin writes when MUQ_LIVE_STATS_DIR is set). "Steady" is the
median RSS over the last third of the run; "cores" is process CPU time over wall time in that
stretch. The text-latent cache is warmed by a short run first, as a user's is after the first
session. --check exits non-zero unless peak <= 1.15 x steady in every scenario and instances
of one scenario share one model.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

BLOCK_FRAMES = 512
PEAK_TO_STEADY_MAX = 1.15


def read_status():
    fields = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def rss_mb():
    return int(read_status()["VmRSS"].split()[0]) / 1024.0


def cpu_s():
    t = os.times()
    return t.user + t.system


def analysis_threads():
    count = 0
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/comm") as f:
                if f.read().startswith("muq-analysis"):
                    count += 1
        except OSError:
            pass
    return count


def music(num_frames, rate_hz, seed):
    """Chords of decaying partials plus a little noise: enough to keep every stage busy."""
    rng = np.random.default_rng(seed)
    t = np.arange(num_frames) / rate_hz
    x = np.zeros(num_frames, dtype=np.float64)
    for root_hz in (220.0, 277.18, 329.63, 440.0):
        phase = rng.uniform(0, 2 * np.pi)
        x += 0.15 * np.sin(2 * np.pi * root_hz * t + phase) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * t))
    x += 0.02 * rng.standard_normal(num_frames)
    return np.stack([x, x]).astype(np.float32)


def child(args):
    import pedalboard

    instances, rate_plan = args.child_instances, args.child_rates
    plugins = [pedalboard.load_plugin(args.bundle) for _ in range(instances)]
    samples = []  # (elapsed s, rss MB, cpu s)
    stop = threading.Event()
    started = time.monotonic()

    def sample():
        while not stop.is_set():
            samples.append((time.monotonic() - started, rss_mb(), cpu_s()))
            time.sleep(0.25)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    # rate_plan: "44100" or "44100:2,48000" (seconds at each rate; the last one to the end).
    plan = []
    for part in rate_plan.split(","):
        rate, _, secs = part.partition(":")
        plan.append((int(rate), float(secs) if secs else None))
    deadline = started + args.seconds
    audio = {}
    block_idx = 0
    for rate_hz, secs in plan:
        if rate_hz not in audio:
            audio[rate_hz] = music(rate_hz * 20, rate_hz, seed=rate_hz)
        src = audio[rate_hz]
        until = min(deadline, time.monotonic() + secs) if secs else deadline
        block_s = BLOCK_FRAMES / rate_hz
        next_at = time.monotonic()
        while time.monotonic() < until:
            offset = (block_idx * BLOCK_FRAMES) % (src.shape[1] - BLOCK_FRAMES)
            block = src[:, offset : offset + BLOCK_FRAMES]
            for plugin in plugins:
                out = plugin.process(block, rate_hz, buffer_size=BLOCK_FRAMES, reset=False)
                if out.shape != block.shape:
                    raise SystemExit(f"output shape {out.shape}")
            block_idx += 1
            next_at += block_s
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    stop.set()
    sampler.join()
    status = read_status()
    elapsed = samples[-1][0]
    tail = [s for s in samples if s[0] >= elapsed * 2 / 3]
    steady = statistics.median(s[1] for s in tail)
    cores = (tail[-1][2] - tail[0][2]) / max(tail[-1][0] - tail[0][0], 1e-9)
    stats = []
    stats_dir = os.environ.get("MUQ_LIVE_STATS_DIR", "")
    if stats_dir:
        for name in sorted(os.listdir(stats_dir)):
            if name.startswith(f"muq-live-{os.getpid()}-") and name.endswith(".json"):
                with open(os.path.join(stats_dir, name)) as f:
                    stats.append(json.load(f))
    result = {
        "instances": instances,
        "rates": rate_plan,
        "seconds": round(elapsed, 1),
        "peak_rss_mb": round(max(int(status["VmHWM"].split()[0]) / 1024.0, max(s[1] for s in samples)), 1),
        "steady_rss_mb": round(steady, 1),
        "cores": round(cores, 2),
        "threads": int(status["Threads"]),
        "analysis_threads": analysis_threads(),
        "achieved_hop_s": [round(s.get("achieved_hop_s", 0.0), 2) for s in stats],
        "windows_analysed": [s.get("num_windows_analysed", 0) for s in stats],
        "model_users": [s.get("num_model_users", 0) for s in stats],
        "phase": [s.get("phase", "") for s in stats],
    }
    del plugins
    print("RESULT " + json.dumps(result), flush=True)


SCENARIOS = {
    "reactivate48": (1, "44100:3,48000"),
    "1x44k": (1, "44100"),
    "2x44k": (2, "44100"),
    "4x44k": (4, "44100"),
}


def run_scenario(args, name, seconds, env):
    instances, rates = SCENARIOS[name]
    with tempfile.TemporaryDirectory() as stats_dir:
        child_env = dict(env, MUQ_LIVE_STATS_DIR=stats_dir)
        cmd = [sys.executable, __file__, args.bundle, "--model", args.model, "--seconds", str(seconds),
               "--child-instances", str(instances), "--child-rates", rates]
        out = subprocess.run(cmd, env=child_env, capture_output=True, text=True, timeout=seconds + 600)
        lines = [l for l in out.stdout.splitlines() if l.startswith("RESULT ")]
        if out.returncode != 0 or not lines:
            raise SystemExit(f"scenario {name} failed ({out.returncode}):\n{out.stdout}\n{out.stderr[-4000:]}")
        result = json.loads(lines[-1][len("RESULT "):])
        result["scenario"] = name
        return result


def main():
    p = argparse.ArgumentParser()
    p.add_argument("bundle")
    p.add_argument("--model", required=True)
    p.add_argument("--seconds", type=float, default=150.0)
    p.add_argument("--scenario", default="reactivate48,1x44k,2x44k,4x44k")
    p.add_argument("--warmup-seconds", type=float, default=25.0)
    p.add_argument("--cache-dir", default=None)
    p.add_argument("--json", default=None)
    p.add_argument("--check", action="store_true")
    p.add_argument("--child-instances", type=int, default=0)
    p.add_argument("--child-rates", default="")
    args = p.parse_args()
    if args.child_instances:
        child(args)
        return
    cache_dir = args.cache_dir or os.path.join(args.model, ".bench-text-cache")
    env = dict(os.environ, MUQ_MODEL_DIR=args.model, MUQ_CACHE_DIR=cache_dir)
    print(f"host: pedalboard; model {args.model}; cpu: {cpu_model()}; {os.cpu_count()} logical cores", flush=True)
    if args.warmup_seconds > 0:
        warm = run_scenario(args, "1x44k", args.warmup_seconds, env)
        print(f"warm-up (fills the text-latent cache): peak {warm['peak_rss_mb']:.0f} MB", flush=True)
    results = []
    failures = []
    for name in args.scenario.split(","):
        r = run_scenario(args, name, args.seconds, env)
        results.append(r)
        print(
            f"{name:>12}: {r['instances']} instance(s) {r['rates']:>14} {r['seconds']:6.1f} s | "
            f"peak {r['peak_rss_mb']:7.0f} MB steady {r['steady_rss_mb']:7.0f} MB "
            f"(peak/steady {r['peak_rss_mb'] / r['steady_rss_mb']:.2f}) | cores {r['cores']:.2f} | "
            f"threads {r['threads']} (analysis {r['analysis_threads']}) | achieved hop {r['achieved_hop_s']} s | "
            f"windows {r['windows_analysed']} | model users {r['model_users']}",
            flush=True,
        )
        if r["peak_rss_mb"] > PEAK_TO_STEADY_MAX * r["steady_rss_mb"]:
            failures.append(f"{name}: peak {r['peak_rss_mb']} MB > {PEAK_TO_STEADY_MAX} x steady {r['steady_rss_mb']} MB")
        if r["model_users"] and any(u != r["instances"] for u in r["model_users"]):
            failures.append(f"{name}: model users {r['model_users']}, expected {r['instances']} each (one shared model)")
        if any(w == 0 for w in r["windows_analysed"]):
            failures.append(f"{name}: an instance analysed no window {r['windows_analysed']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    if args.check and failures:
        print("FAILED: " + "; ".join(failures), file=sys.stderr)
        sys.exit(1)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


if __name__ == "__main__":
    main()
