//! The audit log's hash chain, as pure functions: what a row's hash is, and where a chain
//! breaks. `store` appends and reads the rows; nothing else writes them.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first row.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One audit-log row as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub seq: i64,
    /// RFC 3339 in Asia/Shanghai.
    pub at: String,
    pub actor: String,
    pub action: String,
    pub subject: String,
    /// JSON text, stored verbatim so the hash can be recomputed byte for byte.
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// A file's SHA-256, read a block at a time rather than held.
pub fn sha256_file(path: &std::path::Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut block = vec![0u8; 1 << 16];
    loop {
        match file.read(&mut block)? {
            0 => return Ok(hex(&hasher.finalize())),
            n => hasher.update(&block[..n]),
        }
    }
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// The hash of a row: SHA-256 over its fields, each length-prefixed so no two different rows
/// can serialise alike, ending with the previous row's hash.
pub fn row_hash(
    seq: i64,
    at: &str,
    actor: &str,
    action: &str,
    subject: &str,
    detail: &str,
    prev_hash: &str,
) -> String {
    let mut h = Sha256::new();
    h.update(b"suiji-audit-v1\n");
    for field in [
        &seq.to_string()[..],
        at,
        actor,
        action,
        subject,
        detail,
        prev_hash,
    ] {
        h.update((field.len() as u64).to_be_bytes());
        h.update(field.as_bytes());
    }
    hex(&h.finalize())
}

/// Why a chain is broken at a row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Break {
    pub seq: i64,
    pub reason: String,
}

/// Checks rows given in `seq` order; returns the first break.
pub fn verify<'a>(rows: impl IntoIterator<Item = &'a Entry>) -> Result<usize, Break> {
    let mut prev = GENESIS.to_string();
    let mut n = 0;
    for (expected_seq, e) in (1..).zip(rows) {
        if e.seq != expected_seq {
            return Err(Break {
                seq: e.seq,
                reason: format!("sequence gap: expected row {expected_seq}, found {}", e.seq),
            });
        }
        if e.prev_hash != prev {
            return Err(Break {
                seq: e.seq,
                reason: "prev_hash does not match the previous row's hash".into(),
            });
        }
        let h = row_hash(
            e.seq,
            &e.at,
            &e.actor,
            &e.action,
            &e.subject,
            &e.detail,
            &e.prev_hash,
        );
        if h != e.hash {
            return Err(Break {
                seq: e.seq,
                reason: "content does not match its hash (edited after it was written)".into(),
            });
        }
        prev = h;
        n += 1;
    }
    Ok(n)
}

/// A row of the chain as published elsewhere (in `index.json`, a status report): its number
/// and hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Anchor {
    pub seq: i64,
    pub hash: String,
}

/// Every anchor a published JSON document holds: any object with an integer `seq` and a
/// 64-hex-digit `hash` (index heads, the audit rows of each published event, status reports).
pub fn anchors_in(doc: &serde_json::Value, out: &mut Vec<Anchor>) {
    match doc {
        serde_json::Value::Object(m) => {
            if let (Some(seq), Some(hash)) = (
                m.get("seq").and_then(|v| v.as_i64()),
                m.get("hash").and_then(|v| v.as_str()),
            ) && hash.len() == 64
                && hash.bytes().all(|b| b.is_ascii_hexdigit())
            {
                out.push(Anchor {
                    seq,
                    hash: hash.to_string(),
                });
            }
            for v in m.values() {
                anchors_in(v, out);
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|v| anchors_in(v, out)),
        _ => {}
    }
}

/// Checks the chain against anchors published earlier: each anchored row must still exist
/// with the same hash. A missing row means the chain was truncated, a different hash that it
/// was rewritten from there on. Returns the problems, worst (lowest row) first.
pub fn check_anchors(rows: &[Entry], anchors: &[Anchor]) -> Vec<Break> {
    let last = rows.last().map_or(0, |e| e.seq);
    let mut out: Vec<Break> = anchors
        .iter()
        .filter_map(|a| {
            let row = rows.iter().find(|e| e.seq == a.seq);
            match row {
                None => Some(Break {
                    seq: a.seq,
                    reason: format!(
                        "truncated: a published anchor names row {} (hash {}…) but the chain \
                         ends at row {last}",
                        a.seq,
                        &a.hash[..12]
                    ),
                }),
                Some(e) if e.hash != a.hash => Some(Break {
                    seq: a.seq,
                    reason: format!(
                        "rewritten: row {} hashes to {}… but was published as {}…",
                        a.seq,
                        &e.hash[..12.min(e.hash.len())],
                        &a.hash[..12]
                    ),
                }),
                Some(_) => None,
            }
        })
        .collect();
    out.sort_by_key(|b| b.seq);
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<Entry> {
        let mut prev = GENESIS.to_string();
        (1..=n)
            .map(|seq| {
                let at = format!("2024-09-0{seq}T09:00:00+08:00");
                let detail = format!("{{\"n\":{seq}}}");
                let hash = row_hash(seq, &at, "admin", "import", "entities", &detail, &prev);
                let e = Entry {
                    seq,
                    at,
                    actor: "admin".into(),
                    action: "import".into(),
                    subject: "entities".into(),
                    detail,
                    prev_hash: prev.clone(),
                    hash: hash.clone(),
                };
                prev = hash;
                e
            })
            .collect()
    }

    #[test]
    fn sha256_of_abc() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn intact_chain_verifies_and_edits_are_located() {
        let mut rows = chain(4);
        assert_eq!(verify(&rows), Ok(4));
        rows[2].subject = "officers".into();
        assert_eq!(verify(&rows).map_err(|b| b.seq), Err(3));
        let mut rows = chain(4);
        rows.remove(1);
        assert_eq!(verify(&rows).map_err(|b| b.seq), Err(3));
    }

    #[test]
    fn anchors_catch_truncation_and_rewrites() {
        let rows = chain(5);
        let anchor = |e: &Entry| Anchor {
            seq: e.seq,
            hash: e.hash.clone(),
        };
        let published = vec![anchor(&rows[2]), anchor(&rows[4])];
        assert!(check_anchors(&rows, &published).is_empty());
        let truncated = &rows[..4];
        assert_eq!(
            verify(truncated),
            Ok(4),
            "the chain alone still looks intact"
        );
        let problems = check_anchors(truncated, &published);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].reason.starts_with("truncated"), "{problems:?}");
        let mut doc = serde_json::json!({"audit_head": {"seq": 5, "hash": rows[4].hash},
            "entries": [{"audit": {"seq": 3, "hash": rows[2].hash}}]});
        let mut found = Vec::new();
        anchors_in(&doc, &mut found);
        assert_eq!(found.len(), 2);
        doc["audit_head"]["hash"] = serde_json::json!("nope");
        found.clear();
        anchors_in(&doc, &mut found);
        assert_eq!(found.len(), 1);
    }

    #[test]
    fn fields_cannot_bleed_into_each_other() {
        assert_ne!(
            row_hash(1, "a", "bc", "", "", "", GENESIS),
            row_hash(1, "ab", "c", "", "", "", GENESIS)
        );
    }
}
