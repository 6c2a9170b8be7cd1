//! Decoding with symphonia and the mono downmix.

use std::fs::File;
use std::io::ErrorKind;
use std::path::Path;

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{
    CODEC_TYPE_MP1, CODEC_TYPE_MP2, CODEC_TYPE_MP3, CODEC_TYPE_NULL, CODEC_TYPE_VORBIS, CodecType,
    DecoderOptions,
};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

use super::DecodedAudio;
use crate::{Error, Result};

/// Lossy codecs whose declared frame count may include encoder delay/padding; a short decode
/// there is not proof of truncation.
fn has_exact_frame_count(codec: CodecType) -> bool {
    ![
        CODEC_TYPE_MP1,
        CODEC_TYPE_MP2,
        CODEC_TYPE_MP3,
        CODEC_TYPE_VORBIS,
    ]
    .contains(&codec)
}

fn audio_err(path: &Path, msg: impl std::fmt::Display) -> Error {
    Error::Audio(format!("{}: {msg}", path.display()))
}

pub(super) fn decode_mono(path: &Path) -> Result<DecodedAudio> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let file_len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    if file_len == 0 {
        return Err(audio_err(path, "the file is empty (0 bytes)"));
    }
    let mss = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(ext);
    }
    let probed = symphonia::default::get_probe()
        .format(
            &hint,
            mss,
            &FormatOptions::default(),
            &MetadataOptions::default(),
        )
        .map_err(|e| {
            audio_err(
                path,
                format!("not a readable audio file (WAV, FLAC, MP3, OGG-Vorbis): {e}"),
            )
        })?;
    let mut format = probed.format;
    let track = format
        .tracks()
        .iter()
        .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
        .ok_or_else(|| audio_err(path, "no audio track"))?;
    let track_id = track.id;
    let params = track.codec_params.clone();
    let mut decoder = symphonia::default::get_codecs()
        .make(&params, &DecoderOptions::default())
        .map_err(|e| audio_err(path, format!("unsupported codec: {e}")))?;

    let mut sample_rate_hz = params.sample_rate;
    let mut num_channels = params.channels.map(|c| c.count());
    let mut mono = Vec::with_capacity(params.n_frames.unwrap_or(0).min(1 << 28) as usize);
    let mut num_frames_decoded = 0_u64;
    let mut num_non_finite = 0_usize;
    let mut interleaved: Option<SampleBuffer<f32>> = None;
    loop {
        let packet = match format.next_packet() {
            Ok(packet) => packet,
            Err(SymphoniaError::IoError(e)) if e.kind() == ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(audio_err(path, format!("cannot read the stream: {e}"))),
        };
        if packet.track_id() != track_id {
            continue;
        }
        let decoded = match decoder.decode(&packet) {
            Ok(decoded) => decoded,
            Err(SymphoniaError::DecodeError(msg)) => {
                return Err(audio_err(path, format!("corrupt audio data: {msg}")));
            }
            Err(SymphoniaError::IoError(e)) if e.kind() == ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(audio_err(path, format!("decoding failed: {e}"))),
        };
        let spec = *decoded.spec();
        let channels = spec.channels.count();
        if channels == 0 {
            return Err(audio_err(path, "the stream has 0 channels"));
        }
        sample_rate_hz.get_or_insert(spec.rate);
        num_channels.get_or_insert(channels);
        let needed = decoded.capacity() as u64;
        let buf = match &mut interleaved {
            Some(buf) if buf.capacity() as u64 >= needed * channels as u64 => buf,
            slot => slot.insert(SampleBuffer::<f32>::new(needed, spec)),
        };
        buf.copy_interleaved_ref(decoded);
        let samples = buf.samples();
        for frame in samples.chunks_exact(channels) {
            let mut sum = 0.0_f32;
            for &x in frame {
                if x.is_finite() {
                    sum += x;
                } else {
                    num_non_finite += 1;
                }
            }
            // One channel: copy exactly (no division), so float WAVs load bit-exactly.
            mono.push(if channels == 1 {
                sum
            } else {
                sum / channels as f32
            });
        }
        num_frames_decoded += (samples.len() / channels) as u64;
    }

    let sample_rate_hz = sample_rate_hz
        .filter(|&r| r > 0)
        .ok_or_else(|| audio_err(path, "unknown sample rate"))?;
    if mono.is_empty() {
        return Err(audio_err(path, "the file contains no audio samples"));
    }
    if let Some(declared) = params.n_frames
        && has_exact_frame_count(params.codec)
        && num_frames_decoded < declared
    {
        return Err(audio_err(
            path,
            format!(
                "truncated file: the header declares {declared} frames but only \
                 {num_frames_decoded} could be read"
            ),
        ));
    }
    Ok(DecodedAudio {
        samples: mono,
        sample_rate_hz,
        num_source_channels: num_channels.unwrap_or(1),
        num_non_finite,
    })
}
