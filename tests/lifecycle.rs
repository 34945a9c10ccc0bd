//! A year of the Henan 2024 plan through the real binary, on both databases: the draw, planned
//! dates, completions, publication, penalties, a referral, a replacement by an alternate,
//! refused transitions, overdue detection on chosen dates, and the progress report.

mod common;

use common::{TestDb, assert_ok, on, refused, repo, stderr};
use serde_json::Value;

fn deadline(task: &Value, obligation: &str) -> String {
    task["deadlines"][obligation]
        .as_str()
        .unwrap_or("")
        .to_string()
}

fn a_year(db: &TestDb) {
    common::load_demo(db);
    common::freeze_and_draw(db);

    let tasks = db.json(&["task", "list", "--json"]);
    let tasks = tasks.as_array().expect("tasks");
    assert_eq!(tasks.len(), 74);
    let id = |rule: &str, n: usize| format!("henan-2024-{rule}-{n:03}");
    let first = &tasks[0];
    assert_eq!(first["facts"]["status"], "drawn");
    // Drawn Thursday 16 May 2024: 20 working days to set a date.
    assert_eq!(deadline(first, "schedule"), "2024-06-14");
    assert_eq!(first["next_due"], "2024-06-14");

    // Refused transitions, each with its reason.
    let h1 = id("hazchem", 1);
    assert!(
        refused(
            db,
            "2024-05-20",
            &["task", "publish", &h1, "--date", "2024-05-20"]
        )
        .contains("before the inspection is completed")
    );
    assert!(
        refused(
            db,
            "2024-05-20",
            &["task", "schedule", &h1, "--date", "2024-09-15"]
        )
        .contains("not a working day")
    );
    assert!(
        refused(
            db,
            "2024-05-20",
            &["task", "schedule", &h1, "--date", "2025-01-06"]
        )
        .contains("outside the inspection window")
    );
    assert!(
        refused(
            db,
            "2024-05-20",
            &[
                "task",
                "complete",
                &h1,
                "--date",
                "2024-05-20",
                "--outcome",
                "no-issues"
            ]
        )
        .contains("schedule it first")
    );

    // Saturday 14 Sep 2024 is a working day (调休); rescheduling is allowed before inspecting.
    let t = on(
        db,
        "2024-05-20",
        &["task", "schedule", &h1, "--date", "2024-09-14"],
    );
    assert_eq!(t["facts"]["planned"], "2024-09-14");
    assert_eq!(
        deadline(&t, "notice"),
        "2024-09-11",
        "函告 3 working days before"
    );

    // The two legal examples: completed Friday 13 Sep 2024 -> results due Monday 23 Sep;
    // a penalty decided 27 Sep -> published by Saturday 12 Oct (a working day).
    on(
        db,
        "2024-05-20",
        &["task", "schedule", &h1, "--date", "2024-09-13"],
    );
    assert!(
        refused(
            db,
            "2024-09-12",
            &[
                "task",
                "complete",
                &h1,
                "--date",
                "2024-09-13",
                "--outcome",
                "penalty"
            ]
        )
        .contains("in the future")
    );
    let t = on(
        db,
        "2024-09-13",
        &[
            "task",
            "complete",
            &h1,
            "--date",
            "2024-09-13",
            "--outcome",
            "penalty",
        ],
    );
    assert_eq!(deadline(&t, "publish"), "2024-09-23");
    assert!(
        refused(
            db,
            "2024-09-13",
            &[
                "task",
                "complete",
                &h1,
                "--date",
                "2024-09-13",
                "--outcome",
                "no-issues"
            ]
        )
        .contains("cannot be completed twice")
    );
    let t = on(
        db,
        "2024-09-27",
        &["task", "penalty", &h1, "--decision-date", "2024-09-27"],
    );
    assert_eq!(deadline(&t, "penalty_publish"), "2024-10-12");
    on(
        db,
        "2024-09-20",
        &[
            "task",
            "publish",
            &h1,
            "--date",
            "2024-09-20",
            "--url",
            "https://yjglt.henan.gov.cn/x",
        ],
    );
    on(
        db,
        "2024-10-12",
        &["task", "penalty-published", &h1, "--date", "2024-10-12"],
    );
    on(
        db,
        "2024-10-15",
        &["task", "refer", &h1, "--date", "2024-10-15"],
    );
    on(db, "2024-10-16", &["task", "archive", &h1]);

    // A second task published late, a third left unpublished.
    let h2 = id("hazchem", 2);
    on(
        db,
        "2024-05-20",
        &["task", "schedule", &h2, "--date", "2024-06-03"],
    );
    on(
        db,
        "2024-06-03",
        &[
            "task",
            "complete",
            &h2,
            "--date",
            "2024-06-03",
            "--outcome",
            "no-issues",
        ],
    );
    on(
        db,
        "2024-06-17",
        &["task", "publish", &h2, "--date", "2024-06-17"],
    );
    let h3 = id("hazchem", 3);
    on(
        db,
        "2024-05-20",
        &["task", "schedule", &h3, "--date", "2024-06-04"],
    );
    on(
        db,
        "2024-06-04",
        &[
            "task",
            "complete",
            &h3,
            "--date",
            "2024-06-04",
            "--outcome",
            "no-issues",
        ],
    );

    // A closed entity is replaced by its stratum's first unused alternate.
    let t2 = id("trade", 2);
    let before = db.json(&["task", "show", &t2, "--json"]);
    let r = on(
        db,
        "2024-05-24",
        &["task", "replace", &t2, "--reason", "企业已注销"],
    );
    assert_eq!(r["by"]["id"], id("trade", 6));
    let replaced = db.json(&["task", "show", &t2, "--json"]);
    assert_eq!(replaced["facts"]["status"], "replaced");
    let draw: Value = serde_json::from_slice(
        &std::fs::read(db.path().join("public/2024/henan-2024/draw.json")).expect("draw.json"),
    )
    .expect("json");
    let trade = draw["strata"]
        .as_array()
        .expect("strata")
        .iter()
        .find(|s| s["stratum"] == "trade")
        .expect("trade");
    assert_eq!(r["by"]["uscc"], trade["alternates"][0]["id"]);
    assert_ne!(r["by"]["uscc"], before["uscc"]);
    assert_eq!(
        r["by"]["partners"].as_array().map(Vec::len),
        Some(1),
        "still a joint team"
    );
    assert!(
        refused(
            db,
            "2024-05-24",
            &["task", "replace", &t2, "--reason", "again"]
        )
        .contains("replaced")
    );

    // Overdue on chosen dates. On 17 June every task without a date is late to schedule.
    let o = on(db, "2024-06-17", &["overdue", "--date", "2024-06-17"]);
    let lines = o["overdue"].as_array().expect("overdue");
    let unscheduled = lines
        .iter()
        .filter(|l| l["obligation"] == "schedule")
        .count();
    // 74 drawn, 3 scheduled, 1 replaced; its replacement, drawn 24 May, is due on 24 June.
    assert_eq!(unscheduled, 74 - 3 - 1);
    assert!(lines.iter().all(|l| l["task"] != h1.as_str()));
    let late = lines
        .iter()
        .find(|l| l["task"] == h3.as_str())
        .expect("h3 results late");
    assert_eq!(late["obligation"], "publish");
    assert_eq!(
        late["due"], "2024-06-12",
        "4 June + 5 working days (10 June is 端午)"
    );
    assert_eq!(late["working_days"], 3, "13, 14 and 17 June");
    assert_eq!(late["division"], "hazchem");
    // On 2 January 2025 nothing of the window is left: everything not completed is late.
    let o = on(db, "2025-01-02", &["overdue", "--date", "2025-01-02"]);
    let not_done = o["overdue"]
        .as_array()
        .expect("o")
        .iter()
        .filter(|l| l["obligation"] == "complete")
        .count();
    assert_eq!(
        not_done,
        75 - 1 - 3,
        "all live tasks but the three completed"
    );

    // The report as of the end of September, and as XLSX.
    let xlsx = db.path().join("report.xlsx");
    let rep = on(
        db,
        "2024-10-31",
        &[
            "report",
            "--month",
            "2024-09",
            "--xlsx",
            xlsx.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(rep["as_of"], "2024-09-30");
    let hazchem = rep["divisions"]
        .as_array()
        .expect("divisions")
        .iter()
        .find(|d| d["division"] == "hazchem")
        .expect("hazchem");
    assert_eq!(hazchem["drawn"], 5);
    assert_eq!(hazchem["completed"], 3);
    assert_eq!(hazchem["published_on_time"], 1);
    assert_eq!(hazchem["published_late"], 1);
    assert_eq!(hazchem["penalties"], 1);
    assert_eq!(hazchem["referrals"], 0, "referred in October");
    let trade = rep["divisions"]
        .as_array()
        .expect("d")
        .iter()
        .find(|d| d["division"] == "industry_trade")
        .expect("trade");
    assert_eq!(
        (trade["drawn"].as_u64(), trade["replaced"].as_u64()),
        (Some(5), Some(1))
    );
    assert!(
        std::fs::metadata(&xlsx)
            .map(|m| m.len() > 0)
            .unwrap_or(false)
    );

    // Today's report, added up from the `publish_due` column: a database written before that
    // column existed (migration 0007 undone) gets it filled on upgrade, and reports the same.
    let today = on(db, "2024-10-31", &["report"]);
    let published: u64 = today["divisions"]
        .as_array()
        .expect("divisions")
        .iter()
        .map(|d| {
            d["published_on_time"].as_u64().unwrap_or(0) + d["published_late"].as_u64().unwrap_or(0)
        })
        .sum();
    assert!(published >= 2, "on time and late both counted: {today}");
    // The same day folded from the facts, the next morning, on this database too.
    let folded = on(
        db,
        "2024-11-01",
        &["report", "--month", "2024-10", "--revised"],
    );
    assert_eq!(folded["as_of"], "2024-10-31");
    assert_eq!(folded["divisions"], today["divisions"]);
    db.sql(&[
        "DROP INDEX tasks_report",
        "ALTER TABLE tasks DROP COLUMN publish_due",
        "DELETE FROM _sqlx_migrations WHERE version = 7",
    ]);
    let upgraded = on(db, "2024-10-31", &["report"]);
    assert_eq!(upgraded["divisions"], today["divisions"]);
    assert_eq!(
        db.query_strings("SELECT DISTINCT publish_due FROM tasks WHERE publish_due IS NOT NULL")
            .len()
            .min(1),
        1,
        "publication deadlines filled in from `deadlines`"
    );

    // Outcomes sent back by a division, as a GBK CSV: one bad row and nothing is written.
    let n1 = id("noncoal", 1);
    let n2 = id("noncoal", 2);
    let n4 = id("noncoal", 4);
    let header = "任务编号,计划检查日期,完成日期,检查结果,结果公示日期,公示网址\n";
    let good = format!(
        "{n1},2024-11-11,2024-11-11,无问题,2024-11-14,https://example.gov.cn/1\n{n2},2024-11-12,2024-11-12,发现问题,,\n{n4},2024-11-18,,,,\n"
    );
    let bad = format!(
        "{good}{},,,,2024-11-14,\nhenan-2024-nope-001,2024-11-12,,,,\n",
        id("noncoal", 3)
    );
    let write_gbk = |name: &str, text: &str| {
        let (bytes, _, _) = encoding_rs::GBK.encode(text);
        let path = db.path().join(name);
        std::fs::write(&path, &bytes).expect("write");
        path.display().to_string()
    };
    let bad_file = write_gbk("outcomes-bad.csv", &format!("{header}{bad}"));
    let msg = refused(db, "2024-11-15", &["task", "import", &bad_file]);
    assert!(
        msg.contains("row 5, column 结果公示日期")
            && msg.contains("before the inspection is completed"),
        "{msg}"
    );
    assert!(
        msg.contains("row 6, column 任务编号, value \"henan-2024-nope-001\": no such task"),
        "{msg}"
    );
    assert!(msg.contains("nothing was written"), "{msg}");
    assert_eq!(
        db.json(&["task", "show", &n1, "--json"])["facts"]["status"],
        "drawn"
    );
    let good_file = write_gbk("outcomes.csv", &format!("{header}{good}"));
    let r = on(db, "2024-11-15", &["task", "import", &good_file]);
    assert_eq!(r["tasks"], 3);
    // A date planned inside its notice period by the file: its 函告 goes at once, in the
    // import's own transaction, as when it is scheduled by hand.
    assert_eq!(
        db.query_strings(&format!(
            "SELECT item FROM notice_items WHERE item = 'advance/{n4}/2024-11-18'"
        ))
        .len(),
        1
    );
    let t = db.json(&["task", "show", &n1, "--json"]);
    assert_eq!(t["facts"]["status"], "published");
    assert_eq!(t["facts"]["published_url"], "https://example.gov.cn/1");
    assert_eq!(
        db.json(&["task", "show", &n2, "--json"])["facts"]["outcome"],
        "issues-found"
    );

    // Recorded outcomes are never rewritten by another command: a penalty or a referral needs
    // an outcome that allows it, and a wrong outcome is changed only by an audited correction
    // that keeps the old value.
    let err = refused(
        db,
        "2024-11-20",
        &["task", "penalty", &n1, "--decision-date", "2024-11-20"],
    );
    assert!(err.contains("needs the outcome `penalty`"), "{err}");
    let err = refused(
        db,
        "2024-11-20",
        &["task", "refer", &n1, "--date", "2024-11-20"],
    );
    assert!(err.contains("no-issues"), "{err}");
    let err = refused(
        db,
        "2024-11-20",
        &[
            "task", "correct", &n1, "--field", "outcome", "--value", "penalty", "--reason", " ",
        ],
    );
    assert!(err.contains("needs --reason"), "{err}");
    let t = on(
        db,
        "2024-11-20",
        &[
            "task",
            "correct",
            &n1,
            "--field",
            "outcome",
            "--value",
            "penalty",
            "--reason",
            "检查记录誊录错误",
        ],
    );
    assert_eq!(t["facts"]["outcome"], "penalty");
    let detail: Value = serde_json::from_str(
        &db.query_strings("SELECT detail FROM audit_log WHERE action = 'task.correct'")[0],
    )
    .expect("json");
    assert_eq!(
        (
            &detail["correction"]["old"],
            &detail["correction"]["new"],
            &detail["correction"]["reason"]
        ),
        (
            &Value::from("no-issues"),
            &Value::from("penalty"),
            &Value::from("检查记录誊录错误")
        )
    );
    on(
        db,
        "2024-11-21",
        &["task", "penalty", &n1, "--decision-date", "2024-11-21"],
    );
    let err = refused(
        db,
        "2024-11-21",
        &[
            "task",
            "correct",
            &n1,
            "--field",
            "outcome",
            "--value",
            "no-issues",
            "--reason",
            "x",
        ],
    );
    assert!(err.contains("penalty decision is recorded"), "{err}");
    // The batch import's audit row holds every field it changed, old and new.
    let imported: Value = serde_json::from_str(
        &db.query_strings("SELECT detail FROM audit_log WHERE action = 'task.import' ORDER BY seq")
            [0],
    )
    .expect("json");
    assert_eq!(imported["changes"]["completed"]["old"], Value::Null);
    assert_eq!(imported["changes"]["completed"]["new"], "2024-11-11");
    assert_eq!(
        imported["changes"]["published_url"]["new"],
        "https://example.gov.cn/1"
    );
    // task show lists every recorded fact, the correction included.
    let shown = db.json(&["task", "show", &n1, "--json"]);
    let kinds: Vec<String> = shown["recorded"]
        .as_array()
        .expect("recorded")
        .iter()
        .map(|f| f["event"].to_string())
        .collect();
    assert_eq!(
        kinds.len(),
        5,
        "schedule, complete, publish, correct, penalty: {kinds:?}"
    );
    assert!(kinds[3].contains("correct"), "{kinds:?}");

    // Next year's plan sees this year's history: entities inspected in the 12 months before its
    // window are left out; one drawn but never inspected is not, and its planned team never met
    // it (only completed inspections count).
    let p2025 = repo("rules/henan-2025.rhai").display().to_string();
    on(db, "2025-04-08", &["freeze", "--plan", &p2025]);
    let m: Value = serde_json::from_slice(
        &std::fs::read(db.path().join("public/2025/henan-2025/manifest.json")).expect("manifest"),
    )
    .expect("json");
    let candidates: Vec<&Value> = m["strata"]
        .as_array()
        .expect("strata")
        .iter()
        .flat_map(|s| s["candidates"].as_array().expect("c"))
        .collect();
    let h1_uscc = db.json(&["task", "show", &h1, "--json"])["uscc"].clone();
    assert!(
        !candidates.contains(&&h1_uscc),
        "inspected in 2024, drawn in 2025"
    );
    let e1 = db.json(&["task", "show", &id("enforcement", 1), "--json"]);
    assert!(
        candidates.contains(&&e1["uscc"]),
        "planned in 2024 but never inspected: still a candidate"
    );
    let pair = Value::from(vec![e1["cadre"].clone(), e1["uscc"].clone()]);
    let pairs = m["last_year_pairs"].as_array().cloned().unwrap_or_default();
    assert!(!pairs.contains(&pair), "{pair}");

    assert_eq!(db.json(&["audit", "verify", "--json"])["ok"], true);
}

on_both_backends!(a_year);

#[test]
fn calendar_commands() {
    let db = TestDb::new(common::Backend::Sqlite).expect("sqlite");
    assert_eq!(
        db.json(&["calendar", "add-days", "2024-09-13", "5", "--json"])["date"],
        "2024-09-23"
    );
    assert_eq!(
        db.json(&["calendar", "add-days", "2024-09-27", "7", "--json"])["date"],
        "2024-10-12"
    );
    assert_eq!(
        db.json(&["calendar", "add-days", "2024-10-08", "-3", "--json"])["date"],
        "2024-09-27"
    );
    let out = db.suiji(&["calendar", "check", "2027"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no holiday data for 2027"));
    let out = db.suiji(&["calendar", "add-days", "2026-12-28", "5"]);
    assert_eq!(out.status.code(), Some(2), "2027 is needed and missing");
    assert_ok(
        &db.suiji(&["calendar", "check", "2026"]),
        &["calendar", "check"],
    );
}
