//! The outbox: notices written in the transaction of the event that caused them (unique by
//! idempotency key), the items each covers (so none is notified twice), and their delivery
//! state. `notify::send` delivers; this only records.

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;
use sqlx::Row;

use super::{Store, StoreError, Tx};
use crate::clock::{Clock, stamp};
use crate::notify::{Attachment, Mailbox, Notice};

#[derive(Debug, Clone, Serialize)]
pub struct OutboxRow {
    pub id: i64,
    pub key: String,
    pub kind: String,
    pub to: Vec<Mailbox>,
    pub cc: Vec<Mailbox>,
    pub subject: String,
    #[serde(skip)]
    pub text: String,
    #[serde(skip)]
    pub html: String,
    pub late: bool,
    pub status: String,
    pub attempts: i64,
    pub next_attempt: Option<String>,
    pub last_error: Option<String>,
    pub created_at: String,
    pub sent_at: Option<String>,
}

const COLUMNS: &str = "id, key, kind, recipients, cc, subject, body_text, body_html, late, \
     status, attempts, next_attempt, last_error, created_at, sent_at";

fn boxes(v: &str) -> Result<Vec<Mailbox>, StoreError> {
    serde_json::from_str(v).map_err(|e| StoreError::Corrupt(format!("outbox recipients: {e}")))
}

fn outbox_row(r: &sqlx::any::AnyRow) -> Result<OutboxRow, StoreError> {
    Ok(OutboxRow {
        id: r.try_get(0)?,
        key: r.try_get(1)?,
        kind: r.try_get(2)?,
        to: boxes(&r.try_get::<String, _>(3)?)?,
        cc: boxes(&r.try_get::<String, _>(4)?)?,
        subject: r.try_get(5)?,
        text: r.try_get(6)?,
        html: r.try_get(7)?,
        late: r.try_get::<i64, _>(8)? != 0,
        status: r.try_get(9)?,
        attempts: r.try_get(10)?,
        next_attempt: r.try_get(11)?,
        last_error: r.try_get(12)?,
        created_at: r.try_get(13)?,
        sent_at: r.try_get(14)?,
    })
}

fn json(v: &impl Serialize) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Writes notices inside `tx`: a notice whose key is already there is skipped (created once),
/// and so is a notice every item of which is already covered (read here, under the writer's
/// lock: an item notified by a writer that committed since the notice was planned is seen);
/// each item is recorded once. Returns how many were new.
/// Which notices `outbox retry` puts back in line.
#[derive(Debug, Clone)]
pub enum Retry {
    One(i64),
    All { status: String },
}

/// The relay as the deliverers last saw it (real times).
#[derive(Debug, Clone, Default, Serialize)]
pub struct RelayState {
    pub cause: Option<String>,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
    /// Set while delivery fails: since the first failure after the last delivery.
    pub failing_since: Option<String>,
    pub last_sent_at: Option<String>,
}

/// A 函告 still held (queued, never tried, not claimed, not due yet): a draft that a change made
/// within its hold may replace.
#[derive(Debug, Clone)]
pub struct Held {
    pub id: i64,
    pub to: Vec<String>,
    pub items: Vec<String>,
}

/// How a task's change queues its 函告: held for `hold` (a draft for that long), replacing the
/// held 函告 `withdraw` whose inspections it names again.
#[derive(Debug, Clone, Default)]
pub struct Hold {
    pub hold: chrono::Duration,
    pub withdraw: Vec<i64>,
}

/// Takes back a held 函告 that a new letter replaces, in the new letter's transaction; refused
/// if a deliverer took it or it came due meanwhile.
pub(super) async fn withdraw(tx: &mut Tx, id: i64, now: &str) -> Result<(), StoreError> {
    let held = sqlx::query(
        "SELECT 1 FROM outbox WHERE id = $1 AND kind = 'advance_notice' AND status = 'pending' \
         AND attempts = 0 AND lease_owner IS NULL AND next_attempt > $2",
    )
    .bind(id)
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?;
    if held.is_none() {
        return Err(StoreError::NoLongerHeld(id));
    }
    for sql in [
        "DELETE FROM notice_items WHERE outbox_id = $1",
        "DELETE FROM outbox_attachments WHERE outbox_id = $1",
        "DELETE FROM outbox WHERE id = $1",
    ] {
        sqlx::query(sql).bind(id).execute(&mut **tx).await?;
    }
    Ok(())
}

/// Queues `notices`, each due at `next_attempt` (a held 函告 later than now).
pub(super) async fn insert_notices(
    tx: &mut Tx,
    notices: &[Notice],
    created_at: &str,
    next_attempt: &str,
) -> Result<usize, StoreError> {
    let mut n = 0;
    for notice in notices {
        if !notice.items.is_empty() {
            let mut new = false;
            for item in &notice.items {
                let known = sqlx::query("SELECT 1 FROM notice_items WHERE item = $1")
                    .bind(item)
                    .fetch_optional(&mut **tx)
                    .await?;
                if known.is_none() {
                    new = true;
                    break;
                }
            }
            if !new {
                continue;
            }
        }
        let inserted = sqlx::query(
            "INSERT INTO outbox (key, kind, recipients, cc, subject, body_text, body_html, late, \
             status, attempts, next_attempt, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', 0, $10, $9) \
             ON CONFLICT (key) DO NOTHING RETURNING id",
        )
        .bind(&notice.key)
        .bind(notice.kind.name())
        .bind(json(&notice.to)?)
        .bind(json(&notice.cc)?)
        .bind(&notice.subject)
        .bind(&notice.text)
        .bind(&notice.html)
        .bind(i64::from(notice.late))
        .bind(created_at)
        .bind(next_attempt)
        .fetch_optional(&mut **tx)
        .await?;
        let Some(row) = inserted else { continue };
        let id: i64 = row.try_get(0)?;
        n += 1;
        for (i, a) in notice.attachments.iter().enumerate() {
            sqlx::query(
                "INSERT INTO outbox_attachments (outbox_id, n, name, ascii_name, content_type, data) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(id)
            .bind(i as i64)
            .bind(&a.name)
            .bind(&a.ascii_name)
            .bind(&a.content_type)
            .bind(a.data.clone())
            .execute(&mut **tx)
            .await?;
        }
        for item in &notice.items {
            sqlx::query(
                "INSERT INTO notice_items (item, outbox_id) VALUES ($1, $2) \
                 ON CONFLICT (item) DO NOTHING",
            )
            .bind(item)
            .bind(id)
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(n)
}

impl Store {
    /// Queues notices in one transaction (with the job run's completion, for a job).
    pub async fn queue_notices(
        &self,
        notices: &[Notice],
        clock: &dyn Clock,
    ) -> Result<usize, StoreError> {
        let mut tx = self.begin_write().await?;
        let now = stamp(clock.now());
        let n = insert_notices(&mut tx, notices, &now, &now).await?;
        self.commit(tx).await?;
        Ok(n)
    }

    /// Every item already notified.
    pub async fn notified_items(&self) -> Result<HashSet<String>, StoreError> {
        sqlx::query("SELECT item FROM notice_items")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| Ok(r.try_get(0)?))
            .collect()
    }

    /// Claims the pending notices due longest by `due_by` (at most `n`) for `owner` until
    /// `lease_until` (real time): the one update that finds each unclaimed, or its lease run out
    /// at `wall`, takes it, so two deliverers never hold one notice. On PostgreSQL rows another
    /// deliverer is taking are skipped rather than waited for; SQLite has one writer at a time.
    /// Returned in the order they were queued.
    pub async fn outbox_claim(
        &self,
        due_by: &str,
        owner: &str,
        lease_until: &str,
        wall: &str,
        n: i64,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        // The oldest due first, in the order of the index on (status, next_attempt), which
        // ends in the id: the claim reads the few rows it takes (and the few leased ones it
        // skips), not every pending notice. SQLite would otherwise find the outer rows through
        // that index too, scanning the whole backlog at each claim: NOT INDEXED leaves it the
        // rowid lookup.
        let (hint, lock) = match self.backend {
            super::Backend::Sqlite => (" NOT INDEXED", ""),
            super::Backend::Postgres => ("", " FOR UPDATE SKIP LOCKED"),
        };
        let free = "status = 'pending' AND (lease_until IS NULL OR lease_until < $4)";
        let mut rows = super::fetch_records(
            &self.pool,
            format!(
                "UPDATE outbox{hint} SET lease_owner = $1, lease_until = $2 WHERE id IN (SELECT \
                 id FROM outbox WHERE {free} AND next_attempt <= $3 ORDER BY next_attempt, id \
                 LIMIT $5{lock}) AND {free} RETURNING {COLUMNS}"
            ),
            vec![
                super::Val::Text(owner.into()),
                super::Val::Text(lease_until.into()),
                super::Val::Text(due_by.into()),
                super::Val::Text(wall.into()),
                super::Val::Int(n),
            ],
            outbox_row,
        )
        .await?;
        rows.sort_by_key(|r| r.id);
        Ok(rows)
    }

    /// When the next pending delivery attempt is due, if any.
    pub async fn outbox_next_attempt(&self) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query("SELECT MIN(next_attempt) FROM outbox WHERE status = 'pending'")
                .fetch_one(&self.pool)
                .await?
                .try_get(0)?,
        )
    }

    /// The 函告 still held at `now`, with their recipients' addresses and items.
    pub async fn held_letters(&self, now: &str) -> Result<Vec<Held>, StoreError> {
        let rows = sqlx::query(
            "SELECT o.id, o.recipients, i.item FROM outbox o \
             JOIN notice_items i ON i.outbox_id = o.id \
             WHERE o.kind = 'advance_notice' AND o.status = 'pending' AND o.attempts = 0 \
             AND o.lease_owner IS NULL AND o.next_attempt > $1 ORDER BY o.id, i.item",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        let mut out: Vec<Held> = Vec::new();
        for r in rows {
            let id: i64 = r.try_get(0)?;
            let item: String = r.try_get(2)?;
            match out.last_mut() {
                Some(h) if h.id == id => h.items.push(item),
                _ => {
                    let to: Vec<crate::notify::Mailbox> =
                        serde_json::from_str(&r.try_get::<String, _>(1)?)
                            .map_err(|e| StoreError::Corrupt(format!("outbox #{id}: {e}")))?;
                    out.push(Held {
                        id,
                        to: to.into_iter().map(|m| m.email).collect(),
                        items: vec![item],
                    });
                }
            }
        }
        Ok(out)
    }

    /// Pending notices due before `before` (a stamp), and the earliest such time: mail that
    /// the deliverer should long have sent.
    pub async fn outbox_stuck(&self, before: &str) -> Result<(i64, Option<String>), StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*), MIN(next_attempt) FROM outbox \
             WHERE status = 'pending' AND next_attempt < $1",
        )
        .bind(before)
        .fetch_one(&self.pool)
        .await?;
        Ok((row.try_get(0)?, row.try_get(1)?))
    }

    /// The attachments of these notices, each notice's in order (every id has an entry, if
    /// only an empty one): one query for a whole claim.
    pub async fn outbox_attachments(
        &self,
        ids: &[i64],
    ) -> Result<std::collections::HashMap<i64, Vec<Attachment>>, StoreError> {
        let mut out: std::collections::HashMap<i64, Vec<Attachment>> =
            ids.iter().map(|&id| (id, Vec::new())).collect();
        if ids.is_empty() {
            return Ok(out);
        }
        let list: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
        let rows = super::fetch_records(
            &self.pool,
            format!(
                "SELECT outbox_id, name, ascii_name, content_type, data FROM outbox_attachments \
                 WHERE outbox_id IN ({}) ORDER BY outbox_id, n",
                list.join(", ")
            ),
            ids.iter().map(|&id| super::Val::Int(id)).collect(),
            |r| {
                Ok((
                    r.try_get::<i64, _>(0)?,
                    Attachment {
                        name: r.try_get(1)?,
                        ascii_name: r.try_get(2)?,
                        content_type: r.try_get(3)?,
                        data: r.try_get(4)?,
                    },
                ))
            },
        )
        .await?;
        for (id, a) in rows {
            out.entry(id).or_default().push(a);
        }
        Ok(out)
    }

    /// Marks notices delivered, in one transaction, by the holder of their lease (the only way
    /// to a duplicate is a crash between a delivery and this, or a send that outlasted its
    /// lease). Returns those whose lease was still `owner`'s.
    pub async fn outbox_sent(
        &self,
        ids: &[i64],
        owner: &str,
        clock: &dyn Clock,
    ) -> Result<Vec<i64>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 3)).collect();
        let mut binds = vec![
            super::Val::Text(stamp(clock.wall()).into()),
            super::Val::Text(owner.into()),
        ];
        binds.extend(ids.iter().map(|&id| super::Val::Int(id)));
        super::fetch_records(
            &self.pool,
            format!(
                "UPDATE outbox SET status = 'sent', sent_at = $1, attempts = attempts + 1, \
                 last_error = NULL, lease_owner = NULL, lease_until = NULL \
                 WHERE lease_owner = $2 AND id IN ({}) RETURNING id",
                list.join(", ")
            ),
            binds,
            |r| Ok(r.try_get(0)?),
        )
        .await
    }

    /// Records a failed attempt by the holder of its lease: tried again at `next_attempt`, or
    /// given up (`failed`) when there is none. Returns whether the lease was still `owner`'s.
    pub async fn outbox_attempt_failed(
        &self,
        id: i64,
        owner: &str,
        error: &str,
        next_attempt: Option<&str>,
    ) -> Result<bool, StoreError> {
        let status = if next_attempt.is_some() {
            "pending"
        } else {
            "failed"
        };
        let n = sqlx::query(
            "UPDATE outbox SET status = $1, attempts = attempts + 1, last_error = $2, \
             next_attempt = COALESCE($3, next_attempt), lease_owner = NULL, \
             lease_until = NULL WHERE id = $4 AND lease_owner = $5",
        )
        .bind(status)
        .bind(error)
        .bind(next_attempt)
        .bind(id)
        .bind(owner)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Notices, newest first (optionally of one status).
    pub async fn outbox(&self, status: Option<&str>) -> Result<Vec<OutboxRow>, StoreError> {
        let (sql, binds) = match status {
            Some(s) => (
                format!("SELECT {COLUMNS} FROM outbox WHERE status = $1 ORDER BY id DESC"),
                vec![super::Val::Text(s.into())],
            ),
            None => (
                format!("SELECT {COLUMNS} FROM outbox ORDER BY id DESC"),
                vec![],
            ),
        };
        super::fetch_records(&self.pool, sql, binds, outbox_row).await
    }

    pub async fn outbox_by_key(&self, key: &str) -> Result<Option<OutboxRow>, StoreError> {
        super::fetch_record(
            &self.pool,
            format!("SELECT {COLUMNS} FROM outbox WHERE key = $1"),
            vec![super::Val::Text(key.into())],
            outbox_row,
        )
        .await
    }

    pub async fn outbox_row(&self, id: i64) -> Result<Option<OutboxRow>, StoreError> {
        super::fetch_record(
            &self.pool,
            format!("SELECT {COLUMNS} FROM outbox WHERE id = $1"),
            vec![super::Val::Int(id)],
            outbox_row,
        )
        .await
    }

    /// Puts notices back in line for delivery now (audited): one by its number, or every one of
    /// a status (`failed`, or `pending` to try those waiting for their next attempt at once).
    /// Returns the notices put back.
    pub async fn outbox_retry(
        &self,
        which: Retry,
        clock: &dyn Clock,
        actor: &str,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let mut tx = self.begin_write().await?;
        let (filter, bind, target) = match &which {
            Retry::One(id) => (
                "id = $2 AND status IN ('pending', 'failed')",
                super::Val::Int(*id),
                id.to_string(),
            ),
            Retry::All { status } => (
                "status = $2",
                super::Val::Text(status.clone().into()),
                format!("all {status}"),
            ),
        };
        let rows = super::fetch_records(
            &mut *tx,
            format!(
                "UPDATE outbox SET status = 'pending', next_attempt = $1 WHERE {filter} \
                 RETURNING {COLUMNS}"
            ),
            vec![super::Val::Text(stamp(clock.now()).into()), bind],
            outbox_row,
        )
        .await?;
        if let Retry::One(id) = which
            && rows.is_empty()
        {
            return Err(StoreError::Refused(format!(
                "notice #{id} does not exist or was already delivered"
            )));
        }
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        Store::audit(
            &mut tx,
            clock,
            actor,
            "outbox.retry",
            &target,
            &serde_json::json!({ "notices": ids }),
        )
        .await?;
        self.commit(tx).await?;
        Ok(rows)
    }

    /// Records what a delivery round saw of the relay: a failure (its cause and sentence; the
    /// failing streak starts unless it is already running), or a delivery (the streak ends).
    pub async fn relay_seen(
        &self,
        failure: Option<(&str, &str)>,
        at: &str,
    ) -> Result<(), StoreError> {
        let sql = match failure {
            Some(_) => {
                "INSERT INTO relay_state (id, cause, last_error, last_error_at, failing_since) \
                 VALUES (1, $1, $2, $3, $3) ON CONFLICT (id) DO UPDATE SET cause = $1, \
                 last_error = $2, last_error_at = $3, \
                 failing_since = COALESCE(relay_state.failing_since, $3)"
            }
            None => {
                "INSERT INTO relay_state (id, last_sent_at) VALUES (1, $3) ON CONFLICT (id) \
                 DO UPDATE SET failing_since = NULL, last_sent_at = $3, \
                 cause = COALESCE($1, relay_state.cause), \
                 last_error = COALESCE($2, relay_state.last_error)"
            }
        };
        let (cause, error) = failure.unzip();
        sqlx::query(sql)
            .bind(cause)
            .bind(error)
            .bind(at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn relay_state(&self) -> Result<Option<RelayState>, StoreError> {
        super::fetch_record(
            &self.pool,
            "SELECT cause, last_error, last_error_at, failing_since, last_sent_at \
             FROM relay_state WHERE id = 1"
                .to_string(),
            vec![],
            |r| {
                Ok(RelayState {
                    cause: r.try_get(0)?,
                    last_error: r.try_get(1)?,
                    last_error_at: r.try_get(2)?,
                    failing_since: r.try_get(3)?,
                    last_sent_at: r.try_get(4)?,
                })
            },
        )
        .await
    }

    /// Notices by status.
    pub async fn outbox_counts(&self) -> Result<BTreeMap<String, i64>, StoreError> {
        sqlx::query("SELECT status, COUNT(*) FROM outbox GROUP BY status")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }

    /// 函告 that went (or will go) inside the notice period: (letters, inspections they name).
    /// Only 函告 can be late; a failed letter is counted too (it is late all the more).
    pub async fn late_notices(&self) -> Result<(i64, i64), StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(DISTINCT o.id), COUNT(i.item) FROM outbox o \
             LEFT JOIN notice_items i ON i.outbox_id = o.id \
             WHERE o.late = 1 AND o.kind = 'advance_notice'",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok((row.try_get(0)?, row.try_get(1)?))
    }
}
