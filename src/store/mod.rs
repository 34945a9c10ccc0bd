//! Storage: the only module that knows SQL.
//!
//! One code path for SQLite (embedded default) and PostgreSQL (multi-instance) through sqlx's
//! `Any` driver: every query is written once with `$n` placeholders, which both accept. Where the
//! dialects truly differ (migrations, the write lock) the two versions stand side by side here.
//!
//! Writes go through [`Store::begin_write`], which takes the database-wide writer lock first
//! (`BEGIN IMMEDIATE` on SQLite, a transaction-scoped advisory lock on PostgreSQL). There is one
//! writer at a time, so the audit chain is appended without races and an SQLite transaction that
//! reads before it writes never fails with BUSY half-way.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use serde::Serialize;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, AssertSqlSafe, Executor, Row, SqlSafeStr, Transaction};

use crate::audit::{self, Entry};
use crate::clock::{Clock, stamp};
use crate::config::{DatabaseSettings, DatabaseUrl};
use crate::import::{Kind, Known};
use crate::registry::{
    Bureau, Conflict, Entity, EntityStatus, Item, Officer, OfficerStatus, OutsideInspection,
    RiskLevel, Snapshot,
};
use crate::vocab::Vocabulary;

mod accounts;
mod attachments;
mod controls;
mod copy;
mod draws;
mod jobs;
mod mode;
pub(crate) mod outbox;
mod sso;
mod stage;
mod takedowns;
mod tasks;
pub use accounts::{AccountRow, Receipt, SessionRow};
pub use attachments::AttachmentRow;
pub use controls::JobControl;
pub use draws::{AuditHead, DrawRecord, ManifestRecord, NewTask, VoidRecord};
pub use jobs::{Claim, JobMark, JobRun, LeaderLock, LeaderRecord, RecordedPlan};
pub use mode::{Mode, production_refusal};
pub use outbox::{Held, Hold, OutboxRow, RelayState, Retry};
pub use stage::{FirstRecords, ImportWriter};
pub use takedowns::{NewTakedown, TakedownRecord};
pub use tasks::{BatchChange, Change, FactRecord, Page, TaskFilter, TaskRow, TaskStart};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL `{0}`: use sqlite://PATH or postgres://USER@HOST/DB")]
    Url(String),
    #[error(
        "this database was written by a newer suiji (its schema is at migration {found}; this \
         binary knows up to {known}): run that version or a newer one; nothing was changed"
    )]
    Newer { found: i64, known: i64 },
    #[error("creating the database folder {path}: {source}")]
    Folder {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "no database at {0}: create one with `suiji init` (a department's production store) \
         or `suiji demo run` (a rehearsal), or point --db at an existing one (only init, \
         import, demo run and serve create a database)"
    )]
    Missing(PathBuf),
    #[error("cannot reach PostgreSQL at {at}: {message}")]
    Unreachable { at: String, message: String },
    /// Not a `source`: its own text would bring the server's source line back.
    #[error("database: {}", sql_text(.0))]
    Sql(sqlx::Error),
    #[error("database migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored row is unreadable: {0}")]
    Corrupt(String),
    #[error(
        "plan {} ({}) was already frozen at {} by {} (manifest digest {})",
        .0.plan_id, .0.year, .0.frozen_at, .0.actor, .0.digest
    )]
    AlreadyFrozen(Box<ManifestRecord>),
    #[error(
        "plan {} ({}) already has its official draw: made at {} by {} with the {} seed value `{}` \
         (draw digest {})",
        .0.plan_id, .0.year, .0.drawn_at, .0.actor, .0.seed_kind, .0.seed_value, .0.digest
    )]
    AlreadyDrawn(Box<DrawRecord>),
    #[error("{0}")]
    NotFound(String),
    /// The job run was taken over by another instance: nothing was written.
    #[error("job run #{0} is no longer ours (another instance took it over); nothing was written")]
    LostClaim(i64),
    /// A held 函告 to be replaced was taken by a deliverer meanwhile: the change is made again
    /// without it.
    #[error("notice #{0} is no longer held: a deliverer took it")]
    NoLongerHeld(i64),
    /// A change the rules do not allow, in words.
    #[error("{0}")]
    Refused(String),
    /// SQLite's one writer lock stayed taken past `busy_timeout_ms`.
    #[error(
        "the database is busy: another suiji process (an import, which holds the lock while it \
         reads its whole file, or the daemon) kept writing past busy_timeout_ms; nothing was \
         written: try again when it is done"
    )]
    Busy,
}

pub type Tx = Transaction<'static, sqlx::Any>;

/// Versioned migrations, side by side per dialect. Never edit a released one: sqlx refuses to
/// start when an applied migration's checksum changed.
const MIGRATIONS: &[(i64, &str, &str, &str)] = &[
    (
        1,
        "registry",
        include_str!("../../migrations/sqlite/0001_registry.sql"),
        include_str!("../../migrations/postgres/0001_registry.sql"),
    ),
    (
        2,
        "draw",
        include_str!("../../migrations/sqlite/0002_draw.sql"),
        include_str!("../../migrations/postgres/0002_draw.sql"),
    ),
    (
        3,
        "lifecycle",
        include_str!("../../migrations/sqlite/0003_lifecycle.sql"),
        include_str!("../../migrations/postgres/0003_lifecycle.sql"),
    ),
    (
        4,
        "trust",
        include_str!("../../migrations/sqlite/0004_trust.sql"),
        include_str!("../../migrations/postgres/0004_trust.sql"),
    ),
    (
        5,
        "daemon",
        include_str!("../../migrations/sqlite/0005_daemon.sql"),
        include_str!("../../migrations/postgres/0005_daemon.sql"),
    ),
    (
        6,
        "notify",
        include_str!("../../migrations/sqlite/0006_notify.sql"),
        include_str!("../../migrations/postgres/0006_notify.sql"),
    ),
    (
        7,
        "report",
        include_str!("../../migrations/sqlite/0007_report.sql"),
        include_str!("../../migrations/postgres/0007_report.sql"),
    ),
    (
        8,
        "frame",
        include_str!("../../migrations/sqlite/0008_frame.sql"),
        include_str!("../../migrations/postgres/0008_frame.sql"),
    ),
    (
        9,
        "store mode",
        include_str!("../../migrations/sqlite/0009_store_mode.sql"),
        include_str!("../../migrations/postgres/0009_store_mode.sql"),
    ),
    (
        10,
        "outbox lease",
        include_str!("../../migrations/sqlite/0010_outbox_lease.sql"),
        include_str!("../../migrations/postgres/0010_outbox_lease.sql"),
    ),
    (
        11,
        "leader runs",
        include_str!("../../migrations/sqlite/0011_leader_runs.sql"),
        include_str!("../../migrations/postgres/0011_leader_runs.sql"),
    ),
    (
        12,
        "public record",
        include_str!("../../migrations/sqlite/0012_public_record.sql"),
        include_str!("../../migrations/postgres/0012_public_record.sql"),
    ),
    (
        13,
        "relay state",
        include_str!("../../migrations/sqlite/0013_relay.sql"),
        include_str!("../../migrations/postgres/0013_relay.sql"),
    ),
    (
        14,
        "takedowns",
        include_str!("../../migrations/sqlite/0014_takedowns.sql"),
        include_str!("../../migrations/postgres/0014_takedowns.sql"),
    ),
    (
        15,
        "outside inspections",
        include_str!("../../migrations/sqlite/0015_outside_inspections.sql"),
        include_str!("../../migrations/postgres/0015_outside_inspections.sql"),
    ),
    (
        16,
        "console",
        include_str!("../../migrations/sqlite/0016_console.sql"),
        include_str!("../../migrations/postgres/0016_console.sql"),
    ),
    (
        17,
        "job controls",
        include_str!("../../migrations/sqlite/0017_job_controls.sql"),
        include_str!("../../migrations/postgres/0017_job_controls.sql"),
    ),
    (
        18,
        "single sign-on",
        include_str!("../../migrations/sqlite/0018_sso.sql"),
        include_str!("../../migrations/postgres/0018_sso.sql"),
    ),
];

/// A `sqlite:` URL's path and query.
fn sqlite_parts(raw: &str) -> Option<(&str, &str)> {
    let path = raw.strip_prefix("sqlite:")?.trim_start_matches("//");
    Some(path.split_once('?').unwrap_or((path, "")))
}

/// Key of the PostgreSQL advisory lock that serialises writers across instances.
const WRITE_LOCK_KEY: i64 = 0x5375_694A_6957_7231;

/// Rows per bulk INSERT statement (one JSON parameter of a few hundred kilobytes).
const CHUNK_ROWS: usize = 5000;

#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// A job run whose completion commits with the effects it writes (see `for_job`).
    job: Option<jobs::JobMark>,
    /// Where the database is: the SQLite file (for the daemon's instance lock), or the
    /// PostgreSQL URL (for the leader's own connection). Never printed.
    location: Location,
}

#[derive(Clone)]
enum Location {
    SqliteFile(Option<PathBuf>),
    Postgres(DatabaseUrl),
}

impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::SqliteFile(p) => write!(f, "SqliteFile({p:?})"),
            Location::Postgres(u) => write!(f, "Postgres({u})"),
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Sql(e)
    }
}

/// A database error as people read it: the server's message, without PostgreSQL's own source
/// line (sqlx appends "at line N" of the server's C code, which tells an admin nothing).
fn sql_text(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(d) => format!("error returned from database: {}", d.message()),
        e => e.to_string(),
    }
}

/// `host:port/db` of a PostgreSQL URL, without the credentials.
fn endpoint(raw: &str) -> String {
    let rest = raw.split_once("://").map_or(raw, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    let rest = rest.split('?').next().unwrap_or(rest);
    let (host, db) = rest.split_once('/').unwrap_or((rest, ""));
    let host = if host.contains(':') || host.starts_with('[') {
        host.to_string()
    } else {
        format!("{host}:5432")
    };
    if db.is_empty() {
        host
    } else {
        format!("{host}/{db}")
    }
}

/// What went wrong connecting, in the words of the innermost cause ("connection refused").
fn connect_error(e: &sqlx::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text = s.to_string();
        source = s.source();
    }
    text
}

impl Store {
    /// Connects, creating an SQLite file (and its folder) if missing, and applies migrations.
    pub async fn open(url: &DatabaseUrl, settings: &DatabaseSettings) -> Result<Store, StoreError> {
        Self::open_with(url, settings, true).await
    }

    /// Connects to a database that must already exist (for commands that only read): a
    /// missing SQLite file is an error, and nothing is created.
    pub async fn open_existing(
        url: &DatabaseUrl,
        settings: &DatabaseSettings,
    ) -> Result<Store, StoreError> {
        Self::open_with(url, settings, false).await
    }

    async fn open_with(
        url: &DatabaseUrl,
        settings: &DatabaseSettings,
        create: bool,
    ) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let raw = url.expose();
        let (backend, connect_url, location) = if let Some((path, query)) = sqlite_parts(raw) {
            if !create && path != ":memory:" && !PathBuf::from(path).is_file() {
                return Err(StoreError::Missing(PathBuf::from(path)));
            }
            if create
                && path != ":memory:"
                && let Some(parent) = PathBuf::from(path).parent()
                && !parent.as_os_str().is_empty()
            {
                std::fs::create_dir_all(parent).map_err(|source| StoreError::Folder {
                    path: parent.to_path_buf(),
                    source,
                })?;
            }
            let mode = if create { "mode=rwc" } else { "mode=rw" };
            let query = if query.contains("mode=") {
                query.to_string()
            } else if query.is_empty() {
                mode.to_string()
            } else {
                format!("{query}&{mode}")
            };
            let file = (path != ":memory:").then(|| PathBuf::from(path));
            (
                Backend::Sqlite,
                format!("sqlite://{path}?{query}"),
                Location::SqliteFile(file),
            )
        } else if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            (
                Backend::Postgres,
                raw.to_string(),
                Location::Postgres(url.clone()),
            )
        } else {
            return Err(StoreError::Url(url.to_string()));
        };
        if backend == Backend::Postgres {
            // The pool would retry a refused connection until its acquire timeout: one direct
            // attempt first says at once what is wrong.
            let attempt = tokio::time::timeout(
                std::time::Duration::from_secs(10),
                <sqlx::AnyConnection as sqlx::Connection>::connect(&connect_url),
            )
            .await;
            let message = match attempt {
                Ok(Ok(conn)) => {
                    let _ = sqlx::Connection::close(conn).await;
                    None
                }
                Ok(Err(e)) => Some(connect_error(&e)),
                Err(_) => Some("no answer within 10 s".to_string()),
            };
            if let Some(message) = message {
                return Err(StoreError::Unreachable {
                    at: endpoint(raw),
                    message,
                });
            }
        }
        let busy = settings.busy_timeout_ms;
        let pool = AnyPoolOptions::new()
            .max_connections(settings.max_connections)
            .acquire_timeout(std::time::Duration::from_secs(15))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers run beside the writer; FULL keeps a committed draw
                        // even across a power cut; foreign keys are off by default in SQLite.
                        let pragmas = format!(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {busy};"
                        );
                        conn.execute(AssertSqlSafe(pragmas)).await?;
                    }
                    Ok(())
                })
            })
            .connect(&connect_url)
            .await?;
        // A newer binary's migrations are not this one's to judge: refuse before touching it.
        let known = MIGRATIONS.last().map_or(0, |m| m.0);
        if let Ok(Some(found)) =
            sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(version) FROM _sqlx_migrations")
                .fetch_one(&pool)
                .await
            && found > known
        {
            pool.close().await;
            return Err(StoreError::Newer { found, known });
        }
        let migrator = Migrator::with_migrations(
            MIGRATIONS
                .iter()
                .map(|&(version, name, sqlite, postgres)| {
                    let sql = match backend {
                        Backend::Sqlite => sqlite,
                        Backend::Postgres => postgres,
                    };
                    Migration::new(
                        version,
                        Cow::Borrowed(name),
                        MigrationType::Simple,
                        sql.into_sql_str(),
                        false,
                    )
                })
                .collect(),
        );
        if let Err(e) = migrator.run(&pool).await {
            // sqlx's SQLite migrator takes no lock (PostgreSQL's takes an advisory one): two
            // processes opening an older database at once both try its new migrations, and
            // the one that loses fails on what the other just applied. Looking again, it finds
            // them applied; a migration that truly fails fails again.
            if backend != Backend::Sqlite {
                return Err(e.into());
            }
            migrator.run(&pool).await?;
        }
        Ok(Store {
            pool,
            backend,
            job: None,
            location,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").fetch_one(&self.pool).await?;
        Ok(())
    }

    /// The SQLite database file a URL names, before anything is opened (none for PostgreSQL or
    /// `:memory:`).
    pub fn sqlite_path(url: &DatabaseUrl) -> Option<PathBuf> {
        sqlite_parts(url.expose())
            .filter(|(path, _)| *path != ":memory:")
            .map(|(path, _)| PathBuf::from(path))
    }

    /// The SQLite database file, if this store is one (none for `:memory:`).
    pub fn sqlite_file(&self) -> Option<&std::path::Path> {
        match &self.location {
            Location::SqliteFile(p) => p.as_deref(),
            Location::Postgres(_) => None,
        }
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// A write transaction holding the database-wide writer lock.
    pub async fn begin_write(&self) -> Result<Tx, StoreError> {
        Ok(match self.backend {
            Backend::Sqlite => {
                self.pool
                    .begin_with("BEGIN IMMEDIATE")
                    .await
                    .map_err(|e| match &e {
                        sqlx::Error::Database(d) if d.code().as_deref() == Some("5") => {
                            StoreError::Busy
                        }
                        _ => StoreError::Sql(e),
                    })?
            }
            Backend::Postgres => {
                let mut tx = self.pool.begin().await?;
                // Wrapped in a SELECT of an integer: the Any driver cannot carry `void`.
                sqlx::query("SELECT 1 FROM (SELECT pg_advisory_xact_lock($1)) AS l")
                    .bind(WRITE_LOCK_KEY)
                    .execute(&mut *tx)
                    .await?;
                tx
            }
        })
    }

    /// Commits a write transaction; for a store working on behalf of a job run, the run is
    /// marked done in the same transaction, so its effects and its completion commit together
    /// (and a run whose claim another instance has taken over commits nothing).
    pub(crate) async fn commit(&self, mut tx: Tx) -> Result<(), StoreError> {
        if let Some(mark) = &self.job {
            jobs::mark_done(&mut tx, mark).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Appends one row to the audit chain inside `tx`.
    pub async fn audit(
        tx: &mut Tx,
        clock: &dyn Clock,
        actor: &str,
        action: &str,
        subject: &str,
        detail: &serde_json::Value,
    ) -> Result<Entry, StoreError> {
        let last = sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut **tx)
            .await?;
        mode::check_clock(tx, clock).await?;
        let (seq, prev_hash) = match last {
            Some(row) => (row.try_get::<i64, _>(0)? + 1, row.try_get::<String, _>(1)?),
            None => (1, audit::GENESIS.to_string()),
        };
        // Always the real time: a replay or a rehearsal never passes for the real thing here.
        let at = stamp(clock.wall());
        let detail = detail.to_string();
        let hash = audit::row_hash(seq, &at, actor, action, subject, &detail, &prev_hash);
        sqlx::query(
            "INSERT INTO audit_log (seq, at, actor, action, subject, detail, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(seq)
        .bind(&at)
        .bind(actor)
        .bind(action)
        .bind(subject)
        .bind(&detail)
        .bind(&prev_hash)
        .bind(&hash)
        .execute(&mut **tx)
        .await?;
        Ok(Entry {
            seq,
            at,
            actor: actor.to_string(),
            action: action.to_string(),
            subject: subject.to_string(),
            detail,
            prev_hash,
            hash,
        })
    }

    /// The last row of the audit chain (what published files anchor).
    pub async fn audit_head(&self) -> Result<Option<AuditHead>, StoreError> {
        let row = sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(AuditHead {
                seq: r.try_get(0)?,
                hash: r.try_get(1)?,
            })
        })
        .transpose()
    }

    pub async fn audit_entries(&self) -> Result<Vec<Entry>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, at, actor, action, subject, detail, prev_hash, hash \
             FROM audit_log ORDER BY seq",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Entry {
                    seq: r.try_get(0)?,
                    at: r.try_get(1)?,
                    actor: r.try_get(2)?,
                    action: r.try_get(3)?,
                    subject: r.try_get(4)?,
                    detail: r.try_get(5)?,
                    prev_hash: r.try_get(6)?,
                    hash: r.try_get(7)?,
                })
            })
            .collect()
    }

    /// Makes the divisions table match the configured vocabulary (codes are never deleted:
    /// past tasks refer to them).
    pub async fn sync_divisions(
        &self,
        vocab: &Vocabulary,
        clock: &dyn Clock,
        actor: &str,
    ) -> Result<(), StoreError> {
        let existing: HashMap<String, String> = sqlx::query("SELECT code, label FROM divisions")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<_, sqlx::Error>>()?;
        let changed: Vec<_> = vocab
            .divisions
            .iter()
            .filter(|d| existing.get(&d.code) != Some(&d.label))
            .collect();
        if changed.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        for d in &changed {
            sqlx::query(
                "INSERT INTO divisions (code, label) VALUES ($1, $2) \
                 ON CONFLICT (code) DO UPDATE SET label = excluded.label",
            )
            .bind(&d.code)
            .bind(&d.label)
            .execute(&mut *tx)
            .await?;
        }
        let detail = serde_json::json!({
            "divisions": changed.iter().map(|d| (&d.code, &d.label)).collect::<BTreeMap<_, _>>()
        });
        Self::audit(
            &mut tx,
            clock,
            actor,
            "config.divisions",
            "divisions",
            &detail,
        )
        .await?;
        self.commit(tx).await?;
        Ok(())
    }

    /// Officer ids and entity USCCs in the store, for checking conflict declarations.
    pub async fn known_keys(&self) -> Result<Known, StoreError> {
        let mut known = Known::default();
        for row in sqlx::query("SELECT id FROM officers")
            .fetch_all(&self.pool)
            .await?
        {
            known.officers.insert(row.try_get(0)?);
        }
        // From the packed frame: a million rows fetched one by one peaked at 300 MiB.
        let frame = self.population().await?;
        known.entities = (0..frame.len() as u32)
            .map(|i| frame.uscc(i).to_string())
            .collect();
        Ok(known)
    }

    /// Row counts of the registry and its bookkeeping, plus the entity pool by sector and risk.
    pub async fn stats(&self) -> Result<Stats, StoreError> {
        let mut counts = BTreeMap::new();
        for table in [
            "entities",
            "officers",
            "conflicts",
            "items",
            "bureaus",
            "inspections",
            "divisions",
            "imports",
            "history",
            "audit_log",
            "manifests",
            "draws",
            "tasks",
            "task_facts",
            "outbox",
        ] {
            // Table names come from the constant list above, never from input.
            let sql = format!("SELECT COUNT(*) FROM {table}");
            let n: i64 = sqlx::query(AssertSqlSafe(sql))
                .fetch_one(&self.pool)
                .await?
                .try_get(0)?;
            counts.insert(table.to_string(), n);
        }
        let mut by_sector = BTreeMap::new();
        let mut by_risk = BTreeMap::new();
        for row in sqlx::query("SELECT sector, risk, COUNT(*) FROM entities GROUP BY sector, risk")
            .fetch_all(&self.pool)
            .await?
        {
            let sector: String = row.try_get(0)?;
            let risk: String = row.try_get(1)?;
            let n: i64 = row.try_get(2)?;
            *by_sector.entry(sector).or_insert(0) += n;
            *by_risk.entry(risk).or_insert(0) += n;
        }
        Ok(Stats {
            backend: self.backend,
            counts,
            entities_by_sector: by_sector,
            entities_by_risk: by_risk,
        })
    }

    /// All entities, ordered by USCC.
    pub async fn entities(&self) -> Result<Vec<Entity>, StoreError> {
        load_all(&self.pool).await
    }

    /// How many tasks are in each status.
    pub async fn tasks_by_status(&self) -> Result<BTreeMap<String, i64>, StoreError> {
        sqlx::query("SELECT status, COUNT(*) FROM tasks GROUP BY status")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }

    /// How many tasks owe something already due before `day` (the nightly check's count).
    pub async fn overdue_count(&self, day: chrono::NaiveDate) -> Result<i64, StoreError> {
        Ok(
            sqlx::query("SELECT COUNT(*) FROM tasks WHERE next_due < $1")
                .bind(day.to_string())
                .fetch_one(&self.pool)
                .await?
                .try_get(0)?,
        )
    }

    /// Tasks with a deadline waiting for a year's holiday data (`"pending"` in `deadlines`).
    pub async fn pending_deadline_count(&self) -> Result<i64, StoreError> {
        self.task_count(
            &TaskFilter {
                pending: true,
                ..Default::default()
            },
            None,
        )
        .await
    }

    /// The name and municipal unit code of each of `usccs` that is in the registry, and the
    /// last import's number: read again after the names, it tells whether an import came
    /// between (the caller then reads its snapshot again).
    pub async fn entity_names(
        &self,
        usccs: &std::collections::HashSet<&str>,
    ) -> Result<(HashMap<String, (String, String)>, i64), StoreError> {
        let mut out = HashMap::with_capacity(usccs.len());
        let mut after = String::new();
        loop {
            let rows = sqlx::query(
                "SELECT uscc, name, city FROM entities WHERE uscc > $1 ORDER BY uscc LIMIT 20000",
            )
            .bind(&after)
            .fetch_all(&self.pool)
            .await?;
            for r in &rows {
                let uscc: String = r.try_get(0)?;
                if usccs.contains(uscc.as_str()) {
                    out.insert(uscc.clone(), (r.try_get(1)?, r.try_get(2)?));
                }
                after = uscc;
            }
            if rows.len() < 20000 {
                break;
            }
        }
        Ok((out, self.last_import().await?))
    }

    /// The number of the last import (0 before any).
    pub async fn last_import(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT COALESCE(MAX(id), 0) FROM imports")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?)
    }

    /// One entity by its USCC.
    pub async fn entity(&self, uscc: &str) -> Result<Option<Entity>, StoreError> {
        let sql = format!(
            "SELECT {} FROM entities WHERE uscc = $1",
            <Entity as Stored>::COLUMNS.join(", ")
        );
        fetch_record(
            &self.pool,
            sql,
            vec![Val::Text(Cow::Borrowed(uscc))],
            Entity::from_row,
        )
        .await
    }

    /// All officers, ordered by id.
    pub async fn officers(&self) -> Result<Vec<Officer>, StoreError> {
        load_all(&self.pool).await
    }

    pub async fn conflicts(&self) -> Result<Vec<Conflict>, StoreError> {
        load_all(&self.pool).await
    }

    pub async fn items(&self) -> Result<Vec<Item>, StoreError> {
        load_all(&self.pool).await
    }

    pub async fn bureaus(&self) -> Result<Vec<Bureau>, StoreError> {
        load_all(&self.pool).await
    }

    /// A read-only transaction that sees one state of the database from its first read to its
    /// end, whatever commits meanwhile (SQLite's WAL snapshot; PostgreSQL's repeatable read).
    async fn begin_read(&self) -> Result<Tx, StoreError> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin().await?,
            Backend::Postgres => {
                self.pool
                    .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .await?
            }
        })
    }

    /// Every entity as the sampling frame needs it, in compact form (see [`population_in`]).
    pub async fn population(&self) -> Result<crate::population::Population, StoreError> {
        let (p, tx) = population_in(self.backend, self.begin_read().await?).await?;
        tx.rollback().await?;
        Ok(p)
    }

    /// The whole registry as plain values, for the rules and the draw, read in one snapshot: an
    /// import committing meanwhile is seen entirely or not at all, so no frame mixes two
    /// versions of the registry.
    pub async fn snapshot(&self) -> Result<Snapshot, StoreError> {
        let (entities, mut tx) = population_in(self.backend, self.begin_read().await?).await?;
        let (last_inspected, team_pairs, mut inspections) =
            Store::inspection_history(&mut *tx).await?;
        let drawn = Store::drawn_by_year(&mut *tx).await?;
        let outside: Vec<OutsideInspection> = load_all(&mut *tx).await?;
        for i in outside {
            crate::registry::count_inspection(&mut inspections, i.uscc, i.inspected_on);
        }
        let snapshot = Snapshot {
            entities,
            officers: load_all(&mut *tx).await?,
            conflicts: load_all(&mut *tx).await?,
            items: load_all(&mut *tx).await?,
            bureaus: load_all(&mut *tx).await?,
            last_inspected,
            team_pairs,
            drawn,
            inspections,
        };
        tx.rollback().await?;
        Ok(snapshot)
    }

    /// Previous versions of one registry row, oldest first, with the import that replaced each.
    pub async fn history(&self, kind: Kind, key: &str) -> Result<Vec<(i64, String)>, StoreError> {
        sqlx::query("SELECT import_id, old FROM history WHERE kind = $1 AND key = $2 ORDER BY id")
            .bind(kind.name())
            .bind(key)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }
}

/// Every entity as the sampling frame needs it, in compact form, read in `tx`. Rows come in
/// chunks, each packed by the database into one string (fields apart by U+001F, rows by U+001E;
/// the import refuses control characters, so neither occurs in a value): a million rows one by
/// one cost seconds in per-row handoffs, and only the columns the pools use are read. A task of
/// its own reads the chunks, so the database packs the next chunk while this one is unpacked;
/// it hands the transaction back when done.
async fn population_in(
    backend: Backend,
    mut tx: Tx,
) -> Result<(crate::population::Population, Tx), StoreError> {
    const CHUNK: i64 = 50_000;
    let sql = match backend {
        Backend::Sqlite => {
            // `frame` is the same packed row, generated by SQLite and held in the index
            // (migration 0008): the read never touches the table.
            "SELECT group_concat(frame, char(30)), max(uscc), count(*) FROM (SELECT uscc, \
             frame FROM entities INDEXED BY entities_frame WHERE uscc > $1 ORDER BY uscc \
             LIMIT $2)"
        }
        Backend::Postgres => {
            "SELECT string_agg(uscc || chr(31) || sector || chr(31) || city || chr(31) \
             || risk || chr(31) || status || chr(31) || tags, chr(30)), max(uscc), \
             count(*) FROM (SELECT uscc, sector, city, risk, status, tags FROM entities \
             WHERE uscc > $1 ORDER BY uscc LIMIT $2) c"
        }
    };
    let (chunks, mut arriving) = tokio::sync::mpsc::channel::<String>(1);
    let reader = tokio::spawn(async move {
        let mut after = String::new();
        loop {
            let r = sqlx::query(sql)
                .bind(after)
                .bind(CHUNK)
                .fetch_one(&mut *tx)
                .await?;
            let n: i64 = r.try_get(2)?;
            if n == 0 {
                break;
            }
            after = r.try_get(1)?;
            // A closed channel: the unpacking failed, and its error is the one reported.
            if chunks.send(r.try_get(0)?).await.is_err() || n < CHUNK {
                break;
            }
        }
        Ok::<_, StoreError>(tx)
    });
    let mut p = crate::population::Population::default();
    while let Some(packed) = arriving.recv().await {
        unpack_entities(&mut p, &packed)?;
    }
    let tx = match reader.await {
        Ok(tx) => tx?,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    };
    Ok((p.finish().map_err(StoreError::Corrupt)?, tx))
}

/// Adds a chunk of entities packed by `population`'s query (fields split by U+001F, rows by
/// U+001E) to the frame.
fn unpack_entities(p: &mut crate::population::Population, packed: &str) -> Result<(), StoreError> {
    for row in packed.split('\u{1e}') {
        let mut f = row.split('\u{1f}');
        let mut field = || f.next().ok_or_else(|| corrupt("entity row", row));
        let (uscc, sector, city, risk, status, tags) =
            (field()?, field()?, field()?, field()?, field()?, field()?);
        if f.next().is_some() {
            return Err(corrupt("entity row", row));
        }
        let tags = if tags == "[]" {
            Vec::new()
        } else {
            parse_list(tags)?
        };
        p.push(
            uscc,
            sector,
            city,
            RiskLevel::parse(risk).ok_or_else(|| corrupt("risk", risk))?,
            EntityStatus::parse(status).ok_or_else(|| corrupt("status", status))?,
            tags.iter().map(String::as_str),
        )
        .map_err(StoreError::Corrupt)?;
    }
    Ok(())
}

/// Where an import came from, recorded with it.
#[derive(Debug, Clone, Serialize)]
pub struct ImportMeta {
    pub kind: Kind,
    pub file: String,
    pub sha256: String,
    pub encoding: String,
    pub actor: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImportOutcome {
    pub import_id: i64,
    pub kind: Kind,
    pub rows: usize,
    pub inserted: usize,
    pub updated: usize,
    pub unchanged: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    pub backend: Backend,
    #[serde(flatten)]
    pub counts: BTreeMap<String, i64>,
    pub entities_by_sector: BTreeMap<String, i64>,
    pub entities_by_risk: BTreeMap<String, i64>,
}

/// A column value on its way to the database. Booleans are stored as 0/1 integers: the `Any`
/// driver cannot decode an SQLite BOOLEAN column.
pub(crate) enum Val<'a> {
    Text(Cow<'a, str>),
    Opt(Option<Cow<'a, str>>),
    Int(i64),
}

impl Serialize for Val<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Val::Text(t) => s.serialize_str(t),
            Val::Opt(o) => o.serialize(s),
            Val::Int(i) => s.serialize_i64(*i),
        }
    }
}

/// How a registry record maps to its table. `COLUMNS` starts with the key columns.
trait Stored: Sized + PartialEq + Serialize {
    const KIND: Kind;
    const TABLE: &'static str;
    const COLUMNS: &'static [&'static str];
    const KEY_COLUMNS: usize;
    fn key(&self) -> String;
    fn values(&self) -> Vec<Val<'_>>;
    fn from_row(row: &AnyRow) -> Result<Self, StoreError>;
}

fn json_list(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

fn parse_list(s: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("list `{s}`: {e}")))
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} `{value}`"))
}

impl Stored for Entity {
    const KIND: Kind = Kind::Entities;
    const TABLE: &'static str = "entities";
    const COLUMNS: &'static [&'static str] = &[
        "uscc", "name", "sector", "city", "county", "risk", "scale", "status", "tags",
    ];
    const KEY_COLUMNS: usize = 1;
    fn key(&self) -> String {
        self.uscc.clone()
    }
    fn values(&self) -> Vec<Val<'_>> {
        vec![
            Val::Text(Cow::Borrowed(&self.uscc)),
            Val::Text(Cow::Borrowed(&self.name)),
            Val::Text(Cow::Borrowed(&self.sector)),
            Val::Text(Cow::Borrowed(&self.city)),
            Val::Opt(self.county.as_deref().map(Cow::Borrowed)),
            Val::Text(Cow::Borrowed(self.risk.code())),
            Val::Opt(self.scale.as_deref().map(Cow::Borrowed)),
            Val::Text(Cow::Borrowed(self.status.code())),
            Val::Text(Cow::Owned(json_list(&self.tags))),
        ]
    }
    fn from_row(r: &AnyRow) -> Result<Self, StoreError> {
        let risk: String = r.try_get(5)?;
        let status: String = r.try_get(7)?;
        Ok(Entity {
            uscc: r.try_get(0)?,
            name: r.try_get(1)?,
            sector: r.try_get(2)?,
            city: r.try_get(3)?,
            county: r.try_get(4)?,
            risk: RiskLevel::parse(&risk).ok_or_else(|| corrupt("risk", &risk))?,
            scale: r.try_get(6)?,
            status: EntityStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
            tags: parse_list(&r.try_get::<String, _>(8)?)?,
        })
    }
}

impl Stored for Officer {
    const KIND: Kind = Kind::Officers;
    const TABLE: &'static str = "officers";
    const COLUMNS: &'static [&'static str] = &[
        "id",
        "name",
        "agency",
        "division",
        "cadre",
        "home_city",
        "expertise",
        "status",
        "valid_until",
        "email",
    ];
    const KEY_COLUMNS: usize = 1;
    fn key(&self) -> String {
        self.id.clone()
    }
    fn values(&self) -> Vec<Val<'_>> {
        vec![
            Val::Text(Cow::Borrowed(&self.id)),
            Val::Text(Cow::Borrowed(&self.name)),
            Val::Text(Cow::Borrowed(&self.agency)),
            Val::Opt(self.division.as_deref().map(Cow::Borrowed)),
            Val::Int(i64::from(self.cadre)),
            Val::Opt(self.home_city.as_deref().map(Cow::Borrowed)),
            Val::Text(Cow::Owned(json_list(&self.expertise))),
            Val::Text(Cow::Borrowed(self.status.code())),
            Val::Opt(
                self.valid_until
                    .map(|d| Cow::Owned(d.format("%Y-%m-%d").to_string())),
            ),
            Val::Opt(self.email.as_deref().map(Cow::Borrowed)),
        ]
    }
    fn from_row(r: &AnyRow) -> Result<Self, StoreError> {
        let status: String = r.try_get(7)?;
        let valid_until: Option<String> = r.try_get(8)?;
        Ok(Officer {
            id: r.try_get(0)?,
            name: r.try_get(1)?,
            agency: r.try_get(2)?,
            division: r.try_get(3)?,
            cadre: r.try_get::<i64, _>(4)? != 0,
            home_city: r.try_get(5)?,
            expertise: parse_list(&r.try_get::<String, _>(6)?)?,
            status: OfficerStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
            valid_until: match valid_until {
                Some(d) => Some(
                    chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                        .map_err(|_| corrupt("date", &d))?,
                ),
                None => None,
            },
            email: r.try_get(9)?,
        })
    }
}

impl Stored for Conflict {
    const KIND: Kind = Kind::Conflicts;
    const TABLE: &'static str = "conflicts";
    const COLUMNS: &'static [&'static str] = &["officer_id", "uscc", "reason"];
    const KEY_COLUMNS: usize = 2;
    fn key(&self) -> String {
        format!("{} / {}", self.officer_id, self.uscc)
    }
    fn values(&self) -> Vec<Val<'_>> {
        vec![
            Val::Text(Cow::Borrowed(&self.officer_id)),
            Val::Text(Cow::Borrowed(&self.uscc)),
            Val::Text(Cow::Borrowed(&self.reason)),
        ]
    }
    fn from_row(r: &AnyRow) -> Result<Self, StoreError> {
        Ok(Conflict {
            officer_id: r.try_get(0)?,
            uscc: r.try_get(1)?,
            reason: r.try_get(2)?,
        })
    }
}

impl Stored for OutsideInspection {
    const KIND: Kind = Kind::Inspections;
    const TABLE: &'static str = "inspections";
    const COLUMNS: &'static [&'static str] = &["uscc", "inspected_on", "kind", "body", "reference"];
    const KEY_COLUMNS: usize = 4;
    fn key(&self) -> String {
        format!(
            "{} / {} / {} / {}",
            self.uscc, self.inspected_on, self.kind, self.body
        )
    }
    fn values(&self) -> Vec<Val<'_>> {
        vec![
            Val::Text(Cow::Borrowed(&self.uscc)),
            Val::Text(Cow::Owned(self.inspected_on.format("%Y-%m-%d").to_string())),
            Val::Text(Cow::Borrowed(&self.kind)),
            Val::Text(Cow::Borrowed(&self.body)),
            Val::Opt(self.reference.as_deref().map(Cow::Borrowed)),
        ]
    }
    fn from_row(r: &AnyRow) -> Result<Self, StoreError> {
        let day: String = r.try_get(1)?;
        Ok(OutsideInspection {
            uscc: r.try_get(0)?,
            inspected_on: chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d")
                .map_err(|_| corrupt("date", &day))?,
            kind: r.try_get(2)?,
            body: r.try_get(3)?,
            reference: r.try_get(4)?,
        })
    }
}

impl Stored for Item {
    const KIND: Kind = Kind::Items;
    const TABLE: &'static str = "items";
    const COLUMNS: &'static [&'static str] = &[
        "code",
        "name",
        "basis",
        "object",
        "body",
        "method",
        "frequency",
    ];
    const KEY_COLUMNS: usize = 1;
    fn key(&self) -> String {
        self.code.clone()
    }
    fn values(&self) -> Vec<Val<'_>> {
        [
            &self.code,
            &self.name,
            &self.basis,
            &self.object,
            &self.body,
            &self.method,
            &self.frequency,
        ]
        .into_iter()
        .map(|s| Val::Text(Cow::Borrowed(s)))
        .collect()
    }
    fn from_row(r: &AnyRow) -> Result<Self, StoreError> {
        Ok(Item {
            code: r.try_get(0)?,
            name: r.try_get(1)?,
            basis: r.try_get(2)?,
            object: r.try_get(3)?,
            body: r.try_get(4)?,
            method: r.try_get(5)?,
            frequency: r.try_get(6)?,
        })
    }
}

impl Stored for Bureau {
    const KIND: Kind = Kind::Bureaus;
    const TABLE: &'static str = "bureaus";
    const COLUMNS: &'static [&'static str] = &["unit", "name", "email"];
    const KEY_COLUMNS: usize = 1;
    fn key(&self) -> String {
        self.unit.clone()
    }
    fn values(&self) -> Vec<Val<'_>> {
        vec![
            Val::Text(Cow::Borrowed(&self.unit)),
            Val::Text(Cow::Borrowed(&self.name)),
            Val::Text(Cow::Borrowed(&self.email)),
        ]
    }
    fn from_row(r: &AnyRow) -> Result<Self, StoreError> {
        Ok(Bureau {
            unit: r.try_get(0)?,
            name: r.try_get(1)?,
            email: r.try_get(2)?,
        })
    }
}

/// The one row (or none) an SQL query selects, read with `map`. Values are bound in order.
pub(crate) async fn fetch_record<'e, T>(
    executor: impl Executor<'e, Database = sqlx::Any>,
    sql: String,
    binds: Vec<Val<'_>>,
    map: fn(&AnyRow) -> Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    // Only constant identifiers are formatted into `sql`; values are bound here.
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for v in binds {
        q = bind(q, v);
    }
    q.fetch_optional(executor)
        .await?
        .as_ref()
        .map(map)
        .transpose()
}

/// Every row an SQL query selects, read with `map`. Values are bound in order.
pub(crate) async fn fetch_records<'e, T>(
    executor: impl Executor<'e, Database = sqlx::Any>,
    sql: String,
    binds: Vec<Val<'_>>,
    map: fn(&AnyRow) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    // Only constant identifiers are formatted into `sql`; values are bound here.
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for v in binds {
        q = bind(q, v);
    }
    q.fetch_all(executor).await?.iter().map(map).collect()
}

/// A column of [`fetch_packed`]'s rows: text or a number as it is, or JSON text embedded as a
/// value (read straight into its type).
pub(crate) enum Packed {
    Plain(&'static str),
    Json(&'static str),
}

/// Every row of `SELECT columns rest` (`rest`: from `FROM` on), packed by the database into one
/// JSON array of arrays and read as `T` tuples. Walking a million rows a page at a time, sqlx's
/// per-row handover (a copy of every value and a thread wake-up per row) costs several times
/// the query; one value per page does not, and JSON's escaping keeps any text intact.
pub(crate) async fn fetch_packed<T: serde::de::DeserializeOwned>(
    store: &Store,
    columns: &[Packed],
    rest: &str,
    binds: Vec<Val<'_>>,
) -> Result<Vec<T>, StoreError> {
    let names: Vec<&str> = columns
        .iter()
        .map(|(Packed::Plain(c) | Packed::Json(c))| *c)
        .collect();
    let inner = format!("SELECT {} {rest}", names.join(", "));
    let items: Vec<String> = columns
        .iter()
        .map(|c| match (store.backend, c) {
            (Backend::Sqlite, Packed::Json(c)) => format!("json({c})"),
            (Backend::Postgres, Packed::Json(c)) => format!("{c}::json"),
            (_, Packed::Plain(c)) => (*c).to_string(),
        })
        .collect();
    let sql = match store.backend {
        Backend::Sqlite => format!(
            "SELECT json_group_array(json_array({})) FROM ({inner})",
            items.join(", ")
        ),
        Backend::Postgres => format!(
            "SELECT json_agg(json_build_array({}))::text FROM ({inner}) p",
            items.join(", ")
        ),
    };
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for v in binds {
        q = bind(q, v);
    }
    // No rows: PostgreSQL's aggregate is NULL, SQLite's an empty array.
    let packed: Option<String> = q.fetch_one(&store.pool).await?.try_get(0)?;
    match packed {
        Some(text) => serde_json::from_str(&text)
            .map_err(|e| StoreError::Corrupt(format!("packed rows: {e}"))),
        None => Ok(Vec::new()),
    }
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

fn bind<'q>(q: AnyQuery<'q>, v: Val<'_>) -> AnyQuery<'q> {
    match v {
        Val::Text(t) => q.bind(t.into_owned()),
        Val::Opt(o) => q.bind(o.map(Cow::into_owned)),
        Val::Int(i) => q.bind(i),
    }
}

async fn load_all<'e, T: Stored>(
    executor: impl Executor<'e, Database = sqlx::Any>,
) -> Result<Vec<T>, StoreError> {
    let sql = format!(
        "SELECT {} FROM {} ORDER BY {}",
        T::COLUMNS.join(", "),
        T::TABLE,
        T::COLUMNS[..T::KEY_COLUMNS].join(", ")
    );
    sqlx::query(AssertSqlSafe(sql))
        .fetch_all(executor)
        .await?
        .iter()
        .map(T::from_row)
        .collect()
}

/// Bulk INSERT in chunks; with `upsert_keys`, rows whose first columns collide update the rest.
///
/// Each chunk travels as one JSON array bound to a single parameter and is unpacked by the
/// database (`jsonb_each` on SQLite, `json_array_elements` on PostgreSQL): binding thousands of
/// separate parameters costs SQLite a quadratic name lookup and the `Any` driver a conversion
/// per value, which held SQLite under 10,000 rows/s. SQLite's `jsonb_each` hands each row to
/// `->>` in its binary form, where `json_each` renders every row back to JSON text for `->>` to
/// parse again: a million nine-column rows took 3.8 s that way and 2.0 s this way.
pub(crate) async fn insert_rows(
    tx: &mut Tx,
    backend: Backend,
    table: &str,
    columns: &[&str],
    upsert_keys: Option<usize>,
    rows: impl Iterator<Item = Vec<Val<'_>>>,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(), StoreError> {
    let conflict = match upsert_keys {
        Some(k) => format!(
            " ON CONFLICT ({}) DO UPDATE SET {}",
            columns[..k].join(", "),
            columns[k..]
                .iter()
                .map(|c| format!("{c} = excluded.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => String::new(),
    };
    let mut rows = rows.peekable();
    let Some(first) = rows.peek() else {
        return Ok(());
    };
    let fields: Vec<String> = first
        .iter()
        .enumerate()
        .map(|(i, v)| match (backend, v) {
            (Backend::Sqlite, _) => format!("r.value ->> {i}"),
            (Backend::Postgres, Val::Int(_)) => format!("(r ->> {i})::bigint"),
            (Backend::Postgres, _) => format!("r ->> {i}"),
        })
        .collect();
    // `WHERE true` keeps SQLite from reading ON CONFLICT as a join constraint.
    let source = match backend {
        Backend::Sqlite => "jsonb_each($1) AS r WHERE true",
        Backend::Postgres => "json_array_elements($1::json) AS r",
    };
    // Only constant identifiers are interpolated; the data is the one bound parameter.
    let sql = format!(
        "INSERT INTO {table} ({}) SELECT {} FROM {source}{conflict}",
        columns.join(", "),
        fields.join(", ")
    );
    let mut next_chunk = || -> Result<Option<(u64, String)>, StoreError> {
        let chunk: Vec<Vec<Val<'_>>> = rows.by_ref().take(CHUNK_ROWS).collect();
        if chunk.is_empty() {
            return Ok(None);
        }
        let payload =
            serde_json::to_string(&chunk).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(Some((chunk.len() as u64, payload)))
    };
    let mut done = 0u64;
    let mut pending = next_chunk()?;
    while let Some((n, payload)) = pending.take() {
        // The database works on this chunk (on its own thread for SQLite, on the server for
        // PostgreSQL) while this task serialises the next one.
        let (written, next) = tokio::join!(
            sqlx::query(AssertSqlSafe(sql.as_str()))
                .bind(payload)
                .execute(&mut **tx),
            async { next_chunk() }
        );
        written?;
        pending = next?;
        done += n;
        progress(done);
    }
    Ok(())
}
