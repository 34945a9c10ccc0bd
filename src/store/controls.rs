//! `job_controls`: what administrators told the daemon about its jobs (pause, resume, run a
//! slot now), as facts never changed; `jobs::Holds` says what they mean for the runner.

use serde::Serialize;
use sqlx::Row;

use super::{Store, StoreError};
use crate::clock::{Clock, stamp};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobControl {
    pub id: i64,
    pub job: String,
    /// A plan id, or `jobs::DEPARTMENT`.
    pub owner: String,
    /// pause, resume or run.
    pub action: String,
    /// The slot a `run` asks for.
    pub slot: Option<String>,
    pub reason: String,
    pub actor: String,
    pub recorded_at: String,
}

const COLUMNS: &str = "id, job, owner, action, slot, reason, actor, recorded_at";

fn control_row(r: &sqlx::any::AnyRow) -> Result<JobControl, StoreError> {
    Ok(JobControl {
        id: r.try_get(0)?,
        job: r.try_get(1)?,
        owner: r.try_get(2)?,
        action: r.try_get(3)?,
        slot: r.try_get(4)?,
        reason: r.try_get(5)?,
        actor: r.try_get(6)?,
        recorded_at: r.try_get(7)?,
    })
}

impl Store {
    /// Records a control of `job` of `owner`, audited under `actor`. A pause of a paused job
    /// and a resume of a running one are refused (checked under the writer lock, so two
    /// administrators cannot both pause). A `run` of a slot that waits or failed makes its
    /// next attempt due now, on the clock the jobs run on.
    pub async fn record_control(
        &self,
        (job, owner): (&str, &str),
        (action, slot): (&str, Option<&str>),
        reason: &str,
        clock: &dyn Clock,
        actor: &str,
    ) -> Result<i64, StoreError> {
        let mut tx = self.begin_write().await?;
        if action != "run" {
            let last = sqlx::query(
                "SELECT action, actor, recorded_at FROM job_controls WHERE job = $1 AND \
                 owner = $2 AND action IN ('pause', 'resume') ORDER BY id DESC LIMIT 1",
            )
            .bind(job)
            .bind(owner)
            .fetch_optional(&mut *tx)
            .await?;
            let paused = match &last {
                Some(r) => r.try_get::<String, _>(0)? == "pause",
                None => false,
            };
            if paused == (action == "pause") {
                return Err(StoreError::Refused(match last {
                    Some(r) if paused => format!(
                        "job {job} of {owner} is paused already (by {} at {})",
                        r.try_get::<String, _>(1)?,
                        r.try_get::<String, _>(2)?
                    ),
                    _ => format!("job {job} of {owner} is not paused"),
                }));
            }
        }
        let now = stamp(clock.wall());
        let id: i64 = sqlx::query(
            "INSERT INTO job_controls (job, owner, action, slot, reason, actor, recorded_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(job)
        .bind(owner)
        .bind(action)
        .bind(slot)
        .bind(reason)
        .bind(actor)
        .bind(&now)
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        if let Some(slot) = slot {
            sqlx::query(
                "UPDATE job_runs SET next_attempt = $1 WHERE job = $2 AND plan_id = $3 AND \
                 slot = $4 AND status IN ('waiting', 'failed')",
            )
            .bind(stamp(clock.now()))
            .bind(job)
            .bind(owner)
            .bind(slot)
            .execute(&mut *tx)
            .await?;
        }
        Store::audit(
            &mut tx,
            clock,
            actor,
            &format!("job.{action}"),
            &format!("{owner}/{job}"),
            &serde_json::json!({ "slot": slot, "reason": reason, "control": id }),
        )
        .await?;
        self.commit(tx).await?;
        Ok(id)
    }

    /// The `limit` slots run most recently (a slot's row holds its latest attempt), newest
    /// first: the jobs' history.
    pub async fn recent_job_runs(&self, limit: i64) -> Result<Vec<super::JobRun>, StoreError> {
        super::fetch_records(
            &self.pool,
            format!(
                "SELECT {} FROM job_runs ORDER BY started_at DESC, id DESC LIMIT $1",
                super::jobs::RUN_COLUMNS
            ),
            vec![super::Val::Int(limit)],
            super::jobs::run_row,
        )
        .await
    }

    /// Every control recorded, oldest first.
    pub async fn job_controls(&self) -> Result<Vec<JobControl>, StoreError> {
        super::fetch_records(
            &self.pool,
            format!("SELECT {COLUMNS} FROM job_controls ORDER BY id"),
            Vec::new(),
            control_row,
        )
        .await
    }
}
