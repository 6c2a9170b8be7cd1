//! `muq convert <pytorch_model.bin> <out.safetensors>`.

use std::path::PathBuf;

use anyhow::{Context, bail};

use muq_engine::load::convert_pth_to_safetensors;

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
        bail!(
            "{} already exists (use --force to overwrite)",
            args.output.display()
        );
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

#[cfg(test)]
mod tests {
    use super::*;
    use muq_engine::load::pth_writer::{PthEntry, PthZipWriter, state_dict_pickle};
    use std::io::Write;

    #[test]
    fn converts_and_refuses_to_overwrite() {
        let dir = tempfile::tempdir().expect("tempdir");
        let input = dir.path().join("pytorch_model.bin");
        let values = [1.0_f32, -2.0, 3.5];
        let entry = PthEntry {
            name: "model.w",
            shape: &[3],
            storage_class: "FloatStorage",
            num_elements: values.len(),
        };
        let file = std::fs::File::create(&input).expect("create");
        let mut zip =
            PthZipWriter::start(file, &state_dict_pickle(&[entry])).expect("start the archive");
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        zip.tensor_data()
            .and_then(|out| out.write_all(&bytes))
            .expect("write the tensor");
        zip.finish().expect("finish the archive");
        let output = dir.path().join("model.safetensors");
        let args = |force| ConvertArgs {
            input: input.clone(),
            output: output.clone(),
            force,
        };
        assert!(run(args(false)).is_ok());
        let loaded =
            candle_core::safetensors::load(&output, &candle_core::Device::Cpu).expect("load");
        let w = loaded.get("model.w").map(|t| t.to_vec1::<f32>());
        assert!(matches!(w, Some(Ok(ref v)) if v == &values));
        let again = run(args(false)).map_err(|e| e.to_string());
        assert!(
            again.as_ref().is_err_and(|e| e.contains("--force")),
            "{again:?}"
        );
        assert!(run(args(true)).is_ok());
        let missing = ConvertArgs {
            input: dir.path().join("nope.bin"),
            output: dir.path().join("x.safetensors"),
            force: false,
        };
        let msg = run(missing).map_err(|e| format!("{e:#}"));
        assert!(
            msg.as_ref().is_err_and(|e| e.contains("nope.bin")),
            "{msg:?}"
        );
    }
}
