//! The MuQ and MuQ-MuLan models on candle: the mel front end, the MuQ conformer, MuQ-MuLan's
//! audio and text towers (XLM-R), the tokenizer, and reading checkpoints (safetensors and
//! PyTorch `.bin`, the Hugging Face cache layout, model identity). No threads of its own, no
//! analysis, no I/O beyond reading model files.

pub mod error;
pub mod load;
pub mod mel;
pub mod models;
pub mod nn;
pub mod tokenize;

pub use error::{Error, Result};
