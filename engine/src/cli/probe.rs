//! `muq probe train|eval`: train a probe head on pooled MuQ features of labelled audio, or
//! score a saved head on a labelled test set.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use candle_core::Device;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use crate::heads::probe::labels::{LabelSet, task_kind_of};
use crate::heads::probe::metrics::{decide, evaluate};
use crate::heads::probe::train::{Dataset, EpochReport};
use crate::heads::probe::{
    FeatureExtractor, HeadKind, LabelledFile, ModelIdentity, Pooling, ProbeHead, TaskKind,
    TrainOptions, read_labels, train_head,
};
use crate::models::muq::Muq;

/// Folder (inside the output or head folder) holding cached features.
const CACHE_DIR: &str = "feature_cache";

/// Arguments of `muq probe`.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// `train` or `eval`.
    #[command(subcommand)]
    pub command: ProbeCommand,
}

/// The probe subcommands.
#[derive(Debug, Subcommand)]
pub enum ProbeCommand {
    /// Train a head and save head.safetensors + head.json.
    Train(TrainArgs),
    /// Accuracy, per-class precision/recall and confusion matrix of a saved head.
    Eval(EvalArgs),
}

/// Arguments of `muq probe train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Task name saved with the head.
    #[arg(long)]
    pub task: String,
    /// CSV of `file,label` (multi-label: labels separated by `;`).
    #[arg(long)]
    pub labels: PathBuf,
    /// Folder the CSV's file paths are relative to.
    #[arg(long)]
    pub audio_root: PathBuf,
    /// MuQ model folder.
    #[arg(long)]
    pub model: PathBuf,
    /// Hidden state index 0..=depth (default: the last).
    #[arg(long)]
    pub layer: Option<usize>,
    /// Pooling over time: `mean` or `meanmax`.
    #[arg(long, default_value = "mean")]
    pub pool: String,
    /// Head: `linear` or `mlp`.
    #[arg(long, default_value = "linear")]
    pub head: String,
    /// Hidden units of an MLP head.
    #[arg(long, default_value_t = 128)]
    pub hidden: usize,
    /// Most epochs.
    #[arg(long, default_value_t = 300)]
    pub epochs: usize,
    /// Early stopping patience in epochs.
    #[arg(long, default_value_t = 30)]
    pub patience: usize,
    /// AdamW learning rate.
    #[arg(long, default_value_t = 1e-2)]
    pub lr: f64,
    /// Output folder (head files and the feature cache).
    #[arg(long)]
    pub out: PathBuf,
}

/// Arguments of `muq probe eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Head folder written by `muq probe train`.
    #[arg(long)]
    pub head: PathBuf,
    /// CSV of `file,label`.
    #[arg(long)]
    pub labels: PathBuf,
    /// Folder the CSV's file paths are relative to.
    #[arg(long)]
    pub audio_root: PathBuf,
    /// MuQ model folder (must be the one the head was trained on).
    #[arg(long)]
    pub model: PathBuf,
    /// Hidden state to read; refused unless it is the head's own (default: the head's).
    #[arg(long)]
    pub layer: Option<usize>,
}

/// Runs `muq probe`.
pub fn run(args: ProbeArgs) -> Result<()> {
    match args.command {
        ProbeCommand::Train(args) => run_train(args),
        ProbeCommand::Eval(args) => run_eval(args),
    }
}

fn load_model(dir: &Path) -> Result<(Muq, ModelIdentity)> {
    let model = Muq::load(dir, &Device::Cpu)
        .with_context(|| format!("loading MuQ from {}", dir.display()))?;
    let identity = ModelIdentity::of_dir(dir, &model)?;
    Ok((model, identity))
}

fn extract(
    extractor: &FeatureExtractor,
    rows: &[LabelledFile],
    audio_root: &Path,
) -> Result<Vec<Vec<f32>>> {
    let bar = ProgressBar::new(rows.len() as u64);
    if let Ok(style) = ProgressStyle::with_template("features {bar:30} {pos}/{len} files") {
        bar.set_style(style);
    }
    let features = extractor.features_of_rows(rows, audio_root, |_| bar.inc(1));
    bar.finish_and_clear();
    Ok(features?)
}

fn run_train(args: TrainArgs) -> Result<()> {
    let rows = read_labels(&args.labels)?;
    let label_set = LabelSet::from_rows(&rows);
    let task_kind = task_kind_of(&rows);
    let (model, identity) = load_model(&args.model)?;
    let layer = args.layer.unwrap_or(identity.encoder_depth);
    let pooling = Pooling::parse(&args.pool)?;
    let extractor = FeatureExtractor::new(
        &model,
        identity.clone(),
        layer,
        pooling,
        Some(args.out.join(CACHE_DIR)),
    )?;
    let features = extract(&extractor, &rows, &args.audio_root)?;
    let targets = targets_of(&rows, &label_set)?;
    let keys: Vec<String> = rows.iter().map(|r| r.file.display().to_string()).collect();
    let mut opts = TrainOptions::new(&args.task, layer);
    opts.pooling = pooling;
    opts.head = HeadKind::parse(&args.head)?;
    opts.num_hidden = args.hidden;
    opts.num_epochs = args.epochs;
    opts.patience_epochs = args.patience.max(1);
    opts.learning_rate = args.lr;
    let data = Dataset {
        features: &features,
        targets: &targets,
        keys: &keys,
        labels: &label_set.names,
        task_kind,
    };
    let kind_name = if task_kind == TaskKind::MultiLabel {
        "multi-label"
    } else {
        "multi-class"
    };
    println!(
        "{}: {} files, {} classes ({kind_name}), layer {layer}, {} pooling",
        args.task,
        rows.len(),
        label_set.names.len(),
        pooling.name()
    );
    let num_epochs = args.epochs;
    let report = train_head(&data, identity, &opts, |e: &EpochReport| {
        println!(
            "epoch {:>4}/{num_epochs}  train loss {:.4}  val loss {:.4}  val accuracy {:.3}",
            e.epoch,
            e.train_loss.max(0.0),
            e.val_loss.max(0.0),
            e.val_accuracy
        );
    })?;
    report.head.save(&args.out)?;
    println!(
        "best epoch {}: validation accuracy {:.3} (loss {:.4}) on {} held-out files ({} trained); saved {}",
        report.best_epoch,
        report.val_accuracy,
        report.val_loss.max(0.0),
        report.val_idx.len(),
        report.train_idx.len(),
        args.out.display()
    );
    Ok(())
}

fn run_eval(args: EvalArgs) -> Result<()> {
    let head = ProbeHead::load(&args.head)?;
    let (model, identity) = load_model(&args.model)?;
    let layer = args.layer.unwrap_or(head.meta.layer);
    head.ensure_compatible(&identity, layer)?;
    let rows = read_labels(&args.labels)?;
    let label_set = LabelSet {
        names: head.meta.labels.clone(),
    };
    let targets = targets_of(&rows, &label_set)?;
    let extractor = FeatureExtractor::new(
        &model,
        identity,
        layer,
        head.meta.pooling,
        Some(args.head.join(CACHE_DIR)),
    )?;
    let features = extract(&extractor, &rows, &args.audio_root)?;
    let probs = head.predict(&features)?;
    let eval = evaluate(
        &targets,
        &decide(&probs, head.meta.task_kind),
        label_set.names.len(),
    );
    println!("{}: {} files", head.meta.task, rows.len());
    print!("{}", eval.render(&label_set.names));
    Ok(())
}

fn targets_of(rows: &[LabelledFile], labels: &LabelSet) -> Result<Vec<Vec<usize>>> {
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let idx: crate::error::Result<Vec<usize>> =
            row.labels.iter().map(|l| labels.index_of(l)).collect();
        match idx {
            Ok(idx) => out.push(idx),
            Err(e) => bail!("{}: {e}", row.file.display()),
        }
    }
    Ok(out)
}
