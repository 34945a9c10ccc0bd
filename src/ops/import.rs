//! Importing a registry file: read and parse it whole, and write it all or not at all.

use std::path::Path;

use serde::Serialize;

use super::{Ctx, OpsError, Result};
use crate::import::{self, Kind, Problem};
use crate::store::{ImportMeta, ImportOutcome};

/// What an import did (or would do, or why it did nothing).
#[derive(Debug, Serialize)]
pub struct ImportReport {
    pub ok: bool,
    pub kind: Kind,
    pub file: String,
    pub dry_run: bool,
    pub encoding: Option<String>,
    pub rows: usize,
    pub ignored_columns: Vec<String>,
    pub outcome: Option<ImportOutcome>,
    pub problems: Vec<Problem>,
}

/// Progress of a long import, for a progress bar (the CLI's) or nothing.
pub trait Progress: Sync {
    /// Validation is done; `rows` records are being written.
    fn writing(&self, rows: u64);
    fn written(&self, rows: u64);
}

/// No progress to show.
pub struct Silent;

impl Progress for Silent {
    fn writing(&self, _: u64) {}
    fn written(&self, _: u64) {}
}

/// Reads, validates and (unless `dry_run`) writes a registry file. Problems are returned in
/// the report, not as an error: the file is the user's input.
pub async fn import_file(
    ctx: &Ctx<'_>,
    kind: Kind,
    file: &Path,
    sheet: Option<&str>,
    dry_run: bool,
    progress: &dyn Progress,
) -> Result<ImportReport> {
    let vocab = ctx
        .settings
        .vocabulary()
        .map_err(|e| OpsError::Invalid(e.to_string()))?;
    let mut report = ImportReport {
        ok: false,
        kind,
        file: file.display().to_string(),
        dry_run,
        encoding: None,
        rows: 0,
        ignored_columns: Vec::new(),
        outcome: None,
        problems: Vec::new(),
    };
    // The digest recorded with the import; the bytes themselves are not kept.
    let sha256 = match std::fs::read(file) {
        Ok(b) => crate::audit::sha256_hex(&b),
        Err(e) => {
            report.problems.push(Problem::whole_file(
                &report.file,
                &format!("cannot read: {e}"),
            ));
            return Ok(report);
        }
    };
    let table = match import::table::read(file, sheet) {
        Ok(t) => t,
        Err(problems) => {
            report.problems = problems;
            return Ok(report);
        }
    };
    report.encoding = Some(table.encoding.to_string());
    report.rows = table.rows().len();
    let known = if kind == Kind::Conflicts {
        ctx.store.known_keys().await?
    } else {
        Default::default()
    };
    let encoding = table.encoding;
    let (records, notes) = match import::parse(kind, table, &vocab, &known) {
        Ok(r) => r,
        Err(problems) => {
            report.problems = problems;
            return Ok(report);
        }
    };
    report.ignored_columns = notes.ignored_columns;
    if !dry_run {
        // Only once the file is accepted: a refused file or a dry run writes nothing at all.
        ctx.store
            .sync_divisions(&vocab, ctx.clock, ctx.actor)
            .await?;
        let meta = ImportMeta {
            kind,
            file: report.file.clone(),
            sha256,
            encoding: encoding.to_string(),
            actor: ctx.actor.to_string(),
        };
        progress.writing(records.len() as u64);
        report.outcome = Some(
            ctx.store
                .apply_import(&meta, &records, ctx.clock, &|n| progress.written(n))
                .await?,
        );
    }
    report.ok = true;
    Ok(report)
}
