//! The MIREX weighted key score: 1 for the correct key, 0.5 for the key a perfect fifth above
//! (same mode), 0.3 for the relative key, 0.2 for the parallel key, 0 otherwise.
//!
//! This follows `mir_eval.key.weighted_score` (mir_eval 0.7, default
//! `allow_descending_fifths=False`): only the fifth *above* the reference earns 0.5.
//! <https://github.com/craffel/mir_eval/blob/main/mir_eval/key.py>

use super::camelot::{Key, Mode};

/// How an estimated key relates to the reference key, in MIREX terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyRelation {
    /// Same tonic and mode.
    Correct,
    /// Same mode, tonic a perfect fifth above the reference.
    Fifth,
    /// Relative major/minor (shares the key signature).
    Relative,
    /// Same tonic, other mode.
    Parallel,
    /// Anything else, or no estimate.
    Other,
}

impl KeyRelation {
    /// Classifies `estimated` against `reference`; `None` (no key) is [`KeyRelation::Other`].
    pub fn classify(estimated: Option<Key>, reference: Key) -> Self {
        let Some(estimated) = estimated else {
            return Self::Other;
        };
        let interval = (estimated.tonic_idx() + 12 - reference.tonic_idx()) % 12;
        let same_mode = estimated.mode() == reference.mode();
        match (same_mode, interval, reference.mode()) {
            (true, 0, _) => Self::Correct,
            (true, 7, _) => Self::Fifth,
            (false, 9, Mode::Major) | (false, 3, Mode::Minor) => Self::Relative,
            (false, 0, _) => Self::Parallel,
            _ => Self::Other,
        }
    }

    /// The MIREX weight of this relation.
    pub fn weight(self) -> f64 {
        match self {
            Self::Correct => 1.0,
            Self::Fifth => 0.5,
            Self::Relative => 0.3,
            Self::Parallel => 0.2,
            Self::Other => 0.0,
        }
    }
}

/// MIREX weighted score of one estimate against its reference key.
pub fn mirex_score(estimated: Option<Key>, reference: Key) -> f64 {
    KeyRelation::classify(estimated, reference).weight()
}

/// Running tally of MIREX results over a corpus.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MirexTally {
    /// Number of estimates per relation: correct, fifth, relative, parallel, other.
    pub num_by_relation: [usize; 5],
}

impl MirexTally {
    /// Adds one estimate.
    pub fn add(&mut self, estimated: Option<Key>, reference: Key) {
        let slot = match KeyRelation::classify(estimated, reference) {
            KeyRelation::Correct => 0,
            KeyRelation::Fifth => 1,
            KeyRelation::Relative => 2,
            KeyRelation::Parallel => 3,
            KeyRelation::Other => 4,
        };
        self.num_by_relation[slot] += 1;
    }

    /// Number of estimates added.
    pub fn num_items(&self) -> usize {
        self.num_by_relation.iter().sum()
    }

    /// Mean MIREX weighted score, 0 when empty.
    pub fn score(&self) -> f64 {
        let num_items = self.num_items();
        if num_items == 0 {
            return 0.0;
        }
        let weights = [1.0, 0.5, 0.3, 0.2, 0.0];
        let total: f64 = self
            .num_by_relation
            .iter()
            .zip(weights)
            .map(|(&n, w)| n as f64 * w)
            .sum();
        total / num_items as f64
    }
}

impl std::fmt::Display for MirexTally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let [correct, fifth, relative, parallel, other] = self.num_by_relation;
        write!(
            f,
            "MIREX {:.4} over {} (correct {correct}, fifth {fifth}, relative {relative}, \
             parallel {parallel}, other {other})",
            self.score(),
            self.num_items()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> Key {
        Key::parse(name).unwrap_or_else(|| panic!("test key {name}"))
    }

    #[test]
    fn weights_follow_mirex() {
        let c = key("C major");
        assert_eq!(mirex_score(Some(c), c), 1.0);
        assert_eq!(mirex_score(Some(key("G major")), c), 0.5);
        assert_eq!(mirex_score(Some(key("A minor")), c), 0.3);
        assert_eq!(mirex_score(Some(key("C minor")), c), 0.2);
        assert_eq!(
            mirex_score(Some(key("F major")), c),
            0.0,
            "descending fifth earns nothing"
        );
        assert_eq!(mirex_score(Some(key("D major")), c), 0.0);
        assert_eq!(mirex_score(None, c), 0.0);
        let a_minor = key("A minor");
        assert_eq!(mirex_score(Some(key("E minor")), a_minor), 0.5);
        assert_eq!(mirex_score(Some(key("C major")), a_minor), 0.3);
        assert_eq!(mirex_score(Some(key("A major")), a_minor), 0.2);
        assert_eq!(mirex_score(Some(key("E major")), a_minor), 0.0);
    }

    #[test]
    fn relations_hold_for_every_key() {
        for reference in Key::all() {
            assert_eq!(
                KeyRelation::classify(Some(reference), reference),
                KeyRelation::Correct
            );
            let fifth = reference.fifth_above();
            assert_eq!(
                KeyRelation::classify(Some(fifth), reference),
                KeyRelation::Fifth
            );
            let relative = reference.relative();
            assert_eq!(
                KeyRelation::classify(Some(relative), reference),
                KeyRelation::Relative
            );
            let parallel = reference.parallel();
            assert_eq!(
                KeyRelation::classify(Some(parallel), reference),
                KeyRelation::Parallel
            );
            let num_other = Key::all()
                .filter(|&k| KeyRelation::classify(Some(k), reference) == KeyRelation::Other)
                .count();
            assert_eq!(num_other, 20);
        }
    }

    #[test]
    fn tally_averages_weights() {
        let c = key("C major");
        let mut tally = MirexTally::default();
        assert_eq!(tally.score(), 0.0);
        tally.add(Some(c), c);
        tally.add(Some(key("G major")), c);
        tally.add(Some(key("A minor")), c);
        tally.add(None, c);
        assert_eq!(tally.num_items(), 4);
        assert!((tally.score() - (1.0 + 0.5 + 0.3) / 4.0).abs() < 1e-12);
        assert_eq!(tally.num_by_relation, [1, 1, 1, 0, 1]);
    }
}
