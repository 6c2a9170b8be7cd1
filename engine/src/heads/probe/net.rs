//! The head's network (linear, or linear → ReLU → linear) on candle-nn, with seeded weights
//! held in a [`VarMap`] so it can be trained, saved and loaded.

use crate::nn::random_init::SplitMix64;
use std::path::Path;

use candle_core::{DType, Device, Module, Tensor, Var};
use candle_nn::{Linear, VarMap};

use super::HeadKind;
use crate::error::{Error, Result};

/// A built network and the variables it trains.
pub struct ProbeNet {
    layers: Vec<Linear>,
    varmap: VarMap,
}

/// Sizes of a network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetShape {
    /// Linear or MLP.
    pub kind: HeadKind,
    /// Input features.
    pub num_inputs: usize,
    /// Hidden units (MLP only).
    pub num_hidden: usize,
    /// Classes.
    pub num_outputs: usize,
}

impl ProbeNet {
    /// A network with weights uniform in ±1/√fan_in, deterministic in `seed`.
    pub fn new(shape: NetShape, seed: u64, device: &Device) -> Result<Self> {
        if shape.num_inputs == 0
            || shape.num_outputs == 0
            || (shape.kind == HeadKind::Mlp && shape.num_hidden == 0)
        {
            return Err(Error::Probe(format!("invalid head shape {shape:?}")));
        }
        let varmap = VarMap::new();
        let mut rng = SplitMix64(seed);
        let dims: Vec<(usize, usize)> = match shape.kind {
            HeadKind::Linear => vec![(shape.num_inputs, shape.num_outputs)],
            HeadKind::Mlp => vec![
                (shape.num_inputs, shape.num_hidden),
                (shape.num_hidden, shape.num_outputs),
            ],
        };
        let mut layers = Vec::with_capacity(dims.len());
        for (layer_idx, &(num_in, num_out)) in dims.iter().enumerate() {
            let bound = 1.0 / (num_in as f32).sqrt();
            let w: Vec<f32> = (0..num_in * num_out)
                .map(|_| uniform(&mut rng, bound))
                .collect();
            let weight = Var::from_tensor(&Tensor::from_vec(w, (num_out, num_in), device)?)?;
            let bias = Var::zeros(num_out, DType::F32, device)?;
            layers.push(Linear::new(
                weight.as_tensor().clone(),
                Some(bias.as_tensor().clone()),
            ));
            let mut data = varmap
                .data()
                .lock()
                .map_err(|_| Error::Probe("variable map lock poisoned".into()))?;
            data.insert(format!("layers.{layer_idx}.weight"), weight);
            data.insert(format!("layers.{layer_idx}.bias"), bias);
        }
        Ok(Self { layers, varmap })
    }

    /// Logits (N, num_outputs) of features (N, num_inputs).
    pub fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let mut h = xs.clone();
        for (idx, layer) in self.layers.iter().enumerate() {
            if idx > 0 {
                h = h.relu()?;
            }
            h = layer.forward(&h)?;
        }
        Ok(h)
    }

    /// The trainable variables.
    pub fn vars(&self) -> Vec<Var> {
        self.varmap.all_vars()
    }

    /// Copies of the current weights (for keeping the best epoch).
    pub fn snapshot(&self) -> Result<Vec<(String, Tensor)>> {
        let data = self
            .varmap
            .data()
            .lock()
            .map_err(|_| Error::Probe("variable map lock poisoned".into()))?;
        data.iter()
            .map(|(name, var)| Ok((name.clone(), var.as_tensor().copy()?)))
            .collect()
    }

    /// Restores weights taken by [`Self::snapshot`].
    pub fn restore(&self, snapshot: &[(String, Tensor)]) -> Result<()> {
        let data = self
            .varmap
            .data()
            .lock()
            .map_err(|_| Error::Probe("variable map lock poisoned".into()))?;
        for (name, tensor) in snapshot {
            let var = data
                .get(name)
                .ok_or_else(|| Error::Probe(format!("no variable {name}")))?;
            var.set(tensor)?;
        }
        Ok(())
    }

    /// Saves the weights as safetensors.
    pub fn save(&self, path: &Path) -> Result<()> {
        self.varmap
            .save(path)
            .map_err(|e| Error::Probe(format!("writing {}: {e}", path.display())))
    }

    /// Loads weights saved by [`Self::save`]; errors on missing tensors or shape mismatches.
    pub fn load_weights(&mut self, path: &Path) -> Result<()> {
        self.varmap
            .load(path)
            .map_err(|e| Error::Probe(format!("reading {}: {e}", path.display())))
    }
}

/// Uniform in [-bound, bound) (weight init).
fn uniform(rng: &mut SplitMix64, bound: f32) -> f32 {
    let unit = (rng.next_u64() >> 40) as f32 / (1u64 << 24) as f32;
    (2.0 * unit - 1.0) * bound
}
