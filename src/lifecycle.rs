//! An inspection task's life after the draw, as pure functions: which transitions are allowed
//! and when, the legal deadlines in working days, what is overdue on a given day, and the
//! progress report. The store loads and saves; nothing here does IO.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::calendar::{Calendar, CalendarError};
use crate::plan::{Deadlines as DeadlineRules, Window};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Drawn,
    Scheduled,
    Completed,
    Published,
    Archived,
    /// The entity was closed or unreachable; an alternate took its place.
    Replaced,
    /// Its draw was voided.
    Voided,
}

impl Status {
    pub fn code(self) -> &'static str {
        match self {
            Status::Drawn => "drawn",
            Status::Scheduled => "scheduled",
            Status::Completed => "completed",
            Status::Published => "published",
            Status::Archived => "archived",
            Status::Replaced => "replaced",
            Status::Voided => "voided",
        }
    }
    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "drawn" => Status::Drawn,
            "scheduled" => Status::Scheduled,
            "completed" => Status::Completed,
            "published" => Status::Published,
            "archived" => Status::Archived,
            "replaced" => Status::Replaced,
            "voided" => Status::Voided,
            _ => return None,
        })
    }
    /// Tasks that still owe something.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            Status::Drawn | Status::Scheduled | Status::Completed | Status::Published
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    NoIssues,
    IssuesFound,
    Penalty,
}

impl Outcome {
    pub fn code(self) -> &'static str {
        match self {
            Outcome::NoIssues => "no-issues",
            Outcome::IssuesFound => "issues-found",
            Outcome::Penalty => "penalty",
        }
    }
    /// Also the words divisions write back: 无问题 / 发现问题 / 行政处罚.
    pub fn parse(s: &str) -> Option<Outcome> {
        Some(match s.trim() {
            "no-issues" | "未发现问题" | "无问题" | "合格" => Outcome::NoIssues,
            "issues-found" | "发现问题" | "责令整改" => Outcome::IssuesFound,
            "penalty" | "行政处罚" | "立案处罚" => Outcome::Penalty,
            _ => return None,
        })
    }
}

/// A task's facts: what happened when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    pub status: Status,
    pub drawn_on: NaiveDate,
    pub window: Window,
    pub planned: Option<NaiveDate>,
    pub completed: Option<NaiveDate>,
    pub outcome: Option<Outcome>,
    pub published: Option<NaiveDate>,
    pub published_url: Option<String>,
    pub penalty_decided: Option<NaiveDate>,
    pub penalty_published: Option<NaiveDate>,
    pub referred: Option<NaiveDate>,
}

impl Facts {
    /// A task as the draw creates it.
    pub fn drawn(drawn_on: NaiveDate, window: Window) -> Facts {
        Facts {
            status: Status::Drawn,
            drawn_on,
            window,
            planned: None,
            completed: None,
            outcome: None,
            published: None,
            published_url: None,
            penalty_decided: None,
            penalty_published: None,
            referred: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Schedule(NaiveDate),
    Complete(NaiveDate, Outcome),
    Publish(NaiveDate, Option<String>),
    PenaltyDecided(NaiveDate),
    PenaltyPublished(NaiveDate),
    Refer(NaiveDate),
    Archive,
}

impl Event {
    pub fn name(&self) -> &'static str {
        match self {
            Event::Schedule(_) => "schedule",
            Event::Complete(..) => "complete",
            Event::Publish(..) => "publish",
            Event::PenaltyDecided(_) => "penalty",
            Event::PenaltyPublished(_) => "penalty-published",
            Event::Refer(_) => "refer",
            Event::Archive => "archive",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Calendar(#[from] CalendarError),
}

fn refuse<T>(msg: String) -> Result<T, TransitionError> {
    Err(TransitionError::Refused(msg))
}

/// A date for something that has happened: not in the future, not before `after`.
fn past(
    what: &str,
    d: NaiveDate,
    after: (&str, NaiveDate),
    today: NaiveDate,
) -> Result<(), TransitionError> {
    if d > today {
        return refuse(format!(
            "{what} date {d} is in the future (today is {today})"
        ));
    }
    if d < after.1 {
        return refuse(format!(
            "{what} date {d} is before the {} ({})",
            after.0, after.1
        ));
    }
    Ok(())
}

/// Applies one event, or says in words why it cannot happen.
pub fn apply(
    f: &Facts,
    event: &Event,
    today: NaiveDate,
    cal: &Calendar,
) -> Result<Facts, TransitionError> {
    let mut n = f.clone();
    if !f.status.is_open() {
        return refuse(format!(
            "the task is {} and accepts no more changes",
            f.status.code()
        ));
    }
    match event {
        Event::Schedule(d) => {
            if !matches!(f.status, Status::Drawn | Status::Scheduled) {
                return refuse(format!("a {} task cannot be rescheduled", f.status.code()));
            }
            if *d < f.window.start || *d > f.window.end {
                return refuse(format!(
                    "planned date {d} is outside the inspection window {} .. {}",
                    f.window.start, f.window.end
                ));
            }
            // A date already past is accepted: divisions often report the date with the outcome.
            if *d < f.drawn_on {
                return refuse(format!(
                    "planned date {d} is before the draw ({})",
                    f.drawn_on
                ));
            }
            if !cal.is_working_day(*d)? {
                return refuse(format!("planned date {d} is not a working day"));
            }
            n.planned = Some(*d);
            n.status = Status::Scheduled;
        }
        Event::Complete(d, outcome) => {
            match f.status {
                Status::Scheduled => {}
                Status::Drawn => {
                    return refuse("the task has no planned date yet: schedule it first".into());
                }
                s => {
                    return refuse(format!(
                        "the task is already {}: it cannot be completed twice",
                        s.code()
                    ));
                }
            }
            past("completion", *d, ("draw", f.drawn_on), today)?;
            n.completed = Some(*d);
            n.outcome = Some(*outcome);
            n.status = Status::Completed;
        }
        Event::Publish(d, url) => {
            let Some(done) = f.completed else {
                return refuse(
                    "results cannot be published before the inspection is completed".into(),
                );
            };
            if f.published.is_some() {
                return refuse(format!(
                    "results were already published on {}",
                    f.published.map(|p| p.to_string()).unwrap_or_default()
                ));
            }
            past("publication", *d, ("completion", done), today)?;
            n.published = Some(*d);
            n.published_url = url.clone();
            n.status = Status::Published;
        }
        Event::PenaltyDecided(d) => {
            let Some(done) = f.completed else {
                return refuse("a penalty needs a completed inspection".into());
            };
            if f.penalty_decided.is_some() {
                return refuse("a penalty decision is already recorded".into());
            }
            past("penalty decision", *d, ("completion", done), today)?;
            n.penalty_decided = Some(*d);
            n.outcome = Some(Outcome::Penalty);
        }
        Event::PenaltyPublished(d) => {
            let Some(decided) = f.penalty_decided else {
                return refuse("no penalty decision is recorded for this task".into());
            };
            if f.penalty_published.is_some() {
                return refuse("the penalty was already published".into());
            }
            past(
                "penalty publication",
                *d,
                ("penalty decision", decided),
                today,
            )?;
            n.penalty_published = Some(*d);
        }
        Event::Refer(d) => {
            let Some(done) = f.completed else {
                return refuse(
                    "only a completed inspection can be referred to judicial organs".into(),
                );
            };
            if f.referred.is_some() {
                return refuse("the task was already referred".into());
            }
            past("referral", *d, ("completion", done), today)?;
            n.referred = Some(*d);
        }
        Event::Archive => {
            if f.published.is_none() {
                return refuse("only a task whose results are published can be archived".into());
            }
            if f.penalty_decided.is_some() && f.penalty_published.is_none() {
                return refuse("the penalty is not published yet".into());
            }
            n.status = Status::Archived;
        }
    }
    Ok(n)
}

/// What a task owes and by when (the end of that day).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Obligation {
    /// A planned inspection date, `schedule_within` working days after the draw.
    Schedule,
    /// The 函告 to the municipal bureau, `advance_notice` working days before the planned date.
    Notice,
    /// The inspection itself, by the window's end.
    Complete,
    /// Results published, `results` working days after completion.
    Publish,
    /// The penalty published, `penalties` working days after the decision.
    PenaltyPublish,
}

impl Obligation {
    pub fn describe(self) -> &'static str {
        match self {
            Obligation::Schedule => "not scheduled",
            Obligation::Notice => "municipal bureau not notified (函告)",
            Obligation::Complete => "not completed by the end of the window",
            Obligation::Publish => "results not published",
            Obligation::PenaltyPublish => "penalty not published",
        }
    }
}

/// Every deadline the task has, met or not.
pub fn deadlines(
    f: &Facts,
    rules: &DeadlineRules,
    cal: &Calendar,
) -> Result<BTreeMap<Obligation, NaiveDate>, CalendarError> {
    let mut out = BTreeMap::new();
    out.insert(
        Obligation::Schedule,
        cal.add_working_days(f.drawn_on, i64::from(rules.schedule_within))?,
    );
    if let Some(p) = f.planned
        && rules.advance_notice > 0
    {
        out.insert(
            Obligation::Notice,
            cal.add_working_days(p, -i64::from(rules.advance_notice))?,
        );
    }
    out.insert(Obligation::Complete, f.window.end);
    if let Some(c) = f.completed {
        out.insert(
            Obligation::Publish,
            cal.add_working_days(c, i64::from(rules.results))?,
        );
    }
    if let Some(d) = f.penalty_decided {
        out.insert(
            Obligation::PenaltyPublish,
            cal.add_working_days(d, i64::from(rules.penalties))?,
        );
    }
    Ok(out)
}

/// Whether an obligation is still owed (notices are tracked by the notify module, not here).
fn owed(f: &Facts, o: Obligation) -> bool {
    f.status.is_open()
        && match o {
            Obligation::Schedule => f.planned.is_none(),
            Obligation::Notice => false,
            Obligation::Complete => f.completed.is_none(),
            Obligation::Publish => f.published.is_none(),
            Obligation::PenaltyPublish => {
                f.penalty_decided.is_some() && f.penalty_published.is_none()
            }
        }
}

/// The earliest deadline still owed: stored with the task so the nightly check is one indexed
/// query (`next_due < today`).
pub fn next_due(f: &Facts, d: &BTreeMap<Obligation, NaiveDate>) -> Option<NaiveDate> {
    d.iter()
        .filter(|(o, _)| owed(f, **o))
        .map(|(_, d)| *d)
        .min()
}

/// Whether a done obligation was done in time (for the report).
pub fn on_time(done: NaiveDate, due: NaiveDate) -> bool {
    done <= due
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Overdue {
    pub obligation: Obligation,
    pub what: &'static str,
    pub due: NaiveDate,
    /// Working days from the deadline to today.
    pub working_days: i64,
}

/// What a task has let pass by `today`.
pub fn overdue(
    f: &Facts,
    d: &BTreeMap<Obligation, NaiveDate>,
    today: NaiveDate,
    cal: &Calendar,
) -> Result<Vec<Overdue>, CalendarError> {
    let mut out = Vec::new();
    for (o, due) in d {
        if owed(f, *o) && *due < today {
            out.push(Overdue {
                obligation: *o,
                what: o.describe(),
                due: *due,
                working_days: cal.working_days_between(*due, today)?,
            });
        }
    }
    Ok(out)
}

/// One division's line of the progress report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DivisionReport {
    pub division: String,
    pub drawn: u32,
    pub scheduled: u32,
    pub completed: u32,
    pub published_on_time: u32,
    pub published_late: u32,
    pub penalties: u32,
    pub referrals: u32,
    pub overdue: u32,
    /// Entities replaced by alternates (not counted above).
    pub replaced: u32,
}

impl DivisionReport {
    /// Column names (Chinese, as the report's readers say them) and values, in one order.
    pub const HEADERS: [&'static str; 9] = [
        "抽取",
        "已排期",
        "已完成",
        "按时公示",
        "逾期公示",
        "行政处罚",
        "移送司法",
        "逾期",
        "替换",
    ];
    pub fn counts(&self) -> [u32; 9] {
        [
            self.drawn,
            self.scheduled,
            self.completed,
            self.published_on_time,
            self.published_late,
            self.penalties,
            self.referrals,
            self.overdue,
            self.replaced,
        ]
    }
}

/// The facts as they stood at the end of `as_of`: later events are not known yet.
fn as_of(f: &Facts, day: NaiveDate) -> Facts {
    let keep = |d: Option<NaiveDate>| d.filter(|d| *d <= day);
    let mut g = f.clone();
    g.completed = keep(f.completed);
    if g.completed.is_none() {
        g.outcome = None;
    }
    g.published = keep(f.published);
    g.penalty_decided = keep(f.penalty_decided);
    g.penalty_published = keep(f.penalty_published);
    g.referred = keep(f.referred);
    if g.status.is_open() {
        g.status = if g.published.is_some() {
            Status::Published
        } else if g.completed.is_some() {
            Status::Completed
        } else if g.planned.is_some() {
            Status::Scheduled
        } else {
            Status::Drawn
        };
    }
    g
}

/// Progress per division as of a day: drawn, scheduled, completed, results published on time or
/// late, penalties, referrals to judicial organs, and tasks with something overdue.
pub fn report<'a>(
    tasks: impl IntoIterator<Item = (&'a str, &'a Facts, &'a BTreeMap<Obligation, NaiveDate>)>,
    day: NaiveDate,
    cal: &Calendar,
) -> Result<Vec<DivisionReport>, CalendarError> {
    let mut by: BTreeMap<&str, DivisionReport> = BTreeMap::new();
    for (division, f, d) in tasks {
        let r = by.entry(division).or_insert_with(|| DivisionReport {
            division: division.to_string(),
            ..Default::default()
        });
        match f.status {
            Status::Voided => continue,
            Status::Replaced => {
                r.replaced += 1;
                continue;
            }
            _ => {}
        }
        let g = as_of(f, day);
        r.drawn += 1;
        r.scheduled += u32::from(g.planned.is_some());
        r.completed += u32::from(g.completed.is_some());
        if let (Some(p), Some(due)) = (g.published, d.get(&Obligation::Publish)) {
            if on_time(p, *due) {
                r.published_on_time += 1;
            } else {
                r.published_late += 1;
            }
        }
        r.penalties += u32::from(g.penalty_decided.is_some());
        r.referrals += u32::from(g.referred.is_some());
        r.overdue += u32::from(!overdue(&g, d, day, cal)?.is_empty());
    }
    Ok(by.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    fn facts() -> Facts {
        Facts::drawn(
            d("2024-05-16"),
            Window {
                start: d("2024-05-20"),
                end: d("2024-12-31"),
            },
        )
    }

    fn rules() -> DeadlineRules {
        DeadlineRules {
            results: 5,
            penalties: 7,
            advance_notice: 3,
            schedule_within: 20,
            reminders: vec![2, 1],
        }
    }

    #[test]
    fn the_law_examples() {
        let cal = Calendar::shipped().expect("calendar");
        let mut f = facts();
        f.status = Status::Completed;
        f.planned = Some(d("2024-09-13"));
        f.completed = Some(d("2024-09-13"));
        f.penalty_decided = Some(d("2024-09-27"));
        let dl = deadlines(&f, &rules(), &cal).expect("deadlines");
        assert_eq!(dl[&Obligation::Publish], d("2024-09-23"));
        assert_eq!(dl[&Obligation::PenaltyPublish], d("2024-10-12"));
        assert_eq!(dl[&Obligation::Notice], d("2024-09-10"));
    }

    #[test]
    fn transitions_are_validated() {
        let cal = Calendar::shipped().expect("calendar");
        let today = d("2024-06-03");
        let f = facts();
        let err = |r: Result<Facts, TransitionError>| r.expect_err("refused").to_string();
        assert!(
            err(apply(
                &f,
                &Event::Publish(d("2024-06-01"), None),
                today,
                &cal
            ))
            .contains("before the inspection is completed")
        );
        assert!(
            err(apply(
                &f,
                &Event::Complete(d("2024-06-01"), Outcome::NoIssues),
                today,
                &cal
            ))
            .contains("schedule it first")
        );
        assert!(
            err(apply(&f, &Event::Schedule(d("2024-06-08")), today, &cal))
                .contains("not a working day")
        );
        assert!(
            err(apply(&f, &Event::Schedule(d("2025-01-06")), today, &cal))
                .contains("outside the inspection window")
        );
        let f = apply(&f, &Event::Schedule(d("2024-06-04")), today, &cal).expect("scheduled");
        let later = d("2024-06-05");
        assert!(
            err(apply(
                &f,
                &Event::Complete(d("2024-06-06"), Outcome::NoIssues),
                later,
                &cal
            ))
            .contains("in the future")
        );
        assert!(
            err(apply(
                &f,
                &Event::Complete(d("2024-05-01"), Outcome::NoIssues),
                later,
                &cal
            ))
            .contains("before the draw")
        );
        let f = apply(
            &f,
            &Event::Complete(d("2024-06-04"), Outcome::IssuesFound),
            later,
            &cal,
        )
        .expect("completed");
        assert!(
            err(apply(
                &f,
                &Event::Complete(d("2024-06-04"), Outcome::NoIssues),
                later,
                &cal
            ))
            .contains("cannot be completed twice")
        );
        let f = apply(&f, &Event::PenaltyDecided(d("2024-06-05")), later, &cal).expect("penalty");
        assert_eq!(f.outcome, Some(Outcome::Penalty));
        let f = apply(&f, &Event::Publish(d("2024-06-05"), None), later, &cal).expect("published");
        assert!(err(apply(&f, &Event::Archive, later, &cal)).contains("penalty is not published"));
        let f = apply(&f, &Event::PenaltyPublished(d("2024-06-05")), later, &cal)
            .expect("penalty published");
        let f = apply(&f, &Event::Archive, later, &cal).expect("archived");
        assert!(
            err(apply(&f, &Event::Refer(later), later, &cal)).contains("accepts no more changes")
        );
    }

    #[test]
    fn overdue_counts_working_days() {
        let cal = Calendar::shipped().expect("calendar");
        let mut f = facts();
        f.status = Status::Completed;
        f.planned = Some(d("2024-09-13"));
        f.completed = Some(d("2024-09-13"));
        let dl = deadlines(&f, &rules(), &cal).expect("deadlines");
        assert_eq!(next_due(&f, &dl), Some(d("2024-09-23")));
        assert!(
            overdue(&f, &dl, d("2024-09-23"), &cal)
                .expect("ok")
                .is_empty(),
            "due today is not late"
        );
        let late = overdue(&f, &dl, d("2024-09-30"), &cal).expect("ok");
        assert_eq!(late.len(), 1);
        assert_eq!(late[0].obligation, Obligation::Publish);
        assert_eq!(
            late[0].working_days, 6,
            "24–27, 29 (a working Sunday) and 30 September"
        );
    }
}
