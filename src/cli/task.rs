//! `task`, `overdue`, `report` and `calendar`: printing what the lifecycle operations did.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use chrono::NaiveDate;

use super::table::{Align, Table};
use super::{Invalid, TaskCommand, print_json};
use suiji::config::Settings;
use suiji::lifecycle::{Event, Field};
use suiji::ops::Ctx;
use suiji::ops::task::Listing;

pub fn parse_date(s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
        Invalid(format!(
            "`{}` is not a date: write YYYY-MM-DD",
            suiji::text::quote(s)
        ))
        .into()
    })
}

pub(super) async fn command(ctx: &Ctx<'_>, command: TaskCommand) -> Result<ExitCode> {
    let date = |d: &str| parse_date(d);
    let (id, event, json) = match command {
        TaskCommand::List {
            status,
            division,
            overdue,
            limit,
            offset,
            json,
        } => {
            let page = suiji::store::Page { limit, offset };
            let listing = suiji::ops::task::list(
                ctx,
                &suiji::ops::task::Query {
                    status: status.as_deref(),
                    division: division.as_deref(),
                    unit: None,
                    due_before: overdue.then(|| ctx.clock.today()),
                    count_up_to: None,
                },
                page,
            )
            .await?;
            return print_list(ctx, &listing, json);
        }
        TaskCommand::Show { id, json } => return show(ctx, &id, json).await,
        TaskCommand::Schedule { id, date: d, json } => (id, Event::Schedule(date(&d)?), json),
        TaskCommand::Complete {
            id,
            date: d,
            outcome,
            json,
        } => (id, Event::Complete(date(&d)?, outcome), json),
        TaskCommand::Publish {
            id,
            date: d,
            url,
            json,
        } => (id, Event::Publish(date(&d)?, url), json),
        TaskCommand::Penalty {
            id,
            decision_date: d,
            json,
        } => (id, Event::PenaltyDecided(date(&d)?), json),
        TaskCommand::PenaltyPublished { id, date: d, json } => {
            (id, Event::PenaltyPublished(date(&d)?), json)
        }
        TaskCommand::Refer { id, date: d, json } => (id, Event::Refer(date(&d)?), json),
        TaskCommand::Correct {
            id,
            field,
            value,
            reason,
            json,
        } => {
            let field = Field::parse(&field, &value).map_err(Invalid)?;
            (id, Event::Correct(field, reason), json)
        }
        TaskCommand::Archive { id, json } => (id, Event::Archive, json),
        TaskCommand::Import {
            file,
            sheet,
            dry_run,
            json,
        } => return import_outcomes(ctx, &file, sheet.as_deref(), dry_run, json).await,
        TaskCommand::Replace { id, reason, json } => {
            let r = suiji::ops::task::replace(ctx, &id, &reason).await?;
            for w in &r.warnings {
                eprintln!("warning: {w}");
            }
            if json {
                print_json(&r)?;
            } else {
                println!(
                    "task {} ({}) replaced by {} for {} {} (alternate of {}); team {} + {}",
                    r.replaced,
                    r.replaced_entity,
                    r.by.id,
                    r.by.uscc,
                    r.by.entity_name,
                    r.by.stratum,
                    r.by.members.join(","),
                    if r.by.partners.is_empty() {
                        "-".to_string()
                    } else {
                        r.by.partners.join(",")
                    }
                );
            }
            return Ok(ExitCode::SUCCESS);
        }
    };
    let recorded = suiji::ops::task::transition(ctx, &id, event).await?;
    for w in &recorded.warnings {
        eprintln!("warning: {w}");
    }
    let row = &recorded.row;
    if json {
        print_json(&recorded)?;
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

async fn show(ctx: &Ctx<'_>, id: &str, json: bool) -> Result<ExitCode> {
    let view = suiji::ops::task::show(ctx, id).await?;
    if json {
        return print_json(&view).map(|_| ExitCode::SUCCESS);
    }
    // Whatever reached the database, the terminal gets no control or bidi character.
    let say = |line: &str| println!("{}", suiji::text::shown(line));
    let officers = ctx.store.officers().await?;
    let name = |id: &str| {
        officers
            .iter()
            .find(|o| o.id == id)
            .map(|o| format!("{} {}", o.id, o.name))
            .unwrap_or_else(|| id.to_string())
    };
    let labels = suiji::ops::Labels::of(ctx.settings)?;
    let row = &view.row;
    let f = &row.facts;
    say(&format!(
        "task {} ({}), {}",
        row.id,
        row.stratum,
        f.status.code()
    ));
    say(&format!(
        "entity: {} {} ({})",
        row.uscc,
        row.entity_name,
        labels.city(&row.city)
    ));
    say(&format!(
        "division: {}; responsible cadre: {}",
        labels.division(&row.division),
        name(&row.cadre)
    ));
    say(&format!(
        "team: {}",
        row.members
            .iter()
            .chain(&row.partners)
            .map(|m| name(m))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    say(&format!("items: {}", row.items.join(", ")));
    say(&format!(
        "window: {} .. {}; drawn {}",
        f.window.start, f.window.end, f.drawn_on
    ));
    let line = |label: &str, d: Option<NaiveDate>| {
        if let Some(d) = d {
            say(&format!("{label}: {d}"));
        }
    };
    line("planned", f.planned);
    line("completed", f.completed);
    if let Some(o) = f.outcome {
        say(&format!("outcome: {}", o.code()));
    }
    line("results published", f.published);
    if let Some(u) = &f.published_url {
        say(&format!("published at: {u}"));
    }
    line("penalty decided", f.penalty_decided);
    line("penalty published", f.penalty_published);
    line("referred to judicial organs", f.referred);
    line("archived", f.archived_on);
    if let (Some(d), Some(by)) = (f.replaced_on, &row.replaced_by) {
        say(&format!(
            "replaced on {d} by {by}: {}",
            row.replace_reason.as_deref().unwrap_or("")
        ));
    }
    line("its draw was voided on", f.voided_on);
    say("deadlines (working days, Asia/Shanghai):");
    let mut t = Table::new(&[
        ("obligation", Align::Left),
        ("due", Align::Left),
        ("state", Align::Left),
    ])
    .indent(2);
    for v in &view.deadline_states {
        t.row([
            v.obligation.label().to_string(),
            v.due.map_or_else(|| "-".into(), |d| d.to_string()),
            v.state.clone(),
        ]);
    }
    t.print();
    for w in &view.warnings {
        say(&format!("warning: {w}"));
    }
    say("recorded facts:");
    let mut t = Table::new(&[
        ("#", Align::Right),
        ("fact", Align::Left),
        ("effective", Align::Left),
        ("by", Align::Left),
        ("recorded at", Align::Left),
    ])
    .indent(2);
    for r in &view.recorded {
        t.row([
            r.id.to_string(),
            r.event.name().to_string(),
            r.effective.to_string(),
            r.actor.clone(),
            r.recorded_at.clone(),
        ]);
    }
    t.print();
    Ok(ExitCode::SUCCESS)
}

/// A page of tasks. JSON keeps the plain list of tasks; a page that is not the whole listing
/// says so on stderr, so that no script takes a page for everything.
fn print_list(ctx: &Ctx<'_>, listing: &Listing, json: bool) -> Result<ExitCode> {
    let rows = &listing.tasks;
    let shown = listing.offset + rows.len() as u64;
    let partial = listing.offset > 0 || shown < listing.total.max(0) as u64;
    let range = if rows.is_empty() {
        format!(
            "no tasks from offset {}: {} in all",
            listing.offset, listing.total
        )
    } else {
        format!(
            "tasks {}-{} of {}{}",
            listing.offset + 1,
            shown,
            listing.total,
            if shown < listing.total.max(0) as u64 {
                format!(": --offset {shown} for the next page")
            } else {
                String::new()
            }
        )
    };
    if json {
        if partial {
            eprintln!("{range}");
        }
        return print_json(rows).map(|_| ExitCode::SUCCESS);
    }
    let labels = suiji::ops::Labels::of(ctx.settings)?;
    let mut t = Table::new(&[
        ("task", Align::Left),
        ("status", Align::Left),
        ("division", Align::Left),
        ("USCC", Align::Left),
        ("entity", Align::Left),
        ("city", Align::Left),
        ("next due", Align::Left),
    ]);
    for r in rows {
        t.row([
            r.id.clone(),
            r.facts.status.code().to_string(),
            labels.division(&r.division),
            r.uscc.clone(),
            r.entity_name.clone(),
            labels.city(&r.city),
            r.next_due.map_or_else(|| "-".into(), |d| d.to_string()),
        ]);
    }
    if !t.is_empty() {
        t.print();
    }
    if partial {
        println!("{range}");
    } else {
        println!("{}", suiji::text::count(rows.len(), "task", "tasks"));
    }
    Ok(ExitCode::SUCCESS)
}

async fn import_outcomes(
    ctx: &Ctx<'_>,
    file: &Path,
    sheet: Option<&str>,
    dry_run: bool,
    json: bool,
) -> Result<ExitCode> {
    let r = suiji::ops::task::import_outcomes(ctx, file, sheet, dry_run).await?;
    for w in &r.warnings {
        eprintln!("warning: {w}");
    }
    if json {
        print_json(&r)?;
    } else if r.ok {
        println!(
            "{}: {} task(s) {}",
            r.file,
            r.tasks,
            if dry_run {
                "valid; dry run, nothing written"
            } else {
                "updated"
            }
        );
    } else {
        eprintln!(
            "{}: {} problem(s); nothing was written:",
            r.file,
            r.problems.len()
        );
        for p in &r.problems {
            eprintln!("  {p}");
        }
    }
    Ok(if r.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

pub(super) async fn overdue(ctx: &Ctx<'_>, date: NaiveDate, json: bool) -> Result<ExitCode> {
    let cal = suiji::ops::plan::calendar(ctx.settings)?;
    let waiting = suiji::ops::task::refresh_pending(ctx, &cal).await?;
    let lines = suiji::ops::report::overdue(ctx, &cal, date).await?;
    if json {
        let waiting: Vec<_> = waiting
            .iter()
            .map(|t| serde_json::json!({ "task": t.id, "pending_deadlines": t.pending }))
            .collect();
        print_json(&serde_json::json!({ "date": date, "overdue": lines, "waiting": waiting }))?;
    } else {
        for t in &waiting {
            let what: Vec<&str> = t.pending.iter().map(|o| o.label()).collect();
            println!(
                "{}: {} waiting for holiday data (add the year's rules/calendar/YEAR.toml)",
                t.id,
                what.join(", ")
            );
        }
        let labels = suiji::ops::Labels::of(ctx.settings)?;
        let mut t = Table::new(&[
            ("task", Align::Left),
            ("division", Align::Left),
            ("cadre", Align::Left),
            ("overdue", Align::Left),
            ("due", Align::Left),
            ("late by", Align::Right),
        ]);
        for l in &lines {
            t.row([
                l.task.clone(),
                labels.division(&l.division),
                l.cadre.clone(),
                l.overdue.what.to_string(),
                l.overdue.due.to_string(),
                l.overdue.working_days.map_or_else(
                    || "unknown (no holiday data)".to_string(),
                    suiji::text::working_days,
                ),
            ]);
        }
        if !t.is_empty() {
            t.print();
        }
        println!(
            "{} on {date}",
            suiji::text::count(lines.len(), "overdue item", "overdue items")
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn report(
    ctx: &Ctx<'_>,
    month: Option<&str>,
    revised: bool,
    xlsx: Option<&Path>,
    json: bool,
) -> Result<ExitCode> {
    let month = match month {
        Some(m) => Some(parse_date(&format!("{m}-01")).map_err(|_| {
            Invalid(format!(
                "`{}` is not a month: write YYYY-MM",
                suiji::text::quote(m)
            ))
        })?),
        None => None,
    };
    if let Some(path) = xlsx {
        suiji::ops::report::check_output(path)?;
    }
    let report = suiji::ops::report::report(ctx, month, revised).await?;
    let labels = suiji::ops::Labels::of(ctx.settings)?;
    if let Some(path) = xlsx {
        suiji::ops::report::write_xlsx(path, &report, &labels)?;
    }
    if json {
        return print_json(&report).map(|_| ExitCode::SUCCESS);
    }
    println!(
        "progress as of {} ({})",
        report.as_of,
        if report.revised {
            "with facts recorded since".to_string()
        } else {
            format!("as known at {}", report.known_at)
        }
    );
    let mut columns = vec![("处室", Align::Left)];
    columns.extend(
        suiji::lifecycle::DivisionReport::HEADERS
            .iter()
            .map(|h| (*h, Align::Right)),
    );
    let mut t = Table::new(&columns);
    for l in &report.divisions {
        let mut row = vec![labels.division(&l.division)];
        row.extend(l.counts().iter().map(u32::to_string));
        t.row(row);
    }
    t.print();
    Ok(ExitCode::SUCCESS)
}

pub fn calendar_check(settings: &Settings, year: i32, json: bool) -> Result<ExitCode> {
    let cal = suiji::ops::plan::calendar(settings)?;
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
    let cal = suiji::ops::plan::calendar(settings)?;
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
