//! MuQ Live's engine: streaming mel, the MuQ and MuQ-MuLan ports on candle, model
//! loading, the analysis worker and the readout heads. No plugin or GUI dependency.

pub mod analysis;
pub mod audio;
pub mod bridge;
pub mod cli;
pub mod download;
pub mod error;
pub mod heads;
pub mod load;
pub mod mel;
pub mod models;
pub mod nn;
pub mod synth;
pub mod tokenize;
pub mod worker;

pub use error::{Error, Result};
