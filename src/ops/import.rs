//! Importing a registry file: read, check and stage it a chunk at a time, and write it all or
//! not at all.

use std::borrow::Cow;
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
    /// `done` of the file's `total` (bytes of a CSV file's text, rows of a sheet) are read,
    /// checked and staged.
    fn read(&self, done: u64, total: u64);
    /// The whole file is in: its changes are being applied.
    fn applying(&self);
}

/// No progress to show.
pub struct Silent;

impl Progress for Silent {
    fn read(&self, _: u64, _: u64) {}
    fn applying(&self) {}
}

/// Rows read, checked and staged at a time: a chunk's rows and records are all an import holds
/// of a CSV file besides a block of its text and a digest of every key.
const CHUNK_ROWS: usize = 10_000;

/// Reads, validates and (unless `dry_run`) writes a registry file, a chunk at a time inside
/// one transaction that commits only if the whole file is good. Problems are returned in the
/// report, not as an error: the file is the user's input.
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
    // The digest recorded with the import, read apart from the rows so that the bytes are
    // not held twice.
    let sha256 = match crate::audit::sha256_file(file) {
        Ok(digest) => digest,
        Err(e) => {
            report.problems.push(Problem::whole_file(
                &report.file,
                &format!("cannot read: {e}"),
            ));
            return Ok(report);
        }
    };
    let mut table = match import::table::read(file, sheet) {
        Ok(t) => t,
        Err(problems) => {
            report.problems = problems;
            return Ok(report);
        }
    };
    report.encoding = Some(table.encoding.to_string());
    let known = if matches!(kind, Kind::Conflicts | Kind::Inspections) {
        import::Known {
            today: Some(ctx.clock.today()),
            ..ctx.store.known_keys().await?
        }
    } else {
        Default::default()
    };
    let mut parser =
        match import::Parser::new(kind, &table, Cow::Owned(vocab.clone()), Cow::Owned(known)) {
            Ok(p) => p,
            Err(problems) => {
                report.problems = problems;
                return Ok(report);
            }
        };
    let meta = ImportMeta {
        kind,
        file: report.file.clone(),
        sha256,
        encoding: table.encoding.to_string(),
        actor: ctx.actor.to_string(),
    };
    let mut writer = match dry_run {
        true => None,
        false => Some(ctx.store.begin_import(&meta, ctx.clock).await?),
    };
    // The file is read and checked on a thread of its own, a chunk ahead of the database
    // writing the last one.
    let (chunks, mut checked) = tokio::sync::mpsc::channel(1);
    let reader = tokio::task::spawn_blocking(move || {
        let mut rows_read = 0;
        loop {
            let rows = table.next_rows(CHUNK_ROWS, parser.problems());
            if rows.is_empty() {
                break;
            }
            rows_read += rows.len();
            let (done, total) = table.progress();
            if rows_read == CHUNK_ROWS {
                // The rows the whole file will have, at the first chunk's bytes per row, so
                // that the parser's keys are not rebuilt over and over as they grow.
                let per_row = done.max(1) as f64 / CHUNK_ROWS as f64;
                parser.expect_rows((total as f64 / per_row * 1.05) as usize);
            }
            let records = parser.chunk(&table, rows);
            // Once the file is known to be refused nothing more is written; the rest is still
            // read, so that one pass names every problem.
            let records = (!parser.refused()).then_some(records);
            if chunks.blocking_send((records, done, total)).is_err() {
                break;
            }
        }
        (parser, rows_read, table.sha256())
    });
    while let Some((records, done, total)) = checked.recv().await {
        if let (Some(w), Some(records)) = (writer.as_mut(), records) {
            w.write(&records).await?;
        }
        progress.read(done, total);
    }
    let (parser, rows_read, read) = reader
        .await
        .map_err(|e| OpsError::Internal(format!("reading {}: {e}", report.file)))?;
    report.rows = rows_read;
    if let Some(read) = read.filter(|read| *read != meta.sha256) {
        // Dropped unfinished, the writer rolls back.
        report.problems.push(Problem::whole_file(
            &report.file,
            &format!(
                "the file changed while it was being imported (SHA-256 {} when the import \
                 began, {read} at its end): nothing was imported; import it again once it is \
                 complete",
                meta.sha256
            ),
        ));
        return Ok(report);
    }
    match parser.finish() {
        // Dropped unfinished, the writer rolls back: a refused file writes nothing at all.
        Err(problems) => report.problems = problems,
        Ok(notes) => {
            report.ignored_columns = notes.ignored_columns;
            if let Some(w) = writer {
                progress.applying();
                report.outcome = Some(w.finish(ctx.clock).await?);
                ctx.store
                    .sync_divisions(&vocab, ctx.clock, ctx.actor)
                    .await?;
            }
            report.ok = true;
        }
    }
    Ok(report)
}
