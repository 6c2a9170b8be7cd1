"""MuQ Live's VST3 bundle in a real host: Spotify's pedalboard (JUCE's VST3 hosting).

Run by the Rust test tests/tests/pedalboard_vst3.rs with the project's venv:
    .venv/bin/python tests/python/pedalboard_vst3.py target/bundled/muq-live.vst3
Exits non-zero with a message on the first failed check; prints one line per check passed.
"""

import sys

import numpy as np
import pedalboard

import juce_state
from passthrough import is_passthrough, passthrough_of

SAMPLE_RATES_HZ = (44_100, 48_000, 96_000)
BUFFER_SIZES = (1, 64, 511, 4096)
EXPECTED_DEFAULTS = {"analysis": True, "bypass": False, "window_s": 10.0, "hop_s": 2.0}
# The panel's persisted fields (nice-plug `#[persist]` keys) and values the state test sets: JSON
# strings inside nice-plug's JSON state.
PANEL_FIELDS = {
    "text-queries": '["solo piano","distorted guitar"]',
    "model-dir": '"/models/muq"',
    "key-method": '"temperley"',
    "labels-dir": '"/models/vocabulary"',
    "heads-dir": '"/models/heads"',
    "editor-size": '{"width":900.0,"height":640.0}',
}


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


def check(condition, message):
    if not condition:
        print(f"FAILED: {message}", file=sys.stderr)
        sys.exit(1)


def bit_exact(expected, actual):
    """`actual` is MuQ Live's passthrough of `expected` (see passthrough.py)."""
    return is_passthrough(expected, actual)


def main():
    path = sys.argv[1]
    plugin = pedalboard.load_plugin(path)
    check(isinstance(plugin, pedalboard.VST3Plugin), f"not loaded as VST3: {type(plugin)}")
    check(plugin.name == "MuQ Live", f"name is {plugin.name!r}")
    print(f"loaded {plugin.name} from {path}")

    keys = list(plugin.parameters.keys())
    check(keys == list(EXPECTED_DEFAULTS), f"parameters are {keys}")
    for key, expected in EXPECTED_DEFAULTS.items():
        value = getattr(plugin, key)
        check(value == expected, f"{key} = {value!r}, expected {expected!r}")
    print(f"parameters {keys} read with their defaults")

    for sample_rate_hz in SAMPLE_RATES_HZ:
        for num_channels in (2, 1):
            num_frames = 3 * sum(BUFFER_SIZES) + 333
            x = test_signal(num_channels, num_frames, sample_rate_hz, seed=sample_rate_hz + num_channels)
            for buffer_size in BUFFER_SIZES:
                y = plugin.process(x, sample_rate_hz, buffer_size=buffer_size, reset=True)
                if not bit_exact(x, y):
                    diff = np.flatnonzero(passthrough_of(x).view(np.uint32) != y.view(np.uint32)) if x.shape == y.shape else []
                    check(False, f"{sample_rate_hz} Hz, {num_channels} ch, buffer {buffer_size}: output differs "
                                 f"(shape {y.shape}, dtype {y.dtype}, first differing flat index "
                                 f"{diff[:1]})")
        print(f"{sample_rate_hz} Hz: stereo and mono, buffers {BUFFER_SIZES}: output == input bit for bit")

    # State: change every parameter, apply (nice-plug's VST3 wrapper applies host changes at the
    # next process call), save, and restore into a fresh instance.
    plugin.analysis = False
    plugin.bypass = True
    plugin.process(test_signal(2, 512, 48_000, seed=1), 48_000, buffer_size=512)
    x = test_signal(2, 2048, 48_000, seed=4)
    check(bit_exact(x, plugin.process(x, 48_000, buffer_size=256)), "passthrough while bypassed")
    plugin.bypass = False
    plugin.window_s = 20.0
    plugin.hop_s = 0.5
    plugin.process(test_signal(2, 512, 48_000, seed=1), 48_000, buffer_size=512)
    state = plugin.raw_state
    check(b"VST3PluginState" in state, "raw_state is not a JUCE VST3 state")
    fresh = pedalboard.load_plugin(path)
    default_state = fresh.raw_state
    check(state != default_state, "changed parameters did not change the state")
    fresh.raw_state = state
    restored = {key: getattr(fresh, key) for key in EXPECTED_DEFAULTS}
    check(restored == {"analysis": False, "bypass": False, "window_s": 20.0, "hop_s": 0.5}, f"restored {restored}")
    y = fresh.process(test_signal(2, 4096, 48_000, seed=2), 48_000, buffer_size=511)
    check(bit_exact(test_signal(2, 4096, 48_000, seed=2), y), "passthrough after state restore")
    check(fresh.raw_state == state, "saving the restored state did not reproduce it")
    print(f"raw_state round trip ({len(state)} bytes) restored {restored}")

    check_persisted_fields(path, state)
    check_corrupt_states(path, state)
    print("ALL PEDALBOARD CHECKS PASSED")


def check_persisted_fields(path, state):
    """Edit the persisted fields inside JUCE's state, restore into a fresh instance, read back."""
    juce_state.self_test()
    decoded = juce_state.decode(state)
    fields = decoded.get("fields", {})
    check(set(PANEL_FIELDS) <= set(fields), f"persisted fields in the state: {sorted(fields)}")
    check(decoded["params"]["window"] == {"f32": 20.0}, f"params in the state: {decoded['params']}")
    decoded["fields"].update(PANEL_FIELDS)
    edited = juce_state.encode(state, decoded)
    check(juce_state.decode(edited) == decoded, "the JUCE state codec does not round-trip")
    fresh = pedalboard.load_plugin(path)
    fresh.raw_state = edited
    x = test_signal(2, 4096, 48_000, seed=3)
    check(bit_exact(x, fresh.process(x, 48_000, buffer_size=512)), "passthrough after field edit")
    back = juce_state.decode(fresh.raw_state)
    for key, value in PANEL_FIELDS.items():
        check(back["fields"].get(key) == value, f"field {key} came back as {back['fields'].get(key)!r}")
    check(back["params"] == decoded["params"], f"params came back as {back['params']}")
    restored = {key: getattr(fresh, key) for key in EXPECTED_DEFAULTS}
    check(restored == {"analysis": False, "bypass": False, "window_s": 20.0, "hop_s": 0.5}, f"restored {restored}")
    print(f"persisted fields {sorted(PANEL_FIELDS)} survived a VST3 state round trip")


def check_corrupt_states(path, state):
    """Broken states are refused without a crash; the instance keeps its settings and passes audio."""
    xml, _ = juce_state.split(state)
    corrupt = {
        "nice-plug JSON cut in half": juce_state.join(xml, json_prefix(state)),
        "not JSON": juce_state.join(xml, b"\xff\xfe not a state"),
        "fields of the wrong type": juce_state.encode(state, {"params": {"window": {"f32": "x"}}, "fields": 7}),
        "random bytes": bytes(np.random.default_rng(5).integers(0, 256, 300, dtype=np.uint8)),
    }
    for what, raw in corrupt.items():
        fresh = pedalboard.load_plugin(path)
        before = fresh.raw_state
        try:
            fresh.raw_state = raw
            outcome = "accepted by the host, ignored by the plugin"
        except Exception as err:  # pedalboard may refuse it itself
            outcome = f"refused: {type(err).__name__}"
        x = test_signal(2, 2048, 48_000, seed=4)
        check(bit_exact(x, fresh.process(x, 48_000, buffer_size=256)), f"{what}: passthrough")
        after = juce_state.decode(fresh.raw_state)
        check(after == juce_state.decode(before), f"{what}: the state changed to {after}")
        print(f"corrupt state ({what}): {outcome}; defaults kept, audio passes")


def json_prefix(state):
    _, component = juce_state.split(state)
    return component[: len(component) // 2]


if __name__ == "__main__":
    main()
