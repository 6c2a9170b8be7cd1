//! `muq fixture`: a real-size checkpoint in the released layout with seeded random weights, so
//! tests and benchmarks run at real size without a download. A development tool.
//!
//! `muq fixture --arch mulan-large --random-weights --seed 1 --format bin --out DIR` writes
//! `DIR/config.json`, `DIR/pytorch_model.bin` (torch's zip format, entries stored) or
//! `DIR/model.safetensors`, and for MuQ-MuLan a 250,002-entry `DIR/tokenizer.json`.

pub mod tokenizer;

use std::io::BufWriter;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use muq_engine::load::pth_writer::{PthEntry, PthZipWriter, state_dict_pickle};
use muq_engine::load::safetensors_writer::{HeaderEntry, SafetensorsWriter, write_f32_le};
use muq_models::load::layout::{
    MulanDims, MuqDims, StoredDtype, TensorSpec, mulan_layout, muq_layout,
};

/// Which released model to imitate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Arch {
    /// `OpenMuQ/MuQ-MuLan-large` (663 M parameters, with the text tower).
    MulanLarge,
    /// `OpenMuQ/MuQ-large-msd-iter` (the MuQ encoder alone).
    MuqLarge,
}

/// Weights file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// `pytorch_model.bin` as `torch.save(state_dict)` writes it (what MuQ-MuLan-large ships).
    Bin,
    /// `model.safetensors`.
    Safetensors,
}

/// Arguments of `muq fixture`.
#[derive(Debug, clap::Args)]
pub struct FixtureArgs {
    /// Architecture.
    #[arg(long, value_enum)]
    pub arch: Arch,
    /// Seeded random weights (the only kind this tool makes; required to say so).
    #[arg(long, required = true)]
    pub random_weights: bool,
    /// Seed of the weights.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Weights format.
    #[arg(long, value_enum, default_value_t = Format::Bin)]
    pub format: Format,
    /// Output folder (created).
    #[arg(long)]
    pub out: PathBuf,
}

/// The released MuQ-large-msd-iter `config.json` values (muq-reference.md §0.2).
pub fn muq_large_config() -> Value {
    json!({
        "label_rate": 25, "num_codebooks": 1, "codebook_dim": 16, "codebook_size": 8192,
        "features": ["melspec_2048"], "hop_length": 240, "n_mels": 128, "conv_dim": 512,
        "encoder_dim": 1024, "encoder_depth": 12, "mask_hop": 0.4, "mask_prob": 0.6,
        "is_flash": false,
        "stat": { "melspec_2048_cnt": 14282760192u64, "melspec_2048_mean": 6.768444971712967,
                  "melspec_2048_std": 18.417922652295623 },
        "use_rvq_target": true, "rvq_n_codebooks": 8, "rvq_multi_layer_num": 1,
        "use_vq_target": false, "use_encodec_target": false, "rvq_ckpt_path": null,
        "recon_loss_ratio": null, "resume_checkpoint": null,
        "w2v2_config": {
            "hidden_size": 1024, "num_hidden_layers": 12, "num_attention_heads": 16,
            "intermediate_size": 4096, "hidden_act": "swish",
            "position_embeddings_type": "rotary", "rotary_embedding_base": 10000,
            "conv_depthwise_kernel_size": 31, "layer_norm_eps": 1e-05,
            "num_conv_pos_embeddings": 128, "num_conv_pos_embedding_groups": 16
        }
    })
}

/// The released MuQ-MuLan-large `config.json` (muq-reference.md §0.1).
pub fn mulan_large_config() -> Value {
    let tower = |depth: usize| {
        json!({ "dim": 768, "tf_depth": depth, "heads": 8, "dim_head": 64,
                "attn_dropout": 0, "ff_dropout": 0, "ff_mult": 4 })
    };
    let mut text = tower(8);
    text["max_seq_len"] = json!(1024);
    json!({
        "mulan": { "sr": 24000, "clip_secs": 10, "dim_latent": 512,
                   "decoupled_contrastive_learning": true, "hierarchical_contrastive_loss": false,
                   "hierarchical_contrastive_loss_layers": null, "sigmoid_contrastive_loss": false,
                   "rank_contrast": true },
        "audio_model": { "name": "OpenMuQ/MuQ-large-msd-iter", "model_dim": 1024, "use_layer_idx": -1 },
        "text_model": { "name": "xlm-roberta-base", "model_dim": null, "use_layer_idx": -1 },
        "audio_transformer": tower(0),
        "text_transformer": text
    })
}

/// xlm-roberta-base's `config.json` sizes.
pub fn xlm_roberta_base_config() -> Value {
    json!({ "vocab_size": 250002, "hidden_size": 768, "num_hidden_layers": 12,
            "num_attention_heads": 12, "intermediate_size": 3072, "max_position_embeddings": 514,
            "type_vocab_size": 1, "layer_norm_eps": 1e-05, "pad_token_id": 1,
            "hidden_act": "gelu", "position_embedding_type": "absolute" })
}

/// Values of one tensor: seeded random, except buffers with fixed meaning.
fn values_of(seed: u64, spec: &TensorSpec) -> Vec<f32> {
    if spec.name.ends_with("embed_positions.inv_freq") {
        // Rotary frequencies 1 / 10000^(2i / head_dim), as the official buffer holds.
        let half = spec.num_elements();
        return (0..half)
            .map(|i| 1.0 / 10_000f32.powf(i as f32 / half as f32))
            .collect();
    }
    muq_engine::nn::random_init::seeded_values(seed, &spec.name, &spec.shape)
}

/// Writes the weights of `specs` to `dir` in `format`; returns the weights file.
pub fn write_weights(
    dir: &Path,
    specs: &[TensorSpec],
    seed: u64,
    format: Format,
) -> anyhow::Result<PathBuf> {
    match format {
        Format::Bin => {
            let path = dir.join(muq_engine::load::PYTORCH_BIN_FILE);
            let partial = path.with_extension("bin.partial");
            let entries: Vec<PthEntry> = specs
                .iter()
                .map(|s| PthEntry {
                    name: &s.name,
                    shape: &s.shape,
                    storage_class: match s.dtype {
                        StoredDtype::F32 => "FloatStorage",
                        StoredDtype::I64 => "LongStorage",
                    },
                    num_elements: s.num_elements(),
                })
                .collect();
            let file = std::fs::File::create(&partial)
                .with_context(|| format!("creating {}", partial.display()))?;
            let mut zip = PthZipWriter::start(
                BufWriter::with_capacity(1 << 20, file),
                &state_dict_pickle(&entries),
            )?;
            for spec in specs {
                let out = zip.tensor_data()?;
                match spec.dtype {
                    StoredDtype::F32 => write_f32_le(out, &values_of(seed, spec))?,
                    StoredDtype::I64 => out.write_all(&0i64.to_le_bytes())?,
                }
            }
            let mut buffered = zip.finish()?;
            std::io::Write::flush(&mut buffered)?;
            drop(buffered);
            std::fs::rename(&partial, &path)?;
            Ok(path)
        }
        Format::Safetensors => {
            let path = dir.join(muq_engine::load::SAFETENSORS_FILE);
            let mut sorted: Vec<&TensorSpec> = specs.iter().collect();
            sorted.sort_by(|a, b| a.name.cmp(&b.name));
            let header = sorted
                .iter()
                .map(|s| HeaderEntry {
                    name: s.name.clone(),
                    dtype: if s.dtype == StoredDtype::I64 {
                        "I64"
                    } else {
                        "F32"
                    },
                    element_bytes: if s.dtype == StoredDtype::I64 { 8 } else { 4 },
                    shape: s.shape.clone(),
                })
                .collect();
            let mut writer = SafetensorsWriter::create(&path, header)?;
            for spec in sorted {
                match spec.dtype {
                    StoredDtype::F32 => writer.write_f32(&values_of(seed, spec))?,
                    StoredDtype::I64 => writer.write_tensor(&0i64.to_le_bytes())?,
                }
            }
            writer.finish()?;
            Ok(path)
        }
    }
}

use std::io::Write as _;

fn write_json(path: &Path, value: &Value) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))
}

/// Writes the fixture and prints a one-line summary.
pub fn run(args: FixtureArgs) -> anyhow::Result<()> {
    if !args.random_weights {
        bail!("only --random-weights fixtures can be made");
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let started = std::time::Instant::now();
    let to_msg = anyhow::Error::msg;
    let specs = match args.arch {
        Arch::MulanLarge => {
            let config = mulan_large_config();
            let dims =
                MulanDims::from_configs(&config, &muq_large_config(), &xlm_roberta_base_config())
                    .map_err(to_msg)?;
            write_json(&args.out.join("config.json"), &config)?;
            write_json(
                &args.out.join("tokenizer.json"),
                &tokenizer::tokenizer_json(dims.xlmr.vocab_size),
            )?;
            mulan_layout(&dims)
        }
        Arch::MuqLarge => {
            let config = muq_large_config();
            write_json(&args.out.join("config.json"), &config)?;
            muq_layout(&MuqDims::from_config(&config).map_err(to_msg)?)
        }
    };
    let weights = write_weights(&args.out, &specs, args.seed, args.format)?;
    let num_params: usize = specs.iter().map(TensorSpec::num_elements).sum();
    let num_bytes = std::fs::metadata(&weights)?.len();
    println!(
        "wrote {}: {} tensors, {:.1} M parameters, {:.2} GB in {:.1} s (seed {})",
        weights.display(),
        specs.len(),
        num_params as f64 / 1e6,
        num_bytes as f64 / 1e9,
        started.elapsed().as_secs_f64(),
        args.seed
    );
    Ok(())
}
