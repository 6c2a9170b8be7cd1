//! The analysis part of the engine snapshot: plain data, no candle types, `Default` = "nothing
//! yet". Written by the analysis worker (`analysis::MuqAnalyzer::fill_readouts`), carried by
//! the bridge's snapshot, read by the editor and the CLI. Below both `analysis` and `bridge`,
//! above `heads` (whose outputs it holds).

use crate::heads::key::KeyReadout;
pub use crate::heads::text_query::QueryReadout;
pub use crate::heads::zero_shot::LabelScore;

/// What the analysis is doing, for the panel's status line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AnalysisPhase {
    /// No audio has arrived yet (the initial state).
    #[default]
    Idle,
    /// The model is loading on the inference thread (see [`Readouts::load_progress`]).
    Loading,
    /// Audio is arriving but a full window is not there yet (see [`Readouts::seconds_needed`]).
    Listening,
    /// Windows are being analysed; the readouts are current.
    Analysing,
    /// The input is digital silence: no inference runs, the last readouts are kept.
    Stale,
    /// No model weights: only the key readout runs (see [`Readouts::message`]).
    NoModel,
    /// The model failed to load or run (see [`Readouts::message`] and [`Readouts::hint`]).
    Error,
}

impl AnalysisPhase {
    /// A short label for the panel.
    pub fn label(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Loading => "loading model",
            Self::Listening => "listening",
            Self::Analysing => "analysing",
            Self::Stale => "stale (silence)",
            Self::NoModel => "key only (no model)",
            Self::Error => "error",
        }
    }
}

/// Everything the analysis shows. Every field is written by the analysis worker thread on each
/// publish; `Default` means "no analysis yet".
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Readouts {
    /// What the analysis is doing.
    pub phase: AnalysisPhase,
    /// Human-readable detail of the phase (error text, "3.2 s still needed", ...); may be empty.
    pub message: String,
    /// What the user can do about an error or a missing model; empty when nothing.
    pub hint: String,
    /// Model loading progress 0..1 while [`AnalysisPhase::Loading`] (1 once loaded).
    pub load_progress: f32,
    /// The compute device in use, e.g. `"cpu"`, `"cuda:0"`, or `"cpu (cuda unavailable: …)"`.
    pub device: String,
    /// Seconds of audio still needed before the first full window (0 once reached).
    pub seconds_needed: f32,
    /// The key (needs no model); updated continuously.
    pub key: KeyReadout,
    /// Top instruments of the newest analysed window, best first.
    pub instruments: Vec<LabelScore>,
    /// Top genres of the newest analysed window, best first.
    pub genres: Vec<LabelScore>,
    /// The text queries, in the order given.
    pub queries: Vec<QueryReadout>,
    /// True when the model readouts come from a shorter, provisional first window.
    pub provisional: bool,
    /// True when the input is digital silence or the newest window failed: the model readouts
    /// describe older audio and are kept as they were.
    pub stale: bool,
    /// Audio time (seconds since start, at 24 kHz) at the end of the window the model
    /// readouts describe; 0 before the first window.
    pub window_end_s: f64,
    /// Length of the window the model readouts describe, in seconds.
    pub analysed_window_s: f32,
    /// Windows analysed so far.
    pub num_windows_analysed: u64,
    /// Windows skipped because inference was slower than the hop (overload).
    pub num_windows_skipped: u64,
    /// Windows not analysed because they were digital silence.
    pub num_windows_silent: u64,
    /// Inference time of the newest window, in milliseconds.
    pub inference_ms: f32,
    /// Average audio time between consecutive analysed windows, in seconds (equals the hop
    /// when inference keeps up, a multiple of it under overload).
    pub achieved_hop_s: f32,
    /// Inference time per window divided by the configured hop (< 1: keeps up).
    pub real_time_factor: f32,
    /// Non-finite input samples (NaN/±Inf) replaced by 0 so far.
    pub num_non_finite_samples: u64,
    /// Name of the loaded model (its folder name, e.g. `"MuQ-MuLan-large"`); empty when none.
    pub model_name: String,
    /// Size of the loaded model's weight files in bytes; 0 when none.
    pub model_size_bytes: u64,
    /// Instances in this process sharing the loaded weights (this one included); 0 when none.
    pub num_model_users: usize,
    /// Threads of the process-wide inference pool (the "analysis threads" setting).
    pub analysis_threads: usize,
    /// Where the key readout comes from: `"built-in (<profile>)"` or `"probe head <name>"`.
    pub key_source: String,
    /// Readouts of the loaded probe heads (`muq probe train`), in name order.
    pub probes: Vec<ProbeReadout>,
    /// Problems with the heads folder or the key/vocabulary settings (e.g. a head trained for
    /// another model was refused), one per line; empty when none.
    pub settings_message: String,
}

/// The newest output of one probe head.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProbeReadout {
    /// The head's task name (`head.json`'s `task`).
    pub task: String,
    /// True for multi-label (sigmoid) heads: scores are independent probabilities.
    pub multi_label: bool,
    /// Top labels, best first, at most [`super::probes::TOP_PROBE_LABELS`] (softmax
    /// probabilities, or sigmoid ones when multi-label, in `score`; `cosine` is 0).
    pub top: Vec<LabelScore>,
}
