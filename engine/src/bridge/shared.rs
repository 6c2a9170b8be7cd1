//! Counters the audio thread writes and the worker reads, shared by [`super::AudioTap`] and
//! [`super::WorkerFeed`].

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// Atomics shared by the two halves of the audio ring. Every access is `Relaxed`: each counter
/// is an independent statistic, and the ring itself orders the audio data.
#[derive(Debug, Default)]
pub(crate) struct TapShared {
    /// Mono samples the audio thread dropped because the ring was full. Written by the audio
    /// thread (`fetch_add`), read by the worker. Monotonic for the life of the ring.
    dropped_samples: AtomicU64,
    /// Mono samples pushed into the ring. Written by the audio thread, read by the worker.
    pushed_samples: AtomicU64,
    /// Largest absolute mono sample since the worker last took it, as `f32` bits. Written by the
    /// audio thread (`fetch_max`), reset to 0 by the worker (`swap`).
    peak_bits: AtomicU32,
}

impl TapShared {
    /// Audio thread: counts pushed and dropped samples and raises the peak. Wait-free.
    pub(crate) fn record_block(&self, num_pushed: usize, num_dropped: usize, peak_abs: f32) {
        if num_pushed > 0 {
            self.pushed_samples
                .fetch_add(num_pushed as u64, Ordering::Relaxed);
        }
        if num_dropped > 0 {
            self.dropped_samples
                .fetch_add(num_dropped as u64, Ordering::Relaxed);
        }
        // For non-negative finite floats the bit patterns order like the values, so an integer
        // max is a float max. NaN and infinity are clamped away by the caller.
        self.peak_bits
            .fetch_max(peak_abs.to_bits(), Ordering::Relaxed);
    }

    /// Total mono samples dropped because the ring was full.
    pub(crate) fn dropped_samples(&self) -> u64 {
        self.dropped_samples.load(Ordering::Relaxed)
    }

    /// Total mono samples pushed into the ring.
    pub(crate) fn pushed_samples(&self) -> u64 {
        self.pushed_samples.load(Ordering::Relaxed)
    }

    /// Worker: the peak since the previous call, resetting it to 0.
    pub(crate) fn take_peak(&self) -> f32 {
        f32::from_bits(self.peak_bits.swap(0, Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_is_a_float_max_and_take_resets_it() {
        let shared = TapShared::default();
        shared.record_block(4, 0, 0.25);
        shared.record_block(4, 2, 0.75);
        shared.record_block(4, 0, 0.5);
        assert_eq!(shared.take_peak(), 0.75);
        assert_eq!(shared.take_peak(), 0.0);
        assert_eq!(shared.pushed_samples(), 12);
        assert_eq!(shared.dropped_samples(), 2);
    }
}
