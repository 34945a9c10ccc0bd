//! The audit chain checked: every row's hash, the heads a published copy recorded (anchors),
//! the events the chain records and the store lost, and the events an older published index
//! lists that the history no longer holds. `audit verify` and `restore` both ask it.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{Ctx, OpsError, Result};
use crate::audit::{Anchor, Break};
use crate::publish::Index;

/// What published copies say: the chain heads they recorded and the plan indexes among them
/// (with where each was read).
#[derive(Debug, Default)]
pub struct Published {
    pub anchors: Vec<Anchor>,
    pub indexes: Vec<(PathBuf, Index)>,
}

/// Reads every chain head published in the files given, or in the `index.json` files under the
/// folders given.
pub fn read_published(paths: &[PathBuf]) -> Result<Published> {
    fn walk(p: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
        if p.is_dir() {
            for e in std::fs::read_dir(p)? {
                walk(&e?.path(), out)?;
            }
        } else if p.file_name().is_some_and(|n| n == "index.json") {
            out.push(p.to_path_buf());
        }
        Ok(())
    }
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut files)
                .map_err(|e| OpsError::Invalid(format!("reading {}: {e}", p.display())))?;
        } else {
            files.push(p.clone());
        }
    }
    let mut out = Published::default();
    for f in &files {
        let text = std::fs::read(f)
            .map_err(|e| OpsError::Invalid(format!("{}: cannot read: {e}", f.display())))?;
        let doc: serde_json::Value = serde_json::from_slice(&text)
            .map_err(|e| OpsError::Invalid(format!("{}: not JSON: {e}", f.display())))?;
        crate::audit::anchors_in(&doc, &mut out.anchors);
        if let Ok(index) = serde_json::from_value::<Index>(doc) {
            out.indexes.push((f.clone(), index));
        }
    }
    Ok(out)
}

#[derive(Debug, Serialize)]
pub struct AuditReport {
    pub ok: bool,
    pub rows: usize,
    pub head: Option<Anchor>,
    pub first_broken: Option<Break>,
    pub anchors_checked: usize,
    pub anchor_problems: Vec<Break>,
    /// Freezes, draws and voids the chain records and the store lost.
    pub unrecorded: Vec<Break>,
    /// Events an older published copy lists and the history no longer holds.
    pub shrank: Vec<String>,
}

/// Checks the store's audit chain, against what `published` says when it says anything.
pub async fn verify(ctx: &Ctx<'_>, published: &Published) -> Result<AuditReport> {
    let mut shrank = Vec::new();
    for (file, older) in &published.indexes {
        let now = super::site::index_now(ctx, &older.plan, older.year).await?;
        for problem in crate::publish::lost_entries(older, &now) {
            shrank.push(format!("{}: {problem}", file.display()));
        }
    }
    let entries = ctx.store.audit_entries().await?;
    let result = crate::audit::verify(&entries);
    let anchor_problems = crate::audit::check_anchors(&entries, &published.anchors);
    // Records deleted behind suiji's back leave their audit rows: the chain is intact, but a
    // history published again from the store would have shrunk.
    let unrecorded: Vec<Break> = ctx
        .store
        .unrecorded_events()
        .await?
        .into_iter()
        .map(|(seq, action, plan)| Break {
            seq,
            reason: format!(
                "the chain records `{action}` of {plan} at row {seq}, but the store holds no such \
                 record: it was deleted behind suiji's back"
            ),
        })
        .collect();
    let ok =
        result.is_ok() && anchor_problems.is_empty() && unrecorded.is_empty() && shrank.is_empty();
    Ok(AuditReport {
        ok,
        rows: entries.len(),
        head: entries.last().map(|e| Anchor {
            seq: e.seq,
            hash: e.hash.clone(),
        }),
        first_broken: result.err(),
        anchors_checked: published.anchors.len(),
        anchor_problems,
        unrecorded,
        shrank,
    })
}
