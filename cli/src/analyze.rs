//! `muq analyze <files or folders…> [--model DIR] [--window-s 10] [--hop-s 2] [--jsonl OUT]
//! [--summary-csv OUT] [--query "…"]…`: the live pipeline over files, offline. Every window is
//! analysed (no skipping); per-window readouts go to JSON lines, one summary row per file to
//! the CSV. Without model weights only the key is reported (said once).

mod inputs;
mod report;

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use inputs::InputFile;
use muq_engine::analysis::DeviceChoice;
use muq_engine::analysis::session::{ModelOptions, Session, resolve_model_dir};
use muq_engine::analysis::text_cache::default_cache_dir;
use muq_engine::analysis::window::{TOKEN_SAMPLES, WindowFront, WindowPlan};
use muq_engine::audio::{AudioReader, MUQ_SAMPLE_RATE_HZ};
use muq_engine::heads::key::{KeyConfig, KeyEstimator, ProfileChoice};

/// Arguments of `muq analyze`.
#[derive(Debug, clap::Args)]
pub struct AnalyzeArgs {
    /// Audio files (WAV/FLAC/MP3/OGG, any rate and channel count) or folders (searched
    /// recursively).
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// MuQ-MuLan folder; default `$MUQ_MODEL_DIR`, then the hub cache (as `muq fetch` leaves it).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Analysis window in seconds (rounded to 40 ms).
    #[arg(long, default_value_t = 10.0)]
    pub window_s: f32,
    /// Hop between windows in seconds (rounded to 40 ms).
    #[arg(long, default_value_t = 2.0)]
    pub hop_s: f32,
    /// Write one JSON object per window to this file (`-`: stdout).
    #[arg(long)]
    pub jsonl: Option<PathBuf>,
    /// Write the per-file summary CSV to this file (`-`: stdout; default: stdout when no
    /// --jsonl is given).
    #[arg(long)]
    pub summary_csv: Option<PathBuf>,
    /// A free-text query scored on every window (repeat for several).
    #[arg(long = "query")]
    pub queries: Vec<String>,
    /// Folder with instruments.txt / genres.txt overriding the built-in vocabularies.
    #[arg(long)]
    pub labels_dir: Option<PathBuf>,
    /// Folder of probe heads (`muq probe train` outputs) run besides `<model>/heads/`.
    #[arg(long)]
    pub heads_dir: Option<PathBuf>,
    /// Run on the CPU even when a GPU backend is compiled in.
    #[arg(long)]
    pub cpu: bool,
    /// Key method of the built-in estimator: `default`, a shipped profile name (e.g.
    /// `krumhansl_kessler`, `bgate`), names joined by `+`, or a profile JSON file.
    #[arg(long, default_value = "default")]
    pub key_method: String,
}

fn open_out(path: &Option<PathBuf>) -> Result<Option<Box<dyn Write>>> {
    Ok(match path {
        None => None,
        Some(p) if p.as_os_str() == "-" => Some(Box::new(std::io::stdout())),
        Some(p) => Some(Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        ))),
    })
}

/// Runs the subcommand.
pub fn run(args: AnalyzeArgs) -> Result<()> {
    let plan = WindowPlan::new(args.window_s, args.hop_s, 0.0)?;
    let key_profile = ProfileChoice::parse(&args.key_method)
        .with_context(|| format!("--key-method {:?}", args.key_method))?;
    let files = inputs::collect(&args.inputs)?;
    anyhow::ensure!(
        !files.is_empty(),
        "no audio files (wav/flac/mp3/ogg) found in the given paths"
    );
    let mut session = load_session(&args)?;
    if !args.queries.is_empty()
        && let Some(s) = &mut session
    {
        s.set_queries(&args.queries)?;
    }
    let mut jsonl = open_out(&args.jsonl)?;
    let csv_path = args
        .summary_csv
        .clone()
        .or_else(|| args.jsonl.is_none().then(|| PathBuf::from("-")));
    let mut csv = open_out(&csv_path)?;
    if let Some(csv) = &mut csv {
        writeln!(csv, "{}", report::CSV_HEADER)?;
    }
    let bar = ProgressBar::new(files.len() as u64);
    if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} files {msg}") {
        bar.set_style(style);
    }
    let mut num_failed = 0;
    for file in &files {
        bar.set_message(file.name.clone());
        match analyze_file(
            file,
            plan,
            &key_profile,
            session.as_mut(),
            jsonl.as_deref_mut(),
        ) {
            Ok(row) => {
                if let Some(csv) = &mut csv {
                    writeln!(csv, "{row}")?;
                }
            }
            Err(e) => {
                num_failed += 1;
                bar.suspend(|| eprintln!("error: {}: {e:#}", file.name));
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    if let Some(out) = &mut jsonl {
        out.flush()?;
    }
    if let Some(out) = &mut csv {
        out.flush()?;
    }
    anyhow::ensure!(
        num_failed == 0,
        "{num_failed} of {} files could not be analysed",
        files.len()
    );
    Ok(())
}

/// The model, or `None` (said once on stderr) when there are no weights.
fn load_session(args: &AnalyzeArgs) -> Result<Option<Session>> {
    if let Err(problem) = resolve_model_dir(args.model.as_deref()) {
        eprintln!(
            "note: {}; reporting the key only ({})",
            problem.message, problem.hint
        );
        return Ok(None);
    }
    let options = ModelOptions {
        model_dir: args.model.clone(),
        labels_dir: args.labels_dir.clone(),
        cache_dir: default_cache_dir(),
        device: if args.cpu {
            DeviceChoice::Cpu
        } else {
            DeviceChoice::Auto
        },
        history_len: 0,
        heads_dir: args.heads_dir.clone(),
    };
    let session = Session::load(&options, |_, _| {})
        .map_err(|p| anyhow::anyhow!("{} ({})", p.message, p.hint))?;
    eprintln!(
        "model: {} on {}",
        session.model_identity(),
        session.device()
    );
    for probe in session.probes().heads() {
        eprintln!(
            "probe head: {} ({})",
            probe.head.meta.task,
            probe.folder.display()
        );
    }
    for message in session.settings_messages() {
        eprintln!("note: {message}");
    }
    Ok(Some(session))
}

/// Per-file accumulation.
#[derive(Default)]
struct FileTotals {
    latent_sum: Vec<f32>,
    num_windows: usize,
    error: Option<anyhow::Error>,
}

/// Streams one file through the pipeline; returns its CSV row.
fn analyze_file(
    file: &InputFile,
    plan: WindowPlan,
    key_profile: &ProfileChoice,
    mut session: Option<&mut Session>,
    mut jsonl: Option<&mut (dyn Write + '_)>,
) -> Result<String> {
    let mut reader = AudioReader::open(&file.path, Some(MUQ_SAMPLE_RATE_HZ))?;
    let live_key = KeyConfig::default().with_profile(key_profile.clone());
    let mut front = WindowFront::with_key_config(plan, MUQ_SAMPLE_RATE_HZ as f32, live_key)?;
    let whole_file_key = KeyConfig::offline().with_profile(key_profile.clone());
    let mut whole_key = KeyEstimator::new(whole_file_key, MUQ_SAMPLE_RATE_HZ as f32)?;
    if let Some(s) = session.as_deref_mut() {
        s.reset_stream();
    }
    // The start of the file, for files shorter than one window.
    let mut head: Vec<f32> = Vec::new();
    let mut totals = FileTotals::default();
    let mut chunk = Vec::new();
    loop {
        chunk.clear();
        let more = reader.read_chunk(&mut chunk)?;
        if head.len() < plan.window_samples {
            let take = (plan.window_samples - head.len()).min(chunk.len());
            head.extend_from_slice(&chunk[..take]);
        }
        whole_key.feed(&chunk);
        let key_now = front.key();
        front.push(&chunk, |w| {
            let line = window_line(
                file,
                w.samples,
                w.start_sample,
                w.silent,
                &key_now,
                session.as_deref_mut(),
                &mut totals,
            );
            write_line(&mut jsonl, line, &mut totals);
        })?;
        if totals.error.is_some() || !more {
            break;
        }
    }
    if totals.num_windows == 0 && totals.error.is_none() {
        let len = head.len() / TOKEN_SAMPLES * TOKEN_SAMPLES;
        if len >= 2 * TOKEN_SAMPLES {
            let silent = head[..len]
                .iter()
                .all(|x| x.abs() <= muq_engine::analysis::window::SILENCE_ABS);
            let line = window_line(
                file,
                &head[..len],
                0,
                silent,
                &front.key(),
                session.as_deref_mut(),
                &mut totals,
            );
            write_line(&mut jsonl, line, &mut totals);
        }
    }
    if let Some(e) = totals.error {
        return Err(e);
    }
    let key = whole_key.estimate();
    let (genre, instrument) = match (session, totals.num_windows) {
        (Some(s), n) if n > 0 => {
            let mean = normalized(&totals.latent_sum);
            let (instruments, genres) = s.label_scores(&mean)?;
            (genres.into_iter().next(), instruments.into_iter().next())
        }
        _ => (None, None),
    };
    Ok(report::csv_row(
        &file.name,
        &key,
        genre.as_ref(),
        instrument.as_ref(),
    ))
}

fn normalized(v: &[f32]) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    v.iter().map(|x| x / norm).collect()
}

fn write_line(
    out: &mut Option<&mut (dyn Write + '_)>,
    line: serde_json::Value,
    totals: &mut FileTotals,
) {
    if let Some(out) = out
        && let Err(e) = writeln!(out, "{line}")
        && totals.error.is_none()
    {
        totals.error = Some(anyhow::Error::new(e).context("writing the JSON lines"));
    }
}

/// Runs the model on one window (unless silent) and builds its JSON line.
fn window_line(
    file: &InputFile,
    samples: &[f32],
    start_sample: u64,
    silent: bool,
    key: &muq_engine::heads::key::KeyReadout,
    session: Option<&mut Session>,
    totals: &mut FileTotals,
) -> serde_json::Value {
    let rate = f64::from(MUQ_SAMPLE_RATE_HZ);
    let mut line = json!({
        "file": file.name,
        "start_s": start_sample as f64 / rate,
        "end_s": (start_sample + samples.len() as u64) as f64 / rate,
        "silent": silent,
        "key": report::key_json(key),
        "model": null,
    });
    let Some(session) = session.filter(|_| !silent && totals.error.is_none()) else {
        return line;
    };
    match session.analyse(samples, start_sample) {
        Ok(out) => {
            if totals.latent_sum.is_empty() {
                totals.latent_sum = vec![0.0; out.audio_latent.len()];
            }
            totals
                .latent_sum
                .iter_mut()
                .zip(&out.audio_latent)
                .for_each(|(s, x)| *s += x);
            totals.num_windows += 1;
            let queries: Vec<(String, f32)> = out
                .queries
                .iter()
                .map(|q| (q.text.clone(), q.similarity))
                .collect();
            line["model"] = report::model_json(&out.instruments, &out.genres, &queries);
            if !session.probes().is_empty() {
                line["model"]["probes"] = report::probes_json(&out.probes);
            }
        }
        Err(e) => totals.error = Some(anyhow::Error::new(e).context("running the model")),
    }
    line
}
