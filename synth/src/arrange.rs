//! Turns a [`ClipSpec`] into notes and drum hits: chord progressions, melodies over a bass line,
//! arpeggios and a drum groove, with seeded random choices.

use super::rng::SplitMix64;
use super::theory::{Chord, pitch_in_octave, progressions, scale, triad};
use super::timbre::{Drum, Timbre};
use super::{ClipSpec, Hit, Note, Style};
use muq_engine::heads::key::{Key, Mode};

/// Everything one clip plays.
pub(super) struct Arrangement {
    pub notes: Vec<Note>,
    pub hits: Vec<Hit>,
}

struct Grid {
    beat_s: f32,
    num_bars: usize,
    beats_per_chord: usize,
}

pub(super) fn arrange(spec: &ClipSpec) -> Arrangement {
    let mut rng = SplitMix64::new(spec.seed ^ 0x5EED_CAFE);
    let beat_s = 60.0 / spec.tempo_bpm;
    let beats_per_chord = if spec.tempo_bpm > 110.0 && rng.chance(0.5) {
        4
    } else {
        2 + 2 * rng.below(2)
    };
    let num_bars = (spec.duration_s / (4.0 * beat_s)).ceil() as usize + 1;
    let grid = Grid {
        beat_s,
        num_bars,
        beats_per_chord,
    };
    let all = progressions(spec.key.mode());
    let progression: &[usize] = rng.pick(all).copied().unwrap_or(&[0]);
    let num_chords = grid.num_bars * 4 / grid.beats_per_chord;
    let chords: Vec<Chord> = (0..num_chords)
        .map(|i| triad(spec.key.mode(), progression[i % progression.len()]))
        .collect();
    let mut out = Arrangement {
        notes: Vec::new(),
        hits: Vec::new(),
    };
    let key = spec.key;
    match spec.style {
        Style::Chords => {
            let timbre = *rng
                .pick(&[Timbre::Pad, Timbre::Organ, Timbre::EPiano])
                .unwrap_or(&Timbre::Pad);
            block_chords(&mut out, key, &chords, &grid, timbre, 0.7);
            bass_line(&mut out, key, &chords, &grid, &mut rng, false);
        }
        Style::MelodyBass => {
            let timbre = *rng
                .pick(&[Timbre::Reed, Timbre::EPiano, Timbre::Organ, Timbre::Pluck])
                .unwrap_or(&Timbre::Reed);
            melody(&mut out, key, &chords, &grid, &mut rng, timbre);
            bass_line(&mut out, key, &chords, &grid, &mut rng, true);
            if rng.chance(0.5) {
                block_chords(&mut out, key, &chords, &grid, Timbre::Pad, 0.25);
            }
        }
        Style::Arpeggio => {
            let timbre = *rng
                .pick(&[Timbre::Pluck, Timbre::EPiano, Timbre::Organ])
                .unwrap_or(&Timbre::Pluck);
            arpeggio(&mut out, key, &chords, &grid, &mut rng, timbre);
            bass_line(&mut out, key, &chords, &grid, &mut rng, false);
        }
        Style::Groove => {
            let timbre = *rng
                .pick(&[Timbre::Pluck, Timbre::Organ, Timbre::Reed])
                .unwrap_or(&Timbre::Pluck);
            stabs(&mut out, key, &chords, &grid, timbre);
            bass_line(&mut out, key, &chords, &grid, &mut rng, true);
            if rng.chance(0.5) {
                melody(&mut out, key, &chords, &grid, &mut rng, Timbre::EPiano);
            }
            drums(&mut out, &grid);
        }
    }
    out
}

fn chord_start_s(grid: &Grid, chord_idx: usize) -> f32 {
    chord_idx as f32 * grid.beats_per_chord as f32 * grid.beat_s
}

fn block_chords(
    out: &mut Arrangement,
    key: Key,
    chords: &[Chord],
    grid: &Grid,
    timbre: Timbre,
    velocity: f32,
) {
    let length_s = grid.beats_per_chord as f32 * grid.beat_s;
    for (idx, chord) in chords.iter().enumerate() {
        for &tone in &chord.tones {
            let pitch = pitch_in_octave(key, tone, 55);
            out.notes.push(Note {
                pitch_midi: pitch as f32,
                start_s: chord_start_s(grid, idx),
                duration_s: length_s * 0.95,
                velocity: velocity * 0.33,
                timbre,
            });
        }
    }
}

fn bass_line(
    out: &mut Arrangement,
    key: Key,
    chords: &[Chord],
    grid: &Grid,
    rng: &mut SplitMix64,
    busy: bool,
) {
    for (idx, chord) in chords.iter().enumerate() {
        let root = pitch_in_octave(key, chord.root(), 34);
        let start_s = chord_start_s(grid, idx);
        if busy {
            for beat in 0..grid.beats_per_chord {
                let fifth = beat % 2 == 1 && rng.chance(0.4);
                let pitch = if fifth {
                    pitch_in_octave(key, chord.tones[2], 34)
                } else {
                    root
                };
                out.notes.push(Note {
                    pitch_midi: pitch as f32,
                    start_s: start_s + beat as f32 * grid.beat_s,
                    duration_s: grid.beat_s * 0.8,
                    velocity: 0.45,
                    timbre: Timbre::Bass,
                });
            }
        } else {
            out.notes.push(Note {
                pitch_midi: root as f32,
                start_s,
                duration_s: grid.beats_per_chord as f32 * grid.beat_s * 0.9,
                velocity: 0.45,
                timbre: Timbre::Bass,
            });
        }
    }
}

/// Scale tones of the key that fit the chord: the minor key's raised 7th over V.
fn melody_scale(key: Key, chord: &Chord) -> [i32; 7] {
    let mut tones = scale(key.mode());
    if key.mode() == Mode::Minor && chord.root() == 7 {
        tones[6] = 11;
    }
    tones
}

fn melody(
    out: &mut Arrangement,
    key: Key,
    chords: &[Chord],
    grid: &Grid,
    rng: &mut SplitMix64,
    timbre: Timbre,
) {
    let mut degree: i32 = 7 + 2 * rng.below(2) as i32; // scale-step index, 7 = tonic an octave up
    for (idx, chord) in chords.iter().enumerate() {
        let tones = melody_scale(key, chord);
        let mut t_s = chord_start_s(grid, idx);
        let end_s = t_s + grid.beats_per_chord as f32 * grid.beat_s;
        let mut on_strong_beat = true;
        while t_s < end_s - 1e-3 {
            let length_s = if rng.chance(0.5) {
                grid.beat_s
            } else {
                grid.beat_s / 2.0
            };
            if on_strong_beat {
                // Land on the nearest chord tone.
                let chord_pcs: Vec<i32> = chord.tones.iter().map(|t| t.rem_euclid(12)).collect();
                let mut best = degree;
                for delta in [0, -1, 1, -2, 2] {
                    let candidate = degree + delta;
                    let pc = tones[candidate.rem_euclid(7) as usize];
                    if chord_pcs.contains(&pc) {
                        best = candidate;
                        break;
                    }
                }
                degree = best;
            } else {
                degree += *rng.pick(&[-2, -1, -1, 1, 1, 2]).unwrap_or(&1);
            }
            degree = degree.clamp(3, 13);
            let semitones = tones[degree.rem_euclid(7) as usize] + 12 * degree.div_euclid(7);
            let pitch = 60 + key.tonic_idx() as i32 % 12 - 12 + semitones;
            out.notes.push(Note {
                pitch_midi: pitch as f32,
                start_s: t_s,
                duration_s: length_s * 0.9,
                velocity: 0.35,
                timbre,
            });
            t_s += length_s;
            on_strong_beat = !on_strong_beat;
        }
    }
}

fn arpeggio(
    out: &mut Arrangement,
    key: Key,
    chords: &[Chord],
    grid: &Grid,
    rng: &mut SplitMix64,
    timbre: Timbre,
) {
    let steps_per_beat = 2 + 2 * rng.below(2);
    let step_s = grid.beat_s / steps_per_beat as f32;
    let up_down = rng.chance(0.5);
    for (idx, chord) in chords.iter().enumerate() {
        let base: Vec<i32> = chord
            .tones
            .iter()
            .map(|&t| pitch_in_octave(key, t, 55))
            .collect();
        let mut pattern: Vec<i32> = base
            .iter()
            .copied()
            .chain(base.iter().map(|p| p + 12))
            .collect();
        pattern.sort_unstable();
        if up_down {
            let down: Vec<i32> = pattern
                .iter()
                .rev()
                .skip(1)
                .take(pattern.len() - 2)
                .copied()
                .collect();
            pattern.extend(down);
        }
        let num_steps = grid.beats_per_chord * steps_per_beat;
        for step in 0..num_steps {
            out.notes.push(Note {
                pitch_midi: pattern[step % pattern.len()] as f32,
                start_s: chord_start_s(grid, idx) + step as f32 * step_s,
                duration_s: step_s * 1.5,
                velocity: 0.3,
                timbre,
            });
        }
    }
}

fn stabs(out: &mut Arrangement, key: Key, chords: &[Chord], grid: &Grid, timbre: Timbre) {
    for (idx, chord) in chords.iter().enumerate() {
        for beat in 0..grid.beats_per_chord {
            let start_s = chord_start_s(grid, idx) + (beat as f32 + 0.5) * grid.beat_s;
            for &tone in &chord.tones {
                out.notes.push(Note {
                    pitch_midi: pitch_in_octave(key, tone, 57) as f32,
                    start_s,
                    duration_s: grid.beat_s * 0.3,
                    velocity: 0.2,
                    timbre,
                });
            }
        }
    }
}

fn drums(out: &mut Arrangement, grid: &Grid) {
    let num_beats = grid.num_bars * 4;
    for beat in 0..num_beats {
        let t_s = beat as f32 * grid.beat_s;
        out.hits.push(Hit {
            drum: Drum::Kick,
            start_s: t_s,
            velocity: 0.6,
        });
        if beat % 2 == 1 {
            out.hits.push(Hit {
                drum: Drum::Snare,
                start_s: t_s,
                velocity: 0.35,
            });
        }
        out.hits.push(Hit {
            drum: Drum::HiHat,
            start_s: t_s + grid.beat_s / 2.0,
            velocity: 0.25,
        });
    }
}
