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
    pub digest: String,
    pub script_sha256: String,
    #[serde(skip)]
    pub content: String,
    pub frozen_at: String,
    pub actor: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DrawRecord {
    pub id: i64,
    pub plan_id: String,
    pub year: i64,
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
    pub deadlines: std::collections::BTreeMap<crate::lifecycle::Obligation, chrono::NaiveDate>,
    pub next_due: Option<chrono::NaiveDate>,
}

const MANIFEST_COLUMNS: &str =
    "id, plan_id, year, digest, script_sha256, content, frozen_at, actor";
const DRAW_COLUMNS: &str = "id, plan_id, year, manifest_id, manifest_digest, seed_kind, \
     seed_value, seed, digest, content, status, drawn_at, actor";

fn manifest_row(r: &sqlx::any::AnyRow) -> Result<ManifestRecord, StoreError> {
    Ok(ManifestRecord {
        id: r.try_get(0)?,
        plan_id: r.try_get(1)?,
        year: r.try_get(2)?,
        digest: r.try_get(3)?,
        script_sha256: r.try_get(4)?,
        content: r.try_get(5)?,
        frozen_at: r.try_get(6)?,
        actor: r.try_get(7)?,
    })
}

fn draw_row(r: &sqlx::any::AnyRow) -> Result<DrawRecord, StoreError> {
    Ok(DrawRecord {
        id: r.try_get(0)?,
        plan_id: r.try_get(1)?,
        year: r.try_get(2)?,
        manifest_id: r.try_get(3)?,
        manifest_digest: r.try_get(4)?,
        seed_kind: r.try_get(5)?,
        seed_value: r.try_get(6)?,
        seed: r.try_get(7)?,
        digest: r.try_get(8)?,
        content: r.try_get(9)?,
        status: r.try_get(10)?,
        drawn_at: r.try_get(11)?,
        actor: r.try_get(12)?,
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
    /// with a reason (audited), and never once an official draw exists.
    #[allow(clippy::too_many_arguments)]
    pub async fn freeze(
        &self,
        plan_id: &str,
        year: i64,
        digest: &str,
        script_sha256: &str,
        content: &str,
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
        let at = stamp(clock.now());
        let id: i64 = sqlx::query(
            "INSERT INTO manifests (plan_id, year, digest, script_sha256, content, status, frozen_at, actor) \
             VALUES ($1, $2, $3, $4, $5, 'active', $6, $7) RETURNING id",
        )
        .bind(plan_id)
        .bind(year)
        .bind(digest)
        .bind(script_sha256)
        .bind(content)
        .bind(&at)
        .bind(actor)
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        let detail = serde_json::json!({
            "manifest_id": id, "year": year, "digest": digest, "script_sha256": script_sha256,
        });
        Store::audit(&mut tx, clock, actor, "freeze", plan_id, &detail).await?;
        tx.commit().await?;
        Ok(ManifestRecord {
            id,
            plan_id: plan_id.to_string(),
            year,
            digest: digest.to_string(),
            script_sha256: script_sha256.to_string(),
            content: content.to_string(),
            frozen_at: at,
            actor: actor.to_string(),
        })
    }

    /// How many draws (official or voided) a plan and year has had; names redraws' tasks.
    pub async fn draw_count(&self, plan_id: &str, year: i64) -> Result<i64, StoreError> {
        Ok(
            sqlx::query("SELECT COUNT(*) FROM draws WHERE plan_id = $1 AND year = $2")
                .bind(plan_id)
                .bind(year)
                .fetch_one(&self.pool)
                .await?
                .try_get(0)?,
        )
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
        clock: &dyn Clock,
        actor: &str,
    ) -> Result<DrawRecord, StoreError> {
        let mut tx = self.begin_write().await?;
        if let Some(d) = official_draw_in(&mut *tx, &manifest.plan_id, manifest.year).await? {
            return Err(StoreError::AlreadyDrawn(Box::new(d)));
        }
        let at = stamp(clock.now());
        let kind = crate::draw::kind_name(doc.seed_source.kind);
        let id: i64 = sqlx::query(
            "INSERT INTO draws (plan_id, year, manifest_id, manifest_digest, seed_kind, seed_value, \
             seed, digest, content, status, drawn_at, actor, deadline_rules) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'official', $10, $11, $12) RETURNING id",
        )
        .bind(&manifest.plan_id)
        .bind(manifest.year)
        .bind(manifest.id)
        .bind(&manifest.digest)
        .bind(kind)
        .bind(&doc.seed_source.value)
        .bind(&doc.seed)
        .bind(digest)
        .bind(content)
        .bind(&at)
        .bind(actor)
        .bind(serde_json::to_string(deadline_rules).map_err(|e| StoreError::Corrupt(e.to_string()))?)
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        insert_tasks(&mut tx, self.backend, id, manifest, tasks, window, &at, 1).await?;
        let detail = serde_json::json!({
            "draw_id": id,
            "digest": digest,
            "manifest_digest": manifest.digest,
            "seed_kind": kind,
            "seed_value": doc.seed_source.value,
            "seed": doc.seed,
            "tasks": tasks.len(),
        });
        Store::audit(&mut tx, clock, actor, "draw", &manifest.plan_id, &detail).await?;
        crate::failpoint::hit("draw-before-commit");
        tx.commit().await?;
        Ok(DrawRecord {
            id,
            plan_id: manifest.plan_id.clone(),
            year: manifest.year,
            manifest_id: manifest.id,
            manifest_digest: manifest.digest.clone(),
            seed_kind: kind.to_string(),
            seed_value: doc.seed_source.value.clone(),
            seed: doc.seed.clone(),
            digest: digest.to_string(),
            content: content.to_string(),
            status: "official".into(),
            drawn_at: at,
            actor: actor.to_string(),
        })
    }

    /// Voids the official draw (an explicit, reasoned, audited act): it and its tasks stay on
    /// record as `voided`, and a new official draw becomes possible.
    pub async fn void_draw(
        &self,
        plan_id: &str,
        year: i64,
        reason: &str,
        clock: &dyn Clock,
        actor: &str,
    ) -> Result<DrawRecord, StoreError> {
        let mut tx = self.begin_write().await?;
        let Some(d) = official_draw_in(&mut *tx, plan_id, year).await? else {
            return Err(StoreError::NotFound(format!(
                "no official draw for plan {plan_id} ({year})"
            )));
        };
        let at = stamp(clock.now());
        sqlx::query(
            "UPDATE draws SET status = 'voided', void_reason = $1, voided_at = $2, voided_by = $3 \
             WHERE id = $4",
        )
        .bind(reason)
        .bind(&at)
        .bind(actor)
        .bind(d.id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE tasks SET status = 'voided', next_due = NULL WHERE draw_id = $1")
            .bind(d.id)
            .execute(&mut *tx)
            .await?;
        let detail = serde_json::json!({ "draw_id": d.id, "digest": d.digest, "reason": reason });
        Store::audit(&mut tx, clock, actor, "draw.void", plan_id, &detail).await?;
        tx.commit().await?;
        Ok(d)
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn insert_tasks(
    tx: &mut Tx,
    backend: super::Backend,
    draw_id: i64,
    manifest: &ManifestRecord,
    tasks: &[NewTask],
    window: crate::plan::Window,
    at: &str,
    first_position: i64,
) -> Result<(), StoreError> {
    let json = |v: &[String]| Cow::Owned(serde_json::to_string(v).unwrap_or_else(|_| "[]".into()));
    let start = window.start.to_string();
    let end = window.end.to_string();
    let rows = tasks.iter().enumerate().map(|(i, t)| {
        let deadlines = serde_json::to_string(&t.deadlines).unwrap_or_else(|_| "{}".into());
        vec![
            Val::Text(Cow::Borrowed(&t.id)),
            Val::Int(draw_id),
            Val::Text(Cow::Borrowed(&manifest.plan_id)),
            Val::Int(manifest.year),
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
            Val::Text(Cow::Borrowed("drawn")),
            Val::Text(Cow::Borrowed(at)),
            Val::Text(Cow::Owned(t.drawn_on.to_string())),
            Val::Text(Cow::Owned(deadlines)),
            Val::Opt(t.next_due.map(|d| Cow::Owned(d.to_string()))),
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
    ];
    super::insert_rows(tx, backend, "tasks", &columns, None, rows, &|_| ()).await
}
