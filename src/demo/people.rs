//! The demo year's people: the divisions that inspect the drawn firms and record what they did,
//! so that a newcomer's rehearsed year shows what a real one holds (函告 for dates set and
//! moved, results published on time and late, reminders and escalations, a penalty, a
//! replacement, a task nobody did). A pure function of the tasks as they stand and the day:
//! the same draw gives the same year on any machine. Nothing here does IO; the daemon's
//! rehearsal records what it returns through `ops`, as a division's clerk would.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::calendar::Calendar;
use crate::lifecycle::{Event, Obligation, Outcome, Status};
use crate::store::TaskRow;

/// How a division deals with one drawn task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Persona {
    /// Inspects on the planned day and publishes within the deadline.
    Diligent,
    /// Moves the planned date once, a week before it (a second 函告 goes out).
    Moves,
    /// Publishes the results a few working days after their deadline (reminders, then an
    /// escalation, then a late publication on the site).
    Late,
    /// Finds violations: the results, then a penalty decision and its publication.
    Penalty,
    /// The firm has closed: the task is replaced by the stratum's next alternate.
    Closed,
    /// Never inspects: the task goes overdue at the window's end.
    Absent,
}

/// One thing a division records on a day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Act {
    Event(Event),
    /// The firm is closed: replace the task, for this reason.
    Replace(String),
}

/// An act on a task, by its division.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deed {
    pub task: String,
    pub division: String,
    pub act: Act,
}

/// Who does what, fixed by the draw: the official draw's tasks in id order take the personas
/// at fixed ranks, so every demo year has each kind; a replacement task is diligent.
fn persona(rank: usize) -> Persona {
    match rank {
        2 => Persona::Closed,
        7 => Persona::Penalty,
        71 => Persona::Absent,
        r if r % 12 == 5 => Persona::Late,
        r if r % 9 == 4 => Persona::Moves,
        _ => Persona::Diligent,
    }
}

fn cast(tasks: &[TaskRow]) -> BTreeMap<&str, Persona> {
    let Some(first) = tasks.iter().map(|t| t.facts.drawn_on).min() else {
        return BTreeMap::new();
    };
    let mut drawn: Vec<&str> = tasks
        .iter()
        .filter(|t| t.facts.drawn_on == first)
        .map(|t| t.id.as_str())
        .collect();
    drawn.sort_unstable();
    drawn
        .into_iter()
        .enumerate()
        .map(|(rank, id)| (id, persona(rank)))
        .collect()
}

/// A small number from a task's id (FNV-1a): how many days a diligent division takes, and
/// whether it found anything. Stable across versions, unlike std's hasher.
fn spread(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// What the divisions record on `today` (a working day; none on others), at most one act per
/// task, given the tasks of the year as they stand.
pub fn deeds(tasks: &[TaskRow], today: NaiveDate, cal: &Calendar) -> Vec<Deed> {
    if !cal.is_working_day(today).unwrap_or(false) {
        return Vec::new();
    }
    let cast = cast(tasks);
    tasks
        .iter()
        .filter(|t| t.facts.status.is_open())
        .filter_map(|t| {
            let who = cast
                .get(t.id.as_str())
                .copied()
                .unwrap_or(Persona::Diligent);
            act(t, who, today, cal).map(|act| Deed {
                task: t.id.clone(),
                division: t.division.clone(),
                act,
            })
        })
        .collect()
}

/// `n` working days after `day` (none where the calendar has no data).
fn after(cal: &Calendar, day: NaiveDate, n: i64) -> Option<NaiveDate> {
    cal.add_working_days(day, n).ok()
}

fn act(t: &TaskRow, who: Persona, today: NaiveDate, cal: &Calendar) -> Option<Act> {
    let f = &t.facts;
    let reached = |day: Option<NaiveDate>| day.is_some_and(|d| today >= d);
    if who == Persona::Closed {
        return reached(after(cal, f.drawn_on, 3))
            .then(|| Act::Replace("企业已注销（演示数据）".into()));
    }
    let h = spread(&t.id);
    match f.status {
        Status::Drawn => reached(after(cal, f.drawn_on, 2))
            .then(|| after(cal, today, 10))
            .flatten()
            .filter(|d| *d <= f.window.end)
            .map(|d| Act::Event(Event::Schedule(d))),
        Status::Scheduled => {
            let planned = f.planned?;
            let moved = f.scheduled_on.is_some_and(|s| s > f.drawn_on);
            if who == Persona::Moves && !moved && reached(after(cal, planned, -5)) {
                return after(cal, planned, 15)
                    .filter(|d| *d <= f.window.end)
                    .map(|d| Act::Event(Event::Schedule(d)));
            }
            let outcome = match who {
                Persona::Penalty => Outcome::Penalty,
                _ if h.is_multiple_of(4) => Outcome::IssuesFound,
                _ => Outcome::NoIssues,
            };
            (who != Persona::Absent && today >= planned)
                .then_some(Act::Event(Event::Complete(today, outcome)))
        }
        Status::Completed | Status::Published => {
            let done = f.completed?;
            if f.published.is_none() {
                let day = match who {
                    Persona::Late => after(cal, *t.deadlines.get(&Obligation::Publish)?, 3),
                    Persona::Penalty => after(cal, done, 2),
                    _ => after(cal, done, 1 + i64::try_from(h % 4).ok()?),
                };
                if reached(day) {
                    return Some(Act::Event(Event::Publish(today, None)));
                }
            }
            if who != Persona::Penalty {
                return None;
            }
            match (f.penalty_decided, f.penalty_published) {
                (None, _) => {
                    reached(after(cal, done, 4)).then_some(Act::Event(Event::PenaltyDecided(today)))
                }
                (Some(decided), None) => reached(after(cal, decided, 5))
                    .then_some(Act::Event(Event::PenaltyPublished(today))),
                _ => None,
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::{self, Facts};
    use crate::plan::{Deadlines, Window};

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    fn task(n: usize, drawn_on: NaiveDate, planned: NaiveDate, cal: &Calendar) -> TaskRow {
        let rules = Deadlines {
            results: 5,
            penalties: 7,
            advance_notice: 3,
            schedule_within: 20,
            reminders: vec![2, 1],
            propose_dates: true,
        };
        let window = Window {
            start: d("2024-01-01"),
            end: d("2024-12-31"),
        };
        let facts = lifecycle::apply(
            &Facts::drawn(drawn_on, window),
            &Event::Schedule(planned),
            drawn_on,
            cal,
        )
        .expect("proposed date");
        TaskRow {
            id: format!("p-t-{n:03}"),
            draw_id: 1,
            plan_id: "p".into(),
            year: 2024,
            task_rule: "t".into(),
            stratum: "t/all".into(),
            position: i64::try_from(n).expect("small"),
            uscc: format!("u{n}"),
            entity_name: String::new(),
            city: String::new(),
            division: "处".into(),
            cadre: String::new(),
            members: Vec::new(),
            partners: Vec::new(),
            items: Vec::new(),
            deadlines: lifecycle::deadlines(&facts, &rules, cal)
                .expect("deadlines")
                .dates,
            facts,
            pending: Default::default(),
            next_due: None,
            replaced_by: None,
            replace_reason: None,
            rules,
            created_at: String::new(),
        }
    }

    /// A draw of 74 walked through the year day by day, each deed applied as `ops` would:
    /// every deed is one the lifecycle accepts on its day, and the year ends with what the
    /// demo promises (one replaced, one never inspected, one penalty published, late and
    /// on-time results, moved dates), the same on every run.
    #[test]
    fn a_year_of_deeds_the_lifecycle_accepts() {
        let cal = Calendar::shipped().expect("calendar");
        let drawn = d("2024-05-16");
        let mut tasks: Vec<TaskRow> = (1..=74)
            .map(|n| {
                let planned = cal
                    .add_working_days(drawn, 4 + i64::try_from(n % 15).expect("small"))
                    .expect("day");
                task(n, drawn, planned, &cal)
            })
            .collect();
        let (mut moved, mut replaced, mut late) = (0, 0, 0);
        let mut day = drawn;
        while day <= d("2025-01-10") {
            for deed in deeds(&tasks, day, &cal) {
                let t = tasks
                    .iter_mut()
                    .find(|t| t.id == deed.task)
                    .expect("a listed task");
                let event = match deed.act {
                    Act::Event(e) => e,
                    // `ops::task::replace` closes the task (its alternate is a new task).
                    Act::Replace(_) => {
                        replaced += 1;
                        t.facts.replaced_on = Some(day);
                        t.facts.status = Status::Replaced;
                        continue;
                    }
                };
                if matches!(event, Event::Schedule(_)) {
                    moved += 1;
                }
                t.facts = lifecycle::apply(&t.facts, &event, day, &cal)
                    .unwrap_or_else(|e| panic!("{day} {} {event:?}: {e}", t.id));
                t.deadlines = lifecycle::deadlines(&t.facts, &t.rules, &cal)
                    .expect("deadlines")
                    .dates;
                if let Event::Publish(on, _) = event {
                    let due = t.deadlines.get(&Obligation::Publish).copied();
                    late += usize::from(due.is_some_and(|due| on > due));
                }
            }
            day = day.succ_opt().expect("day");
        }
        let count = |s: Status| tasks.iter().filter(|t| t.facts.status == s).count();
        assert_eq!(replaced, 1);
        assert_eq!(count(Status::Replaced), 1);
        assert_eq!(count(Status::Scheduled), 1, "one never inspected");
        assert_eq!(count(Status::Published), 72);
        assert!(moved >= 5, "{moved} dates moved");
        assert_eq!(late, 6);
        let penalty: Vec<_> = tasks
            .iter()
            .filter(|t| t.facts.outcome == Some(Outcome::Penalty))
            .collect();
        assert_eq!(penalty.len(), 1);
        assert!(penalty[0].facts.penalty_published.is_some());
    }

    #[test]
    fn every_persona_is_cast_in_a_draw_of_the_demo_size() {
        let ranks: Vec<Persona> = (0..74).map(persona).collect();
        for p in [
            Persona::Closed,
            Persona::Penalty,
            Persona::Absent,
            Persona::Late,
            Persona::Moves,
            Persona::Diligent,
        ] {
            assert!(ranks.contains(&p), "{p:?}");
        }
        assert_eq!(ranks.iter().filter(|p| **p == Persona::Penalty).count(), 1);
        assert_eq!(ranks.iter().filter(|p| **p == Persona::Closed).count(), 1);
    }

    #[test]
    fn the_spread_is_fnv1a() {
        // FNV-1a 64 of "a" (the published test vector).
        assert_eq!(spread("a"), 0xaf63_dc4c_8601_ec8c);
    }
}
