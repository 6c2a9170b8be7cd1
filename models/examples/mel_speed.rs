//! Times the mel frontend on 10 s of 24 kHz audio (batch, and streaming in 512-sample blocks).
//! Run: `cargo run --release -p muq-models --example mel_speed`.

use std::time::Instant;

use muq_models::mel::{MelConfig, MelSpectrogram};

fn main() -> muq_models::Result<()> {
    let wav: Vec<f32> = (0..240_000)
        .map(|i| 0.3 * (i as f32 * 0.05).sin() + 0.1 * (i as f32 * 0.31).sin())
        .collect();
    let mel = MelSpectrogram::new(MelConfig::muq());
    let mut best_batch_s = f64::MAX;
    let mut num_frames = 0;
    for _ in 0..7 {
        let started = Instant::now();
        num_frames = std::hint::black_box(mel.mel_db(&wav)?).num_frames;
        best_batch_s = best_batch_s.min(started.elapsed().as_secs_f64());
    }
    let mut streaming = mel.streaming();
    let mut best_stream_s = f64::MAX;
    for _ in 0..7 {
        let mut checksum = 0.0_f32;
        let started = Instant::now();
        for block in wav.chunks(512) {
            streaming.push(block, |_, f| checksum += f[0]);
        }
        streaming.finish(|_, f| checksum += f[0])?;
        best_stream_s = best_stream_s.min(started.elapsed().as_secs_f64());
        std::hint::black_box(checksum);
    }
    println!(
        "{{\"audio_s\": 10.0, \"frames\": {num_frames}, \"batch_ms\": {:.2}, \"streaming_ms\": {:.2}, \
         \"per_frame_us\": {:.2}}}",
        best_batch_s * 1e3,
        best_stream_s * 1e3,
        best_stream_s * 1e6 / num_frames as f64
    );
    Ok(())
}
