//! Frozen manifests, official draws and their tasks. Each operation is one write transaction
//! with its audit rows, so a crash leaves either all of it or none of it.

use serde::Serialize;
use sqlx::Row;

use std::borrow::Cow;

use super::{Store, StoreError, Tx, Val, fetch_record};
use crate::clock::{Clock, stamp};
use crate::draw::DrawDoc;

#[derive(Debug, Clone, Serialize)]
pub struct ManifestRecord {
    pub id: i64,
    pub plan_id: String,
    pub year: i64,
    /// Its number within the plan and year: published as `manifest-<seq>.json`.
    pub seq: i64,
    pub digest: String,
    pub script_sha256: String,
    #[serde(skip)]
    pub content: String,
    pub status: String,
    pub frozen_at: String,
    pub available_at: Option<String>,
    /// Why it replaced the manifest before it (a refreeze).
    pub reason: Option<String>,
    pub actor: String,
    pub audit: Option<AuditHead>,
}

/// An audit row that recorded an event: published so that the chain can be anchored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct AuditHead {
    pub seq: i64,
    pub hash: String,
}

impl AuditHead {
    pub(super) fn of(e: &crate::audit::Entry) -> AuditHead {
        AuditHead {
            seq: e.seq,
            hash: e.hash.clone(),
        }
    }

    fn from_columns(seq: Option<i64>, hash: Option<String>) -> Option<AuditHead> {
        Some(AuditHead {
            seq: seq?,
            hash: hash?,
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DrawRecord {
    pub id: i64,
    pub plan_id: String,
    pub year: i64,
    /// Its number within the plan and year: published as `draw-<seq>.json`.
    pub seq: i64,
    pub manifest_id: i64,
    pub manifest_digest: String,
    pub seed_kind: String,
    pub seed_value: String,
    pub seed: String,
    pub digest: String,
    #[serde(skip)]
    pub content: String,
    pub status: String,
    pub drawn_at: String,
    pub actor: String,
    pub audit: Option<AuditHead>,
    pub void: Option<VoidRecord>,
}

/// How a draw was voided.
#[derive(Debug, Clone, Serialize)]
pub struct VoidRecord {
    pub reason: String,
    pub at: String,
    pub actor: String,
    /// Voided although some of its tasks held recorded results (`--force`).
    pub forced: bool,
    pub audit: Option<AuditHead>,
}

/// One inspection task as the draw creates it.
#[derive(Debug, Clone, Serialize)]
pub struct NewTask {
    pub id: String,
    pub task_rule: String,
    pub stratum: String,
    pub uscc: String,
    pub entity_name: String,
    pub city: String,
    pub division: String,
    pub cadre: String,
    pub members: Vec<String>,
    pub partners: Vec<String>,
    pub items: Vec<String>,
    pub drawn_on: chrono::NaiveDate,
    /// A proposed inspection date (when the plan asks the draw to propose them).
    pub planned: Option<chrono::NaiveDate>,
    pub deadlines: crate::lifecycle::Due,
    pub next_due: Option<chrono::NaiveDate>,
}

const MANIFEST_COLUMNS: &str = "id, plan_id, year, seq, digest, script_sha256, content, status, \
     frozen_at, available_at, reason, actor, audit_seq, audit_hash";
const DRAW_COLUMNS: &str = "id, plan_id, year, seq, manifest_id, manifest_digest, seed_kind, \
     seed_value, seed, digest, content, status, drawn_at, actor, audit_seq, audit_hash, \
     void_reason, voided_at, voided_by, void_forced, void_audit_seq, void_audit_hash";

fn manifest_row(r: &sqlx::any::AnyRow) -> Result<ManifestRecord, StoreError> {
    Ok(ManifestRecord {
        id: r.try_get(0)?,
        plan_id: r.try_get(1)?,
        year: r.try_get(2)?,
        seq: r.try_get(3)?,
        digest: r.try_get(4)?,
        script_sha256: r.try_get(5)?,
        content: r.try_get(6)?,
        status: r.try_get(7)?,
        frozen_at: r.try_get(8)?,
        available_at: r.try_get(9)?,
        reason: r.try_get(10)?,
        actor: r.try_get(11)?,
        audit: AuditHead::from_columns(r.try_get(12)?, r.try_get(13)?),
    })
}

fn draw_row(r: &sqlx::any::AnyRow) -> Result<DrawRecord, StoreError> {
    let void_reason: Option<String> = r.try_get(16)?;
    let void = match void_reason {
        Some(reason) => Some(VoidRecord {
            reason,
            at: r.try_get::<Option<String>, _>(17)?.unwrap_or_default(),
            actor: r.try_get::<Option<String>, _>(18)?.unwrap_or_default(),
            forced: r.try_get::<i64, _>(19)? != 0,
            audit: AuditHead::from_columns(r.try_get(20)?, r.try_get(21)?),
        }),
        None => None,
    };
    Ok(DrawRecord {
        id: r.try_get(0)?,
        plan_id: r.try_get(1)?,
        year: r.try_get(2)?,
        seq: r.try_get(3)?,
        manifest_id: r.try_get(4)?,
        manifest_digest: r.try_get(5)?,
        seed_kind: r.try_get(6)?,
        seed_value: r.try_get(7)?,
        seed: r.try_get(8)?,
        digest: r.try_get(9)?,
        content: r.try_get(10)?,
        status: r.try_get(11)?,
        drawn_at: r.try_get(12)?,
        actor: r.try_get(13)?,
        audit: AuditHead::from_columns(r.try_get(14)?, r.try_get(15)?),
        void,
    })
}

async fn active_manifest_in<'e>(
    ex: impl sqlx::Executor<'e, Database = sqlx::Any>,
    plan_id: &str,
    year: i64,
) -> Result<Option<ManifestRecord>, StoreError> {
    let sql = format!(
        "SELECT {MANIFEST_COLUMNS} FROM manifests WHERE plan_id = $1 AND year = $2 AND status = 'active'"
    );
    let binds = vec![Val::Text(Cow::Borrowed(plan_id)), Val::Int(year)];
    fetch_record(ex, sql, binds, manifest_row).await
}

async fn official_draw_in<'e>(
    ex: impl sqlx::Executor<'e, Database = sqlx::Any>,
    plan_id: &str,
    year: i64,
) -> Result<Option<DrawRecord>, StoreError> {
    let sql = format!(
        "SELECT {DRAW_COLUMNS} FROM draws WHERE plan_id = $1 AND year = $2 AND status = 'official'"
    );
    let binds = vec![Val::Text(Cow::Borrowed(plan_id)), Val::Int(year)];
    fetch_record(ex, sql, binds, draw_row).await
}

impl Store {
    pub async fn draw_by_id(&self, id: i64) -> Result<DrawRecord, StoreError> {
        let sql = format!("SELECT {DRAW_COLUMNS} FROM draws WHERE id = $1");
        fetch_record(&self.pool, sql, vec![Val::Int(id)], draw_row)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no draw #{id}")))
    }

    pub async fn manifest_by_id(&self, id: i64) -> Result<ManifestRecord, StoreError> {
        let sql = format!("SELECT {MANIFEST_COLUMNS} FROM manifests WHERE id = $1");
        fetch_record(&self.pool, sql, vec![Val::Int(id)], manifest_row)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no manifest #{id}")))
    }

    /// The private eligibility record of a v3 manifest (never published).
    pub async fn eligibility(&self, manifest_id: i64) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query("SELECT record FROM eligibility WHERE manifest_id = $1")
                .bind(manifest_id)
                .fetch_optional(&self.pool)
                .await?
                .map(|r| r.try_get(0))
                .transpose()?,
        )
    }

    /// The private eligibility record of a v3 manifest, read for an auditor: the read is
    /// itself an audited event (who read whose reasons, and whether they took a copy).
    pub async fn read_eligibility(
        &self,
        m: &ManifestRecord,
        exported: bool,
        clock: &dyn Clock,
        actor: &str,
    ) -> Result<Option<String>, StoreError> {
        let mut tx = self.begin_write().await?;
        let record: Option<String> =
            sqlx::query("SELECT record FROM eligibility WHERE manifest_id = $1")
                .bind(m.id)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.try_get(0))
                .transpose()?;
        if record.is_some() {
            let detail = serde_json::json!({
                "manifest_id": m.id, "seq": m.seq, "year": m.year, "exported": exported,
            });
            Store::audit(
                &mut tx,
                clock,
                actor,
                "eligibility.read",
                &m.plan_id,
                &detail,
            )
            .await?;
            self.commit(tx).await?;
        }
        Ok(record)
    }

    /// The RFC 3161 token kept for entry `n` of a plan's history with head `head`.
    pub async fn timestamp_token(
        &self,
        (plan_id, year): (&str, i64),
        n: usize,
        head: &str,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let row = sqlx::query(
            "SELECT token FROM timestamps WHERE plan_id = $1 AND year = $2 AND n = $3 AND head = $4",
        )
        .bind(plan_id)
        .bind(year)
        .bind(n as i64)
        .bind(head)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let hex: String = row.try_get(0)?;
        crate::beacon::hex_decode(&hex)
            .map(Some)
            .ok_or_else(|| StoreError::Corrupt(format!("timestamp token of {plan_id} entry {n}")))
    }

    /// Keeps a token (the first kept for an entry and head stays); returns the one kept.
    pub async fn keep_timestamp(
        &self,
        (plan_id, year): (&str, i64),
        n: usize,
        head: &str,
        token: &[u8],
        clock: &dyn Clock,
    ) -> Result<Vec<u8>, StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO timestamps (plan_id, year, n, head, token, at) VALUES ($1, $2, $3, $4, \
             $5, $6) ON CONFLICT (plan_id, year, n, head) DO NOTHING",
        )
        .bind(plan_id)
        .bind(year)
        .bind(n as i64)
        .bind(head)
        .bind(crate::audit::hex(token))
        .bind(stamp(clock.wall()))
        .execute(&mut *tx)
        .await?;
        self.commit(tx).await?;
        Ok(self
            .timestamp_token((plan_id, year), n, head)
            .await?
            .unwrap_or_else(|| token.to_vec()))
    }

    pub async fn active_manifest(
        &self,
        plan_id: &str,
        year: i64,
    ) -> Result<Option<ManifestRecord>, StoreError> {
        active_manifest_in(&self.pool, plan_id, year).await
    }

    pub async fn official_draw(
        &self,
        plan_id: &str,
        year: i64,
    ) -> Result<Option<DrawRecord>, StoreError> {
        official_draw_in(&self.pool, plan_id, year).await
    }

    /// Records a frozen manifest. An active manifest for the plan and year is only replaced
    /// with a reason (audited), and never once an official draw exists. Whether freezing is
    /// still allowed at all (before the seed is public) is the caller's rule.
    #[allow(clippy::too_many_arguments)]
    pub async fn freeze(
        &self,
        plan_id: &str,
        year: i64,
        digest: &str,
        script_sha256: &str,
        (content, eligibility): (String, Option<&str>),
        frozen_at: &str,
        available_at: &str,
        refreeze_reason: Option<&str>,
        clock: &dyn Clock,
        actor: &str,
    ) -> Result<ManifestRecord, StoreError> {
        let mut tx = self.begin_write().await?;
        if let Some(existing) = active_manifest_in(&mut *tx, plan_id, year).await? {
            let Some(reason) = refreeze_reason else {
                return Err(StoreError::AlreadyFrozen(Box::new(existing)));
            };
            if let Some(d) = official_draw_in(&mut *tx, plan_id, year).await? {
                return Err(StoreError::AlreadyDrawn(Box::new(d)));
            }
            sqlx::query("UPDATE manifests SET status = 'superseded' WHERE id = $1")
                .bind(existing.id)
                .execute(&mut *tx)
                .await?;
            let detail = serde_json::json!({
                "manifest_id": existing.id, "digest": existing.digest, "reason": reason,
            });
            Store::audit(
                &mut tx,
                clock,
                actor,
                "manifest.supersede",
                plan_id,
                &detail,
            )
            .await?;
        }
        let seq = next_seq(&mut tx, "manifests", plan_id, year).await?;
        let id: i64 = sqlx::query(
            "INSERT INTO manifests (plan_id, year, seq, digest, script_sha256, content, status, \
             frozen_at, available_at, reason, actor) \
             VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, $8, $9, $10) RETURNING id",
        )
        .bind(plan_id)
        .bind(year)
        .bind(seq)
        .bind(digest)
        .bind(script_sha256)
        .bind(content.as_str())
        .bind(frozen_at)
        .bind(available_at)
        .bind(refreeze_reason)
        .bind(actor)
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        if let Some(record) = eligibility {
            sqlx::query("INSERT INTO eligibility (manifest_id, record) VALUES ($1, $2)")
                .bind(id)
                .bind(record)
                .execute(&mut *tx)
                .await?;
        }
        let detail = serde_json::json!({
            "manifest_id": id, "seq": seq, "year": year, "digest": digest,
            "script_sha256": script_sha256, "frozen_at": frozen_at,
            "available_at": available_at, "reason": refreeze_reason,
        });
        let entry = Store::audit(&mut tx, clock, actor, "freeze", plan_id, &detail).await?;
        set_audit(&mut tx, "manifests", "audit", id, &entry).await?;
        self.commit(tx).await?;
        // The record as written, not read back: a large manifest's text is the one thing a
        // freeze moves, and it is already here.
        Ok(ManifestRecord {
            id,
            plan_id: plan_id.to_string(),
            year,
            seq,
            digest: digest.to_string(),
            script_sha256: script_sha256.to_string(),
            content,
            status: "active".into(),
            frozen_at: frozen_at.to_string(),
            available_at: Some(available_at.to_string()),
            reason: refreeze_reason.map(str::to_string),
            actor: actor.to_string(),
            audit: Some(AuditHead::of(&entry)),
        })
    }

    /// The times of a plan's published events (freezes, draws, voids), as recorded: the
    /// latest one is what a new event may not come before.
    pub async fn event_times(&self, plan_id: &str, year: i64) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT frozen_at FROM manifests WHERE plan_id = $1 AND year = $2 \
             UNION ALL SELECT drawn_at FROM draws WHERE plan_id = $1 AND year = $2 \
             UNION ALL SELECT voided_at FROM draws WHERE plan_id = $1 AND year = $2 \
             AND voided_at IS NOT NULL",
        )
        .bind(plan_id)
        .bind(year)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| r.try_get::<String, _>(0).map_err(StoreError::from))
            .collect()
    }

    /// Every manifest and draw of a plan and year, oldest first: the publication history.
    pub async fn publication(
        &self,
        plan_id: &str,
        year: i64,
    ) -> Result<(Vec<ManifestRecord>, Vec<DrawRecord>), StoreError> {
        let binds = || vec![Val::Text(Cow::Borrowed(plan_id)), Val::Int(year)];
        let manifests = super::fetch_records(
            &self.pool,
            format!(
                "SELECT {MANIFEST_COLUMNS} FROM manifests WHERE plan_id = $1 AND year = $2 \
                 ORDER BY seq"
            ),
            binds(),
            manifest_row,
        )
        .await?;
        let draws = super::fetch_records(
            &self.pool,
            format!(
                "SELECT {DRAW_COLUMNS} FROM draws WHERE plan_id = $1 AND year = $2 ORDER BY seq"
            ),
            binds(),
            draw_row,
        )
        .await?;
        Ok((manifests, draws))
    }

    /// Freezes, draws and voids the audit chain records but the store no longer holds (rows
    /// deleted behind suiji's back, which would make a published history shrink unseen):
    /// (audit row, action, plan), oldest first. Each audit row names its record's id.
    pub async fn unrecorded_events(&self) -> Result<Vec<(i64, String, String)>, StoreError> {
        let ids = |sql: &'static str| async move {
            sqlx::query(sql)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| r.try_get::<i64, _>(0))
                .collect::<Result<std::collections::HashSet<i64>, _>>()
        };
        let manifests = ids("SELECT id FROM manifests").await?;
        let draws = ids("SELECT id FROM draws").await?;
        let voided = ids("SELECT id FROM draws WHERE status = 'voided'").await?;
        let rows = sqlx::query(
            "SELECT seq, action, subject, detail FROM audit_log \
             WHERE action IN ('freeze', 'draw', 'draw.void') ORDER BY seq",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for r in rows {
            let (seq, action, subject, detail): (i64, String, String, String) =
                (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?);
            let detail: serde_json::Value = serde_json::from_str(&detail).unwrap_or_default();
            let held = match action.as_str() {
                "freeze" => detail["manifest_id"]
                    .as_i64()
                    .map(|id| manifests.contains(&id)),
                "draw" => detail["draw_id"].as_i64().map(|id| draws.contains(&id)),
                _ => detail["draw_id"].as_i64().map(|id| voided.contains(&id)),
            };
            if held == Some(false) {
                out.push((seq, action, subject));
            }
        }
        Ok(out)
    }

    /// The plans and years that have anything published.
    pub async fn published_plans(&self) -> Result<Vec<(String, i64)>, StoreError> {
        sqlx::query("SELECT DISTINCT plan_id, year FROM manifests ORDER BY year, plan_id")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }

    /// Records the official draw, its tasks and its audit row in one transaction. Refused if
    /// the plan and year already have one (checked under the writer lock, and by a unique index).
    #[allow(clippy::too_many_arguments)]
    pub async fn record_draw(
        &self,
        manifest: &ManifestRecord,
        doc: &DrawDoc,
        digest: &str,
        content: &str,
        tasks: &[NewTask],
        window: crate::plan::Window,
        deadline_rules: &crate::plan::Deadlines,
        notices: &[crate::notify::Notice],
        clock: &dyn Clock,
        actor: &str,
    ) -> Result<DrawRecord, StoreError> {
        let mut tx = self.begin_write().await?;
        if let Some(d) = official_draw_in(&mut *tx, &manifest.plan_id, manifest.year).await? {
            return Err(StoreError::AlreadyDrawn(Box::new(d)));
        }
        let at = stamp(clock.now());
        let kind = doc.seed_source.kind.name();
        let seq = next_seq(&mut tx, "draws", &manifest.plan_id, manifest.year).await?;
        let id: i64 = sqlx::query(
            "INSERT INTO draws (plan_id, year, seq, manifest_id, manifest_digest, seed_kind, \
             seed_value, seed, digest, content, status, drawn_at, actor, deadline_rules) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'official', $11, $12, $13) \
             RETURNING id",
        )
        .bind(&manifest.plan_id)
        .bind(manifest.year)
        .bind(seq)
        .bind(manifest.id)
        .bind(&manifest.digest)
        .bind(kind)
        .bind(&doc.seed_source.value)
        .bind(&doc.seed)
        .bind(digest)
        .bind(content)
        .bind(&at)
        .bind(actor)
        .bind(
            serde_json::to_string(deadline_rules)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        )
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        insert_tasks(
            &mut tx,
            self.backend,
            id,
            (&manifest.plan_id, manifest.year),
            tasks,
            window,
            (&at, actor),
            1,
        )
        .await?;
        super::outbox::insert_notices(&mut tx, notices, &at, &at).await?;
        let detail = serde_json::json!({
            "draw_id": id,
            "seq": seq,
            "digest": digest,
            "manifest_digest": manifest.digest,
            "seed_kind": kind,
            "seed_value": doc.seed_source.value,
            "beacon_round": doc.seed_source.round,
            "seed": doc.seed,
            "tasks": tasks.len(),
        });
        let entry = Store::audit(&mut tx, clock, actor, "draw", &manifest.plan_id, &detail).await?;
        set_audit(&mut tx, "draws", "audit", id, &entry).await?;
        crate::failpoint::hit("draw-before-commit");
        let record = official_draw_in(&mut *tx, &manifest.plan_id, manifest.year)
            .await?
            .ok_or_else(|| StoreError::Corrupt("the draw just recorded is not official".into()))?;
        self.commit(tx).await?;
        Ok(record)
    }

    /// Voids the official draw (an explicit, reasoned, audited act): it and its tasks stay on
    /// record, each task with a `void` fact and every fact it held, and a new official draw
    /// becomes possible. A draw whose tasks hold results (a completion, a publication, a
    /// penalty, a referral) is voided only with `force`; otherwise the refusal names them.
    pub async fn void_draw(
        &self,
        plan_id: &str,
        year: i64,
        reason: &str,
        force: bool,
        clock: &dyn Clock,
        actor: &str,
    ) -> Result<DrawRecord, StoreError> {
        let mut tx = self.begin_write().await?;
        let Some(d) = official_draw_in(&mut *tx, plan_id, year).await? else {
            return Err(StoreError::NotFound(format!(
                "no official draw for plan {plan_id} ({year})"
            )));
        };
        let tasks = super::tasks::tasks_of_draw(&mut tx, d.id).await?;
        let with_results: Vec<String> = tasks
            .iter()
            .filter(|t| t.facts.has_results())
            .map(|t| format!("{} ({})", t.id, t.facts.status.code()))
            .collect();
        if !with_results.is_empty() && !force {
            return Err(StoreError::Refused(format!(
                "the draw's tasks hold recorded results: {}. Voiding would set real \
                 inspections aside; if that is intended, repeat with --force (the tasks keep \
                 their facts, marked voided)",
                with_results.join(", ")
            )));
        }
        let at = stamp(clock.now());
        let detail = serde_json::json!({
            "draw_id": d.id, "seq": d.seq, "digest": d.digest, "reason": reason,
            "forced": force, "tasks_with_results": with_results,
        });
        let entry = Store::audit(&mut tx, clock, actor, "draw.void", plan_id, &detail).await?;
        sqlx::query(
            "UPDATE draws SET status = 'voided', void_reason = $1, voided_at = $2, voided_by = $3, \
             void_forced = $4, void_audit_seq = $5, void_audit_hash = $6 WHERE id = $7",
        )
        .bind(reason)
        .bind(&at)
        .bind(actor)
        .bind(i64::from(force))
        .bind(entry.seq)
        .bind(&entry.hash)
        .bind(d.id)
        .execute(&mut *tx)
        .await?;
        let event = crate::lifecycle::Event::Void {
            draw_id: d.id,
            reason: reason.to_string(),
        };
        for t in tasks.iter().filter(|t| t.facts.voided_on.is_none()) {
            let facts = crate::lifecycle::effect(&t.facts, &event, clock.today());
            let change = super::Change {
                facts,
                deadlines: t.due(),
                next_due: None,
                event: event.clone(),
                effective: clock.today(),
            };
            super::tasks::write_change(&mut tx, &t.id, &change, clock, actor).await?;
        }
        let record = super::fetch_record(
            &mut *tx,
            format!("SELECT {DRAW_COLUMNS} FROM draws WHERE id = $1"),
            vec![Val::Int(d.id)],
            draw_row,
        )
        .await?
        .ok_or_else(|| StoreError::Corrupt("the voided draw vanished".into()))?;
        self.commit(tx).await?;
        Ok(record)
    }
}

/// The next number of a manifest or draw within its plan and year.
async fn next_seq(tx: &mut Tx, table: &str, plan_id: &str, year: i64) -> Result<i64, StoreError> {
    // Only the constant table name is formatted in.
    let sql =
        format!("SELECT COALESCE(MAX(seq), 0) + 1 FROM {table} WHERE plan_id = $1 AND year = $2");
    Ok(sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(plan_id)
        .bind(year)
        .fetch_one(&mut **tx)
        .await?
        .try_get(0)?)
}

/// Remembers which audit row recorded an event (`prefix` is `audit` or `void_audit`).
async fn set_audit(
    tx: &mut Tx,
    table: &str,
    prefix: &str,
    id: i64,
    entry: &crate::audit::Entry,
) -> Result<(), StoreError> {
    // Only constant identifiers are formatted in.
    let sql = format!("UPDATE {table} SET {prefix}_seq = $1, {prefix}_hash = $2 WHERE id = $3");
    let head = AuditHead::of(entry);
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(head.seq)
        .bind(head.hash)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Inserts new tasks; a task with a proposed date starts `scheduled`, with the `schedule` fact
/// that set it.
#[allow(clippy::too_many_arguments)]
pub(super) async fn insert_tasks(
    tx: &mut Tx,
    backend: super::Backend,
    draw_id: i64,
    (plan_id, year): (&str, i64),
    tasks: &[NewTask],
    window: crate::plan::Window,
    (at, actor): (&str, &str),
    first_position: i64,
) -> Result<(), StoreError> {
    let json = |v: &[String]| Cow::Owned(serde_json::to_string(v).unwrap_or_else(|_| "[]".into()));
    let start = window.start.to_string();
    let end = window.end.to_string();
    let rows = tasks.iter().enumerate().map(|(i, t)| {
        let (deadlines, publish_due) = super::tasks::deadline_columns(&t.deadlines);
        let day = |d: Option<chrono::NaiveDate>| Val::Opt(d.map(|d| Cow::Owned(d.to_string())));
        vec![
            Val::Text(Cow::Borrowed(&t.id)),
            Val::Int(draw_id),
            Val::Text(Cow::Borrowed(plan_id)),
            Val::Int(year),
            Val::Text(Cow::Borrowed(&t.task_rule)),
            Val::Text(Cow::Borrowed(&t.stratum)),
            Val::Int(first_position + i as i64),
            Val::Text(Cow::Borrowed(&t.uscc)),
            Val::Text(Cow::Borrowed(&t.entity_name)),
            Val::Text(Cow::Borrowed(&t.city)),
            Val::Text(Cow::Borrowed(&t.division)),
            Val::Text(Cow::Borrowed(&t.cadre)),
            Val::Text(json(&t.members)),
            Val::Text(json(&t.partners)),
            Val::Text(json(&t.items)),
            Val::Text(Cow::Borrowed(&start)),
            Val::Text(Cow::Borrowed(&end)),
            Val::Text(Cow::Borrowed(if t.planned.is_some() {
                "scheduled"
            } else {
                "drawn"
            })),
            Val::Text(Cow::Borrowed(at)),
            Val::Text(Cow::Owned(t.drawn_on.to_string())),
            Val::Text(Cow::Owned(deadlines)),
            day(t.next_due),
            day(t.planned),
            day(t.planned.map(|_| t.drawn_on)),
            Val::Opt(publish_due.map(Cow::Owned)),
        ]
    });
    let columns = [
        "id",
        "draw_id",
        "plan_id",
        "year",
        "task_rule",
        "stratum",
        "position",
        "uscc",
        "entity_name",
        "city",
        "division",
        "cadre",
        "members",
        "partners",
        "items",
        "window_start",
        "window_end",
        "status",
        "created_at",
        "drawn_on",
        "deadlines",
        "next_due",
        "planned_date",
        "scheduled_on",
        "publish_due",
    ];
    super::insert_rows(tx, backend, "tasks", &columns, None, rows, &|_| ()).await?;
    let facts = tasks.iter().filter_map(|t| {
        let planned = t.planned?;
        let event = serde_json::to_string(&crate::lifecycle::Event::Schedule(planned)).ok()?;
        Some(vec![
            Val::Text(Cow::Borrowed(&t.id)),
            Val::Text(Cow::Borrowed("schedule")),
            Val::Text(Cow::Owned(t.drawn_on.to_string())),
            Val::Text(Cow::Borrowed(at)),
            Val::Text(Cow::Borrowed(actor)),
            Val::Text(Cow::Owned(event)),
        ])
    });
    let columns = [
        "task_id",
        "kind",
        "effective",
        "recorded_at",
        "actor",
        "event",
    ];
    super::insert_rows(tx, backend, "task_facts", &columns, None, facts, &|_| ()).await
}
