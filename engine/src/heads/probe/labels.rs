//! `labels.csv` (`file,label`, multi-label: labels separated by `;`) parsing.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::TaskKind;
use crate::error::{Error, Result};

/// One row of a labels file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelledFile {
    /// Path as written in the CSV (relative to the audio root unless absolute).
    pub file: PathBuf,
    /// The file's labels (one for multi-class tasks).
    pub labels: Vec<String>,
}

/// The classes of a task, in a fixed (sorted) order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelSet {
    /// Class names; a class's index is its position here.
    pub names: Vec<String>,
}

impl LabelSet {
    /// The sorted set of labels used by `rows`.
    pub fn from_rows(rows: &[LabelledFile]) -> Self {
        let names: BTreeSet<&String> = rows.iter().flat_map(|r| r.labels.iter()).collect();
        Self {
            names: names.into_iter().cloned().collect(),
        }
    }

    /// Index of `label`, or an error naming the known classes.
    pub fn index_of(&self, label: &str) -> Result<usize> {
        self.names.iter().position(|n| n == label).ok_or_else(|| {
            Error::Probe(format!(
                "label {label:?} is not one of the head's classes {:?}",
                self.names
            ))
        })
    }
}

/// Multi-label when any row has more than one label.
pub fn task_kind_of(rows: &[LabelledFile]) -> TaskKind {
    if rows.iter().any(|r| r.labels.len() > 1) {
        TaskKind::MultiLabel
    } else {
        TaskKind::MultiClass
    }
}

/// Reads `path`: a `file,label` CSV with an optional `file,label` header, `#` comments and
/// blank lines allowed.
pub fn read_labels(path: &Path) -> Result<Vec<LabelledFile>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse_labels(&text).map_err(|msg| Error::Probe(format!("{}: {msg}", path.display())))
}

/// Parses the text of a labels file; errors carry the 1-based line number.
pub fn parse_labels(text: &str) -> std::result::Result<Vec<LabelledFile>, String> {
    let mut rows = Vec::new();
    for (line_idx, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((file, labels)) = line.rsplit_once(',') else {
            return Err(format!(
                "line {}: expected `file,label`, got {line:?}",
                line_idx + 1
            ));
        };
        let (file, labels) = (file.trim(), labels.trim());
        if rows.is_empty()
            && file.eq_ignore_ascii_case("file")
            && labels.eq_ignore_ascii_case("label")
        {
            continue;
        }
        let labels: Vec<String> = labels
            .split(';')
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
        if file.is_empty() || labels.is_empty() {
            return Err(format!(
                "line {}: empty file name or label in {line:?}",
                line_idx + 1
            ));
        }
        rows.push(LabelledFile {
            file: PathBuf::from(file),
            labels,
        });
    }
    if rows.is_empty() {
        return Err("no labelled files".into());
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_header_comments_and_multi_labels() {
        let rows = parse_labels("file,label\n# c\na.wav,x\n\nb, c.wav , y;z\n").unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].file, PathBuf::from("b, c.wav"));
        assert_eq!(rows[1].labels, vec!["y".to_string(), "z".to_string()]);
        assert_eq!(task_kind_of(&rows), TaskKind::MultiLabel);
        assert_eq!(LabelSet::from_rows(&rows).names, vec!["x", "y", "z"]);
    }

    #[test]
    fn rejects_bad_lines() {
        assert!(parse_labels("a.wav\n").unwrap_err().contains("line 1"));
        assert!(parse_labels("a.wav,\n").is_err());
        assert!(parse_labels("file,label\n").is_err());
    }
}
