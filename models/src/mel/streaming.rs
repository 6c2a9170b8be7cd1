//! Incremental mel frontend: push samples in chunks of any size, get the batch frames.

use super::MelConfig;
use super::analyzer::{FrameAnalyzer, MelKernel};
use crate::{Error, Result};

/// Streaming version of [`super::MelSpectrogram::mel_db`].
///
/// Frame `t` covers original samples `[t·hop − pad, t·hop − pad + n_fft)` (`pad = n_fft / 2`,
/// reflect padding where that range leaves the signal). It is emitted by [`Self::push`] as soon as
/// the samples up to `t·hop − pad + n_fft − 1` have arrived (and at least `pad + 1` samples, the
/// minimum reflect padding accepts); the start of the stream is reflect-padded like the batch.
/// Frames whose support runs past the end are emitted by [`Self::finish`] with the end reflect
/// padding.
///
/// Mapping to the batch: the streamed frames are exactly frames `0..N / hop` of the batch
/// [`super::MelSpectrogram::mel_db`] of the whole stream (N samples). torchaudio's final frame
/// (index `N / hop`, which MuQ drops) is never emitted, so the last-frame trim needs no special
/// handling. Frames emitted by `push` never depend on the end of the stream.
///
/// Memory: a bounded internal buffer of `2·n_fft + hop` samples plus one frame of scratch, all
/// allocated in the constructor; `push` and `finish` never allocate.
pub struct StreamingMel {
    /// FFT/mel work buffers. Written by `push`/`finish`.
    analyzer: FrameAnalyzer,
    /// Retained samples; `buf[0]` is absolute sample `buf_origin_idx`. Never grows past its capacity.
    buf: Vec<f32>,
    /// Absolute index of `buf[0]`. Advanced by compaction in `push`.
    buf_origin_idx: usize,
    /// Samples received since construction or the last `finish`/`reset`.
    num_received: usize,
    /// Index of the next frame to emit.
    next_frame_idx: usize,
    /// Output of the frame being emitted (`n_mels` values).
    frame_out: Vec<f32>,
    /// Non-finite samples replaced by 0 since construction (not reset by `finish`).
    num_non_finite: u64,
}

impl std::fmt::Debug for StreamingMel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamingMel")
            .field("cfg", &self.cfg())
            .field("num_received", &self.num_received)
            .field("next_frame_idx", &self.next_frame_idx)
            .field("num_non_finite", &self.num_non_finite)
            .finish_non_exhaustive()
    }
}

impl StreamingMel {
    /// Builds a streaming frontend for a known-good configuration such as [`MelConfig::muq`].
    /// Allocates; call off the audio thread.
    ///
    /// # Panics
    /// If `cfg` fails [`MelConfig::validate`]; use [`Self::try_new`] for configurations from files.
    pub fn new(cfg: MelConfig) -> Self {
        match Self::try_new(cfg) {
            Ok(mel) => mel,
            Err(err) => panic!("StreamingMel::new: {err}"),
        }
    }

    /// Builds a streaming frontend, rejecting an invalid configuration. Allocates.
    pub fn try_new(cfg: MelConfig) -> Result<Self> {
        cfg.validate()?;
        Ok(Self::from_kernel(MelKernel::new(cfg)))
    }

    pub(crate) fn from_kernel(kernel: MelKernel) -> Self {
        let cfg = kernel.cfg;
        let frame_out = vec![0.0; cfg.n_mels];
        Self {
            analyzer: FrameAnalyzer::new(kernel),
            buf: Vec::with_capacity(2 * cfg.n_fft + cfg.hop_length),
            buf_origin_idx: 0,
            num_received: 0,
            next_frame_idx: 0,
            frame_out,
            num_non_finite: 0,
        }
    }

    fn cfg(&self) -> MelConfig {
        self.analyzer.kernel().cfg
    }

    /// Samples between the centre of a frame and the moment it can be emitted (`n_fft - n_fft/2 - 1`
    /// samples after the centre sample arrives, i.e. `pad` samples for an even `n_fft`).
    pub fn latency_samples(&self) -> usize {
        let cfg = self.cfg();
        cfg.n_fft - cfg.pad_samples()
    }

    /// Non-finite samples replaced by 0 so far (never reset except by [`Self::reset_counters`]).
    pub fn num_non_finite(&self) -> u64 {
        self.num_non_finite
    }

    /// Resets the non-finite counter.
    pub fn reset_counters(&mut self) {
        self.num_non_finite = 0;
    }

    /// Samples pushed into the current stream.
    pub fn num_samples_received(&self) -> usize {
        self.num_received
    }

    /// Frames emitted in the current stream (= index of the next frame).
    pub fn num_frames_emitted(&self) -> usize {
        self.next_frame_idx
    }

    /// Forgets the current stream (keeps the non-finite counter). Real-time safe.
    pub fn reset(&mut self) {
        self.buf.clear();
        self.buf_origin_idx = 0;
        self.num_received = 0;
        self.next_frame_idx = 0;
    }

    /// Appends samples and calls `on_frame(frame_idx, mel_db)` for every frame that became
    /// complete, in order; returns how many. Non-finite samples are replaced by 0 and counted.
    /// Real-time safe: does not allocate.
    pub fn push(&mut self, samples: &[f32], mut on_frame: impl FnMut(usize, &[f32])) -> usize {
        let mut num_emitted = 0;
        let mut rest = samples;
        while !rest.is_empty() {
            if self.buf.len() == self.buf.capacity() {
                self.compact();
            }
            let take = rest.len().min(self.buf.capacity() - self.buf.len());
            let (chunk, tail) = rest.split_at(take);
            rest = tail;
            let mut num_bad = 0_u64;
            self.buf.extend(chunk.iter().map(|&x| {
                if x.is_finite() {
                    x
                } else {
                    num_bad += 1;
                    0.0
                }
            }));
            self.num_non_finite += num_bad;
            self.num_received += take;
            num_emitted += self.emit_ready(&mut on_frame);
        }
        num_emitted
    }

    /// Ends the stream: emits the remaining frames (with end reflect padding) up to the batch
    /// frame count `N / hop`, returns how many, and resets for a new stream. Errors if the stream
    /// had no more than `n_fft / 2` samples (too short for reflect padding). Does not allocate.
    pub fn finish(&mut self, mut on_frame: impl FnMut(usize, &[f32])) -> Result<usize> {
        let cfg = self.cfg();
        let num_samples = self.num_received;
        if num_samples < cfg.min_samples() {
            self.reset();
            return Err(Error::Audio(format!(
                "stream too short for the mel frontend: {num_samples} samples, need at least {}",
                cfg.min_samples()
            )));
        }
        let num_frames = cfg.num_frames(num_samples);
        let mut num_emitted = 0;
        while self.next_frame_idx < num_frames {
            self.fill_frame_reflected(Some(num_samples));
            self.analyze_and_emit(&mut on_frame);
            num_emitted += 1;
        }
        self.reset();
        Ok(num_emitted)
    }

    /// Emits every frame whose support lies inside the samples received so far.
    fn emit_ready(&mut self, on_frame: &mut impl FnMut(usize, &[f32])) -> usize {
        let cfg = self.cfg();
        let pad = cfg.pad_samples();
        let mut num_emitted = 0;
        loop {
            let centre_idx = self.next_frame_idx * cfg.hop_length;
            let support_end = centre_idx + cfg.n_fft - pad;
            if self.num_received < support_end.max(cfg.min_samples()) {
                return num_emitted;
            }
            if centre_idx >= pad {
                let start = centre_idx - pad - self.buf_origin_idx;
                let src = self.buf.get(start..start + cfg.n_fft);
                match src {
                    Some(src) => self.analyzer.input_mut().copy_from_slice(src),
                    None => self.fill_frame_reflected(None),
                }
            } else {
                self.fill_frame_reflected(None);
            }
            self.analyze_and_emit(on_frame);
            num_emitted += 1;
        }
    }

    /// Fills the analyzer input for `next_frame_idx` sample by sample, reflecting at the start
    /// and, when `end` is known (in `finish`), at the end of the signal.
    fn fill_frame_reflected(&mut self, end: Option<usize>) {
        let cfg = self.cfg();
        let first = (self.next_frame_idx * cfg.hop_length) as isize - cfg.pad_samples() as isize;
        let origin = self.buf_origin_idx as isize;
        let (buf, analyzer) = (&self.buf, &mut self.analyzer);
        for (k, dst) in analyzer.input_mut().iter_mut().enumerate() {
            let mut idx = first + k as isize;
            if idx < 0 {
                idx = -idx;
            }
            if let Some(n) = end {
                let n = n as isize;
                if idx >= n {
                    idx = 2 * n - 2 - idx;
                }
            }
            // The retained range always covers the support (see the type docs); 0 is a guard.
            *dst = usize::try_from(idx - origin)
                .ok()
                .and_then(|i| buf.get(i))
                .copied()
                .unwrap_or(0.0);
        }
    }

    fn analyze_and_emit(&mut self, on_frame: &mut impl FnMut(usize, &[f32])) {
        self.analyzer.analyze(&mut self.frame_out);
        on_frame(self.next_frame_idx, &self.frame_out);
        self.next_frame_idx += 1;
    }

    /// Drops the samples no future frame needs (before `next_frame·hop − pad`).
    fn compact(&mut self) {
        let cfg = self.cfg();
        let earliest = (self.next_frame_idx * cfg.hop_length).saturating_sub(cfg.pad_samples());
        let shift = earliest
            .saturating_sub(self.buf_origin_idx)
            .min(self.buf.len());
        self.buf.copy_within(shift.., 0);
        self.buf.truncate(self.buf.len() - shift);
        self.buf_origin_idx += shift;
    }
}

#[cfg(test)]
mod tests {
    use super::super::MelSpectrogram;
    use super::*;

    fn test_signal(num_samples: usize) -> Vec<f32> {
        let mut state = 0x1234_5678_u32;
        (0..num_samples)
            .map(|i| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let noise = (state >> 8) as f32 / (1 << 24) as f32 - 0.5;
                0.3 * (i as f32 * 0.031).sin() + 0.2 * (i as f32 * 0.2).sin() + 0.05 * noise
            })
            .collect()
    }

    fn stream_in_chunks(
        mel: &mut StreamingMel,
        wav: &[f32],
        sizes: &mut dyn FnMut() -> usize,
    ) -> Vec<f32> {
        let mut out = Vec::new();
        let mut expected_idx = 0;
        let mut collect = |idx: usize, frame: &[f32]| {
            assert_eq!(idx, expected_idx);
            expected_idx += 1;
            out.extend_from_slice(frame);
        };
        let mut pos = 0;
        while pos < wav.len() {
            let end = (pos + sizes().max(1)).min(wav.len());
            mel.push(&wav[pos..end], &mut collect);
            pos = end;
        }
        let finished = mel.finish(&mut collect);
        assert!(finished.is_ok(), "{finished:?}");
        out
    }

    fn assert_close(got: &[f32], expected: &[f32]) {
        assert_eq!(got.len(), expected.len());
        let worst = got
            .iter()
            .zip(expected)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0_f32, f32::max);
        assert!(worst <= 1e-5, "max |stream - batch| = {worst}");
    }

    #[test]
    fn chunked_equals_batch() {
        let cfg = MelConfig::muq();
        let batch = MelSpectrogram::new(cfg);
        let mut mel = batch.streaming();
        for num_samples in [1025, 2047, 3000, 24_000 + 17] {
            let wav = test_signal(num_samples);
            let expected = batch.mel_db(&wav).map(|f| f.data).unwrap_or_default();
            assert_eq!(expected.len(), cfg.num_frames(num_samples) * cfg.n_mels);
            for size in [1, 2, 3, 97, 240, 4096] {
                let got = stream_in_chunks(&mut mel, &wav, &mut || size);
                assert_close(&got, &expected);
            }
            let mut rng = 99_u32;
            let got = stream_in_chunks(&mut mel, &wav, &mut || {
                rng = rng.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                (rng >> 16) as usize % 700
            });
            assert_close(&got, &expected);
        }
    }

    #[test]
    fn frames_are_emitted_as_soon_as_supported() {
        let mut mel = StreamingMel::new(MelConfig::muq());
        let wav = test_signal(10_000);
        let mut count = 0;
        assert_eq!(mel.push(&wav[..1024], |_, _| count += 1), 0);
        assert_eq!(mel.push(&wav[1024..1025], |_, _| count += 1), 1); // frame 0 needs 1025
        assert_eq!(mel.push(&wav[1025..1263], |_, _| count += 1), 0);
        assert_eq!(mel.push(&wav[1263..1264], |_, _| count += 1), 1); // frame 1: 240 + 1024
        assert_eq!(count, 2);
        assert_eq!(mel.latency_samples(), 1024);
    }

    #[test]
    fn non_finite_samples_are_counted_not_propagated() {
        let cfg = MelConfig::muq();
        let mut mel = StreamingMel::new(cfg);
        let mut wav = test_signal(5000);
        wav[10] = f32::NAN;
        wav[3000] = f32::NEG_INFINITY;
        let mut all_finite = true;
        mel.push(&wav, |_, f| all_finite &= f.iter().all(|v| v.is_finite()));
        let tail = mel.finish(|_, f| all_finite &= f.iter().all(|v| v.is_finite()));
        assert!(tail.is_ok());
        assert!(all_finite);
        assert_eq!(mel.num_non_finite(), 2);
    }

    #[test]
    fn too_short_stream_errors_and_resets() {
        let mut mel = StreamingMel::new(MelConfig::muq());
        mel.push(&[0.1; 500], |_, _| {});
        assert!(mel.finish(|_, _| {}).is_err());
        assert_eq!(mel.num_samples_received(), 0);
    }
}
