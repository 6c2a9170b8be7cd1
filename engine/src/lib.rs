//! MuQ Live's engine: streaming mel, the MuQ and MuQ-MuLan ports on candle, model
//! loading, the analysis worker and the readout heads. No plugin or GUI dependency.

pub mod error;
pub mod mel;
pub mod models;

pub use error::{Error, Result};
