//! Readout heads that turn audio (and, later, model latents) into what the panel shows.

pub mod key;
