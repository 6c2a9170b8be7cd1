//! Checkpoint loading tests: hand-written PyTorch zips vs safetensors, hostile pickles, damaged
//! files, conversion and Hugging Face cache discovery.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};

use super::test_pth::{PthTensor, malicious_pickle, state_dict_pickle, write_pth_zip};
use super::*;

fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// A small state dict with f32, f16 and int64 entries, as a `.bin` and as reference tensors.
fn write_sample_bin(path: &Path) -> Vec<(String, Vec<usize>, Vec<f32>)> {
    let w: Vec<f32> = (0..12).map(|i| i as f32 * 0.5 - 2.0).collect();
    let b: Vec<f32> = vec![1.5, -0.25, 3.0];
    let h: Vec<f32> = vec![0.5, -1.0, 2.0, 0.125];
    let tensors = vec![
        PthTensor {
            name: "model.layer.weight".into(),
            shape: vec![3, 4],
            storage_class: "FloatStorage",
            bytes: f32_bytes(&w),
        },
        PthTensor {
            name: "model.layer.bias".into(),
            shape: vec![3],
            storage_class: "FloatStorage",
            bytes: f32_bytes(&b),
        },
        PthTensor {
            name: "model.half".into(),
            shape: vec![2, 2],
            storage_class: "HalfStorage",
            // IEEE half bits of 0.5, -1.0, 2.0, 0.125.
            bytes: [0x3800_u16, 0xBC00, 0x4000, 0x3000]
                .iter()
                .flat_map(|b| b.to_le_bytes())
                .collect(),
        },
        PthTensor {
            name: "model.bn.num_batches_tracked".into(),
            shape: vec![],
            storage_class: "LongStorage",
            bytes: 7_i64.to_le_bytes().to_vec(),
        },
    ];
    let pickle = state_dict_pickle(&tensors, &[4, 4, 2, 8]);
    write_pth_zip(path, &pickle, &tensors).expect("write .bin");
    vec![
        ("model.layer.weight".into(), vec![3, 4], w),
        ("model.layer.bias".into(), vec![3], b),
        ("model.half".into(), vec![2, 2], h),
    ]
}

fn err_text<T>(r: crate::Result<T>) -> String {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn handwritten_bin_loads_and_converts_equal_to_safetensors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = dir.path().join("pytorch_model.bin");
    let reference = write_sample_bin(&bin);

    let ckpt = Checkpoint::open(&bin, &Device::Cpu).expect("open .bin");
    assert_eq!(ckpt.format(), CheckpointFormat::PyTorchZip);
    assert_eq!(ckpt.tensors().len(), 4);
    let nbt = ckpt
        .tensors()
        .iter()
        .find(|t| t.name.ends_with("num_batches_tracked"));
    assert!(nbt.is_some_and(|t| t.dtype == DType::I64 && t.shape.is_empty()));
    for (name, shape, values) in &reference {
        let t = ckpt.require(name, shape).expect("require");
        assert_eq!(t.dtype(), DType::F32);
        assert_eq!(
            &t.flatten_all()
                .and_then(|t| t.to_vec1::<f32>())
                .expect("values"),
            values
        );
    }

    // Reference safetensors written by candle from the same values.
    let st = dir.path().join("reference.safetensors");
    let map: HashMap<String, Tensor> = reference
        .iter()
        .map(|(n, s, v)| {
            (
                n.clone(),
                Tensor::from_vec(v.clone(), s.as_slice(), &Device::Cpu).expect("tensor"),
            )
        })
        .collect();
    candle_core::safetensors::save(&map, &st).expect("save");

    let converted = dir.path().join("converted.safetensors");
    let report = convert_pth_to_safetensors(&bin, &converted).expect("convert");
    assert_eq!(report.num_tensors, 4);
    assert_eq!(report.num_converted_to_f32, 1);
    let from_conv = Checkpoint::open(&converted, &Device::Cpu).expect("open converted");
    let from_ref = Checkpoint::open(&st, &Device::Cpu).expect("open reference");
    for (name, shape, _) in &reference {
        let a = from_conv
            .require(name, shape)
            .and_then(|t| Ok(t.flatten_all()?.to_vec1::<f32>()?));
        let b = from_ref
            .require(name, shape)
            .and_then(|t| Ok(t.flatten_all()?.to_vec1::<f32>()?));
        assert_eq!(a.expect("converted"), b.expect("reference"), "{name}");
    }
    let nbt = candle_core::safetensors::load(&converted, &Device::Cpu).expect("load");
    let nbt = nbt
        .get("model.bn.num_batches_tracked")
        .expect("int tensor kept");
    assert_eq!(nbt.dtype(), DType::I64);
    assert_eq!(
        nbt.flatten_all()
            .and_then(|t| t.to_vec1::<i64>())
            .expect("i64"),
        vec![7]
    );
}

#[test]
fn shape_and_missing_key_errors_name_key_shapes_and_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = dir.path().join("pytorch_model.bin");
    write_sample_bin(&bin);
    let ckpt = Checkpoint::open(&bin, &Device::Cpu).expect("open");
    let msg = err_text(ckpt.require("model.layer.weight", &[4, 3]));
    assert!(
        msg.contains("model.layer.weight") && msg.contains("[3, 4]") && msg.contains("[4, 3]"),
        "{msg}"
    );
    assert!(msg.contains("pytorch_model.bin"), "{msg}");
    let msg = err_text(ckpt.require("model.nope", &[1]));
    assert!(msg.contains("missing tensor 'model.nope'"), "{msg}");

    // The same through the VarBuilder the model code uses.
    let vb = ckpt.var_builder().pp("model").pp("layer");
    let msg = vb
        .get((5, 4), "weight")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        msg.contains("model.layer.weight") && msg.contains("[3, 4]") && msg.contains("[5, 4]"),
        "{msg}"
    );
    assert!(msg.contains("pytorch_model.bin"), "{msg}");
    let msg = vb
        .get(3, "nothing")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        msg.contains("missing tensor 'model.layer.nothing'"),
        "{msg}"
    );
}

#[test]
fn malicious_pickle_is_refused_and_never_executed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let marker = dir.path().join("pwned");
    let bin = dir.path().join("evil.bin");
    write_pth_zip(&bin, &malicious_pickle(&marker), &[]).expect("write");
    let msg = err_text(Checkpoint::open(&bin, &Device::Cpu));
    assert!(msg.contains("os.system"), "{msg}");
    assert!(!marker.exists());

    // A valid-looking state dict with one hostile value hidden inside.
    let t = PthTensor {
        name: "w".into(),
        shape: vec![1],
        storage_class: "FloatStorage",
        bytes: f32_bytes(&[1.0]),
    };
    let mut pickle = state_dict_pickle(std::slice::from_ref(&t), &[4]);
    let evil = malicious_pickle(&marker);
    // Replace the final SETITEMS+STOP by: key, os.system("touch ...") call, SETITEMS, STOP.
    pickle.truncate(pickle.len() - 2);
    pickle.extend_from_slice(b"X\x04\x00\x00\x00evil");
    pickle.extend_from_slice(&evil[2..evil.len() - 1]);
    pickle.extend_from_slice(b"u.");
    let sneaky = dir.path().join("sneaky.bin");
    write_pth_zip(&sneaky, &pickle, &[t]).expect("write");
    let msg = err_text(Checkpoint::open(&sneaky, &Device::Cpu));
    assert!(msg.contains("os.system"), "{msg}");
    assert!(!marker.exists());
    let msg = err_text(convert_pth_to_safetensors(
        &sneaky,
        &dir.path().join("out.safetensors"),
    ));
    assert!(msg.contains("os.system"), "{msg}");
}

#[test]
fn damaged_files_give_errors_not_panics() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = dir.path().join("pytorch_model.bin");
    write_sample_bin(&bin);
    let bytes = std::fs::read(&bin).expect("read");
    for cut in [10, bytes.len() / 3, bytes.len() - 30] {
        let truncated = dir.path().join(format!("cut{cut}.bin"));
        std::fs::write(&truncated, &bytes[..cut]).expect("write");
        let _ = err_text(Checkpoint::open(&truncated, &Device::Cpu));
    }
    let empty = dir.path().join("empty.safetensors");
    std::fs::write(&empty, b"").expect("write");
    assert!(err_text(Checkpoint::open(&empty, &Device::Cpu)).contains("empty"));
    let legacy = dir.path().join("legacy.bin");
    std::fs::write(&legacy, b"\x80\x02not a zip at all").expect("write");
    assert!(err_text(Checkpoint::open(&legacy, &Device::Cpu)).contains("legacy"));

    let st = dir.path().join("model.safetensors");
    let converted = convert_pth_to_safetensors(&bin, &st);
    assert!(converted.is_ok());
    let good = std::fs::read(&st).expect("read");
    let header_len = u64::from_le_bytes(good[..8].try_into().expect("8 bytes")) as usize;
    let mut num_rejected = 0;
    // Flip one bit at several places in the length prefix and the JSON header.
    for pos in [0, 3, 7, 8, 9, 8 + header_len / 2, 8 + header_len - 2] {
        for bit in [0, 3, 6] {
            let mut damaged = good.clone();
            damaged[pos] ^= 1 << bit;
            let path: PathBuf = dir.path().join(format!("flip_{pos}_{bit}.safetensors"));
            std::fs::write(&path, &damaged).expect("write");
            // Either a clean error, or (a flip inside a key name) a loadable file: never a panic.
            if Checkpoint::open(&path, &Device::Cpu).is_err() {
                num_rejected += 1;
            }
        }
    }
    assert!(
        num_rejected >= 12,
        "only {num_rejected} damaged headers rejected"
    );
    let truncated = dir.path().join("truncated.safetensors");
    std::fs::write(&truncated, &good[..good.len() - 5]).expect("write");
    let _ = err_text(Checkpoint::open(&truncated, &Device::Cpu));
}

#[test]
fn folder_prefers_safetensors_then_bin() {
    let dir = tempfile::tempdir().expect("tempdir");
    assert!(err_text(Checkpoint::open(dir.path(), &Device::Cpu)).contains("neither"));
    write_sample_bin(&dir.path().join(PYTORCH_BIN_FILE));
    let ckpt = Checkpoint::open(dir.path(), &Device::Cpu).expect("open folder");
    assert_eq!(ckpt.format(), CheckpointFormat::PyTorchZip);
    convert_pth_to_safetensors(
        &dir.path().join(PYTORCH_BIN_FILE),
        &dir.path().join(SAFETENSORS_FILE),
    )
    .expect("convert");
    let ckpt = Checkpoint::open(dir.path(), &Device::Cpu).expect("open folder");
    assert_eq!(ckpt.format(), CheckpointFormat::Safetensors);
    let vb = open_checkpoint(dir.path(), &Device::Cpu).expect("vb");
    assert!(vb.contains_tensor("model.layer.bias"));
}

#[test]
fn hugging_face_cache_layout_is_found() {
    let root = tempfile::tempdir().expect("tempdir");
    let cache = root.path().join("hub");
    let repo = cache.join("models--OpenMuQ--MuQ-large-msd-iter");
    let make_snapshot = |rev: &str| {
        let snap = repo.join("snapshots").join(rev);
        std::fs::create_dir_all(&snap).expect("mkdir");
        std::fs::write(snap.join("config.json"), b"{}").expect("write");
        snap
    };
    let roots = vec![root.path().join("missing"), cache.clone()];
    assert_eq!(
        find_model_dir_in("OpenMuQ/MuQ-large-msd-iter", None, &roots),
        None
    );

    let old = make_snapshot("aaaa1111");
    std::thread::sleep(std::time::Duration::from_millis(20));
    let newer = make_snapshot("bbbb2222");
    // No refs/main: the newest snapshot.
    assert_eq!(
        find_model_dir_in("OpenMuQ/MuQ-large-msd-iter", None, &roots),
        Some(newer)
    );
    // refs/main wins.
    std::fs::create_dir_all(repo.join("refs")).expect("mkdir");
    std::fs::write(repo.join("refs").join("main"), b"aaaa1111\n").expect("write");
    assert_eq!(
        find_model_dir_in("OpenMuQ/MuQ-large-msd-iter", None, &roots),
        Some(old.clone())
    );
    // Override with a config.json wins; one without falls through to the cache.
    let custom = root.path().join("custom");
    std::fs::create_dir_all(&custom).expect("mkdir");
    assert_eq!(
        find_model_dir_in("OpenMuQ/MuQ-large-msd-iter", Some(&custom), &roots),
        Some(old)
    );
    std::fs::write(custom.join("config.json"), b"{}").expect("write");
    assert_eq!(
        find_model_dir_in("OpenMuQ/MuQ-large-msd-iter", Some(&custom), &roots),
        Some(custom)
    );
    // Malformed repo ids.
    for bad in ["OpenMuQ", "../x", "a/../b", "a/b/c", ""] {
        assert_eq!(find_model_dir_in(bad, None, &roots), None, "{bad}");
    }
}

#[test]
fn golden_fixture_checkpoint_opens_memory_mapped() {
    let dir = std::env::var_os("MUQ_GOLDEN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join("..")
                .join("shared")
                .join("golden")
        });
    let ckpt = Checkpoint::open(dir.join("muq_rotary"), &Device::Cpu).expect("open fixture folder");
    assert_eq!(ckpt.format(), CheckpointFormat::Safetensors);
    assert!(ckpt.path().ends_with(SAFETENSORS_FILE));
    let nbt = ckpt
        .tensors()
        .iter()
        .find(|t| t.name == "model.conv.conv.0.bn1.num_batches_tracked");
    assert!(nbt.is_some_and(|t| t.dtype == DType::I64));
    let w = ckpt
        .require("model.conv.linear.weight", &[32, 256])
        .expect("linear weight");
    assert_eq!(w.dtype(), DType::F32);
    let msg = err_text(ckpt.require("model.conv.linear.weight", &[1024, 16384]));
    assert!(
        msg.contains("[32, 256]")
            && msg.contains("[1024, 16384]")
            && msg.contains("model.safetensors"),
        "{msg}"
    );
}

#[test]
fn lying_or_mutated_pickles_give_errors_not_panics() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Declares 10^9 floats backed by a 12-byte entry: refused before any allocation.
    let t = PthTensor {
        name: "huge".into(),
        shape: vec![1_000, 1_000, 1_000],
        storage_class: "FloatStorage",
        bytes: f32_bytes(&[1.0, 2.0, 3.0]),
    };
    let pickle = state_dict_pickle(std::slice::from_ref(&t), &[4]);
    let liar = dir.path().join("liar.bin");
    write_pth_zip(&liar, &pickle, &[t]).expect("write");
    let msg = err_text(Checkpoint::open(&liar, &Device::Cpu));
    assert!(
        msg.contains("'huge'") && msg.contains("needs more data"),
        "{msg}"
    );

    // Every single-byte corruption of a valid pickle is either accepted or cleanly refused.
    let good = PthTensor {
        name: "w".into(),
        shape: vec![2],
        storage_class: "FloatStorage",
        bytes: f32_bytes(&[1.0, 2.0]),
    };
    let pickle = state_dict_pickle(std::slice::from_ref(&good), &[4]);
    let mut num_refused = 0;
    for pos in 0..pickle.len() {
        for replacement in [0x00_u8, 0x52, 0xff, pickle[pos] ^ 0x01] {
            let mut bad = pickle.clone();
            bad[pos] = replacement;
            let path = dir.path().join("mutated.bin");
            write_pth_zip(&path, &bad, std::slice::from_ref(&good)).expect("write");
            let result = std::panic::catch_unwind(|| {
                Checkpoint::open(&path, &Device::Cpu).map(|c| c.tensors().len())
            });
            assert!(
                result.is_ok(),
                "panic escaped for byte {pos} = {replacement:#x}"
            );
            if matches!(result, Ok(Err(_))) {
                num_refused += 1;
            }
        }
    }
    assert!(
        num_refused > pickle.len(),
        "only {num_refused} mutations refused"
    );
}
