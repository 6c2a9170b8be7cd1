"""The VST3 process sweep in a real host (pedalboard / JUCE): 22.05 to 192 kHz x buffer sizes
1 to 16384 x stereo and mono, then a seeded run of randomly varying buffer sizes (0 included)
through one prepared plugin; every output must equal its input bit for bit.

Run by tests/tests/torture_vst3.rs with the project's venv, on the release bundle and on the
debug build (nice-plug's `assert_process_allocs`: an allocation in process() aborts this host):
    .venv/bin/python tests/python/torture_vst3_sweep.py target/bundled/muq-live.vst3
Prints one summary line with the counts; exits non-zero on the first mismatch.
"""

import sys
import time

import numpy as np

from passthrough import is_passthrough
import pedalboard

SAMPLE_RATES_HZ = (22_050, 44_100, 48_000, 88_200, 96_000, 192_000)
BUFFER_SIZES = (1, 2, 31, 64, 511, 512, 4096, 16_384)
MAX_BUFFER = 16_384
NUM_RANDOM = 64
SEED = 0x57EE_0008


def test_signal(num_channels, num_frames, sample_rate_hz, seed):
    """Sine plus noise, with -0.0, a subnormal and an over-full-scale sample every 997 frames."""
    rng = np.random.default_rng(seed)
    t = np.arange(num_frames) / sample_rate_hz
    channels = []
    for channel_idx in range(num_channels):
        x = 0.6 * np.sin(2 * np.pi * 220.0 * (channel_idx + 1) * t) + 0.2 * rng.uniform(-0.5, 0.5, num_frames)
        x = x.astype(np.float32)
        x[0::997] = np.float32(-0.0)
        x[1::997] = np.float32(1.0e-40)
        x[2::997] = np.float32(-1.5)
        channels.append(x)
    return np.stack(channels)


def fail(message):
    print(f"FAILED: {message}", file=sys.stderr)
    sys.exit(1)


def check_exact(x, y, what):
    if not is_passthrough(x, y):
        fail(f"{what}: output differs (shape {y.shape} vs {x.shape}, dtype {y.dtype})")


def main():
    path = sys.argv[1]
    started = time.monotonic()
    plugin = pedalboard.load_plugin(path)
    if not isinstance(plugin, pedalboard.VST3Plugin):
        fail(f"not loaded as VST3: {type(plugin)}")
    rng = np.random.default_rng(SEED)
    num_calls = num_frames = num_zero = 0
    for num_channels in (2, 1):
        for sample_rate_hz in SAMPLE_RATES_HZ:
            # Fixed sizes: short signals for tiny buffers (2 buffers of the size, at least 4096
            # frames, plus a ragged tail).
            for buffer_size in BUFFER_SIZES:
                n = max(2 * buffer_size, 4096) + 333
                x = test_signal(num_channels, n, sample_rate_hz, seed=sample_rate_hz + buffer_size)
                y = plugin.process(x, sample_rate_hz, buffer_size=buffer_size, reset=True)
                check_exact(x, y, f"{num_channels} ch, {sample_rate_hz} Hz, buffer {buffer_size}")
                num_calls += -(-n // buffer_size)
                num_frames += n
            # Randomly varying sizes through one prepared plugin (reset=False keeps it running):
            # each call is one process() block of that many frames, 0 included.
            plugin.reset()
            for call_idx in range(NUM_RANDOM):
                kind = rng.integers(4)
                n = 0 if kind == 0 else int(rng.integers(1, 65)) if kind == 1 else int(rng.integers(1, MAX_BUFFER + 1))
                x = test_signal(num_channels, n, sample_rate_hz, seed=call_idx)
                y = plugin.process(x, sample_rate_hz, buffer_size=MAX_BUFFER, reset=False)
                check_exact(x, y, f"{num_channels} ch, {sample_rate_hz} Hz, random call {call_idx} ({n} frames)")
                num_calls += 1
                num_frames += n
                num_zero += n == 0
    print(
        f"VST3 sweep ({path}): {len(SAMPLE_RATES_HZ)} rates x ({len(BUFFER_SIZES)} buffer sizes + {NUM_RANDOM} "
        f"random sizes) x stereo/mono ({num_zero} zero-length calls): {num_frames} frames in ~{num_calls} process "
        f"blocks, bit-exact; {time.monotonic() - started:.1f} s"
    )
    print("VST3 SWEEP PASSED")


if __name__ == "__main__":
    main()
