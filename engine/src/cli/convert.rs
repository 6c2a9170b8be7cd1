//! `muq convert <pytorch_model.bin> <out.safetensors>`.

use std::path::PathBuf;

use anyhow::{Context, bail};

use crate::load::convert_pth_to_safetensors;

/// Arguments of `muq convert`.
#[derive(Debug, clap::Args)]
pub struct ConvertArgs {
    /// PyTorch zip checkpoint (e.g. pytorch_model.bin).
    pub input: PathBuf,
    /// Output safetensors file (floats stored as f32).
    pub output: PathBuf,
    /// Overwrite the output if it exists.
    #[arg(long)]
    pub force: bool,
}

/// Converts, refusing to overwrite unless `--force`, and prints a one-line summary.
pub fn run(args: ConvertArgs) -> anyhow::Result<()> {
    if args.output.exists() && !args.force {
        bail!("{} already exists (use --force to overwrite)", args.output.display());
    }
    if args.input == args.output {
        bail!("input and output are the same file");
    }
    let started = std::time::Instant::now();
    let report = convert_pth_to_safetensors(&args.input, &args.output)
        .with_context(|| format!("converting {}", args.input.display()))?;
    println!(
        "wrote {}: {} tensors, {} converted to f32, {:.1} MB of data in {:.1} s",
        args.output.display(),
        report.num_tensors,
        report.num_converted_to_f32,
        report.num_data_bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
