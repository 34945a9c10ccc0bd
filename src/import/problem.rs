//! One thing wrong with an input file, located so a person can find and fix it.
//!
//! The fields are private and every constructor quotes what it is given (`text::quote`): a
//! problem can only ever repeat a short prefix of a cell, with its control characters escaped,
//! whoever builds it and whether it is printed as text or serialised as JSON. A file holding a
//! megabyte in one cell, or an escape sequence, cannot reach the terminal or a log through a
//! message about itself.

use std::fmt;

use serde::Serialize;

use crate::text;

/// Longest file name a problem repeats (paths are the user's, but a path can be pasted too).
const FILE_CHARS: usize = 300;
/// Longest reason: reasons are ours, but some list what the file contains (headers, sheets).
const REASON_CHARS: usize = 400;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    file: String,
    /// Line (CSV) or row (spreadsheet); 0 when the problem is the whole file.
    row: u64,
    /// The column header as written in the file.
    column: String,
    value: String,
    reason: String,
}

impl Problem {
    /// A problem at a cell; `column` empty for a whole row, `value` empty when there is none.
    pub fn new(file: &str, row: u64, column: &str, value: &str, reason: &str) -> Problem {
        Problem {
            file: text::quote_at_most(file, FILE_CHARS),
            row,
            column: text::quote(column),
            value: text::quote(value),
            reason: text::quote_at_most(reason, REASON_CHARS),
        }
    }

    /// A problem with the whole file.
    pub fn whole_file(file: &str, reason: &str) -> Problem {
        Problem::new(file, 0, "", "", reason)
    }

    pub fn file(&self) -> &str {
        &self.file
    }

    pub fn row(&self) -> u64 {
        self.row
    }

    pub fn column(&self) -> &str {
        &self.column
    }

    /// The value as quoted: at most a short prefix, control characters escaped.
    pub fn value(&self) -> &str {
        &self.value
    }

    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if self.row > 0 {
            write!(f, ": row {}", self.row)?;
        }
        if !self.column.is_empty() {
            write!(f, ", column {}", self.column)?;
        }
        if !self.value.is_empty() {
            write!(f, ", value \"{}\"", self.value)?;
        }
        write!(f, ": {}", self.reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_part_is_bounded_and_escaped() {
        let cell = "x".repeat(1 << 20);
        let p = Problem::new(
            &"d/".repeat(1000),
            3,
            &"h".repeat(1000),
            &format!("\u{1b}[2J{cell}"),
            &"r".repeat(10_000),
        );
        let shown = p.to_string();
        assert!(shown.len() < 1500, "{} bytes", shown.len());
        assert!(!shown.contains('\u{1b}'));
        assert!(p.value().starts_with("\\u{1b}[2J"), "{}", p.value());
        assert!(p.value().ends_with("(1048580 characters)"), "{}", p.value());
        let json = serde_json::to_string(&p).expect("json");
        assert!(json.len() < 1500, "{} bytes", json.len());
    }
}
