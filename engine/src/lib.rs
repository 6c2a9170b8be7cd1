//! MuQ Live's engine: the audio bridge between the audio thread and the analysis worker, the
//! worker, the live analysis (windows, inference thread, shared models, CPU budget), the readout
//! heads (key, zero-shot labels, text queries, probe heads) and the model download. No plugin,
//! GUI or CLI dependency.
//!
//! The models themselves live in `muq-models`; its modules are re-exported here under their own
//! names (`muq_engine::models`, `::mel`, `::load`, …) so that engine code and its users name one
//! crate.

pub mod analysis;
pub mod audio;
pub mod bridge;
pub mod download;
pub mod heads;
pub mod readouts;
pub mod worker;

pub use muq_models::{Error, Result, error, load, mel, models, nn, tokenize};
