//! A deterministic music synthesiser for tests and benchmarks: chord progressions, melodies
//! over a bass line, arpeggios and drum grooves in any of the 24 keys, with a few timbres
//! (additive organ and reed tones, decaying plucks and electric piano, detuned pads), any tempo,
//! any tuning, seeded randomness. Pure Rust; renders f32 mono at any sample rate.
//!
//! ```
//! use muq_engine::heads::key::{Key, Mode};
//! use muq_synth::{ClipSpec, Style, render_clip};
//! let spec = ClipSpec::new(Key::new(6, Mode::Minor), Style::Arpeggio, 7);
//! let samples = render_clip(&spec, 16_000).unwrap();
//! assert_eq!(samples.len(), (spec.duration_s * 16_000.0) as usize);
//! ```

pub mod arrange;
pub mod rng;
pub mod theory;
pub mod timbre;

pub use timbre::{Drum, Timbre};

use muq_engine::heads::key::Key;
use muq_engine::{Error, Result};
use rng::SplitMix64;

/// A pitched note.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Note {
    /// MIDI pitch (69 = A4 = 440 Hz before the clip's tuning offset); fractions allowed.
    pub pitch_midi: f32,
    /// Onset in seconds from the clip start.
    pub start_s: f32,
    /// Nominal length in seconds (the release tail follows).
    pub duration_s: f32,
    /// Linear gain, about 0..1.
    pub velocity: f32,
    /// Instrument.
    pub timbre: Timbre,
}

/// A drum hit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    /// Which drum.
    pub drum: Drum,
    /// Onset in seconds from the clip start.
    pub start_s: f32,
    /// Linear gain, about 0..1.
    pub velocity: f32,
}

/// Musical texture of a clip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Style {
    /// Sustained block chords over a bass line.
    Chords,
    /// A melody over a walking root/fifth bass, sometimes with a soft pad.
    MelodyBass,
    /// Broken chords (8ths or 16ths, up or up-down) over a bass line.
    Arpeggio,
    /// Off-beat chord stabs, busy bass, drums, sometimes a melody.
    Groove,
}

impl Style {
    /// Every style.
    pub const ALL: [Style; 4] = [Self::Chords, Self::MelodyBass, Self::Arpeggio, Self::Groove];

    /// Lower-case name, e.g. `"melody_bass"`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Chords => "chords",
            Self::MelodyBass => "melody_bass",
            Self::Arpeggio => "arpeggio",
            Self::Groove => "groove",
        }
    }
}

/// Everything that defines one rendered clip.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClipSpec {
    /// Key the clip is written in.
    pub key: Key,
    /// Texture.
    pub style: Style,
    /// Tempo in beats per minute.
    pub tempo_bpm: f32,
    /// Length in seconds.
    pub duration_s: f32,
    /// Detuning of every pitch from A = 440 Hz, in cents.
    pub tuning_cents: f32,
    /// Seed of every random choice (progression, timbres, melody, rhythm).
    pub seed: u64,
}

impl ClipSpec {
    /// A 12 s clip at 120 BPM in standard tuning.
    pub fn new(key: Key, style: Style, seed: u64) -> Self {
        Self {
            key,
            style,
            tempo_bpm: 120.0,
            duration_s: 12.0,
            tuning_cents: 0.0,
            seed,
        }
    }

    /// File-friendly identifier, e.g. `"017_F#_minor_groove"`.
    pub fn file_stem(&self, idx: usize) -> String {
        format!(
            "{idx:03}_{}_{}",
            self.key.name().replace(' ', "_"),
            self.style.name()
        )
    }
}

/// A test corpus: every key × every style × `clips_per_key_and_style`, each `duration_s` long,
/// with tempo 80–140 BPM and tuning within ±`max_detune_cents` drawn from `seed`.
pub fn key_corpus(
    clips_per_key_and_style: usize,
    duration_s: f32,
    max_detune_cents: f32,
    seed: u64,
) -> Vec<ClipSpec> {
    let mut rng = SplitMix64::new(seed);
    let mut specs = Vec::with_capacity(24 * Style::ALL.len() * clips_per_key_and_style);
    for variant in 0..clips_per_key_and_style {
        for style in Style::ALL {
            for key in Key::all() {
                specs.push(ClipSpec {
                    key,
                    style,
                    tempo_bpm: rng.uniform(80.0, 140.0).round(),
                    duration_s,
                    tuning_cents: rng.uniform(-max_detune_cents, max_detune_cents),
                    seed: rng.next_u64() ^ variant as u64,
                });
            }
        }
    }
    specs
}

/// Renders a clip as mono f32 at `sample_rate_hz`, peak-normalised to 0.8.
pub fn render_clip(spec: &ClipSpec, sample_rate_hz: u32) -> Result<Vec<f32>> {
    if !(spec.tempo_bpm >= 20.0 && spec.tempo_bpm <= 400.0) {
        return Err(Error::Audio(format!(
            "synth: tempo {} BPM is outside 20..=400",
            spec.tempo_bpm
        )));
    }
    let arrangement = arrange::arrange(spec);
    render(
        &arrangement.notes,
        &arrangement.hits,
        spec.duration_s,
        spec.tuning_cents,
        spec.seed,
        sample_rate_hz,
    )
}

/// Renders notes and drum hits as mono f32 at `sample_rate_hz`, `duration_s` long,
/// peak-normalised to 0.8 (silence stays silence).
pub fn render(
    notes: &[Note],
    hits: &[Hit],
    duration_s: f32,
    tuning_cents: f32,
    seed: u64,
    sample_rate_hz: u32,
) -> Result<Vec<f32>> {
    if !(1_000..=1_000_000).contains(&sample_rate_hz) {
        return Err(Error::Audio(format!(
            "synth: sample rate {sample_rate_hz} Hz is outside 1 kHz..=1 MHz"
        )));
    }
    if !(duration_s > 0.0 && duration_s <= 3_600.0) || !tuning_cents.is_finite() {
        return Err(Error::Audio(format!(
            "synth: duration {duration_s} s must be in (0, 3600] and tuning finite"
        )));
    }
    let sample_rate = f64::from(sample_rate_hz);
    // duration_s <= 3600 and sample rate <= 1 MHz: fits usize.
    let num_samples = (f64::from(duration_s) * sample_rate).round() as usize;
    let mut out = vec![0.0f32; num_samples];
    let mut envelope = Vec::new();
    let to_idx =
        |t_s: f32| ((f64::from(t_s.max(0.0)) * sample_rate).round() as usize).min(num_samples);
    for note in notes {
        if !(note.pitch_midi.is_finite() && note.duration_s > 0.0 && note.velocity.is_finite()) {
            return Err(Error::Audio(format!("synth: invalid note {note:?}")));
        }
        let start = to_idx(note.start_s);
        let end = to_idx(note.start_s + note.duration_s + note.timbre.release_s());
        let freq_hz = 440.0
            * 2f64
                .powf((f64::from(note.pitch_midi) - 69.0 + f64::from(tuning_cents) / 100.0) / 12.0);
        timbre::add_note(
            &mut out[start..end],
            &mut envelope,
            note.timbre,
            freq_hz,
            note.duration_s,
            note.velocity,
            sample_rate,
        );
    }
    let mut rng = SplitMix64::new(seed ^ 0xD2D2);
    for hit in hits {
        let start = to_idx(hit.start_s);
        let end = to_idx(hit.start_s + timbre::drum_length_s(hit.drum));
        timbre::add_drum(
            &mut out[start..end],
            hit.drum,
            hit.velocity,
            sample_rate,
            &mut rng,
        );
    }
    let peak = out.iter().fold(0.0f32, |acc, &v| acc.max(v.abs()));
    if peak > 0.0 {
        let gain = 0.8 / peak;
        out.iter_mut().for_each(|v| *v *= gain);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use muq_engine::heads::key::Mode;

    #[test]
    fn rendering_is_deterministic_and_finite() -> Result<()> {
        let spec = ClipSpec {
            duration_s: 3.0,
            ..ClipSpec::new(Key::new(2, Mode::Major), Style::Groove, 5)
        };
        let a = render_clip(&spec, 16_000)?;
        let b = render_clip(&spec, 16_000)?;
        assert_eq!(a, b);
        assert_eq!(a.len(), 48_000);
        assert!(a.iter().all(|v| v.is_finite() && v.abs() <= 0.8 + 1e-6));
        let peak = a.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!((peak - 0.8).abs() < 1e-4);
        let other = render_clip(&ClipSpec { seed: 6, ..spec }, 16_000)?;
        assert_ne!(a, other);
        Ok(())
    }

    #[test]
    fn a_single_note_has_its_pitch() -> Result<()> {
        let note = Note {
            pitch_midi: 69.0,
            start_s: 0.0,
            duration_s: 1.0,
            velocity: 1.0,
            timbre: Timbre::Organ,
        };
        let sample_rate_hz = 8_000;
        let samples = render(&[note], &[], 1.0, 0.0, 0, sample_rate_hz)?;
        // Count upward zero crossings over the steady part: ~440 per second.
        let steady = &samples[800..7_200];
        let crossings = steady
            .windows(2)
            .filter(|w| w[0] < 0.0 && w[1] >= 0.0)
            .count();
        let freq_hz = crossings as f32 / 0.8;
        assert!((freq_hz - 440.0).abs() < 10.0, "{freq_hz}");
        Ok(())
    }

    #[test]
    fn bad_arguments_are_errors() {
        let spec = ClipSpec::new(Key::new(0, Mode::Major), Style::Chords, 1);
        assert!(render_clip(&spec, 0).is_err());
        assert!(
            render_clip(
                &ClipSpec {
                    duration_s: -1.0,
                    ..spec
                },
                16_000
            )
            .is_err()
        );
        assert!(
            render_clip(
                &ClipSpec {
                    tempo_bpm: f32::NAN,
                    ..spec
                },
                16_000
            )
            .is_err()
        );
        let bad = Note {
            pitch_midi: f32::NAN,
            start_s: 0.0,
            duration_s: 1.0,
            velocity: 1.0,
            timbre: Timbre::Pad,
        };
        assert!(render(&[bad], &[], 1.0, 0.0, 0, 16_000).is_err());
    }

    #[test]
    fn corpus_covers_every_key_and_style() {
        let specs = key_corpus(2, 10.0, 30.0, 1);
        assert_eq!(specs.len(), 192);
        for key in Key::all() {
            for style in Style::ALL {
                assert_eq!(
                    specs
                        .iter()
                        .filter(|s| s.key == key && s.style == style)
                        .count(),
                    2
                );
            }
        }
        assert!(
            specs
                .iter()
                .all(|s| (80.0..=140.0).contains(&s.tempo_bpm) && s.tuning_cents.abs() <= 30.0)
        );
    }
}
