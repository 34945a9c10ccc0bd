//! `suiji status`: where the active plan stands, at a glance, with the audit chain head (a
//! value worth writing down or publishing: `audit verify --anchor` checks the chain against it).

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Ctx, Result};
use crate::store::{AuditHead, DrawRecord, ManifestRecord};

#[derive(Debug, Serialize)]
pub struct Status {
    pub plan: Option<PlanStatus>,
    /// Why the active plan could not be read, if it could not.
    pub plan_error: Option<String>,
    pub tasks_by_status: BTreeMap<String, i64>,
    pub overdue: i64,
    pub audit_head: Option<AuditHead>,
}

#[derive(Debug, Serialize)]
pub struct PlanStatus {
    pub file: String,
    pub id: String,
    pub year: i32,
    pub script_sha256: String,
    pub seed_kind: String,
    pub available_at: String,
    pub manifest: Option<ManifestRecord>,
    pub draw: Option<DrawRecord>,
}

pub async fn status(ctx: &Ctx<'_>) -> Result<Status> {
    let (plan, plan_error) = match super::plan::checked(ctx, None).await {
        Ok((c, _)) => {
            let p = c.plan;
            let year = i64::from(p.year);
            (
                Some(PlanStatus {
                    file: p.source.file.clone(),
                    manifest: ctx.store.active_manifest(&p.id, year).await?,
                    draw: ctx.store.official_draw(&p.id, year).await?,
                    id: p.id,
                    year: p.year,
                    script_sha256: p.source.sha256,
                    seed_kind: p.seed.kind.name().to_string(),
                    available_at: p.seed.available_at.to_rfc3339(),
                }),
                None,
            )
        }
        Err(e) => (None, Some(e.to_string())),
    };
    Ok(Status {
        plan,
        plan_error,
        tasks_by_status: ctx.store.tasks_by_status().await?,
        overdue: ctx.store.overdue_count(ctx.clock.today()).await?,
        audit_head: ctx.store.audit_head().await?,
    })
}
