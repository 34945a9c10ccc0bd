//! What changed between two evaluated plans, for the yearly review: last year's script against
//! this year's, both evaluated against the same registry.

use serde::Serialize;
use serde_json::Value;

use super::check::Summary;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// e.g. `tasks[hazchem].quota`, `deadlines.advance_notice`.
    pub path: String,
    pub old: Option<Value>,
    pub new: Option<Value>,
}

/// Field-level changes; tasks, strata and schedules are matched by their id or name, so a
/// reordering is not a change and a renamed task is one removal and one addition.
pub fn diff(old: &Summary, new: &Summary) -> Vec<Change> {
    let mut out = Vec::new();
    let (Ok(a), Ok(b)) = (serde_json::to_value(old), serde_json::to_value(new)) else {
        return out;
    };
    walk("", &a, &b, &mut out);
    out
}

fn key_of(v: &Value) -> Option<String> {
    v.get("id")
        .or_else(|| v.get("name"))
        .and_then(Value::as_str)
        .map(String::from)
}

fn walk(path: &str, a: &Value, b: &Value, out: &mut Vec<Change>) {
    let join = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, va) in x {
                // When the schedules next fire depends on today, not on the plans.
                if k == "next_run" || (path.is_empty() && k == "source") {
                    continue;
                }
                match y.get(k) {
                    Some(vb) => walk(&join(k), va, vb, out),
                    None => out.push(Change {
                        path: join(k),
                        old: Some(va.clone()),
                        new: None,
                    }),
                }
            }
            for (k, vb) in y {
                if !x.contains_key(k) {
                    out.push(Change {
                        path: join(k),
                        old: None,
                        new: Some(vb.clone()),
                    });
                }
            }
        }
        (Value::Array(x), Value::Array(y))
            if x.iter().chain(y).all(|v| key_of(v).is_some())
                && !(x.is_empty() && y.is_empty()) =>
        {
            for va in x {
                let k = key_of(va).unwrap_or_default();
                let p = format!("{path}[{k}]");
                match y
                    .iter()
                    .find(|vb| key_of(vb).as_deref() == Some(k.as_str()))
                {
                    Some(vb) => walk(&p, va, vb, out),
                    None => out.push(Change {
                        path: p,
                        old: Some(va.clone()),
                        new: None,
                    }),
                }
            }
            for vb in y {
                let k = key_of(vb).unwrap_or_default();
                if !x.iter().any(|va| key_of(va).as_deref() == Some(k.as_str())) {
                    out.push(Change {
                        path: format!("{path}[{k}]"),
                        old: None,
                        new: Some(vb.clone()),
                    });
                }
            }
        }
        _ if a != b => out.push(Change {
            path: path.to_string(),
            old: Some(a.clone()),
            new: Some(b.clone()),
        }),
        _ => {}
    }
}

/// One line of a line-by-line comparison of two scripts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Line {
    /// same, removed or added.
    pub tag: &'static str,
    /// Its number in the old script (none when added) and in the new (none when removed).
    pub old: Option<usize>,
    pub new: Option<usize>,
    pub text: String,
}

/// The scripts' changed lines, in hunks with `context` unchanged lines around each change
/// (none when the texts are the same).
pub fn lines(old: &str, new: &str, context: usize) -> Vec<Vec<Line>> {
    let diff = similar::TextDiff::from_lines(old, new);
    diff.grouped_ops(context)
        .iter()
        .map(|group| {
            group
                .iter()
                .flat_map(|op| diff.iter_changes(op))
                .map(|c| Line {
                    tag: match c.tag() {
                        similar::ChangeTag::Equal => "same",
                        similar::ChangeTag::Delete => "removed",
                        similar::ChangeTag::Insert => "added",
                    },
                    old: c.old_index().map(|i| i + 1),
                    new: c.new_index().map(|i| i + 1),
                    text: c.value().trim_end_matches(['\n', '\r']).to_string(),
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    /// A changed line shows as removed then added, numbered in each script, with the
    /// context asked for; far-apart changes are separate hunks; equal texts have none.
    #[test]
    fn line_hunks() {
        let old: String = (1..=20).map(|i| format!("l{i}\n")).collect();
        let new = old.replace("l5\n", "l5 changed\n").replace("l18\n", "");
        let hunks = super::lines(&old, &new, 1);
        assert_eq!(hunks.len(), 2);
        let first: Vec<(&str, Option<usize>, Option<usize>, &str)> = hunks[0]
            .iter()
            .map(|l| (l.tag, l.old, l.new, l.text.as_str()))
            .collect();
        assert_eq!(
            first,
            [
                ("same", Some(4), Some(4), "l4"),
                ("removed", Some(5), None, "l5"),
                ("added", None, Some(5), "l5 changed"),
                ("same", Some(6), Some(6), "l6"),
            ]
        );
        assert!(
            hunks[1]
                .iter()
                .any(|l| l.tag == "removed" && l.text == "l18")
        );
        assert!(super::lines(&old, &old, 3).is_empty());
    }
}
