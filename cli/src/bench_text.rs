//! `muq bench-text --random-weights`: wall time of one text latent (XLM-R base + MuLan text
//! transformer + projection, the real MuQ-MuLan-large sizes) with seeded random weights, so no
//! download is needed. Prints JSON; the median of `--runs` timed runs per thread count, each
//! thread count in its own child process (`RAYON_NUM_THREADS`).

use std::time::Instant;

use anyhow::{Context, bail};
use candle_core::Device;

use muq_engine::models::mulan::MulanConfig;
use muq_engine::models::mulan::text::TextEncoder;
use muq_engine::models::xlm_roberta::XlmRobertaConfig;
use muq_engine::nn::random_init::random_var_builder;

use super::proc_stats::{median, peak_rss_mb};

/// Arguments of `muq bench-text`.
#[derive(Debug, clap::Args)]
pub struct BenchTextArgs {
    /// Build the real-size text side with seeded random weights (the only mode; no download).
    #[arg(long, required = true)]
    pub random_weights: bool,
    /// Tokens per prompt, `<s>` and `</s>` included.
    #[arg(long, default_value_t = 14)]
    pub tokens: usize,
    /// Timed runs per thread count (after one warm-up run).
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// Thread counts to measure, each in its own process.
    #[arg(long, value_delimiter = ',', default_values_t = vec![1, 2])]
    pub threads: Vec<usize>,
    /// Weight seed.
    #[arg(long, default_value_t = 1234)]
    pub seed: u64,
    /// Internal: measure in this process only (the parent sets `RAYON_NUM_THREADS`).
    #[arg(long, hide = true)]
    pub child: bool,
}

/// Measures in this process: builds the model, one warm-up, `runs` timed latents.
fn measure(args: &BenchTextArgs) -> anyhow::Result<serde_json::Value> {
    let dev = Device::Cpu;
    let cfg = MulanConfig::muq_mulan_large();
    let xcfg = XlmRobertaConfig::xlm_roberta_base();
    if args.tokens < 2 || args.tokens > xcfg.max_tokens() {
        bail!("--tokens must be within 2..={}", xcfg.max_tokens());
    }
    let build_start = Instant::now();
    let vb = random_var_builder(args.seed, &dev);
    let encoder =
        TextEncoder::new(&cfg, &xcfg, vb.pp("mulan")).context("building the text side")?;
    let build_s = build_start.elapsed().as_secs_f64();
    // Fixed pseudo-random ids in the sentencepiece range (5..250 000), `<s>` first, `</s>` last.
    let mut ids = vec![0u32];
    ids.extend(
        (0..args.tokens as u64 - 2).map(|i| {
            5 + ((args.seed ^ i).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) as u32 % 249_995
        }),
    );
    ids.push(2);
    let ids = vec![ids];
    let (mut times, mut encoder_times) = (Vec::new(), Vec::new());
    let mut checksum = 0f32;
    for i in 0..=args.runs {
        let t0 = Instant::now();
        let hidden = encoder.tower().encoder_hidden(&ids)?; // CPU ops are eager
        let t_encoder = t0.elapsed().as_secs_f64();
        let latent = encoder.latents_from_hidden(&hidden)?;
        let v = latent.flatten_all()?.to_vec1::<f32>()?;
        if i > 0 {
            times.push(t0.elapsed().as_secs_f64());
            encoder_times.push(t_encoder);
        }
        checksum = v.iter().map(|x| x * x).sum();
    }
    Ok(serde_json::json!({
        "threads": candle_core::utils::get_num_threads(),
        "median_s": median(times.clone()),
        "xlmr_median_s": median(encoder_times),
        "runs_s": times,
        "build_s": build_s,
        "peak_rss_mb": peak_rss_mb(),
        "latent_norm_sq": checksum,
    }))
}

/// Runs the benchmark (see the module docs) and prints one JSON object.
pub fn run(args: BenchTextArgs) -> anyhow::Result<()> {
    if args.runs == 0 {
        bail!("--runs must be at least 1");
    }
    if args.child {
        println!("{}", measure(&args)?);
        return Ok(());
    }
    let exe = std::env::current_exe().context("locating the muq binary")?;
    let mut results = Vec::new();
    for &n in &args.threads {
        if n == 0 {
            bail!("--threads values must be >= 1");
        }
        let out = std::process::Command::new(&exe)
            .args(["bench-text", "--random-weights", "--child"])
            .args([
                "--tokens",
                &args.tokens.to_string(),
                "--runs",
                &args.runs.to_string(),
            ])
            .args(["--seed", &args.seed.to_string()])
            .env("RAYON_NUM_THREADS", n.to_string())
            .output()
            .context("running the benchmark child")?;
        if !out.status.success() {
            bail!(
                "benchmark child ({n} threads) failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let v: serde_json::Value =
            serde_json::from_slice(&out.stdout).context("parsing the benchmark child's output")?;
        results.push(v);
    }
    let report = serde_json::json!({
        "bench": "text_latent",
        "model": "MuQ-MuLan-large text side (xlm-roberta-base + 8-layer MuLan transformer), random weights",
        "tokens": args.tokens,
        "runs": args.runs,
        "results": results,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
