//! `suiji status`: where the active plan stands, at a glance, with the audit chain head (a
//! value worth writing down or publishing: `audit verify --anchor` checks the chain against it).

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Ctx, Result};
use crate::clock::stamp;
use crate::jobs::Job;
use crate::store::{AuditHead, DrawRecord, JobRun, LeaderRecord, ManifestRecord};

#[derive(Debug, Serialize)]
pub struct Status {
    /// Production (the real clock only) or rehearsal.
    pub store: crate::store::Mode,
    pub plan: Option<PlanStatus>,
    /// Why the active plan could not be read, if it could not.
    pub plan_error: Option<String>,
    pub tasks_by_status: BTreeMap<String, i64>,
    pub overdue: i64,
    /// Tasks with a deadline waiting for a year's holiday data.
    pub pending_deadlines: i64,
    pub jobs: Vec<JobStatus>,
    /// Notices by delivery status.
    pub outbox: BTreeMap<String, i64>,
    /// 函告 sent inside their notice period.
    pub late_notices: i64,
    /// The daemon instance that leads (runs the jobs), and when it was last seen.
    pub leader: Option<LeaderRecord>,
    /// Whether that daemon is alive: seen within three of its longest sleeps. A daemon killed
    /// stops being seen; its `running` slots are run again by the next leader.
    pub leader_alive: bool,
    pub audit_head: Option<AuditHead>,
}

#[derive(Debug, Serialize)]
pub struct JobStatus {
    pub job: Job,
    pub cron: String,
    pub next_run: Option<String>,
    pub last: Option<JobRun>,
    /// Runs that failed or wait (for the seed digits, a beacon round), with why.
    pub pending: Vec<JobRun>,
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
    let mut jobs = Vec::new();
    let (plan, plan_error) = match super::plan::checked(ctx, super::plan::Script::File(None)).await
    {
        Ok((c, _)) => {
            let p = c.plan;
            let runs = ctx.store.job_runs(&p.id).await?;
            let now = ctx.clock.now();
            for job in Job::ALL {
                let mine: Vec<&JobRun> = runs.iter().filter(|r| r.job == job.name()).collect();
                jobs.push(JobStatus {
                    job,
                    cron: job.cron(&p).to_string(),
                    next_run: crate::jobs::next(&p, job, now).map(stamp),
                    last: mine
                        .iter()
                        .rfind(|r| r.status == "done")
                        .map(|r| (*r).clone()),
                    pending: mine
                        .iter()
                        .filter(|r| r.status != "done")
                        .map(|r| (*r).clone())
                        .collect(),
                });
            }
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
    let leader = ctx.store.leader().await?;
    Ok(Status {
        store: ctx.store.mode().await?,
        plan,
        plan_error,
        tasks_by_status: ctx.store.tasks_by_status().await?,
        overdue: ctx.store.overdue_count(ctx.clock.today()).await?,
        pending_deadlines: ctx.store.pending_deadline_count().await?,
        jobs,
        outbox: ctx.store.outbox_counts().await?,
        late_notices: ctx.store.late_notices().await?,
        leader_alive: leader
            .as_ref()
            .and_then(|l| crate::clock::parse_time(&l.seen))
            .is_some_and(|seen| {
                let beat = ctx
                    .settings
                    .daemon
                    .waiting_recheck_secs
                    .max(ctx.settings.daemon.leader_poll_secs)
                    .max(1);
                ctx.clock.wall().fixed_offset() - seen <= chrono::Duration::seconds(3 * beat as i64)
            }),
        leader,
        audit_head: ctx.store.audit_head().await?,
    })
}
