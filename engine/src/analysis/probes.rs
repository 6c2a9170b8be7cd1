//! The probe heads (`muq probe train`) run live: loaded from the heads folders next to a
//! model, checked against the model they were trained for, and run on each window's pooled
//! MuQ hidden states (computed in the same forward pass as the MuLan latent, see
//! [`super::model::WindowFeatures`]). Runs on the inference or CLI thread.

use std::path::{Path, PathBuf};

use super::model::WindowFeatures;
use crate::heads::probe::{ProbeHead, TaskKind, load_heads_in};
use crate::load::identity::ModelIdentity;
use crate::readouts::{LabelScore, ProbeReadout};

/// Labels shown per probe readout.
pub const TOP_PROBE_LABELS: usize = 5;
/// Sub-folder of a model folder searched for heads.
pub const MODEL_HEADS_DIR: &str = "heads";

/// One accepted head.
pub struct LoadedProbe {
    /// The head folder.
    pub folder: PathBuf,
    /// The head.
    pub head: ProbeHead,
}

/// The output of every head on one window.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProbeOutputs {
    /// Readouts of the heads whose outputs were finite, in task order.
    pub readouts: Vec<ProbeReadout>,
    /// `(task, probabilities in label order)` of the same heads.
    pub probabilities: Vec<(String, Vec<f32>)>,
}

/// The accepted heads, sorted by task, and the hidden states they need.
#[derive(Default)]
pub struct ProbeSet {
    heads: Vec<LoadedProbe>,
    layers: Vec<usize>,
}

/// The folders searched for heads: `<model dir>/heads/`, then `extra` (when given).
pub fn head_folders(model_dir: Option<&Path>, extra: Option<&Path>) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = model_dir
        .map(|d| d.join(MODEL_HEADS_DIR))
        .into_iter()
        .collect();
    if let Some(extra) = extra
        && !dirs.iter().any(|d| d == extra)
    {
        dirs.push(extra.to_path_buf());
    }
    dirs
}

fn folder_name(folder: &Path) -> String {
    folder.file_name().map_or_else(
        || folder.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

impl ProbeSet {
    /// Loads every head in `dirs` checked against `identity` (`None`: the model exposes no
    /// hidden states, so any head is refused). Returns the set and one message per refused head
    /// or unreadable folder, each naming it and saying why.
    pub fn load(dirs: &[PathBuf], identity: Option<&ModelIdentity>) -> (Self, Vec<String>) {
        let mut set = Self::default();
        let mut messages = Vec::new();
        for dir in dirs {
            let Some(identity) = identity else {
                if dir.is_dir() {
                    messages.push(format!(
                        "heads in {} ignored: this model exposes no MuQ hidden states",
                        dir.display()
                    ));
                }
                continue;
            };
            let found = match load_heads_in(dir, identity) {
                Ok(found) => found,
                Err(e) => {
                    messages.push(format!("heads folder {}: {e}", dir.display()));
                    continue;
                }
            };
            for (folder, head) in found {
                let name = folder_name(&folder);
                match head {
                    Err(e) => messages.push(format!("head {name} refused: {e}")),
                    Ok(head) => {
                        if let Some(other) = set
                            .heads
                            .iter()
                            .find(|p| p.head.meta.task == head.meta.task)
                        {
                            messages.push(format!(
                                "head {name} refused: task {:?} is already loaded from {}",
                                head.meta.task,
                                other.folder.display()
                            ));
                            continue;
                        }
                        set.heads.push(LoadedProbe { folder, head });
                    }
                }
            }
        }
        set.heads
            .sort_by(|a, b| a.head.meta.task.cmp(&b.head.meta.task));
        set.layers = set.heads.iter().map(|p| p.head.meta.layer).collect();
        set.layers.sort_unstable();
        set.layers.dedup();
        (set, messages)
    }

    /// Hidden-state indices the heads read (sorted, unique).
    pub fn layers(&self) -> &[usize] {
        &self.layers
    }

    /// The accepted heads, in task order.
    pub fn heads(&self) -> &[LoadedProbe] {
        &self.heads
    }

    /// Whether no head is loaded.
    pub fn is_empty(&self) -> bool {
        self.heads.is_empty()
    }

    /// The head with this task name.
    pub fn find(&self, task: &str) -> Option<&ProbeHead> {
        self.heads
            .iter()
            .map(|p| &p.head)
            .find(|h| h.meta.task == task)
    }

    /// Runs every head on a window's features. A head whose layer is missing from `features`,
    /// that fails, or whose outputs are not all finite is left out (never published).
    pub fn run(&self, features: &WindowFeatures) -> ProbeOutputs {
        let mut out = ProbeOutputs::default();
        for probe in &self.heads {
            let meta = &probe.head.meta;
            let Some(pooled) = features.layer(meta.layer) else {
                continue;
            };
            let row = pooled.features(meta.pooling);
            let Ok(mut probs) = probe.head.predict(&[row]) else {
                continue;
            };
            let Some(probs) = probs.pop() else { continue };
            if probs.len() != meta.labels.len() || probs.iter().any(|p| !p.is_finite()) {
                continue;
            }
            out.readouts.push(readout(&probe.head, &probs));
            out.probabilities.push((meta.task.clone(), probs));
        }
        out
    }
}

/// The readout of one head: its top labels, best first.
fn readout(head: &ProbeHead, probs: &[f32]) -> ProbeReadout {
    let mut order: Vec<usize> = (0..probs.len()).collect();
    order.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]).then(a.cmp(&b)));
    ProbeReadout {
        task: head.meta.task.clone(),
        multi_label: head.meta.task_kind == TaskKind::MultiLabel,
        top: order
            .into_iter()
            .take(TOP_PROBE_LABELS)
            .map(|idx| LabelScore {
                label: head.meta.labels[idx].clone(),
                score: probs[idx].clamp(0.0, 1.0),
                cosine: 0.0,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heads::probe::features::PooledState;
    use crate::heads::probe::{HeadKind, HeadMeta, Pooling};
    use candle_core::{Device, Tensor};

    fn head(task: &str, layer: usize) -> ProbeHead {
        let meta = HeadMeta {
            format_version: 1,
            task: task.into(),
            task_kind: TaskKind::MultiClass,
            labels: (0..6).map(|i| format!("{task}{i}")).collect(),
            layer,
            pooling: Pooling::Meanmax,
            head: HeadKind::Linear,
            num_hidden: 0,
            model: ModelIdentity {
                config_hash: "0".into(),
                encoder_dim: 2,
                encoder_depth: 2,
            },
            feature_mean: vec![0.0; 4],
            feature_std: vec![1.0; 4],
            example_window_s: None,
        };
        let net = ProbeHead::fresh_net(&meta, 1).unwrap();
        ProbeHead::new(meta, net).unwrap()
    }

    #[test]
    fn readouts_are_sorted_capped_and_never_non_finite() {
        let broken = head("broken", 1);
        let nan = Tensor::full(f32::NAN, (6, 4), &Device::Cpu).unwrap();
        broken
            .net()
            .restore(&[("layers.0.weight".to_string(), nan)])
            .unwrap();
        let mut set = ProbeSet::default();
        for h in [head("good", 2), broken, head("other_layer", 0)] {
            set.heads.push(LoadedProbe {
                folder: PathBuf::from(&h.meta.task),
                head: h,
            });
        }
        let pooled = PooledState {
            mean: vec![0.5, -1.0],
            max: vec![1.0, 0.0],
        };
        let features = WindowFeatures {
            latent: vec![1.0],
            layers: vec![(1, pooled.clone()), (2, pooled)],
        };
        let out = set.run(&features);
        // "broken" gives NaN, "other_layer" has no features: only "good" is published.
        assert_eq!(out.readouts.len(), 1);
        let good = &out.readouts[0];
        assert_eq!(good.task, "good");
        assert_eq!(good.top.len(), TOP_PROBE_LABELS);
        assert!(good.top.windows(2).all(|p| p[0].score >= p[1].score));
        let probs = &out.probabilities[0].1;
        assert!((probs.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        let best = probs.iter().cloned().fold(f32::MIN, f32::max);
        assert_eq!(good.top[0].score, best);
    }

    #[test]
    fn the_model_folder_comes_first_and_folders_are_not_repeated() {
        let model = Path::new("/m");
        assert_eq!(
            head_folders(Some(model), Some(Path::new("/m/heads"))),
            vec![PathBuf::from("/m/heads")]
        );
        assert_eq!(
            head_folders(Some(model), Some(Path::new("/h"))),
            vec![PathBuf::from("/m/heads"), PathBuf::from("/h")]
        );
        assert!(head_folders(None, None).is_empty());
        let (set, messages) = ProbeSet::load(&[PathBuf::from("/no/such/dir")], None);
        assert!(set.is_empty() && messages.is_empty());
    }
}
