//! Clip chopping of `MuQMuLan._get_all_clips` (muq-reference.md §6.2).
//!
//! Upstream: <https://github.com/tencent-ailab/MuQ/blob/main/src/muq/muq_mulan/muq_mulan.py>
//! (`_get_all_clips`). Full clips while they fit; a remainder becomes one more clip filled from
//! the START of the audio; audio shorter than a clip gives a single clip of `min(2 N, clip)`
//! samples (the filler slice clamps), never zero padding.

use std::ops::Range;

/// One clip as sample ranges of the original audio, concatenated in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClipPlan {
    /// Ranges into the audio; one range for a full clip, two for the wrapped last clip.
    pub ranges: Vec<Range<usize>>,
}

impl ClipPlan {
    /// Samples in this clip.
    pub fn num_samples(&self) -> usize {
        self.ranges.iter().map(|r| r.end - r.start).sum()
    }

    /// Copies the clip's samples out of `audio`.
    pub fn gather(&self, audio: &[f32]) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.num_samples());
        for r in &self.ranges {
            out.extend_from_slice(&audio[r.clone()]);
        }
        out
    }
}

/// The clips of `num_samples` of audio for clips of `clip_samples` (both > 0; empty audio gives
/// no clip).
// One-element `Vec<Range>`s are intended: a plain clip is a single range.
#[allow(clippy::single_range_in_vec_init)]
pub fn plan_clips(num_samples: usize, clip_samples: usize) -> Vec<ClipPlan> {
    if num_samples == 0 || clip_samples == 0 {
        return Vec::new();
    }
    let mut plans = Vec::new();
    let mut start = 0;
    while start + clip_samples <= num_samples {
        plans.push(ClipPlan {
            ranges: vec![start..start + clip_samples],
        });
        start += clip_samples;
    }
    if start < num_samples {
        let remaining = num_samples - start;
        // `audio[0 : delta - remaining]`, clamped to the audio length like a Python slice.
        let filler = (clip_samples - remaining).min(num_samples);
        let mut ranges = vec![start..num_samples];
        if filler > 0 {
            ranges.push(0..filler);
        }
        plans.push(ClipPlan { ranges });
    }
    plans
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_multiple_has_no_wrap() {
        let p = plan_clips(30, 10);
        assert_eq!(p.len(), 3);
        assert!(
            p.iter()
                .all(|c| c.ranges.len() == 1 && c.num_samples() == 10)
        );
    }

    #[test]
    fn remainder_wraps_to_start() {
        // The fixture case: 127 200 samples, 48 000 per clip.
        let p = plan_clips(127_200, 48_000);
        assert_eq!(p.len(), 3);
        assert_eq!(p[2].ranges, vec![96_000..127_200, 0..16_800]);
        assert_eq!(p[2].num_samples(), 48_000);
        let audio: Vec<f32> = (0..7).map(|i| i as f32).collect();
        let p = plan_clips(7, 5);
        assert_eq!(p[1].gather(&audio), vec![5.0, 6.0, 0.0, 1.0, 2.0]);
    }

    #[test]
    fn short_audio_gives_one_clip_of_min_2n_clip() {
        // input_short.wav: 16 800 samples -> one clip of 33 600.
        let p = plan_clips(16_800, 48_000);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].num_samples(), 33_600);
        // Between half a clip and a clip: filled up to exactly one clip.
        assert_eq!(plan_clips(30_000, 48_000)[0].num_samples(), 48_000);
        assert!(plan_clips(0, 48_000).is_empty());
    }
}
