//! The audio-thread half of the audio ring.

use super::shared::TapShared;
use std::sync::Arc;

/// What the DAW's audio thread holds: it downmixes each block to mono and pushes it to the
/// worker. Created by [`super::new`] in `activate()`, dropped in `deactivate()` (never on the
/// audio thread).
///
/// Every method is real-time safe: it does not allocate, lock, block, log or make syscalls.
pub struct AudioTap {
    /// The ring's write end. Written by the audio thread only; the worker owns the read end.
    producer: rtrb::Producer<f32>,
    /// Counters shared with the worker's [`super::WorkerFeed`].
    shared: Arc<TapShared>,
}

impl AudioTap {
    pub(super) fn new(producer: rtrb::Producer<f32>, shared: Arc<TapShared>) -> Self {
        Self { producer, shared }
    }

    /// Downmixes one block (one slice per channel, mean of the channels) and pushes it into the
    /// ring. Samples that do not fit are dropped and counted; the call never waits.
    ///
    /// The block's length is that of its shortest channel; a block with no channels pushes
    /// nothing. The downmix is written straight into the ring's free slots, so no scratch buffer
    /// is needed and any block size works. Returns the number of samples pushed.
    ///
    /// Real-time safe: does not allocate, lock or block.
    pub fn push_block<C: AsRef<[f32]>>(&mut self, channels: &[C]) -> usize {
        let Some(num_frames) = channels.iter().map(|c| c.as_ref().len()).min() else {
            return 0;
        };
        let num_pushed = num_frames.min(self.producer.slots());
        let mut peak_abs = 0.0_f32;
        let mut raise_peak = |value: f32| {
            // NaN compares false and so never becomes the peak.
            if value.abs() > peak_abs {
                peak_abs = value.abs();
            }
            value
        };
        let mono = (0..num_frames).map(|frame_idx| raise_peak(mono_sample(channels, frame_idx)));
        let num_written = match self.producer.write_chunk_uninit(num_pushed) {
            Ok(chunk) => chunk.fill_from_iter(mono),
            // Cannot happen (we asked for at most `slots()`), but a lost block is only counted.
            Err(_) => 0,
        };
        // Samples that did not fit still count towards the peak: it measures the input.
        for frame_idx in num_written..num_frames {
            raise_peak(mono_sample(channels, frame_idx));
        }
        self.shared
            .record_block(num_written, num_frames - num_written, peak_abs);
        num_written
    }

    /// The ring's capacity in mono samples.
    pub fn capacity_samples(&self) -> usize {
        self.producer.buffer().capacity()
    }

    /// Total mono samples dropped so far because the ring was full. Real-time safe.
    pub fn dropped_samples(&self) -> u64 {
        self.shared.dropped_samples()
    }
}

/// The mono downmix of one frame: the mean of the channels (a single channel is copied exactly).
/// `frame_idx` must be below every channel's length.
#[inline]
fn mono_sample<C: AsRef<[f32]>>(channels: &[C], frame_idx: usize) -> f32 {
    match channels {
        [only] => only.as_ref()[frame_idx],
        _ => {
            let sum: f32 = channels.iter().map(|c| c.as_ref()[frame_idx]).sum();
            sum / channels.len() as f32
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::new;
    use crate::Result;

    #[test]
    fn stereo_is_averaged_and_mono_is_copied_exactly() -> Result<()> {
        let (mut tap, mut feed) = new(16)?;
        let left = [1.0_f32, 0.5, -1.0];
        let right = [0.0_f32, 0.5, 1.0];
        assert_eq!(tap.push_block(&[&left[..], &right[..]]), 3);
        let mono = [0.1_f32, -0.7];
        assert_eq!(tap.push_block(&[&mono[..]]), 2);
        let mut out = vec![0.0; 8];
        let num_read = feed.pop_into(&mut out);
        assert_eq!(&out[..num_read], &[0.5, 0.5, 0.0, 0.1, -0.7]);
        Ok(())
    }

    #[test]
    fn full_ring_drops_and_counts() -> Result<()> {
        let (mut tap, mut feed) = new(10)?;
        let block = [0.25_f32; 7];
        assert_eq!(tap.push_block(&[&block[..]]), 7);
        assert_eq!(tap.push_block(&[&block[..]]), 3);
        assert_eq!(tap.push_block(&[&block[..]]), 0);
        assert_eq!(tap.dropped_samples(), 4 + 7);
        assert_eq!(feed.dropped_samples(), 11);
        assert_eq!(feed.pushed_samples(), 10);
        assert_eq!(feed.fill_samples(), 10);
        let mut out = vec![0.0; 4];
        assert_eq!(feed.pop_into(&mut out), 4);
        assert_eq!(tap.push_block(&[&block[..]]), 4);
        Ok(())
    }

    #[test]
    fn ragged_and_empty_blocks_are_safe() -> Result<()> {
        let (mut tap, feed) = new(8)?;
        let long = [0.5_f32; 5];
        let short = [0.5_f32; 2];
        assert_eq!(tap.push_block(&[&long[..], &short[..]]), 2);
        let none: [&[f32]; 0] = [];
        assert_eq!(tap.push_block(&none), 0);
        assert_eq!(feed.fill_samples(), 2);
        Ok(())
    }

    #[test]
    fn peak_tracks_largest_absolute_sample_and_ignores_nan() -> Result<()> {
        let (mut tap, feed) = new(8)?;
        tap.push_block(&[&[0.1_f32, -0.8, f32::NAN, 0.3][..]]);
        assert_eq!(feed.take_peak(), 0.8);
        assert_eq!(feed.take_peak(), 0.0);
        Ok(())
    }
}
