//! The `muq` command-line tool: one module per subcommand.
//!
//! To add a subcommand: a `src/<name>.rs` with `<Name>Args` (clap `Args`) and
//! `pub fn run(args) -> anyhow::Result<()>`, one variant in [`Command`] and one arm in
//! [`Command::run`].

mod analyze;
mod bench;
mod bench_text;
mod convert;
mod embed;
mod embed_mulan;
pub mod fetch;
pub mod fixture;
mod inspect;
pub mod probe;
pub mod proc_stats;
mod similarity;
mod text;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// MuQ / MuQ-MuLan tools.
#[derive(Debug, Parser)]
#[command(name = "muq", version, about = "MuQ / MuQ-MuLan inference tools")]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Key, instruments, genre and text queries of audio files, window by window.
    Analyze(analyze::AnalyzeArgs),
    /// Convert a PyTorch checkpoint (pytorch_model.bin) to safetensors (f32).
    Convert(convert::ConvertArgs),
    /// List a checkpoint's tensors (name, dtype, shape).
    Inspect(inspect::InspectArgs),
    /// MuQ hidden states of an audio file, saved as safetensors.
    Embed(embed::EmbedArgs),
    /// MuQ-MuLan text latents of one or more queries (JSON lines).
    Text(text::TextArgs),
    /// MuQ-MuLan similarity of an audio file to one or more texts.
    Similarity(similarity::SimilarityArgs),
    /// Download MuQ-MuLan-large, its MuQ config and xlm-roberta-base's tokenizer into the HF cache.
    Fetch(fetch::FetchArgs),
    /// Write a real-size checkpoint in the released layout with seeded random weights (development tool).
    Fixture(fixture::FixtureArgs),
    /// Time the real-size MuQ forward and streaming hop (random weights).
    Bench(bench::BenchArgs),
    /// Time one MuQ-MuLan text latent on the real-size architecture (random weights).
    BenchText(bench_text::BenchTextArgs),
    /// Train or evaluate a probe head on pooled MuQ features of labelled audio.
    Probe(probe::ProbeArgs),
}

impl Command {
    /// Runs the subcommand.
    pub fn run(self) -> anyhow::Result<()> {
        match self {
            Command::Analyze(args) => analyze::run(args),
            Command::Convert(args) => convert::run(args),
            Command::Inspect(args) => inspect::run(args),
            Command::Embed(args) => embed::run(args),
            Command::Text(args) => text::run(args),
            Command::Similarity(args) => similarity::run(args),
            Command::Fetch(args) => fetch::run(args),
            Command::Fixture(args) => fixture::run(args),
            Command::Bench(args) => bench::run(args),
            Command::BenchText(args) => bench_text::run(args),
            Command::Probe(args) => probe::run(args),
        }
    }
}

/// Parses `std::env::args`, runs the subcommand and maps failure to `error: ...` on stderr and
/// a non-zero exit code (clap itself exits with 2 on invalid arguments).
pub fn main_entry() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
