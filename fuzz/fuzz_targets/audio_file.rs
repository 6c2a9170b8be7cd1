//! Fuzz target: `audio::load_mono` on WAV bytes. The body is shared with the
//! seeded replay test `tests/tests/torture_fuzz_replay.rs`.
#![no_main]

// Each target uses one of the shared bodies.
#[allow(dead_code)]
#[path = "../../tests/src/torture/fuzz.rs"]
mod fuzz;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    // An `Err` is a harness I/O failure (temporary file), not a finding; a panic is.
    let _ = fuzz::audio_file(data);
});
