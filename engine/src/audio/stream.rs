//! Reading an audio file incrementally (bounded memory for hour-long files): decode packet by
//! packet, downmix, resample chunk by chunk.

use std::path::Path;

use super::decode::{PacketSource, audio_err};
use super::resample::ChunkResampler;
use crate::Result;

/// An open audio file delivering mono samples at a chosen rate, a few thousand at a time.
/// Memory stays at one packet plus one resampler chunk, whatever the file length.
pub struct AudioReader {
    /// The decoder.
    source: PacketSource,
    /// `None` when the file is already at the target rate (or no target was asked for).
    resampler: Option<ChunkResampler>,
    /// Rate of the samples delivered.
    output_rate_hz: u32,
    /// Decoded samples awaiting resampling.
    scratch: Vec<f32>,
    /// Set once the end was reached and the resampler flushed.
    finished: bool,
}

impl AudioReader {
    /// Opens `path`; samples are delivered at `target_rate_hz` (resampled with
    /// [`super::resample()`]'s algorithm), or at the file's own rate for `None`.
    pub fn open(path: impl AsRef<Path>, target_rate_hz: Option<u32>) -> Result<Self> {
        let source = PacketSource::open(path.as_ref())?;
        let Some(source_rate_hz) = source.sample_rate_hz else {
            return Err(audio_err(
                source.path(),
                "the file does not declare its sample rate",
            ));
        };
        let output_rate_hz = target_rate_hz.unwrap_or(source_rate_hz);
        let resampler = if output_rate_hz == source_rate_hz {
            None
        } else {
            Some(ChunkResampler::new(source_rate_hz, output_rate_hz)?)
        };
        Ok(Self {
            source,
            resampler,
            output_rate_hz,
            scratch: Vec::new(),
            finished: false,
        })
    }

    /// Rate of the delivered samples.
    pub fn sample_rate_hz(&self) -> u32 {
        self.output_rate_hz
    }

    /// Rate of the file.
    pub fn source_sample_rate_hz(&self) -> u32 {
        self.source.sample_rate_hz.unwrap_or(self.output_rate_hz)
    }

    /// Channels in the file (before the downmix).
    pub fn num_source_channels(&self) -> usize {
        self.source.num_channels.unwrap_or(1)
    }

    /// Non-finite samples replaced by 0 so far.
    pub fn num_non_finite(&self) -> usize {
        self.source.num_non_finite
    }

    /// Appends the next samples to `out` (possibly none while the resampler fills up). Returns
    /// `false` once the file is exhausted and everything has been delivered. Errors for corrupt
    /// or truncated files (detected at the latest when the end is reached).
    pub fn read_chunk(&mut self, out: &mut Vec<f32>) -> Result<bool> {
        if self.finished {
            return Ok(false);
        }
        let Some(resampler) = &mut self.resampler else {
            let more = self.source.next_mono(out)?;
            self.finished = !more;
            return Ok(more);
        };
        self.scratch.clear();
        if self.source.next_mono(&mut self.scratch)? {
            resampler.push(&self.scratch, out)?;
        } else {
            resampler.finish(out)?;
            self.finished = true;
        }
        Ok(true)
    }
}
