//! Notices: what is sent, to whom, and when, as pure functions over tasks and dates; the
//! letters rendered from templates (`templates`); and delivery (`send`, the only code that
//! knows SMTP). A notice is written to the outbox in the same transaction as the event that
//! causes it, under an idempotency key that also makes its `Message-ID`, so it is never
//! created twice; each item it covers (a task's 函告 for a planned date, a reminder of a
//! deadline, an escalation) is recorded so that no item is notified twice either.
//!
//! Nothing here ever writes to an inspected entity, and a municipal bureau only ever hears of
//! the entities in its own territory.

pub mod ics;
pub mod relay;
pub mod send;
pub mod templates;

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::{Value, json};

use crate::calendar::{Calendar, CalendarError};
use crate::lifecycle::Obligation;
use crate::store::TaskRow;
use templates::Templates;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// 函告 to a municipal bureau before inspections in its territory.
    AdvanceNotice,
    /// A division's tasks after the draw.
    Assignment,
    /// A deadline coming up.
    Reminder,
    /// A deadline passed.
    Escalation,
    /// The monthly progress report.
    MonthlyReport,
    /// Something the system's administrator must see.
    Admin,
    /// A receipt of a published event, for a witness outside the department.
    Witness,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::AdvanceNotice,
        Kind::Assignment,
        Kind::Reminder,
        Kind::Escalation,
        Kind::MonthlyReport,
        Kind::Admin,
        Kind::Witness,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::AdvanceNotice => "advance_notice",
            Kind::Assignment => "assignment",
            Kind::Reminder => "reminder",
            Kind::Escalation => "escalation",
            Kind::MonthlyReport => "monthly_report",
            Kind::Admin => "admin",
            Kind::Witness => "witness",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == s)
    }
}

/// A name and an address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize)]
pub struct Mailbox {
    pub name: String,
    pub email: String,
}

impl Mailbox {
    /// "Name <address>" or a bare address, as the configuration writes them; None when the
    /// address is not one.
    pub fn parse(s: &str) -> Option<Mailbox> {
        let s = s.trim();
        let (name, email) = match s.rsplit_once('<') {
            Some((name, rest)) => (name.trim().to_string(), rest.trim_end_matches('>').trim()),
            None => (s.to_string(), s),
        };
        email.parse::<lettre::Address>().ok()?;
        Some(Mailbox {
            name,
            email: email.to_string(),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// What the recipient sees (may be Chinese).
    pub name: String,
    /// The ASCII fallback for mail clients that cannot read RFC 2231 names.
    pub ascii_name: String,
    pub content_type: String,
    pub data: Vec<u8>,
}

/// A notice ready for the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Idempotency key (kind, recipients, day, items): the outbox holds each key once.
    pub key: String,
    pub kind: Kind,
    pub to: Vec<Mailbox>,
    pub cc: Vec<Mailbox>,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub attachments: Vec<Attachment>,
    /// The items it covers (never notified again).
    pub items: Vec<String>,
    /// Sent later than it should have been (a 函告 inside its notice period).
    pub late: bool,
}

/// The `Message-ID` a notice's key makes: the same key, the same id, so a receiver (or a
/// person) recognises a duplicate delivery.
pub fn message_id(key: &str) -> String {
    format!(
        "<{}@suiji.notice>",
        &crate::audit::sha256_hex(key.as_bytes())[..32]
    )
}

/// Who receives what: addresses and names, read from the registry and the configuration.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    pub department: String,
    pub contact: String,
    /// Municipal unit code → its bureau.
    pub bureaus: HashMap<String, Mailbox>,
    /// Unit code → name (郑州市, 济源示范区 …).
    pub units: HashMap<String, String>,
    /// Division code → label and address (if configured).
    pub divisions: HashMap<String, (String, Option<String>)>,
    /// Officer id → name and address (if known).
    pub officers: HashMap<String, (String, Option<String>)>,
    /// The division that tracks enforcement (escalations copied, monthly report).
    pub tracker: Option<String>,
    pub admins: Vec<Mailbox>,
    /// Where the public files are, for assignment notices.
    pub published: String,
}

impl Directory {
    /// The bureau for an entity's unit; 航空港区 falls back to 郑州 when it has none of its own.
    pub fn bureau(&self, unit: &str) -> Option<&Mailbox> {
        self.bureaus
            .get(unit)
            .or_else(|| unit.get(..4).and_then(|city| self.bureaus.get(city)))
    }

    fn division_label(&self, code: &str) -> String {
        self.divisions
            .get(code)
            .map_or_else(|| code.to_string(), |(l, _)| l.clone())
    }

    fn division_box(&self, code: &str) -> Option<Mailbox> {
        let (label, email) = self.divisions.get(code)?;
        email.as_ref().map(|e| Mailbox {
            name: label.clone(),
            email: e.clone(),
        })
    }

    fn officer_name(&self, id: &str) -> String {
        self.officers
            .get(id)
            .map_or_else(|| id.to_string(), |(n, _)| n.clone())
    }

    fn unit_name(&self, unit: &str) -> String {
        self.units
            .get(unit)
            .cloned()
            .unwrap_or_else(|| unit.to_string())
    }
}

/// 2024年6月10日.
pub fn chinese_date(d: NaiveDate) -> String {
    use chrono::Datelike;
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

/// A key from the kind, the recipients, the day and what it covers.
fn key(kind: Kind, to: &[Mailbox], day: NaiveDate, items: &[String]) -> String {
    let who: Vec<&str> = to.iter().map(|m| m.email.as_str()).collect();
    let mut sorted = items.to_vec();
    sorted.sort();
    let digest = crate::audit::sha256_hex(sorted.join("\n").as_bytes());
    format!("{}/{}/{day}/{}", kind.name(), who.join(","), &digest[..16])
}

/// What the nightly check and the other jobs produce: notices, and what could not be sent to
/// anyone (for the administrator).
#[derive(Debug, Default)]
pub struct Planned {
    pub notices: Vec<Notice>,
    pub unaddressed: Vec<String>,
}

/// The plan a letter is about, as it names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanInfo {
    pub id: String,
    pub year: i64,
    pub title: String,
}

impl PlanInfo {
    /// The department's own letters (the monthly report, the administrators' notices), about
    /// every plan at once.
    pub fn department(year: i32) -> PlanInfo {
        PlanInfo {
            id: crate::jobs::DEPARTMENT.to_string(),
            year: i64::from(year),
            title: format!("{year}年度“双随机、一公开”抽查"),
        }
    }

    pub fn of(plan: &crate::plan::Plan) -> PlanInfo {
        PlanInfo {
            id: plan.id.clone(),
            year: i64::from(plan.year),
            title: plan.title.clone(),
        }
    }
}

/// The common variables of every letter.
fn vars(dir: &Directory, today: NaiveDate, plan: &PlanInfo) -> Value {
    json!({
        "department": dir.department,
        "date": chinese_date(today),
        "contact": dir.contact,
        "plan": { "id": plan.id, "year": plan.year, "title": plan.title },
    })
}

fn merge(mut a: Value, b: Value) -> Value {
    if let (Value::Object(x), Value::Object(y)) = (&mut a, b) {
        x.extend(y);
    }
    a
}

/// The 函告 due by `today`: for every task not yet inspected whose planned date's notice day
/// (`advance_notice` working days before) has come and that was not notified for that date,
/// one letter per bureau with its list (XLSX, CSV) and calendar (ICS). A task planned too late
/// for the notice period goes out at once, flagged late.
pub fn advance_notices(
    tasks: &[TaskRow],
    plan: &PlanInfo,
    today: NaiveDate,
    done: &HashSet<String>,
    dir: &Directory,
    cal: &Calendar,
    t: &Templates,
) -> Result<Planned, NoticeError> {
    /// A task to notify: its planned day, and whether the notice is late.
    type Due<'a> = (&'a TaskRow, NaiveDate, bool);
    let mut by_unit: BTreeMap<String, Vec<Due>> = BTreeMap::new();
    for r in tasks {
        let f = &r.facts;
        let Some(planned) = f.planned else { continue };
        if !f.status.is_open() || f.completed.is_some() || planned < today {
            continue;
        }
        if r.rules.advance_notice == 0 {
            continue;
        }
        let item = format!("advance/{}/{planned}", r.id);
        if done.contains(&item) {
            continue;
        }
        // Without the holiday data of the planned day's year the notice day cannot be counted:
        // the letter goes now, early rather than never.
        let due = cal
            .add_working_days(planned, -i64::from(r.rules.advance_notice))
            .unwrap_or(today);
        if due > today {
            continue;
        }
        by_unit
            .entry(r.city.clone())
            .or_default()
            .push((r, planned, due < today));
    }
    let mut out = Planned::default();
    // One letter per bureau, whatever units it answers for (航空港区 and 郑州: one bureau).
    let mut by_bureau: BTreeMap<&str, (&Mailbox, String, Vec<Due>)> = BTreeMap::new();
    for (unit, list) in by_unit {
        let Some(bureau) = dir.bureau(&unit) else {
            out.unaddressed.push(format!(
                "未登记{}（{unit}）应急管理部门的收件地址：{} 项检查未能函告",
                dir.unit_name(&unit),
                list.len()
            ));
            continue;
        };
        let entry = by_bureau
            .entry(bureau.email.as_str())
            .or_insert_with(|| (bureau, unit.clone(), Vec::new()));
        entry.2.extend(list);
    }
    for (_, (bureau, unit, list)) in by_bureau {
        let late = list.iter().any(|(_, _, l)| *l);
        // A task notified before for another day: this letter replaces that one for it, and
        // its calendar event is the same event (same UID) with a higher SEQUENCE.
        let earlier = |r: &TaskRow| -> Vec<NaiveDate> {
            let prefix = format!("advance/{}/", r.id);
            let mut days: Vec<NaiveDate> = done
                .iter()
                .filter_map(|i| i.strip_prefix(&prefix)?.parse().ok())
                .collect();
            days.sort();
            days
        };
        let replaces: Vec<Value> = list
            .iter()
            .filter_map(|(r, p, _)| {
                let before = *earlier(r).last()?;
                Some(json!({
                    "task": r.id, "entity": r.entity_name,
                    "was": chinese_date(before), "now": chinese_date(*p),
                }))
            })
            .collect();
        let items: Vec<String> = list
            .iter()
            .map(|(r, p, _)| format!("advance/{}/{p}", r.id))
            .collect();
        let rows: Vec<Value> = list
            .iter()
            .map(|(r, p, _)| {
                json!({
                    "task": r.id, "entity": r.entity_name, "uscc": r.uscc,
                    "city": dir.unit_name(&r.city), "county": Value::Null,
                    "date": chinese_date(*p), "day": p.to_string(),
                    "division": dir.division_label(&r.division),
                    "leader": dir.officer_name(&r.cadre),
                    "team_size": r.members.len() + r.partners.len(),
                })
            })
            .collect();
        let v = merge(
            vars(dir, today, plan),
            json!({
                "bureau": { "unit": unit, "name": bureau.name },
                "late": late,
                "replaces": replaces,
                "advance_notice": list[0].0.rules.advance_notice,
                "items": rows,
            }),
        );
        let r = t
            .render(Kind::AdvanceNotice, &v)
            .map_err(NoticeError::Template)?;
        let headers = [
            "序号",
            "单位名称",
            "统一社会信用代码",
            "所在地市",
            "检查日期",
            "检查处室",
            "带队处级干部",
            "检查人员人数",
        ];
        let table: Vec<Vec<String>> = list
            .iter()
            .enumerate()
            .map(|(i, (r, p, _))| {
                vec![
                    (i + 1).to_string(),
                    r.entity_name.clone(),
                    r.uscc.clone(),
                    dir.unit_name(&r.city),
                    p.to_string(),
                    dir.division_label(&r.division),
                    dir.officer_name(&r.cadre),
                    (r.members.len() + r.partners.len()).to_string(),
                ]
            })
            .collect();
        let xlsx = crate::sheet::xlsx("检查对象名单", &headers, &table)
            .map_err(|e| NoticeError::Attachment(e.to_string()))?;
        let csv = crate::sheet::csv(&headers, &table);
        let summaries: Vec<(String, String, String)> = list
            .iter()
            .map(|(r, _, _)| {
                (
                    format!("{}@suiji", r.id),
                    format!("安全生产监管执法检查：{}", r.entity_name),
                    format!(
                        "检查处室：{}；带队处级干部：{}；任务编号：{}",
                        dir.division_label(&r.division),
                        dir.officer_name(&r.cadre),
                        r.id
                    ),
                )
            })
            .collect();
        let events: Vec<ics::Event> = list
            .iter()
            .zip(&summaries)
            .map(|((r, p, _), (uid, summary, description))| ics::Event {
                uid,
                sequence: earlier(r).len(),
                day: *p,
                summary,
                description,
                location: dir.units.get(&r.city).map_or("", String::as_str),
            })
            .collect();
        // The start of the letter's day in Beijing, in UTC: never later than the letter.
        let stamp = today
            .pred_opt()
            .map_or_else(String::new, |d| format!("{}T160000Z", d.format("%Y%m%d")));
        let calendar = ics::calendar(&events, &stamp);
        let stem = format!("hangao-{unit}-{today}");
        let to = vec![bureau.clone()];
        out.notices.push(Notice {
            key: key(Kind::AdvanceNotice, &to, today, &items),
            kind: Kind::AdvanceNotice,
            to,
            cc: Vec::new(),
            subject: r.subject,
            text: r.text,
            html: r.html,
            attachments: vec![
                Attachment {
                    name: format!("检查对象名单-{}-{today}.xlsx", bureau.name),
                    ascii_name: format!("{stem}.xlsx"),
                    content_type:
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".into(),
                    data: xlsx,
                },
                Attachment {
                    name: format!("检查对象名单-{}-{today}.csv", bureau.name),
                    ascii_name: format!("{stem}.csv"),
                    content_type: "text/csv; charset=utf-8".into(),
                    data: csv,
                },
                Attachment {
                    name: format!("检查日程-{}-{today}.ics", bureau.name),
                    ascii_name: format!("{stem}.ics"),
                    content_type: "text/calendar; charset=utf-8; method=PUBLISH".into(),
                    data: calendar.into_bytes(),
                },
            ],
            items,
            late,
        });
    }
    Ok(out)
}

/// Deadlines a task still owes and that fall on a day people must act by.
fn owed_deadlines(r: &TaskRow) -> impl Iterator<Item = (Obligation, NaiveDate)> + '_ {
    r.deadlines.iter().filter_map(move |(o, due)| {
        let owed = match o {
            Obligation::Schedule => r.facts.planned.is_none(),
            Obligation::Complete => r.facts.completed.is_none(),
            Obligation::Publish => r.facts.completed.is_some() && r.facts.published.is_none(),
            Obligation::PenaltyPublish => {
                r.facts.penalty_decided.is_some() && r.facts.penalty_published.is_none()
            }
            Obligation::Notice | Obligation::PenaltyDecision => false,
        };
        (owed && r.facts.status.is_open()).then_some((*o, *due))
    })
}

/// Reminders `reminders` working days before each deadline still owed, to the responsible
/// division and to the team's cadre where an address is known: one letter per recipient a day.
/// A reminder level has come once no more than its working days are left, so a night missed
/// (downtime, a schedule that skips a 调休 Saturday) delays a reminder but never loses it; the
/// levels that came together go as one reminder, and none is sent twice.
/// Escalations when a deadline has passed, to the division with the tracking division copied:
/// one letter per division a day, each overdue item escalated once.
#[allow(clippy::too_many_arguments)]
pub fn reminders_and_escalations(
    tasks: &[TaskRow],
    plan: &PlanInfo,
    today: NaiveDate,
    done: &HashSet<String>,
    dir: &Directory,
    cal: &Calendar,
    t: &Templates,
) -> Result<Planned, NoticeError> {
    let mut reminders: BTreeMap<Mailbox, Vec<(Vec<String>, Value)>> = BTreeMap::new();
    let mut escalations: BTreeMap<String, Vec<(String, Value)>> = BTreeMap::new();
    let mut out = Planned::default();
    let mut unaddressed: HashSet<String> = HashSet::new();
    for r in tasks {
        for (o, due) in owed_deadlines(r) {
            if due >= today {
                // A deadline is only ever computed with its year's data; today's year may lack it.
                let Ok(left) = cal.working_days_between(today, due) else {
                    continue;
                };
                let come: Vec<u32> = r
                    .rules
                    .reminders
                    .iter()
                    .copied()
                    .filter(|&n| i64::from(n) >= left)
                    .collect();
                if come.is_empty() {
                    continue;
                }
                let row = json!({
                    "task": r.id, "entity": r.entity_name, "what": o.words(),
                    "due": due.to_string(), "days": left,
                });
                let mut to = Vec::new();
                match dir.division_box(&r.division) {
                    Some(m) => to.push(m),
                    None => {
                        unaddressed.insert(format!(
                            "未配置{}的收件地址：提醒未发送",
                            dir.division_label(&r.division)
                        ));
                    }
                }
                if let Some((name, Some(email))) = dir.officers.get(&r.cadre) {
                    to.push(Mailbox {
                        name: name.clone(),
                        email: email.clone(),
                    });
                }
                for m in to {
                    let items: Vec<String> = come
                        .iter()
                        .map(|n| format!("reminder/{}/{o:?}/{due}/{n}/{}", r.id, m.email))
                        .filter(|item| !done.contains(item))
                        .collect();
                    if !items.is_empty() {
                        reminders.entry(m).or_default().push((items, row.clone()));
                    }
                }
            } else {
                let item = format!("escalation/{}/{o:?}/{due}", r.id);
                if done.contains(&item) {
                    continue;
                }
                // Unknown while a year between has no holiday data: still escalated.
                let late = cal.working_days_between(due, today).ok();
                let row = json!({
                    "task": r.id, "entity": r.entity_name, "what": o.words(),
                    "due": due.to_string(), "days": late,
                    "cadre": dir.officer_name(&r.cadre),
                });
                escalations
                    .entry(r.division.clone())
                    .or_default()
                    .push((item, row));
            }
        }
    }
    let base = vars(dir, today, plan);
    for (m, list) in reminders {
        let items: Vec<String> = list.iter().flat_map(|(i, _)| i.iter().cloned()).collect();
        let rows: Vec<&Value> = list.iter().map(|(_, v)| v).collect();
        let v = merge(base.clone(), json!({ "recipient": m.name, "items": rows }));
        let r = t
            .render(Kind::Reminder, &v)
            .map_err(NoticeError::Template)?;
        let to = vec![m];
        out.notices.push(Notice {
            key: key(Kind::Reminder, &to, today, &items),
            kind: Kind::Reminder,
            to,
            cc: Vec::new(),
            subject: r.subject,
            text: r.text,
            html: r.html,
            attachments: Vec::new(),
            items,
            late: false,
        });
    }
    let tracker = dir.tracker.as_deref().and_then(|c| dir.division_box(c));
    for (division, list) in escalations {
        let Some(m) = dir.division_box(&division) else {
            unaddressed.insert(format!(
                "未配置{}的收件地址：督办通知未发送",
                dir.division_label(&division)
            ));
            continue;
        };
        let items: Vec<String> = list.iter().map(|(i, _)| i.clone()).collect();
        let rows: Vec<&Value> = list.iter().map(|(_, v)| v).collect();
        let v = merge(
            base.clone(),
            json!({
                "division": { "code": division, "label": dir.division_label(&division) },
                "tracker": tracker.as_ref().map_or("", |t| t.name.as_str()),
                "items": rows,
            }),
        );
        let r = t
            .render(Kind::Escalation, &v)
            .map_err(NoticeError::Template)?;
        let to = vec![m];
        out.notices.push(Notice {
            key: key(Kind::Escalation, &to, today, &items),
            kind: Kind::Escalation,
            to,
            cc: tracker.iter().cloned().collect(),
            subject: r.subject,
            text: r.text,
            html: r.html,
            attachments: Vec::new(),
            items,
            late: false,
        });
    }
    out.unaddressed.extend(unaddressed);
    out.unaddressed.sort();
    Ok(out)
}

/// One notice per division after the draw: its tasks, teams, deadlines, and where the draw is
/// published for verification.
#[allow(clippy::too_many_arguments)]
pub fn assignments(
    tasks: &[crate::store::NewTask],
    plan: &crate::plan::Plan,
    draw_seq: i64,
    draw_digest: &str,
    today: NaiveDate,
    dir: &Directory,
    t: &Templates,
) -> Result<Planned, NoticeError> {
    let mut by_division: BTreeMap<&str, Vec<&crate::store::NewTask>> = BTreeMap::new();
    for task in tasks {
        by_division
            .entry(task.division.as_str())
            .or_default()
            .push(task);
    }
    let mut out = Planned::default();
    let info = PlanInfo::of(plan);
    for (division, list) in by_division {
        let Some(m) = dir.division_box(division) else {
            out.unaddressed.push(format!(
                "未配置{}的收件地址：任务分派通知未发送",
                dir.division_label(division)
            ));
            continue;
        };
        let rows: Vec<Value> = list
            .iter()
            .map(|x| {
                let team: Vec<String> = x
                    .members
                    .iter()
                    .chain(&x.partners)
                    .map(|o| dir.officer_name(o))
                    .collect();
                json!({
                    "task": x.id, "entity": x.entity_name, "uscc": x.uscc,
                    "city": dir.unit_name(&x.city), "cadre": dir.officer_name(&x.cadre),
                    "team": team.join("、"),
                    "planned": x.planned.map(|p| p.to_string()),
                    "schedule_by": x.deadlines.dates.get(&Obligation::Schedule).map(|d| d.to_string()),
                    "complete_by": x.deadlines.dates.get(&Obligation::Complete).map(|d| d.to_string()),
                })
            })
            .collect();
        let v = merge(
            vars(dir, today, &info),
            json!({
                "division": { "code": division, "label": dir.division_label(division) },
                "draw": { "seq": draw_seq, "digest": draw_digest, "at": chinese_date(today),
                          "published": dir.published },
                "deadlines": { "results": plan.deadlines.results,
                               "penalties": plan.deadlines.penalties },
                "items": rows,
            }),
        );
        let r = t
            .render(Kind::Assignment, &v)
            .map_err(NoticeError::Template)?;
        let items = vec![format!("assignment/{draw_digest}/{division}")];
        let to = vec![m];
        out.notices.push(Notice {
            key: key(Kind::Assignment, &to, today, &items),
            kind: Kind::Assignment,
            to,
            cc: Vec::new(),
            subject: r.subject,
            text: r.text,
            html: r.html,
            attachments: Vec::new(),
            items,
            late: false,
        });
    }
    Ok(out)
}

/// The monthly report to the tracking division, with its spreadsheet.
pub fn monthly_report(
    report: &crate::ops::report::Report,
    xlsx: Vec<u8>,
    plan: &PlanInfo,
    today: NaiveDate,
    dir: &Directory,
    t: &Templates,
) -> Result<Planned, NoticeError> {
    use chrono::Datelike;
    let mut out = Planned::default();
    let Some(code) = dir.tracker.as_deref() else {
        return Ok(out);
    };
    let Some(m) = dir.division_box(code) else {
        out.unaddressed.push(format!(
            "未配置{}的收件地址：月度报告未发送",
            dir.division_label(code)
        ));
        return Ok(out);
    };
    let month = format!("{}年{}月", report.as_of.year(), report.as_of.month());
    let rows: Vec<Value> = report
        .divisions
        .iter()
        .map(|d| {
            let mut v = serde_json::to_value(d).unwrap_or(Value::Null);
            v["division"] = json!(dir.division_label(&d.division));
            v
        })
        .collect();
    let v = merge(
        vars(dir, today, plan),
        json!({ "recipient": m.name, "month": month, "as_of": report.as_of.to_string(),
                "rows": rows }),
    );
    let r = t
        .render(Kind::MonthlyReport, &v)
        .map_err(NoticeError::Template)?;
    let ym = report.as_of.format("%Y-%m").to_string();
    let items = vec![format!("monthly/{ym}/{}", m.email)];
    let to = vec![m];
    out.notices.push(Notice {
        key: key(Kind::MonthlyReport, &to, today, &items),
        kind: Kind::MonthlyReport,
        to,
        cc: Vec::new(),
        subject: r.subject,
        text: r.text,
        html: r.html,
        attachments: vec![Attachment {
            name: format!("{month}进度报告.xlsx"),
            ascii_name: format!("report-{ym}.xlsx"),
            content_type: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                .into(),
            data: xlsx,
        }],
        items,
        late: false,
    });
    Ok(out)
}

/// A notice to the administrators (none if no address is configured): `what` and `day` make
/// it once a day at most for the same subject.
/// An administrators' notice about `what`, once per `period` (a day, or a week for what does
/// not change from day to day).
pub fn admin(
    what: &str,
    period: &str,
    title: &str,
    lines: &[String],
    today: NaiveDate,
    dir: &Directory,
    t: &Templates,
) -> Result<Option<Notice>, NoticeError> {
    if dir.admins.is_empty() {
        return Ok(None);
    }
    let v = json!({
        "department": dir.department, "date": chinese_date(today), "contact": dir.contact,
        "plan": { "id": "", "year": 0, "title": "" },
        "title": title, "lines": lines,
    });
    let r = t.render(Kind::Admin, &v).map_err(NoticeError::Template)?;
    let items = vec![format!("admin/{what}/{period}")];
    Ok(Some(Notice {
        key: key(Kind::Admin, &dir.admins, today, &items),
        kind: Kind::Admin,
        to: dir.admins.clone(),
        cc: Vec::new(),
        subject: r.subject,
        text: r.text,
        html: r.html,
        attachments: Vec::new(),
        items,
        late: false,
    }))
}

/// A witness's letter about entry `r.n` of a plan's history, with the receipt attached: once
/// per entry, head and address (a rewritten entry would make a new letter).
pub fn witness(
    r: &crate::publish::witness::Receipt,
    to: &Mailbox,
    today: NaiveDate,
    dir: &Directory,
    t: &Templates,
) -> Result<Notice, NoticeError> {
    use crate::publish::EventKind;
    let event = match r.event {
        EventKind::Freeze => "冻结抽取输入并公布",
        EventKind::Refreeze => "重新冻结抽取输入",
        EventKind::Draw => "正式抽取",
        EventKind::Void => "作废抽取结果",
        EventKind::Takedown => "公示期满撤下结果",
    };
    let v = json!({
        "department": dir.department, "date": chinese_date(today), "contact": dir.contact,
        "plan": { "id": r.plan, "year": r.year, "title": "" },
        "n": r.n, "event": event, "at": r.at, "file": r.file, "sha256": r.sha256,
        "audit": r.audit, "head": r.head, "published": dir.published,
    });
    let rendered = t.render(Kind::Witness, &v).map_err(NoticeError::Template)?;
    let name = format!("witness-{}-{}-{}.json", r.plan, r.year, r.n);
    let data = crate::draw::canonical(r).map_err(|e| NoticeError::Attachment(e.to_string()))?;
    Ok(Notice {
        key: format!(
            "{}/{}/{}/{}/{}/{}",
            Kind::Witness.name(),
            r.plan,
            r.year,
            r.n,
            &r.head[..16.min(r.head.len())],
            to.email
        ),
        kind: Kind::Witness,
        to: vec![to.clone()],
        cc: Vec::new(),
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
        attachments: vec![Attachment {
            ascii_name: name.clone(),
            name,
            content_type: "application/json".into(),
            data,
        }],
        items: Vec::new(),
        late: false,
    })
}

#[derive(Debug, thiserror::Error)]
pub enum NoticeError {
    #[error("notice template: {0}")]
    Template(String),
    #[error("notice attachment: {0}")]
    Attachment(String),
    #[error(transparent)]
    Calendar(#[from] CalendarError),
}

#[cfg(test)]
mod tests;
