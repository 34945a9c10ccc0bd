//! Text shown to people: values quoted safely in messages, and columns padded by display width.

/// Longest part of a value any message repeats.
const QUOTE_CHARS: usize = 60;

/// A value as a message may repeat it: control characters escaped (a stray ESC or newline
/// cannot reach the terminal or split a log line) and at most a short prefix, with the length
/// of what was left out.
pub fn quote(s: &str) -> String {
    quote_at_most(s, QUOTE_CHARS)
}

/// [`quote`] with another limit, for text that is longer by nature (a file's path, a reason
/// that lists what is accepted) but must stay bounded all the same.
pub fn quote_at_most(s: &str, max: usize) -> String {
    let mut out = String::new();
    let mut total = 0;
    for c in s.chars() {
        total += 1;
        if total > max {
            continue;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    if total > max {
        out.push_str(&format!("… ({total} characters)"));
    }
    out
}

/// The first control character in `s`, if any, with its position (1-based, in characters).
pub fn control_char(s: &str) -> Option<(usize, char)> {
    s.chars()
        .enumerate()
        .find(|(_, c)| c.is_control())
        .map(|(i, c)| (i + 1, c))
}

/// Checks a short note a person writes into the record (a reason, a name): not blank, no
/// control characters but line breaks, at most `max` characters.
pub fn check_note(what: &str, s: &str, max: usize) -> Result<(), String> {
    if s.trim().is_empty() {
        return Err(format!("{what} is empty"));
    }
    if let Some((at, c)) = s
        .chars()
        .enumerate()
        .find(|(_, c)| c.is_control() && *c != '\n')
    {
        return Err(format!(
            "{what} `{}`: character {} ({}) is a control character",
            quote(s),
            at + 1,
            c.escape_default()
        ));
    }
    let n = s.chars().count();
    if n > max {
        return Err(format!(
            "{what} `{}` is longer than {max} characters",
            quote(s)
        ));
    }
    Ok(())
}

/// A count with its noun: "1 task", "3 tasks".
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// "1 working day", "3 working days".
pub fn working_days(n: i64) -> String {
    format!("{n} working day{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_are_short_and_escaped() {
        assert_eq!(quote("a\u{1b}[31mb\n"), "a\\u{1b}[31mb\\n");
        let long = "x".repeat(1_000_000);
        let q = quote(&long);
        assert!(q.len() < 100, "{q}");
        assert!(q.ends_with("(1000000 characters)"));
        assert_eq!(control_char("ab\u{0}"), Some((3, '\u{0}')));
        assert_eq!(control_char("郑州"), None);
        assert_eq!(quote_at_most("郑州市", 2), "郑州… (3 characters)");
        assert_eq!(quote_at_most("郑州市", 3), "郑州市");
    }
}
