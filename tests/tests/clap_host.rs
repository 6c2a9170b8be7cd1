//! MuQ Live in a real CLAP host (`clack-host`): the bundled `.clap` (release) and the debug
//! library (with nice-plug's `assert_process_allocs`, so an allocation in `process()` aborts this
//! test) are loaded, described, activated at 44.1/48/96 kHz with blocks of 1, 64, 511 and 4096
//! frames (stereo, then the mono port configuration), checked for a bit-exact passthrough, and
//! their state saved and restored.
//!
//! Needs the bundle: run through `scripts/test.sh`, or `cargo xtask bundle muq-live --release`
//! then `cargo test -p muq-live-tests --test clap_host -- --ignored`.

use anyhow::{Context, Result};
use muq_live_tests::clap_host::{ClapInstance, LoadedClap, ParamDescription};
use muq_live_tests::{assert_bit_exact, clap_bundle, debug_plugin_library, test_signal};
use std::path::Path;

const SAMPLE_RATES_HZ: [f64; 3] = [44_100.0, 48_000.0, 96_000.0];
const BLOCK_SIZES: [usize; 4] = [1, 64, 511, 4096];

fn param<'a>(params: &'a [ParamDescription], name: &str) -> Result<&'a ParamDescription> {
    params
        .iter()
        .find(|p| p.name == name)
        .with_context(|| format!("no parameter named {name}"))
}

fn check_descriptor(clap: &LoadedClap) {
    let d = &clap.descriptor;
    assert_eq!(d.id, "live.muq.muq-live");
    assert_eq!(d.name, "MuQ Live");
    assert_eq!(d.vendor, "MuQ Live developers");
    assert_eq!(d.version, env!("CARGO_PKG_VERSION"));
    for feature in ["audio-effect", "analyzer", "utility", "stereo", "mono"] {
        assert!(
            d.features.iter().any(|f| f == feature),
            "feature {feature} missing: {:?}",
            d.features
        );
    }
}

fn check_params(instance: &mut ClapInstance) -> Result<()> {
    let params = instance.params()?;
    let names: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["Analysis", "Bypass", "Window", "Hop"]);
    for p in &params {
        assert_eq!((p.min_value, p.max_value), (0.0, 1.0), "{p:?}");
        let value = instance.param_value(p.id)?;
        assert!(
            (value - p.default_value).abs() < 1e-9,
            "{} = {value}, default {}",
            p.name,
            p.default_value
        );
    }
    assert_eq!(param(&params, "Analysis")?.default_value, 1.0);
    assert_eq!(param(&params, "Bypass")?.default_value, 0.0);
    assert!(
        param(&params, "Bypass")?.is_bypass,
        "the host must see the bypass flag"
    );
    let num_bypass = params.iter().filter(|p| p.is_bypass).count();
    assert_eq!(num_bypass, 1, "exactly one bypass parameter");
    // Window: 10 s on a 2..30 s linear range.
    assert!((param(&params, "Window")?.default_value - 8.0 / 28.0).abs() < 1e-6);
    Ok(())
}

/// Every rate and block size: output equals input bit for bit, stereo; then mono.
fn check_passthrough(instance: &mut ClapInstance, what: &str) -> Result<()> {
    let layouts: Vec<(u32, u32)> = instance
        .layouts()?
        .into_iter()
        .map(|(_, i, o)| (i, o))
        .collect();
    assert_eq!(
        layouts,
        [(2, 2), (1, 1)],
        "{what}: audio port configurations"
    );
    for sample_rate_hz in SAMPLE_RATES_HZ {
        // Enough frames to run every block size several times, plus a ragged tail.
        let num_frames = 3 * BLOCK_SIZES.iter().sum::<usize>() + 333;
        let input: Vec<Vec<f32>> = (0..2)
            .map(|c| test_signal(num_frames, c, sample_rate_hz as f32))
            .collect();
        for block_sizes in [&BLOCK_SIZES[..], &[1], &[64], &[511], &[4096]] {
            let output = instance.process(sample_rate_hz, block_sizes, &input, &[])?;
            for (channel_idx, (out, inp)) in output.iter().zip(&input).enumerate() {
                assert_bit_exact(
                    inp,
                    out,
                    &format!(
                        "{what}: {sample_rate_hz} Hz, blocks {block_sizes:?}, channel {channel_idx}"
                    ),
                )?;
            }
        }
    }
    assert_eq!(
        instance.main_port_channels()?,
        (2, 2),
        "{what}: default layout"
    );
    instance.select_layout(1)?;
    assert_eq!(
        instance.main_port_channels()?,
        (1, 1),
        "{what}: after selecting mono"
    );
    for sample_rate_hz in SAMPLE_RATES_HZ {
        let input = vec![test_signal(
            3 * BLOCK_SIZES.iter().sum::<usize>() + 333,
            0,
            sample_rate_hz as f32,
        )];
        let output = instance.process(sample_rate_hz, &BLOCK_SIZES, &input, &[])?;
        assert_bit_exact(
            &input[0],
            &output[0],
            &format!("{what}: mono, {sample_rate_hz} Hz"),
        )?;
    }
    instance.select_layout(2)
}

/// Parameters set by the host and persisted fields survive a save and a load into a new instance.
fn check_state_round_trip(clap: &LoadedClap) -> Result<()> {
    let mut first = clap.instantiate()?;
    let params = first.params()?;
    let analysis = param(&params, "Analysis")?.id;
    let window = param(&params, "Window")?.id;
    let hop = param(&params, "Hop")?.id;
    let input = vec![test_signal(512, 0, 48_000.0), test_signal(512, 1, 48_000.0)];
    // nice-plug applies host parameter events during process(), as a DAW would send them.
    first.process(
        48_000.0,
        &[64],
        &input,
        &[(analysis, 0.0), (window, 1.0), (hop, 0.5)],
    )?;
    assert_eq!(first.param_value(analysis)?, 0.0);
    assert_eq!(first.param_value(window)?, 1.0);

    let mut state = decode_state(&first.save_state()?)?;
    let fields = state
        .get_mut("fields")
        .and_then(|f| f.as_object_mut())
        .context("no fields in state")?;
    for (key, _) in PANEL_FIELDS {
        assert!(fields.contains_key(*key), "{key} not saved: {fields:?}");
    }
    // Persisted fields are JSON strings inside the JSON state.
    for (key, value) in PANEL_FIELDS {
        fields.insert((*key).into(), serde_json::Value::String((*value).into()));
    }
    let edited = encode_state(&state)?;

    let mut second = clap.instantiate()?;
    second.load_state(&edited)?;
    assert_eq!(second.param_value(analysis)?, 0.0);
    assert_eq!(second.param_value(window)?, 1.0);
    assert!((second.param_value(hop)? - 0.5).abs() < 1e-6);
    // Audio still passes untouched with analysis off and the restored settings (activation
    // hands the restored folders and key method to the new worker).
    let output = second.process(48_000.0, &[511], &input, &[])?;
    assert_bit_exact(&input[0], &output[0], "after state load")?;

    // Saved again by the restored instance: every field and parameter came back.
    let resaved = decode_state(&second.save_state()?)?;
    for (key, value) in PANEL_FIELDS {
        assert_eq!(resaved["fields"][*key], *value, "field {key}");
    }
    assert_eq!(resaved["params"], state["params"]);

    // A third instance restored from the second's state: the round trip is stable.
    let mut third = clap.instantiate()?;
    third.load_state(&encode_state(&resaved)?)?;
    assert_eq!(decode_state(&third.save_state()?)?, resaved);

    // A state that is not nice-plug's is refused, and the instance keeps working.
    let mut fourth = clap.instantiate()?;
    assert!(fourth.load_state(b"\x05\0\0\0\0\0\0\0{oops").is_err());
    let mut corrupt = edited.clone();
    corrupt.truncate(corrupt.len() / 2);
    assert!(fourth.load_state(&corrupt).is_err());
    let output = fourth.process(48_000.0, &[64], &input, &[])?;
    assert_bit_exact(&input[1], &output[1], "after a refused state")?;
    Ok(())
}

/// The panel's persisted fields and the values the round trip sets (JSON inside the state).
const PANEL_FIELDS: &[(&str, &str)] = &[
    ("text-queries", r#"["solo piano","distorted guitar"]"#),
    ("model-dir", r#""/models/muq""#),
    ("key-method", r#""probe:key""#),
    ("labels-dir", r#""/models/vocabulary""#),
    ("heads-dir", r#""/models/heads""#),
    ("editor-size", r#"{"width":900.0,"height":640.0}"#),
];

/// nice-plug's CLAP state: a little-endian u64 length, then that many bytes of JSON.
fn decode_state(bytes: &[u8]) -> Result<serde_json::Value> {
    let (length, json) = bytes
        .split_at_checked(8)
        .context("state shorter than its header")?;
    let length = u64::from_le_bytes(length.try_into()?);
    assert_eq!(length, json.len() as u64, "state length header");
    serde_json::from_slice(json).context("state is not JSON")
}

fn encode_state(state: &serde_json::Value) -> Result<Vec<u8>> {
    let json = serde_json::to_vec(state)?;
    let mut bytes = (json.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(&json);
    Ok(bytes)
}

/// What validators try: activation at absurd and tiny rates (the audio must pass, the
/// analysis may decline), subnormal input (never output: flushed to signed zeros), and the
/// bypass parameter (audio passes).
fn check_odd_rates_subnormals_and_bypass(instance: &mut ClapInstance, what: &str) -> Result<()> {
    for sample_rate_hz in [1_234_567.8, 8_000.0, 22_050.0, 384_000.0] {
        let input: Vec<Vec<f32>> = (0..2)
            .map(|c| test_signal(4_096, c, sample_rate_hz as f32))
            .collect();
        let output = instance.process(sample_rate_hz, &[64, 511], &input, &[])?;
        for (inp, out) in input.iter().zip(&output) {
            assert_bit_exact(inp, out, &format!("{what}: {sample_rate_hz} Hz"))?;
        }
    }
    // Every input subnormal (both signs, the largest and the smallest): none comes out.
    let subnormals: Vec<f32> = (0..2_048_u32)
        .map(|idx| {
            let magnitude = f32::from_bits(1 + (idx * 4_093) % 0x007f_ffff);
            if idx % 2 == 0 { magnitude } else { -magnitude }
        })
        .collect();
    let output = instance.process(48_000.0, &[128], &[subnormals.clone(), subnormals], &[])?;
    for channel in &output {
        assert!(
            channel.iter().all(|x| *x == 0.0 && !x.is_subnormal()),
            "{what}: subnormal input must come out as zeros"
        );
    }
    let params = instance.params()?;
    let bypass = param(&params, "Bypass")?.id;
    let input: Vec<Vec<f32>> = (0..2).map(|c| test_signal(4_096, c, 48_000.0)).collect();
    let output = instance.process(48_000.0, &[256], &input, &[(bypass, 1.0)])?;
    assert_eq!(instance.param_value(bypass)?, 1.0);
    for (inp, out) in input.iter().zip(&output) {
        assert_bit_exact(inp, out, &format!("{what}: bypassed"))?;
    }
    instance.process(48_000.0, &[256], &input, &[(bypass, 0.0)])?;
    Ok(())
}

fn run_all_checks(path: &Path, what: &str) -> Result<()> {
    let clap = LoadedClap::load(path)?;
    check_descriptor(&clap);
    let mut instance = clap.instantiate()?;
    check_params(&mut instance)?;
    check_passthrough(&mut instance, what)?;
    check_odd_rates_subnormals_and_bypass(&mut instance, what)?;
    drop(instance);
    check_state_round_trip(&clap)
}

#[test]
#[ignore = "needs target/bundled/muq-live.clap: run scripts/test.sh"]
fn release_bundle_in_clap_host() -> Result<()> {
    run_all_checks(&clap_bundle()?, "release .clap")
}

#[test]
#[ignore = "run by scripts/test.sh together with the other host tests"]
fn debug_build_with_allocation_checks_in_clap_host() -> Result<()> {
    run_all_checks(&debug_plugin_library()?, "debug library")
}
