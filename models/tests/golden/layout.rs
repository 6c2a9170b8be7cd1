//! The fixture maker's checkpoint layout (`muq fixture`) against each golden case's
//! `model.safetensors`, which the official classes wrote: same keys, shapes and dtypes.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use muq_models::load::layout::{
    MulanDims, MuqDims, StoredDtype, TensorSpec, mulan_layout, muq_layout,
};
use serde_json::Value;

use super::common::{Kind, classify};

type KeyMap = BTreeMap<String, (Vec<usize>, StoredDtype)>;

fn read_json(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
    Ok(serde_json::from_str(&text)?)
}

fn golden_keys(case_dir: &Path) -> Result<KeyMap> {
    // SAFETY: read-only map of a fixture nobody modifies during the test.
    let st = unsafe {
        candle_core::safetensors::MmapedSafetensors::new(case_dir.join("model.safetensors"))
    }?;
    Ok(st
        .tensors()
        .into_iter()
        .map(|(name, view)| {
            let dtype = match candle_core::DType::try_from(view.dtype()) {
                Ok(candle_core::DType::I64) => StoredDtype::I64,
                _ => StoredDtype::F32,
            };
            (name, (view.shape().to_vec(), dtype))
        })
        .collect())
}

fn inner_config(case_dir: &Path, mulan: &Value, model: &str) -> Result<Value> {
    let name = mulan
        .pointer(&format!("/{model}/name"))
        .and_then(Value::as_str)
        .context("model name")?;
    let last = name.rsplit('/').next().unwrap_or(name);
    read_json(&case_dir.join(last).join("config.json"))
}

/// Compares the layout derived from the case's configs with its checkpoint.
pub fn check_layout(case_dir: &Path) -> Result<usize> {
    let config = read_json(&case_dir.join("config.json"))?;
    let specs: Vec<TensorSpec> = match classify(&config)? {
        Kind::Muq => muq_layout(&MuqDims::from_config(&config).map_err(anyhow::Error::msg)?),
        Kind::Mulan => {
            let muq = inner_config(case_dir, &config, "audio_model")?;
            let xlmr = inner_config(case_dir, &config, "text_model")?;
            mulan_layout(
                &MulanDims::from_configs(&config, &muq, &xlmr).map_err(anyhow::Error::msg)?,
            )
        }
    };
    let ours: KeyMap = specs
        .into_iter()
        .map(|s| (s.name, (s.shape, s.dtype)))
        .collect();
    let golden = golden_keys(case_dir)?;
    let missing: Vec<_> = golden.keys().filter(|k| !ours.contains_key(*k)).collect();
    let extra: Vec<_> = ours.keys().filter(|k| !golden.contains_key(*k)).collect();
    if !missing.is_empty() || !extra.is_empty() {
        bail!("layout lacks {missing:?}, has extra {extra:?}");
    }
    for (name, found) in &golden {
        if ours[name] != *found {
            bail!("{name}: layout {:?}, checkpoint {found:?}", ours[name]);
        }
    }
    Ok(golden.len())
}
