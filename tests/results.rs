//! Correct official results, through the real binary on the demo year: the per-officer cap
//! holds across every task a draw ever had, a month's report is the state at its end as it was
//! known then (and never changes afterwards), no legal deadline is lost by archiving, officers'
//! certificates are checked on the day a team is formed, and only completed inspections count
//! for next year's look-back.

mod common;

use std::collections::HashMap;

use common::{TestDb, on, refused, repo};
use serde_json::Value;

/// The per-officer cap of the plan `cap_counts_every_task` draws with: one the demo draw
/// reaches (with the shipped plan's 8, nobody is given more than 7). A change to the plan's
/// text changes the draw; pick the cap the new draw reaches.
const CAP: usize = 7;

fn demo(db: &TestDb, dir: &std::path::Path) {
    demo_with(db, dir, &common::plan_without_proposals(db.path()));
}

fn demo_with(db: &TestDb, dir: &std::path::Path, plan: &str) {
    db.json(&[
        "demo",
        "run",
        "--dir",
        dir.to_str().expect("utf-8"),
        "--plan",
        plan,
        "--until",
        "2024-05-17 00:00",
        "--json",
    ]);
}

fn tasks(db: &TestDb) -> Vec<Value> {
    db.json(&["task", "list", "--json"])
        .as_array()
        .cloned()
        .expect("tasks")
}

/// Assignments per officer over every task of the official draw, whatever its status.
fn loads(tasks: &[Value]) -> HashMap<String, usize> {
    let mut load = HashMap::new();
    for t in tasks.iter().filter(|t| t["facts"]["status"] != "voided") {
        for o in t["members"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(t["partners"].as_array().into_iter().flatten())
        {
            *load
                .entry(o.as_str().unwrap_or("").to_string())
                .or_insert(0) += 1;
        }
    }
    load
}

/// Takes a task through to archived on the given days.
fn archive(db: &TestDb, id: &str) {
    on(
        db,
        "2024-06-03",
        &["task", "schedule", id, "--date", "2024-06-03"],
    );
    on(
        db,
        "2024-06-03",
        &[
            "task",
            "complete",
            id,
            "--date",
            "2024-06-03",
            "--outcome",
            "no-issues",
        ],
    );
    on(
        db,
        "2024-06-05",
        &["task", "publish", id, "--date", "2024-06-05"],
    );
    on(db, "2024-06-05", &["task", "archive", id]);
}

/// An officer at the cap whose inspection is archived stays at the cap: replacements never
/// give them a ninth. (Before, archived tasks dropped out of the count.)
fn cap_counts_every_task(db: &TestDb) {
    let text = std::fs::read_to_string(common::plan_without_proposals(db.path())).expect("plan");
    assert!(text.contains("cap_per_officer: 8,"));
    let plan = db.path().join("capped.rhai");
    std::fs::write(
        &plan,
        text.replace("cap_per_officer: 8,", &format!("cap_per_officer: {CAP},")),
    )
    .expect("write plan");
    demo_with(db, &repo("examples/henan"), plan.to_str().expect("utf-8"));
    let all = tasks(db);
    let load = loads(&all);
    let stratum_size = |t: &Value| all.iter().filter(|u| u["stratum"] == t["stratum"]).count();
    let member = |t: &Value, o: &str| {
        t["members"]
            .as_array()
            .is_some_and(|m| m.contains(&Value::from(o)))
    };
    // Of the officers at the cap, the one with a task in the largest stratum: its other tasks
    // are replaced below, from alternates the cap may refuse.
    let (busiest, n) = load
        .iter()
        .max_by_key(|(o, n)| {
            let widest = all.iter().filter(|t| member(t, o)).map(stratum_size).max();
            (**n, widest, o.to_string())
        })
        .map(|(o, n)| (o.clone(), *n))
        .expect("officers");
    assert_eq!(n, CAP, "the demo draw fills someone to the cap of {CAP}");
    let mut theirs: Vec<&Value> = all.iter().filter(|t| member(t, &busiest)).collect();
    theirs.sort_by_key(|t| std::cmp::Reverse(stratum_size(t)));
    archive(db, theirs[0]["id"].as_str().expect("id"));
    // Replace every other task of the same strata as long as alternates last.
    let stratum = theirs[0]["stratum"].as_str().expect("stratum").to_string();
    let others: Vec<String> = all
        .iter()
        .filter(|t| t["stratum"] == stratum.as_str() && t["id"] != theirs[0]["id"])
        .filter_map(|t| t["id"].as_str().map(String::from))
        .collect();
    let mut replaced = 0;
    for id in others.iter().take(6) {
        let out = db.suiji(&[
            "--today",
            "2024-06-06",
            "task",
            "replace",
            id,
            "--reason",
            "企业已关闭",
        ]);
        if out.status.success() {
            replaced += 1;
        } else {
            // Refused only because every cadre left is at the cap.
            let said = String::from_utf8_lossy(&out.stderr);
            assert!(
                said.contains("no responsible 处级 cadre") && said.contains(" cap"),
                "{id}: {said}"
            );
        }
    }
    assert!(replaced >= 2, "replacements made: {replaced} in {stratum}");
    let after = loads(&tasks(db));
    let over: Vec<_> = after.iter().filter(|(_, n)| **n > CAP).collect();
    assert!(over.is_empty(), "over the cap of {CAP}: {over:?}");
    assert_eq!(after[&busiest], CAP);
}

on_both_backends!(cap_counts_every_task);

fn report(db: &TestDb, today: &str, month: &str, revised: bool) -> Value {
    let mut args = vec!["report", "--month", month];
    if revised {
        args.push("--revised");
    }
    on(db, today, &args)
}

fn division<'a>(report: &'a Value, code: &str) -> &'a Value {
    report["divisions"]
        .as_array()
        .and_then(|d| d.iter().find(|x| x["division"] == code))
        .unwrap_or(&Value::Null)
}

/// A month's report is the state at its end as known then: nothing drawn before the draw,
/// schedulings and replacements of July not in June, an archived task still overdue in the
/// month it was, and entering later facts never changes it (`--revised` shows what was
/// learnt since).
fn reports_as_they_stood(db: &TestDb) {
    demo(db, &repo("examples/henan"));
    let april = report(db, "2024-07-01", "2024-04", false);
    assert_eq!(
        april["divisions"],
        Value::Array(vec![]),
        "drawn on 16 May: {april}"
    );
    let may = report(db, "2024-07-01", "2024-05", false);
    assert_eq!(division(&may, "training")["drawn"], 20);

    // June: two inspections; one published on time, one completed and still unpublished at
    // the month's end (overdue then), published and archived in July.
    let t1 = "henan-2024-training-001";
    let t2 = "henan-2024-training-002";
    archive(db, t1);
    on(
        db,
        "2024-06-14",
        &["task", "schedule", t2, "--date", "2024-06-17"],
    );
    // Entered by an actor whose name holds quotes and a backslash: the fold reads facts
    // packed as JSON by the database, and must read them back intact.
    on(
        db,
        "2024-06-17",
        &[
            "--actor",
            r#"王"科长" \ o'brien"#,
            "task",
            "complete",
            t2,
            "--date",
            "2024-06-17",
            "--outcome",
            "issues-found",
        ],
    );
    let june = report(db, "2024-07-01", "2024-06", false);
    let training = division(&june, "training").clone();
    assert_eq!(training["completed"], 2);
    assert_eq!(training["published_on_time"], 1);
    // 17 June + 5 working days = 24 June: unpublished on 30 June. (Every other task is late
    // to schedule by then as well: 20 working days from 16 May.)
    assert_eq!(training["overdue"], 19, "{training}");

    // July: the overdue result published late and archived; a scheduling; a replacement; a
    // June completion entered late; a correction of June's outcome.
    on(
        db,
        "2024-07-02",
        &["task", "publish", t2, "--date", "2024-07-02"],
    );
    on(db, "2024-07-02", &["task", "archive", t2]);
    on(
        db,
        "2024-07-03",
        &[
            "task",
            "schedule",
            "henan-2024-training-003",
            "--date",
            "2024-07-15",
        ],
    );
    on(
        db,
        "2024-07-04",
        &[
            "task",
            "replace",
            "henan-2024-training-004",
            "--reason",
            "机构已注销",
        ],
    );
    on(
        db,
        "2024-07-05",
        &[
            "task",
            "schedule",
            "henan-2024-training-005",
            "--date",
            "2024-06-20",
        ],
    );
    on(
        db,
        "2024-07-05",
        &[
            "task",
            "complete",
            "henan-2024-training-005",
            "--date",
            "2024-06-20",
            "--outcome",
            "no-issues",
        ],
    );
    on(
        db,
        "2024-07-08",
        &[
            "task",
            "correct",
            t1,
            "--field",
            "outcome",
            "--value",
            "issues-found",
            "--reason",
            "录入错误",
        ],
    );
    let june_again = report(db, "2024-08-01", "2024-06", false);
    assert_eq!(
        june_again["divisions"], june["divisions"],
        "June never changes"
    );
    let revised = report(db, "2024-08-01", "2024-06", true);
    let r = division(&revised, "training");
    assert_eq!(
        r["completed"], 3,
        "the June completion entered in July: {r}"
    );
    assert_eq!(r["replaced"], 0, "replaced in July");
    let july = report(db, "2024-08-01", "2024-07", false);
    let j = division(&july, "training");
    assert_eq!(j["replaced"], 1);
    assert_eq!(j["published_late"], 1);
    // A month that has not begun is refused, not silently reported as of today.
    let err = refused(db, "2024-08-01", &["report", "--month", "2024-09"]);
    assert!(err.contains("has not begun"), "{err}");
}

on_both_backends!(reports_as_they_stood);

/// A penalty outcome owes its decision and its publication: archiving waits for both.
fn archive_keeps_penalty_deadline(db: &TestDb) {
    demo(db, &repo("examples/henan"));
    let id = "henan-2024-enforcement-001";
    on(
        db,
        "2024-06-03",
        &["task", "schedule", id, "--date", "2024-06-03"],
    );
    on(
        db,
        "2024-06-03",
        &[
            "task",
            "complete",
            id,
            "--date",
            "2024-06-03",
            "--outcome",
            "penalty",
        ],
    );
    on(
        db,
        "2024-06-05",
        &["task", "publish", id, "--date", "2024-06-05"],
    );
    let err = refused(db, "2024-06-06", &["task", "archive", id]);
    assert!(err.contains("penalty decision not recorded"), "{err}");
    let t = on(
        db,
        "2024-06-20",
        &["task", "penalty", id, "--decision-date", "2024-06-20"],
    );
    assert_eq!(t["deadlines"]["penalty_publish"], "2024-07-01");
    let err = refused(db, "2024-06-21", &["task", "archive", id]);
    assert!(err.contains("penalty not published"), "{err}");
    on(
        db,
        "2024-06-28",
        &["task", "penalty-published", id, "--date", "2024-06-28"],
    );
    let t = on(db, "2024-06-28", &["task", "archive", id]);
    assert_eq!(t["facts"]["status"], "archived");
}

on_both_backends!(archive_keeps_penalty_deadline);

/// Certificates are checked on the day a team is formed: a replacement in October does not
/// take officers whose certificates expired in June, and planning an inspection after a team
/// member's expiry warns.
fn certificates_on_the_day(db: &TestDb) {
    // The demo registry with every training-division officer's certificate ending in June.
    let dir = db.path().join("henan");
    common::copy_dir(&repo("examples/henan"), &dir);
    let officers = std::fs::read_to_string(dir.join("officers.csv")).expect("officers");
    let changed: String = officers
        .lines()
        .map(|l| {
            if l.contains(",人事培训处,") {
                // 证件有效期至 is the ninth column.
                let mut cells: Vec<&str> = l.split(',').collect();
                cells[8] = "2024-06-30";
                cells.join(",")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(dir.join("officers.csv"), changed + "\n").expect("write");
    demo(db, &dir);
    let expiring: Vec<String> = officers
        .lines()
        .filter(|l| l.contains(",人事培训处,"))
        .filter_map(|l| l.split(',').next().map(String::from))
        .collect();
    assert!(!expiring.is_empty());
    // Drawn on 16 May, before they expire: they staff the training teams.
    let all = tasks(db);
    let training: Vec<&Value> = all
        .iter()
        .filter(|t| t["task_rule"] == "training")
        .collect();
    assert!(
        training[0]["members"]
            .as_array()
            .expect("members")
            .iter()
            .any(|m| expiring.iter().any(|e| m == e.as_str()))
    );
    let id = training[0]["id"].as_str().expect("id");
    let out = db.suiji(&[
        "--today",
        "2024-06-10",
        "task",
        "schedule",
        id,
        "--date",
        "2024-07-15",
    ]);
    common::assert_ok(&out, &["task", "schedule"]);
    let warned = common::stderr(&out);
    assert!(
        warned.contains("expires on 2024-06-30, before the planned inspection on 2024-07-15"),
        "{warned}"
    );
    // In October no training officer holds a valid certificate: the replacement cannot be
    // staffed, and says why.
    let err = refused(
        db,
        "2024-10-08",
        &[
            "task",
            "replace",
            training[1]["id"].as_str().expect("id"),
            "--reason",
            "停业",
        ],
    );
    assert!(err.contains("certificate_expired"), "{err}");
}

on_both_backends!(certificates_on_the_day);
