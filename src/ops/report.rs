//! The nightly overdue check and the monthly progress report: the same functions for `suiji
//! overdue` / `suiji report` and for the daemon's jobs.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::Serialize;

use super::{Ctx, Result, invalid};
use crate::calendar::Calendar;
use crate::clock::stamp;
use crate::lifecycle::{self, DivisionReport, Facts};
use crate::store::{FactRecord, TaskFilter};

/// Tasks folded per page of a past month's report.
const FOLD_PAGE: u32 = 10_000;

#[derive(Debug, Serialize)]
pub struct OverdueLine {
    pub task: String,
    pub entity: String,
    pub entity_name: String,
    pub division: String,
    pub cadre: String,
    #[serde(flatten)]
    pub overdue: lifecycle::Overdue,
}

/// Everything overdue on `date`: one indexed range query, details computed here.
pub async fn overdue(ctx: &Ctx<'_>, cal: &Calendar, date: NaiveDate) -> Result<Vec<OverdueLine>> {
    let rows = ctx
        .store
        .tasks(&TaskFilter {
            due_before: Some(date),
            ..Default::default()
        })
        .await?;
    let mut out = Vec::new();
    for r in rows {
        for o in lifecycle::overdue(&r.facts, &r.deadlines, date, cal) {
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

/// A progress report: the state at the end of `as_of`, from the facts known at `known_at`.
#[derive(Debug, Serialize)]
pub struct Report {
    pub as_of: NaiveDate,
    pub known_at: String,
    /// Whether facts recorded after `as_of` were taken in (`--revised`).
    pub revised: bool,
    pub divisions: Vec<DivisionReport>,
}

/// The report for a month (its last day), or for today. By default a month is reported as it
/// stood when it ended, from the facts recorded by then, so it reads the same forever;
/// `revised` takes in facts recorded later about it (late entries, corrections).
pub async fn report(ctx: &Ctx<'_>, month: Option<NaiveDate>, revised: bool) -> Result<Report> {
    let today = ctx.clock.today();
    let day = match month {
        Some(first) => {
            if first > today {
                return invalid(format!(
                    "{} has not begun (today is {today}): a report covers what has happened",
                    first.format("%Y-%m")
                ));
            }
            let end = first
                .checked_add_months(chrono::Months::new(1))
                .and_then(|d| d.pred_opt())
                .unwrap_or(first);
            end.min(today)
        }
        None => today,
    };
    if day == today {
        // Today, with every fact known: the tasks' rows are their folded facts, and the
        // database adds them up.
        let known_at = stamp(ctx.clock.now());
        return Ok(Report {
            as_of: day,
            known_at,
            revised,
            divisions: ctx.store.division_counts(day).await?,
        });
    }
    folded(ctx, day, revised).await
}

/// The report for a past day, from the facts recorded by then (or by now, `revised`).
pub async fn folded(ctx: &Ctx<'_>, day: NaiveDate, revised: bool) -> Result<Report> {
    let now = ctx.clock.now();
    let end_of_day = day
        .succ_opt()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .and_then(|t| t.and_local_timezone(chrono_tz::Asia::Shanghai).earliest())
        .map(|t| t - chrono::Duration::milliseconds(1))
        .unwrap_or(now);
    let known = if revised { now } else { end_of_day.min(now) };
    let known_at = stamp(known);
    let cal = super::plan::calendar(ctx.settings)?;
    // A page of tasks at a time with their facts, so that memory does not grow with the year;
    // of each task only its start, as its rules are its draw's.
    let rules = ctx.store.draw_deadline_rules().await?;
    let mut tally = lifecycle::Tally::default();
    let mut after: Option<String> = None;
    loop {
        let rows = ctx.store.task_starts(after.as_deref(), FOLD_PAGE).await?;
        let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
            break;
        };
        let mut facts: HashMap<String, Vec<FactRecord>> = HashMap::new();
        for f in ctx
            .store
            .facts_known_by(&known_at, Some((&first.id, &last.id)))
            .await?
        {
            facts.entry(f.task_id.clone()).or_default().push(f);
        }
        for r in rows.iter().filter(|r| r.created_at <= known_at) {
            let Some(rules) = rules.get(&r.draw_id) else {
                return Err(super::OpsError::Internal(format!(
                    "task {}: its draw {} is not stored",
                    r.id, r.draw_id
                )));
            };
            let start = Facts::drawn(r.drawn_on, r.window);
            let recorded = facts
                .get(&r.id)
                .into_iter()
                .flatten()
                .map(|f| (f.effective, &f.event));
            tally.add(
                &r.division,
                &lifecycle::fold(&start, recorded, day),
                rules,
                day,
                &cal,
            )?;
        }
        after = Some(last.id.clone());
    }
    let divisions = tally.reports();
    Ok(Report {
        as_of: day,
        known_at,
        revised,
        divisions,
    })
}

/// Refuses an output path that cannot be written, before anything is computed or printed.
pub fn check_output(path: &std::path::Path) -> Result<()> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => std::path::Path::new("."),
    };
    if !parent.is_dir() {
        return invalid(format!(
            "{}: the folder {} does not exist",
            path.display(),
            parent.display()
        ));
    }
    if path.is_dir() {
        return invalid(format!("{}: is a folder, not a file name", path.display()));
    }
    Ok(())
}

/// Writes a report as a spreadsheet (one sheet, Chinese headers, division names).
pub fn write_xlsx(path: &std::path::Path, report: &Report, labels: &super::Labels) -> Result<()> {
    let fail = |e: rust_xlsxwriter::XlsxError| {
        super::OpsError::Invalid(format!("{}: cannot write the report: {e}", path.display()))
    };
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("进度").map_err(fail)?;
    let title = format!(
        "截至 {}（{}）",
        report.as_of,
        if report.revised {
            "含其后补录"
        } else {
            "按当日所知"
        }
    );
    sheet.write_string(0, 0, title).map_err(fail)?;
    sheet.write_string(1, 0, "处室").map_err(fail)?;
    for (c, h) in DivisionReport::HEADERS.iter().enumerate() {
        sheet.write_string(1, c as u16 + 1, *h).map_err(fail)?;
    }
    for (i, l) in report.divisions.iter().enumerate() {
        let r = i as u32 + 2;
        sheet
            .write_string(r, 0, labels.division(&l.division))
            .map_err(fail)?;
        for (c, n) in l.counts().iter().enumerate() {
            sheet
                .write_number(r, c as u16 + 1, f64::from(*n))
                .map_err(fail)?;
        }
    }
    // Whole or not at all: a reader (or a crash) never meets half a workbook.
    let bytes = book.save_to_buffer().map_err(fail)?;
    crate::publish::write_atomic(path, &bytes)?;
    Ok(())
}
