//! The tiny golden MuQ-MuLan as the hub would serve it under the released names, for download
//! tests: its config pointing at the released inner-model names, its weights as a
//! `pytorch_model.bin` (written with the engine's torch-archive writer), the tiny MuQ and XLM-R
//! configs and the tokenizer.

use crate::torture::golden_case;
use anyhow::{Context, Result, bail};
use candle_core::DType;
use muq_engine::load::pth_writer::{PthEntry, PthZipWriter, state_dict_pickle};
use muq_engine::models::mulan::hub::{MULAN_REPO, MUQ_REPO, XLMR_REPO};
use std::io::{Cursor, Write};
use std::path::Path;

/// `(repo, file, content)` of every file the model download fetches.
pub fn golden_mulan_hub_files() -> Result<Vec<(&'static str, &'static str, Vec<u8>)>> {
    let case = golden_case(|c| c.get("mulan").is_some())?;
    let read = |path: &Path| std::fs::read(path).with_context(|| format!("{}", path.display()));
    let mut config: serde_json::Value = serde_json::from_slice(&read(&case.join("config.json"))?)?;
    let muq_dir = config["audio_model"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let xlmr_dir = config["text_model"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    config["audio_model"]["name"] = MUQ_REPO.into();
    config["text_model"]["name"] = XLMR_REPO.into();
    Ok(vec![
        (
            MULAN_REPO,
            "config.json",
            serde_json::to_vec_pretty(&config)?,
        ),
        (
            MULAN_REPO,
            "pytorch_model.bin",
            bin_of(&case.join("model.safetensors"))?,
        ),
        (
            MUQ_REPO,
            "config.json",
            read(&case.join(&muq_dir).join("config.json"))?,
        ),
        (
            XLMR_REPO,
            "config.json",
            read(&case.join(&xlmr_dir).join("config.json"))?,
        ),
        (
            XLMR_REPO,
            "tokenizer.json",
            read(&case.join("tokenizer.json"))?,
        ),
    ])
}

/// A safetensors file's tensors as a `torch.save` archive.
fn bin_of(safetensors: &Path) -> Result<Vec<u8>> {
    let tensors = candle_core::safetensors::load(safetensors, &candle_core::Device::Cpu)?;
    let mut names: Vec<&String> = tensors.keys().collect();
    names.sort();
    let shapes: Vec<Vec<usize>> = names.iter().map(|n| tensors[*n].dims().to_vec()).collect();
    let mut entries = Vec::with_capacity(names.len());
    for (name, shape) in names.iter().zip(&shapes) {
        let storage_class = match tensors[*name].dtype() {
            DType::F32 => "FloatStorage",
            DType::I64 => "LongStorage",
            other => bail!("{name}: unexpected dtype {other:?}"),
        };
        entries.push(PthEntry {
            name,
            shape,
            storage_class,
            num_elements: shape.iter().product(),
        });
    }
    let mut zip = PthZipWriter::start(Cursor::new(Vec::new()), &state_dict_pickle(&entries))?;
    for name in &names {
        let tensor = &tensors[*name];
        let out = zip.tensor_data()?;
        match tensor.dtype() {
            DType::F32 => {
                for value in tensor.flatten_all()?.to_vec1::<f32>()? {
                    out.write_all(&value.to_le_bytes())?;
                }
            }
            _ => {
                for value in tensor.flatten_all()?.to_vec1::<i64>()? {
                    out.write_all(&value.to_le_bytes())?;
                }
            }
        }
    }
    Ok(zip.finish()?.into_inner())
}
