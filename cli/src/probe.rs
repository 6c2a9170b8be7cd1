//! `muq probe train|eval`: train a probe head on pooled MuQ features of labelled audio, or
//! score a saved head on a labelled test set. `--model` may be a MuQ folder or a MuQ-MuLan
//! folder (then its inner MuQ: the weights the live pipeline runs the heads on); `--unit`
//! makes one example per file or per live-length window.

mod examples;
pub mod metrics;
pub mod train;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};

use examples::{Unit, extract, load_model};
use metrics::{decide, evaluate};
use muq_engine::analysis::probe_key::key_labels;
use muq_engine::heads::key::{Key, MirexTally};
use muq_engine::heads::probe::labels::{LabelSet, task_kind_of};
use muq_engine::heads::probe::{
    FeatureExtractor, HeadKind, Pooling, ProbeHead, TaskKind, read_labels,
};
use train::{Dataset, EpochReport, TrainOptions, train_head};

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

/// Where the labelled examples come from; shared by `train` and `eval`.
#[derive(Debug, Args)]
pub struct ExampleArgs {
    /// CSV of `file,label` (multi-label: labels separated by `;`).
    #[arg(long)]
    pub labels: PathBuf,
    /// Folder the CSV's file paths are relative to.
    #[arg(long)]
    pub audio_root: PathBuf,
    /// MuQ folder, or MuQ-MuLan folder (its inner MuQ, as the live pipeline runs it); for
    /// `eval`, the one the head was trained on.
    #[arg(long)]
    pub model: PathBuf,
    /// One example per `file`, or per `window` of --window-s (labelled with its file's label;
    /// training's validation split still holds out whole files).
    #[arg(long, default_value = "file")]
    pub unit: String,
    /// Window length in seconds for `--unit window` (the live default is 10 s).
    #[arg(long, default_value_t = 10.0)]
    pub window_s: f32,
}

/// Arguments of `muq probe train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Task name saved with the head.
    #[arg(long)]
    pub task: String,
    /// Labelled audio and the model its features come from.
    #[command(flatten)]
    pub data: ExampleArgs,
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
    /// Labelled audio and the model its features come from.
    #[command(flatten)]
    pub data: ExampleArgs,
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

fn run_train(args: TrainArgs) -> Result<()> {
    let rows = read_labels(&args.data.labels)?;
    let label_set = LabelSet::from_rows(&rows);
    let task_kind = task_kind_of(&rows);
    let unit = Unit::parse(&args.data.unit, args.data.window_s)?;
    let (model, identity) = load_model(&args.data.model)?;
    let layer = args.layer.unwrap_or(identity.encoder_depth);
    let pooling = Pooling::parse(&args.pool)?;
    let extractor = FeatureExtractor::new(
        &model,
        identity.clone(),
        layer,
        pooling,
        Some(args.out.join(CACHE_DIR)),
    )?;
    let examples = extract(&extractor, &rows, &label_set, &args.data.audio_root, unit)?;
    let mut opts = TrainOptions::new(&args.task, layer);
    opts.pooling = pooling;
    opts.head = HeadKind::parse(&args.head)?;
    opts.num_hidden = args.hidden;
    opts.num_epochs = args.epochs;
    opts.patience_epochs = args.patience.max(1);
    opts.learning_rate = args.lr;
    opts.example_window_s = unit.window_s();
    let data = Dataset {
        features: &examples.features,
        targets: &examples.targets,
        keys: &examples.keys,
        labels: &label_set.names,
        task_kind,
    };
    let kind_name = if task_kind == TaskKind::MultiLabel {
        "multi-label"
    } else {
        "multi-class"
    };
    println!(
        "{}: {} files, {} {}, {} classes ({kind_name}), layer {layer}, {} pooling",
        args.task,
        rows.len(),
        examples.features.len(),
        unit.plural(),
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
        "best epoch {}: validation accuracy {:.3} (loss {:.4}) on {} held-out {} ({} trained); saved {}",
        report.best_epoch,
        report.val_accuracy,
        report.val_loss.max(0.0),
        report.val_idx.len(),
        unit.plural(),
        report.train_idx.len(),
        args.out.display()
    );
    Ok(())
}

fn run_eval(args: EvalArgs) -> Result<()> {
    let head = ProbeHead::load(&args.head)?;
    let unit = Unit::parse(&args.data.unit, args.data.window_s)?;
    let (model, identity) = load_model(&args.data.model)?;
    let layer = args.layer.unwrap_or(head.meta.layer);
    head.ensure_compatible(&identity, layer)?;
    let rows = read_labels(&args.data.labels)?;
    let label_set = LabelSet {
        names: head.meta.labels.clone(),
    };
    let extractor = FeatureExtractor::new(
        &model,
        identity,
        layer,
        head.meta.pooling,
        Some(args.head.join(CACHE_DIR)),
    )?;
    let examples = extract(&extractor, &rows, &label_set, &args.data.audio_root, unit)?;
    let probs = head.predict(&examples.features)?;
    let predicted = decide(&probs, head.meta.task_kind);
    let eval = evaluate(&examples.targets, &predicted, label_set.names.len());
    println!(
        "{}: {} files, {} {}",
        head.meta.task,
        rows.len(),
        examples.features.len(),
        unit.plural()
    );
    print!("{}", eval.render(&label_set.names));
    if let Some(line) = mirex_line(&head, &examples.targets, &probs) {
        println!("{line}");
    }
    Ok(())
}

/// For a key task (every label a key name, one label per example): the MIREX weighted score
/// of the arg-max key against the labelled key, with the count per relation.
fn mirex_line(head: &ProbeHead, targets: &[Vec<usize>], probs: &[Vec<f32>]) -> Option<String> {
    let keys: Vec<Key> = key_labels(&head.meta.labels).ok()?;
    if head.meta.task_kind != TaskKind::MultiClass {
        return None;
    }
    let mut tally = MirexTally::default();
    for (target, row) in targets.iter().zip(probs) {
        let reference = keys[*target.first()?];
        let best = (0..row.len()).max_by(|&a, &b| row[a].total_cmp(&row[b]));
        tally.add(best.map(|idx| keys[idx]), reference);
    }
    let [correct, fifth, relative, parallel, other] = tally.num_by_relation;
    Some(format!(
        "MIREX weighted score: {:.3} over {} (correct {correct}, fifth {fifth}, relative {relative}, parallel {parallel}, other {other})",
        tally.score(),
        tally.num_items()
    ))
}
