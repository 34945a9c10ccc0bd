use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::NaiveDate;

use super::*;
use crate::lifecycle::{Facts, Obligation, Outcome};
use crate::plan::{Deadlines, Window};

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("a date")
}

/// A task completed on 3 July 2024 whose results are due on Wednesday 10 July.
fn completed_task() -> TaskRow {
    let window = Window {
        start: day("2024-05-20"),
        end: day("2024-12-31"),
    };
    let mut facts = Facts::drawn(day("2024-05-16"), window);
    facts.planned = Some(day("2024-07-03"));
    facts.completed = Some(day("2024-07-03"));
    facts.outcome = Some(Outcome::IssuesFound);
    facts.status = crate::lifecycle::Status::Completed;
    TaskRow {
        id: "t-001".into(),
        draw_id: 1,
        plan_id: "p".into(),
        year: 2024,
        task_rule: "t".into(),
        stratum: "t".into(),
        position: 0,
        uscc: "91410100000000000X".into(),
        entity_name: "某化工有限公司".into(),
        city: "4101".into(),
        division: "hazchem".into(),
        cadre: "o1".into(),
        members: vec!["o1".into(), "o2".into()],
        partners: Vec::new(),
        items: Vec::new(),
        facts,
        deadlines: BTreeMap::from([(Obligation::Publish, day("2024-07-10"))]),
        pending: BTreeSet::new(),
        next_due: Some(day("2024-07-10")),
        replaced_by: None,
        replace_reason: None,
        rules: Deadlines {
            results: 5,
            penalties: 7,
            advance_notice: 3,
            schedule_within: 20,
            reminders: vec![2, 1],
            propose_dates: false,
        },
        created_at: "2024-05-16T21:30:00.000+08:00".into(),
    }
}

fn plan() -> PlanInfo {
    PlanInfo {
        id: "p".into(),
        year: 2024,
        title: "计划".into(),
    }
}

fn reminders_on(today: &str, done: &HashSet<String>) -> Vec<Notice> {
    let dir = Directory {
        divisions: HashMap::from([(
            "hazchem".to_string(),
            (
                "危险化学品监督管理处".to_string(),
                Some("hazchem@example.gov.cn".to_string()),
            ),
        )]),
        ..Directory::default()
    };
    reminders_and_escalations(
        &[completed_task()],
        &plan(),
        day(today),
        done,
        &dir,
        &crate::calendar::Calendar::shipped().expect("calendar"),
        &templates::Templates::shipped(),
    )
    .expect("notices")
    .notices
    .into_iter()
    .filter(|n| n.kind == Kind::Reminder)
    .collect()
}

/// Each level goes on its night; a night missed delays a reminder to the next one that runs
/// (the levels that came together in one letter), and nothing is reminded twice.
#[test]
fn a_missed_night_delays_a_reminder_but_never_loses_it() {
    let none = HashSet::new();
    assert!(
        reminders_on("2024-07-05", &none).is_empty(),
        "3 working days left"
    );
    let on_time = reminders_on("2024-07-08", &none);
    assert_eq!(on_time.len(), 1);
    assert_eq!(on_time[0].items.len(), 1, "{:?}", on_time[0].items);
    assert!(on_time[0].items[0].ends_with("/2/hazchem@example.gov.cn"));
    let sent: HashSet<String> = on_time[0].items.iter().cloned().collect();
    let next = reminders_on("2024-07-09", &sent);
    assert_eq!(next.len(), 1);
    assert!(next[0].items[0].ends_with("/1/hazchem@example.gov.cn"));

    // The night of 8 July missed: on the 9th one letter covers both levels; after it, and on
    // the deadline itself, nothing more.
    let caught_up = reminders_on("2024-07-09", &none);
    assert_eq!(caught_up.len(), 1);
    assert_eq!(caught_up[0].items.len(), 2, "{:?}", caught_up[0].items);
    let all: HashSet<String> = caught_up[0].items.iter().cloned().collect();
    assert!(reminders_on("2024-07-09", &all).is_empty());
    assert!(reminders_on("2024-07-10", &all).is_empty());
    // Both nights missed: on the deadline day itself, still reminded once.
    let last_day = reminders_on("2024-07-10", &none);
    assert_eq!(last_day.len(), 1);
    assert_eq!(last_day[0].items.len(), 2);
}

/// Two tasks planned for 12 July 2024: one in 郑州 (4101) and one in 航空港区 (410173), whose
/// only bureau is 郑州's; the second was notified before for 11 July.
fn advance_on(done: &HashSet<String>) -> Vec<Notice> {
    let planned = |id: &str, city: &str| {
        let mut t = completed_task();
        t.id = id.into();
        t.city = city.into();
        t.facts.completed = None;
        t.facts.outcome = None;
        t.facts.status = crate::lifecycle::Status::Scheduled;
        t.facts.planned = Some(day("2024-07-12"));
        t
    };
    let zhengzhou = Mailbox {
        name: "郑州市应急管理局".into(),
        email: "zz@example.gov.cn".into(),
    };
    let dir = Directory {
        bureaus: HashMap::from([("4101".to_string(), zhengzhou)]),
        ..Directory::default()
    };
    advance_notices(
        &[planned("t-1", "4101"), planned("t-2", "410173")],
        &plan(),
        day("2024-07-09"),
        done,
        &dir,
        &crate::calendar::Calendar::shipped().expect("calendar"),
        &templates::Templates::shipped(),
    )
    .expect("notices")
    .notices
}

/// One 函告 per bureau, whatever units it answers for; a task notified before for another day
/// is named as replaced (original and new date), and its calendar event keeps its UID with a
/// higher SEQUENCE so that calendars move it.
#[test]
fn one_letter_per_bureau_and_replacements_say_so() {
    let first = advance_on(&HashSet::new());
    assert_eq!(first.len(), 1, "郑州 and 航空港区: one letter");
    assert_eq!(first[0].items.len(), 2);
    assert!(!first[0].subject.contains("更正"), "{}", first[0].subject);
    let moved: HashSet<String> = ["advance/t-2/2024-07-11".to_string()].into();
    let letters = advance_on(&moved);
    assert_eq!(letters.len(), 1);
    let l = &letters[0];
    assert!(l.subject.contains("【更正】"), "{}", l.subject);
    assert!(
        l.text.contains("原定2024年7月11日，改为2024年7月12日"),
        "{}",
        l.text
    );
    let ics = l
        .attachments
        .iter()
        .find(|a| a.ascii_name.ends_with(".ics"))
        .expect("calendar");
    let ics = String::from_utf8(ics.data.clone()).expect("utf-8");
    assert!(
        ics.contains("UID:t-2@suiji\r\nDTSTAMP:20240708T160000Z\r\nSEQUENCE:1\r\n"),
        "{ics}"
    );
    assert!(
        ics.contains("UID:t-1@suiji\r\nDTSTAMP:20240708T160000Z\r\nSEQUENCE:0\r\n"),
        "{ics}"
    );
}
