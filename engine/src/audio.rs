//! Audio file input for the CLI and offline tools: decode (symphonia: WAV incl. float32, FLAC,
//! MP3, OGG-Vorbis), downmix to mono, resample (rubato) to the model rate. Not for the audio
//! thread: everything here allocates.

mod decode;
mod resample;
mod stream;

#[cfg(test)]
mod test_flac;
#[cfg(test)]
mod tests;

use std::path::Path;

pub use resample::{ChunkResampler, resample};
pub use stream::AudioReader;

use crate::Result;

/// The rate MuQ works at (24 kHz); audio for the models is resampled to it.
pub use crate::models::muq::MUQ_SAMPLE_RATE_HZ;

/// A decoded, mono-mixed signal.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedAudio {
    /// Mono samples (mean of the channels), non-finite values replaced by 0.
    pub samples: Vec<f32>,
    /// Sample rate of `samples`.
    pub sample_rate_hz: u32,
    /// Channels in the file before the downmix.
    pub num_source_channels: usize,
    /// Non-finite samples (NaN/±Inf) in the file that were replaced by 0 (counted per channel
    /// sample, before the downmix).
    pub num_non_finite: usize,
}

impl DecodedAudio {
    /// Duration in seconds.
    pub fn duration_s(&self) -> f64 {
        self.samples.len() as f64 / f64::from(self.sample_rate_hz.max(1))
    }
}

/// Decodes `path` and mixes it down to mono at the file's own sample rate.
///
/// Errors (with the path in the message) for missing, unreadable, empty, truncated or
/// unsupported files and for files without audio samples. Holds the whole signal: for long
/// files use [`AudioReader`].
pub fn load_mono(path: impl AsRef<Path>) -> Result<DecodedAudio> {
    read_all(AudioReader::open(path, None)?)
}

/// [`load_mono`] resampled to [`MUQ_SAMPLE_RATE_HZ`] (identity if already 24 kHz); equal to
/// [`resample()`] of [`load_mono`].
pub fn load_mono_24k(path: impl AsRef<Path>) -> Result<DecodedAudio> {
    read_all(AudioReader::open(path, Some(MUQ_SAMPLE_RATE_HZ))?)
}

fn read_all(mut reader: AudioReader) -> Result<DecodedAudio> {
    let mut samples = Vec::new();
    while reader.read_chunk(&mut samples)? {}
    Ok(DecodedAudio {
        samples,
        sample_rate_hz: reader.sample_rate_hz(),
        num_source_channels: reader.num_source_channels(),
        num_non_finite: reader.num_non_finite(),
    })
}
