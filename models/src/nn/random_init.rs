//! A `VarBuilder` backend that makes seeded random weights of any requested shape, so the
//! real-size architectures can be built and benchmarked without downloading a checkpoint.
//! Values are deterministic in (seed, tensor name).

use candle_core::{DType, Device, Result, Shape, Tensor};
use candle_nn::var_builder::SimpleBackend;
use candle_nn::{Init, VarBuilder};

/// Seeded random weights: matrices ~ N(0, 1/fan_in), norm weights ≈ 1, biases and running
/// means ≈ N(0, 0.1²), running variances in [0.5, 1.5).
#[derive(Debug, Clone, Copy)]
pub struct SeededRandomBackend {
    seed: u64,
}

/// Builds a `VarBuilder` over [`SeededRandomBackend`] (f32).
pub fn random_var_builder(seed: u64, device: &Device) -> VarBuilder<'static> {
    VarBuilder::from_backend(
        Box::new(SeededRandomBackend { seed }),
        DType::F32,
        device.clone(),
    )
}

/// SplitMix64: a tiny seeded generator, identical on every platform (the one generator of the
/// project: random weights, probe-head initialisation, test material).
#[derive(Debug, Clone)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// SplitMix64 step on a bare state.
fn splitmix(state: &mut u64) -> u64 {
    let mut generator = SplitMix64(*state);
    let value = generator.next_u64();
    *state = generator.0;
    value
}

fn uniform(state: &mut u64) -> f32 {
    ((splitmix(state) >> 40) as f32 + 0.5) / (1u64 << 24) as f32
}

fn name_hash(seed: u64, name: &str) -> u64 {
    // FNV-1a, then mixed with the seed.
    let mut h = 0xCBF2_9CE4_8422_2325u64 ^ seed;
    for b in name.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01B3);
    }
    h
}

/// The seeded values of tensor `name` with shape `dims` (deterministic in seed and name):
/// matrices ~ N(0, 1/fan_in), norm weights and scales ≈ 1, running variances in [0.5, 1.5),
/// other vectors ≈ N(0, 0.1²).
pub fn seeded_values(seed: u64, name: &str, dims: &[usize]) -> Vec<f32> {
    let n: usize = dims.iter().product();
    let mut state = name_hash(seed, name);
    let mut gauss = || {
        let (u1, u2) = (uniform(&mut state), uniform(&mut state));
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f32::consts::PI * u2).cos()
    };
    let last = name.rsplit('.').next().unwrap_or(name);
    if dims.len() >= 2 {
        let fan_in: usize = dims[1..].iter().product::<usize>().max(1);
        let std = 1.0 / (fan_in as f32).sqrt();
        (0..n).map(|_| gauss() * std).collect()
    } else if last == "running_var" {
        (0..n).map(|_| 0.5 + uniform(&mut state)).collect()
    } else if last == "weight" || last.ends_with("gamma") || last.ends_with("scale") {
        (0..n).map(|_| 1.0 + 0.1 * gauss()).collect()
    } else {
        (0..n).map(|_| 0.1 * gauss()).collect()
    }
}

impl SimpleBackend for SeededRandomBackend {
    fn get(&self, s: Shape, name: &str, _h: Init, dtype: DType, dev: &Device) -> Result<Tensor> {
        let values = seeded_values(self.seed, name, s.dims());
        Tensor::from_vec(values, s.dims(), dev)?.to_dtype(dtype)
    }

    fn get_unchecked(&self, name: &str, _dtype: DType, _dev: &Device) -> Result<Tensor> {
        candle_core::bail!("random weights need a shape for {name}")
    }

    fn contains_tensor(&self, name: &str) -> bool {
        // Buffers that models compute themselves when absent.
        !name.ends_with("inv_freq")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_per_name_and_seed() -> Result<()> {
        let dev = Device::Cpu;
        let a = random_var_builder(7, &dev)
            .get((4, 8), "x.weight")?
            .to_vec2::<f32>()?;
        let b = random_var_builder(7, &dev)
            .get((4, 8), "x.weight")?
            .to_vec2::<f32>()?;
        let c = random_var_builder(8, &dev)
            .get((4, 8), "x.weight")?
            .to_vec2::<f32>()?;
        assert_eq!(a, b);
        assert_ne!(a, c);
        let var = random_var_builder(7, &dev)
            .get(16, "bn.running_var")?
            .to_vec1::<f32>()?;
        assert!(var.iter().all(|v| (0.5..1.5).contains(v)));
        Ok(())
    }
}
