//! Editing the list of free-text queries. Pure functions over a `Vec<String>`.

/// Most queries scored at once (each costs one text-encoder pass and one plot line).
pub const MAX_NUM_QUERIES: usize = 8;
/// Longest query accepted, in characters (the model would cut it anyway).
pub const MAX_QUERY_CHARS: usize = 200;

/// Why a query was not added; [`QueryRejection::message`] is shown under the input box.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueryRejection {
    /// Nothing but whitespace was typed.
    Empty,
    /// The same text (ignoring case and surrounding spaces) is already in the list.
    Duplicate,
    /// The list already holds [`MAX_NUM_QUERIES`].
    TooMany,
    /// Longer than [`MAX_QUERY_CHARS`].
    TooLong,
}

impl QueryRejection {
    /// What the user should read.
    pub fn message(self) -> String {
        match self {
            Self::Empty => "type a description first, e.g. \"warm analog synth pad\"".to_owned(),
            Self::Duplicate => "that query is already in the list".to_owned(),
            Self::TooMany => format!("at most {MAX_NUM_QUERIES} queries: remove one first"),
            Self::TooLong => format!("queries are limited to {MAX_QUERY_CHARS} characters"),
        }
    }
}

/// Appends the trimmed `text` to `queries`, or says why not (the list is then unchanged).
pub fn add(queries: &mut Vec<String>, text: &str) -> Result<(), QueryRejection> {
    let text = text.trim();
    if text.is_empty() {
        return Err(QueryRejection::Empty);
    }
    if text.chars().count() > MAX_QUERY_CHARS {
        return Err(QueryRejection::TooLong);
    }
    let lower = text.to_lowercase();
    if queries
        .iter()
        .any(|query| query.trim().to_lowercase() == lower)
    {
        return Err(QueryRejection::Duplicate);
    }
    if queries.len() >= MAX_NUM_QUERIES {
        return Err(QueryRejection::TooMany);
    }
    queries.push(text.to_owned());
    Ok(())
}

/// Removes the query at `query_idx`; false (and no change) when there is none.
pub fn remove(queries: &mut Vec<String>, query_idx: usize) -> bool {
    if query_idx < queries.len() {
        queries.remove(query_idx);
        true
    } else {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_trimmed_text() {
        let mut queries = Vec::new();
        assert_eq!(add(&mut queries, "  warm synth pad \n"), Ok(()));
        assert_eq!(queries, ["warm synth pad"]);
    }

    #[test]
    fn rejects_empty_duplicate_long_and_too_many() {
        let mut queries = vec!["Piano".to_owned()];
        assert_eq!(add(&mut queries, "   "), Err(QueryRejection::Empty));
        assert_eq!(add(&mut queries, " piano "), Err(QueryRejection::Duplicate));
        let long = "a".repeat(MAX_QUERY_CHARS + 1);
        assert_eq!(add(&mut queries, &long), Err(QueryRejection::TooLong));
        for idx in 1..MAX_NUM_QUERIES {
            assert_eq!(add(&mut queries, &format!("query {idx}")), Ok(()));
        }
        assert_eq!(add(&mut queries, "one more"), Err(QueryRejection::TooMany));
        assert_eq!(queries.len(), MAX_NUM_QUERIES);
        assert!(QueryRejection::TooMany.message().contains("8"));
    }

    #[test]
    fn removes_by_index_only_when_present() {
        let mut queries = vec!["a".to_owned(), "b".to_owned(), "c".to_owned()];
        assert!(remove(&mut queries, 1));
        assert_eq!(queries, ["a", "c"]);
        assert!(!remove(&mut queries, 5));
        assert_eq!(queries, ["a", "c"]);
    }
}
