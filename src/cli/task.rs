//! `task`, `overdue`, `report` and `calendar`: the inspection task lifecycle and its deadlines.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use chrono::NaiveDate;
use serde::Serialize;

use super::draw::store_error;
use super::{Invalid, print_json};
use suiji::calendar::Calendar;
use suiji::clock::Clock;
use suiji::config::Settings;
use suiji::lifecycle::{self, Event, Obligation};
use suiji::store::{Change, Store, TaskFilter, TaskRow};

pub fn calendar(settings: &Settings) -> Result<Calendar> {
    Calendar::load(&settings.calendar.dir).map_err(|e| Invalid(format!("holiday data: {e}")).into())
}

pub fn parse_date(s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| Invalid(format!("`{s}` is not a date: write YYYY-MM-DD")).into())
}

/// Applies one lifecycle event to a task and prints where it stands.
#[allow(clippy::too_many_arguments)]
pub async fn transition(
    store: &Store,
    settings: &Settings,
    clock: &dyn Clock,
    actor: &str,
    id: &str,
    event: Event,
    detail: serde_json::Value,
    json: bool,
) -> Result<ExitCode> {
    let cal = calendar(settings)?;
    let today = clock.today();
    let row = store
        .update_task(id, event.name(), detail, clock, actor, |row| {
            let facts = lifecycle::apply(&row.facts, &event, today, &cal)
                .map_err(|e| format!("task {id}: cannot {}: {e}", event.name()))?;
            let deadlines =
                lifecycle::deadlines(&facts, &row.rules, &cal).map_err(|e| e.to_string())?;
            let next_due = lifecycle::next_due(&facts, &deadlines);
            Ok(Change {
                facts,
                deadlines,
                next_due,
            })
        })
        .await
        .map_err(store_error)?;
    if json {
        print_json(&row)?;
    } else {
        println!(
            "task {}: {}{}",
            row.id,
            row.facts.status.code(),
            row.next_due
                .map(|d| format!("; next deadline {d}"))
                .unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
struct DeadlineView {
    obligation: Obligation,
    due: NaiveDate,
    /// done (on time / late), open (working days left), overdue (working days late)
    state: String,
}

fn deadline_views(row: &TaskRow, today: NaiveDate, cal: &Calendar) -> Result<Vec<DeadlineView>> {
    let f = &row.facts;
    let mut out = Vec::new();
    for (o, due) in &row.deadlines {
        let done = match o {
            Obligation::Schedule => f.planned.map(|_| None),
            Obligation::Notice => None,
            Obligation::Complete => f.completed.map(Some),
            Obligation::Publish => f.published.map(Some),
            Obligation::PenaltyPublish => f.penalty_published.map(Some),
        };
        let state = match done {
            _ if *o == Obligation::Notice => "函告 to send by this day".to_string(),
            Some(Some(d)) if d <= *due => format!("done {d}, on time"),
            Some(Some(d)) => format!(
                "done {d}, {} working days late",
                cal.working_days_between(*due, d)?
            ),
            Some(None) => "done".to_string(),
            None if !f.status.is_open() => "closed".to_string(),
            None if *due >= today => format!(
                "{} working days left",
                cal.working_days_between(today, *due)?
            ),
            None => format!(
                "OVERDUE by {} working days",
                cal.working_days_between(*due, today)?
            ),
        };
        out.push(DeadlineView {
            obligation: *o,
            due: *due,
            state,
        });
    }
    Ok(out)
}

pub async fn show(
    store: &Store,
    settings: &Settings,
    clock: &dyn Clock,
    id: &str,
    json: bool,
) -> Result<ExitCode> {
    let row = store
        .task(id)
        .await?
        .ok_or_else(|| Invalid(format!("no task `{id}`")))?;
    let cal = calendar(settings)?;
    let views = deadline_views(&row, clock.today(), &cal)?;
    let officers = store.officers().await?;
    let name = |id: &str| {
        officers
            .iter()
            .find(|o| o.id == id)
            .map(|o| format!("{} {}", o.id, o.name))
            .unwrap_or_else(|| id.to_string())
    };
    if json {
        let mut v = serde_json::to_value(&row)?;
        v["deadline_states"] = serde_json::to_value(&views)?;
        print_json(&v)?;
        return Ok(ExitCode::SUCCESS);
    }
    let f = &row.facts;
    println!("task {} ({}), {}", row.id, row.stratum, f.status.code());
    println!("entity: {} {} ({})", row.uscc, row.entity_name, row.city);
    println!(
        "division: {}; responsible cadre: {}",
        row.division,
        name(&row.cadre)
    );
    println!(
        "team: {}",
        row.members
            .iter()
            .chain(&row.partners)
            .map(|m| name(m))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("items: {}", row.items.join(", "));
    println!(
        "window: {} .. {}; drawn {}",
        f.window.start, f.window.end, f.drawn_on
    );
    let show = |label: &str, d: Option<NaiveDate>| {
        if let Some(d) = d {
            println!("{label}: {d}");
        }
    };
    show("planned", f.planned);
    show("completed", f.completed);
    if let Some(o) = f.outcome {
        println!("outcome: {}", o.code());
    }
    show("results published", f.published);
    show("penalty decided", f.penalty_decided);
    show("penalty published", f.penalty_published);
    show("referred to judicial organs", f.referred);
    println!("deadlines (working days, Asia/Shanghai):");
    for v in views {
        println!(
            "  {:<16} {}  {}",
            format!("{:?}", v.obligation),
            v.due,
            v.state
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn list(
    store: &Store,
    settings: &Settings,
    clock: &dyn Clock,
    filter: TaskFilter,
    json: bool,
) -> Result<ExitCode> {
    let mut filter = filter;
    if let Some(d) = &filter.division {
        let vocab = settings.vocabulary()?;
        filter.division = Some(
            vocab
                .division(d)
                .map(|x| x.code.clone())
                .ok_or_else(|| Invalid(format!("unknown division `{d}`")))?,
        );
    }
    let _ = clock;
    let rows = store.tasks(&filter).await?;
    if json {
        return print_json(&rows).map(|_| ExitCode::SUCCESS);
    }
    for r in &rows {
        println!(
            "{:<28} {:<10} {:<16} {} {:<28} next due {}",
            r.id,
            r.facts.status.code(),
            r.division,
            r.uscc,
            r.entity_name,
            r.next_due
                .map(|d| d.to_string())
                .unwrap_or_else(|| "-".into())
        );
    }
    println!("{} task(s)", rows.len());
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
struct OverdueLine {
    task: String,
    entity: String,
    entity_name: String,
    division: String,
    cadre: String,
    #[serde(flatten)]
    overdue: lifecycle::Overdue,
}

/// Everything overdue on `date`: the same function the daemon's nightly check calls.
async fn overdue_lines(store: &Store, cal: &Calendar, date: NaiveDate) -> Result<Vec<OverdueLine>> {
    let rows = store
        .tasks(&TaskFilter {
            due_before: Some(date),
            ..Default::default()
        })
        .await?;
    let mut out = Vec::new();
    for r in rows {
        for o in lifecycle::overdue(&r.facts, &r.deadlines, date, cal)? {
            out.push(OverdueLine {
                task: r.id.clone(),
                entity: r.uscc.clone(),
                entity_name: r.entity_name.clone(),
                division: r.division.clone(),
                cadre: r.cadre.clone(),
                overdue: o,
            });
        }
    }
    Ok(out)
}

pub async fn overdue(
    store: &Store,
    settings: &Settings,
    date: NaiveDate,
    json: bool,
) -> Result<ExitCode> {
    let cal = calendar(settings)?;
    let lines = overdue_lines(store, &cal, date).await?;
    if json {
        print_json(&serde_json::json!({ "date": date, "overdue": lines }))?;
    } else {
        for l in &lines {
            println!(
                "{:<28} {:<16} cadre {:<12} {} since {} ({} working days)",
                l.task, l.division, l.cadre, l.overdue.what, l.overdue.due, l.overdue.working_days
            );
        }
        println!("{} overdue item(s) on {date}", lines.len());
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn report(
    store: &Store,
    settings: &Settings,
    clock: &dyn Clock,
    month: Option<String>,
    xlsx: Option<&Path>,
    json: bool,
) -> Result<ExitCode> {
    let day = match &month {
        Some(m) => {
            let first = parse_date(&format!("{m}-01"))
                .map_err(|_| Invalid(format!("`{m}` is not a month: write YYYY-MM")))?;
            let next = first
                .checked_add_months(chrono::Months::new(1))
                .ok_or_else(|| Invalid(format!("`{m}` is out of range")))?;
            next.pred_opt().unwrap_or(first).min(clock.today())
        }
        None => clock.today(),
    };
    let cal = calendar(settings)?;
    let rows = store.tasks(&TaskFilter::default()).await?;
    let lines = lifecycle::report(
        rows.iter()
            .map(|r| (r.division.as_str(), &r.facts, &r.deadlines)),
        day,
        &cal,
    )?;
    if let Some(path) = xlsx {
        write_xlsx(path, &lines, day).with_context(|| format!("writing {}", path.display()))?;
    }
    if json {
        print_json(&serde_json::json!({ "as_of": day, "divisions": lines }))?;
    } else {
        println!("progress as of {day}");
        let header: Vec<String> = lifecycle::DivisionReport::HEADERS
            .iter()
            .map(|h| format!("{h:>6}"))
            .collect();
        println!("{:<16} {}", "处室", header.join(" "));
        for l in &lines {
            let counts: Vec<String> = l.counts().iter().map(|n| format!("{n:>8}")).collect();
            println!("{:<16}{}", l.division, counts.join(""));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn write_xlsx(path: &Path, lines: &[lifecycle::DivisionReport], day: NaiveDate) -> Result<()> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("进度")?;
    sheet.write_string(0, 0, format!("截至 {day}"))?;
    sheet.write_string(1, 0, "处室")?;
    for (c, h) in lifecycle::DivisionReport::HEADERS.iter().enumerate() {
        sheet.write_string(1, c as u16 + 1, *h)?;
    }
    for (i, l) in lines.iter().enumerate() {
        let r = i as u32 + 2;
        sheet.write_string(r, 0, &l.division)?;
        for (c, n) in l.counts().iter().enumerate() {
            sheet.write_number(r, c as u16 + 1, f64::from(*n))?;
        }
    }
    book.save(path)?;
    Ok(())
}

/// Replaces a task by the next unused alternate of its stratum, with a team formed by the
/// draw's own rules and tickets (counting the assignments the draw's live tasks hold).
pub async fn replace(
    store: &Store,
    settings: &Settings,
    clock: &dyn Clock,
    actor: &str,
    id: &str,
    reason: &str,
    json: bool,
) -> Result<ExitCode> {
    use suiji::draw::{DrawDoc, Manifest, Staffing, ticket::Ticketer};
    if reason.trim().is_empty() {
        return Err(Invalid("a replacement needs --reason (it is audited)".into()).into());
    }
    let row = store
        .task(id)
        .await?
        .ok_or_else(|| Invalid(format!("no task `{id}`")))?;
    let draw = store.draw_by_id(row.draw_id).await?;
    let manifest: Manifest =
        serde_json::from_str(&store.manifest_by_id(draw.manifest_id).await?.content)
            .context("stored manifest")?;
    let doc: DrawDoc = serde_json::from_str(&draw.content).context("stored draw")?;
    let siblings = store
        .tasks(&TaskFilter {
            draw_id: Some(row.draw_id),
            ..Default::default()
        })
        .await?;
    let used: std::collections::HashSet<&str> = siblings.iter().map(|t| t.uscc.as_str()).collect();
    let stratum = doc
        .strata
        .iter()
        .find(|s| s.stratum == row.stratum)
        .ok_or_else(|| Invalid(format!("stratum `{}` is not in the draw", row.stratum)))?;
    let alternate = stratum
        .alternates
        .iter()
        .find(|p| !used.contains(p.id.as_str()))
        .ok_or_else(|| Invalid(format!("stratum `{}` has no alternate left", row.stratum)))?;
    let t = Ticketer::new(&doc.seed);
    let mut staffing = Staffing::new(&manifest, &t);
    for s in siblings
        .iter()
        .filter(|s| s.id != row.id && s.facts.status.is_open())
    {
        for o in s.members.iter().chain(&s.partners) {
            *staffing.load.entry(o.clone()).or_insert(0) += 1;
        }
    }
    let team = staffing
        .team(&row.task_rule, &row.stratum, &alternate.id)
        .map_err(|e| Invalid(e.to_string()))?;
    let cal = calendar(settings)?;
    let facts = lifecycle::Facts::drawn(clock.today(), row.facts.window);
    let deadlines =
        lifecycle::deadlines(&facts, &row.rules, &cal).map_err(|e| Invalid(e.to_string()))?;
    let entity = store
        .entities()
        .await?
        .into_iter()
        .find(|e| e.uscc == alternate.id);
    let prefix = row.id.rsplit_once('-').map_or(row.id.as_str(), |(p, _)| p);
    let number = siblings
        .iter()
        .filter(|s| s.task_rule == row.task_rule)
        .count()
        + 1;
    let new = suiji::store::NewTask {
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
        drawn_on: facts.drawn_on,
        next_due: lifecycle::next_due(&facts, &deadlines),
        deadlines,
    };
    store
        .replace_task(id, &new, reason, clock, actor)
        .await
        .map_err(store_error)?;
    if json {
        print_json(&serde_json::json!({ "replaced": id, "by": new }))?;
    } else {
        println!(
            "task {id} ({}) replaced by {} for {} {} (alternate of {}); team {} + {}",
            row.uscc,
            new.id,
            new.uscc,
            new.entity_name,
            row.stratum,
            new.members.join(","),
            if new.partners.is_empty() {
                "-".to_string()
            } else {
                new.partners.join(",")
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Applies a file of outcomes (CSV/XLSX from the divisions): every row is checked against its
/// task first, and only a file without a single problem is written, in one transaction.
#[allow(clippy::too_many_arguments)]
pub async fn import_outcomes(
    store: &Store,
    settings: &Settings,
    clock: &dyn Clock,
    actor: &str,
    file: &Path,
    sheet: Option<&str>,
    dry_run: bool,
    json: bool,
) -> Result<ExitCode> {
    use suiji::import::{self, Problem};
    let name = file.display().to_string();
    let mut problems: Vec<Problem> = Vec::new();
    let mut batch = Vec::new();
    match import::table::read(file, sheet)
        .map_err(|p| vec![p])
        .and_then(|t| import::parse_outcomes(&t))
    {
        Err(p) => problems = p,
        Ok(rows) => {
            let cal = calendar(settings)?;
            let today = clock.today();
            for r in rows {
                let Some(task) = store.task(&r.task).await? else {
                    problems.push(Problem {
                        file: name.clone(),
                        row: r.row,
                        column: "任务编号".into(),
                        value: r.task.clone(),
                        reason: "no such task".into(),
                    });
                    continue;
                };
                let mut facts = task.facts.clone();
                let mut ok = true;
                for (event, column, value) in &r.events {
                    match lifecycle::apply(&facts, event, today, &cal) {
                        Ok(f) => facts = f,
                        Err(e) => {
                            problems.push(Problem {
                                file: name.clone(),
                                row: r.row,
                                column: column.clone(),
                                value: value.clone(),
                                reason: format!("task {}: cannot {}: {e}", r.task, event.name()),
                            });
                            ok = false;
                            break;
                        }
                    }
                }
                if !ok {
                    continue;
                }
                let deadlines = lifecycle::deadlines(&facts, &task.rules, &cal)
                    .map_err(|e| Invalid(e.to_string()))?;
                let next_due = lifecycle::next_due(&facts, &deadlines);
                batch.push(suiji::store::BatchChange {
                    id: r.task.clone(),
                    expected: task.facts.clone(),
                    detail: serde_json::json!({
                        "file": name, "row": r.row,
                        "events": r.events.iter().map(|(e, _, v)| format!("{} {v}", e.name())).collect::<Vec<_>>(),
                    }),
                    change: Change {
                        facts,
                        deadlines,
                        next_due,
                    },
                });
            }
        }
    }
    if problems.is_empty() && !dry_run {
        store
            .update_tasks(&batch, clock, actor)
            .await
            .map_err(store_error)?;
    }
    if json {
        print_json(&serde_json::json!({
            "ok": problems.is_empty(), "file": name, "dry_run": dry_run,
            "tasks": batch.len(), "problems": problems,
        }))?;
    } else if problems.is_empty() {
        println!(
            "{name}: {} task(s) {}",
            batch.len(),
            if dry_run {
                "valid; dry run, nothing written"
            } else {
                "updated"
            }
        );
    } else {
        eprintln!(
            "{name}: {} problem(s); nothing was written:",
            problems.len()
        );
        for p in &problems {
            eprintln!("  {p}");
        }
    }
    Ok(if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

pub fn calendar_check(settings: &Settings, year: i32, json: bool) -> Result<ExitCode> {
    let cal = calendar(settings)?;
    let y = cal.year(year).map_err(|e| Invalid(e.to_string()))?;
    if json {
        // Every day's answer, as the deadline arithmetic sees it, for cross-checking.
        let mut days = std::collections::BTreeMap::new();
        let mut d =
            NaiveDate::from_ymd_opt(year, 1, 1).ok_or_else(|| Invalid(format!("year {year}")))?;
        while chrono::Datelike::year(&d) == year {
            days.insert(d.to_string(), cal.is_working_day(d)?);
            d = d
                .succ_opt()
                .ok_or_else(|| Invalid("date overflow".into()))?;
        }
        let mut v = serde_json::to_value(y)?;
        v["working"] = serde_json::to_value(days)?;
        return print_json(&v).map(|_| ExitCode::SUCCESS);
    }
    println!("{year}: {} ({})", y.notice, y.source);
    if !y.url.is_empty() {
        println!("  {}", y.url);
    }
    let list = |s: &std::collections::BTreeSet<NaiveDate>| {
        s.iter()
            .map(|d| d.format("%m-%d").to_string())
            .collect::<Vec<_>>()
            .join(" ")
    };
    println!("  {} holidays: {}", y.holidays.len(), list(&y.holidays));
    println!(
        "  {} working weekend days: {}",
        y.workdays.len(),
        list(&y.workdays)
    );
    Ok(ExitCode::SUCCESS)
}

pub fn add_days(settings: &Settings, date: &str, n: i64, json: bool) -> Result<ExitCode> {
    let cal = calendar(settings)?;
    let d = cal
        .add_working_days(parse_date(date)?, n)
        .map_err(|e| Invalid(e.to_string()))?;
    if json {
        print_json(&serde_json::json!({ "date": d.format("%Y-%m-%d").to_string() }))?;
    } else {
        println!("{d}");
    }
    Ok(ExitCode::SUCCESS)
}
