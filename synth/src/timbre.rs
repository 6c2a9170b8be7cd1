//! Instrument timbres: additive harmonic tones with per-harmonic decay, plus simple drums.
//! Every partial is kept below 0.45 × the sample rate, so nothing aliases.

use super::rng::SplitMix64;

/// The pitched timbres the synthesiser can play.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timbre {
    /// Sustained organ: harmonics 1..8 at 1/h.
    Organ,
    /// Reed / clarinet-like: odd harmonics only, strong third harmonic.
    Reed,
    /// Plucked string: bright attack, upper harmonics die faster.
    Pluck,
    /// Soft pad: slow attack and release, two detuned voices, dark spectrum.
    Pad,
    /// Electric-piano-like: few harmonics, decaying.
    EPiano,
    /// Bass: strong low harmonics, medium decay.
    Bass,
}

struct Shape {
    /// Amplitude of harmonic h (index h-1).
    harmonics: &'static [f32],
    attack_s: f32,
    release_s: f32,
    /// Decay time constant of the fundamental; harmonic h decays `h^decay_exponent` faster.
    decay_s: Option<f32>,
    decay_exponent: f32,
    /// Detune of a second voice (cents), 0 for a single voice.
    detune_cents: f32,
}

impl Timbre {
    fn shape(self) -> Shape {
        match self {
            Self::Organ => Shape {
                harmonics: &[1.0, 0.5, 0.33, 0.25, 0.2, 0.17, 0.14, 0.12],
                attack_s: 0.01,
                release_s: 0.05,
                decay_s: None,
                decay_exponent: 0.0,
                detune_cents: 0.0,
            },
            Self::Reed => Shape {
                harmonics: &[
                    1.0, 0.02, 0.45, 0.02, 0.25, 0.02, 0.14, 0.02, 0.11, 0.0, 0.09,
                ],
                attack_s: 0.03,
                release_s: 0.06,
                decay_s: None,
                decay_exponent: 0.0,
                detune_cents: 0.0,
            },
            Self::Pluck => Shape {
                harmonics: &[
                    1.0, 0.6, 0.4, 0.3, 0.22, 0.17, 0.13, 0.1, 0.08, 0.06, 0.05, 0.04,
                ],
                attack_s: 0.003,
                release_s: 0.08,
                decay_s: Some(1.2),
                decay_exponent: 0.7,
                detune_cents: 0.0,
            },
            Self::Pad => Shape {
                harmonics: &[1.0, 0.45, 0.25, 0.15, 0.1, 0.07, 0.05, 0.04],
                attack_s: 0.35,
                release_s: 0.5,
                decay_s: None,
                decay_exponent: 0.0,
                detune_cents: 9.0,
            },
            Self::EPiano => Shape {
                harmonics: &[1.0, 0.35, 0.12, 0.08, 0.05, 0.0, 0.04],
                attack_s: 0.004,
                release_s: 0.15,
                decay_s: Some(1.6),
                decay_exponent: 1.0,
                detune_cents: 0.0,
            },
            Self::Bass => Shape {
                harmonics: &[1.0, 0.75, 0.45, 0.3, 0.18, 0.1],
                attack_s: 0.005,
                release_s: 0.06,
                decay_s: Some(0.9),
                decay_exponent: 0.5,
                detune_cents: 0.0,
            },
        }
    }

    /// Seconds a note keeps sounding after its nominal end.
    pub fn release_s(self) -> f32 {
        self.shape().release_s
    }
}

/// Adds one note to `out` (which starts at the note's onset and is already cut to length).
/// `envelope` is scratch space (resized as needed).
pub(super) fn add_note(
    out: &mut [f32],
    envelope: &mut Vec<f32>,
    timbre: Timbre,
    freq_hz: f64,
    duration_s: f32,
    velocity: f32,
    sample_rate_hz: f64,
) {
    let shape = timbre.shape();
    envelope.clear();
    envelope.extend((0..out.len()).map(|i| {
        let t_s = (i as f64 / sample_rate_hz) as f32;
        let attack = (t_s / shape.attack_s).min(1.0);
        let release = if t_s > duration_s {
            (1.0 - (t_s - duration_s) / shape.release_s).max(0.0)
        } else {
            1.0
        };
        attack * release * velocity
    }));
    let voices: &[f64] = if shape.detune_cents > 0.0 {
        &[-1.0, 1.0]
    } else {
        &[0.0]
    };
    let voice_gain = 1.0 / voices.len() as f32;
    for &voice in voices {
        let voice_hz = freq_hz * 2f64.powf(voice * f64::from(shape.detune_cents) / 1200.0);
        for (h_idx, &amplitude) in shape.harmonics.iter().enumerate() {
            let h = (h_idx + 1) as f64;
            let partial_hz = voice_hz * h;
            if amplitude == 0.0 || partial_hz >= 0.45 * sample_rate_hz {
                continue;
            }
            let step = std::f64::consts::TAU * partial_hz / sample_rate_hz;
            let (step_sin, step_cos) = step.sin_cos();
            let (mut re, mut im) = (1.0f64, 0.0f64);
            let decay_per_sample = match shape.decay_s {
                Some(decay_s) => {
                    let tau_s = f64::from(decay_s) / h.powf(f64::from(shape.decay_exponent));
                    (-1.0 / (tau_s * sample_rate_hz)).exp()
                }
                None => 1.0,
            };
            let mut gain = f64::from(amplitude * voice_gain);
            for (sample, &env) in out.iter_mut().zip(envelope.iter()) {
                *sample += (gain * im) as f32 * env;
                (re, im) = (re * step_cos - im * step_sin, re * step_sin + im * step_cos);
                gain *= decay_per_sample;
            }
        }
    }
}

/// Unpitched drum sounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Drum {
    /// Sine sweep from ~110 Hz down to ~45 Hz.
    Kick,
    /// Noise burst plus a 190 Hz body.
    Snare,
    /// Short, bright noise tick.
    HiHat,
}

/// Adds one drum hit to `out` (starting at the hit).
pub(super) fn add_drum(
    out: &mut [f32],
    drum: Drum,
    velocity: f32,
    sample_rate_hz: f64,
    rng: &mut SplitMix64,
) {
    let mut phase = 0.0f64;
    let mut previous_noise = 0.0f32;
    for (i, sample) in out.iter_mut().enumerate() {
        let t_s = i as f64 / sample_rate_hz;
        let value = match drum {
            Drum::Kick => {
                let freq_hz = 45.0 + 65.0 * (-t_s / 0.04).exp();
                phase += std::f64::consts::TAU * freq_hz / sample_rate_hz;
                (phase.sin() * (-t_s / 0.18).exp()) as f32
            }
            Drum::Snare => {
                let noise = rng.uniform(-1.0, 1.0);
                phase += std::f64::consts::TAU * 190.0 / sample_rate_hz;
                let body = (phase.sin() * (-t_s / 0.05).exp()) as f32;
                0.6 * noise * (-t_s / 0.09).exp() as f32 + 0.4 * body
            }
            Drum::HiHat => {
                let noise = rng.uniform(-1.0, 1.0);
                let bright = noise - previous_noise; // first difference: a crude high-pass
                previous_noise = noise;
                0.5 * bright * (-t_s / 0.03).exp() as f32
            }
        };
        *sample += value * velocity;
    }
}

/// How long a drum hit rings, in seconds.
pub(super) fn drum_length_s(drum: Drum) -> f32 {
    match drum {
        Drum::Kick => 0.6,
        Drum::Snare => 0.4,
        Drum::HiHat => 0.15,
    }
}
