//! An inspection task's life after the draw, as pure functions: which transitions are allowed
//! and when, the legal deadlines in working days, what is overdue on a given day, and the
//! progress report. The store loads and saves; nothing here does IO.

use std::collections::{BTreeMap, BTreeSet};

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
    pub const ALL: [Status; 7] = [
        Status::Drawn,
        Status::Scheduled,
        Status::Completed,
        Status::Published,
        Status::Archived,
        Status::Replaced,
        Status::Voided,
    ];

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
    /// What the console's pages call it.
    pub fn label(self) -> &'static str {
        match self {
            Status::Drawn => "待排期",
            Status::Scheduled => "已排期",
            Status::Completed => "已检查",
            Status::Published => "已公示",
            Status::Archived => "已归档",
            Status::Replaced => "已替补",
            Status::Voided => "已作废",
        }
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
    /// What the console's pages call it.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::NoIssues => "未发现问题",
            Outcome::IssuesFound => "发现问题",
            Outcome::Penalty => "行政处罚",
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

/// A task's facts: what happened when. Every field is set by a recorded fact (see [`Event`]);
/// the status follows from them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    pub status: Status,
    pub drawn_on: NaiveDate,
    pub window: Window,
    pub planned: Option<NaiveDate>,
    /// The day the (latest) planned date was entered.
    pub scheduled_on: Option<NaiveDate>,
    pub completed: Option<NaiveDate>,
    pub outcome: Option<Outcome>,
    pub published: Option<NaiveDate>,
    pub published_url: Option<String>,
    pub penalty_decided: Option<NaiveDate>,
    pub penalty_published: Option<NaiveDate>,
    pub referred: Option<NaiveDate>,
    pub archived_on: Option<NaiveDate>,
    pub replaced_on: Option<NaiveDate>,
    pub voided_on: Option<NaiveDate>,
}

impl Facts {
    /// A task as the draw creates it.
    pub fn drawn(drawn_on: NaiveDate, window: Window) -> Facts {
        Facts {
            status: Status::Drawn,
            drawn_on,
            window,
            planned: None,
            scheduled_on: None,
            completed: None,
            outcome: None,
            published: None,
            published_url: None,
            penalty_decided: None,
            penalty_published: None,
            referred: None,
            archived_on: None,
            replaced_on: None,
            voided_on: None,
        }
    }

    /// The status the facts add up to.
    fn derive_status(&mut self) {
        self.status = if self.voided_on.is_some() {
            Status::Voided
        } else if self.replaced_on.is_some() {
            Status::Replaced
        } else if self.archived_on.is_some() {
            Status::Archived
        } else if self.published.is_some() {
            Status::Published
        } else if self.completed.is_some() {
            Status::Completed
        } else if self.planned.is_some() {
            Status::Scheduled
        } else {
            Status::Drawn
        };
    }

    /// Whether any outcome-level fact was recorded (a void must not erase real work silently).
    pub fn has_results(&self) -> bool {
        self.completed.is_some()
            || self.published.is_some()
            || self.penalty_decided.is_some()
            || self.referred.is_some()
    }
}

/// A recorded fact of a task's life. Stored as it is (see `store`), so a task's state at any
/// day can be folded back from its facts; nothing recorded is ever overwritten, a correction is
/// a fact of its own that names the old and the new value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    Schedule(NaiveDate),
    Complete(NaiveDate, Outcome),
    Publish(NaiveDate, Option<String>),
    PenaltyDecided(NaiveDate),
    PenaltyPublished(NaiveDate),
    Refer(NaiveDate),
    Archive,
    /// An explicit correction of a recorded value, with the reason.
    Correct(Field, String),
    /// The entity was closed or unreachable: task `by` (an alternate) takes its place.
    Replace {
        by: String,
        reason: String,
    },
    /// The task's draw was voided.
    Void {
        draw_id: i64,
        reason: String,
    },
}

impl Event {
    /// What the console's pages call it.
    pub fn label(&self) -> &'static str {
        match self {
            Event::Schedule(_) => "排期",
            Event::Complete(..) => "登记检查结果",
            Event::Publish(..) => "公示检查结果",
            Event::PenaltyDecided(_) => "登记处罚决定",
            Event::PenaltyPublished(_) => "公示处罚决定",
            Event::Refer(_) => "移送司法机关",
            Event::Archive => "归档",
            Event::Correct(..) => "更正",
            Event::Replace { .. } => "替补",
            Event::Void { .. } => "作废",
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Event::Schedule(_) => "schedule",
            Event::Complete(..) => "complete",
            Event::Publish(..) => "publish",
            Event::PenaltyDecided(_) => "penalty",
            Event::PenaltyPublished(_) => "penalty-published",
            Event::Refer(_) => "refer",
            Event::Archive => "archive",
            Event::Correct(..) => "correct",
            Event::Replace { .. } => "replace",
            Event::Void { .. } => "void",
        }
    }
}

/// A recorded value a correction replaces, with its new value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Planned(NaiveDate),
    Completed(NaiveDate),
    Outcome(Outcome),
    Published(NaiveDate),
    Url(Option<String>),
    PenaltyDecided(NaiveDate),
    PenaltyPublished(NaiveDate),
    Referred(NaiveDate),
}

impl Field {
    /// What the console's pages call it.
    pub fn words(&self) -> &'static str {
        match self {
            Field::Planned(_) => "计划检查日期",
            Field::Completed(_) => "检查日期",
            Field::Outcome(_) => "检查结果",
            Field::Published(_) => "结果公示日期",
            Field::Url(_) => "公示网址",
            Field::PenaltyDecided(_) => "处罚决定日期",
            Field::PenaltyPublished(_) => "处罚公示日期",
            Field::Referred(_) => "移送日期",
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Field::Planned(_) => "planned",
            Field::Completed(_) => "completed",
            Field::Outcome(_) => "outcome",
            Field::Published(_) => "published",
            Field::Url(_) => "url",
            Field::PenaltyDecided(_) => "penalty-decision",
            Field::PenaltyPublished(_) => "penalty-published",
            Field::Referred(_) => "referred",
        }
    }

    /// The names `task correct --field` accepts.
    pub const NAMES: [&'static str; 8] = [
        "planned",
        "completed",
        "outcome",
        "published",
        "url",
        "penalty-decision",
        "penalty-published",
        "referred",
    ];

    /// Parses `--field NAME --value V`.
    pub fn parse(name: &str, value: &str) -> Result<Field, String> {
        let date = || {
            NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d").map_err(|_| {
                format!(
                    "`{}` is not a date: write YYYY-MM-DD",
                    crate::text::quote(value)
                )
            })
        };
        Ok(match name {
            "planned" => Field::Planned(date()?),
            "completed" => Field::Completed(date()?),
            "outcome" => Field::Outcome(Outcome::parse(value).ok_or_else(|| {
                format!(
                    "`{}` is not an outcome: no-issues, issues-found or penalty",
                    crate::text::quote(value)
                )
            })?),
            "published" => Field::Published(date()?),
            "url" => Field::Url(Some(value.trim().to_string()).filter(|v| !v.is_empty())),
            "penalty-decision" => Field::PenaltyDecided(date()?),
            "penalty-published" => Field::PenaltyPublished(date()?),
            "referred" => Field::Referred(date()?),
            other => {
                return Err(format!(
                    "`{}` is not a correctable field: {}",
                    crate::text::quote(other),
                    Field::NAMES.join(", ")
                ));
            }
        })
    }

    /// The value as shown and audited.
    fn show(&self) -> serde_json::Value {
        match self {
            Field::Planned(d)
            | Field::Completed(d)
            | Field::Published(d)
            | Field::PenaltyDecided(d)
            | Field::PenaltyPublished(d)
            | Field::Referred(d) => serde_json::json!(d),
            Field::Outcome(o) => serde_json::json!(o.code()),
            Field::Url(u) => serde_json::json!(u),
        }
    }

    /// The value this field holds in `f` now, if it was ever recorded.
    fn current(&self, f: &Facts) -> Option<Field> {
        Some(match self {
            Field::Planned(_) => Field::Planned(f.planned?),
            Field::Completed(_) => Field::Completed(f.completed?),
            Field::Outcome(_) => Field::Outcome(f.outcome?),
            Field::Published(_) => {
                f.published?;
                Field::Published(f.published?)
            }
            Field::Url(_) => {
                f.published?;
                Field::Url(f.published_url.clone())
            }
            Field::PenaltyDecided(_) => Field::PenaltyDecided(f.penalty_decided?),
            Field::PenaltyPublished(_) => Field::PenaltyPublished(f.penalty_published?),
            Field::Referred(_) => Field::Referred(f.referred?),
        })
    }
}

/// Every field that differs between two states, as `{field: {old, new}}`: what an audit row
/// of a task change holds.
pub fn changes(old: &Facts, new: &Facts) -> serde_json::Value {
    let (Ok(serde_json::Value::Object(a)), Ok(serde_json::Value::Object(b))) =
        (serde_json::to_value(old), serde_json::to_value(new))
    else {
        return serde_json::Value::Null;
    };
    let mut out = serde_json::Map::new();
    for (k, new) in b {
        let old = a.get(&k).cloned().unwrap_or(serde_json::Value::Null);
        if old != new {
            out.insert(k, serde_json::json!({ "old": old, "new": new }));
        }
    }
    serde_json::Value::Object(out)
}

/// A correction's old and new value, for the audit row.
pub fn correction_detail(f: &Facts, field: &Field, reason: &str) -> serde_json::Value {
    serde_json::json!({
        "field": field.name(),
        "old": field.current(f).map(|c| c.show()),
        "new": field.show(),
        "reason": reason,
    })
}

pub use crate::text::Refusal;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error(transparent)]
    Calendar(#[from] CalendarError),
}

fn refuse<T>(en: String, zh: String) -> Result<T, TransitionError> {
    Err(TransitionError::Refused(Refusal { en, zh }))
}

/// Obligations in words (`describe` or `words`), joined by `sep`.
fn describe(owes: &[Obligation], words: fn(Obligation) -> &'static str, sep: &str) -> String {
    owes.iter().map(|o| words(*o)).collect::<Vec<_>>().join(sep)
}

/// What `past` and `consistent` call the dates they compare, in Chinese.
fn date_words(what: &str) -> &str {
    match what {
        "completion" => "检查日期",
        "publication" => "结果公示日期",
        "penalty decision" => "处罚决定日期",
        "penalty publication" => "处罚公示日期",
        "referral" => "移送日期",
        "draw" => "抽取日期",
        other => other,
    }
}

/// A date for something that has happened: not in the future, not before `after`.
fn past(
    what: &str,
    d: NaiveDate,
    after: (&str, NaiveDate),
    today: NaiveDate,
) -> Result<(), TransitionError> {
    if d > today {
        return refuse(
            format!("{what} date {d} is in the future (today is {today})"),
            format!("{} {d} 晚于今天（{today}）", date_words(what)),
        );
    }
    if d < after.1 {
        return refuse(
            format!("{what} date {d} is before the {} ({})", after.0, after.1),
            format!(
                "{} {d} 早于{}（{}）",
                date_words(what),
                date_words(after.0),
                after.1
            ),
        );
    }
    Ok(())
}

/// The day a fact takes effect: the date it states, or the day it is entered for facts that
/// state none. A correction takes effect when the fact it corrects did, so a month's report
/// "as known now" shows the corrected value and one "as it stood" the original.
///
/// A publication takes effect no earlier than the day it is recorded, whatever date is
/// stated: the public record cannot show a result before it held it, so lateness is judged by
/// the later of the two (the stated date stays in the recorded fact).
pub fn effective(f: &Facts, event: &Event, today: NaiveDate) -> NaiveDate {
    match event {
        // A planned date already past was evidently planned by then.
        Event::Schedule(d) => (*d).min(today),
        Event::Publish(d, _) | Event::PenaltyPublished(d) => (*d).max(today),
        Event::Complete(d, _) | Event::PenaltyDecided(d) | Event::Refer(d) => *d,
        Event::Archive | Event::Replace { .. } | Event::Void { .. } => today,
        Event::Correct(field, _) => match field {
            Field::Planned(_) => f.scheduled_on,
            Field::Completed(_) | Field::Outcome(_) => f.completed,
            Field::Published(_) | Field::Url(_) => f.published,
            Field::PenaltyDecided(_) => f.penalty_decided,
            Field::PenaltyPublished(_) => f.penalty_published,
            Field::Referred(_) => f.referred,
        }
        .unwrap_or(today),
    }
}

/// What a fact does to the facts, without judging it (it was judged when recorded).
pub fn effect(f: &Facts, event: &Event, on: NaiveDate) -> Facts {
    let mut n = f.clone();
    match event {
        Event::Schedule(d) => {
            n.planned = Some(*d);
            n.scheduled_on = Some(on);
        }
        Event::Complete(d, o) => {
            n.completed = Some(*d);
            n.outcome = Some(*o);
        }
        // Never before the day it took effect (see `effective`).
        Event::Publish(d, url) => {
            n.published = Some((*d).max(on));
            n.published_url = url.clone();
        }
        Event::PenaltyDecided(d) => n.penalty_decided = Some(*d),
        Event::PenaltyPublished(d) => n.penalty_published = Some((*d).max(on)),
        Event::Refer(d) => n.referred = Some(*d),
        Event::Archive => n.archived_on = Some(on),
        Event::Replace { .. } => n.replaced_on = Some(on),
        Event::Void { .. } => n.voided_on = Some(on),
        Event::Correct(field, _) => match field {
            Field::Planned(d) => n.planned = Some(*d),
            Field::Completed(d) => n.completed = Some(*d),
            Field::Outcome(o) => n.outcome = Some(*o),
            Field::Published(d) => n.published = Some(*d),
            Field::Url(u) => n.published_url = u.clone(),
            Field::PenaltyDecided(d) => n.penalty_decided = Some(*d),
            Field::PenaltyPublished(d) => n.penalty_published = Some(*d),
            Field::Referred(d) => n.referred = Some(*d),
        },
    }
    n.derive_status();
    n
}

/// Applies one event a person records, or says in words why it cannot happen. A recorded
/// value is never replaced here: changing one takes an explicit [`Event::Correct`].
pub fn apply(
    f: &Facts,
    event: &Event,
    today: NaiveDate,
    cal: &Calendar,
) -> Result<Facts, TransitionError> {
    // A closed task takes no new facts; its record can still be corrected.
    if !f.status.is_open() && !matches!(event, Event::Correct(..)) {
        return refuse(
            format!(
                "the task is {} and accepts no more changes (a recorded value can still be \
                 corrected with `task correct`)",
                f.status.code()
            ),
            format!(
                "任务{}，不再接受新的登记（已登记的内容仍可更正）",
                f.status.label()
            ),
        );
    }
    match event {
        Event::Schedule(d) => {
            if f.completed.is_some() {
                return refuse(
                    format!(
                        "the task is already {}: its planned date can only be corrected \
                         (`task correct --field planned`)",
                        f.status.code()
                    ),
                    format!("任务{}：计划检查日期只能通过更正修改", f.status.label()),
                );
            }
            if *d < f.window.start || *d > f.window.end {
                return refuse(
                    format!(
                        "planned date {d} is outside the inspection window {} .. {}",
                        f.window.start, f.window.end
                    ),
                    format!(
                        "计划检查日期 {d} 不在检查期间（{} 至 {}）内",
                        f.window.start, f.window.end
                    ),
                );
            }
            // A date already past is accepted: divisions often report the date with the outcome.
            if *d < f.drawn_on {
                return refuse(
                    format!("planned date {d} is before the draw ({})", f.drawn_on),
                    format!("计划检查日期 {d} 早于抽取日期（{}）", f.drawn_on),
                );
            }
            if !cal.is_working_day(*d)? {
                return refuse(
                    format!("planned date {d} is not a working day"),
                    format!("计划检查日期 {d} 不是工作日"),
                );
            }
        }
        Event::Complete(d, _) => {
            match f.status {
                Status::Scheduled => {}
                Status::Drawn => {
                    return refuse(
                        "the task has no planned date yet: schedule it first".into(),
                        "任务尚未排定检查日期：请先排期".into(),
                    );
                }
                s => {
                    return refuse(
                        format!(
                            "the task is already {}: it cannot be completed twice (a recorded \
                             outcome is changed with `task correct`)",
                            s.code()
                        ),
                        format!(
                            "任务{}：不能重复登记检查结果（已登记的结果通过更正修改）",
                            s.label()
                        ),
                    );
                }
            }
            past("completion", *d, ("draw", f.drawn_on), today)?;
            if let Some(p) = f.planned
                && *d < p
            {
                return refuse(
                    format!(
                        "completion on {d} is before the planned date {p}: if the inspection \
                         took place earlier, correct the planned date first (`task correct \
                         --field planned --value {d} --reason ...`)"
                    ),
                    format!(
                        "检查日期 {d} 早于计划检查日期 {p}：如确实提前检查，请先更正计划检查日期"
                    ),
                );
            }
        }
        Event::Publish(d, url) => {
            let Some(done) = f.completed else {
                return refuse(
                    "results cannot be published before the inspection is completed".into(),
                    "检查尚未完成，不能公示结果".into(),
                );
            };
            if let Some(p) = f.published {
                return refuse(
                    format!("results were already published on {p}"),
                    format!("检查结果已于 {p} 公示"),
                );
            }
            if let Some(u) = url {
                check_url(u)?;
            }
            past("publication", *d, ("completion", done), today)?;
        }
        Event::PenaltyDecided(d) => {
            let Some(done) = f.completed else {
                return refuse(
                    "a penalty needs a completed inspection".into(),
                    "检查尚未完成，不能登记处罚决定".into(),
                );
            };
            if f.outcome != Some(Outcome::Penalty) {
                return refuse(
                    format!(
                        "the inspection's recorded outcome is {}: a penalty decision needs the \
                         outcome `penalty` (correct it first with `task correct --field outcome \
                         --value penalty --reason ...`)",
                        f.outcome.map_or("none", Outcome::code)
                    ),
                    format!(
                        "已登记的检查结果为“{}”：登记处罚决定需要检查结果为“行政处罚”（请先更正检查结果）",
                        f.outcome.map_or("无", Outcome::label)
                    ),
                );
            }
            if f.penalty_decided.is_some() {
                return refuse(
                    "a penalty decision is already recorded".into(),
                    "处罚决定已经登记".into(),
                );
            }
            past("penalty decision", *d, ("completion", done), today)?;
        }
        Event::PenaltyPublished(d) => {
            let Some(decided) = f.penalty_decided else {
                return refuse(
                    "no penalty decision is recorded for this task".into(),
                    "该任务尚未登记处罚决定".into(),
                );
            };
            if f.penalty_published.is_some() {
                return refuse(
                    "the penalty was already published".into(),
                    "处罚决定已经公示".into(),
                );
            }
            past(
                "penalty publication",
                *d,
                ("penalty decision", decided),
                today,
            )?;
        }
        Event::Refer(d) => {
            let Some(done) = f.completed else {
                return refuse(
                    "only a completed inspection can be referred to judicial organs".into(),
                    "检查尚未完成，不能移送司法机关".into(),
                );
            };
            if f.outcome == Some(Outcome::NoIssues) {
                return refuse(
                    "the inspection's recorded outcome is no-issues: nothing to refer to \
                     judicial organs (correct the outcome first if it was wrong)"
                        .into(),
                    "已登记的检查结果为“未发现问题”，无可移送（如结果有误，请先更正）".into(),
                );
            }
            if f.referred.is_some() {
                return refuse(
                    "the task was already referred".into(),
                    "该任务已经移送".into(),
                );
            }
            past("referral", *d, ("completion", done), today)?;
        }
        Event::Archive => {
            let owes = owed_now(f);
            if !owes.is_empty() {
                return refuse(
                    format!(
                        "the task still owes: {}; it is archived only when it owes nothing",
                        describe(&owes, Obligation::describe, "; ")
                    ),
                    format!(
                        "任务尚有未完成事项：{}；全部完成后才能归档",
                        describe(&owes, Obligation::words, "、")
                    ),
                );
            }
        }
        Event::Correct(field, reason) => {
            if reason.trim().is_empty() {
                return refuse(
                    "a correction needs --reason (it is audited)".into(),
                    "更正须填写原因（记入审计日志）".into(),
                );
            }
            crate::text::check_note("the correction's reason", reason, 500).map_err(|en| {
                TransitionError::Refused(Refusal {
                    en,
                    zh: "更正原因须为不超过 500 字的文字，不含隐藏字符".into(),
                })
            })?;
            let Some(old) = field.current(f) else {
                return refuse(
                    format!(
                        "no {} is recorded yet: record it with its own command, not a correction",
                        field.name()
                    ),
                    format!("尚未登记{}：请直接登记，无需更正", field.words()),
                );
            };
            if old == *field {
                return refuse(
                    format!(
                        "{} is already {}: nothing to correct",
                        field.name(),
                        field.show()
                    ),
                    format!("{}已经是 {}：无需更正", field.words(), field.show()),
                );
            }
            if let Field::Url(Some(u)) = field {
                check_url(u)?;
            }
            // A publication is judged by when it was recorded: a correction may move it later,
            // never before the day the record held it.
            let before_record = match field {
                Field::Published(d) => f.published.filter(|was| d < was),
                Field::PenaltyPublished(d) => f.penalty_published.filter(|was| d < was),
                _ => None,
            };
            if let Some(was) = before_record {
                return refuse(
                    format!(
                        "the {} is recorded as {was}, the day the record held it: a correction \
                         can move it later, never earlier (the stated date stays in the recorded \
                         fact)",
                        field.name()
                    ),
                    format!(
                        "{}记为 {was}，即记录公示的当天：更正只能推后，不能提前（所述日期保留在记录中）",
                        field.words()
                    ),
                );
            }
            if let Field::Outcome(o) = field
                && *o != Outcome::Penalty
                && f.penalty_decided.is_some()
            {
                let decided = f.penalty_decided.map(|d| d.to_string()).unwrap_or_default();
                return refuse(
                    format!(
                        "a penalty decision is recorded ({decided}): the outcome cannot become {}",
                        o.code()
                    ),
                    format!(
                        "已登记处罚决定（{decided}）：检查结果不能改为“{}”",
                        o.label()
                    ),
                );
            }
            if let Field::Outcome(Outcome::NoIssues) = field
                && f.referred.is_some()
            {
                return refuse(
                    "the task was referred to judicial organs: its outcome cannot become \
                     no-issues"
                        .into(),
                    "该任务已移送司法机关：检查结果不能改为“未发现问题”".into(),
                );
            }
            let corrected = effect(f, event, today);
            consistent(&corrected, today, cal)?;
            if f.status == Status::Archived {
                let mut reopened = corrected;
                reopened.archived_on = None;
                reopened.derive_status();
                let owes = owed_now(&reopened);
                if !owes.is_empty() {
                    return refuse(
                        format!(
                            "the task is archived, and after this correction it would owe: {}; \
                             an archived task owes nothing",
                            describe(&owes, Obligation::describe, "; ")
                        ),
                        format!(
                            "任务已归档，更正后将有未完成事项：{}；已归档的任务不能有未完成事项",
                            describe(&owes, Obligation::words, "、")
                        ),
                    );
                }
            }
        }
        Event::Replace { .. } | Event::Void { .. } => {
            return refuse(
                format!(
                    "`{}` is recorded by its own command, not as a task change",
                    event.name()
                ),
                format!("“{}”有专门的操作，不作为任务登记", event.label()),
            );
        }
    }
    Ok(effect(f, event, effective(f, event, today)))
}

/// Links published with results are web pages: anything but http(s) is refused at entry, so
/// a `javascript:` or `file:` link can never reach a published page.
pub fn check_url(u: &str) -> Result<(), Refusal> {
    let lower = u.trim().to_ascii_lowercase();
    let ok = (lower.starts_with("https://") || lower.starts_with("http://"))
        && u.len() <= 2048
        && !u
            .chars()
            .any(|c| c.is_whitespace() || crate::text::hidden(c));
    if !ok {
        return Err(Refusal {
            en: format!(
                "`{}` is not a web address: only http:// and https:// links are published, \
                 without spaces or hidden characters",
                crate::text::quote(u)
            ),
            zh: format!(
                "“{}”不是网址：只公示以 http:// 或 https:// 开头、不含空格或隐藏字符的链接",
                crate::text::quote(u)
            ),
        });
    }
    // `http://yjglt.henan.gov.cn@evil.example/` goes to evil.example: user information before
    // the host only ever serves to mislead a reader.
    let rest = &u.trim()[lower.find("://").map_or(0, |i| i + 3)..];
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return Err(Refusal {
            en: format!(
                "`{}`: a web address with user information before its host (`…@`) is refused: \
                 it would show one site and lead to another",
                crate::text::quote(u)
            ),
            zh: format!(
                "“{}”：主机名前带有用户信息（“…@”）的网址不予接受：它显示的是一个网站，打开的却是另一个",
                crate::text::quote(u)
            ),
        });
    }
    Ok(())
}

/// Whether corrected facts still tell a possible story (dates in order, none in the future).
fn consistent(f: &Facts, today: NaiveDate, cal: &Calendar) -> Result<(), TransitionError> {
    if let Some(p) = f.planned {
        if p < f.window.start || p > f.window.end || p < f.drawn_on {
            return refuse(
                format!(
                    "planned date {p} is outside the inspection window {} .. {} or before the \
                     draw",
                    f.window.start, f.window.end
                ),
                format!(
                    "计划检查日期 {p} 不在检查期间（{} 至 {}）内，或早于抽取日期",
                    f.window.start, f.window.end
                ),
            );
        }
        if !cal.is_working_day(p)? {
            return refuse(
                format!("planned date {p} is not a working day"),
                format!("计划检查日期 {p} 不是工作日"),
            );
        }
    }
    let chain = [
        ("completion", f.completed, ("draw", Some(f.drawn_on))),
        ("publication", f.published, ("completion", f.completed)),
        (
            "penalty decision",
            f.penalty_decided,
            ("completion", f.completed),
        ),
        (
            "penalty publication",
            f.penalty_published,
            ("penalty decision", f.penalty_decided),
        ),
        ("referral", f.referred, ("completion", f.completed)),
    ];
    for (what, d, (after, a)) in chain {
        if let (Some(d), Some(a)) = (d, a) {
            past(what, d, (after, a), today)?;
        }
    }
    Ok(())
}

/// The facts as they stood at the end of `day`, from the task's recorded facts in the order
/// they were recorded: facts that took effect later are not known yet, and neither is any
/// value dated after `day` (a correction may move a date past it).
pub fn fold<'a>(
    start: &Facts,
    recorded: impl IntoIterator<Item = (NaiveDate, &'a Event)>,
    day: NaiveDate,
) -> Facts {
    let mut f = start.clone();
    for (on, event) in recorded {
        if on <= day {
            f = effect(&f, event, on);
        }
    }
    as_of(&f, day)
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
    /// A penalty outcome owes its decision (no legal deadline: the case runs its course; it
    /// only keeps the task from being archived).
    PenaltyDecision,
}

impl Obligation {
    /// Its name where people read a list of deadlines.
    pub fn label(self) -> &'static str {
        match self {
            Obligation::Schedule => "schedule",
            Obligation::Notice => "函告 (notice)",
            Obligation::Complete => "inspect",
            Obligation::Publish => "publish results",
            Obligation::PenaltyPublish => "publish penalty",
            Obligation::PenaltyDecision => "penalty decision",
        }
    }

    /// Its name in Chinese, where letters and pages list what a task owes.
    pub fn words(self) -> &'static str {
        match self {
            Obligation::Schedule => "确定检查日期",
            Obligation::Notice => "函告属地应急管理部门",
            Obligation::Complete => "完成检查",
            Obligation::Publish => "检查结果公示",
            Obligation::PenaltyPublish => "行政处罚决定公示",
            Obligation::PenaltyDecision => "作出行政处罚决定",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Obligation::Schedule => "not scheduled",
            Obligation::Notice => "municipal bureau not notified (函告)",
            Obligation::Complete => "not completed by the end of the window",
            Obligation::Publish => "results not published",
            Obligation::PenaltyPublish => "penalty not published",
            Obligation::PenaltyDecision => "penalty decision not recorded",
        }
    }
}

/// A task's deadlines: the dates known, and the obligations whose deadline falls in a year
/// without holiday data yet. The fact that started such a period is recorded all the same; its
/// date follows once the year's data is added (the nightly check recomputes it and tells the
/// administrators until then).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Due {
    pub dates: BTreeMap<Obligation, NaiveDate>,
    pub pending: BTreeSet<Obligation>,
}

/// Every deadline the task has, met or not.
pub fn deadlines(f: &Facts, rules: &DeadlineRules, cal: &Calendar) -> Result<Due, CalendarError> {
    let mut due = Due::default();
    let mut put = |o: Obligation, d: Result<NaiveDate, CalendarError>| match d {
        Ok(d) => {
            due.dates.insert(o, d);
            Ok(())
        }
        Err(CalendarError::NoData { .. }) => {
            due.pending.insert(o);
            Ok(())
        }
        Err(e) => Err(e),
    };
    put(
        Obligation::Schedule,
        cal.add_working_days(f.drawn_on, i64::from(rules.schedule_within)),
    )?;
    if let Some(p) = f.planned
        && rules.advance_notice > 0
    {
        put(
            Obligation::Notice,
            cal.add_working_days(p, -i64::from(rules.advance_notice)),
        )?;
    }
    put(Obligation::Complete, Ok(f.window.end))?;
    if let Some(c) = f.completed {
        put(
            Obligation::Publish,
            cal.add_working_days(c, i64::from(rules.results)),
        )?;
    }
    if let Some(d) = f.penalty_decided {
        put(
            Obligation::PenaltyPublish,
            cal.add_working_days(d, i64::from(rules.penalties)),
        )?;
    }
    Ok(due)
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
            Obligation::PenaltyDecision => {
                f.outcome == Some(Outcome::Penalty) && f.penalty_decided.is_none()
            }
        }
}

/// Everything a task still has to do, deadline or not: archiving waits until this is empty.
fn owed_now(f: &Facts) -> Vec<Obligation> {
    [
        Obligation::Schedule,
        Obligation::Complete,
        Obligation::Publish,
        Obligation::PenaltyDecision,
        Obligation::PenaltyPublish,
    ]
    .into_iter()
    .filter(|o| owed(f, *o))
    .collect()
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
    /// Working days from the deadline to today; unknown while a year between has no holiday
    /// data (the item is still overdue, and listed).
    pub working_days: Option<i64>,
}

/// What a task has let pass by `today`. A missing year of holiday data never hides an item:
/// only how late it is stays unknown.
pub fn overdue(
    f: &Facts,
    d: &BTreeMap<Obligation, NaiveDate>,
    today: NaiveDate,
    cal: &Calendar,
) -> Vec<Overdue> {
    d.iter()
        .filter(|(o, due)| owed(f, **o) && **due < today)
        .map(|(o, due)| Overdue {
            obligation: *o,
            what: o.describe(),
            due: *due,
            working_days: cal.working_days_between(*due, today).ok(),
        })
        .collect()
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

/// Facts with every value dated after `day` dropped: what was known to have happened by then.
fn as_of(f: &Facts, day: NaiveDate) -> Facts {
    let keep = |d: Option<NaiveDate>| d.filter(|d| *d <= day);
    let mut g = f.clone();
    if keep(f.scheduled_on).is_none() {
        g.planned = None;
        g.scheduled_on = None;
    }
    g.completed = keep(f.completed);
    if g.completed.is_none() {
        g.outcome = None;
    }
    g.published = keep(f.published);
    if g.published.is_none() {
        g.published_url = None;
    }
    g.penalty_decided = keep(f.penalty_decided);
    g.penalty_published = keep(f.penalty_published);
    g.referred = keep(f.referred);
    g.archived_on = keep(f.archived_on);
    g.replaced_on = keep(f.replaced_on);
    g.voided_on = keep(f.voided_on);
    g.derive_status();
    g
}

/// Progress per division as of a day, from each task's facts as they stood at its end (see
/// [`fold`]): drawn, scheduled, completed, results published on time or late, penalties,
/// referrals to judicial organs, tasks with something overdue, and replaced entities. Tasks
/// drawn later, and tasks of a draw voided by then, do not count.
pub fn report<'a>(
    tasks: impl IntoIterator<Item = (&'a str, Facts, &'a DeadlineRules)>,
    day: NaiveDate,
    cal: &Calendar,
) -> Result<Vec<DivisionReport>, CalendarError> {
    let mut tally = Tally::default();
    for (division, g, rules) in tasks {
        tally.add(division, &g, rules, day, cal)?;
    }
    Ok(tally.reports())
}

/// A report added up a task at a time, for callers that read the tasks a page at a time.
#[derive(Debug, Default)]
pub struct Tally(BTreeMap<String, DivisionReport>);

impl Tally {
    /// Counts one task's state on `day`.
    pub fn add(
        &mut self,
        division: &str,
        g: &Facts,
        rules: &DeadlineRules,
        day: NaiveDate,
        cal: &Calendar,
    ) -> Result<(), CalendarError> {
        if g.drawn_on > day || g.status == Status::Voided {
            return Ok(());
        }
        let r = self
            .0
            .entry(division.to_string())
            .or_insert_with(|| DivisionReport {
                division: division.to_string(),
                ..Default::default()
            });
        if g.status == Status::Replaced {
            r.replaced += 1;
            return Ok(());
        }
        let d = deadlines(g, rules, cal)?.dates;
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
        r.overdue += u32::from(!overdue(g, &d, day, cal).is_empty());
        Ok(())
    }

    /// The divisions' reports, in division order.
    pub fn reports(self) -> Vec<DivisionReport> {
        self.0.into_values().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::check_url;

    /// A published link shows where it leads: user information before the host, hidden
    /// characters and other schemes are refused.
    #[test]
    fn links_lead_where_they_say() {
        assert!(check_url("https://yjglt.henan.gov.cn/sjsgk/2024/1.html").is_ok());
        let userinfo = check_url("http://yjglt.henan.gov.cn@evil.example/").expect_err("@");
        assert!(userinfo.en.contains("user information"), "{userinfo}");
        assert!(check_url("https://x.example/\u{202e}fdp.exe").is_err());
        assert!(check_url("https://x.example/a\u{200b}b").is_err());
        assert!(check_url("javascript:alert(1)").is_err());
        // An @ after the host (in the path or the query) is part of the page's address.
        assert!(check_url("https://x.example/u/a@b?c=d@e").is_ok());
    }

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
            propose_dates: false,
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
        let dl = deadlines(&f, &rules(), &cal).expect("deadlines").dates;
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
        // The outcome does not allow a penalty: that takes an explicit correction first.
        assert!(
            err(apply(
                &f,
                &Event::PenaltyDecided(d("2024-06-05")),
                later,
                &cal
            ))
            .contains("needs the outcome `penalty`")
        );
        let correct = Event::Correct(Field::Outcome(Outcome::Penalty), "misfiled".into());
        let f = apply(&f, &correct, later, &cal).expect("corrected");
        assert!(
            err(apply(
                &f,
                &Event::Complete(d("2024-06-04"), Outcome::NoIssues),
                later,
                &cal
            ))
            .contains("cannot be completed twice")
        );
        assert!(
            err(apply(&f, &Event::Archive, later, &cal)).contains("results not published"),
            "owes publication"
        );
        let f = apply(&f, &Event::Publish(d("2024-06-05"), None), later, &cal).expect("published");
        assert!(
            err(apply(&f, &Event::Archive, later, &cal)).contains("penalty decision not recorded"),
            "a penalty outcome owes its decision"
        );
        let f = apply(&f, &Event::PenaltyDecided(d("2024-06-05")), later, &cal).expect("penalty");
        assert_eq!(f.outcome, Some(Outcome::Penalty));
        assert!(err(apply(&f, &Event::Archive, later, &cal)).contains("penalty not published"));
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
        let dl = deadlines(&f, &rules(), &cal).expect("deadlines").dates;
        assert_eq!(next_due(&f, &dl), Some(d("2024-09-23")));
        assert!(
            overdue(&f, &dl, d("2024-09-23"), &cal).is_empty(),
            "due today is not late"
        );
        let late = overdue(&f, &dl, d("2024-09-30"), &cal);
        assert_eq!(late.len(), 1);
        assert_eq!(late[0].obligation, Obligation::Publish);
        assert_eq!(
            late[0].working_days,
            Some(6),
            "24–27, 29 (a working Sunday) and 30 September"
        );
        // A day in a year without holiday data: still overdue, by an unknown count.
        let unknown = overdue(&f, &dl, d("2031-01-06"), &cal);
        assert_eq!(unknown.len(), 1);
        assert_eq!(unknown[0].working_days, None);
    }
}
