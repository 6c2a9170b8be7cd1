//! Readout heads that turn audio (and, later, model latents) into what the panel shows.

pub mod key;
pub mod probe;
pub mod text_query;
pub mod zero_shot;
