//! What each scheduled job does: the same operations a person runs from the command line,
//! with the daemon's view of their outcome (done, or waiting for something outside suiji).

use super::plan::Script;
use super::{Ctx, OpsError, Result, refused};
use crate::jobs::{Job, Slot};
use crate::plan::{Plan, SeedKind};

/// The department's jobs as the store and the configuration say now: they start at the first
/// import or the first draw recorded, whichever is earlier (a rehearsal records its draw on its
/// simulated clock); none before there is anything to watch. A plan's draw slot alone never
/// starts them: a plan of a past year loaded into a new store owes no report about its months.
/// A store whose daemon ran them under a plan's id before they became the department's owes
/// none before the first of those runs (a report about a month before it was never due).
pub async fn department(
    store: &crate::store::Store,
    settings: &crate::config::Settings,
) -> std::result::Result<Option<crate::jobs::Department>, crate::store::StoreError> {
    let at = |t: &Option<String>| {
        t.as_deref()
            .and_then(crate::clock::parse_time)
            .map(|t| t.with_timezone(&chrono_tz::Asia::Shanghai))
    };
    let first = store.first_records().await?;
    let start = match at(&first.plan_run) {
        Some(run) => Some(run - chrono::Duration::seconds(1)),
        None => [at(&first.import), at(&first.draw)]
            .into_iter()
            .flatten()
            .min(),
    };
    Ok(crate::jobs::Department::new(&settings.daemon, start))
}

/// Every run of the jobs `jobs` schedules: each plan's freeze and draw (under its id) and the
/// department's (under `jobs::DEPARTMENT`, with those an older daemon ran under a plan's id).
pub async fn runs(
    store: &crate::store::Store,
    jobs: &crate::jobs::Jobs<'_>,
) -> std::result::Result<Vec<crate::store::JobRun>, crate::store::StoreError> {
    let mut out = Vec::new();
    let owners = jobs
        .plans
        .iter()
        .map(|p| (p.id.as_str(), false))
        .chain(jobs.department.map(|_| (crate::jobs::DEPARTMENT, true)));
    for (owner, department) in owners {
        out.extend(
            store
                .job_runs(owner)
                .await?
                .into_iter()
                .filter(|r| Job::parse(&r.job).is_some_and(|j| j.of_department() == department)),
        );
    }
    Ok(out)
}

/// What the recorded controls mean for the runner (controls of unknown jobs or actions, from
/// a newer version, hold nothing).
pub fn holds(controls: &[crate::store::JobControl]) -> crate::jobs::Holds {
    crate::jobs::Holds::new(controls.iter().filter_map(|c| {
        Some((
            Job::parse(&c.job)?,
            c.owner.as_str(),
            crate::jobs::Action::parse(&c.action)?,
            c.slot.as_deref(),
        ))
    }))
}

/// A control recorded: its id and, for a run, the slot it asked for.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Controlled {
    pub id: i64,
    pub job: Job,
    pub owner: String,
    pub action: crate::jobs::Action,
    pub slot: Option<String>,
}

/// An administrator pauses or resumes a job, or runs one of its slots now, with a reason
/// (audited). `plan` names a plan's job (freeze, draw); the department's jobs take none. A run
/// takes `slot` (a key as `status` lists them), or the job's one slot that is due, waits or
/// failed; the daemon runs it at its next look, paused or not, without waiting for the
/// slot's next attempt. A job not yet due cannot be run early: its inputs are not public.
pub async fn control(
    ctx: &Ctx<'_>,
    (job, plan): (Job, Option<&str>),
    action: crate::jobs::Action,
    slot: Option<&str>,
    reason: &str,
) -> Result<Controlled> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return refused(
            "a reason is required (at most 500 characters): it is audited",
            "须填写原因（不超过 500 字），记入审计日志",
        );
    }
    if let Err(en) = crate::text::check_note("the reason", reason, 500) {
        return refused(en, "原因不得含控制字符或隐藏字符");
    }
    let name = job.name();
    if job.of_department() && plan.is_some() {
        return refused(
            format!("{name} is the department's job: it takes no plan"),
            format!("“{}”是全厅的定时任务，不属于某个计划", job.label()),
        );
    }
    let status = super::status::status(ctx).await?;
    let Some(found) = status
        .jobs
        .iter()
        .find(|j| j.job == job && j.plan.as_deref() == plan)
    else {
        // The department's jobs are always listed (a pause may come before they start).
        return match plan {
            Some(p) => {
                let p = crate::text::quote(p);
                let ids: Vec<&str> = status.plans.iter().map(|p| p.id.as_str()).collect();
                let (en, zh) = if ids.is_empty() {
                    (
                        "no plan runs here".to_string(),
                        "没有运行中的计划".to_string(),
                    )
                } else {
                    (
                        format!("the plans: {}", ids.join(", ")),
                        format!("现有计划：{}", ids.join("、")),
                    )
                };
                refused(
                    format!("no job {name} of plan `{p}` ({en})"),
                    format!("计划“{p}”没有这个定时任务（{zh}）"),
                )
            }
            None => refused(
                format!("{name} is a plan's job: name the plan"),
                format!("“{}”属于某个计划：请指明计划", job.label()),
            ),
        };
    };
    let owner = plan.unwrap_or(crate::jobs::DEPARTMENT);
    let slot = match action {
        crate::jobs::Action::Run => {
            let open = found.open();
            match (slot, open.as_slice()) {
                (Some(s), _) if open.contains(&s) => Some(s.to_string()),
                (None, [one]) => Some(one.to_string()),
                (given, _) => {
                    let next = found.next_run.as_deref().unwrap_or("none");
                    let given = given.map(crate::text::quote);
                    let (en, zh) = if open.is_empty() {
                        (
                            "no slot due, waiting or failed".to_string(),
                            "没有到点、等待或失败的时段".to_string(),
                        )
                    } else {
                        (
                            format!("these slots open: {} (name one)", open.join(", ")),
                            format!("可运行的时段：{}（请指明一个）", open.join("、")),
                        )
                    };
                    return refused(
                        format!(
                            "{}{name} of {owner} has {en}: a job is run by hand only when a slot \
                             is due, waits or failed (next run {next})",
                            given.as_ref().map_or(String::new(), |s| format!(
                                "slot `{s}` is not open to run: "
                            ))
                        ),
                        format!(
                            "{}{}：{zh}。只有到点、等待或失败的时段可以手动运行（下次运行 {next}）",
                            given
                                .as_ref()
                                .map_or(String::new(), |s| format!("时段“{s}”不能运行：")),
                            job.label()
                        ),
                    );
                }
            }
        }
        _ if slot.is_some() => {
            return refused(
                "a slot is named only to run it; a pause or resume is of the whole job",
                "只有手动运行需要指明时段；暂停和恢复针对整个定时任务",
            );
        }
        _ => None,
    };
    // The store checks again under its writer lock (two administrators at once); this says
    // it in the console's language.
    match (action, &found.paused) {
        (crate::jobs::Action::Pause, Some(p)) => {
            return refused(
                format!(
                    "job {name} of {owner} is paused already (by {} at {})",
                    p.actor, p.recorded_at
                ),
                format!(
                    "“{}”已于 {} 由 {} 暂停",
                    job.label(),
                    p.recorded_at,
                    p.actor
                ),
            );
        }
        (crate::jobs::Action::Resume, None) => {
            return refused(
                format!("job {name} of {owner} is not paused"),
                format!("“{}”没有暂停", job.label()),
            );
        }
        _ => {}
    }
    let id = ctx
        .store
        .record_control(
            (job.name(), owner),
            (action.name(), slot.as_deref()),
            reason,
            ctx.clock,
            ctx.actor,
        )
        .await?;
    Ok(Controlled {
        id,
        job,
        owner: owner.to_string(),
        action,
        slot,
    })
}

/// The jobs' history: the slots run most recently (newest first) and every control, newest
/// first.
pub async fn history(
    ctx: &Ctx<'_>,
    limit: i64,
) -> Result<(Vec<crate::store::JobRun>, Vec<crate::store::JobControl>)> {
    let runs = ctx.store.recent_job_runs(limit).await?;
    let mut controls = ctx.store.job_controls().await?;
    controls.reverse();
    Ok((runs, controls))
}

/// When the first failed or waiting run of `runs` is to be tried again: a moment the daemon
/// (and its rehearsal) must look, besides the schedules' slots.
pub fn next_retry(runs: &[crate::store::JobRun]) -> Option<chrono::DateTime<chrono_tz::Tz>> {
    runs.iter()
        .filter(|r| r.status == "failed" || r.status == "waiting")
        .filter_map(|r| crate::clock::parse_time(r.next_attempt.as_deref()?))
        .map(|t| t.with_timezone(&chrono_tz::Asia::Shanghai))
        .min()
}

/// The slots of `runs` that are done, as `Jobs::due` takes them (a department's job an older
/// daemon ran under a plan's id counts as the department's).
pub fn done(runs: &[crate::store::JobRun]) -> crate::jobs::Done {
    runs.iter()
        .filter(|r| r.status == "done")
        .filter_map(|r| {
            let job = Job::parse(&r.job)?;
            let owner = if job.of_department() {
                crate::jobs::DEPARTMENT.to_string()
            } else {
                r.plan_id.clone()
            };
            Some((job, owner, r.slot.clone()))
        })
        .collect()
}

/// How a job run ended, when it did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done(String),
    /// Waiting for something only the world can provide (the seed digits, a beacon round).
    Waiting(String),
}

/// Runs one slot: the plan's freeze or draw (evaluated from `script`; they evaluate it again
/// against the registry as it is then), or one of the department's jobs, which need no plan.
pub async fn run(ctx: &Ctx<'_>, plan: Option<(&Plan, Script<'_>)>, slot: &Slot) -> Result<Outcome> {
    match (slot.job, plan) {
        (Job::Freeze, Some((_, script))) => freeze(ctx, script).await,
        (Job::Draw, Some((plan, script))) => draw(ctx, script, plan).await,
        (Job::Freeze | Job::Draw, None) => Err(OpsError::Internal(format!(
            "{} slot {} without a plan",
            slot.job.name(),
            slot.key()
        ))),
        (Job::Nightly, _) => nightly(ctx).await,
        (Job::Report, _) => report(ctx, slot).await,
    }
}

async fn freeze(ctx: &Ctx<'_>, script: Script<'_>) -> Result<Outcome> {
    let f = super::draw::freeze(ctx, script, None).await?;
    Ok(Outcome::Done(format!(
        "{} manifest #{} (digest {})",
        if f.already {
            "already frozen:"
        } else {
            "frozen"
        },
        f.record.seq,
        f.record.digest
    )))
}

async fn draw(ctx: &Ctx<'_>, script: Script<'_>, plan: &Plan) -> Result<Outcome> {
    let year = i64::from(plan.year);
    if let Some(d) = ctx.store.official_draw(&plan.id, year).await? {
        super::site::publish_plan(ctx, &plan.id, year).await?;
        return Ok(Outcome::Done(format!(
            "already drawn: draw #{} at {}",
            d.seq, d.drawn_at
        )));
    }
    let available = plan.seed.available_at;
    if ctx.clock.now() < available {
        return Ok(Outcome::Waiting(format!(
            "waiting for the seed: public from {}",
            available.to_rfc3339()
        )));
    }
    let mut input = super::draw::SeedInput::default();
    if plan.seed.kind == SeedKind::Manual {
        let entered = match ctx.store.active_manifest(&plan.id, year).await? {
            Some(m) => ctx.store.seed_entry(m.id).await?,
            None => None,
        };
        match entered {
            Some(v) => input.value = Some(v),
            None => {
                return Ok(Outcome::Waiting(format!(
                    "waiting for seed digits ({}): enter them with `suiji seed enter DIGITS` \
                     once announced",
                    plan.seed.source
                )));
            }
        }
    }
    match super::draw::draw_official(ctx, script, input).await {
        Ok(d) => Ok(Outcome::Done(format!(
            "drawn: draw #{} with {} tasks (digest {})",
            d.record.seq, d.tasks, d.record.digest
        ))),
        Err(OpsError::NotYet(m)) => Ok(Outcome::Waiting(m)),
        Err(e) => Err(e),
    }
}

/// The 函告 sent `console.acknowledge_within` working days ago or more that their bureau has
/// not acknowledged in the console (none while the console is off: bureaus have nowhere to).
async fn unacknowledged(
    ctx: &Ctx<'_>,
    cal: &crate::calendar::Calendar,
    today: chrono::NaiveDate,
) -> Result<Vec<String>> {
    let within = i64::from(ctx.settings.console.acknowledge_within);
    if ctx.settings.console.listen.is_empty() || within == 0 {
        return Ok(Vec::new());
    }
    let labels = super::Labels::of(ctx.settings)?;
    Ok(super::notices::letters(ctx, None)
        .await?
        .into_iter()
        .filter(|l| l.receipt.is_none())
        .filter_map(|l| {
            let sent = crate::clock::parse_time(l.row.sent_at.as_deref()?)?
                .with_timezone(&chrono_tz::Asia::Shanghai)
                .date_naive();
            let days = cal.working_days_between(sent, today).ok()?;
            (days >= within).then(|| {
                format!(
                    "函告 #{}（{}，{} 发出）已过 {days} 个工作日未签收：{}",
                    l.row.id,
                    l.unit
                        .as_deref()
                        .map_or_else(|| "—".to_string(), |u| labels.city(u)),
                    sent,
                    l.row.subject
                )
            })
        })
        .collect())
}

/// The nightly check, over every open task of every plan: what is overdue, and the notices the
/// day calls for (函告 whose notice day has come, reminders, escalations, and what the
/// administrators must hear), queued in one transaction with the run's completion; then the
/// public files brought up to date.
async fn nightly(ctx: &Ctx<'_>) -> Result<Outcome> {
    let cal = super::plan::calendar(ctx.settings)?;
    let today = ctx.clock.today();
    let lines = super::report::overdue(ctx, &cal, today).await?;
    let late_tasks: std::collections::BTreeSet<&str> =
        lines.iter().map(|l| l.task.as_str()).collect();
    let tasks = ctx
        .store
        .tasks(&crate::store::TaskFilter::default())
        .await?;
    let done = ctx.store.notified_items().await?;
    let dir = super::notices::department_directory(ctx, today).await?;
    let (templates, problems) = super::notices::templates(ctx);
    // Each plan's letters carry its own title and public folder.
    let mut by_plan: std::collections::BTreeMap<(String, i64), Vec<crate::store::TaskRow>> =
        Default::default();
    for t in tasks {
        by_plan
            .entry((t.plan_id.clone(), t.year))
            .or_default()
            .push(t);
    }
    let mut planned = crate::notify::Planned::default();
    let mut unaddressed: Vec<String> = Vec::new();
    for ((plan_id, year), tasks) in &by_plan {
        let info = super::notices::plan_info(ctx, plan_id, *year).await?;
        let dir = super::notices::for_plan(ctx, &dir, &info);
        for made in [
            crate::notify::advance_notices(tasks, &info, today, &done, &dir, &cal, &templates),
            crate::notify::reminders_and_escalations(
                tasks, &info, today, &done, &dir, &cal, &templates,
            ),
        ] {
            let made = super::notices::wrap(made)?;
            planned.notices.extend(made.notices);
            unaddressed.extend(made.unaddressed);
        }
    }
    // What the administrators must hear: (what, how often, title, lines). What stays true from
    // day to day is told once a week.
    let day = today.to_string();
    let iso = today.iso_week();
    let week = format!("{}-W{:02}", iso.year(), iso.week());
    let mut admin: Vec<(&str, &str, String, Vec<String>)> = Vec::new();
    if !unaddressed.is_empty() {
        admin.push((
            "no-address",
            &day,
            "通知无法送达：缺少收件地址".into(),
            unaddressed,
        ));
    }
    if !problems.is_empty() {
        admin.push((
            "templates",
            &day,
            "通知模板未通过检查，继续使用上一版本".into(),
            problems.iter().map(|p| p.to_string()).collect(),
        ));
    }
    // Recomputing deadlines now computable is upkeep, done again by a rerun: only the notices'
    // transaction marks the run done, so a crash between the two loses no notice.
    let upkeep = ctx.store.without_job();
    let waiting = super::task::refresh_pending(
        &Ctx {
            store: &upkeep,
            ..*ctx
        },
        &cal,
    )
    .await?;
    if !waiting.is_empty() {
        admin.push((
            "pending-deadlines",
            &week,
            format!("{} 项任务的期限等待节假日安排数据", waiting.len()),
            waiting
                .iter()
                .map(|t| {
                    let what: Vec<&str> = t.pending.iter().map(|o| o.words()).collect();
                    format!(
                        "{}：{}（请补充相应年度的节假日安排数据）",
                        t.id,
                        what.join("、")
                    )
                })
                .collect(),
        ));
    }
    // This year's data missing: told at once (lateness cannot be counted); next year's from
    // November. Both weekly.
    for year in [today.year(), today.year() + 1] {
        if (year == today.year() || today.month() >= 11) && cal.year(year).is_err() {
            admin.push((
                if year == today.year() {
                    "holidays-this-year"
                } else {
                    "holidays"
                },
                &week,
                format!("尚无{year}年节假日安排数据"),
                vec![format!(
                    "在添加 rules/calendar/{year}.toml（依据国务院办公厅关于{year}年部分节假日\
                     安排的通知）之前，{year}年内的工作日期限无法计算，逾期天数显示为未知。"
                )],
            ));
        }
    }
    let unacknowledged = unacknowledged(ctx, &cal, today).await?;
    if !unacknowledged.is_empty() {
        admin.push((
            "unacknowledged",
            &week,
            format!("{} 份函告逾期未签收", unacknowledged.len()),
            unacknowledged,
        ));
    }
    for (what, period, title, lines) in admin {
        if let Some(n) = super::notices::wrap(crate::notify::admin(
            what, period, &title, &lines, today, &dir, &templates,
        ))? {
            planned.notices.push(n);
        }
    }
    let advance = planned
        .notices
        .iter()
        .filter(|n| n.kind == crate::notify::Kind::AdvanceNotice)
        .count();
    let queued = ctx.store.queue_notices(&planned.notices, ctx.clock).await?;
    // Catch-up publication of every plan: whatever was recorded since, by anyone.
    super::site::publish(ctx, None, None).await?;
    Ok(Outcome::Done(format!(
        "{} overdue item(s) in {} task(s) of {} plan(s) on {today}; {queued} notice(s) queued \
         ({advance} 函告)",
        lines.len(),
        late_tasks.len(),
        by_plan.len()
    )))
}

/// The department's report of the month before the slot (every plan's tasks), as it stood at
/// its end, written under the data folder as XLSX and JSON and sent to the division that
/// tracks enforcement.
async fn report(ctx: &Ctx<'_>, slot: &Slot) -> Result<Outcome> {
    let first = slot
        .at
        .date_naive()
        .with_day0(0)
        .and_then(|d| d.pred_opt())
        .and_then(|d| d.with_day0(0))
        .ok_or_else(|| OpsError::Internal("report month".into()))?;
    let report = super::report::report(ctx, Some(first), false).await?;
    let dir = ctx.settings.daemon.data_dir.join("reports");
    std::fs::create_dir_all(&dir)
        .map_err(|e| OpsError::Internal(format!("{}: {e}", dir.display())))?;
    let name = first.format("%Y-%m").to_string();
    let xlsx = dir.join(format!("{name}.xlsx"));
    super::report::write_xlsx(&xlsx, &report, &super::Labels::of(ctx.settings)?)?;
    let json = dir.join(format!("{name}.json"));
    let text = serde_json::to_vec_pretty(&report).map_err(|e| OpsError::Internal(e.to_string()))?;
    crate::publish::write_atomic(&json, &text)?;
    let bytes =
        std::fs::read(&xlsx).map_err(|e| OpsError::Internal(format!("{}: {e}", xlsx.display())))?;
    let today = ctx.clock.today();
    let people = super::notices::department_directory(ctx, today).await?;
    let (templates, _) = super::notices::templates(ctx);
    let planned = super::notices::wrap(crate::notify::monthly_report(
        &report,
        bytes,
        &crate::notify::PlanInfo::department(first.year()),
        ctx.clock.today(),
        &people,
        &templates,
    ))?;
    for u in &planned.unaddressed {
        tracing::warn!("{u}");
    }
    ctx.store.queue_notices(&planned.notices, ctx.clock).await?;
    let drawn: u32 = report.divisions.iter().map(|d| d.drawn).sum();
    let overdue: u32 = report.divisions.iter().map(|d| d.overdue).sum();
    Ok(Outcome::Done(format!(
        "report {name}: {drawn} tasks, {overdue} overdue; written to {}",
        xlsx.display()
    )))
}

use chrono::Datelike;
