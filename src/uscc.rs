//! 统一社会信用代码 (unified social credit code), GB 32100-2015, with the GB 11714
//! organisation-code check nested at positions 9–17.

use std::fmt;

/// The 31 symbols of GB 32100; a symbol's value is its index (no I, O, Z, S, V).
pub const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];
const ORG_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsccError {
    #[error("must be 18 characters, found {0}")]
    Length(usize),
    #[error(
        "character {position} `{}` is not allowed (only 0-9 and A-Y without I, O, S, V, Z)",
        .ch.escape_debug()
    )]
    Character { position: usize, ch: char },
    #[error(
        "character {position} `{ch}` is a full-width character: type it half-width (`{half}`), \
         e.g. with the input method in 半角 mode"
    )]
    FullWidth {
        position: usize,
        ch: char,
        half: char,
    },
    #[error("check character (18th) is `{found}`, expected `{expected}` by GB 32100")]
    Check { found: char, expected: char },
    #[error("organisation code check (17th) is `{found}`, expected `{expected}` by GB 11714")]
    OrgCheck { found: char, expected: char },
}

fn value(c: u8) -> Option<u32> {
    ALPHABET.iter().position(|&a| a == c).map(|p| p as u32)
}

/// The GB 32100 check character for the first 17 characters (all from [`ALPHABET`]).
pub fn check_char(first17: &[u8]) -> Option<char> {
    let mut sum = 0u32;
    for (c, w) in first17.iter().zip(USCC_WEIGHTS) {
        sum += value(*c)? * w;
    }
    let c = (31 - sum % 31) % 31;
    Some(ALPHABET[c as usize] as char)
}

/// GB 11714 value of an organisation-code character: digits 0–9, letters A–Z 10–35.
fn org_value(c: u8) -> Option<u32> {
    match c {
        b'0'..=b'9' => Some(u32::from(c - b'0')),
        b'A'..=b'Z' => Some(u32::from(c - b'A') + 10),
        _ => None,
    }
}

/// The GB 11714 check character for an 8-character organisation-code body.
pub fn org_check_char(body8: &[u8]) -> Option<char> {
    let mut sum = 0u32;
    for (c, w) in body8.iter().zip(ORG_WEIGHTS) {
        sum += org_value(*c)? * w;
    }
    Some(match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        n => char::from(b'0' + n as u8),
    })
}

/// The half-width form of a full-width ASCII character (U+FF01–U+FF5E, what Chinese input
/// methods type in 全角 mode), or of the ideographic space.
fn half_width(c: char) -> Option<char> {
    match c {
        '\u{3000}' => Some(' '),
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0),
        _ => None,
    }
}

/// A syntactically valid USCC (upper-cased, trimmed).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Uscc(String);

impl Uscc {
    pub fn parse(input: &str) -> Result<Uscc, UsccError> {
        let s = input.trim().to_ascii_uppercase();
        let n = s.chars().count();
        if n != 18 {
            return Err(UsccError::Length(n));
        }
        // Characters, not bytes: a code typed with a Chinese input method in full-width mode
        // must be named by the character a person sees, not by a byte of its UTF-8.
        for (i, ch) in s.chars().enumerate() {
            let position = i + 1;
            if let Some(half) = half_width(ch) {
                return Err(UsccError::FullWidth { position, ch, half });
            }
            if !u8::try_from(ch).is_ok_and(|b| value(b).is_some()) {
                return Err(UsccError::Character { position, ch });
            }
        }
        let bytes = s.as_bytes();
        // Both checks are computable: every character is in the alphabet (hence one byte).
        let expected = check_char(&bytes[..17]).unwrap_or('?');
        if bytes[17] as char != expected {
            return Err(UsccError::Check {
                found: bytes[17] as char,
                expected,
            });
        }
        let org_expected = org_check_char(&bytes[8..16]).unwrap_or('?');
        if bytes[16] as char != org_expected {
            return Err(UsccError::OrgCheck {
                found: bytes[16] as char,
                expected: org_expected,
            });
        }
        Ok(Uscc(s))
    }

    /// Builds a valid code from its parts: registration authority and type (2 characters),
    /// a 6-digit administrative division and an 8-character organisation-code body. The body's
    /// characters must be digits or alphabet letters; returns `None` otherwise.
    pub fn compose(authority_type: &str, division: &str, org_body: &str) -> Option<Uscc> {
        if authority_type.len() != 2 || division.len() != 6 || org_body.len() != 8 {
            return None;
        }
        let org_check = org_check_char(org_body.as_bytes())?;
        let first17 = format!("{authority_type}{division}{org_body}{org_check}");
        let check = check_char(first17.as_bytes())?;
        Uscc::parse(&format!("{first17}{check}")).ok()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_example_is_valid() {
        assert_eq!(
            Uscc::parse("91350100M000100Y43").map(Uscc::into_string),
            Ok("91350100M000100Y43".into())
        );
        assert!(Uscc::parse(" 91350100m000100y43 ").is_ok());
    }

    #[test]
    fn weights_are_powers_of_three_mod_31() {
        let mut w = 1u32;
        for expected in USCC_WEIGHTS {
            assert_eq!(w, expected);
            w = w * 3 % 31;
        }
    }

    #[test]
    fn each_error_is_specific() {
        assert_eq!(Uscc::parse("9135"), Err(UsccError::Length(4)));
        assert_eq!(
            Uscc::parse("91350100M000100YI3"),
            Err(UsccError::Character {
                position: 17,
                ch: 'I'
            })
        );
        assert_eq!(
            Uscc::parse("91350100M000100Y44"),
            Err(UsccError::Check {
                found: '4',
                expected: '3'
            })
        );
        // A code with a correct GB 32100 check but a wrong organisation-code check.
        let first17 = b"91350100M000100Y5";
        let check = check_char(first17).expect("alphabet");
        let code = format!("{}{}", std::str::from_utf8(first17).expect("ascii"), check);
        assert_eq!(
            Uscc::parse(&code),
            Err(UsccError::OrgCheck {
                found: '5',
                expected: '4'
            })
        );
    }

    #[test]
    fn full_width_characters_are_named_as_typed() {
        // "91350100M000100Y43" with its 3rd character and all after it typed full-width.
        let code = "91３５０１００Ｍ０００１００Ｙ４３";
        let e = Uscc::parse(code).expect_err("full-width");
        assert_eq!(
            e,
            UsccError::FullWidth {
                position: 3,
                ch: '３',
                half: '3'
            }
        );
        assert!(
            e.to_string()
                .contains("character 3 `３` is a full-width character")
        );
        assert!(e.to_string().contains("half-width (`3`)"));
        assert_eq!(
            Uscc::parse("91350100M000100Y4中"),
            Err(UsccError::Character {
                position: 18,
                ch: '中'
            })
        );
        let invisible = Uscc::parse("91350100M000100Y4\u{200b}").expect_err("zero width");
        assert!(invisible.to_string().contains("`\\u{200b}`"), "{invisible}");
    }

    #[test]
    fn compose_round_trips() {
        let u = Uscc::compose("91", "410100", "M000100Y").expect("valid parts");
        assert!(Uscc::parse(u.as_str()).is_ok());
        assert_eq!(&u.as_str()[..16], "91410100M000100Y");
        assert!(Uscc::compose("91", "4101", "M000100Y").is_none());
    }
}
