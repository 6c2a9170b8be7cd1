//! `KeyEstimator::feed`, `estimate` and `reset` never allocate (counted with a global allocator
//! wrapper, per thread), with the default configuration and every shipped profile.

#[path = "no_alloc/counting.rs"]
mod counting;

use counting::num_allocs;
use muq_engine::heads::key::{Key, KeyConfig, KeyEstimator, Mode, ProfileChoice, ProfileKind};
use muq_synth::{ClipSpec, Style, render_clip};

#[test]
fn feed_estimate_and_reset_do_not_allocate() -> anyhow::Result<()> {
    let sample_rate_hz = 22_050;
    let spec = ClipSpec {
        duration_s: 8.0, // the live estimator shows a key after 5 s of audio
        ..ClipSpec::new(Key::new(9, Mode::Minor), Style::Groove, 5)
    };
    let samples = render_clip(&spec, sample_rate_hz)?;
    let mut configs = vec![
        KeyConfig::default(),
        KeyConfig::default().with_profile(ProfileChoice::parse("ensemble_opening")?),
        KeyConfig::offline(),
    ];
    for kind in ProfileKind::ALL {
        configs.push(KeyConfig::default().with_profile(ProfileChoice::Builtin(kind)));
    }
    for cfg in configs {
        let label = cfg.profile.label();
        let mut estimator = KeyEstimator::new(cfg, sample_rate_hz as f32)?;
        let before = num_allocs();
        let mut shown = 0usize;
        for chunk in samples.chunks(256) {
            estimator.feed(chunk);
            shown += usize::from(estimator.estimate().key.is_some());
        }
        estimator.reset();
        estimator.feed(&samples[..4_096]);
        let allocs = num_allocs() - before;
        assert_eq!(allocs, 0, "{label}: {allocs} allocations");
        assert!(shown > 0, "{label}: no key shown");
    }
    Ok(())
}
