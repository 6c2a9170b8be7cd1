//! Developer tool, ignored by default: renders the key corpus once and prints the MIREX score
//! of several estimator configurations, to choose the defaults by measurement.
//! `cargo test -p muq-engine --test key_sweep -- --ignored --nocapture`

use muq_engine::heads::key::{
    ChromaConfig, KeyConfig, MirexTally, ProfileChoice, ProfileKind, estimate_key_with,
};
use muq_synth::{key_corpus, render_clip};

#[test]
#[ignore = "developer sweep; slow"]
fn key_config_sweep() -> anyhow::Result<()> {
    let sample_rate_hz = 22_050;
    let started = std::time::Instant::now();
    let specs = key_corpus(1, 12.0, 25.0, 2024);
    let clips: Vec<Vec<f32>> = specs
        .iter()
        .map(|s| render_clip(s, sample_rate_hz))
        .collect::<Result<_, _>>()?;
    println!(
        "rendered {} clips in {:.1} s",
        clips.len(),
        started.elapsed().as_secs_f32()
    );
    let base = KeyConfig::offline();
    let mut configs: Vec<(String, KeyConfig)> = Vec::new();
    let chroma = ChromaConfig {
        frame_floor: 0.2,
        harmonic_suppression: 0.5,
        ..ChromaConfig::default()
    };
    let best = KeyConfig {
        profile: ProfileChoice::Builtin(ProfileKind::KrumhanslKessler),
        bass_weight: 0.0,
        chroma: chroma.clone(),
        ..base.clone()
    };
    let variants: [(&str, ChromaConfig); 5] = [
        (
            "suppress up to h5",
            ChromaConfig {
                max_suppressed_harmonic: 5,
                ..chroma.clone()
            },
        ),
        (
            "suppress up to h6",
            ChromaConfig {
                max_suppressed_harmonic: 6,
                ..chroma.clone()
            },
        ),
        (
            "suppress up to h8",
            ChromaConfig {
                max_suppressed_harmonic: 8,
                ..chroma.clone()
            },
        ),
        (
            "h5 suppression 0.65",
            ChromaConfig {
                max_suppressed_harmonic: 5,
                harmonic_suppression: 0.65,
                ..chroma.clone()
            },
        ),
        (
            "h5 floor 0.15",
            ChromaConfig {
                max_suppressed_harmonic: 5,
                frame_floor: 0.15,
                ..chroma.clone()
            },
        ),
    ];
    for (name, chroma) in variants {
        configs.push((
            name.into(),
            KeyConfig {
                chroma,
                ..best.clone()
            },
        ));
    }
    let results = std::sync::Mutex::new(Vec::new());
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                loop {
                    let idx = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some((name, cfg)) = configs.get(idx) else {
                        break;
                    };
                    let mut tally = MirexTally::default();
                    for (spec, clip) in specs.iter().zip(&clips) {
                        if let Ok(readout) =
                            estimate_key_with(clip, sample_rate_hz as f32, cfg.clone())
                        {
                            tally.add(readout.key, spec.key);
                        }
                    }
                    println!("{name:36} {tally}");
                    if let Ok(mut r) = results.lock() {
                        r.push((tally.score(), name.clone()));
                    }
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_default();
    results.sort_by(|a, b| b.0.total_cmp(&a.0));
    println!("best: {:?}", results.first());
    Ok(())
}

/// Developer tool: MIREX of the default offline estimator, of `ensemble_opening` (and, with
/// `MUQ_KEY_ALL_PROFILES` set, of each shipped profile with the default front end) on exported
/// corpora, e.g. the folders `export_key_corpus` writes for the dev and held-out seeds.
/// `MUQ_KEY_CORPUS_DIRS` is a `:`-separated list of such folders; `MUQ_KEY_METHODS` (a
/// `,`-separated list of key-method strings) replaces the two default methods;
/// `MUQ_KEY_START_S` (e.g. `0,2,3,5`) reads every clip from each of these offsets, as a live
/// window that starts inside a phrase would (default `0`); `MUQ_KEY_OPENING=weight,margin`
/// overrides the opening-chord arbiter's settings; with `MUQ_KEY_LIVE` set, each clip goes
/// through the live estimator (20 s smoothing, hysteresis) in 10 ms blocks and the key it
/// displays at the end is scored, with the display changes counted; there
/// `MUQ_KEY_MIN_EVIDENCE_S` and `MUQ_KEY_HYST=margin,hold,settle` (or `off`) override the live
/// settings.
/// `MUQ_KEY_CORPUS_DIRS=corpora/c2024:corpora/c7 cargo test -p muq-engine --test key_sweep -- --ignored
/// wav_corpora --nocapture`
#[test]
#[ignore = "developer tool; needs exported corpora"]
fn wav_corpora() -> anyhow::Result<()> {
    use muq_engine::heads::key::{DEFAULT_KEY_METHOD, ENSEMBLE_OPENING_METHOD, Key};
    let dirs = std::env::var("MUQ_KEY_CORPUS_DIRS")?;
    let mut methods: Vec<(String, KeyConfig)> = match std::env::var("MUQ_KEY_METHODS") {
        Ok(list) => list
            .split(',')
            .map(|m| {
                Ok((
                    m.to_string(),
                    KeyConfig::offline().with_profile(ProfileChoice::parse(m)?),
                ))
            })
            .collect::<anyhow::Result<_>>()?,
        Err(_) => vec![
            (
                format!("default ({DEFAULT_KEY_METHOD})"),
                KeyConfig::offline(),
            ),
            (
                ENSEMBLE_OPENING_METHOD.to_string(),
                KeyConfig::offline().with_profile(ProfileChoice::parse(ENSEMBLE_OPENING_METHOD)?),
            ),
        ],
    };
    let starts_s: Vec<f32> = std::env::var("MUQ_KEY_START_S")
        .unwrap_or_else(|_| "0".into())
        .split(',')
        .map(|t| t.trim().parse::<f32>())
        .collect::<Result<_, _>>()?;
    if let Ok(text) = std::env::var("MUQ_KEY_OPENING") {
        // `weight,margin` of the opening-chord arbiter for every method that uses it.
        let mut values = text.split(',').map(|t| t.trim().parse::<f32>());
        let (Some(Ok(weight)), Some(Ok(max_margin))) = (values.next(), values.next()) else {
            anyhow::bail!("MUQ_KEY_OPENING must read `weight,margin`, got {text:?}");
        };
        for (_, cfg) in &mut methods {
            cfg.opening.weight = weight;
            cfg.opening.max_margin = max_margin;
        }
    }
    let all_profiles = std::env::var_os("MUQ_KEY_ALL_PROFILES").is_some();
    let live = std::env::var_os("MUQ_KEY_LIVE").is_some();
    for kind in ProfileKind::ALL.into_iter().filter(|_| all_profiles) {
        let cfg = KeyConfig::offline().with_profile(ProfileChoice::Builtin(kind));
        methods.push((kind.name().to_string(), cfg));
    }
    let mut overall: Vec<MirexTally> = vec![MirexTally::default(); methods.len()];
    for dir in dirs.split(':').map(std::path::Path::new) {
        let truths = std::fs::read_to_string(dir.join("truths.csv"))?;
        let mut clips = Vec::new();
        for line in truths.lines().skip(1) {
            let mut fields = line.split(',');
            let (Some(file), Some(key)) = (fields.next(), fields.next()) else {
                anyhow::bail!("bad truths.csv line {line:?}");
            };
            let key = Key::parse(key).ok_or_else(|| anyhow::anyhow!("bad key {key:?}"))?;
            let mut reader = hound::WavReader::open(dir.join(file))?;
            let sample_rate_hz = reader.spec().sample_rate as f32;
            let samples = reader.samples::<f32>().collect::<Result<Vec<_>, _>>()?;
            clips.push((key, sample_rate_hz, samples));
        }
        for ((name, cfg), all) in methods.iter().zip(&mut overall) {
            for &start_s in &starts_s {
                let mut tally = MirexTally::default();
                for (key, sample_rate_hz, samples) in &clips {
                    let skip = ((start_s * sample_rate_hz) as usize).min(samples.len());
                    let readout = if live {
                        live_readout(&samples[skip..], *sample_rate_hz, cfg)?
                    } else {
                        estimate_key_with(&samples[skip..], *sample_rate_hz, cfg.clone())?
                    };
                    tally.add(readout.key, *key);
                    all.add(readout.key, *key);
                }
                println!("{} start {start_s} s {name:32} {tally}", dir.display());
            }
        }
    }
    for ((name, _), all) in methods.iter().zip(&overall) {
        println!("all folders and starts {name:32} {all}");
    }
    if live {
        let changes = DISPLAY_CHANGES.load(std::sync::atomic::Ordering::Relaxed);
        let num_reads: usize = overall.iter().map(MirexTally::num_items).sum();
        println!(
            "live display changes: {changes} over {num_reads} clip reads ({:.2} per read)",
            changes as f64 / num_reads.max(1) as f64
        );
    }
    Ok(())
}

/// Changes of the displayed key counted by [`live_readout`] (after the first key shown).
static DISPLAY_CHANGES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// The key the live estimator (the live [`KeyConfig`] with `offline`'s profile and arbiter
/// settings) displays after `samples` were fed in 10 ms blocks.
fn live_readout(
    samples: &[f32],
    sample_rate_hz: f32,
    offline: &KeyConfig,
) -> anyhow::Result<muq_engine::heads::key::KeyReadout> {
    let mut cfg = KeyConfig {
        profile: offline.profile.clone(),
        opening: offline.opening,
        ..KeyConfig::default()
    };
    if let Some(min_evidence_s) = std::env::var("MUQ_KEY_MIN_EVIDENCE_S")
        .ok()
        .and_then(|t| t.trim().parse().ok())
    {
        cfg.min_evidence_s = min_evidence_s;
    }
    if let Ok(text) = std::env::var("MUQ_KEY_HYST") {
        let values: Vec<f32> = text
            .split(',')
            .filter_map(|t| t.trim().parse().ok())
            .collect();
        cfg.hysteresis = match values[..] {
            [switch_margin, switch_hold_s, settle_s] => {
                Some(muq_engine::heads::key::HysteresisConfig {
                    switch_margin,
                    switch_hold_s,
                    settle_s,
                })
            }
            _ => None,
        };
    }
    let mut estimator = muq_engine::heads::key::KeyEstimator::new(cfg, sample_rate_hz)?;
    let block = ((sample_rate_hz / 100.0) as usize).max(1);
    let mut shown = None;
    for chunk in samples.chunks(block) {
        estimator.feed(chunk);
        let now = estimator.estimate().key;
        if shown.is_some() && now != shown {
            DISPLAY_CHANGES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        shown = now;
    }
    Ok(estimator.estimate())
}
