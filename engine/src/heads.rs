//! Readout heads that turn audio (and, later, model latents) into what the panel shows.

pub mod key;
pub mod probe;
pub mod text_query;
pub mod zero_shot;

/// Dot product of two latents (cosine when both are unit-norm); 0 for mismatched widths.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return 0.0;
    }
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
