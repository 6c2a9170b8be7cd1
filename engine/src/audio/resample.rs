//! Sample-rate conversion with rubato: whole clips ([`resample`]) and chunk by chunk
//! ([`ChunkResampler`], used by the streaming file reader). Both run the same resampler with the
//! same chunking, so they give the same samples.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{
    Async, Fft, FixedAsync, FixedSync, Indexing, Resampler, SincInterpolationParameters,
    SincInterpolationType, WindowFunction,
};

use crate::{Error, Result};

/// Largest `rate / gcd(from, to)` for which the synchronous FFT resampler is used; beyond it (odd
/// rate pairs such as 44 101 Hz) the FFT sizes explode and an asynchronous sinc resampler is used.
const MAX_FFT_RATIO_TERM: usize = 4096;
/// Input chunk size for the resamplers.
const CHUNK_FRAMES: usize = 1024;

/// Resamples a mono clip from `from_hz` to `to_hz` (returns a copy when they are equal).
///
/// Uses rubato's synchronous FFT resampler (BlackmanHarris² anti-aliasing) for rational rate
/// pairs such as 44.1/48/16/22.05 kHz → 24 kHz, otherwise a 256-tap sinc resampler. The
/// resampler's delay is trimmed, so the output is aligned with the input and has
/// `ceil(len · to / from)` samples. Allocates.
pub fn resample(samples: &[f32], from_hz: u32, to_hz: u32) -> Result<Vec<f32>> {
    if from_hz == to_hz {
        check_rates(from_hz, to_hz)?;
        return Ok(samples.to_vec());
    }
    let mut out = Vec::with_capacity(
        (samples.len() as f64 * f64::from(to_hz) / f64::from(from_hz.max(1))) as usize + 16,
    );
    let mut resampler = ChunkResampler::new(from_hz, to_hz)?;
    resampler.push(samples, &mut out)?;
    resampler.finish(&mut out)?;
    Ok(out)
}

fn check_rates(from_hz: u32, to_hz: u32) -> Result<()> {
    if from_hz == 0 || to_hz == 0 {
        return Err(Error::Audio(format!(
            "invalid sample rates for resampling: {from_hz} Hz -> {to_hz} Hz"
        )));
    }
    Ok(())
}

fn resample_err(from_hz: u32, to_hz: u32, e: impl std::fmt::Display) -> Error {
    Error::Audio(format!("resampling {from_hz} -> {to_hz} Hz failed: {e}"))
}

/// Incremental mono resampler: push input of any length, get output as it becomes available,
/// then `finish` to flush the tail. The startup delay is trimmed and the total output is
/// `ceil(total_in · to / from)` samples. Allocates only while its input buffer grows.
pub struct ChunkResampler {
    /// The rubato resampler (fixed input chunk).
    inner: Box<dyn Resampler<f32>>,
    /// Rates, for messages and the output length.
    from_hz: u32,
    to_hz: u32,
    /// Input not yet processed (less than one chunk after each `push`).
    pending_in: Vec<f32>,
    /// One chunk of output.
    out_chunk: Vec<f32>,
    /// Output samples still to drop (resampler delay).
    delay_left: usize,
    /// Input samples pushed in total.
    total_in: u64,
    /// Output samples emitted in total.
    total_out: u64,
}

impl ChunkResampler {
    /// Builds the resampler for a rate pair (see [`resample`] for the choice of algorithm).
    pub fn new(from_hz: u32, to_hz: u32) -> Result<Self> {
        check_rates(from_hz, to_hz)?;
        let (from, to) = (from_hz as usize, to_hz as usize);
        let gcd = gcd(from, to);
        let construct_err = |e: rubato::ResamplerConstructionError| {
            Error::Audio(format!("resampler {from_hz} -> {to_hz} Hz: {e}"))
        };
        let inner: Box<dyn Resampler<f32>> =
            if from / gcd <= MAX_FFT_RATIO_TERM && to / gcd <= MAX_FFT_RATIO_TERM {
                Box::new(
                    Fft::<f32>::new(from, to, CHUNK_FRAMES, 1, FixedSync::Input)
                        .map_err(construct_err)?,
                )
            } else {
                let params = SincInterpolationParameters {
                    sinc_len: 256,
                    f_cutoff: Some(0.95),
                    interpolation: SincInterpolationType::Cubic,
                    oversampling_factor: 256,
                    window: WindowFunction::BlackmanHarris2,
                };
                let ratio = to as f64 / from as f64;
                Box::new(
                    Async::<f32>::new_sinc(ratio, 1.0, &params, CHUNK_FRAMES, 1, FixedAsync::Input)
                        .map_err(construct_err)?,
                )
            };
        let out_chunk = vec![0.0; inner.output_frames_max()];
        let delay_left = inner.output_delay();
        Ok(Self {
            inner,
            from_hz,
            to_hz,
            pending_in: Vec::with_capacity(2 * CHUNK_FRAMES),
            out_chunk,
            delay_left,
            total_in: 0,
            total_out: 0,
        })
    }

    /// Appends input and writes every complete output chunk to `out`.
    pub fn push(&mut self, samples: &[f32], out: &mut Vec<f32>) -> Result<()> {
        self.pending_in.extend_from_slice(samples);
        self.total_in += samples.len() as u64;
        let mut offset = 0;
        while self.pending_in.len() - offset >= self.inner.input_frames_next() {
            let indexing = Indexing::new().input_offset(offset);
            let num_in = self.process(Some(&indexing), out, None)?;
            offset += num_in;
        }
        self.pending_in.drain(..offset);
        Ok(())
    }

    /// Processes the remaining input and pads with silence until the full output length
    /// (`ceil(total_in · to / from)`) has been written to `out`.
    pub fn finish(&mut self, out: &mut Vec<f32>) -> Result<()> {
        let ratio = f64::from(self.to_hz) / f64::from(self.from_hz);
        let expected = (ratio * self.total_in as f64).ceil() as u64;
        if !self.pending_in.is_empty() {
            let indexing = Indexing::new().partial_len(self.pending_in.len());
            self.process(Some(&indexing), out, Some(expected))?;
            self.pending_in.clear();
        }
        let mut num_flushes = 0;
        while self.total_out < expected {
            let indexing = Indexing::new().partial_len(0);
            self.process(Some(&indexing), out, Some(expected))?;
            num_flushes += 1;
            if num_flushes > 1000 {
                return Err(resample_err(
                    self.from_hz,
                    self.to_hz,
                    "the resampler does not drain",
                ));
            }
        }
        Ok(())
    }

    /// One `process_into_buffer` call; appends the (delay-trimmed, capped) output to `out` and
    /// returns the input frames consumed.
    fn process(
        &mut self,
        indexing: Option<&Indexing>,
        out: &mut Vec<f32>,
        cap: Option<u64>,
    ) -> Result<usize> {
        let (from_hz, to_hz) = (self.from_hz, self.to_hz);
        let in_len = self.pending_in.len();
        let input = InterleavedSlice::new(&self.pending_in, 1, in_len)
            .map_err(|e| resample_err(from_hz, to_hz, e))?;
        let out_len = self.out_chunk.len();
        let mut output = InterleavedSlice::new_mut(&mut self.out_chunk, 1, out_len)
            .map_err(|e| resample_err(from_hz, to_hz, e))?;
        let (num_in, num_out) = self
            .inner
            .process_into_buffer(&input, &mut output, indexing)
            .map_err(|e| resample_err(from_hz, to_hz, e))?;
        let produced = &self.out_chunk[..num_out.min(out_len)];
        let skip = self.delay_left.min(produced.len());
        self.delay_left -= skip;
        let mut kept = &produced[skip..];
        if let Some(cap) = cap {
            let room = cap.saturating_sub(self.total_out) as usize;
            kept = &kept[..kept.len().min(room)];
        }
        out.extend_from_slice(kept);
        self.total_out += kept.len() as u64;
        Ok(num_in)
    }
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}
