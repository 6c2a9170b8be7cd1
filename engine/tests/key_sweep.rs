//! Developer tool, ignored by default: renders the key corpus once and prints the MIREX score
//! of several estimator configurations, to choose the defaults by measurement.
//! `cargo test -p muq-engine --test key_sweep -- --ignored --nocapture`

use muq_engine::heads::key::{
    ChromaConfig, KeyConfig, MirexTally, ProfileChoice, ProfileKind, estimate_key_with,
};
use muq_engine::synth::{key_corpus, render_clip};

#[test]
#[ignore = "developer sweep; slow"]
fn key_config_sweep() -> anyhow::Result<()> {
    let sample_rate_hz = 22_050;
    let started = std::time::Instant::now();
    let specs = key_corpus(1, 12.0, 25.0, 2024);
    let clips: Vec<Vec<f32>> =
        specs.iter().map(|s| render_clip(s, sample_rate_hz)).collect::<Result<_, _>>()?;
    println!("rendered {} clips in {:.1} s", clips.len(), started.elapsed().as_secs_f32());
    let base = KeyConfig::offline();
    let mut configs: Vec<(String, KeyConfig)> = Vec::new();
    for kind in ProfileKind::ALL {
        configs.push((format!("{kind:?}"), KeyConfig { profile: ProfileChoice::Builtin(kind), ..base.clone() }));
    }
    for bass_weight in [0.0, 0.25, 1.0] {
        configs.push((format!("bass {bass_weight}"), KeyConfig { bass_weight, ..base.clone() }));
    }
    for harmonics in [2, 4] {
        configs.push((format!("template harmonics {harmonics}"), KeyConfig { template_harmonics: harmonics, ..base.clone() }));
    }
    for exponent in [0.5, 2.0] {
        let chroma = ChromaConfig { magnitude_exponent: exponent, ..ChromaConfig::default() };
        configs.push((format!("magnitude^{exponent}"), KeyConfig { chroma, ..base.clone() }));
    }
    for suppression in [0.5, 0.9] {
        let chroma = ChromaConfig { harmonic_suppression: suppression, ..ChromaConfig::default() };
        configs.push((format!("harmonic suppression {suppression}"), KeyConfig { chroma, ..base.clone() }));
    }
    for (name, cfg) in configs {
        let mut tally = MirexTally::default();
        for (spec, clip) in specs.iter().zip(&clips) {
            let readout = estimate_key_with(clip, sample_rate_hz as f32, cfg.clone())?;
            tally.add(readout.key, spec.key);
        }
        println!("{name:32} {tally}");
    }
    Ok(())
}
