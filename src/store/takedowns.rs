//! Results taken down when their retention ran out: recorded once per task, audited, and read
//! back as events of the plan's published history.

use sqlx::Row;

use super::{AuditHead, Store, StoreError};
use crate::clock::{Clock, stamp};

/// A takedown to record (what `publish::retention::due` found).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTakedown {
    pub task_id: String,
    pub plan_id: String,
    pub year: i64,
    pub draw_id: i64,
    pub uscc: String,
    pub rule: String,
    pub due_on: chrono::NaiveDate,
}

/// A recorded takedown.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TakedownRecord {
    pub task_id: String,
    pub draw_id: i64,
    pub uscc: String,
    pub rule: String,
    pub due_on: String,
    pub at: String,
    pub actor: String,
    pub audit: AuditHead,
}

impl Store {
    /// Records the takedowns not recorded yet, each with its audit row, in one transaction;
    /// returns how many were new (a task already taken down is left as it was).
    pub async fn record_takedowns(
        &self,
        due: &[NewTakedown],
        clock: &dyn Clock,
        actor: &str,
    ) -> Result<usize, StoreError> {
        if due.is_empty() {
            return Ok(0);
        }
        let mut tx = self.begin_write().await?;
        let mut new = 0;
        for t in due {
            let known = sqlx::query("SELECT 1 FROM takedowns WHERE task_id = $1")
                .bind(&t.task_id)
                .fetch_optional(&mut *tx)
                .await?;
            if known.is_some() {
                continue;
            }
            let entry = Store::audit(
                &mut tx,
                clock,
                actor,
                "result.takedown",
                &t.task_id,
                &serde_json::json!({
                    "plan": t.plan_id, "year": t.year, "draw_id": t.draw_id,
                    "uscc": t.uscc, "rule": t.rule, "due_on": t.due_on.to_string(),
                }),
            )
            .await?;
            let head = AuditHead::of(&entry);
            sqlx::query(
                "INSERT INTO takedowns (task_id, plan_id, year, draw_id, uscc, rule, due_on, at, \
                 actor, audit_seq, audit_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(&t.task_id)
            .bind(&t.plan_id)
            .bind(t.year)
            .bind(t.draw_id)
            .bind(&t.uscc)
            .bind(&t.rule)
            .bind(t.due_on.to_string())
            .bind(stamp(clock.wall()))
            .bind(actor)
            .bind(head.seq)
            .bind(&head.hash)
            .execute(&mut *tx)
            .await?;
            new += 1;
        }
        self.commit(tx).await?;
        Ok(new)
    }

    /// A plan's takedowns, in the order they were recorded.
    pub async fn takedowns(
        &self,
        plan_id: &str,
        year: i64,
    ) -> Result<Vec<TakedownRecord>, StoreError> {
        sqlx::query(
            "SELECT task_id, draw_id, uscc, rule, due_on, at, actor, audit_seq, audit_hash \
             FROM takedowns WHERE plan_id = $1 AND year = $2 ORDER BY audit_seq",
        )
        .bind(plan_id)
        .bind(year)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(TakedownRecord {
                task_id: r.try_get(0)?,
                draw_id: r.try_get(1)?,
                uscc: r.try_get(2)?,
                rule: r.try_get(3)?,
                due_on: r.try_get(4)?,
                at: r.try_get(5)?,
                actor: r.try_get(6)?,
                audit: AuditHead {
                    seq: r.try_get(7)?,
                    hash: r.try_get(8)?,
                },
            })
        })
        .collect()
    }
}
