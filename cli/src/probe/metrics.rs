//! Decisions from probabilities, accuracy, per-class precision/recall and confusion matrix.

use std::fmt::Write as _;

use muq_engine::heads::probe::TaskKind;

/// Probability above which a multi-label class counts as present.
pub const MULTI_LABEL_THRESHOLD: f32 = 0.5;

/// Predicted label indices per row: the arg-max (multi-class) or every class whose sigmoid
/// exceeds [`MULTI_LABEL_THRESHOLD`] (multi-label).
pub fn decide(probs: &[Vec<f32>], task_kind: TaskKind) -> Vec<Vec<usize>> {
    probs
        .iter()
        .map(|row| match task_kind {
            TaskKind::MultiClass => row
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map(|(idx, _)| vec![idx])
                .unwrap_or_default(),
            TaskKind::MultiLabel => row
                .iter()
                .enumerate()
                .filter(|(_, p)| **p > MULTI_LABEL_THRESHOLD)
                .map(|(idx, _)| idx)
                .collect(),
        })
        .collect()
}

/// Scores of predictions against targets.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Fraction of rows whose predicted label set equals the true one.
    pub accuracy: f64,
    /// Per class: precision (NaN when never predicted).
    pub precision: Vec<f64>,
    /// Per class: recall (NaN when never present).
    pub recall: Vec<f64>,
    /// Per class: number of rows that carry it.
    pub support: Vec<usize>,
    /// `confusion[true][predicted]`: for each row, every (true, predicted) label pair counts once.
    pub confusion: Vec<Vec<usize>>,
}

/// Scores `predicted` against `targets` (label indices < `num_classes`; larger ones are ignored).
pub fn evaluate(
    targets: &[Vec<usize>],
    predicted: &[Vec<usize>],
    num_classes: usize,
) -> Evaluation {
    let mut confusion = vec![vec![0usize; num_classes]; num_classes];
    let (mut tp, mut fp, mut support) = (
        vec![0usize; num_classes],
        vec![0usize; num_classes],
        vec![0usize; num_classes],
    );
    let mut num_exact = 0usize;
    for (truth, pred) in targets.iter().zip(predicted) {
        let mut t_sorted = truth.clone();
        let mut p_sorted = pred.clone();
        t_sorted.sort_unstable();
        p_sorted.sort_unstable();
        num_exact += usize::from(t_sorted == p_sorted);
        for &t in truth.iter().filter(|&&t| t < num_classes) {
            support[t] += 1;
            for &p in pred.iter().filter(|&&p| p < num_classes) {
                confusion[t][p] += 1;
            }
        }
        for &p in pred.iter().filter(|&&p| p < num_classes) {
            if truth.contains(&p) {
                tp[p] += 1
            } else {
                fp[p] += 1
            }
        }
    }
    let ratio = |num: usize, den: usize| {
        if den == 0 {
            f64::NAN
        } else {
            num as f64 / den as f64
        }
    };
    Evaluation {
        accuracy: ratio(num_exact, targets.len().min(predicted.len())),
        precision: (0..num_classes)
            .map(|c| ratio(tp[c], tp[c] + fp[c]))
            .collect(),
        recall: (0..num_classes).map(|c| ratio(tp[c], support[c])).collect(),
        support,
        confusion,
    }
}

impl Evaluation {
    /// A text report: accuracy, a precision/recall table and the confusion matrix.
    pub fn render(&self, labels: &[String]) -> String {
        let width = labels.iter().map(String::len).max().unwrap_or(5).max(5);
        let mut out = String::new();
        let _ = writeln!(out, "accuracy: {:.3}", self.accuracy);
        let _ = writeln!(out, "{:<width$}  precision  recall  support", "class");
        for (idx, label) in labels.iter().enumerate() {
            let _ = writeln!(
                out,
                "{label:<width$}  {:>9.3}  {:>6.3}  {:>7}",
                self.precision.get(idx).copied().unwrap_or(f64::NAN),
                self.recall.get(idx).copied().unwrap_or(f64::NAN),
                self.support.get(idx).copied().unwrap_or(0)
            );
        }
        let _ = writeln!(out, "confusion (rows: true, columns: predicted):");
        let _ = write!(out, "{:<width$}", "");
        for label in labels {
            let _ = write!(out, " {label:>width$}");
        }
        let _ = writeln!(out);
        for (label, row) in labels.iter().zip(&self.confusion) {
            let _ = write!(out, "{label:<width$}");
            for count in row {
                let _ = write!(out, " {count:>width$}");
            }
            let _ = writeln!(out);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_class_scores_and_confusion() {
        let probs = vec![vec![0.9, 0.1], vec![0.3, 0.7], vec![0.6, 0.4]];
        let pred = decide(&probs, TaskKind::MultiClass);
        assert_eq!(pred, vec![vec![0], vec![1], vec![0]]);
        let eval = evaluate(&[vec![0], vec![1], vec![1]], &pred, 2);
        assert!((eval.accuracy - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(eval.confusion, vec![vec![1, 0], vec![1, 1]]);
        assert!((eval.precision[0] - 0.5).abs() < 1e-9);
        assert!((eval.recall[1] - 0.5).abs() < 1e-9);
        assert!(
            eval.render(&["a".into(), "b".into()])
                .contains("accuracy: 0.667")
        );
    }

    #[test]
    fn multi_label_threshold() {
        let pred = decide(&[vec![0.6, 0.7, 0.2]], TaskKind::MultiLabel);
        assert_eq!(pred, vec![vec![0, 1]]);
        let eval = evaluate(&[vec![1, 0]], &pred, 3);
        assert_eq!(eval.accuracy, 1.0);
        assert!(eval.precision[2].is_nan());
    }
}
