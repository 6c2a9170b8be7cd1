//! Inference time per window of the live pipeline at MuQ-MuLan-large's real size (seeded random
//! weights, no download): streaming MuQ-large over a 10 s window with a 2 s hop, then the MuLan
//! audio head and the zero-shot heads, with and without probe heads (pooled hidden states from
//! the same forward pass). Slow, so ignored by default:
//! `cargo test -p muq-engine --test pipeline_real_size -- --ignored --nocapture`.

use std::time::Instant;

use candle_core::{Device, Module};
use candle_nn::{Linear, linear};
use muq_engine::analysis::model::{TextEmbedding, WindowFeatures};
use muq_engine::analysis::{ModelOptions, Session, WindowModel};
use muq_engine::heads::probe::features::PooledState;
use muq_engine::heads::probe::{HeadKind, HeadMeta, ModelIdentity, Pooling, ProbeHead, TaskKind};
use muq_engine::models::mulan::MulanConfig;
use muq_engine::models::mulan::audio::AudioTower;
use muq_engine::models::muq::{MuqConfig, StreamingMuq};
use muq_engine::nn::random_init::random_var_builder;

/// The real-size audio side with random weights; text latents are seeded random unit vectors.
struct RandomLarge {
    tower: AudioTower,
    streaming: StreamingMuq,
    to_latents: Linear,
    probe_identity: ModelIdentity,
}

impl WindowModel for RandomLarge {
    fn identity(&self) -> &str {
        "random-muq-mulan-large"
    }

    fn audio_latent(&mut self, window: &[f32], start_sample: u64) -> muq_engine::Result<Vec<f32>> {
        Ok(self.window_features(window, start_sample, &[])?.latent)
    }

    fn window_features(
        &mut self,
        window: &[f32],
        start_sample: u64,
        layers: &[usize],
    ) -> muq_engine::Result<WindowFeatures> {
        let out = self.streaming.forward_window(window, start_sample)?;
        let pooled = self.tower.forward_muq_output(&out)?.pooled;
        let latent = self
            .to_latents
            .forward(&pooled)?
            .flatten_all()?
            .to_vec1::<f32>()?;
        let norm = latent.iter().map(|x| x * x).sum::<f32>().sqrt();
        let layers = layers
            .iter()
            .map(|&idx| Ok((idx, PooledState::of(&out.hidden_states[idx])?)))
            .collect::<muq_engine::Result<Vec<_>>>()?;
        Ok(WindowFeatures {
            latent: latent.iter().map(|x| x / norm).collect(),
            layers,
        })
    }

    fn probe_identity(&self) -> Option<&ModelIdentity> {
        Some(&self.probe_identity)
    }

    fn text_latent(&mut self, text: &str) -> muq_engine::Result<TextEmbedding> {
        let mut state = muq_engine::analysis::text_cache::fnv64(text.as_bytes());
        let latent: Vec<f32> = (0..512)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1);
                (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
            })
            .collect();
        let norm = latent.iter().map(|x| x * x).sum::<f32>().sqrt();
        Ok(TextEmbedding {
            latent: latent.iter().map(|x| x / norm).collect(),
            truncated: false,
        })
    }
}

#[test]
#[ignore = "real-size model: slow; run by hand"]
fn real_size_window_inference_time() {
    let device = Device::Cpu;
    let vb = random_var_builder(1, &device);
    let cfg = MulanConfig::muq_mulan_large();
    let tower =
        AudioTower::new(&cfg, &MuqConfig::muq_large_msd_iter(), vb.pp("mulan.audio")).unwrap();
    let to_latents = linear(
        cfg.audio_transformer.dim,
        cfg.mulan.dim_latent,
        vb.pp("mulan.audio_to_latents"),
    )
    .unwrap();
    let streaming = StreamingMuq::new(tower.muq().clone());
    let probe_identity = ModelIdentity {
        config_hash: "random-large".into(),
        encoder_dim: 1024,
        encoder_depth: 12,
    };
    // Three random heads: two MLPs on layer 6 (mean ‖ max), a linear one on layer 12.
    let heads = tempfile::tempdir().unwrap();
    for (task, layer, head, num_labels) in [
        ("genre", 6, HeadKind::Mlp, 10),
        ("mood", 6, HeadKind::Mlp, 8),
        ("key", 12, HeadKind::Linear, 24),
    ] {
        let meta = HeadMeta {
            format_version: 1,
            task: task.into(),
            task_kind: TaskKind::MultiClass,
            labels: (0..num_labels).map(|i| format!("{task}{i}")).collect(),
            layer,
            pooling: Pooling::Meanmax,
            head,
            num_hidden: if head == HeadKind::Mlp { 128 } else { 0 },
            model: probe_identity.clone(),
            feature_mean: vec![0.0; 2048],
            feature_std: vec![1.0; 2048],
            example_window_s: None,
        };
        let net = ProbeHead::fresh_net(&meta, 3).unwrap();
        ProbeHead::new(meta, net)
            .unwrap()
            .save(&heads.path().join(task))
            .unwrap();
    }
    let model = RandomLarge {
        tower,
        streaming,
        to_latents,
        probe_identity,
    };
    let options = ModelOptions {
        heads_dir: Some(heads.path().to_path_buf()),
        ..ModelOptions::default()
    };
    let mut session =
        Session::with_model(Box::new(model), "cpu".into(), &options, |_, _| {}).unwrap();
    assert_eq!(
        session.probes().heads().len(),
        3,
        "{:?}",
        session.settings_messages()
    );
    let audio: Vec<f32> = (0..24_000 * 20)
        .map(|i| (i as f32 * 0.031).sin() * 0.3)
        .collect();
    let (window, hop) = (240_000usize, 48_000usize);
    let mut times_ms = Vec::new();
    let mut start = 0;
    let mut heads_on = true;
    let mut times_without_ms = Vec::new();
    while start + window <= audio.len() {
        let t = Instant::now();
        let out = session
            .analyse(&audio[start..start + window], start as u64)
            .unwrap();
        let elapsed_ms = t.elapsed().as_secs_f32() * 1e3;
        assert!(out.audio_latent.iter().all(|x| x.is_finite()) && out.genres.len() == 3);
        assert_eq!(out.probes.len(), if heads_on { 3 } else { 0 });
        if heads_on {
            times_ms.push(elapsed_ms);
        } else {
            times_without_ms.push(elapsed_ms);
        }
        // Alternate windows with and without heads (same stream, same cache state).
        heads_on = !heads_on;
        session.set_heads_dir(heads_on.then(|| heads.path().to_path_buf()));
        start += hop;
    }
    eprintln!("ms per window without probe heads: {times_without_ms:?}");
    session.set_heads_dir(Some(heads.path().to_path_buf()));
    // The heads' own cost: pooling two (1, 250, 1024) hidden states and running 3 heads.
    let state = candle_core::Tensor::randn(0f32, 1.0, (1, 250, 1024), &device).unwrap();
    let t = Instant::now();
    let num_runs = 20;
    for _ in 0..num_runs {
        let pooled = PooledState::of(&state).unwrap();
        let features = WindowFeatures {
            latent: vec![0.0; 512],
            layers: vec![(6, pooled.clone()), (12, pooled)],
        };
        assert_eq!(session.probes().run(&features).readouts.len(), 3);
    }
    eprintln!(
        "probe heads' own cost (pool 2 layers + 3 heads): {:.2} ms per window",
        t.elapsed().as_secs_f32() * 1e3 / num_runs as f32
    );
    eprintln!(
        "real-size 10 s window / 2 s hop on {} threads: ms per window with 3 probe heads {times_ms:?}",
        candle_core::utils::get_num_threads()
    );
    let steady = &times_ms[1..];
    let mean_ms = steady.iter().sum::<f32>() / steady.len() as f32;
    eprintln!(
        "first {:.0} ms, steady mean {mean_ms:.0} ms, real-time factor {:.2}",
        times_ms[0],
        mean_ms / 2_000.0
    );
    assert!(times_ms.iter().all(|t| t.is_finite() && *t > 0.0));
}
