//! Decoding with symphonia, packet by packet, with the mono downmix.

use std::fs::File;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{
    CODEC_TYPE_MP1, CODEC_TYPE_MP2, CODEC_TYPE_MP3, CODEC_TYPE_NULL, CODEC_TYPE_VORBIS, CodecType,
    Decoder, DecoderOptions,
};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

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

pub(super) fn audio_err(path: &Path, msg: impl std::fmt::Display) -> Error {
    Error::Audio(format!("{}: {msg}", path.display()))
}

/// An open audio file: container reader + decoder of its first audio track.
pub(super) struct PacketSource {
    /// The file, for messages.
    path: PathBuf,
    format: Box<dyn FormatReader>,
    decoder: Box<dyn Decoder>,
    track_id: u32,
    codec: CodecType,
    /// Frames the container declares (checked against what was decoded, to detect truncation).
    declared_frames: Option<u64>,
    /// Sample rate (from the track, or from the first decoded packet).
    pub sample_rate_hz: Option<u32>,
    /// Channels before the downmix.
    pub num_channels: Option<usize>,
    /// Interleaved conversion buffer, grown to the largest packet.
    interleaved: Option<SampleBuffer<f32>>,
    /// Frames decoded so far.
    pub num_frames_decoded: u64,
    /// Non-finite channel samples replaced by 0 so far.
    pub num_non_finite: usize,
}

impl PacketSource {
    /// Opens and probes `path`. Errors name the file and say what is wrong with it.
    pub fn open(path: &Path) -> Result<Self> {
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
        // symphonia's RIFF reader panics on some lying fmt chunks (bits per sample over 32, a
        // 0 Hz rate): a panic while probing is reported as a malformed header, not a crash.
        let probe = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            symphonia::default::get_probe().format(
                &hint,
                mss,
                &FormatOptions::default(),
                &MetadataOptions::default(),
            )
        }))
        .map_err(|_| audio_err(path, "malformed header (the decoder rejected it)"))?;
        let probed = probe.map_err(|e| {
            audio_err(
                path,
                format!("not a readable audio file (WAV, FLAC, MP3, OGG-Vorbis): {e}"),
            )
        })?;
        let format = probed.format;
        let track = format
            .tracks()
            .iter()
            .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
            .ok_or_else(|| audio_err(path, "no audio track"))?;
        let params = track.codec_params.clone();
        let decoder = symphonia::default::get_codecs()
            .make(&params, &DecoderOptions::default())
            .map_err(|e| audio_err(path, format!("unsupported codec: {e}")))?;
        Ok(Self {
            path: path.to_path_buf(),
            track_id: track.id,
            format,
            decoder,
            codec: params.codec,
            declared_frames: params.n_frames,
            sample_rate_hz: params.sample_rate.filter(|&r| r > 0),
            num_channels: params.channels.map(|c| c.count()),
            interleaved: None,
            num_frames_decoded: 0,
            num_non_finite: 0,
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Decodes the next packet of the track and appends its mono mix to `out`. Returns `false`
    /// at the end of the stream (after checking the file was not truncated).
    pub fn next_mono(&mut self, out: &mut Vec<f32>) -> Result<bool> {
        loop {
            let packet = match self.format.next_packet() {
                Ok(packet) => packet,
                Err(SymphoniaError::IoError(e)) if e.kind() == ErrorKind::UnexpectedEof => {
                    self.check_complete()?;
                    return Ok(false);
                }
                Err(e) => {
                    return Err(audio_err(
                        &self.path,
                        format!("cannot read the stream: {e}"),
                    ));
                }
            };
            if packet.track_id() != self.track_id {
                continue;
            }
            let decoded = match self.decoder.decode(&packet) {
                Ok(decoded) => decoded,
                Err(SymphoniaError::DecodeError(msg)) => {
                    return Err(audio_err(&self.path, format!("corrupt audio data: {msg}")));
                }
                Err(SymphoniaError::IoError(e)) if e.kind() == ErrorKind::UnexpectedEof => {
                    self.check_complete()?;
                    return Ok(false);
                }
                Err(e) => return Err(audio_err(&self.path, format!("decoding failed: {e}"))),
            };
            let spec = *decoded.spec();
            let channels = spec.channels.count();
            if channels == 0 || spec.rate == 0 {
                return Err(audio_err(
                    &self.path,
                    "the stream has 0 channels or a 0 Hz sample rate",
                ));
            }
            self.sample_rate_hz.get_or_insert(spec.rate);
            self.num_channels.get_or_insert(channels);
            let needed = decoded.capacity() as u64;
            let buf = match &mut self.interleaved {
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
                        self.num_non_finite += 1;
                    }
                }
                // One channel: copy exactly (no division), so float WAVs load bit-exactly.
                let mixed = if channels == 1 {
                    sum
                } else {
                    sum / channels as f32
                };
                // Near-full-range floats can overflow the sum: mix those frames pre-scaled.
                out.push(if mixed.is_finite() {
                    mixed
                } else {
                    frame
                        .iter()
                        .filter(|x| x.is_finite())
                        .map(|&x| x / channels as f32)
                        .sum()
                });
            }
            self.num_frames_decoded += (samples.len() / channels) as u64;
            return Ok(true);
        }
    }

    fn check_complete(&self) -> Result<()> {
        if self.num_frames_decoded == 0 {
            return Err(audio_err(&self.path, "the file contains no audio samples"));
        }
        if let Some(declared) = self.declared_frames
            && has_exact_frame_count(self.codec)
            && self.num_frames_decoded < declared
        {
            return Err(audio_err(
                &self.path,
                format!(
                    "truncated file: the header declares {declared} frames but only {} could be \
                     read",
                    self.num_frames_decoded
                ),
            ));
        }
        Ok(())
    }
}
