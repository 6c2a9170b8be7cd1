//! The streaming encoder equals a whole call on each window (within float32 noise), for every
//! stem layout and position-embedding type, across consecutive hops, skips and resets.

use candle_core::{Device, Tensor};
use muq_models::models::muq::{Muq, MuqConfig, StreamingMuq};
use muq_models::nn::random_init::random_var_builder;

fn tiny_config(label_rate: u32, pos: &str) -> MuqConfig {
    let mut cfg = MuqConfig::muq_large_msd_iter();
    cfg.label_rate = label_rate;
    cfg.conv_dim = 8;
    cfg.encoder_dim = 32;
    cfg.encoder_depth = 2;
    cfg.w2v2_config.num_attention_heads = 4;
    cfg.w2v2_config.intermediate_size = 64;
    cfg.w2v2_config.position_embeddings_type = Some(pos.to_string());
    cfg
}

fn signal(num_samples: usize) -> Vec<f32> {
    let mut state = 12345u32;
    (0..num_samples)
        .map(|i| {
            let t = i as f32 / 24_000.0;
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let noise = (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
            0.3 * (2.0 * std::f32::consts::PI * 220.0 * t).sin() * (0.5 + 0.5 * (0.7 * t).sin())
                + 0.2 * (2.0 * std::f32::consts::PI * 1375.0 * t).sin()
                + 0.05 * noise
        })
        .collect()
}

fn max_ratio(got: &Tensor, exp: &Tensor, atol: f32, rtol: f32) -> f32 {
    assert_eq!(got.dims(), exp.dims());
    let g = got.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let e = exp.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    g.iter()
        .zip(&e)
        .map(|(a, b)| (a - b).abs() / (atol + rtol * b.abs()))
        .fold(0.0, f32::max)
}

fn check_layout(label_rate: u32, pos: &str) {
    let dev = Device::Cpu;
    let cfg = tiny_config(label_rate, pos);
    let model = Muq::new(&cfg, random_var_builder(3, &dev)).unwrap();
    let spt = cfg.samples_per_token();
    let window_len = 120 * spt; // 4.8 s at 25 tokens/s
    let hop = 24 * spt;
    let audio = signal(window_len + 8 * hop);
    let mut streaming = StreamingMuq::new(model.clone());
    // Consecutive hops, then a skip forward (cache partly reused), then a jump (cache reset).
    let starts = [0, hop, 2 * hop, 3 * hop, 5 * hop, 8 * hop, 0];
    for (k, &start) in starts.iter().enumerate() {
        let window = &audio[start..start + window_len];
        let got = streaming.forward_window(window, start as u64).unwrap();
        let exp = model
            .forward(&Tensor::from_slice(window, (1, window_len), &dev).unwrap())
            .unwrap();
        assert_eq!(got.hidden_states.len(), exp.hidden_states.len());
        for (i, (g, e)) in got.hidden_states.iter().zip(&exp.hidden_states).enumerate() {
            let r = max_ratio(g, e, 2e-5, 1e-4);
            assert!(
                r <= 1.0,
                "label_rate {label_rate} {pos}: window {k} hidden_states.{i} err/tol {r}"
            );
        }
        let stats = streaming.last_stats();
        if k > 0 && k < 5 {
            assert!(
                stats.num_cached_tokens > 0,
                "window {k} reused nothing: {stats:?}"
            );
        }
        println!("label_rate {label_rate} {pos} window {k}: {stats:?}");
    }
}

#[test]
fn streaming_equals_whole_call_rotary_nfold4() {
    check_layout(25, "rotary");
}

#[test]
fn streaming_equals_whole_call_relative_nfold2() {
    check_layout(50, "relative");
}

#[test]
fn streaming_rejects_off_grid_windows() {
    let dev = Device::Cpu;
    let cfg = tiny_config(25, "rotary");
    let model = Muq::new(&cfg, random_var_builder(3, &dev)).unwrap();
    let mut streaming = StreamingMuq::new(model);
    let audio = signal(48_000);
    assert!(streaming.forward_window(&audio[..47_000], 0).is_err());
    assert!(streaming.forward_window(&audio[..960 * 40], 480).is_err());
    let mut bad = audio[..960 * 40].to_vec();
    bad[100] = f32::NAN;
    assert!(streaming.forward_window(&bad, 0).is_err());
}
