//! The live analysis pipeline (issue 5): host audio → 24 kHz (rubato, streaming) → sliding
//! window on MuQ's token grid → streaming MuQ encoder → MuQ-MuLan audio latent → zero-shot
//! instrument / genre heads and text queries; the weight-free key estimator runs alongside.
//! Probe heads (`muq probe train`) found in `<model dir>/heads/` and the configured heads
//! folder run on the pooled MuQ hidden states of the same forward pass ([`probes`]); a key
//! head may replace the built-in key estimator ([`probe_key`]).
//!
//! Threads: [`MuqAnalyzer`] is a [`crate::worker::Analyzer`] running on the worker thread (it
//! resamples, windows, estimates the key and fills the snapshot); it owns an inference thread
//! ([`inference`]) that loads the model lazily and runs the newest window handed to it through
//! a single slot. The offline `muq analyze` runs the same [`window::WindowFront`] and
//! [`session::Session`] on one thread without skipping.

pub mod cpu_budget;
pub mod inference;
pub mod live;
pub mod model;
pub mod probe_key;
pub mod probes;
pub mod session;
pub mod shared_models;
pub mod text_cache;
pub mod text_prefetch;
pub mod window;

pub use crate::readouts::{AnalysisPhase, LabelScore, ProbeReadout, QueryReadout, Readouts};
pub use live::{AnalyzerOptions, MuqAnalyzer};
pub use model::{DeviceChoice, MulanWindowModel, WindowFeatures, WindowModel};
pub use session::{ModelOptions, Session, WindowOutput};
pub use window::{WindowFront, WindowPlan};
