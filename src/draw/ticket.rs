//! Rivest's consistent sampler tickets (PyPI `consistent-sampler` 1.0.10), bit for bit:
//!
//! - `sha256_hex(x)`: lowercase hex SHA-256 of the UTF-8 of `x`;
//! - `sha256_uniform(x)`: `"0."` + the decimal digits of `int(sha256_hex(x), 16)`, zero-padded to
//!   at least 64 digits, in reverse order (low-order digits first);
//! - `ticket(id) = sha256_uniform(sha256_hex(seed) + id)`; smaller tickets are drawn first,
//!   compared as strings (which, for strings of this form, is comparing them as fractions), ties
//!   broken by id as Python's tuple comparison does.
//!
//! Sorting a million tickets by their full 78-digit strings would waste time on conversions, so
//! [`Ticketer::key`] gives the first 19 digits as an integer: the same order, with equal keys
//! (about one chance in 10^19 per pair) settled on the full strings.

use std::cmp::Ordering;

use sha2::{Digest, Sha256};

pub fn sha256_hex(x: &str) -> String {
    crate::audit::sha256_hex(x.as_bytes())
}

/// The 256-bit digest as four big-endian 64-bit limbs.
fn limbs(digest: &[u8]) -> [u64; 4] {
    let mut out = [0u64; 4];
    for (i, chunk) in digest.chunks_exact(8).enumerate().take(4) {
        let mut b = [0u8; 8];
        b.copy_from_slice(chunk);
        out[i] = u64::from_be_bytes(b);
    }
    out
}

const TEN19: u64 = 10_000_000_000_000_000_000;

/// Divides the 256-bit number by 10^19 in place, returning the remainder.
fn divmod_10_19(n: &mut [u64; 4]) -> u64 {
    let mut rem: u128 = 0;
    for limb in n.iter_mut() {
        let cur = (rem << 64) | u128::from(*limb);
        *limb = (cur / u128::from(TEN19)) as u64;
        rem = cur % u128::from(TEN19);
    }
    rem as u64
}

/// `sha256_uniform` of a digest: the full ticket string.
pub fn uniform_of_digest(digest: &[u8]) -> String {
    let mut n = limbs(digest);
    // Decimal digits, low-order first, in groups of 19.
    let mut digits = Vec::with_capacity(80);
    while n.iter().any(|&l| l != 0) {
        let mut r = divmod_10_19(&mut n);
        let last = n.iter().all(|&l| l == 0);
        for _ in 0..19 {
            if last && r == 0 {
                break;
            }
            digits.push(b'0' + (r % 10) as u8);
            r /= 10;
        }
    }
    while digits.len() < 64 {
        digits.push(b'0');
    }
    let mut s = String::with_capacity(digits.len() + 2);
    s.push_str("0.");
    s.extend(digits.iter().map(|&d| d as char));
    s
}

pub fn sha256_uniform(x: &str) -> String {
    uniform_of_digest(&Sha256::digest(x.as_bytes()))
}

/// Tickets for one seed. The seed's hex hash is exactly one SHA-256 block, so its compressed
/// state is computed once and each id costs one more block.
#[derive(Clone)]
pub struct Ticketer {
    prefix: Sha256,
}

impl Ticketer {
    pub fn new(seed: &str) -> Ticketer {
        let mut prefix = Sha256::new();
        prefix.update(sha256_hex(seed).as_bytes());
        Ticketer { prefix }
    }

    pub fn digest(&self, id: &str) -> [u8; 32] {
        let mut h = self.prefix.clone();
        h.update(id.as_bytes());
        h.finalize().into()
    }

    /// The full ticket string of `id`.
    pub fn ticket(&self, id: &str) -> String {
        uniform_of_digest(&self.digest(id))
    }

    /// The ticket's first 19 digits as an integer (digit 1 most significant): ordering keys
    /// orders tickets, except that equal keys need [`compare_full`].
    pub fn key(&self, id: &str) -> u64 {
        key_of_digest(&self.digest(id))
    }
}

/// The first 19 ticket digits are the 19 lowest decimal digits of the hash, reversed.
pub fn key_of_digest(digest: &[u8]) -> u64 {
    let n = limbs(digest);
    let mut rem: u128 = 0;
    for limb in n {
        rem = ((rem << 64) | u128::from(limb)) % u128::from(TEN19);
    }
    let mut low = rem as u64;
    let mut key = 0u64;
    for _ in 0..19 {
        key = key * 10 + low % 10;
        low /= 10;
    }
    key
}

/// Orders two ids by their full tickets, then by id (Python compares (ticket, id) tuples).
pub fn compare_full(t: &Ticketer, a: &str, b: &str) -> Ordering {
    t.ticket(a).cmp(&t.ticket(b)).then_with(|| a.cmp(b))
}

/// Sorts ids into draw order, smallest ticket first.
pub fn order<S: AsRef<str>>(t: &Ticketer, ids: &mut [(u64, S)]) {
    ids.sort_by(|(ka, a), (kb, b)| {
        ka.cmp(kb)
            .then_with(|| compare_full(t, a.as_ref(), b.as_ref()))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rivest_vectors() {
        assert_eq!(
            sha256_uniform("abc"),
            "0.56998071861792858926477341561059638840106636224182943832566300809078486324348"
        );
        assert_eq!(
            Ticketer::new("01382438112797316654").ticket("AB-130"),
            "0.26299714122838008416507544297546663599715395525154425586041245287750224561854"
        );
        let t = Ticketer::new("314159");
        let mut ids: Vec<(u64, &str)> = ["ab-1", "ab-2", "cd-1", "ef-3"]
            .iter()
            .map(|id| (t.key(id), *id))
            .collect();
        order(&t, &mut ids);
        let drawn: Vec<&str> = ids.iter().map(|(_, id)| *id).collect();
        assert_eq!(drawn, vec!["cd-1", "ef-3", "ab-1", "ab-2"]);
    }

    #[test]
    fn docstring_heap_example() {
        // consistent_sampler's make_ticket_heap docstring, seed 'xy()134!g2n'.
        let t = Ticketer::new("xy()134!g2n");
        assert_eq!(
            t.ticket("cat"),
            "0.24866413894129579898796850445568128508290132707747976039848637531569373309555"
        );
        assert_eq!(
            t.ticket("goat"),
            "0.49599842072022713663423753308080171636735689997237236247068925068573448764387"
        );
    }

    #[test]
    fn key_is_the_first_19_digits() {
        let t = Ticketer::new("seed");
        for id in ["a", "b", "91350100M000100Y43", "长"] {
            assert_eq!(format!("{:019}", t.key(id)), t.ticket(id)[2..21]);
        }
    }

    #[test]
    fn small_numbers_are_padded_to_64_digits() {
        let mut d = [0u8; 32];
        d[31] = 7;
        let s = uniform_of_digest(&d);
        assert_eq!(s.len(), 66);
        assert!(s.starts_with("0.7000"));
    }
}
