//! Heads of a history, the receipts witnesses outside the department keep, and older copies
//! (spec section 11): ways to show later that a published history was only ever extended,
//! never rewritten. Pure: index bytes in, a finding out.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{AuditHead, EventKind, Index};

/// The receipts' spec.
pub const RECEIPT_SPEC: &str = "suiji-witness-v1";

/// What a witness keeps of one event of a plan's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    pub spec: String,
    pub plan: String,
    pub year: i64,
    pub n: usize,
    pub event: EventKind,
    pub at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    pub audit: Option<AuditHead>,
    /// `head(n)`: the history up to and including this event.
    pub head: String,
}

fn parse(bytes: &[u8], what: &str) -> Result<Value, String> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| format!("{what} is not JSON: {e}"))?;
    if !v["entries"].is_array() || !v["plan"].is_string() || !v["year"].is_i64() {
        return Err(format!("{what} is not a history's index.json"));
    }
    Ok(v)
}

fn entries(v: &Value) -> &[Value] {
    v["entries"].as_array().map_or(&[], Vec::as_slice)
}

/// `head(n)`: the SHA-256 of the canonical bytes of the plan, the year and the first `n`
/// entries, exactly as the index holds them.
fn head_of(v: &Value, n: usize) -> Result<String, String> {
    let first = entries(v)
        .get(..n)
        .ok_or_else(|| format!("the history has {} entries, not {n}", entries(v).len()))?;
    let doc = json!({ "plan": v["plan"], "year": v["year"], "entries": first });
    let bytes = crate::draw::canonical(&doc).map_err(|e| e.to_string())?;
    Ok(crate::audit::sha256_hex(&bytes))
}

/// `head(n)` of a history, as its 32 bytes (what a timestamp authority stamps).
pub fn head(index: &Index, n: usize) -> Result<[u8; 32], String> {
    let v = serde_json::to_value(index).map_err(|e| e.to_string())?;
    bytes_of(&head_of(&v, n)?)
}

/// `head(n)` of a published index.json, as its 32 bytes.
pub fn head_in(index_bytes: &[u8], n: usize) -> Result<[u8; 32], String> {
    bytes_of(&head_of(&parse(index_bytes, "index.json")?, n)?)
}

fn bytes_of(hex: &str) -> Result<[u8; 32], String> {
    crate::beacon::hex_decode(hex)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| format!("`{hex}` is not a SHA-256"))
}

/// A receipt for every entry of a history, as its index stands.
pub fn receipts(index: &Index) -> Result<Vec<Receipt>, String> {
    let v = serde_json::to_value(index).map_err(|e| e.to_string())?;
    index
        .entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            Ok(Receipt {
                spec: RECEIPT_SPEC.into(),
                plan: index.plan.clone(),
                year: index.year,
                n: i + 1,
                event: e.event,
                at: e.at.clone(),
                file: e.file.clone(),
                sha256: e.sha256.clone(),
                audit: e.audit.clone(),
                head: head_of(&v, i + 1)?,
            })
        })
        .collect()
}

/// Checks a witness's receipt against a history's index: the event it names is still at its
/// place, and nothing before it changed.
pub fn check_receipt(index_bytes: &[u8], receipt_bytes: &[u8]) -> Result<String, String> {
    let v = parse(index_bytes, "index.json")?;
    let r: Receipt = serde_json::from_slice(receipt_bytes)
        .map_err(|e| format!("not a {RECEIPT_SPEC} receipt: {e}"))?;
    if r.spec != RECEIPT_SPEC {
        return Err(format!(
            "not a {RECEIPT_SPEC} receipt (spec `{}`)",
            crate::text::quote(&r.spec)
        ));
    }
    if (Some(r.plan.as_str()), Some(r.year)) != (v["plan"].as_str(), v["year"].as_i64()) {
        return Err(format!(
            "the receipt is of plan {} ({}), the history of {} ({})",
            r.plan, r.year, v["plan"], v["year"]
        ));
    }
    let Some(entry) = r.n.checked_sub(1).and_then(|i| entries(&v).get(i)) else {
        return Err(format!(
            "the receipt names entry {}, the history has {}: it shrank",
            r.n,
            entries(&v).len()
        ));
    };
    let e: super::Entry =
        serde_json::from_value(entry.clone()).map_err(|e| format!("entry {}: {e}", r.n))?;
    if (e.event, &e.at, &e.file, &e.sha256, &e.audit)
        != (r.event, &r.at, &r.file, &r.sha256, &r.audit)
    {
        return Err(format!(
            "entry {} is no longer the event the witness was sent",
            r.n
        ));
    }
    let head = head_of(&v, r.n)?;
    if head != r.head {
        return Err(format!(
            "the history up to entry {} hashes to {head}, the witness kept {}: an earlier entry \
             was changed",
            r.n, r.head
        ));
    }
    Ok(format!(
        "entry {} ({:?}) and the history before it are unchanged (head {})",
        r.n, r.event, r.head
    ))
}

/// Whether a history extends an older copy of it: same plan and year, and every older entry
/// still at its place, the same event (`Entry::same_event`: its recorder aside, once a login,
/// now a role).
pub fn check_extends(index_bytes: &[u8], older_bytes: &[u8]) -> Result<String, String> {
    let now = parse(index_bytes, "index.json")?;
    let old = parse(older_bytes, "the older index.json")?;
    if (&now["plan"], &now["year"]) != (&old["plan"], &old["year"]) {
        return Err(format!(
            "the older copy is the history of {} ({}), this one of {} ({})",
            old["plan"], old["year"], now["plan"], now["year"]
        ));
    }
    let entry = |v: &Value, n: usize| {
        serde_json::from_value::<super::Entry>(v.clone()).map_err(|e| format!("entry {n}: {e}"))
    };
    for (i, o) in entries(&old).iter().enumerate() {
        let Some(n) = entries(&now).get(i) else {
            return Err(format!(
                "the older copy lists {} events, this history only {}: it shrank",
                entries(&old).len(),
                entries(&now).len()
            ));
        };
        if !entry(n, i + 1)?.same_event(&entry(o, i + 1)?) {
            return Err(format!(
                "entry {} differs from the older copy's ({o} then, {n} now)",
                i + 1
            ));
        }
    }
    Ok(format!(
        "extends the older copy: its {} events are the first {} of {}",
        entries(&old).len(),
        entries(&old).len(),
        entries(&now).len()
    ))
}
