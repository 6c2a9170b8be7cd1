//! Tests for decoding, downmix and resampling, on files the tests write themselves (hound) plus
//! the golden fixtures' float32 WAV.

use std::path::{Path, PathBuf};

use super::*;

fn golden_wav() -> PathBuf {
    let dir = std::env::var_os("MUQ_GOLDEN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join("..")
                .join("shared")
                .join("golden")
        });
    dir.join("muq_rotary").join("input.wav")
}

fn write_wav_i16(path: &Path, channels: u16, rate: u32, frames: &[Vec<i16>]) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("create wav");
    for frame in frames {
        for &s in frame {
            w.write_sample(s).expect("write sample");
        }
    }
    w.finalize().expect("finalize wav");
}

fn write_wav_f32(path: &Path, rate: u32, samples: &[f32]) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("create wav");
    for &s in samples {
        w.write_sample(s).expect("write sample");
    }
    w.finalize().expect("finalize wav");
}

fn err_text<T: std::fmt::Debug>(r: crate::Result<T>) -> String {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn golden_float_wav_loads_bit_exactly() {
    let path = golden_wav();
    let expected: Vec<f32> = hound::WavReader::open(&path)
        .expect("open golden wav")
        .samples::<f32>()
        .collect::<std::result::Result<_, _>>()
        .expect("read golden wav");
    let audio = load_mono(&path).expect("load golden wav");
    assert_eq!(audio.sample_rate_hz, 24_000);
    assert_eq!(audio.num_source_channels, 1);
    assert_eq!(audio.samples.len(), expected.len());
    let same_bits = audio
        .samples
        .iter()
        .zip(&expected)
        .all(|(a, b)| a.to_bits() == b.to_bits());
    assert!(same_bits, "float32 WAV not bit-exact");
    let at_24k = load_mono_24k(&path).expect("load 24k");
    assert_eq!(at_24k.samples, audio.samples);
}

#[test]
fn stereo_is_downmixed_to_the_channel_mean() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("stereo.wav");
    let frames: Vec<Vec<i16>> = (0..1000)
        .map(|i| vec![(i * 10) as i16, -(i as i16) * 2])
        .collect();
    write_wav_i16(&path, 2, 16_000, &frames);
    let audio = load_mono(&path).expect("load stereo");
    assert_eq!(audio.num_source_channels, 2);
    assert_eq!(audio.sample_rate_hz, 16_000);
    assert_eq!(audio.samples.len(), 1000);
    for (i, &s) in audio.samples.iter().enumerate() {
        let expected = ((i * 10) as f32 / 32768.0 + (-(i as f32) * 2.0) / 32768.0) / 2.0;
        assert!((s - expected).abs() < 1e-6, "frame {i}: {s} vs {expected}");
    }
}

#[test]
fn non_finite_samples_are_zeroed_and_counted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("nan.wav");
    write_wav_f32(
        &path,
        24_000,
        &[0.5, f32::NAN, f32::INFINITY, -0.25, f32::NEG_INFINITY],
    );
    let audio = load_mono(&path).expect("load");
    assert_eq!(audio.samples, vec![0.5, 0.0, 0.0, -0.25, 0.0]);
    assert_eq!(audio.num_non_finite, 3);
}

#[test]
fn bad_files_give_clear_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("missing.wav");
    assert!(err_text(load_mono(&missing)).contains("missing.wav"));

    let empty = dir.path().join("empty.wav");
    std::fs::write(&empty, b"").expect("write");
    assert!(err_text(load_mono(&empty)).contains("empty"));

    let garbage = dir.path().join("garbage.wav");
    std::fs::write(&garbage, b"this is not audio at all, just some text bytes").expect("write");
    assert!(err_text(load_mono(&garbage)).contains("not a readable audio file"));

    let no_samples = dir.path().join("no_samples.wav");
    write_wav_f32(&no_samples, 24_000, &[]);
    assert!(err_text(load_mono(&no_samples)).contains("no audio samples"));

    let full = dir.path().join("full.wav");
    let samples: Vec<f32> = (0..10_000).map(|i| (i as f32 * 0.01).sin()).collect();
    write_wav_f32(&full, 24_000, &samples);
    let bytes = std::fs::read(&full).expect("read");
    let truncated = dir.path().join("truncated.wav");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).expect("write");
    assert!(err_text(load_mono(&truncated)).contains("truncated"));
    let header_only = dir.path().join("header_only.wav");
    std::fs::write(&header_only, &bytes[..30]).expect("write");
    let _ = err_text(load_mono(&header_only));
}

#[test]
fn resample_identity_and_sine_preserved() {
    let same = resample(&[0.1, 0.2, 0.3], 24_000, 24_000).expect("identity");
    assert_eq!(same, vec![0.1, 0.2, 0.3]);
    assert!(resample(&[0.1], 0, 24_000).is_err());

    for from_hz in [48_000_u32, 44_100, 16_000, 44_101] {
        let freq_hz = 1000.0_f64;
        let n = from_hz as usize; // 1 s
        let input: Vec<f32> = (0..n)
            .map(|i| {
                (2.0 * std::f64::consts::PI * freq_hz * i as f64 / f64::from(from_hz)).sin() as f32
            })
            .collect();
        let out = resample(&input, from_hz, 24_000).expect("resample");
        let expected_len = 24_000_usize;
        assert!(
            out.len().abs_diff(expected_len) <= 2,
            "{from_hz}: len {}",
            out.len()
        );
        let rms = (out[2400..out.len() - 2400]
            .iter()
            .map(|v| v * v)
            .sum::<f32>()
            / (out.len() - 4800) as f32)
            .sqrt();
        assert!(
            (rms - std::f32::consts::FRAC_1_SQRT_2).abs() < 5e-3,
            "{from_hz} Hz: rms {rms}"
        );
        if from_hz == 44_101 {
            // Sinc path: the trimmed delay is rounded to whole output samples, so only the
            // amplitude is checked sample-exactly above.
            continue;
        }
        // Away from the edges the output is the same sine at 24 kHz (delay trimmed).
        let worst = (2400..out.len() - 2400)
            .map(|i| {
                let e = (2.0 * std::f64::consts::PI * freq_hz * i as f64 / 24_000.0).sin() as f32;
                (out[i] - e).abs()
            })
            .fold(0.0_f32, f32::max);
        assert!(worst < 2e-3, "{from_hz} Hz: max err {worst}");
    }
}

#[test]
fn streaming_reader_equals_whole_clip_resampling() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (rate, len) in [
        (48_000_u32, 100_003_usize),
        (44_100, 5_000),
        (24_000, 7_777),
        (16_000, 300),
    ] {
        let path = dir.path().join(format!("in_{rate}.wav"));
        let frames: Vec<Vec<i16>> = (0..len)
            .map(|i| {
                let v = ((i as f32 * 0.021).sin() * 12_000.0) as i16;
                vec![v, v / 2]
            })
            .collect();
        write_wav_i16(&path, 2, rate, &frames);
        let native = load_mono(&path).expect("load");
        let whole = resample(&native.samples, rate, 24_000).expect("resample");
        let streamed = load_mono_24k(&path).expect("load 24k");
        assert_eq!(streamed.sample_rate_hz, 24_000);
        let expected_len = (len as u64 * 24_000).div_ceil(u64::from(rate)) as usize;
        assert_eq!(whole.len(), expected_len, "{rate}");
        assert_eq!(streamed.samples.len(), expected_len, "{rate}");
        let worst = whole
            .iter()
            .zip(&streamed.samples)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(worst <= 1e-6, "{rate} Hz: streamed vs whole {worst}");

        // Chunk-wise reading delivers the same samples with bounded chunks.
        let mut reader = AudioReader::open(&path, Some(24_000)).expect("open");
        let mut all = Vec::new();
        let mut largest_chunk = 0;
        loop {
            let before = all.len();
            if !reader.read_chunk(&mut all).expect("read") {
                break;
            }
            largest_chunk = largest_chunk.max(all.len() - before);
        }
        assert_eq!(all, streamed.samples);
        assert!(largest_chunk <= 16_384, "chunk of {largest_chunk} samples");
    }
}

#[test]
fn chunked_resampler_equals_rubato_process_all() {
    use rubato::audioadapter_buffers::direct::InterleavedSlice;
    use rubato::{Fft, FixedSync, Resampler};
    let input: Vec<f32> = (0..30_001)
        .map(|i| (i as f32 * 0.0123).sin() * 0.7)
        .collect();
    let mut reference = Fft::<f32>::new(44_100, 24_000, 1024, 1, FixedSync::Input).expect("fft");
    let adapter = InterleavedSlice::new(&input, 1, input.len()).expect("adapter");
    let expected = reference
        .process_all(&adapter, input.len(), None)
        .expect("process_all")
        .take_data();
    let got = resample(&input, 44_100, 24_000).expect("resample");
    assert_eq!(got.len(), expected.len());
    let worst = got
        .iter()
        .zip(&expected)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    assert!(worst <= 1e-6, "chunked vs process_all {worst}");
}

#[test]
fn flac_decodes_exactly_and_truncation_is_detected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let frames = 5000;
    let interleaved: Vec<i16> = (0..frames)
        .flat_map(|i| {
            let v = ((i as f32 * 0.03).sin() * 20_000.0) as i16;
            [v, (i % 200) as i16 - 100]
        })
        .collect();
    let path = dir.path().join("tone.flac");
    let bytes = super::test_flac::flac_bytes(&interleaved, 2, 44_100);
    std::fs::write(&path, &bytes).expect("write");
    let audio = load_mono(&path).expect("load flac");
    assert_eq!(
        (audio.sample_rate_hz, audio.num_source_channels),
        (44_100, 2)
    );
    assert_eq!(audio.samples.len(), frames);
    for (i, (&got, pair)) in audio.samples.iter().zip(interleaved.chunks(2)).enumerate() {
        let expected = (f32::from(pair[0]) / 32768.0 + f32::from(pair[1]) / 32768.0) / 2.0;
        assert!(
            (got - expected).abs() < 1e-6,
            "frame {i}: {got} vs {expected}"
        );
    }
    let at_24k = load_mono_24k(&path).expect("load 24k");
    assert_eq!(at_24k.samples.len(), (frames * 24_000).div_ceil(44_100));

    let truncated = dir.path().join("truncated.flac");
    std::fs::write(&truncated, &bytes[..bytes.len() * 2 / 3]).expect("write");
    let msg = err_text(load_mono(&truncated));
    assert!(msg.contains("truncated.flac"), "{msg}");
}
