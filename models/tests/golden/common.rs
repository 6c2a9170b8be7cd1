//! Shared pieces of the golden test: locating cases, classifying them by their config.json,
//! tolerances from case.json, and the element-wise comparison.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use candle_core::{DType, Device, Tensor};

/// Directory holding the case folders: `$MUQ_GOLDEN_DIR`, else `<repo root>/../shared/golden`.
pub fn golden_dir() -> PathBuf {
    match std::env::var_os("MUQ_GOLDEN_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/golden"),
    }
}

/// What a case exercises, decided from its config.json content (not its folder name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Muq,
    Mulan,
}

/// Classifies a case by the keys of its config.json.
pub fn classify(config: &serde_json::Value) -> Result<Kind> {
    let has = |k: &str| config.get(k).is_some();
    if has("mulan") && has("audio_model") && has("text_model") {
        Ok(Kind::Mulan)
    } else if has("encoder_dim") && has("w2v2_config") && has("conv_dim") {
        Ok(Kind::Muq)
    } else {
        bail!("config.json is neither a MuQ nor a MuQ-MuLan config")
    }
}

/// One case folder with its expected tensors and tolerances.
pub struct Case {
    pub dir: PathBuf,
    pub kind: Kind,
    pub config_text: String,
    pub expected: BTreeMap<String, Tensor>,
    tolerances: BTreeMap<String, (f64, f64)>,
}

/// Lists the case folders (sub-directories holding a config.json), sorted by name.
pub fn list_cases(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in
        std::fs::read_dir(dir).with_context(|| format!("reading golden dir {}", dir.display()))?
    {
        let path = entry?.path();
        if path.is_dir() && path.join("config.json").is_file() {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

impl Case {
    pub fn load(dir: &Path) -> Result<Self> {
        let config_text = std::fs::read_to_string(dir.join("config.json"))?;
        let config: serde_json::Value =
            serde_json::from_str(&config_text).context("config.json")?;
        let kind = classify(&config)?;
        let case_json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("case.json"))?)
                .context("case.json")?;
        let expected =
            candle_core::safetensors::load(dir.join("expected.safetensors"), &Device::Cpu)?
                .into_iter()
                .collect();
        let mut tolerances = BTreeMap::new();
        if let Some(obj) = case_json.get("tolerances").and_then(|t| t.as_object()) {
            for (k, v) in obj {
                let atol = v.get("recommended_atol").and_then(|x| x.as_f64());
                let rtol = v.get("recommended_rtol").and_then(|x| x.as_f64());
                if let (Some(a), Some(r)) = (atol, rtol) {
                    tolerances.insert(k.clone(), (a, r));
                }
            }
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            kind,
            config_text,
            expected,
            tolerances,
        })
    }

    /// (atol, rtol) for a tensor. Tensors without their own entry in case.json (the `debug.*`
    /// and `frontend.*` extras) get the loosest listed tolerance of the case's model tensors
    /// (everything but `mel_db`, which is in dB), widened to 2e-5 × max|expected|.
    pub fn tolerance(&self, name: &str, expected: &Tensor) -> Result<(f64, f64)> {
        if let Some(t) = self.tolerances.get(name) {
            return Ok(*t);
        }
        let (mut atol, mut rtol) = (0f64, 1e-4f64);
        for (k, (a, r)) in &self.tolerances {
            if k != "mel_db" {
                atol = atol.max(*a);
                rtol = rtol.max(*r);
            }
        }
        let max_abs = expected
            .to_dtype(DType::F64)?
            .abs()?
            .flatten_all()?
            .max(0)?
            .to_scalar::<f64>()?;
        Ok((atol.max(2e-5 * max_abs), rtol))
    }
}

/// Largest |a − b| over all elements of two f32 tensors of one shape (for the tests that
/// include this module beside `golden.rs`: `mulan.rs`, `cli_embed.rs`).
#[allow(dead_code)]
pub fn max_abs_diff(a: &Tensor, b: &Tensor) -> Result<f32> {
    Ok((a - b)?.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>()?)
}

/// Compares computed tensors with a case's expected ones and remembers the results.
pub struct Checker<'a> {
    case: &'a Case,
    checked: BTreeSet<String>,
    /// (tensor, worst err/tol)
    pub ratios: Vec<(String, f64)>,
    pub failures: Vec<String>,
}

impl<'a> Checker<'a> {
    pub fn new(case: &'a Case) -> Self {
        Self {
            case,
            checked: BTreeSet::new(),
            ratios: Vec::new(),
            failures: Vec::new(),
        }
    }

    /// Whether the case has this expected tensor.
    pub fn has(&self, name: &str) -> bool {
        self.case.expected.contains_key(name)
    }

    /// Compares `got` with expected `name`: shapes equal, integer tensors exactly, floating
    /// tensors with |got − exp| ≤ atol + rtol·|exp| element-wise.
    pub fn check(&mut self, name: &str, got: &Tensor) -> Result<()> {
        let exp = self
            .case
            .expected
            .get(name)
            .ok_or_else(|| anyhow!("no expected tensor {name}"))?;
        self.checked.insert(name.to_string());
        if got.dims() != exp.dims() {
            self.failures.push(format!(
                "{name}: shape {:?}, expected {:?}",
                got.dims(),
                exp.dims()
            ));
            return Ok(());
        }
        if exp.dtype().is_int() {
            let g = got.to_dtype(DType::I64)?.flatten_all()?.to_vec1::<i64>()?;
            let e = exp.to_dtype(DType::I64)?.flatten_all()?.to_vec1::<i64>()?;
            let mismatches = g.iter().zip(&e).filter(|(a, b)| a != b).count();
            if mismatches > 0 {
                self.failures.push(format!(
                    "{name}: {mismatches} integer values differ ({g:?} vs {e:?})"
                ));
            }
            self.ratios.push((
                name.to_string(),
                if mismatches > 0 { f64::INFINITY } else { 0.0 },
            ));
            return Ok(());
        }
        let (atol, rtol) = self.case.tolerance(name, exp)?;
        let g = got.to_dtype(DType::F64)?.flatten_all()?.to_vec1::<f64>()?;
        let e = exp.to_dtype(DType::F64)?.flatten_all()?.to_vec1::<f64>()?;
        let mut worst = 0f64;
        let mut worst_idx = 0;
        for (i, (a, b)) in g.iter().zip(&e).enumerate() {
            let r = (a - b).abs() / (atol + rtol * b.abs());
            if !(r <= worst) {
                worst = if r.is_nan() { f64::INFINITY } else { r };
                worst_idx = i;
            }
        }
        if worst > 1.0 {
            self.failures.push(format!(
                "{name}: err/tol {worst:.3} at flat index {worst_idx} (got {}, expected {}, atol {atol:e}, rtol {rtol:e})",
                g[worst_idx], e[worst_idx]
            ));
        }
        self.ratios.push((name.to_string(), worst));
        Ok(())
    }

    /// Fails unless every expected tensor was compared; returns the worst (tensor, ratio).
    pub fn finish(mut self) -> Result<(String, f64)> {
        for name in self.case.expected.keys() {
            if !self.checked.contains(name) {
                self.failures
                    .push(format!("{name}: expected tensor was never computed"));
            }
        }
        if !self.failures.is_empty() {
            bail!("{}", self.failures.join("\n    "));
        }
        self.ratios
            .into_iter()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .ok_or_else(|| anyhow!("the case has no expected tensors"))
    }
}

/// Reads a 24 kHz float32 mono WAV bit-exactly.
pub fn read_wav_f32(path: &Path) -> Result<Vec<f32>> {
    let mut reader =
        hound::WavReader::open(path).with_context(|| format!("opening {}", path.display()))?;
    let spec = reader.spec();
    if spec.sample_format != hound::SampleFormat::Float
        || spec.bits_per_sample != 32
        || spec.channels != 1
    {
        bail!(
            "{}: expected mono float32 WAV, got {spec:?}",
            path.display()
        );
    }
    Ok(reader
        .samples::<f32>()
        .collect::<std::result::Result<Vec<_>, _>>()?)
}
