//! Inference time per window of the live pipeline at MuQ-MuLan-large's real size (seeded random
//! weights, no download): streaming MuQ-large over a 10 s window with a 2 s hop, then the MuLan
//! audio head and the zero-shot heads. Slow, so ignored by default:
//! `cargo test -p muq-engine --test pipeline_real_size -- --ignored --nocapture`.

use std::time::Instant;

use candle_core::{Device, Module};
use candle_nn::{Linear, linear};
use muq_engine::analysis::model::TextEmbedding;
use muq_engine::analysis::{ModelOptions, Session, WindowModel};
use muq_engine::models::mulan::MulanConfig;
use muq_engine::models::mulan::audio::AudioTower;
use muq_engine::models::muq::{MuqConfig, StreamingMuq};
use muq_engine::nn::random_init::random_var_builder;

/// The real-size audio side with random weights; text latents are seeded random unit vectors.
struct RandomLarge {
    tower: AudioTower,
    streaming: StreamingMuq,
    to_latents: Linear,
}

impl WindowModel for RandomLarge {
    fn identity(&self) -> &str {
        "random-muq-mulan-large"
    }

    fn audio_latent(&mut self, window: &[f32], start_sample: u64) -> muq_engine::Result<Vec<f32>> {
        let out = self.streaming.forward_window(window, start_sample)?;
        let pooled = self.tower.forward_muq_output(&out)?.pooled;
        let latent = self
            .to_latents
            .forward(&pooled)?
            .flatten_all()?
            .to_vec1::<f32>()?;
        let norm = latent.iter().map(|x| x * x).sum::<f32>().sqrt();
        Ok(latent.iter().map(|x| x / norm).collect())
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
    let model = RandomLarge {
        tower,
        streaming,
        to_latents,
    };
    let mut session = Session::with_model(
        Box::new(model),
        "cpu".into(),
        &ModelOptions::default(),
        |_, _| {},
    )
    .unwrap();
    let audio: Vec<f32> = (0..24_000 * 20)
        .map(|i| (i as f32 * 0.031).sin() * 0.3)
        .collect();
    let (window, hop) = (240_000usize, 48_000usize);
    let mut times_ms = Vec::new();
    let mut start = 0;
    while start + window <= audio.len() {
        let t = Instant::now();
        let out = session
            .analyse(&audio[start..start + window], start as u64)
            .unwrap();
        times_ms.push(t.elapsed().as_secs_f32() * 1e3);
        assert!(out.audio_latent.iter().all(|x| x.is_finite()) && out.genres.len() == 3);
        start += hop;
    }
    eprintln!(
        "real-size 10 s window / 2 s hop on {} threads: ms per window {times_ms:?}",
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
