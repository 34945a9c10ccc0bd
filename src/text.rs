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
        push_shown(&mut out, c);
    }
    if total > max {
        out.push_str(&format!("… ({total} characters)"));
    }
    out
}

/// Characters that change how text displays without showing themselves: bidi controls (an
/// RLO turns `41000001847` into `74810000014` on screen) and Unicode's default-ignorable code
/// points (zero-width spaces and joiners, variation selectors, tag characters, fillers).
pub fn invisible(c: char) -> bool {
    matches!(
        c as u32,
        0x00AD
            | 0x034F
            | 0x061C
            | 0x115F
            | 0x1160
            | 0x17B4
            | 0x17B5
            | 0x180B..=0x180F
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x206F
            | 0x3164
            | 0xFE00..=0xFE0F
            | 0xFEFF
            | 0xFFA0
            | 0xFFF0..=0xFFF8
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0000..=0xE0FFF
    )
}

/// A control or an invisible character: never taken into a value, never shown raw.
pub fn hidden(c: char) -> bool {
    c.is_control() || invisible(c)
}

/// `c` as a terminal may show it: hidden characters as escapes (`\u{202e}`).
fn push_shown(out: &mut String, c: char) {
    if c.is_control() {
        out.extend(c.escape_default());
    } else if invisible(c) {
        out.extend(c.escape_unicode());
    } else {
        out.push(c);
    }
}

/// Why something is refused: in English for the command line and the log, in Chinese for the
/// console's pages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{en}")]
pub struct Refusal {
    pub en: String,
    pub zh: String,
}

impl Refusal {
    pub fn new(en: impl Into<String>, zh: impl Into<String>) -> Refusal {
        Refusal {
            en: en.into(),
            zh: zh.into(),
        }
    }
}

/// `s` percent-encoded whole (RFC 3986 unreserved characters kept): for a URL's path segment
/// or query value, and for HTTP Basic credentials (RFC 6749 2.3.1).
pub fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// `s` with every hidden character escaped, whole (for table cells and listings).
pub fn shown(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        push_shown(&mut out, c);
    }
    out
}

/// A character as a message names it: `U+202E (right-to-left override)`.
pub fn describe(c: char) -> String {
    let name = match c as u32 {
        0x200B => " (zero-width space)",
        0x200C => " (zero-width non-joiner)",
        0x200D => " (zero-width joiner)",
        0x200E => " (left-to-right mark)",
        0x200F => " (right-to-left mark)",
        0x202A..=0x202E | 0x2066..=0x2069 | 0x061C => " (a bidi control)",
        0xFEFF => " (zero-width no-break space, BOM)",
        0x00AD => " (soft hyphen)",
        0x0400..=0x052F => " (Cyrillic)",
        0x0370..=0x03FF | 0x1F00..=0x1FFF => " (Greek)",
        0x0300..=0x036F => " (a combining mark)",
        _ => "",
    };
    format!("U+{:04X}{name}", c as u32)
}

/// What is wrong with the hidden character `c` at `at`: "character 2 (\\n) is a control
/// character", "character 4 (U+202E (a bidi control)) is an invisible character".
pub fn hidden_reason(at: usize, c: char) -> String {
    if c.is_control() {
        format!(
            "character {at} ({}) is a control character",
            c.escape_default()
        )
    } else {
        format!("character {at} ({}) is an invisible character", describe(c))
    }
}

/// The first control or invisible character in `s`, if any, with its position (1-based, in
/// characters).
pub fn hidden_char(s: &str) -> Option<(usize, char)> {
    s.chars()
        .enumerate()
        .find(|(_, c)| hidden(*c))
        .map(|(i, c)| (i + 1, c))
}

/// Letters that pass for Latin ones next to Han: Cyrillic, Greek, Armenian, Cherokee and
/// Coptic letters, combining marks, and styled (mathematical, letterlike, enclosed) letters.
/// A Chinese organisation's or person's name mixes Han with Latin letters, digits and
/// punctuation, never with these (UTS #39's confusables are mostly these scripts'); refusing
/// them outright keeps `АВС化工` from posing as `ABC化工`.
fn look_alike(c: char) -> bool {
    matches!(
        c as u32,
        0x0300..=0x036F
            | 0x0370..=0x03FF
            | 0x0400..=0x052F
            | 0x0530..=0x058F
            | 0x1AB0..=0x1AFF
            | 0x1C80..=0x1C8F
            | 0x1DC0..=0x1DFF
            | 0x1F00..=0x1FFF
            | 0x20D0..=0x20FF
            | 0x2100..=0x214F
            | 0x2460..=0x24FF
            | 0x2C80..=0x2CFF
            | 0x2DE0..=0x2DFF
            | 0x13A0..=0x13FF
            | 0xA640..=0xA69F
            | 0xAB70..=0xABBF
            | 0xFE20..=0xFE2F
            | 0x1D400..=0x1D7FF
            | 0x1F100..=0x1F1FF
    )
}

/// Why a name (of an entity, an officer, a bureau) cannot be taken, if it cannot.
pub fn name_problem(s: &str) -> Option<String> {
    let (at, c) = s
        .chars()
        .enumerate()
        .find(|(_, c)| look_alike(*c))
        .map(|(i, c)| (i + 1, c))?;
    Some(format!(
        "character {at} ({}) is a letter that passes for a Latin one: a name may mix Chinese \
         characters with Latin letters, digits and punctuation only",
        describe(c)
    ))
}

/// Full-width ASCII (`４１０`, `Ａ`) and the ideographic space folded to ASCII, as Unicode's
/// compatibility normalisation (NFKC) folds them: codes typed in a Chinese input method's
/// full-width mode are the same codes.
pub fn fold_width(s: &str) -> String {
    s.chars()
        .map(|c| match c as u32 {
            0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            0x3000 => ' ',
            _ => c,
        })
        .collect()
}

/// Whether `s` has the form `mask` gives: `#` a digit, `A` an uppercase ASCII letter, any
/// other character itself. An empty mask accepts anything.
pub fn fits_mask(s: &str, mask: &str) -> bool {
    mask.is_empty()
        || (s.chars().count() == mask.chars().count()
            && s.chars().zip(mask.chars()).all(|(c, m)| match m {
                '#' => c.is_ascii_digit(),
                'A' => c.is_ascii_uppercase(),
                m => c == m,
            }))
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
        .find(|(_, c)| hidden(*c) && *c != '\n')
    {
        return Err(format!(
            "{what} `{}`: {}",
            quote(s),
            hidden_reason(at + 1, c)
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
        assert_eq!(hidden_char("ab\u{0}"), Some((3, '\u{0}')));
        assert_eq!(hidden_char("郑州"), None);
        assert_eq!(hidden_char("王五\u{202e}"), Some((3, '\u{202e}')));
        assert_eq!(hidden_char("4100\u{200b}0001007"), Some((5, '\u{200b}')));
        assert_eq!(quote("王五\u{202e}1"), "王五\\u{202e}1");
        assert_eq!(quote_at_most("郑州市", 2), "郑州… (3 characters)");
        assert_eq!(quote_at_most("郑州市", 3), "郑州市");
    }
}
