//! `StreamingMel::push` / `finish` never allocate (counted with a global allocator wrapper, per
//! thread), and the streamed frames equal the batch frames.

#[path = "no_alloc/counting.rs"]
mod counting;

use counting::num_allocs;
use muq_engine::mel::{MelConfig, MelSpectrogram};

#[test]
fn streaming_push_and_finish_do_not_allocate() {
    let batch = MelSpectrogram::new(MelConfig::muq());
    let wav: Vec<f32> = (0..48_000)
        .map(|i| (i as f32 * 0.013).sin() * 0.5)
        .collect();
    let expected = batch.mel_db(&wav).expect("batch mel").data;
    let mut mel = batch.streaming();
    let mut out = vec![0.0_f32; expected.len() + 1024];
    let mut num_values = 0;
    // The counter works: a heap allocation is seen.
    let probe_before = num_allocs();
    let probe = std::hint::black_box(vec![1_u8; 64]);
    assert!(num_allocs() > probe_before && probe.len() == 64);

    let before = num_allocs();
    let mut sink = |_: usize, frame: &[f32]| {
        out[num_values..num_values + frame.len()].copy_from_slice(frame);
        num_values += frame.len();
    };
    for chunk in wav.chunks(333) {
        mel.push(chunk, &mut sink);
    }
    let tail = mel.finish(&mut sink);
    let allocs = num_allocs() - before;
    assert!(tail.is_ok());
    assert_eq!(allocs, 0, "StreamingMel allocated {allocs} times");
    assert_eq!(num_values, expected.len());
    let worst = out[..num_values]
        .iter()
        .zip(&expected)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0_f32, f32::max);
    assert!(worst <= 1e-5, "stream vs batch {worst}");
}
