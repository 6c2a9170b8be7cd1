//! Helpers for the crate's unit tests.

use candle_core::{Result, Tensor};

/// Largest |a − b| over all elements of two f32 tensors of one shape.
pub fn max_abs_diff(a: &Tensor, b: &Tensor) -> Result<f32> {
    (a - b)?.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>()
}
