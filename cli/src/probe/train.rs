//! Training a probe head: deterministic stratified held-out split, feature standardisation,
//! class-balanced loss, full-batch AdamW and early stopping on the validation loss (the best
//! epoch's weights are kept).

use candle_core::{Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};

use super::metrics::{decide, evaluate};
use muq_engine::error::{Error, Result};
use muq_engine::heads::probe::features::{ModelIdentity, fnv1a};
use muq_engine::heads::probe::head::{HeadMeta, ProbeHead};
use muq_engine::heads::probe::net::ProbeNet;
use muq_engine::heads::probe::{HeadKind, Pooling, TaskKind};

/// Hyper-parameters and what the head records about its features.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// Task name saved in `head.json`.
    pub task: String,
    /// Hidden state index of the features.
    pub layer: usize,
    /// Pooling of the features.
    pub pooling: Pooling,
    /// Architecture.
    pub head: HeadKind,
    /// Hidden units of an MLP head.
    pub num_hidden: usize,
    /// Most epochs (full-batch steps).
    pub num_epochs: usize,
    /// Stop after this many epochs without a better validation loss.
    pub patience_epochs: usize,
    /// AdamW learning rate.
    pub learning_rate: f64,
    /// AdamW weight decay.
    pub weight_decay: f64,
    /// Share of each class held out for validation (0 < x < 1).
    pub val_fraction: f64,
    /// Seed of the weight init.
    pub seed: u64,
    /// Audio length of one example in seconds when training per window (saved in `head.json`;
    /// the live pipeline notes heads trained on another length); `None`: whole files.
    pub example_window_s: Option<f32>,
}

impl TrainOptions {
    /// Defaults for `task` on hidden state `layer`.
    pub fn new(task: &str, layer: usize) -> Self {
        Self {
            task: task.to_owned(),
            layer,
            pooling: Pooling::Mean,
            head: HeadKind::Linear,
            num_hidden: 128,
            num_epochs: 300,
            patience_epochs: 30,
            learning_rate: 1e-2,
            weight_decay: 1e-2,
            val_fraction: 0.2,
            seed: 0,
            example_window_s: None,
        }
    }
}

/// One epoch's progress.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochReport {
    /// 1-based epoch.
    pub epoch: usize,
    /// Training loss before the step.
    pub train_loss: f32,
    /// Validation loss.
    pub val_loss: f32,
    /// Validation accuracy (exact label-set match).
    pub val_accuracy: f64,
}

/// The trained head and how it got there.
pub struct TrainReport {
    /// The head with the best validation loss.
    pub head: ProbeHead,
    /// Epoch (1-based) whose weights were kept.
    pub best_epoch: usize,
    /// Validation loss of the kept weights.
    pub val_loss: f32,
    /// Validation accuracy of the kept weights.
    pub val_accuracy: f64,
    /// Indices (into the inputs) used for training.
    pub train_idx: Vec<usize>,
    /// Indices held out for validation.
    pub val_idx: Vec<usize>,
}

/// Labelled features: `features[i]` has labels `targets[i]` (class indices into `labels`);
/// `keys[i]` (the file path) decides the deterministic split; rows sharing a key (the windows
/// of one file) always land on the same side.
pub struct Dataset<'a> {
    /// Pooled features, all the same length.
    pub features: &'a [Vec<f32>],
    /// Class indices per row.
    pub targets: &'a [Vec<usize>],
    /// Stable key per row.
    pub keys: &'a [String],
    /// Class names.
    pub labels: &'a [String],
    /// Softmax or sigmoid.
    pub task_kind: TaskKind,
}

/// Stratified split by each row's first label, keeping every row of one key (file) on the
/// same side: per class, the class's keys ordered by their hash, `round(n·fraction)` of them
/// (at least one when the class has two or more keys) held out with all their rows.
pub fn split_indices(
    targets: &[Vec<usize>],
    keys: &[String],
    num_classes: usize,
    val_fraction: f64,
) -> (Vec<usize>, Vec<usize>) {
    let (mut train, mut val) = (Vec::new(), Vec::new());
    for class_idx in 0..num_classes {
        let rows: Vec<usize> = (0..targets.len())
            .filter(|&i| targets[i].first() == Some(&class_idx))
            .collect();
        let mut class_keys: Vec<&str> = rows.iter().map(|&i| keys[i].as_str()).collect();
        class_keys.sort_by_key(|k| (fnv1a(k.as_bytes()), *k));
        class_keys.dedup();
        let num_val = if class_keys.len() >= 2 {
            ((class_keys.len() as f64 * val_fraction).round() as usize)
                .clamp(1, class_keys.len() - 1)
        } else {
            0
        };
        let val_keys = &class_keys[..num_val];
        for &i in &rows {
            if val_keys.contains(&keys[i].as_str()) {
                val.push(i);
            } else {
                train.push(i);
            }
        }
    }
    train.sort_unstable();
    val.sort_unstable();
    (train, val)
}

/// Trains a head; `on_epoch` is called after every epoch.
pub fn train_head(
    data: &Dataset,
    model: ModelIdentity,
    opts: &TrainOptions,
    mut on_epoch: impl FnMut(&EpochReport),
) -> Result<TrainReport> {
    let num_classes = data.labels.len();
    check_inputs(data, opts)?;
    let (train_idx, val_idx) =
        split_indices(data.targets, data.keys, num_classes, opts.val_fraction);
    if val_idx.is_empty() || train_idx.is_empty() {
        return Err(Error::Probe(
            "too few files to hold some out for validation: give at least 2 files per class".into(),
        ));
    }
    let num_features = data.features[0].len();
    let (mean, std) = feature_stats(data.features, &train_idx, num_features);
    let meta = HeadMeta {
        format_version: 1,
        task: opts.task.clone(),
        task_kind: data.task_kind,
        labels: data.labels.to_vec(),
        layer: opts.layer,
        pooling: opts.pooling,
        head: opts.head,
        num_hidden: if opts.head == HeadKind::Mlp {
            opts.num_hidden
        } else {
            0
        },
        model,
        feature_mean: mean,
        feature_std: std,
        example_window_s: opts.example_window_s,
    };
    let head = ProbeHead::new(meta.clone(), ProbeHead::fresh_net(&meta, opts.seed)?)?;
    let pick = |idx: &[usize]| -> (Vec<Vec<f32>>, Vec<Vec<usize>>) {
        (
            idx.iter().map(|&i| data.features[i].clone()).collect(),
            idx.iter().map(|&i| data.targets[i].clone()).collect(),
        )
    };
    let (train_x, train_y) = pick(&train_idx);
    let (val_x, val_y) = pick(&val_idx);
    let loss_fn = BalancedLoss::new(data.task_kind, &train_y, num_classes)?;
    let (train_x, val_x) = (head.standardise(&train_x)?, head.standardise(&val_x)?);
    let (train_t, val_t) = (loss_fn.targets(&train_y)?, loss_fn.targets(&val_y)?);
    let net: &ProbeNet = head.net();
    let params = ParamsAdamW {
        lr: opts.learning_rate,
        weight_decay: opts.weight_decay,
        ..ParamsAdamW::default()
    };
    let mut optimizer = AdamW::new(net.vars(), params)?;
    let mut best = (f32::INFINITY, 0usize, 0.0f64, net.snapshot()?);
    for epoch in 1..=opts.num_epochs {
        let train_loss = loss_fn.loss(&net.forward(&train_x)?, &train_t)?;
        optimizer.backward_step(&train_loss)?;
        let val_logits = net.forward(&val_x)?;
        let val_loss = loss_fn.loss(&val_logits, &val_t)?.to_scalar::<f32>()?;
        let val_probs = match data.task_kind {
            TaskKind::MultiClass => candle_nn::ops::softmax_last_dim(&val_logits)?,
            TaskKind::MultiLabel => candle_nn::ops::sigmoid(&val_logits)?,
        };
        let val_accuracy = evaluate(
            &val_y,
            &decide(&val_probs.to_vec2::<f32>()?, data.task_kind),
            num_classes,
        )
        .accuracy;
        on_epoch(&EpochReport {
            epoch,
            train_loss: train_loss.to_scalar::<f32>()?,
            val_loss,
            val_accuracy,
        });
        if !val_loss.is_finite() {
            return Err(Error::Probe(format!(
                "validation loss became {val_loss} at epoch {epoch}; try a lower learning rate"
            )));
        }
        if val_loss < best.0 {
            best = (val_loss, epoch, val_accuracy, net.snapshot()?);
        } else if epoch - best.1 >= opts.patience_epochs {
            break;
        }
    }
    net.restore(&best.3)?;
    Ok(TrainReport {
        head,
        best_epoch: best.1,
        val_loss: best.0,
        val_accuracy: best.2,
        train_idx,
        val_idx,
    })
}

fn check_inputs(data: &Dataset, opts: &TrainOptions) -> Result<()> {
    let n = data.features.len();
    if n == 0 || data.targets.len() != n || data.keys.len() != n {
        return Err(Error::Probe(format!(
            "{n} feature rows, {} targets, {} keys: need the same non-zero count",
            data.targets.len(),
            data.keys.len()
        )));
    }
    if data.labels.len() < 2 && data.task_kind == TaskKind::MultiClass {
        return Err(Error::Probe(
            "a multi-class task needs at least 2 classes".into(),
        ));
    }
    let num_features = data.features[0].len();
    if data
        .features
        .iter()
        .any(|f| f.len() != num_features || f.iter().any(|v| !v.is_finite()))
    {
        return Err(Error::Probe(
            "feature rows differ in length or hold non-finite values".into(),
        ));
    }
    if data
        .targets
        .iter()
        .any(|t| t.is_empty() || t.iter().any(|&c| c >= data.labels.len()))
    {
        return Err(Error::Probe(
            "every row needs at least one valid class index".into(),
        ));
    }
    if !(opts.val_fraction > 0.0 && opts.val_fraction < 1.0) || opts.num_epochs == 0 {
        return Err(Error::Probe(
            "val_fraction must be in (0, 1) and epochs at least 1".into(),
        ));
    }
    if !(opts.learning_rate.is_finite() && opts.learning_rate > 0.0) {
        return Err(Error::Probe(format!(
            "learning rate {} must be positive",
            opts.learning_rate
        )));
    }
    Ok(())
}

/// Mean and standard deviation of each feature over the training rows (std floored at 1e-6,
/// and 1 for constant features).
fn feature_stats(
    features: &[Vec<f32>],
    rows: &[usize],
    num_features: usize,
) -> (Vec<f32>, Vec<f32>) {
    let n = rows.len() as f64;
    let mut mean = vec![0f64; num_features];
    for &r in rows {
        for (m, &x) in mean.iter_mut().zip(&features[r]) {
            *m += f64::from(x) / n;
        }
    }
    let mut var = vec![0f64; num_features];
    for &r in rows {
        for ((v, m), &x) in var.iter_mut().zip(&mean).zip(&features[r]) {
            *v += (f64::from(x) - m).powi(2) / n;
        }
    }
    let std = var
        .iter()
        .map(|v| {
            if v.sqrt() < 1e-6 {
                1.0
            } else {
                v.sqrt() as f32
            }
        })
        .collect();
    (mean.iter().map(|&m| m as f32).collect(), std)
}

/// Class-balanced loss: weighted cross-entropy (each class weighs N/(C·count)) or binary
/// cross-entropy with per-class positive weights negatives/positives.
struct BalancedLoss {
    task_kind: TaskKind,
    num_classes: usize,
    class_weights: Vec<f32>,
}

impl BalancedLoss {
    fn new(task_kind: TaskKind, targets: &[Vec<usize>], num_classes: usize) -> Result<Self> {
        let mut counts = vec![0usize; num_classes];
        for t in targets {
            for &c in t {
                counts[c] += 1;
            }
        }
        let n = targets.len() as f32;
        let class_weights = match task_kind {
            TaskKind::MultiClass => {
                let num_present = counts.iter().filter(|&&c| c > 0).count().max(1) as f32;
                counts
                    .iter()
                    .map(|&c| {
                        if c == 0 {
                            0.0
                        } else {
                            n / (num_present * c as f32)
                        }
                    })
                    .collect()
            }
            TaskKind::MultiLabel => counts
                .iter()
                .map(|&c| {
                    if c == 0 {
                        1.0
                    } else {
                        ((n - c as f32) / c as f32).max(0.1)
                    }
                })
                .collect(),
        };
        Ok(Self {
            task_kind,
            num_classes,
            class_weights,
        })
    }

    /// (N, C) multi-hot targets.
    fn targets(&self, targets: &[Vec<usize>]) -> Result<Tensor> {
        let mut flat = vec![0f32; targets.len() * self.num_classes];
        for (row, t) in targets.iter().enumerate() {
            for &c in t {
                flat[row * self.num_classes + c] = 1.0;
            }
        }
        Ok(Tensor::from_vec(
            flat,
            (targets.len(), self.num_classes),
            &Device::Cpu,
        )?)
    }

    fn loss(&self, logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
        let weights =
            Tensor::from_slice(&self.class_weights, (1, self.num_classes), logits.device())?;
        Ok(match self.task_kind {
            TaskKind::MultiClass => {
                let log_probs = candle_nn::ops::log_softmax(logits, 1)?;
                let sample_w = targets.broadcast_mul(&weights)?;
                let total_w = sample_w.sum_all()?;
                (sample_w * log_probs)?
                    .sum_all()?
                    .neg()?
                    .broadcast_div(&total_w)?
            }
            TaskKind::MultiLabel => {
                // softplus(z) = relu(z) + ln(1 + e^-|z|), stable for large |z|.
                let tail = logits.abs()?.neg()?.exp()?.affine(1.0, 1.0)?.log()?;
                let sp_pos = (logits.relu()? + &tail)?;
                let sp_neg = (logits.neg()?.relu()? + &tail)?;
                let pos = targets.broadcast_mul(&weights)?.mul(&sp_neg)?;
                let neg = targets.affine(-1.0, 1.0)?.mul(&sp_pos)?;
                (pos + neg)?.mean_all()?
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_of_one_file_stay_on_one_side_of_the_split() {
        // 6 files per class, 3 windows each.
        let (mut targets, mut keys) = (Vec::new(), Vec::new());
        for file_idx in 0..12 {
            for _ in 0..3 {
                targets.push(vec![file_idx % 2]);
                keys.push(format!("f{file_idx}.wav"));
            }
        }
        let (train, val) = split_indices(&targets, &keys, 2, 0.2);
        assert_eq!(train.len() + val.len(), 36);
        for &v in &val {
            assert!(
                train.iter().all(|&t| keys[t] != keys[v]),
                "{} leaked",
                keys[v]
            );
        }
        // round(6 · 0.2) = 1 file per class held out, with all its windows.
        assert_eq!(val.len(), 2 * 3);
    }
}
