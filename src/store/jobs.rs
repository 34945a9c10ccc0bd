//! `job_runs`: the record of what the daemon ran, one row per (job, plan, slot). A slot is
//! claimed by the insert that wins the unique index (or, for a slot that failed, waits or was
//! left running by a dead process, by a compare-and-set update); a run is marked done in the
//! same transaction as its effects. Also the leader record and seed digits entered ahead of the
//! draw.

use serde::Serialize;
use sqlx::Row;

use super::{ManifestRecord, Store, StoreError, Tx};
use crate::clock::{Clock, stamp};

/// A claimed run, on whose behalf a store writes (`Store::for_job`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobMark {
    pub run_id: i64,
    pub owner: String,
    pub finished_at: String,
}

/// The outcome of trying to claim a slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Ours to run: the run's id and its attempt number (1 for the first).
    Won { run_id: i64, attempt: i64 },
    /// Already done.
    Done,
    /// Not now: running elsewhere, or failed/waiting with its next attempt later.
    NotYet,
}

#[derive(Debug, Clone, Serialize)]
pub struct JobRun {
    pub id: i64,
    pub job: String,
    pub plan_id: String,
    pub slot: String,
    pub status: String,
    pub owner: String,
    pub attempts: i64,
    pub next_attempt: Option<String>,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub outcome: Option<String>,
    pub error: Option<String>,
    pub duration_ms: Option<i64>,
}

pub(super) const RUN_COLUMNS: &str = "id, job, plan_id, slot, status, owner, attempts, next_attempt, \
     started_at, finished_at, outcome, error, duration_ms";

pub(super) fn run_row(r: &sqlx::any::AnyRow) -> Result<JobRun, StoreError> {
    Ok(JobRun {
        id: r.try_get(0)?,
        job: r.try_get(1)?,
        plan_id: r.try_get(2)?,
        slot: r.try_get(3)?,
        status: r.try_get(4)?,
        owner: r.try_get(5)?,
        attempts: r.try_get(6)?,
        next_attempt: r.try_get(7)?,
        started_at: r.try_get(8)?,
        finished_at: r.try_get(9)?,
        outcome: r.try_get(10)?,
        error: r.try_get(11)?,
        duration_ms: r.try_get(12)?,
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct LeaderRecord {
    pub holder: String,
    pub since: String,
    pub seen: String,
    /// What it runs (its rule file and plan, the department's schedules), as it last said.
    pub runs: Option<serde_json::Value>,
}

/// One plan a leader's record says its daemon runs, as far as the record names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedPlan {
    pub plan: String,
    pub year: Option<i32>,
    pub rules_file: Option<String>,
    pub script_sha256: Option<String>,
}

impl LeaderRecord {
    /// The plans its daemon runs: the record's `plans`, or, recorded by a daemon that ran one
    /// plan, the one at its top level.
    pub fn plans(&self) -> Vec<RecordedPlan> {
        let Some(runs) = &self.runs else {
            return Vec::new();
        };
        let one = |v: &serde_json::Value| {
            let text = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
            Some(RecordedPlan {
                plan: text("plan")?,
                year: v
                    .get("year")
                    .and_then(|y| y.as_i64())
                    .and_then(|y| i32::try_from(y).ok()),
                rules_file: text("rules_file"),
                script_sha256: text("script_sha256"),
            })
        };
        match runs.get("plans").and_then(|p| p.as_array()) {
            Some(list) => list.iter().filter_map(one).collect(),
            None => one(runs).into_iter().collect(),
        }
    }
}

/// Marks a run done inside the transaction of its effects; refuses if the run is no longer
/// ours (its claim was taken over after we were presumed dead).
pub(super) async fn mark_done(tx: &mut Tx, mark: &JobMark) -> Result<(), StoreError> {
    let n = sqlx::query(
        "UPDATE job_runs SET status = 'done', finished_at = $1, error = NULL, next_attempt = NULL \
         WHERE id = $2 AND owner = $3",
    )
    .bind(&mark.finished_at)
    .bind(mark.run_id)
    .bind(&mark.owner)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if n != 1 {
        return Err(StoreError::LostClaim(mark.run_id));
    }
    Ok(())
}

/// The PostgreSQL leader's lock: a session advisory lock held on a connection of its own. The
/// server releases it when the connection ends, whatever way the process dies.
pub struct LeaderLock {
    conn: sqlx::AnyConnection,
}

/// Key of the advisory lock that makes one instance the leader.
const LEADER_LOCK_KEY: i64 = 0x5375_694A_694C_6472;

impl LeaderLock {
    /// Whether the lock's connection (and so the lock) is still there.
    pub async fn alive(&mut self) -> bool {
        sqlx::query("SELECT 1")
            .fetch_one(&mut self.conn)
            .await
            .is_ok()
    }

    pub async fn release(mut self) {
        let _ = sqlx::query("SELECT 1 FROM (SELECT pg_advisory_unlock($1)) AS l")
            .bind(LEADER_LOCK_KEY)
            .execute(&mut self.conn)
            .await;
        let _ = sqlx::Connection::close(self.conn).await;
    }
}

impl Store {
    /// On PostgreSQL, tries to become the leader: `Some` holds the lock until dropped or
    /// released (or the process dies). `None` on SQLite, where the daemon's file lock decides.
    pub async fn try_leader_lock(&self) -> Result<Option<LeaderLock>, StoreError> {
        let super::Location::Postgres(url) = &self.location else {
            return Ok(None);
        };
        let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(url.expose()).await?;
        let got: bool = sqlx::query("SELECT pg_try_advisory_lock($1)")
            .bind(LEADER_LOCK_KEY)
            .fetch_one(&mut conn)
            .await?
            .try_get(0)?;
        if got {
            Ok(Some(LeaderLock { conn }))
        } else {
            let _ = sqlx::Connection::close(conn).await;
            Ok(None)
        }
    }

    /// This store, writing on behalf of a claimed run: the run is marked done by the
    /// transaction that writes its effects.
    pub fn for_job(&self, mark: JobMark) -> Store {
        Store {
            job: Some(mark),
            ..self.clone()
        }
    }

    /// This store, writing upkeep a job does before its effects (idempotent, so done again if
    /// the run is): its commits do not mark the run done.
    pub fn without_job(&self) -> Store {
        Store {
            job: None,
            ..self.clone()
        }
    }

    /// Claims a slot for `owner`: a new slot by inserting its row (the unique index lets one
    /// insert win), a failed or waiting one whose next attempt is due, or one left `running`
    /// (`take_over`: the caller holds the leadership and runs its slots one at a time, so a
    /// running row it meets is no live run: a dead process's, or its own whose end could not
    /// be recorded; a process restarted under the same host name and PID has another `owner`,
    /// see `instance`).
    #[allow(clippy::too_many_arguments)]
    pub async fn claim(
        &self,
        job: &str,
        plan_id: &str,
        slot: &str,
        owner: &str,
        take_over: bool,
        clock: &dyn Clock,
    ) -> Result<Claim, StoreError> {
        let mut tx = self.begin_write().await?;
        // Start times are real; retries are due on the clock the jobs run on (a rehearsal's).
        let now = stamp(clock.wall());
        let due_by = stamp(clock.now());
        let inserted = sqlx::query(
            "INSERT INTO job_runs (job, plan_id, slot, status, owner, attempts, started_at) \
             VALUES ($1, $2, $3, 'running', $4, 1, $5) \
             ON CONFLICT (job, plan_id, slot) DO NOTHING RETURNING id",
        )
        .bind(job)
        .bind(plan_id)
        .bind(slot)
        .bind(owner)
        .bind(&now)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = inserted {
            let run_id: i64 = row.try_get(0)?;
            tx.commit().await?;
            return Ok(Claim::Won { run_id, attempt: 1 });
        }
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM job_runs WHERE job = $1 AND plan_id = $2 AND slot = $3"
        );
        let binds = vec![
            super::Val::Text(job.into()),
            super::Val::Text(plan_id.into()),
            super::Val::Text(slot.into()),
        ];
        let Some(run) = super::fetch_record(&mut *tx, sql, binds, run_row).await? else {
            return Err(StoreError::Corrupt(format!(
                "job run {job} {slot} vanished"
            )));
        };
        let claimable = match run.status.as_str() {
            "done" => return Ok(Claim::Done),
            "failed" | "waiting" => run.next_attempt.as_deref().is_none_or(|t| t <= &due_by[..]),
            "running" => take_over,
            _ => false,
        };
        if !claimable {
            return Ok(Claim::NotYet);
        }
        let n = sqlx::query(
            "UPDATE job_runs SET status = 'running', owner = $1, attempts = attempts + 1, \
             started_at = $2, next_attempt = NULL WHERE id = $3 AND status = $4 AND owner = $5",
        )
        .bind(owner)
        .bind(&now)
        .bind(run.id)
        .bind(&run.status)
        .bind(&run.owner)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(if n == 1 {
            Claim::Won {
                run_id: run.id,
                attempt: run.attempts + 1,
            }
        } else {
            Claim::NotYet
        })
    }

    /// Ends a run: `done` (when its effects wrote nothing, or to record its outcome), `failed`
    /// or `waiting` with the time of the next attempt. Only the run's owner can end it. A run
    /// whose effects have committed stays done whatever failed after them (a site rebuild):
    /// the failure is kept as its error. Returns the status recorded.
    #[allow(clippy::too_many_arguments)]
    pub async fn finish_run(
        &self,
        run_id: i64,
        owner: &str,
        status: &str,
        outcome: Option<&str>,
        error: Option<&str>,
        next_attempt: Option<&str>,
        duration_ms: i64,
        clock: &dyn Clock,
    ) -> Result<String, StoreError> {
        let n = sqlx::query(
            "UPDATE job_runs SET status = CASE WHEN status = 'done' THEN 'done' ELSE $1 END, \
             outcome = $2, error = $3, \
             next_attempt = CASE WHEN status = 'done' THEN NULL ELSE $4 END, \
             duration_ms = $5, finished_at = $6 WHERE id = $7 AND owner = $8",
        )
        .bind(status)
        .bind(outcome)
        .bind(error)
        .bind(next_attempt)
        .bind(duration_ms)
        .bind(stamp(clock.wall()))
        .bind(run_id)
        .bind(owner)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if n != 1 {
            return Err(StoreError::LostClaim(run_id));
        }
        Ok(sqlx::query("SELECT status FROM job_runs WHERE id = $1")
            .bind(run_id)
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?)
    }

    /// Every run of a plan (or of the department, `jobs::DEPARTMENT`), in slot order. The
    /// department's runs include the nightly checks and reports recorded under a plan's id
    /// before those jobs became the department's, so none of them runs again.
    pub async fn job_runs(&self, plan_id: &str) -> Result<Vec<JobRun>, StoreError> {
        super::fetch_records(
            &self.pool,
            format!(
                "SELECT {RUN_COLUMNS} FROM job_runs WHERE plan_id = $1 \
                 OR ($1 = '{}' AND job IN ('nightly', 'report')) ORDER BY slot, job",
                crate::jobs::DEPARTMENT
            ),
            vec![super::Val::Text(plan_id.into())],
            run_row,
        )
        .await
    }

    /// Records who leads (informational; leadership itself is a lock).
    pub async fn record_leader(
        &self,
        holder: &str,
        new: bool,
        runs: &str,
        clock: &dyn Clock,
    ) -> Result<(), StoreError> {
        let now = stamp(clock.wall());
        let sql = if new {
            "INSERT INTO leader (name, holder, since, seen, runs) \
             VALUES ('scheduler', $1, $2, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, since = excluded.since, \
             seen = excluded.seen, runs = excluded.runs"
        } else {
            "UPDATE leader SET seen = $2, runs = $3 WHERE name = 'scheduler' AND holder = $1"
        };
        sqlx::query(sql)
            .bind(holder)
            .bind(&now)
            .bind(runs)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn leader(&self) -> Result<Option<LeaderRecord>, StoreError> {
        let row =
            sqlx::query("SELECT holder, since, seen, runs FROM leader WHERE name = 'scheduler'")
                .fetch_optional(&self.pool)
                .await?;
        row.map(|r| {
            let runs: Option<String> = r.try_get(3)?;
            Ok(LeaderRecord {
                holder: r.try_get(0)?,
                since: r.try_get(1)?,
                seen: r.try_get(2)?,
                runs: runs.and_then(|t| serde_json::from_str(&t).ok()),
            })
        })
        .transpose()
    }

    /// Records the public digits of a manual seed for the draw job (once per manifest:
    /// each manifest names its own seed; audited).
    pub async fn enter_seed(
        &self,
        manifest: &ManifestRecord,
        value: &str,
        clock: &dyn Clock,
        actor: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        if let Some((existing, at, by)) = seed_entry_in(&mut tx, manifest.id).await? {
            return Err(StoreError::Refused(format!(
                "the seed digits of {} ({}), manifest-{}, were already entered at {at} by {by} \
                 (`{existing}`); a draw made with them is voided and redrawn from a new \
                 manifest with a new seed, never by entering other digits",
                manifest.plan_id, manifest.year, manifest.seq
            )));
        }
        let at = stamp(clock.now());
        sqlx::query(
            "INSERT INTO seed_entries (manifest_id, plan_id, year, value, entered_at, actor) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(manifest.id)
        .bind(&manifest.plan_id)
        .bind(manifest.year)
        .bind(value)
        .bind(&at)
        .bind(actor)
        .execute(&mut *tx)
        .await?;
        let detail = serde_json::json!({
            "year": manifest.year,
            "manifest": manifest.seq,
            "value": value,
        });
        Store::audit(
            &mut tx,
            clock,
            actor,
            "seed.enter",
            &manifest.plan_id,
            &detail,
        )
        .await?;
        self.commit(tx).await
    }

    /// The digits entered for a manifest's seed, if any.
    pub async fn seed_entry(&self, manifest_id: i64) -> Result<Option<String>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let found = seed_entry_in(&mut tx, manifest_id).await?;
        tx.rollback().await?;
        Ok(found.map(|(v, _, _)| v))
    }
}

async fn seed_entry_in(
    tx: &mut Tx,
    manifest_id: i64,
) -> Result<Option<(String, String, String)>, StoreError> {
    let row =
        sqlx::query("SELECT value, entered_at, actor FROM seed_entries WHERE manifest_id = $1")
            .bind(manifest_id)
            .fetch_optional(&mut **tx)
            .await?;
    row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
        .transpose()
}
