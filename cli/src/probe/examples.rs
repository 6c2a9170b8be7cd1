//! What `muq probe` trains and scores on: the model (a MuQ folder, or a MuQ-MuLan folder whose
//! inner MuQ is what the live pipeline runs) and the examples, one per file or one per window.

use std::path::Path;

use anyhow::{Context, Result, bail};
use candle_core::Device;
use indicatif::{ProgressBar, ProgressStyle};

use muq_engine::analysis::window::WindowPlan;
use muq_engine::heads::probe::labels::LabelSet;
use muq_engine::heads::probe::{FeatureExtractor, LabelledFile, ModelIdentity};
use muq_engine::models::mulan::{MulanFiles, MuqMulan};
use muq_engine::models::muq::Muq;

/// What one example is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Unit {
    /// One example per file: its features pooled over the whole file.
    File,
    /// One example per window of `window_samples` (24 kHz, on the token grid), labelled with
    /// its file's labels: what the live pipeline feeds the heads.
    Window {
        /// Window length in samples.
        window_samples: usize,
    },
}

impl Unit {
    /// Audio length of one example in seconds; `None` for whole files.
    pub fn window_s(self) -> Option<f32> {
        match self {
            Self::File => None,
            Self::Window { window_samples } => {
                Some(window_samples as f32 / muq_engine::audio::MUQ_SAMPLE_RATE_HZ as f32)
            }
        }
    }

    /// Parses `file` or `window` (with the window length in seconds, rounded to the token grid
    /// like the live pipeline's).
    pub fn parse(text: &str, window_s: f32) -> Result<Self> {
        match text {
            "file" => Ok(Self::File),
            "window" => {
                let plan = WindowPlan::new(window_s, window_s, 0.0)?;
                Ok(Self::Window {
                    window_samples: plan.window_samples,
                })
            }
            other => bail!("unit {other:?}: expected `file` or `window`"),
        }
    }

    /// `"files"` or `"windows"`, for messages.
    pub fn plural(self) -> &'static str {
        match self {
            Self::File => "files",
            Self::Window { .. } => "windows",
        }
    }
}

/// Loads the MuQ the heads read: a MuQ folder as is, or a MuQ-MuLan folder's inner MuQ (the
/// live pipeline's weights; the identity is then the one the live pipeline checks).
pub fn load_model(dir: &Path) -> Result<(Muq, ModelIdentity)> {
    let config_path = dir.join("config.json");
    let config = std::fs::read_to_string(&config_path)
        .with_context(|| format!("reading {}", config_path.display()))?;
    let is_mulan = serde_json::from_str::<serde_json::Value>(&config)
        .with_context(|| format!("parsing {}", config_path.display()))?
        .get("mulan")
        .is_some();
    let model = if is_mulan {
        let files = MulanFiles::locate(dir)?;
        MuqMulan::load_inner_muq(&files, &Device::Cpu)
            .with_context(|| format!("loading MuQ-MuLan's MuQ from {}", dir.display()))?
    } else {
        Muq::load(dir, &Device::Cpu)
            .with_context(|| format!("loading MuQ from {}", dir.display()))?
    };
    let identity = ModelIdentity::of_dir(dir, &model)?;
    Ok((model, identity))
}

/// Labelled examples: features, targets and the file each came from.
pub struct Examples {
    /// Pooled features per example.
    pub features: Vec<Vec<f32>>,
    /// Class indices per example.
    pub targets: Vec<Vec<usize>>,
    /// The file (as written in the CSV) per example: the train/validation split key.
    pub keys: Vec<String>,
}

/// Features and targets of every row, per `unit`, with a progress bar.
pub fn extract(
    extractor: &FeatureExtractor,
    rows: &[LabelledFile],
    labels: &LabelSet,
    audio_root: &Path,
    unit: Unit,
) -> Result<Examples> {
    let targets = targets_of(rows, labels)?;
    let bar = ProgressBar::new(rows.len() as u64);
    if let Ok(style) = ProgressStyle::with_template("features {bar:30} {pos}/{len} files") {
        bar.set_style(style);
    }
    let mut out = Examples {
        features: Vec::new(),
        targets: Vec::new(),
        keys: Vec::new(),
    };
    for (row, target) in rows.iter().zip(targets) {
        let path = audio_root.join(&row.file);
        let features = match unit {
            Unit::File => vec![extractor.features_of_file(&path)?],
            Unit::Window { window_samples } => {
                extractor.window_features_of_file(&path, window_samples)?
            }
        };
        for f in features {
            out.features.push(f);
            out.targets.push(target.clone());
            out.keys.push(row.file.display().to_string());
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(out)
}

/// Class indices of every row's labels.
pub fn targets_of(rows: &[LabelledFile], labels: &LabelSet) -> Result<Vec<Vec<usize>>> {
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let idx: muq_engine::error::Result<Vec<usize>> =
            row.labels.iter().map(|l| labels.index_of(l)).collect();
        match idx {
            Ok(idx) => out.push(idx),
            Err(e) => bail!("{}: {e}", row.file.display()),
        }
    }
    Ok(out)
}
