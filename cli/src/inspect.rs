//! `muq inspect <checkpoint> [--filter TEXT]`: list a checkpoint's tensors (name, dtype, shape).

use std::path::PathBuf;

use anyhow::Context;

use muq_engine::load::Checkpoint;

/// Arguments of `muq inspect`.
#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// model.safetensors, pytorch_model.bin, or a model folder.
    pub checkpoint: PathBuf,
    /// Only list tensors whose name contains this text.
    #[arg(long)]
    pub filter: Option<String>,
}

/// Prints one line per tensor and a summary line.
pub fn run(args: InspectArgs) -> anyhow::Result<()> {
    let ckpt = Checkpoint::open(&args.checkpoint, &candle_core::Device::Cpu)
        .with_context(|| format!("opening {}", args.checkpoint.display()))?;
    let mut num_listed = 0;
    let mut num_values = 0_usize;
    for meta in ckpt.tensors() {
        num_values += meta.shape.iter().product::<usize>();
        if args
            .filter
            .as_deref()
            .is_some_and(|f| !meta.name.contains(f))
        {
            continue;
        }
        println!("{}\t{:?}\t{:?}", meta.name, meta.dtype, meta.shape);
        num_listed += 1;
    }
    println!(
        "{} ({:?}): {} tensors, {num_listed} listed, {num_values} values",
        ckpt.path().display(),
        ckpt.format(),
        ckpt.tensors().len()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inspect_lists_and_fails_cleanly() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ok = run(InspectArgs {
            checkpoint: dir.path().to_path_buf(),
            filter: None,
        });
        let msg = ok.map_err(|e| format!("{e:#}"));
        assert!(
            msg.as_ref().is_err_and(|m| m.contains("neither")),
            "{msg:?}"
        );
        let golden = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("..")
            .join("shared")
            .join("golden")
            .join("muq_rotary");
        if golden.is_dir() {
            let listed = run(InspectArgs {
                checkpoint: golden,
                filter: Some("conv.linear".into()),
            });
            assert!(listed.is_ok(), "{listed:?}");
        }
    }
}
