//! Analytic FLOP counts of a MuQ forward (2 FLOPs per multiply-add), for benchmarks.

use super::config::MuqConfig;

/// FLOPs of one whole call on `num_frames` mel frames: (conv stem, conformer).
pub fn forward_flops(cfg: &MuqConfig, num_frames: usize) -> (f64, f64) {
    let [s0, s1] = cfg.conv_strides();
    let c = cfg.conv_dim as f64;
    let (f0, t0) = (cfg.n_mels.div_ceil(s0.0), num_frames.div_ceil(s0.1));
    let (f1, t1) = (f0.div_ceil(s1.0), t0.div_ceil(s1.1));
    let conv = |cin: f64, cout: f64, h: usize, w: usize| 2.0 * cin * cout * 9.0 * (h * w) as f64;
    let block0 = 2.0 * conv(1.0, c, f0, t0) + conv(c, c, f0, t0);
    let block1 = 2.0 * conv(c, c, f1, t1) + conv(c, c, f1, t1);
    let d = cfg.encoder_dim as f64;
    let t = t1 as f64;
    let linear = 2.0 * t * c * f1 as f64 * d;
    let inter = cfg.w2v2_config.intermediate_size as f64;
    let k = cfg.w2v2_config.conv_depthwise_kernel_size as f64;
    let ffn = 2.0 * (2.0 * t * d * inter * 2.0);
    let attn = 4.0 * 2.0 * t * d * d + 2.0 * 2.0 * t * t * d;
    let conv_module = 2.0 * t * d * 2.0 * d + 2.0 * t * d * d + 2.0 * t * d * k;
    let per_layer = ffn + attn + conv_module;
    (
        block0 + block1 + linear,
        per_layer * cfg.encoder_depth as f64,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_model_matches_the_published_budget() {
        // The issue quotes 423 GFLOP per 10 s, 273 of them in the conv stem.
        let (stem, conformer) = forward_flops(&MuqConfig::muq_large_msd_iter(), 1000);
        assert!((stem / 1e9 - 273.0).abs() < 5.0, "stem {}", stem / 1e9);
        assert!(
            ((stem + conformer) / 1e9 - 423.0).abs() < 10.0,
            "total {}",
            (stem + conformer) / 1e9
        );
    }
}
