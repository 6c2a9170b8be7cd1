//! `muq analyze` output: one JSON object per window and the summary CSV.

use serde_json::{Value, json};

use muq_engine::analysis::{LabelScore, ProbeReadout};
use muq_engine::heads::key::KeyReadout;

/// The summary CSV header (exactly as specified).
pub const CSV_HEADER: &str =
    "file,key,key_confidence,camelot,top_genre,genre_score,top_instrument,instrument_score";

fn labels_json(labels: &[LabelScore]) -> Value {
    Value::Array(
        labels
            .iter()
            .map(|l| json!({ "label": l.label, "score": l.score, "cosine": l.cosine }))
            .collect(),
    )
}

/// The key part of a JSON line.
pub fn key_json(key: &KeyReadout) -> Value {
    json!({
        "key": key.name(),
        "camelot": key.camelot(),
        "confidence": key.confidence,
        "runner_up": key.runner_up.map(|r| r.key.name()),
    })
}

/// Model readouts of one window for a JSON line (`null` when no model runs).
pub fn model_json(
    instruments: &[LabelScore],
    genres: &[LabelScore],
    queries: &[(String, f32)],
) -> Value {
    json!({
        "instruments": labels_json(instruments),
        "genres": labels_json(genres),
        "queries": queries.iter().map(|(t, s)| json!({ "text": t, "similarity": s })).collect::<Vec<_>>(),
    })
}

/// Probe head readouts of one window for a JSON line.
pub fn probes_json(probes: &[ProbeReadout]) -> Value {
    Value::Array(
        probes
            .iter()
            .map(|p| {
                json!({
                    "task": p.task,
                    "multi_label": p.multi_label,
                    "top": p.top.iter().map(|l| json!({ "label": l.label, "score": l.score })).collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}

/// Quotes a CSV field when it needs it (RFC 4180).
pub fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// One summary row; model columns are empty when `genre`/`instrument` are `None`.
pub fn csv_row(
    file: &str,
    key: &KeyReadout,
    genre: Option<&LabelScore>,
    instrument: Option<&LabelScore>,
) -> String {
    let num = |x: Option<f32>| x.map(|v| format!("{v:.4}")).unwrap_or_default();
    let text = |x: Option<&str>| csv_field(x.unwrap_or(""));
    [
        csv_field(file),
        text(key.name()),
        num(key.key.map(|_| key.confidence)),
        text(key.camelot()),
        text(genre.map(|g| g.label.as_str())),
        num(genre.map(|g| g.score)),
        text(instrument.map(|i| i.label.as_str())),
        num(instrument.map(|i| i.score)),
    ]
    .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_quote_and_leave_model_columns_empty() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        let row = csv_row("x,y.wav", &KeyReadout::default(), None, None);
        assert_eq!(row, "\"x,y.wav\",,,,,,,");
        assert_eq!(row.split(',').count(), CSV_HEADER.split(',').count() + 1);
        let genre = LabelScore {
            label: "jazz".into(),
            score: 0.5,
            cosine: 0.2,
        };
        let row = csv_row("f.wav", &KeyReadout::default(), Some(&genre), None);
        assert!(row.ends_with(",jazz,0.5000,,"), "{row}");
    }
}
