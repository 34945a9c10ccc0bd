//! Properties of the task lifecycle over random sequences of commands with random dates, run in
//! process against a real SQLite database on a simulated clock: whatever is recorded, refused or
//! replaced, the per-officer cap of the draw holds, no task is archived while it owes anything,
//! a month's report computed when the month ended is identical after every later fact, and
//! today's report added up in SQL equals the fold of the facts.

use std::collections::{BTreeMap, HashMap};

use chrono::{Duration, NaiveDate, TimeZone};
use chrono_tz::Asia::Shanghai;

use suiji::clock::SimClock;
use suiji::config::{DatabaseUrl, Settings};
use suiji::import::Kind;
use suiji::lifecycle::{Event, Field, Outcome, Status};
use suiji::ops::{self, Ctx, OpsError};
use suiji::store::{Store, TaskFilter};

/// SplitMix64: a seed means the same sequence on every machine and version.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn days(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }
}

const CAP: usize = 8;
const STEPS: usize = 600;

fn at(day: NaiveDate, hour: u32) -> chrono::DateTime<chrono_tz::Tz> {
    Shanghai
        .from_local_datetime(&day.and_hms_opt(hour, 0, 0).expect("time"))
        .single()
        .expect("Beijing has no DST")
}

fn month_of(day: NaiveDate) -> NaiveDate {
    day.with_day0(0).expect("first of month")
}

use chrono::Datelike;

async fn story(seed: u64) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut settings = Settings::shipped().expect("settings");
    settings.database.url =
        DatabaseUrl::new(format!("sqlite://{}", dir.path().join("p.db").display()));
    settings.public.dir = dir.path().join("public");
    let store = Store::open(&settings.database.url, &settings.database)
        .await
        .expect("store");
    store
        .create_as(suiji::store::Mode::Rehearsal, "property")
        .await
        .expect("a rehearsal store");
    let start = NaiveDate::from_ymd_opt(2024, 5, 13).expect("date");
    let clock = SimClock::new(at(start, 9));
    let ctx = Ctx {
        store: &store,
        settings: &settings,
        clock: &clock,
        actor: "property",
    };
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/henan");
    for kind in Kind::ALL {
        let file = demo.join(format!("{}.csv", kind.name()));
        let r = ops::import::import_file(&ctx, kind, &file, None, false, &ops::import::Silent)
            .await
            .expect("import");
        assert!(r.problems.is_empty(), "{:?}", r.problems);
    }
    let plan = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/henan-2024.rhai");
    ops::draw::freeze(&ctx, ops::plan::Script::File(Some(&plan)), None)
        .await
        .expect("freeze");
    clock.advance_to(at(NaiveDate::from_ymd_opt(2024, 5, 16).expect("date"), 22));
    let seed_input = ops::draw::SeedInput {
        value: Some(suiji::daemon::demo::DEMO_SEED.into()),
        beacon_signature: None,
    };
    ops::draw::draw_official(&ctx, ops::plan::Script::File(Some(&plan)), seed_input)
        .await
        .expect("draw");

    let mut rng = Rng(seed);
    let mut day = NaiveDate::from_ymd_opt(2024, 5, 17).expect("date");
    let mut hour = 9;
    let mut months: BTreeMap<NaiveDate, serde_json::Value> = BTreeMap::new();
    let (mut recorded, mut refused) = (0, 0);
    for step in 0..STEPS {
        // Time moves on; when a month ends, its report is taken as it stood.
        if rng.below(4) == 0 {
            let next = day + Duration::days(rng.days(1, 3));
            if month_of(next) != month_of(day) {
                clock.advance_to(at(month_of(next), 8));
                let r = ops::report::report(&ctx, Some(month_of(day)), false)
                    .await
                    .expect("report");
                months.insert(
                    month_of(day),
                    serde_json::to_value(&r.divisions).expect("json"),
                );
            }
            day = next;
            hour = 9;
        }
        hour = (hour + 1).min(20);
        clock.advance_to(at(day, hour));
        if day > NaiveDate::from_ymd_opt(2024, 12, 31).expect("date") {
            break;
        }
        let tasks = store.tasks(&TaskFilter::default()).await.expect("tasks");
        let task = &tasks[rng.below(tasks.len() as u64) as usize];
        let id = task.id.clone();
        let date = |rng: &mut Rng, lo: i64, hi: i64| day + Duration::days(rng.days(lo, hi));
        let outcome = |rng: &mut Rng| match rng.below(3) {
            0 => Outcome::NoIssues,
            1 => Outcome::IssuesFound,
            _ => Outcome::Penalty,
        };
        // Mostly the task's natural next step, sometimes anything at all.
        let f = &task.facts;
        let penalty_owed = f.outcome == Some(Outcome::Penalty) && f.penalty_published.is_none();
        let natural = match f.status {
            Status::Drawn | Status::Scheduled if rng.below(4) == 0 => 9,
            Status::Drawn => 0,
            Status::Scheduled => 2,
            Status::Completed if penalty_owed && rng.below(2) == 0 => 5,
            Status::Completed => 4,
            Status::Published if penalty_owed => 5,
            _ => 7,
        };
        let choice = if rng.below(3) < 2 {
            natural
        } else {
            rng.below(10)
        };
        let result: Result<(), OpsError> = match choice {
            0 | 1 => {
                let d = date(&mut rng, -15, 40);
                ops::task::transition(&ctx, &id, Event::Schedule(d))
                    .await
                    .map(drop)
            }
            2 | 3 => {
                let e = Event::Complete(date(&mut rng, -8, 0), outcome(&mut rng));
                ops::task::transition(&ctx, &id, e).await.map(drop)
            }
            4 => {
                let d = date(&mut rng, -6, 0);
                ops::task::transition(&ctx, &id, Event::Publish(d, None))
                    .await
                    .map(drop)
            }
            5 => {
                let d = date(&mut rng, -6, 0);
                let e = if rng.below(2) == 0 {
                    Event::PenaltyDecided(d)
                } else {
                    Event::PenaltyPublished(d)
                };
                ops::task::transition(&ctx, &id, e).await.map(drop)
            }
            6 => {
                let d = date(&mut rng, -6, 0);
                ops::task::transition(&ctx, &id, Event::Refer(d))
                    .await
                    .map(drop)
            }
            7 => ops::task::transition(&ctx, &id, Event::Archive)
                .await
                .map(drop),
            8 => {
                let e = Event::Correct(Field::Outcome(outcome(&mut rng)), "复核更正".into());
                ops::task::transition(&ctx, &id, e).await.map(drop)
            }
            _ => ops::task::replace(&ctx, &id, "企业已关闭").await.map(drop),
        };
        match result {
            Ok(()) => recorded += 1,
            Err(OpsError::Invalid(_) | OpsError::Refused(_)) => refused += 1,
            Err(e) => panic!("seed {seed} step {step}: {e}"),
        }

        // Today's report, added up by the database from the tasks' rows, is the fold of
        // their facts.
        if step % 20 == 0 {
            let summed = ops::report::report(&ctx, None, false)
                .await
                .expect("report");
            let folded = ops::report::folded(&ctx, day, false).await.expect("folded");
            assert_eq!(
                summed.divisions, folded.divisions,
                "seed {seed} step {step}: SQL counts differ from the fold on {day}"
            );
        }

        // The cap holds over every task the draw ever had.
        let tasks = store.tasks(&TaskFilter::default()).await.expect("tasks");
        let mut load: HashMap<&str, usize> = HashMap::new();
        for t in &tasks {
            for o in t.members.iter().chain(&t.partners) {
                *load.entry(o).or_insert(0) += 1;
            }
        }
        if let Some((o, n)) = load.iter().find(|(_, n)| **n > CAP) {
            panic!("seed {seed} step {step}: officer {o} holds {n} > {CAP}");
        }
        // Nothing archived owes anything.
        for t in tasks.iter().filter(|t| t.facts.status == Status::Archived) {
            let f = &t.facts;
            let owes = f.published.is_none()
                || (f.outcome == Some(Outcome::Penalty)
                    && (f.penalty_decided.is_none() || f.penalty_published.is_none()))
                || (f.penalty_decided.is_some() && f.penalty_published.is_none());
            assert!(
                !owes,
                "seed {seed} step {step}: archived while owing: {f:?}"
            );
        }
    }
    assert!(
        recorded > 150,
        "seed {seed}: only {recorded} facts recorded"
    );
    assert!(refused > 50, "seed {seed}: only {refused} refusals");
    assert!(months.len() >= 3, "seed {seed}: {} months", months.len());
    let tasks = store.tasks(&TaskFilter::default()).await.expect("tasks");
    let count = |s: Status| tasks.iter().filter(|t| t.facts.status == s).count();
    assert!(
        count(Status::Archived) > 0 && count(Status::Replaced) > 0,
        "seed {seed}: the sequence archived {} and replaced {} tasks",
        count(Status::Archived),
        count(Status::Replaced)
    );
    // Every month's report, taken when it ended, is identical now that later facts exist.
    for (month, then) in &months {
        let now = ops::report::report(&ctx, Some(*month), false)
            .await
            .expect("report");
        assert_eq!(
            &serde_json::to_value(&now.divisions).expect("json"),
            then,
            "seed {seed}: the report of {month} changed"
        );
    }
    eprintln!(
        "seed {seed}: {recorded} facts recorded, {refused} refused, {} months reported",
        months.len()
    );
    store.close().await;
}

#[test]
fn lifecycle_properties() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    for seed in [1, 2, 3] {
        rt.block_on(story(seed));
    }
}
