//! The channels between the plugin's threads, each built by one constructor that returns both
//! halves (as `rtrb::RingBuffer::new` does):
//!
//! - [`new`]: the audio ring, `(AudioTap, WorkerFeed)`. The DAW's audio thread owns the
//!   [`AudioTap`]; the analysis worker owns the [`WorkerFeed`].
//! - [`snapshot::channel`]: the worker publishes [`EngineSnapshot`]s, the editor reads them.
//! - [`command::channel`]: the editor sends [`Command`]s, the worker applies them.
//!
//! Nothing here knows about candle, nice-plug or egui: the audio side holds only a
//! preallocated ring producer and atomics.

mod command;
mod feed;
mod shared;
mod snapshot;
mod tap;

pub use command::{Command, CommandReceiver, CommandSender, channel as command_channel};
pub use feed::WorkerFeed;
pub use snapshot::{
    EngineSnapshot, SnapshotReader, SnapshotWriter, WorkerState, channel as snapshot_channel,
};
pub use tap::AudioTap;

use crate::{Error, Result};
use shared::TapShared;
use std::sync::Arc;

/// Seconds of audio the ring must hold at the activated sample rate (design: at least 20 s).
pub const RING_SECONDS: f32 = 20.0;

/// Largest ring the bridge will allocate (20 s at 768 kHz), so that a nonsense sample rate from a
/// host gives a clear error instead of an enormous allocation.
pub const MAX_RING_CAPACITY_SAMPLES: usize = 20 * 768_000;

/// Highest rate the ring is sized for: above it the ring holds [`MAX_RING_CAPACITY_SAMPLES`]
/// (less than [`RING_SECONDS`]), which is harmless because the analysis does not run at such
/// rates (it reports the rate as unsupported) while the audio still passes through.
pub const MAX_RING_RATE_HZ: f32 = 768_000.0;

/// The ring capacity, in mono samples, that holds [`RING_SECONDS`] at `sample_rate_hz`, capped
/// at [`MAX_RING_CAPACITY_SAMPLES`] (rates above [`MAX_RING_RATE_HZ`]).
///
/// Errors only when the sample rate is not a finite positive number.
pub fn ring_capacity_for(sample_rate_hz: f32) -> Result<usize> {
    if !sample_rate_hz.is_finite() || sample_rate_hz <= 0.0 {
        return Err(Error::Audio(format!(
            "sample rate must be a positive number of Hz, got {sample_rate_hz}"
        )));
    }
    let num_samples = (f64::from(sample_rate_hz) * f64::from(RING_SECONDS)).ceil();
    Ok((num_samples as usize).clamp(1, MAX_RING_CAPACITY_SAMPLES))
}

/// Creates the audio ring: the audio-thread half and the worker half.
///
/// Allocates `capacity_samples` mono samples up front. Call it from `activate()`, never from the
/// audio thread. Errors when `capacity_samples` is 0 or above [`MAX_RING_CAPACITY_SAMPLES`].
pub fn new(capacity_samples: usize) -> Result<(AudioTap, WorkerFeed)> {
    if capacity_samples == 0 || capacity_samples > MAX_RING_CAPACITY_SAMPLES {
        return Err(Error::Audio(format!(
            "ring capacity must be between 1 and {MAX_RING_CAPACITY_SAMPLES} samples, got \
             {capacity_samples}"
        )));
    }
    let (producer, consumer) = rtrb::RingBuffer::new(capacity_samples);
    let shared = Arc::new(TapShared::default());
    Ok((
        AudioTap::new(producer, Arc::clone(&shared)),
        WorkerFeed::new(consumer, shared),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_capacity_covers_twenty_seconds() -> Result<()> {
        for sample_rate_hz in [44_100.0_f32, 48_000.0, 96_000.0] {
            let capacity = ring_capacity_for(sample_rate_hz)?;
            assert!(capacity as f32 >= RING_SECONDS * sample_rate_hz);
            assert!((capacity as f32) < RING_SECONDS * sample_rate_hz + 2.0);
        }
        Ok(())
    }

    #[test]
    fn any_positive_rate_gets_a_ring_capped_in_size() -> Result<()> {
        for sample_rate_hz in [8_000.0_f32, 1_234_567.8, 1.0e9, 1.0e-3] {
            let capacity = ring_capacity_for(sample_rate_hz)?;
            assert!(
                (1..=MAX_RING_CAPACITY_SAMPLES).contains(&capacity),
                "{sample_rate_hz}"
            );
        }
        assert_eq!(ring_capacity_for(1_234_567.8)?, MAX_RING_CAPACITY_SAMPLES);
        Ok(())
    }

    #[test]
    fn bad_sample_rates_and_capacities_are_errors() {
        for sample_rate_hz in [0.0_f32, -1.0, f32::NAN, f32::INFINITY] {
            assert!(
                ring_capacity_for(sample_rate_hz).is_err(),
                "{sample_rate_hz}"
            );
        }
        assert!(new(0).is_err());
        assert!(new(MAX_RING_CAPACITY_SAMPLES + 1).is_err());
    }
}
