//! `suiji status`: where each active plan stands, at a glance, with the audit chain head (a
//! value worth writing down or publishing: `audit verify --anchor` checks the chain against it).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use super::{Ctx, Result};
use crate::clock::stamp;
use crate::jobs::Job;
use crate::store::{AuditHead, DrawRecord, JobRun, LeaderRecord, ManifestRecord};

#[derive(Debug, Serialize)]
pub struct Status {
    /// Production (the real clock only) or rehearsal.
    pub store: crate::store::Mode,
    /// The plans the daemon runs (`rules.plans`, or `rules.file`), and any other plan the
    /// leading daemon says it runs.
    pub plans: Vec<PlanStatus>,
    /// Why a plan's rule file could not be used, for each that could not.
    pub plan_errors: Vec<String>,
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
    /// The plan whose job it is; none for the department's.
    pub plan: Option<String>,
    /// Its schedule; none for a plan's job while its rule file does not check.
    pub cron: Option<String>,
    pub next_run: Option<String>,
    pub last: Option<JobRun>,
    /// Runs that failed or wait (for the seed digits, a beacon round), with why.
    pub pending: Vec<JobRun>,
    /// Slots due now and not yet run (held while the job is paused), oldest first.
    pub due: Vec<String>,
    /// The pause in force, if an administrator paused the job.
    pub paused: Option<crate::store::JobControl>,
}

impl JobStatus {
    /// The slots an administrator may run by hand now: due, waiting or failed (not one
    /// running), oldest first.
    pub fn open(&self) -> Vec<&str> {
        let mut open: Vec<&str> = self
            .pending
            .iter()
            .filter(|r| r.status != "running")
            .map(|r| r.slot.as_str())
            .chain(self.due.iter().map(String::as_str))
            .collect();
        open.sort_unstable();
        open.dedup();
        open
    }
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

pub async fn status(ctx: &Ctx<'_>) -> Result<Status> {
    let leader = ctx.store.leader().await?;
    let daemon = leader.as_ref().map(LeaderRecord::plans).unwrap_or_default();
    let mut checked = Vec::new();
    let mut plans = Vec::new();
    let mut plan_errors = Vec::new();
    // The configured files, then those the leading daemon says it runs (given on its command
    // line): a file whose text is still the script the daemon runs is checked like the
    // others, so its jobs show what is due.
    let files = super::plan::plan_files(ctx.settings, &[]);
    let recorded = daemon
        .iter()
        .filter_map(|r| Some((PathBuf::from(r.rules_file.as_ref()?), Some(r))));
    for (file, from_daemon) in files.iter().map(|f| (f.clone(), None)).chain(recorded) {
        let known = |id: &str| plans.iter().any(|p: &PlanStatus| p.id == id);
        if from_daemon.is_some_and(|r| known(&r.plan)) {
            continue;
        }
        match super::plan::checked(ctx, super::plan::Script::File(Some(&file))).await {
            Ok((c, _))
                if from_daemon.is_none_or(|r| {
                    r.script_sha256.as_deref() == Some(c.plan.source.sha256.as_str())
                }) && !known(&c.plan.id) =>
            {
                let p = &c.plan;
                plans.push(PlanStatus {
                    file: p.source.file.clone(),
                    id: p.id.clone(),
                    year: p.year,
                    script_sha256: p.source.sha256.clone(),
                    seed_kind: Some(p.seed.kind.name().to_string()),
                    available_at: Some(p.seed.available_at.to_rfc3339()),
                    from_daemon: from_daemon.is_some(),
                    manifest: None,
                    draw: None,
                });
                checked.push(c.plan);
            }
            Ok(_) => {}
            Err(e) if from_daemon.is_none() => plan_errors.push(format!("{}: {e}", file.display())),
            Err(_) => {}
        }
    }
    // What the daemon runs and the files on disk do not say (a file that does not check or
    // was edited since, whose last good version the daemon keeps).
    for r in daemon {
        let (Some(year), Some(file), Some(sha)) = (r.year, r.rules_file, r.script_sha256) else {
            continue;
        };
        if !plans.iter().any(|p| p.id == r.plan) {
            plans.push(PlanStatus {
                file,
                id: r.plan,
                year,
                script_sha256: sha,
                seed_kind: None,
                available_at: None,
                from_daemon: true,
                manifest: None,
                draw: None,
            });
        }
    }
    for p in &mut plans {
        let year = i64::from(p.year);
        p.manifest = ctx.store.active_manifest(&p.id, year).await?;
        p.draw = ctx.store.official_draw(&p.id, year).await?;
    }
    let department = super::jobs::department(ctx.store, ctx.settings).await?;
    let view = crate::jobs::Jobs::new(checked.iter().collect(), department.as_ref());
    let now = ctx.clock.now();
    let due = view.due(
        now,
        &super::jobs::done(&super::jobs::runs(ctx.store, &view).await?),
    );
    let controls = ctx.store.job_controls().await?;
    let holds = super::jobs::holds(&controls);
    let status = |job: Job, plan: Option<&PlanStatus>, runs: &[JobRun]| {
        let owner = plan.map_or(crate::jobs::DEPARTMENT, |p| p.id.as_str());
        let of_plan = plan.and_then(|p| checked.iter().find(|c| c.id == p.id));
        let cron = if job.of_department() {
            Some(match job {
                Job::Nightly => ctx.settings.daemon.nightly.clone(),
                _ => ctx.settings.daemon.report.clone(),
            })
        } else {
            of_plan
                .and_then(|c| view.cron(job, Some(c)))
                .map(str::to_string)
        };
        let mine: Vec<&JobRun> = runs.iter().filter(|r| r.job == job.name()).collect();
        JobStatus {
            job,
            plan: plan.map(|p| p.id.clone()),
            cron,
            next_run: view.next(job, plan.map(|p| p.id.as_str()), now).map(stamp),
            last: mine
                .iter()
                .rfind(|r| r.status == "done")
                .map(|r| (*r).clone()),
            pending: mine
                .iter()
                .filter(|r| r.status != "done")
                .map(|r| (*r).clone())
                .collect(),
            due: due
                .iter()
                .filter(|s| s.job == job && s.owner() == owner)
                .map(crate::jobs::Slot::key)
                .collect(),
            paused: holds
                .paused(job, owner)
                .then(|| {
                    controls
                        .iter()
                        .rfind(|c| c.job == job.name() && c.owner == owner && c.action == "pause")
                        .cloned()
                })
                .flatten(),
        }
    };
    let mut jobs = Vec::new();
    for p in &plans {
        let runs = ctx.store.job_runs(&p.id).await?;
        jobs.extend([Job::Freeze, Job::Draw].map(|j| status(j, Some(p), &runs)));
    }
    let department_runs = ctx.store.job_runs(crate::jobs::DEPARTMENT).await?;
    jobs.extend([Job::Nightly, Job::Report].map(|j| status(j, None, &department_runs)));
    let (late_notices, late_inspections) = ctx.store.late_notices().await?;
    Ok(Status {
        store: ctx.store.mode().await?,
        plans,
        plan_errors,
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
            .is_some_and(|l| alive(l, ctx.settings, ctx.clock)),
        leader,
        audit_head: ctx.store.audit_head().await?,
    })
}

/// Whether the daemon of `leader` is alive: seen within three of its longest sleeps (a daemon
/// killed stops being seen).
pub fn alive(
    leader: &LeaderRecord,
    settings: &crate::config::Settings,
    clock: &dyn crate::clock::Clock,
) -> bool {
    let beat = settings
        .daemon
        .waiting_recheck_secs
        .max(settings.daemon.leader_poll_secs)
        .max(1);
    crate::clock::parse_time(&leader.seen).is_some_and(|seen| {
        clock.wall().fixed_offset() - seen <= chrono::Duration::seconds(3 * beat as i64)
    })
}
