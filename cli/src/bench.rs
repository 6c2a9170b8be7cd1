//! `muq bench`: times the real-size MuQ architecture with seeded random weights (no download).
//! Prints one JSON line.

use std::time::Instant;

use anyhow::{Result, bail};
use candle_core::{Device, Tensor};
use clap::Args;

use super::proc_stats::{cpu_seconds, median, peak_rss_mb};
use muq_engine::models::muq::flops::forward_flops;
use muq_engine::models::muq::{Muq, MuqConfig, StreamingMuq};
use muq_engine::nn::random_init::random_var_builder;

/// Arguments of `muq bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Architecture: `muq-large` (OpenMuQ/MuQ-large-msd-iter).
    #[arg(long, default_value = "muq-large")]
    pub arch: String,
    /// Use seeded random weights (the only mode: no checkpoint is read).
    #[arg(long)]
    pub random_weights: bool,
    /// Audio length of one forward, in seconds.
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
    /// Worker threads (sets RAYON_NUM_THREADS; default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Also time the streaming encoder: one hop of this many seconds over a `--seconds` window.
    #[arg(long)]
    pub hop_s: Option<f64>,
    /// Timed runs (the median is reported).
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
}

fn test_signal(num_samples: usize) -> Vec<f32> {
    (0..num_samples)
        .map(|i| {
            let t = i as f32 / 24_000.0;
            0.3 * (2.0 * std::f32::consts::PI * 220.0 * t).sin()
                + 0.1 * (2.0 * std::f32::consts::PI * 3111.0 * t).sin()
        })
        .collect()
}

/// Bytes of the f32 weights the inference path reads (the `model.conv` and `model.conformer`
/// tensors, as counted from the architecture).
fn weight_bytes(cfg: &MuqConfig) -> usize {
    weight_floats(cfg) * 4
}

fn weight_floats(cfg: &MuqConfig) -> usize {
    let (c, d, i) = (
        cfg.conv_dim,
        cfg.encoder_dim,
        cfg.w2v2_config.intermediate_size,
    );
    let k = cfg.w2v2_config.conv_depthwise_kernel_size;
    let conv = |cin: usize| c * cin * 9 + c;
    let bns = 3 * 4 * c;
    let block0 = 2 * conv(1) + conv(c) + bns;
    let block1 = 3 * conv(c) + bns;
    let freq_out = cfg.n_mels.div_ceil(4);
    let stem = block0 + block1 + d * c * freq_out + d;
    let ln = 2 * d;
    let ffn = d * i + i + i * d + d;
    let attn = 4 * (d * d + d);
    let conv_module = ln + 2 * d * d + d * k + 4 * d + d * d;
    let layer = 4 * ln + 2 * ffn + attn + conv_module;
    let rotary = cfg.head_dim() / 2;
    stem + cfg.encoder_depth * layer + ln + rotary
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weight_count_matches_the_released_checkpoint() {
        // muq-reference.md §0.2: the inference subset is 316,374,048 floats.
        assert_eq!(weight_floats(&MuqConfig::muq_large_msd_iter()), 316_374_048);
    }
}

/// Runs `muq bench`.
pub fn run(args: BenchArgs) -> Result<()> {
    if args.arch != "muq-large" {
        bail!("--arch {:?}: only `muq-large` is known", args.arch);
    }
    if !args.random_weights {
        bail!(
            "pass --random-weights: the benchmark builds the architecture with seeded random weights"
        );
    }
    if let Some(n) = args.threads {
        if n == 0 {
            bail!("--threads must be at least 1");
        }
        // SAFETY: set before any worker thread exists; nothing else reads the environment concurrently.
        unsafe { std::env::set_var("RAYON_NUM_THREADS", n.to_string()) };
    }
    if !(args.seconds.is_finite() && args.seconds >= 1.0 && args.seconds <= 600.0) {
        bail!("--seconds {}: must be within 1..=600", args.seconds);
    }
    let runs = args.runs.max(1);
    let device = Device::Cpu;
    let cfg = MuqConfig::muq_large_msd_iter();
    let start_rss_mb = peak_rss_mb();
    let t_build = Instant::now();
    let model = Muq::new(&cfg, random_var_builder(2025, &device))?;
    let build_s = t_build.elapsed().as_secs_f64();
    let build_peak_rss_mb = peak_rss_mb();
    let spt = cfg.samples_per_token();
    let num_samples = ((args.seconds * 24_000.0) as usize / spt) * spt;
    let wav = test_signal(num_samples + args.hop_s.map_or(0, |h| (h * 24_000.0) as usize + spt));
    let input = Tensor::from_slice(&wav[..num_samples], (1, num_samples), &device)?;

    model.forward(&input)?; // warm-up
    let (mut walls, mut cpus, mut stems) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let (t0, c0) = (Instant::now(), cpu_seconds());
        let mel = model.mel_norm(&wav[..num_samples])?;
        let conv_out = model.conv().forward(&mel)?;
        stems.push(t0.elapsed().as_secs_f64());
        let _ = model.conformer().forward_debug(&conv_out, false)?;
        walls.push(t0.elapsed().as_secs_f64());
        cpus.push(cpu_seconds() - c0);
    }
    let (stem_flop, conformer_flop) = forward_flops(&cfg, num_samples / cfg.hop_length);
    let gflop = (stem_flop + conformer_flop) / 1e9;
    let wall_s = median(walls);
    let mut report = serde_json::json!({
        "arch": args.arch,
        "seconds": num_samples as f64 / 24_000.0,
        "threads": args.threads.unwrap_or_else(candle_core::utils::get_num_threads),
        "build_s": build_s,
        "start_rss_mb": start_rss_mb,
        "build_peak_rss_mb": build_peak_rss_mb,
        "weight_mb": weight_bytes(&cfg) as f64 / (1024.0 * 1024.0),
        "wall_s": wall_s,
        "stem_wall_s": median(stems),
        "cpu_s": median(cpus),
        "gflop": gflop,
        "stem_gflop": stem_flop / 1e9,
        "gflop_per_s": gflop / wall_s,
        "runs": runs,
    });
    if let Some(hop_s) = args.hop_s {
        if !(hop_s.is_finite() && hop_s > 0.0 && hop_s < args.seconds) {
            bail!("--hop-s {hop_s}: must be within (0, --seconds)");
        }
        let hop = ((hop_s * 24_000.0) as usize / spt).max(1) * spt;
        let mut streaming = StreamingMuq::new(model.clone());
        streaming.forward_window(&wav[..num_samples], 0)?; // fills the cache
        let mut hops = Vec::new();
        let mut stats = streaming.last_stats();
        for _ in 0..runs {
            // Window 0 (cache rebuilt), then the timed window one hop later.
            let (prev, next) = (0, hop);
            streaming.forward_window(&wav[prev..prev + num_samples], prev as u64)?;
            let t0 = Instant::now();
            streaming.forward_window(&wav[next..next + num_samples], next as u64)?;
            hops.push(t0.elapsed().as_secs_f64());
            stats = streaming.last_stats();
        }
        let hop_wall = median(hops);
        report["hop_s"] = serde_json::json!(hop as f64 / 24_000.0);
        report["hop_wall_s"] = serde_json::json!(hop_wall);
        report["hop_vs_full"] = serde_json::json!(hop_wall / wall_s);
        report["hop_stem_tokens"] = serde_json::json!(stats.num_stem_tokens);
        report["hop_cached_tokens"] = serde_json::json!(stats.num_cached_tokens);
    }
    report["peak_rss_mb"] = serde_json::json!(peak_rss_mb());
    println!("{report}");
    Ok(())
}
