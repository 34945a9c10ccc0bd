//! Production and rehearsal never mix. A department's store is production: it records only on
//! the real clock (every write with `--today` or `serve --until` is refused and names the
//! rehearsal route, read-only views still take a date), a voided draw is redrawn only from a
//! new manifest whose seed did not exist at the void and was never used, and a rehearsal runs
//! on a copy that never touches it, writes its mail as files and publishes only into its own
//! folder, marked 演练. On a rehearsal store: no 函告 for an inspection day already past, a
//! publication judged by the day it was recorded, and pages rebuilt under an earlier `--today`
//! still carry every fact.

mod common;

use std::path::Path;

use common::{TestDb, on, refused, repo};
use serde_json::Value;

const FIRST: &str = "03071218253109";
const SECOND: &str = "05091314222708";

/// `suiji --config CFG ARGS` that must succeed, as JSON.
fn with(db: &TestDb, cfg: &str, args: &[&str]) -> Value {
    let mut all = vec!["--config", cfg];
    all.extend_from_slice(args);
    all.push("--json");
    db.json(&all)
}

/// `suiji --config CFG ARGS` that must be refused (exit 2): its message.
fn refused_with(db: &TestDb, cfg: &str, args: &[&str]) -> String {
    let mut all = vec!["--config", cfg];
    all.extend_from_slice(args);
    let out = db.suiji(&all);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{args:?} was not refused:\n{}\n{}",
        common::stdout(&out),
        common::stderr(&out)
    );
    common::stderr(&out)
}

fn config(db: &TestDb, layer: &str) -> String {
    let path = db.path().join("live.toml");
    std::fs::write(&path, layer).expect("config");
    path.display().to_string()
}

fn beijing_now() -> chrono::DateTime<chrono::FixedOffset> {
    chrono::Utc::now().with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("+08:00"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A department's year on its production store, attacked as an insider with a shell would.
fn a_department_store(db: &TestDb) {
    assert_eq!(db.json(&["init", "--json"])["mode"], "production");
    let out = db.suiji(&["init", "--rehearsal"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        common::stderr(&out).contains("already a production store"),
        "{}",
        common::stderr(&out)
    );
    common::import_registry(db, &repo("examples/henan"));
    let (plan, available, layer) = common::live_plan(db, 8);
    let cfg = config(db, &layer);
    with(db, &cfg, &["freeze", "--plan", &plan]);

    // Nothing is written on a simulated clock, however plausible the moment: a refreeze dated
    // just before the seed (the back-dated refreeze), seed digits, a task event, an import,
    // a site rebuild, mail, the daemon's rehearsal.
    let now = beijing_now();
    let earlier = (now - chrono::Duration::minutes(5))
        .format("%Y-%m-%d %H:%M")
        .to_string();
    let yesterday = (now - chrono::Duration::days(1)).date_naive().to_string();
    let entities = repo("examples/henan/entities.csv").display().to_string();
    for (day, args) in [
        (
            earlier.as_str(),
            vec![
                "freeze",
                "--plan",
                &plan,
                "--refreeze",
                "--reason",
                "更正对象库",
            ],
        ),
        (
            earlier.as_str(),
            vec!["seed", "enter", FIRST, "--plan", &plan],
        ),
        (yesterday.as_str(), vec!["import", "entities", &entities]),
        (yesterday.as_str(), vec!["publish"]),
        (yesterday.as_str(), vec!["outbox", "send"]),
        (
            yesterday.as_str(),
            vec!["draw", "--plan", &plan, "--void", "--reason", "x"],
        ),
    ] {
        let mut all = vec!["--config", cfg.as_str()];
        all.extend_from_slice(&args);
        let err = refused(db, day, &all);
        assert!(
            err.contains("production store") && err.contains("suiji rehearse --from"),
            "{args:?}: {err}"
        );
    }
    let until = now.format("%Y-%m-%d %H:%M").to_string();
    let err = refused_with(db, &cfg, &["serve", "--until", &until, "--plan", &plan]);
    assert!(err.contains("suiji rehearse --from"), "{err}");
    // Read-only views still take a date.
    for args in [
        vec!["status", "--json"],
        vec!["overdue", "--date", &yesterday, "--json"],
        vec!["task", "list", "--json"],
    ] {
        let mut all = vec!["--config", cfg.as_str(), "--today", &yesterday];
        all.extend_from_slice(&args);
        common::assert_ok(&db.suiji(&all), &all);
    }

    // The draw, its void, and the redraw that cannot choose its randomness.
    common::wait_until(available);
    let official = ["draw", "--plan", &plan, "--official", "--seed-value"];
    let drawn = with(db, &cfg, &[&official[..], &[FIRST]].concat());
    assert_eq!(drawn["tasks"], 74);
    with(
        db,
        &cfg,
        &[
            "draw",
            "--plan",
            &plan,
            "--void",
            "--reason",
            "开奖号码录入错误",
        ],
    );
    for digits in [SECOND, FIRST] {
        let err = refused_with(db, &cfg, &[&official[..], &[digits]].concat());
        assert!(
            err.contains("a redraw needs a seed that did not exist"),
            "{err}"
        );
    }
    let err = refused_with(
        db,
        &cfg,
        &[
            "freeze",
            "--plan",
            &plan,
            "--refreeze",
            "--reason",
            "再试一次",
        ],
    );
    assert!(err.contains("refused"), "{err}");
    let (plan, available, _) = common::live_plan(db, 6);
    with(
        db,
        &cfg,
        &[
            "freeze",
            "--plan",
            &plan,
            "--refreeze",
            "--reason",
            "作废后改用新的开奖号码",
        ],
    );
    common::wait_until(available);
    let official = ["draw", "--plan", &plan, "--official", "--seed-value"];
    let err = refused_with(db, &cfg, &[&official[..], &[FIRST]].concat());
    assert!(err.contains("already used by draw-1"), "{err}");
    let redrawn = with(db, &cfg, &[&official[..], &[SECOND]].concat());
    assert_eq!(redrawn["seq"], 2);

    // The public history: production, in order, every seed printed, verified by both.
    let year = now.format("%Y").to_string();
    let public = db.path().join("public").join(&year).join("henan-2024");
    let index: Value = serde_json::from_str(&read(&public.join("index.json"))).expect("index");
    assert_eq!(index["store"], "production");
    let events: Vec<&str> = index["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["event"].as_str())
        .collect();
    assert_eq!(events, ["freeze", "draw", "void", "refreeze", "draw"]);
    let out = db.suiji(&["verify", public.to_str().expect("utf-8")]);
    let text = common::stdout(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains(FIRST) && text.contains(SECOND), "{text}");
    common::python_accepts(&public);
    let page = read(&public.join("plan.html"));
    assert!(
        !page.contains("id=\"rehearsal\""),
        "a production site says no 演练"
    );

    // A rehearsal on a copy: the original is only read.
    let head = db.json(&["audit", "verify", "--json"])["rows"].clone();
    let rehearsal = db.path().join("rehearsal");
    let r = with(
        db,
        &cfg,
        &[
            "rehearse",
            "--from",
            &db.url,
            "--into",
            rehearsal.to_str().expect("utf-8"),
            "--until",
            &until,
            "--plan",
            &plan,
        ],
    );
    assert_eq!(r["copied"], true, "{r}");
    assert_eq!(db.json(&["audit", "verify", "--json"])["rows"], head);
    assert_eq!(db.json(&["status", "--json"])["store"], "production");
    let copy = format!("sqlite://{}", rehearsal.join("suiji.db").display());
    let status = db
        .bare()
        .args(["--db", &copy, "status", "--json"])
        .output()
        .expect("status");
    let status: Value = serde_json::from_slice(&status.stdout).expect("json");
    assert_eq!(status["store"], "rehearsal");
    let copied = rehearsal.join("public").join(&year).join("henan-2024");
    let index: Value = serde_json::from_str(&read(&copied.join("index.json"))).expect("index");
    assert_eq!(index["store"], "rehearsal");
    assert!(read(&copied.join("plan.html")).contains("id=\"rehearsal\""));
    // It never publishes into the real site.
    let out = db
        .bare()
        .args([
            "--db",
            &copy,
            "publish",
            "--out",
            db.path().join("public").to_str().expect("utf-8"),
        ])
        .output()
        .expect("publish");
    assert!(!out.status.success());
    assert!(
        common::stderr(&out).contains("a rehearsal never publishes into a real site"),
        "{}",
        common::stderr(&out)
    );
}

on_both_backends!(a_department_store, empty);

/// On a rehearsal store, replayed with `--today`: letters, publication dates and pages.
#[test]
fn a_rehearsed_year_keeps_its_dates() {
    let Some(db) = TestDb::new(common::Backend::Sqlite) else {
        return;
    };
    common::load_demo(&db);
    common::freeze_and_draw(&db);
    let t = "henan-2024-hazchem-001";
    // An inspection day already past is recorded, but no 函告 announces it after the fact.
    let r = on(
        &db,
        "2024-06-10",
        &["task", "schedule", t, "--date", "2024-06-05"],
    );
    let warnings = r["warnings"].to_string();
    assert!(warnings.contains("no 函告 was sent"), "{r}");
    let letters = db.json(&["outbox", "list", "--json"]);
    assert!(
        !letters
            .to_string()
            .contains(&format!("advance/{t}/2024-06-05")),
        "{letters}"
    );
    on(
        &db,
        "2024-06-10",
        &[
            "task",
            "complete",
            t,
            "--date",
            "2024-06-05",
            "--outcome",
            "no-issues",
        ],
    );
    // Results said to be published in June but recorded on 2 January were not published in
    // June: the record holds the later day, and the page says what was stated.
    let r = on(
        &db,
        "2025-01-02",
        &["task", "publish", t, "--date", "2024-06-07"],
    );
    assert_eq!(r["facts"]["published"], "2025-01-02", "{r}");
    let err = refused(
        &db,
        "2025-01-03",
        &[
            "task",
            "correct",
            t,
            "--field",
            "published",
            "--value",
            "2024-06-07",
            "--reason",
            "按实际公示日期更正",
        ],
    );
    assert!(err.contains("never earlier"), "{err}");
    on(
        &db,
        "2025-01-03",
        &[
            "task",
            "correct",
            t,
            "--field",
            "outcome",
            "--value",
            "issues-found",
            "--reason",
            "复核发现问题",
        ],
    );
    // A rebuild under an earlier --today still shows every fact recorded.
    on(&db, "2024-06-20", &["publish"]);
    let page = read(
        &db.path()
            .join(format!("public/2024/henan-2024/results/{t}.html")),
    );
    assert!(page.contains("超过期限"), "{page}");
    assert!(page.contains("所报公示日期 2024-06-07"), "{page}");
    assert!(
        page.contains("复核发现问题"),
        "the correction stays: {page}"
    );
    assert!(
        page.contains("id=\"rehearsal\""),
        "every rehearsal page says 演练"
    );
    let home = read(&db.path().join("public/index.html"));
    assert!(home.contains("id=\"rehearsal\""), "{home}");
}
