//! Inspection tasks after the draw: recording what happened (one fact at a time, or a file of
//! outcomes all or nothing), corrections, replacement by an alternate, and how a task stands.

use std::collections::HashSet;
use std::path::Path;

use chrono::NaiveDate;
use serde::Serialize;

use super::{Ctx, OpsError, Result, invalid};
use crate::calendar::Calendar;
use crate::draw::{DrawDoc, Manifest, Staffing, ticket::Ticketer};
use crate::import::{self, Problem};
use crate::lifecycle::{self, Event, Facts, Field, Obligation};
use crate::store::{BatchChange, Change, FactRecord, NewTask, Page, TaskFilter, TaskRow};

/// The change an event makes to a task, judged against its current facts.
fn change(
    row: &TaskRow,
    before: &Facts,
    event: &Event,
    today: NaiveDate,
    cal: &Calendar,
) -> Result<Change> {
    let facts = lifecycle::apply(before, event, today, cal).map_err(|e| match e {
        lifecycle::TransitionError::Refused(r) => OpsError::Refused(lifecycle::Refusal {
            en: format!("task {}: cannot {}: {}", row.id, event.name(), r.en),
            zh: format!("任务 {}：不能{}：{}", row.id, event.label(), r.zh),
        }),
        e => OpsError::Invalid(format!("task {}: cannot {}: {e}", row.id, event.name())),
    })?;
    let deadlines = lifecycle::deadlines(&facts, &row.rules, cal)?;
    let next_due = lifecycle::next_due(&facts, &deadlines.dates);
    Ok(Change {
        effective: lifecycle::effective(before, event, today),
        facts,
        deadlines,
        next_due,
        event: event.clone(),
    })
}

/// The audit row of one change: the event and every field it changed (old and new).
fn detail(before: &Facts, c: &Change) -> serde_json::Value {
    let mut d = serde_json::json!({
        "event": c.event,
        "effective": c.effective,
        "changes": lifecycle::changes(before, &c.facts),
    });
    if let Event::Correct(field, reason) = &c.event {
        d["correction"] = lifecycle::correction_detail(before, field, reason);
    }
    d
}

/// A recorded change and what the person should know about it.
#[derive(Debug, Serialize)]
pub struct Recorded {
    #[serde(flatten)]
    pub row: TaskRow,
    pub warnings: Vec<String>,
}

/// Records one event a person reports (schedule, complete, publish, penalty, refer, archive,
/// or a correction) with its audit row, and rebuilds the year's pages.
pub async fn transition(ctx: &Ctx<'_>, id: &str, event: Event) -> Result<Recorded> {
    let mut recorded = record_event(ctx, id, event).await?;
    recorded
        .warnings
        .extend(super::site::after_event(ctx, recorded.row.year).await);
    Ok(recorded)
}

/// The same, leaving the pages to the caller: for one that records many events and rebuilds
/// once (the rehearsal's divisions).
pub async fn record_event(ctx: &Ctx<'_>, id: &str, event: Event) -> Result<Recorded> {
    let row = record(ctx, id, &event).await?;
    let replans = replans(&event);
    let mut warnings = match row.facts.planned {
        Some(day) if matches!(event, Event::Schedule(_) | Event::Correct(..)) => {
            expired_on(ctx, &row, day).await?
        }
        _ => Vec::new(),
    };
    // A letter is dated when it is written: none announces an inspection already past.
    if let Some(day) = row.facts.planned
        && replans
        && day < ctx.clock.today()
        && row.facts.completed.is_none()
    {
        warnings.push(format!(
            "no 函告 was sent: the planned inspection day {day} has already passed, and a \
             letter announcing it now would be dated after it. Tell the municipal bureau \
             directly if it still needs to know"
        ));
    }
    Ok(Recorded { row, warnings })
}

/// Team members whose enforcement certificate (in the registry now) expires before `day`.
async fn expired_on(ctx: &Ctx<'_>, row: &TaskRow, day: NaiveDate) -> Result<Vec<String>> {
    let team: HashSet<&str> = row
        .members
        .iter()
        .chain(&row.partners)
        .map(String::as_str)
        .collect();
    Ok(ctx
        .store
        .officers()
        .await?
        .into_iter()
        .filter(|o| team.contains(o.id.as_str()))
        .filter_map(|o| {
            o.valid_until.filter(|v| *v < day).map(|v| {
                format!(
                    "officer {} {}'s enforcement certificate expires on {v}, before the planned \
                     inspection on {day}: renew it, or replace the task's team",
                    o.id, o.name
                )
            })
        })
        .collect())
}

/// What a 函告 for a newly planned date needs, loaded before the writer lock is taken.
struct NoticeContext {
    info: crate::notify::PlanInfo,
    dir: crate::notify::Directory,
    templates: crate::notify::templates::Templates,
    done: HashSet<String>,
}

async fn notice_context(ctx: &Ctx<'_>, row: &TaskRow) -> Result<NoticeContext> {
    let info = super::notices::plan_info(ctx, &row.plan_id, row.year).await?;
    let dir = super::notices::directory_for(ctx, &info).await?;
    let (templates, _) = super::notices::templates(ctx);
    Ok(NoticeContext {
        info,
        dir,
        templates,
        done: ctx.store.notified_items().await?,
    })
}

/// The 函告 still held for `row`'s bureau, of its plan: a change to `row` replaces them by one
/// letter naming their inspections again, with their dates as they now stand. Returns those
/// inspections (but `row`), and the letters to withdraw; their items leave `done`.
async fn held_for(
    ctx: &Ctx<'_>,
    row: &TaskRow,
    n: &mut NoticeContext,
) -> Result<(Vec<TaskRow>, Vec<i64>)> {
    let Some(bureau) = n.dir.bureau(&row.city) else {
        return Ok((Vec::new(), Vec::new()));
    };
    let (mut others, mut withdraw) = (Vec::new(), Vec::new());
    for held in ctx
        .store
        .held_letters(&crate::clock::stamp(ctx.clock.now()))
        .await?
    {
        if held.to != [bureau.email.clone()] {
            continue;
        }
        let mut tasks = Vec::new();
        for item in &held.items {
            let Some((task, _)) = item
                .strip_prefix("advance/")
                .and_then(|i| i.rsplit_once('/'))
            else {
                continue;
            };
            if task != row.id
                && let Some(t) = ctx.store.task(task).await?
            {
                tasks.push(t);
            }
        }
        // One letter is about one plan.
        if tasks
            .iter()
            .any(|t| t.plan_id != row.plan_id || t.year != row.year)
        {
            continue;
        }
        for item in &held.items {
            n.done.remove(item);
        }
        others.extend(tasks);
        withdraw.push(held.id);
    }
    Ok((others, withdraw))
}

/// Whether an event gives a task a (new) planned date, which may call for its 函告 at once.
fn replans(event: &Event) -> bool {
    matches!(
        event,
        Event::Schedule(_) | Event::Correct(Field::Planned(_), _)
    )
}

/// The 函告 due now for tasks just given a planned date (a date inside its notice period goes
/// out at once), one letter per bureau and day for each plan's tasks together.
async fn advance_notices_for(
    ctx: &Ctx<'_>,
    tasks: &[TaskRow],
    today: NaiveDate,
    cal: &Calendar,
) -> Result<Vec<crate::notify::Notice>> {
    let mut by_plan: std::collections::BTreeMap<(&str, i64), Vec<TaskRow>> = Default::default();
    for t in tasks {
        by_plan
            .entry((t.plan_id.as_str(), t.year))
            .or_default()
            .push(t.clone());
    }
    let mut out = Vec::new();
    for rows in by_plan.values() {
        let n = notice_context(ctx, &rows[0]).await?;
        out.extend(
            super::notices::wrap(crate::notify::advance_notices(
                rows,
                &n.info,
                today,
                &n.done,
                &n.dir,
                cal,
                &n.templates,
            ))?
            .notices,
        );
    }
    Ok(out)
}

async fn record(ctx: &Ctx<'_>, id: &str, event: &Event) -> Result<TaskRow> {
    // A held 函告 that a deliverer took meanwhile cannot be replaced: the change is made again,
    // its letter then naming only what that one did not.
    let mut tries = 0;
    loop {
        match record_once(ctx, id, event).await {
            Err(OpsError::Store(crate::store::StoreError::NoLongerHeld(_))) if tries < 3 => {
                tries += 1
            }
            r => return r,
        }
    }
}

async fn record_once(ctx: &Ctx<'_>, id: &str, event: &Event) -> Result<TaskRow> {
    let cal = super::plan::calendar(ctx.settings)?;
    let today = ctx.clock.today();
    let mut hold = crate::store::Hold {
        hold: chrono::Duration::seconds(ctx.settings.notify.hold_secs.min(86_400) as i64),
        withdraw: Vec::new(),
    };
    // A date planned inside its notice period: the 函告 goes out once held (a draft for
    // `notify.hold_secs`), together with the held ones of the same bureau.
    let mut notice = None;
    let mut others = Vec::new();
    if replans(event)
        && let Some(row) = ctx.store.task(id).await?
    {
        let mut n = notice_context(ctx, &row).await?;
        (others, hold.withdraw) = held_for(ctx, &row, &mut n).await?;
        notice = Some(n);
    }
    let mut refusal = None;
    let result = ctx
        .store
        .update_task(id, ctx.clock, ctx.actor, &hold, |row| {
            let outcome = change(row, &row.facts, event, today, &cal).and_then(|c| {
                let notices = match &notice {
                    Some(n) => {
                        let mut rows = vec![TaskRow {
                            facts: c.facts.clone(),
                            ..row.clone()
                        }];
                        rows.extend(others.iter().cloned());
                        super::notices::wrap(crate::notify::advance_notices(
                            &rows,
                            &n.info,
                            today,
                            &n.done,
                            &n.dir,
                            &cal,
                            &n.templates,
                        ))?
                        .notices
                    }
                    None => Vec::new(),
                };
                Ok((c, notices))
            });
            match outcome {
                Ok((c, notices)) => {
                    let d = detail(&row.facts, &c);
                    Ok((c, d, notices))
                }
                Err(e) => {
                    let message = e.to_string();
                    refusal = Some(e);
                    Err(message)
                }
            }
        })
        .await;
    match (result, refusal) {
        (Ok(row), _) => Ok(row),
        (Err(_), Some(e)) => Err(e),
        (Err(e), None) => Err(e.into()),
    }
}

/// A task as `task show` presents it: the row, each deadline's state, and its recorded facts.
#[derive(Debug, Serialize)]
pub struct TaskView {
    #[serde(flatten)]
    pub row: TaskRow,
    pub deadline_states: Vec<DeadlineState>,
    pub recorded: Vec<FactRecord>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct DeadlineState {
    pub obligation: Obligation,
    /// None while the deadline waits for its year's holiday data.
    pub due: Option<NaiveDate>,
    /// done (on time / late), open (working days left), overdue (working days late)
    pub state: String,
}

pub async fn show(ctx: &Ctx<'_>, id: &str) -> Result<TaskView> {
    let row = ctx
        .store
        .task(id)
        .await?
        .ok_or_else(|| OpsError::Invalid(format!("no task `{}`", crate::text::quote(id))))?;
    let cal = super::plan::calendar(ctx.settings)?;
    let deadline_states = deadline_states(&row, ctx.clock.today(), &cal)?;
    let recorded = ctx.store.facts(id).await?;
    let warnings = match row.facts.planned {
        Some(day) if row.facts.status.is_open() && row.facts.completed.is_none() => {
            expired_on(ctx, &row, day).await?
        }
        _ => Vec::new(),
    };
    Ok(TaskView {
        row,
        deadline_states,
        recorded,
        warnings,
    })
}

fn deadline_states(row: &TaskRow, today: NaiveDate, cal: &Calendar) -> Result<Vec<DeadlineState>> {
    let f = &row.facts;
    let mut out = Vec::new();
    for (o, due) in &row.deadlines {
        let done = match o {
            // Met on the day a date was set, whatever the date.
            Obligation::Schedule => f.planned.map(|_| f.scheduled_on),
            Obligation::Notice | Obligation::PenaltyDecision => None,
            Obligation::Complete => f.completed.map(Some),
            Obligation::Publish => f.published.map(Some),
            Obligation::PenaltyPublish => f.penalty_published.map(Some),
        };
        // A count across a year without holiday data is unknown; the state is still shown.
        let days = |from: NaiveDate, to: NaiveDate| {
            cal.working_days_between(from, to).map_or_else(
                |e| format!("an unknown number of working days ({e})"),
                crate::text::working_days,
            )
        };
        let state = match done {
            _ if *o == Obligation::Notice => "函告 to send by this day".to_string(),
            Some(Some(d)) if d <= *due => format!("done {d}, on time"),
            Some(Some(d)) => format!("done {d}, {} late", days(*due, d)),
            Some(None) => "done".to_string(),
            None if !f.status.is_open() => "closed".to_string(),
            None if *due >= today => format!("{} left", days(today, *due)),
            None => format!("OVERDUE by {}", days(*due, today)),
        };
        out.push(DeadlineState {
            obligation: *o,
            due: Some(*due),
            state,
        });
    }
    for o in &row.pending {
        out.push(DeadlineState {
            obligation: *o,
            due: None,
            state: "waiting for holiday data: the date follows once the year's \
                    rules/calendar/YEAR.toml is added"
                .into(),
        });
    }
    Ok(out)
}

/// Recomputes the deadlines that waited for holiday data, now that the calendar may have the
/// year; returns the tasks still waiting.
pub async fn refresh_pending(ctx: &Ctx<'_>, cal: &Calendar) -> Result<Vec<TaskRow>> {
    let mut waiting = Vec::new();
    let pending = TaskFilter {
        pending: true,
        ..Default::default()
    };
    for row in ctx.store.tasks(&pending).await? {
        let before = row.due();
        let after = lifecycle::deadlines(&row.facts, &row.rules, cal)?;
        if after != before {
            let next = lifecycle::next_due(&row.facts, &after.dates);
            ctx.store
                .refresh_deadlines(&row.id, &before, &after, next, ctx.clock, ctx.actor)
                .await?;
        }
        if !after.pending.is_empty() {
            waiting.push(row);
        }
    }
    Ok(waiting)
}

/// Which tasks a listing shows.
#[derive(Debug, Default, Clone, Copy)]
pub struct Query<'a> {
    pub status: Option<&'a str>,
    /// A division's name or code.
    pub division: Option<&'a str>,
    /// A municipal unit's code (a bureau's territory).
    pub unit: Option<&'a str>,
    /// Only tasks with a deadline still owed before this day, soonest first.
    pub due_before: Option<NaiveDate>,
    /// Count the tasks selected only up to this many (see `Listing::capped`).
    pub count_up_to: Option<u64>,
}

/// Tasks by status, division (name or code) and municipal unit, or only those with a deadline
/// owed before a day, a page at a time: a year of a province's tasks is never held at once.
pub async fn list(ctx: &Ctx<'_>, q: &Query<'_>, page: Page) -> Result<Listing> {
    let Query {
        status,
        division,
        unit,
        due_before,
        count_up_to,
    } = *q;
    let status = match status {
        Some(s) => Some(
            lifecycle::Status::parse(s)
                .ok_or_else(|| {
                    OpsError::Invalid(format!(
                        "unknown status `{}`: one of {}",
                        crate::text::quote(s),
                        lifecycle::Status::ALL
                            .iter()
                            .map(|s| s.code())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })?
                .code()
                .to_string(),
        ),
        None => None,
    };
    let division = match division {
        Some(d) => {
            let vocab = ctx
                .settings
                .vocabulary()
                .map_err(|e| OpsError::Invalid(e.to_string()))?;
            Some(vocab.division(d).map(|x| x.code.clone()).ok_or_else(|| {
                OpsError::Invalid(format!("unknown division `{}`", crate::text::quote(d)))
            })?)
        }
        None => None,
    };
    let mut filter = TaskFilter {
        status,
        division,
        due_before,
        unit: unit.map(String::from),
        ..Default::default()
    };
    let total = ctx.store.task_count(&filter, count_up_to).await?;
    filter.page = Some(page);
    let capped = count_up_to.is_some_and(|n| u64::try_from(total).unwrap_or(0) > n);
    Ok(Listing {
        tasks: ctx.store.tasks(&filter).await?,
        offset: page.offset,
        total: if capped {
            count_up_to.map_or(total, |n| i64::try_from(n).unwrap_or(i64::MAX))
        } else {
            total
        },
        capped,
    })
}

/// One page of a task listing and how many tasks the filter selects in all.
#[derive(Debug, Serialize)]
pub struct Listing {
    pub tasks: Vec<TaskRow>,
    pub offset: u64,
    pub total: i64,
    /// The filter selects more than `total` tasks (counting stopped there).
    pub capped: bool,
}

/// What a replacement created.
#[derive(Debug, Serialize)]
pub struct Replaced {
    pub replaced: String,
    pub replaced_entity: String,
    pub by: NewTask,
    pub warnings: Vec<String>,
}

/// Replaces a task whose entity is closed or unreachable by the stratum's next unused
/// alternate, with a team formed by the draw's own rules and tickets. Every assignment the
/// draw ever made counts toward the per-officer cap, whatever became of its task (completed,
/// archived, replaced): the draw's assignments never shrink, so no replacement can put an
/// officer above the cap. (A voided draw's tasks belong to that draw, not to its redraw.)
/// Certificates are checked on the day of the replacement.
pub async fn replace(ctx: &Ctx<'_>, id: &str, reason: &str) -> Result<Replaced> {
    crate::text::check_note("the replacement's --reason", reason, 500)
        .map_err(OpsError::Invalid)?;
    let row = ctx
        .store
        .task(id)
        .await?
        .ok_or_else(|| OpsError::Invalid(format!("no task `{}`", crate::text::quote(id))))?;
    let today = ctx.clock.today();
    if today > row.facts.window.end {
        return invalid(format!(
            "task {id}'s inspection window ended on {} (today is {today}): a replacement now \
             could not be inspected in time. To record one made back then, give its day with \
             --today",
            row.facts.window.end
        ));
    }
    let draw = ctx.store.draw_by_id(row.draw_id).await?;
    if draw.status != "official" {
        return invalid(format!(
            "task {id} belongs to draw #{} of {}, which is {}: only tasks of the official draw \
             can be replaced",
            draw.seq, draw.plan_id, draw.status
        ));
    }
    let manifest: Manifest =
        serde_json::from_str(&ctx.store.manifest_by_id(draw.manifest_id).await?.content)
            .map_err(|e| OpsError::Internal(format!("stored manifest: {e}")))?;
    let doc: DrawDoc = serde_json::from_str(&draw.content)
        .map_err(|e| OpsError::Internal(format!("stored draw: {e}")))?;
    let siblings = ctx
        .store
        .tasks(&TaskFilter {
            draw_id: Some(row.draw_id),
            ..Default::default()
        })
        .await?;
    let used: HashSet<&str> = siblings.iter().map(|t| t.uscc.as_str()).collect();
    let stratum = doc
        .strata
        .iter()
        .find(|s| s.stratum == row.stratum)
        .ok_or_else(|| {
            OpsError::Internal(format!("stratum `{}` is not in the draw", row.stratum))
        })?;
    let alternate = stratum
        .alternates
        .iter()
        .find(|p| !used.contains(p.id.as_str()))
        .ok_or_else(|| {
            OpsError::Invalid(format!("stratum `{}` has no alternate left", row.stratum))
        })?;
    let today = ctx.clock.today();
    let t = Ticketer::new(&doc.seed);
    // A v3 manifest lists only who was eligible at the draw: who is no longer on the day of
    // the replacement, the private record says.
    let unfit = match ctx.store.eligibility(draw.manifest_id).await? {
        Some(text) => serde_json::from_str::<crate::draw::eligibility::Record>(&text)
            .map_err(|e| OpsError::Internal(format!("stored eligibility record: {e}")))?
            .unfit_on(&manifest.team_rules, today),
        None => Default::default(),
    };
    let mut staffing = Staffing::new(&manifest, &t).certificates_on(today, unfit);
    for s in &siblings {
        for o in s.members.iter().chain(&s.partners) {
            *staffing.load.entry(o.clone()).or_insert(0) += 1;
        }
    }
    let team = staffing.team(&row.task_rule, &row.stratum, &alternate.id)?;
    let cal = super::plan::calendar(ctx.settings)?;
    let facts = Facts::drawn(today, row.facts.window);
    let deadlines = lifecycle::deadlines(&facts, &row.rules, &cal)?;
    let entity = ctx.store.entity(&alternate.id).await?;
    let prefix = row.id.rsplit_once('-').map_or(row.id.as_str(), |(p, _)| p);
    let number = siblings
        .iter()
        .filter(|s| s.task_rule == row.task_rule)
        .count()
        + 1;
    let new = NewTask {
        id: format!("{prefix}-{number:03}"),
        task_rule: row.task_rule.clone(),
        stratum: row.stratum.clone(),
        uscc: alternate.id.clone(),
        entity_name: entity.as_ref().map(|e| e.name.clone()).unwrap_or_default(),
        city: entity.as_ref().map(|e| e.city.clone()).unwrap_or_default(),
        division: row.division.clone(),
        cadre: team.cadre.clone(),
        members: team.members.clone(),
        partners: team.partners.clone(),
        items: row.items.clone(),
        drawn_on: today,
        planned: None,
        next_due: lifecycle::next_due(&facts, &deadlines.dates),
        deadlines,
    };
    ctx.store
        .replace_task(id, &new, reason, siblings.len(), ctx.clock, ctx.actor)
        .await?;
    Ok(Replaced {
        replaced: id.to_string(),
        replaced_entity: row.uscc,
        by: new,
        warnings: super::site::after_event(ctx, row.year)
            .await
            .into_iter()
            .collect(),
    })
}

/// What a file of outcomes did, or why it did nothing.
#[derive(Debug, Serialize)]
pub struct OutcomeImport {
    pub ok: bool,
    pub file: String,
    pub dry_run: bool,
    pub tasks: usize,
    pub problems: Vec<Problem>,
    pub warnings: Vec<String>,
}

/// Applies a file of outcomes (CSV/XLSX from the divisions): every row is checked against its
/// task first, and only a file without a single problem is written, in one transaction.
pub async fn import_outcomes(
    ctx: &Ctx<'_>,
    file: &Path,
    sheet: Option<&str>,
    dry_run: bool,
) -> Result<OutcomeImport> {
    let name = file.display().to_string();
    // Everything parsable is checked against its task even when other rows (or other cells of
    // the same row) have problems, so that one pass names every problem in the file.
    let (rows, mut problems) = match import::table::read(file, sheet) {
        Ok(mut t) => import::parse_outcomes(&mut t),
        Err(p) => (Vec::new(), p),
    };
    let mut batch = Vec::new();
    // Tasks the file gives a new planned date, as they will stand: their 函告.
    let mut replanned: Vec<TaskRow> = Vec::new();
    let cal = super::plan::calendar(ctx.settings)?;
    let today = ctx.clock.today();
    for r in rows {
        let Some(task) = ctx.store.task(&r.task).await? else {
            problems.push(Problem::new(
                &name,
                r.row,
                &r.task_column,
                &r.task,
                "no such task",
            ));
            continue;
        };
        let Some(events) = &r.events else {
            continue;
        };
        let mut facts = task.facts.clone();
        let mut changes = Vec::new();
        for (event, column, value) in events {
            match change(&task, &facts, event, today, &cal) {
                Ok(c) => {
                    facts = c.facts.clone();
                    changes.push(c);
                }
                Err(e) => {
                    // Later events of the row build on this one: checking them without it
                    // would only report its consequences.
                    problems.push(Problem::new(&name, r.row, column, value, &e.to_string()));
                    break;
                }
            }
        }
        if changes.len() != events.len() {
            continue;
        }
        if changes.iter().any(|c| replans(&c.event)) {
            replanned.push(TaskRow {
                facts: facts.clone(),
                ..task.clone()
            });
        }
        batch.push(BatchChange {
            id: r.task.clone(),
            detail: serde_json::json!({
                "file": name, "row": r.row,
                "events": changes.iter().map(|c| &c.event).collect::<Vec<_>>(),
                "changes": lifecycle::changes(&task.facts, &facts),
            }),
            expected: task.facts.clone(),
            changes,
        });
    }
    problems.sort_by_key(Problem::row);
    let mut warnings = Vec::new();
    if problems.is_empty() && !dry_run {
        let notices = advance_notices_for(ctx, &replanned, today, &cal).await?;
        ctx.store
            .update_tasks(&batch, &notices, ctx.clock, ctx.actor)
            .await?;
        let mut years: Vec<i64> = Vec::new();
        for b in &batch {
            if let Some(t) = ctx.store.task(&b.id).await?
                && !years.contains(&t.year)
            {
                years.push(t.year);
            }
        }
        for y in years {
            warnings.extend(super::site::after_event(ctx, y).await);
        }
    }
    Ok(OutcomeImport {
        ok: problems.is_empty(),
        file: name,
        dry_run,
        tasks: batch.len(),
        problems,
        warnings,
    })
}
