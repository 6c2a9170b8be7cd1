//! Hostile MuQ `config.json`s, seeded: every value of a golden config replaced by zero,
//! negatives, huge numbers, NaN-like strings, wrong types or removed, plus truncated JSON text.
//! `MuqConfig::from_json_str` must return `Ok` or a clear `Err`, never panic; a config it
//! accepts is then built against the real checkpoint with `Muq::new`, which must not panic
//! either (absurd but accepted values have to fail there with an error).

use anyhow::Result;
use candle_core::Device;
use muq_engine::load::open_checkpoint;
use muq_engine::models::muq::{Muq, MuqConfig};
use muq_live_tests::torture::{SplitMix64, golden_case, no_panic};
use serde_json::{Value, json};
use std::time::Instant;

const SEED: u64 = 0xC0_F1_60_08;
const NUM_RANDOM_CASES: usize = 2000;

/// A path to one leaf of a JSON document.
#[derive(Clone, Debug)]
enum Step {
    Key(String),
    Idx(usize),
}

fn collect_leaves(value: &Value, path: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                path.push(Step::Key(key.clone()));
                collect_leaves(child, path, out);
                path.pop();
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for (idx, child) in items.iter().enumerate() {
                path.push(Step::Idx(idx));
                collect_leaves(child, path, out);
                path.pop();
            }
        }
        _ => out.push(path.clone()),
    }
}

fn leaf_mut<'a>(root: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    path.iter().try_fold(root, |node, step| match step {
        Step::Key(key) => node.get_mut(key),
        Step::Idx(idx) => node.get_mut(*idx),
    })
}

/// Removes the leaf at `path` (an object key or an array element).
fn remove_leaf(root: &mut Value, path: &[Step]) {
    let Some((last, parent_path)) = path.split_last() else {
        return;
    };
    match (leaf_mut(root, parent_path), last) {
        (Some(Value::Object(map)), Step::Key(key)) => {
            map.remove(key);
        }
        (Some(Value::Array(items)), Step::Idx(idx)) if *idx < items.len() => {
            items.remove(*idx);
        }
        _ => {}
    }
}

fn hostile_values() -> Vec<Value> {
    vec![
        json!(0),
        json!(-1),
        json!(-1e300),
        json!(1e300),
        json!(u64::MAX),
        json!(i64::MIN),
        json!(4_294_967_297_u64),
        json!(1_000_000),
        json!(0.5),
        json!(1e-300),
        json!("NaN"),
        json!("Infinity"),
        json!("-inf"),
        json!("abc"),
        json!(""),
        Value::Null,
        json!([]),
        json!({}),
        json!(true),
    ]
}

/// Result of one case: parse error, build error, a model built, or a config equal to the good one.
enum Outcome {
    ParseErr,
    Same,
    BuildErr,
    Built,
}

#[test]
fn hostile_configs_give_clear_errors_never_panics() -> Result<()> {
    let started = Instant::now();
    let case_dir = golden_case(|c| {
        c["w2v2_config"]["position_embeddings_type"] == "rotary" && c["label_rate"] == 25
    })?;
    let text = std::fs::read_to_string(case_dir.join("config.json"))?;
    let good: Value = serde_json::from_str(&text)?;
    let vb = open_checkpoint(case_dir.join("model.safetensors"), &Device::Cpu)?;
    let good_cfg = MuqConfig::from_json_str(&text)?;
    Muq::new(&good_cfg, vb.clone())?;
    let good_debug = format!("{good_cfg:?}");
    let mut leaves = Vec::new();
    collect_leaves(&good, &mut Vec::new(), &mut leaves);
    let hostile = hostile_values();

    let run_case = |json_text: &str, what: &str| -> Result<Outcome> {
        let parsed = no_panic(what, || MuqConfig::from_json_str(json_text))?;
        let cfg = match parsed {
            Ok(cfg) => cfg,
            Err(err) => {
                let msg = err.to_string();
                assert!(msg.contains("config"), "{what}: unclear error: {msg}");
                return Ok(Outcome::ParseErr);
            }
        };
        if format!("{cfg:?}") == good_debug {
            // Only ignored fields changed: the model would be the golden one.
            return Ok(Outcome::Same);
        }
        let built = no_panic(what, || Muq::new(&cfg, vb.clone()))?;
        Ok(match built {
            Ok(_) => Outcome::Built,
            Err(err) => {
                assert!(!err.to_string().trim().is_empty(), "{what}: empty error");
                Outcome::BuildErr
            }
        })
    };

    let mut counts = [0_usize; 4];
    let mut tally = |outcome: Outcome| match outcome {
        Outcome::ParseErr => counts[0] += 1,
        Outcome::Same => counts[3] += 1,
        Outcome::BuildErr => counts[1] += 1,
        Outcome::Built => counts[2] += 1,
    };
    // Systematic: every leaf x every hostile value, and every leaf removed.
    let mut accepted = Vec::new();
    let mut num_cases = 0;
    for path in &leaves {
        for value in &hostile {
            let mut config = good.clone();
            if let Some(leaf) = leaf_mut(&mut config, path) {
                *leaf = value.clone();
            }
            let what = format!("config with {path:?} = {value}");
            let outcome = run_case(&config.to_string(), &what)?;
            if matches!(outcome, Outcome::Built) {
                accepted.push(what);
            }
            tally(outcome);
            num_cases += 1;
        }
        let mut config = good.clone();
        remove_leaf(&mut config, path);
        tally(run_case(
            &config.to_string(),
            &format!("config without {path:?}"),
        )?);
        num_cases += 1;
    }
    let num_systematic = num_cases;
    // Seeded: 2 to 4 leaves at once, or the text truncated / a byte replaced.
    let mut rng = SplitMix64::new(SEED);
    for case_idx in 0..NUM_RANDOM_CASES {
        let what = format!("random config case {case_idx} (seed {SEED:#x})");
        let json_text = if case_idx % 4 == 3 {
            let mut bytes = text.clone().into_bytes();
            if rng.below(2) == 0 {
                bytes.truncate(rng.below(bytes.len()));
            } else {
                let pos = rng.below(bytes.len());
                bytes[pos] = *rng.pick(b"{}[],:\"0-9eE. x\\");
            }
            String::from_utf8_lossy(&bytes).into_owned()
        } else {
            let mut config = good.clone();
            for _ in 0..2 + rng.below(3) {
                let path = rng.pick(&leaves);
                if let Some(leaf) = leaf_mut(&mut config, path) {
                    *leaf = rng.pick(&hostile).clone();
                }
            }
            config.to_string()
        };
        tally(run_case(&json_text, &what)?);
        num_cases += 1;
    }
    println!(
        "{num_cases} configs ({num_systematic} systematic over {} leaves, {NUM_RANDOM_CASES} \
         seeded): {} refused by the parser/validator, {} refused by Muq::new, {} built; 0 \
         panics; {} parsed equal to the golden config; {:.1} s",
        leaves.len(),
        counts[0],
        counts[1],
        counts[2],
        counts[3],
        started.elapsed().as_secs_f64()
    );
    println!("accepted and built (single edits): {accepted:#?}");
    assert!(counts[0] > 0 && counts[2] > 0, "{counts:?}");
    Ok(())
}

#[test]
fn absurd_core_values_are_refused_by_the_validator() -> Result<()> {
    let case_dir = golden_case(|c| c["label_rate"] == 25)?;
    let good: Value =
        serde_json::from_str(&std::fs::read_to_string(case_dir.join("config.json"))?)?;
    let cases: [(&str, &[&str], Value); 8] = [
        ("encoder_dim 0", &["encoder_dim"], json!(0)),
        ("encoder_depth 1000", &["encoder_depth"], json!(1000)),
        ("conv_dim 0", &["conv_dim"], json!(0)),
        ("label_rate 7", &["label_rate"], json!(7)),
        ("heads 0", &["w2v2_config", "num_attention_heads"], json!(0)),
        (
            "heads not dividing D",
            &["w2v2_config", "num_attention_heads"],
            json!(5),
        ),
        ("std 0", &["stat", "melspec_2048_std"], json!(0.0)),
        ("hop 0", &["hop_length"], json!(0)),
    ];
    for (what, path, value) in cases {
        let mut config = good.clone();
        let mut node = &mut config;
        for key in path {
            node = &mut node[*key];
        }
        *node = value;
        let result = no_panic(what, || MuqConfig::from_json_str(&config.to_string()))?;
        let Err(err) = result else {
            anyhow::bail!("{what} was accepted")
        };
        println!("{what}: {err}");
    }
    Ok(())
}
