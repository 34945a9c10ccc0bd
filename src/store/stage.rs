//! Registry imports by set-based SQL: the new rows go to a staging table in bulk, a chunk at a
//! time as the file is read (`COPY … FROM
//! STDIN` on PostgreSQL, chunked INSERTs of a temporary table on SQLite), and the database
//! itself finds what is new, changed or unchanged. Neither the old table nor the new file is
//! ever held as a map: memory grows with the rows that changed, page by page, not with the
//! registry.

use std::borrow::Cow;

use sqlx::AssertSqlSafe;

use sqlx::Row;

use super::{
    Backend, ImportMeta, ImportOutcome, Location, Store, StoreError, Stored, Tx, Val, insert_rows,
};
use crate::clock::{Clock, stamp};
use crate::import::{Kind, Records};
use crate::registry::{Bureau, Conflict, Entity, Item, Officer, OutsideInspection};

/// Changed rows read back per page, to keep their previous versions in `history`.
const HISTORY_PAGE: i64 = 20_000;

/// Bytes of COPY text sent to PostgreSQL per message.
const COPY_BUFFER: usize = 1 << 20;

#[derive(Debug, Default)]
pub(super) struct Counts {
    pub inserted: usize,
    pub updated: usize,
    pub unchanged: usize,
}

/// The SQL fragments one registry table's import needs, built from its constant column names.
struct Shape {
    table: &'static str,
    /// Where the file's rows arrive in its order: on SQLite a temporary table sorted into
    /// `stage` once they are all in; on PostgreSQL `stage` itself.
    arrivals: String,
    stage: String,
    columns: &'static [&'static str],
    keys: &'static [&'static str],
    /// `t.k = s.k AND …`
    join: String,
    /// True when a staged row differs from the stored one in any non-key column.
    differs: String,
}

impl Shape {
    fn of<T: Stored>(backend: Backend) -> Shape {
        let keys = &T::COLUMNS[..T::KEY_COLUMNS];
        // NULL-safe inequality: a county going from NULL to a value is a change.
        let ne = match backend {
            Backend::Sqlite => "IS NOT",
            Backend::Postgres => "IS DISTINCT FROM",
        };
        let differs = T::COLUMNS[T::KEY_COLUMNS..]
            .iter()
            .map(|c| format!("t.{c} {ne} s.{c}"))
            .collect::<Vec<_>>()
            .join(" OR ");
        Shape {
            table: T::TABLE,
            arrivals: match backend {
                Backend::Sqlite => format!("arrivals_{}", T::TABLE),
                Backend::Postgres => format!("stage_{}", T::TABLE),
            },
            stage: format!("stage_{}", T::TABLE),
            columns: T::COLUMNS,
            keys,
            join: keys
                .iter()
                .map(|k| format!("t.{k} = s.{k}"))
                .collect::<Vec<_>>()
                .join(" AND "),
            differs: format!("({differs})"),
        }
    }

    fn of_kind(kind: Kind, backend: Backend) -> Shape {
        match kind {
            Kind::Entities => Shape::of::<Entity>(backend),
            Kind::Officers => Shape::of::<Officer>(backend),
            Kind::Conflicts => Shape::of::<Conflict>(backend),
            Kind::Items => Shape::of::<Item>(backend),
            Kind::Bureaus => Shape::of::<Bureau>(backend),
            Kind::Inspections => Shape::of::<OutsideInspection>(backend),
        }
    }

    fn list(&self, alias: &str, columns: &[&str]) -> String {
        columns
            .iter()
            .map(|c| format!("{alias}{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// An import being written, inside one write transaction: its `imports` row, and the rows
/// staged so far. Dropped without [`ImportWriter::finish`], it rolls back and leaves nothing
/// (on PostgreSQL a filled staging table, which the next import empties first).
pub struct ImportWriter<'s> {
    store: &'s Store,
    tx: Tx,
    meta: ImportMeta,
    import_id: i64,
    at: String,
    rows: usize,
    /// PostgreSQL: the connection of its own that COPY fills the staging table over (the Any
    /// driver has no COPY); safe because `tx` holds the writers' lock all along.
    copy: Option<sqlx::PgConnection>,
}

/// See [`Store::first_records`]: RFC 3339 times.
#[derive(Debug, Clone, Default)]
pub struct FirstRecords {
    pub import: Option<String>,
    pub draw: Option<String>,
    pub plan_run: Option<String>,
}

impl Store {
    /// Where the department's jobs start, as recorded: the first import and the first draw
    /// (each on the clock it was recorded on), and the first nightly check or report a daemon
    /// ran under a plan's id before those jobs became the department's.
    pub async fn first_records(&self) -> Result<FirstRecords, StoreError> {
        let row = sqlx::query(
            "SELECT (SELECT MIN(at) FROM imports), (SELECT MIN(drawn_at) FROM draws), \
             (SELECT MIN(slot) FROM job_runs WHERE job IN ('nightly', 'report') \
              AND plan_id <> $1)",
        )
        .bind(crate::jobs::DEPARTMENT)
        .fetch_one(&self.pool)
        .await?;
        Ok(FirstRecords {
            import: row.try_get(0)?,
            draw: row.try_get(1)?,
            plan_run: row.try_get(2)?,
        })
    }

    /// Starts writing an import: takes the writers' lock, records the import and makes the
    /// staging table ready.
    pub async fn begin_import(
        &self,
        meta: &ImportMeta,
        clock: &dyn Clock,
    ) -> Result<ImportWriter<'_>, StoreError> {
        let mut tx = self.begin_write().await?;
        let at = stamp(clock.now());
        let import_id: i64 = sqlx::query(
            "INSERT INTO imports (kind, file, sha256, encoding, rows, inserted, updated, unchanged, actor, at) \
             VALUES ($1, $2, $3, $4, 0, 0, 0, 0, $5, $6) RETURNING id",
        )
        .bind(meta.kind.name())
        .bind(&meta.file)
        .bind(&meta.sha256)
        .bind(&meta.encoding)
        .bind(&meta.actor)
        .bind(&at)
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        let shape = Shape::of_kind(meta.kind, self.backend);
        let copy = match &self.location {
            Location::SqliteFile(_) => {
                // Created and dropped inside `tx`: a failed import rolls it back with the rest.
                for sql in [
                    format!("DROP TABLE IF EXISTS temp.{}", shape.arrivals),
                    format!(
                        "CREATE TEMP TABLE {} AS SELECT {} FROM {} WHERE false",
                        shape.arrivals,
                        shape.columns.join(", "),
                        shape.table
                    ),
                ] {
                    sqlx::query(AssertSqlSafe(sql)).execute(&mut *tx).await?;
                }
                None
            }
            Location::Postgres(url) => {
                use sqlx::Connection;
                let mut conn = sqlx::PgConnection::connect(url.expose()).await?;
                for sql in [
                    format!(
                        "CREATE UNLOGGED TABLE IF NOT EXISTS {} AS SELECT {} FROM {} WITH NO DATA",
                        shape.stage,
                        shape.columns.join(", "),
                        shape.table
                    ),
                    format!("TRUNCATE {}", shape.stage),
                ] {
                    sqlx::query(AssertSqlSafe(sql)).execute(&mut conn).await?;
                }
                Some(conn)
            }
        };
        Ok(ImportWriter {
            store: self,
            tx,
            meta: meta.clone(),
            import_id,
            at,
            rows: 0,
            copy,
        })
    }
}

impl ImportWriter<'_> {
    /// Stages a chunk of the file's records, in the file's order.
    pub async fn write(&mut self, records: &Records) -> Result<(), StoreError> {
        match records {
            Records::Entities(r) => self.stage(r).await,
            Records::Officers(r) => self.stage(r).await,
            Records::Conflicts(r) => self.stage(r).await,
            Records::Items(r) => self.stage(r).await,
            Records::Bureaus(r) => self.stage(r).await,
            Records::Inspections(r) => self.stage(r).await,
        }
    }

    async fn stage<T: Stored>(&mut self, records: &[T]) -> Result<(), StoreError> {
        let shape = Shape::of::<T>(self.store.backend);
        self.rows += records.len();
        let rows = records.iter().map(Stored::values);
        match &mut self.copy {
            None => {
                insert_rows(
                    &mut self.tx,
                    self.store.backend,
                    &shape.arrivals,
                    shape.columns,
                    None,
                    rows,
                    &|_| (),
                )
                .await
            }
            Some(conn) => {
                let statement = format!(
                    "COPY {} ({}) FROM STDIN",
                    shape.stage,
                    shape.columns.join(", ")
                );
                let mut copy = conn.copy_in_raw(&statement).await?;
                let mut buffer = Vec::with_capacity(COPY_BUFFER + 4096);
                for row in rows {
                    copy_text_row(&mut buffer, &row);
                    if buffer.len() >= COPY_BUFFER {
                        copy.send(std::mem::take(&mut buffer)).await?;
                        buffer.reserve(COPY_BUFFER + 4096);
                    }
                }
                if !buffer.is_empty() {
                    copy.send(buffer).await?;
                }
                copy.finish().await?;
                Ok(())
            }
        }
    }

    /// Applies the staged file to its table (new and changed rows written, the previous
    /// versions of changed rows kept in `history`), completes the import's record and its
    /// audit row, and commits.
    pub async fn finish(mut self, clock: &dyn Clock) -> Result<ImportOutcome, StoreError> {
        let counts = match self.meta.kind {
            Kind::Entities => self.apply::<Entity>().await?,
            Kind::Officers => self.apply::<Officer>().await?,
            Kind::Conflicts => self.apply::<Conflict>().await?,
            Kind::Items => self.apply::<Item>().await?,
            Kind::Bureaus => self.apply::<Bureau>().await?,
            Kind::Inspections => self.apply::<OutsideInspection>().await?,
        };
        if let Some(conn) = self.copy.take() {
            use sqlx::Connection;
            conn.close().await?;
        }
        let mut tx = self.tx;
        sqlx::query(
            "UPDATE imports SET rows = $1, inserted = $2, updated = $3, unchanged = $4 WHERE id = $5",
        )
        .bind(self.rows as i64)
        .bind(counts.inserted as i64)
        .bind(counts.updated as i64)
        .bind(counts.unchanged as i64)
        .bind(self.import_id)
        .execute(&mut *tx)
        .await?;
        let outcome = ImportOutcome {
            import_id: self.import_id,
            kind: self.meta.kind,
            rows: self.rows,
            inserted: counts.inserted,
            updated: counts.updated,
            unchanged: counts.unchanged,
        };
        let detail = serde_json::json!({
            "import_id": self.import_id,
            "file": self.meta.file,
            "sha256": self.meta.sha256,
            "rows": outcome.rows,
            "inserted": outcome.inserted,
            "updated": outcome.updated,
            "unchanged": outcome.unchanged,
        });
        Store::audit(
            &mut tx,
            clock,
            &self.meta.actor,
            "import",
            self.meta.kind.name(),
            &detail,
        )
        .await?;
        self.store.commit(tx).await?;
        Ok(outcome)
    }

    /// Upserts the staged rows into their table, keeping the previous version of every changed
    /// row in `history`. Only constant identifiers are interpolated into the SQL.
    async fn apply<T: Stored>(&mut self) -> Result<Counts, StoreError> {
        let backend = self.store.backend;
        let shape = Shape::of::<T>(backend);
        let tx = &mut self.tx;
        if backend == Backend::Sqlite {
            // The file's rows in key order: the joins below then walk the stored table's key
            // B-tree from one end to the other instead of jumping about it, which on SQLite,
            // with its small page cache, halves a re-import of a million unchanged rows. Into
            // an empty table there is nothing to walk, and the INSERT's own sort suffices.
            let stored: i64 = sqlx::query(AssertSqlSafe(format!(
                "SELECT EXISTS (SELECT 1 FROM {})",
                shape.table
            )))
            .fetch_one(&mut **tx)
            .await?
            .try_get(0)?;
            let sqls = if stored == 0 {
                vec![format!(
                    "ALTER TABLE {} RENAME TO {}",
                    shape.arrivals, shape.stage
                )]
            } else {
                vec![
                    format!(
                        "CREATE TEMP TABLE {} AS SELECT * FROM {} ORDER BY {}",
                        shape.stage,
                        shape.arrivals,
                        shape.keys.join(", ")
                    ),
                    format!("DROP TABLE {}", shape.arrivals),
                ]
            };
            for sql in sqls {
                sqlx::query(AssertSqlSafe(sql)).execute(&mut **tx).await?;
            }
        }
        let updated = keep_history::<T>(tx, backend, &shape, self.import_id).await?;
        // In key order every insert appends to the end of the primary-key B-tree instead of
        // landing on a random page. With no changed rows nothing can conflict (the writers' lock
        // keeps other writers out), and the plain INSERT spares PostgreSQL ON CONFLICT's
        // speculative insertion: 1.5 s over a fresh million rows. With changed rows, one upsert
        // writes both kinds, where a separate UPDATE would cost a second join of the whole
        // staged copy against the table; `WHERE` keeps SQLite from reading ON CONFLICT as a
        // join constraint.
        let (changed, upsert) = if updated == 0 {
            (String::new(), String::new())
        } else {
            (
                format!(" OR {}", shape.differs),
                format!(
                    " ON CONFLICT ({}) DO UPDATE SET {}",
                    shape.keys.join(", "),
                    shape.columns[shape.keys.len()..]
                        .iter()
                        .chain(["updated_at"].iter())
                        .map(|c| format!("{c} = excluded.{c}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        };
        let sql = format!(
            "INSERT INTO {table} ({cols}, updated_at) SELECT {s_cols}, $1 FROM {stage} s \
             LEFT JOIN {table} t ON {join} WHERE t.{k0} IS NULL{changed} ORDER BY {s_keys}{upsert}",
            table = shape.table,
            cols = shape.columns.join(", "),
            s_cols = shape.list("s.", shape.columns),
            stage = shape.stage,
            join = shape.join,
            k0 = shape.keys[0],
            s_keys = shape.list("s.", shape.keys),
        );
        // Every row written is new or changed; the changed ones were counted above.
        let written = sqlx::query(AssertSqlSafe(sql))
            .bind(&self.at)
            .execute(&mut **tx)
            .await?
            .rows_affected();
        let inserted = usize::try_from(written)
            .unwrap_or(0)
            .saturating_sub(updated);
        // The staged copy is scratch, not a record: dropped with the transaction on SQLite;
        // on PostgreSQL a crash may leave it filled, and the next import empties it first.
        let clear = match backend {
            Backend::Sqlite => format!("DROP TABLE {}", shape.stage),
            Backend::Postgres => format!("TRUNCATE {}", shape.stage),
        };
        sqlx::query(AssertSqlSafe(clear)).execute(&mut **tx).await?;
        Ok(Counts {
            inserted,
            updated,
            unchanged: self.rows.saturating_sub(inserted + updated),
        })
    }
}

/// Writes the previous version of every row the staged copy changes to `history`, a page at a
/// time in key order, and says how many there were.
async fn keep_history<T: Stored>(
    tx: &mut Tx,
    backend: Backend,
    shape: &Shape,
    import_id: i64,
) -> Result<usize, StoreError> {
    let select = format!(
        "SELECT {} FROM {} t JOIN {} s ON {} WHERE {}",
        shape.list("t.", shape.columns),
        shape.table,
        shape.stage,
        shape.join,
        shape.differs
    );
    let order = format!(
        " ORDER BY {} LIMIT {HISTORY_PAGE}",
        shape.list("t.", shape.keys)
    );
    let placeholders = (1..=shape.keys.len())
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let after = format!(
        "{select} AND ({}) > ({placeholders}){order}",
        shape.list("t.", shape.keys)
    );
    let mut last: Option<Vec<String>> = None;
    let mut total = 0;
    loop {
        let page: Vec<T> = match &last {
            None => {
                sqlx::query(AssertSqlSafe(format!("{select}{order}")))
                    .fetch_all(&mut **tx)
                    .await?
            }
            Some(keys) => {
                let mut q = sqlx::query(AssertSqlSafe(after.as_str()));
                for k in keys {
                    q = q.bind(k.clone());
                }
                q.fetch_all(&mut **tx).await?
            }
        }
        .iter()
        .map(T::from_row)
        .collect::<Result<_, _>>()?;
        let Some(tail) = page.last() else {
            return Ok(total);
        };
        last = Some(
            tail.values()
                .into_iter()
                .take(shape.keys.len())
                .map(|v| match v {
                    Val::Text(t) => t.into_owned(),
                    Val::Opt(o) => o.map(Cow::into_owned).unwrap_or_default(),
                    Val::Int(i) => i.to_string(),
                })
                .collect(),
        );
        total += page.len();
        let rows = page
            .iter()
            .map(|old| {
                let json =
                    serde_json::to_string(old).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                Ok(vec![
                    Val::Text(Cow::Borrowed(T::KIND.name())),
                    Val::Text(Cow::Owned(old.key())),
                    Val::Int(import_id),
                    Val::Text(Cow::Owned(json)),
                ])
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        insert_rows(
            tx,
            backend,
            "history",
            &["kind", "key", "import_id", "old"],
            None,
            rows.into_iter(),
            &|_| (),
        )
        .await?;
    }
}

/// One row in PostgreSQL's COPY text format: tab-separated, `\N` for NULL, and the four
/// characters the format gives meaning to escaped.
fn copy_text_row(out: &mut Vec<u8>, row: &[Val<'_>]) {
    for (i, v) in row.iter().enumerate() {
        if i > 0 {
            out.push(b'\t');
        }
        match v {
            Val::Text(t) | Val::Opt(Some(t)) => {
                for b in t.bytes() {
                    match b {
                        b'\\' => out.extend_from_slice(b"\\\\"),
                        b'\t' => out.extend_from_slice(b"\\t"),
                        b'\n' => out.extend_from_slice(b"\\n"),
                        b'\r' => out.extend_from_slice(b"\\r"),
                        _ => out.push(b),
                    }
                }
            }
            Val::Opt(None) => out.extend_from_slice(b"\\N"),
            Val::Int(n) => out.extend_from_slice(n.to_string().as_bytes()),
        }
    }
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_rows_escape_what_the_format_reads() {
        let mut out = Vec::new();
        copy_text_row(
            &mut out,
            &[
                Val::Text(Cow::Borrowed("a\tb\\c\nd\re")),
                Val::Opt(None),
                Val::Opt(Some(Cow::Borrowed("\\N"))),
                Val::Int(-7),
            ],
        );
        assert_eq!(out, b"a\\tb\\\\c\\nd\\re\t\\N\t\\\\N\t-7\n");
    }
}
