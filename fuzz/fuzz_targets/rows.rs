//! The row parsers on arbitrary rows. The input is a kind byte (0 bureaus, 1 items, 2 entities,
//! 3 officers, 4 conflicts, modulo 5) then text: one row per line, cells split at commas, the
//! first line the headers, so the example CSV files are seeds and the dictionary's words
//! (headers, cities, sectors, dates, keys) are cells. A cell `~N~word` stands for `word`
//! repeated to N characters, to reach every length limit with short inputs. The rows become a
//! `Table` the way every reader makes one (`Table::new`) and go through `suiji::import::parse`
//! for the kind and through `parse_outcomes`: records or problems, never a panic, never more
//! records than rows, every problem short.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use suiji::import::{self, Kind, Known, Problem, Row, Table};
use suiji::vocab::Vocabulary;

fn vocab() -> &'static Vocabulary {
    static V: OnceLock<Vocabulary> = OnceLock::new();
    V.get_or_init(|| {
        suiji::config::Settings::shipped()
            .and_then(|s| s.vocabulary())
            .expect("shipped vocabulary")
    })
}

/// The officers and entities the example conflicts name, as if already imported.
fn known() -> &'static Known {
    static K: OnceLock<Known> = OnceLock::new();
    K.get_or_init(|| {
        let mut known = Known::default();
        for line in include_str!("../../examples/henan/conflicts.csv")
            .lines()
            .skip(1)
        {
            let mut cells = line.split(',');
            if let (Some(officer), Some(uscc)) = (cells.next(), cells.next()) {
                known.officers.insert(officer.to_string());
                known.entities.insert(uscc.to_string());
            }
        }
        known
    })
}

fn cell(s: &str) -> String {
    let expanded = s.strip_prefix('~').and_then(|rest| {
        let (n, word) = rest.split_once('~')?;
        let n: usize = n.parse().ok()?;
        Some(word.chars().cycle().take(n.min(5000)).collect())
    });
    expanded.unwrap_or_else(|| s.to_string())
}

fn short(problems: &[Problem]) {
    for p in problems {
        let shown = p.to_string();
        assert!(shown.len() < 4096, "problem of {} bytes", shown.len());
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&k, text)) = data.split_first() else {
        return;
    };
    let kind = Kind::ALL[usize::from(k) % Kind::ALL.len()];
    let text = String::from_utf8_lossy(text);
    let mut lines = text.lines();
    let headers: Vec<String> = match lines.next() {
        Some(h) => h.split(',').map(cell).collect(),
        None => return,
    };
    let rows: Vec<Row> = lines
        .enumerate()
        .map(|(i, line)| Row {
            number: i as u64 + 2,
            cells: line.split(',').map(cell).collect(),
        })
        .collect();
    let n = rows.len();
    // Tables with control characters in the header are refused before any parser sees them;
    // rows with them are refused as they are read.
    let table = || Table::new("fuzz.csv".into(), "UTF-8", 1, headers.clone(), rows.clone());
    let Ok(mut outcomes_table) = table() else {
        return;
    };
    let (outcomes, problems) = import::parse_outcomes(&mut outcomes_table);
    assert!(outcomes.len() <= n);
    short(&problems);
    let Ok(table) = table() else {
        return;
    };
    match import::parse(kind, table, vocab(), known()) {
        Ok((records, _notes)) => assert!(records.len() <= n),
        Err(problems) => {
            assert!(!problems.is_empty(), "a refusal names at least one problem");
            short(&problems);
        }
    }
});
