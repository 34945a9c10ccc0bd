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
    /// The inspections those late 函告 name.
    pub late_inspections: i64,
    /// The mail relay as the deliverers last saw it: the last error, and since when delivery
    /// fails (none once a notice went out again).
    pub relay: Option<crate::store::RelayState>,
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
    /// Its schedule; none for a plan's job while its rule file does not check.
    pub cron: Option<String>,
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
    /// From the rule file on disk; none when the plan is known only from what the daemon says
    /// it runs (the file on disk does not check, the daemon keeps its last good version).
    pub seed_kind: Option<String>,
    pub available_at: Option<String>,
    pub from_daemon: bool,
    pub manifest: Option<ManifestRecord>,
    pub draw: Option<DrawRecord>,
}

/// The plan the leading daemon says it runs.
fn run_by(leader: Option<&LeaderRecord>) -> Option<(String, i32, String, String)> {
    let runs = leader?.runs.as_ref()?;
    Some((
        runs.get("plan")?.as_str()?.to_string(),
        i32::try_from(runs.get("year")?.as_i64()?).ok()?,
        runs.get("rules_file")?.as_str()?.to_string(),
        runs.get("script_sha256")?.as_str()?.to_string(),
    ))
}

pub async fn status(ctx: &Ctx<'_>) -> Result<Status> {
    let leader = ctx.store.leader().await?;
    let (checked, plan_error) =
        match super::plan::checked(ctx, super::plan::Script::File(None)).await {
            Ok((c, _)) => (Some(c.plan), None),
            Err(e) => (None, Some(e.to_string())),
        };
    let plan = match &checked {
        Some(p) => Some(PlanStatus {
            file: p.source.file.clone(),
            id: p.id.clone(),
            year: p.year,
            script_sha256: p.source.sha256.clone(),
            seed_kind: Some(p.seed.kind.name().to_string()),
            available_at: Some(p.seed.available_at.to_rfc3339()),
            from_daemon: false,
            manifest: None,
            draw: None,
        }),
        None => run_by(leader.as_ref()).map(|(id, year, file, sha)| PlanStatus {
            file,
            id,
            year,
            script_sha256: sha,
            seed_kind: None,
            available_at: None,
            from_daemon: true,
            manifest: None,
            draw: None,
        }),
    };
    let plan = match plan {
        Some(mut p) => {
            let year = i64::from(p.year);
            p.manifest = ctx.store.active_manifest(&p.id, year).await?;
            p.draw = ctx.store.official_draw(&p.id, year).await?;
            Some(p)
        }
        None => None,
    };
    let department = super::jobs::department(ctx.store, ctx.settings).await?;
    let view = crate::jobs::Jobs {
        plan: checked.as_ref(),
        department: department.as_ref(),
    };
    let now = ctx.clock.now();
    let plan_runs = match &plan {
        Some(p) => ctx.store.job_runs(&p.id).await?,
        None => Vec::new(),
    };
    let department_runs = ctx.store.job_runs(crate::jobs::DEPARTMENT).await?;
    let mut jobs = Vec::new();
    for job in Job::ALL {
        let (runs, cron) = if job.of_department() {
            let cron = match job {
                Job::Nightly => &ctx.settings.daemon.nightly,
                _ => &ctx.settings.daemon.report,
            };
            (&department_runs, Some(cron.clone()))
        } else if plan.is_some() {
            (&plan_runs, view.cron(job).map(str::to_string))
        } else {
            continue;
        };
        let mine: Vec<&JobRun> = runs.iter().filter(|r| r.job == job.name()).collect();
        jobs.push(JobStatus {
            job,
            cron,
            next_run: view.next(job, now).map(stamp),
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
    let (late_notices, late_inspections) = ctx.store.late_notices().await?;
    Ok(Status {
        store: ctx.store.mode().await?,
        plan,
        plan_error,
        tasks_by_status: ctx.store.tasks_by_status().await?,
        overdue: ctx.store.overdue_count(ctx.clock.today()).await?,
        pending_deadlines: ctx.store.pending_deadline_count().await?,
        jobs,
        outbox: ctx.store.outbox_counts().await?,
        late_notices,
        late_inspections,
        relay: ctx.store.relay_state().await?,
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
