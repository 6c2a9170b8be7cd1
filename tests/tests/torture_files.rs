//! Hostile checkpoint files, seeded: a golden MuQ `model.safetensors` truncated at random
//! offsets, with bit-flipped headers, random header JSON edits, wrong dtypes, wrong shapes and
//! missing tensors, loaded with `load::open_checkpoint` + `Muq::new`.
//! Every case must end in `Ok` or a clear `Err` (naming the file), never a panic; a panic fails
//! with the case's seed.
//!
//! Pickles and tokenizers: `torture_pickle_tokenizer.rs`; configs: `torture_configs.rs`; audio
//! files: `torture_audio_files.rs`.

use anyhow::{Context, Result, bail};
use candle_core::Device;
use muq_engine::load::open_checkpoint;
use muq_engine::models::muq::{Muq, MuqConfig};
use muq_live_tests::torture::{SplitMix64, golden_case, no_panic};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Instant;

const SEED: u64 = 0x7EA5_F00D_0008;
const NUM_CHECKPOINT_CASES: usize = 1500;

/// One tensor of a safetensors file: name, dtype tag, shape and raw little-endian bytes.
#[derive(Clone)]
struct StTensor {
    name: String,
    dtype: String,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

/// Splits a safetensors file into its header JSON and its data section.
fn split_safetensors(file: &[u8]) -> Result<(serde_json::Map<String, Value>, &[u8])> {
    let len_bytes: [u8; 8] = file.get(..8).context("short file")?.try_into()?;
    let header_len = u64::from_le_bytes(len_bytes) as usize;
    let header = file.get(8..8 + header_len).context("short header")?;
    let Value::Object(map) = serde_json::from_slice(header)? else {
        bail!("header is not an object")
    };
    Ok((map, &file[8 + header_len..]))
}

fn parse_safetensors(file: &[u8]) -> Result<Vec<StTensor>> {
    let (header, data) = split_safetensors(file)?;
    let mut tensors = Vec::new();
    for (name, entry) in header {
        if name == "__metadata__" {
            continue;
        }
        let dtype = entry["dtype"].as_str().context("dtype")?.to_string();
        let shape = entry["shape"]
            .as_array()
            .context("shape")?
            .iter()
            .map(|d| d.as_u64().map(|d| d as usize).context("dim"))
            .collect::<Result<Vec<_>>>()?;
        let begin = entry["data_offsets"][0].as_u64().context("offset")? as usize;
        let end = entry["data_offsets"][1].as_u64().context("offset")? as usize;
        let bytes = data.get(begin..end).context("data range")?.to_vec();
        tensors.push(StTensor {
            name,
            dtype,
            shape,
            bytes,
        });
    }
    Ok(tensors)
}

/// Writes `header` (padded with spaces to a multiple of 8) followed by `data`.
fn join_safetensors(header: &Value, data: &[u8]) -> Vec<u8> {
    let mut header_bytes = serde_json::to_vec(header).unwrap_or_default();
    while !header_bytes.len().is_multiple_of(8) {
        header_bytes.push(b' ');
    }
    let mut out = (header_bytes.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&header_bytes);
    out.extend_from_slice(data);
    out
}

/// A well-formed safetensors file holding `tensors` in order.
fn write_safetensors(tensors: &[StTensor]) -> Vec<u8> {
    let mut header = serde_json::Map::new();
    let mut data = Vec::new();
    for t in tensors {
        let begin = data.len();
        data.extend_from_slice(&t.bytes);
        header.insert(
            t.name.clone(),
            json!({"dtype": t.dtype, "shape": t.shape, "data_offsets": [begin, data.len()]}),
        );
    }
    join_safetensors(&Value::Object(header), &data)
}

fn f32_values(bytes: &[u8]) -> impl Iterator<Item = f32> + '_ {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
}

/// The dtype torture: a float32 tensor re-encoded (or re-labelled) as another dtype.
fn change_dtype(t: &mut StTensor, rng: &mut SplitMix64) -> &'static str {
    match rng.below(5) {
        0 => {
            t.bytes = f32_values(&t.bytes)
                .flat_map(|v| f64::from(v).to_le_bytes())
                .collect();
            t.dtype = "F64".into();
            "F32 -> F64 (re-encoded)"
        }
        1 => {
            t.bytes = f32_values(&t.bytes)
                .flat_map(|v| ((v.to_bits() >> 16) as u16).to_le_bytes())
                .collect();
            t.dtype = "BF16".into();
            "F32 -> BF16 (re-encoded)"
        }
        2 => {
            t.dtype = "I32".into();
            "F32 bytes labelled I32"
        }
        3 => {
            t.dtype = "U8".into();
            if let Some(last) = t.shape.last_mut() {
                *last *= 4;
            } else {
                t.shape = vec![4];
            }
            "F32 bytes labelled U8, last dim x4"
        }
        _ => {
            t.bytes.truncate(t.bytes.len() / 2);
            t.dtype = "F16".into();
            "F32 halved and labelled F16"
        }
    }
}

/// The shape torture: a tensor whose bytes stay valid but whose shape is wrong.
fn change_shape(t: &mut StTensor, rng: &mut SplitMix64) -> &'static str {
    let numel: usize = t.shape.iter().product();
    match rng.below(3) {
        0 => {
            t.shape.push(1);
            "extra unit dim"
        }
        1 => {
            t.shape = vec![numel];
            "flattened"
        }
        _ => {
            t.shape.reverse();
            if t.shape.len() < 2 {
                t.shape.insert(0, 1);
            }
            "dims reversed"
        }
    }
}

/// A random edit of the header JSON, leaving the data section as it was.
fn edit_header(file: &[u8], rng: &mut SplitMix64) -> Result<(Vec<u8>, String)> {
    let (mut header, data) = split_safetensors(file)?;
    let names: Vec<String> = header
        .keys()
        .filter(|k| *k != "__metadata__")
        .cloned()
        .collect();
    let name = rng.pick(&names).clone();
    let hostile = [
        json!(0),
        json!(-1),
        json!(u64::MAX),
        json!(1u64 << 40),
        json!(1.5),
        json!("x"),
        Value::Null,
        json!([]),
        json!({}),
    ];
    let edit = rng.below(6);
    let entry = header.get_mut(&name).context("entry")?;
    let what = match edit {
        0 => {
            let dtype = *rng.pick(&["F16", "BF16", "I64", "U8", "F64", "BOOL", "Q9", ""]);
            entry["dtype"] = json!(dtype);
            format!("dtype of {name} = {dtype:?}")
        }
        1 => {
            let value = rng.pick(&hostile).clone();
            if let Some(dims) = entry["shape"].as_array_mut() {
                match dims.len() {
                    0 => dims.push(value.clone()),
                    n => dims[rng.below(n)] = value.clone(),
                }
            }
            format!("a dim of {name} = {value}")
        }
        2 => {
            let value = rng.pick(&hostile).clone();
            entry["data_offsets"][rng.below(2)] = value.clone();
            format!("an offset of {name} = {value}")
        }
        3 => {
            let value = rng.pick(&hostile).clone();
            *entry = value.clone();
            format!("entry {name} = {value}")
        }
        4 => {
            header.remove(&name);
            format!("entry {name} removed, data kept")
        }
        _ => {
            header.insert("__metadata__".into(), json!({"format": [1, {"a": null}]}));
            "__metadata__ of the wrong type".to_string()
        }
    };
    Ok((join_safetensors(&Value::Object(header), data), what))
}

fn load_muq(path: &Path, cfg: &MuqConfig) -> std::result::Result<(), String> {
    let vb = open_checkpoint(path, &Device::Cpu).map_err(|e| e.to_string())?;
    Muq::new(cfg, vb).map(|_| ()).map_err(|e| e.to_string())
}

fn is_plain_muq(config: &Value) -> bool {
    config["w2v2_config"]["position_embeddings_type"] == "rotary" && config["label_rate"] == 25
}

#[test]
fn hostile_checkpoints_give_clear_errors_never_panics() -> Result<()> {
    let started = Instant::now();
    let case_dir = golden_case(is_plain_muq)?;
    let cfg = MuqConfig::from_file(&case_dir.join("config.json"))?;
    let original = std::fs::read(case_dir.join("model.safetensors"))?;
    let tensors = parse_safetensors(&original)?;
    let header_end = 8 + u64::from_le_bytes(original[..8].try_into()?) as usize;
    let dir = tempfile::tempdir()?;

    // The untouched file loads: every Err below is caused by the damage.
    let pristine = dir.path().join("pristine.safetensors");
    std::fs::write(&pristine, write_safetensors(&tensors))?;
    load_muq(&pristine, &cfg).map_err(anyhow::Error::msg)?;

    let mut rng = SplitMix64::new(SEED);
    let mut num_ok = [0_usize; 6];
    let mut num_err = [0_usize; 6];
    let mut first_errors: Vec<String> = vec![String::new(); 6];
    for case_idx in 0..NUM_CHECKPOINT_CASES {
        let kind = case_idx % 6;
        let (bytes, what) = match kind {
            0 => {
                // Truncation, half the time inside the header.
                let bound = if rng.below(2) == 0 {
                    header_end
                } else {
                    original.len()
                };
                let len = rng.below(bound);
                (
                    original[..len].to_vec(),
                    format!("truncated to {len} bytes"),
                )
            }
            1 => {
                let mut bytes = original.clone();
                let num_flips = 1 + rng.below(4);
                for _ in 0..num_flips {
                    let pos = rng.below(header_end);
                    bytes[pos] ^= 1 << rng.below(8);
                }
                (bytes, format!("{num_flips} header bits flipped"))
            }
            2 => edit_header(&original, &mut rng)?,
            3 => {
                let mut damaged = tensors.clone();
                let idx = rng.below(damaged.len());
                let what = change_dtype(&mut damaged[idx], &mut rng);
                let what = format!("{}: {what}", damaged[idx].name);
                (write_safetensors(&damaged), what)
            }
            4 => {
                let mut damaged = tensors.clone();
                let idx = rng.below(damaged.len());
                let what = change_shape(&mut damaged[idx], &mut rng);
                let what = format!("{}: {what}", damaged[idx].name);
                (write_safetensors(&damaged), what)
            }
            _ => {
                let mut damaged = tensors.clone();
                let removed = damaged.remove(rng.below(damaged.len()));
                (
                    write_safetensors(&damaged),
                    format!("{} missing", removed.name),
                )
            }
        };
        let path = dir.path().join(format!("case_{case_idx}.safetensors"));
        std::fs::write(&path, &bytes)?;
        let what = format!("checkpoint case {case_idx} (seed {SEED:#x}): {what}");
        match no_panic(&what, || load_muq(&path, &cfg))? {
            Ok(()) => num_ok[kind] += 1,
            Err(msg) => {
                num_err[kind] += 1;
                assert!(
                    msg.contains(&format!("case_{case_idx}.safetensors")),
                    "{what}: the error does not name the file: {msg}"
                );
                if first_errors[kind].is_empty() {
                    first_errors[kind] = msg;
                }
            }
        }
        std::fs::remove_file(&path)?;
    }
    let kinds = [
        "truncated",
        "bit flips",
        "header edits",
        "dtype",
        "shape",
        "missing",
    ];
    for (kind_idx, kind) in kinds.iter().enumerate() {
        println!(
            "{kind:>12}: {} ok, {} err; e.g. {}",
            num_ok[kind_idx], num_err[kind_idx], first_errors[kind_idx]
        );
    }
    // Truncation and broken headers can't load; every kind produced errors.
    assert_eq!(num_ok[0], 0, "a truncated checkpoint loaded");
    assert!(num_err.iter().all(|&n| n > 0), "{num_err:?}");
    println!(
        "{NUM_CHECKPOINT_CASES} checkpoint cases, 0 panics, in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
