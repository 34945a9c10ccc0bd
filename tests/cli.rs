//! The command line as a clerk uses it all day: tables aligned by display width (golden
//! output), exact exit codes, read-only commands that create nothing, a fast answer from an
//! unreachable PostgreSQL, complete help, completions and manual pages, and the lifecycle's
//! refusals and pending deadlines. One test per finding of issue 12, through the real binary.

mod common;

use std::path::Path;

use common::{TestDb, assert_ok, on, refused, repo, stderr, stdout};

/// Compares `text` with `tests/golden/cli/NAME`; `UPDATE_GOLDEN=1` rewrites the file.
fn golden(name: &str, text: &str) {
    let path = repo("tests/golden/cli").join(name);
    if std::env::var("UPDATE_GOLDEN").is_ok() {
        std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
        std::fs::write(&path, text).expect("write golden");
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(text, want, "output differs from {}", path.display());
}

fn unicode_width(s: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(s)
}

/// The 2024 plan frozen and drawn at fixed moments, so that the output is the same every run.
fn fixed_draw(db: &TestDb) -> String {
    common::load_demo(db);
    common::freeze_and_draw_at(db, "2024-05-13 09:00")
}

fn text(db: &TestDb, args: &[&str]) -> String {
    let out = db.suiji(args);
    assert_ok(&out, args);
    stdout(&out)
}

#[test]
fn tables_line_up_by_display_width() {
    let Some(db) = TestDb::new(common::Backend::Sqlite) else {
        return;
    };
    fixed_draw(&db);
    let list = text(&db, &["task", "list", "--division", "noncoal"]);
    golden("task-list.txt", &list);
    // Listings come a page at a time, and a page says it is one (JSON on stderr).
    let page = text(&db, &["task", "list", "--limit", "2", "--offset", "1"]);
    assert_eq!(page.lines().filter(|l| l.starts_with("henan")).count(), 2);
    assert!(
        page.ends_with("tasks 2-3 of 74: --offset 3 for the next page\n"),
        "{page}"
    );
    let out = db.suiji(&["task", "list", "--limit", "5", "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(rows.as_array().map(Vec::len), Some(5));
    assert!(common::stderr(&out).contains("tasks 1-5 of 74"));
    // Past the end is said as such; an offset the database cannot take is refused as usage.
    let past = text(&db, &["task", "list", "--offset", "9223372036854775807"]);
    assert!(
        past.ends_with("no tasks from offset 9223372036854775807: 74 in all\n"),
        "{past}"
    );
    let out = db.suiji(&["task", "list", "--offset", "18446744073709551615"]);
    assert_eq!(out.status.code(), Some(2));
    let report = text(&db, &["--today", "2024-06-30 18:00", "report"]);
    golden("report.txt", &report);
    // Every row of the report starts its columns where the header does (the header and the
    // rows were 109 and 88 columns wide).
    let lines: Vec<&str> = report.lines().skip(1).collect();
    let widths: Vec<usize> = lines.iter().map(|l| unicode_width(l)).collect();
    assert!(
        widths.iter().all(|w| *w == widths[0]),
        "{widths:?}\n{report}"
    );
    let entity_col: Vec<usize> = list
        .lines()
        .filter(|l| l.starts_with("henan") || l.starts_with("task"))
        .map(|l| {
            unicode_width(
                &l[..l
                    .find("9141")
                    .or_else(|| l.find("USCC"))
                    .expect("USCC column")],
            )
        })
        .collect();
    assert!(
        entity_col.iter().all(|w| *w == entity_col[0]),
        "{entity_col:?}\n{list}"
    );
}

#[test]
fn exit_codes_say_whose_problem_it_is() {
    let Some(db) = TestDb::new(common::Backend::Sqlite) else {
        return;
    };
    fixed_draw(&db);
    // An unknown status is refused, not "0 task(s)".
    let msg = refused(&db, "2024-06-01", &["task", "list", "--status", "foo"]);
    assert!(msg.contains("foo"), "{msg}");
    // A report into a missing folder is refused before anything is computed or printed.
    let out = db.suiji(&["report", "--xlsx", "no/such/dir/r.xlsx"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));
    // A day in a year without holiday data: every overdue item is still listed, only how late
    // it is stays unknown; the data is the admin's to add, as `calendar check` says (exit 2).
    let out = db.suiji(&["overdue", "--date", "2031-03-03", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let late: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let items = late["overdue"].as_array().expect("overdue");
    let tasks: std::collections::HashSet<&str> =
        items.iter().filter_map(|i| i["task"].as_str()).collect();
    assert_eq!(tasks.len(), 74, "every task owes something by then");
    assert!(items.iter().all(|i| i["working_days"].is_null()), "{late}");
    let out = db.suiji(&["overdue", "--date", "2031-03-03"]);
    assert!(stdout(&out).contains("unknown (no holiday data)"));
    let out = db.suiji(&["calendar", "check", "2031"]);
    assert_eq!(out.status.code(), Some(2));
    // A month that has not begun is refused, not reported as of today.
    let msg = refused(&db, "2026-11-01", &["report", "--month", "2030-01"]);
    assert!(msg.contains("2030-01"), "{msg}");
    // --today later than the real date is refused, and so is a date after the real today.
    let out = db.suiji(&["--today", "2099-01-01", "status"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn read_only_commands_create_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let bin = env!("CARGO_BIN_EXE_suiji");
    let out = std::process::Command::new(bin)
        .current_dir(dir.path())
        .args(["task", "list"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no database at data/suiji.db"),
        "{}",
        stderr(&out)
    );
    assert!(
        !dir.path().join("data").exists(),
        "task list created a database"
    );
    let db = dir.path().join("nonexistent_dir/sub/x.db");
    let url = format!("sqlite://{}", db.display());
    for args in [
        vec!["stats"],
        vec!["status"],
        vec!["report"],
        vec!["overdue"],
        vec!["publish"],
    ] {
        let out = std::process::Command::new(bin)
            .current_dir(dir.path())
            .arg("--db")
            .arg(&url)
            .args(&args)
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
    assert!(
        !dir.path().join("nonexistent_dir").exists(),
        "a read created the path"
    );
}

#[test]
fn unreachable_postgres_is_named_at_once() {
    let dir = tempfile::tempdir().expect("dir");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_suiji"))
        .current_dir(dir.path())
        .args([
            "--db",
            "postgres://postgres:secret@127.0.0.1:1/nothing",
            "stats",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("cannot reach PostgreSQL at 127.0.0.1:1/nothing"),
        "{err}"
    );
    assert!(err.to_lowercase().contains("refused"), "{err}");
    assert!(!err.contains("secret"), "the password was printed: {err}");
}

/// Mistyped seed digits are refused as the command line is read: the database named (a
/// PostgreSQL that is not there) is never contacted, so its error cannot come first.
#[test]
fn bad_seed_digits_are_refused_before_any_io() {
    for args in [
        &["draw", "--official", "--seed-value", "123"][..],
        &["draw", "--official", "--seed-value", "03 07 12 18"][..],
        &["seed", "enter", "12345x"][..],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_suiji"))
            .args(["--db", "postgres://postgres@127.0.0.1:1/nothing"])
            .args(args)
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = stderr(&out);
        assert!(err.contains("at least 6 decimal digits"), "{args:?}: {err}");
        assert!(!err.contains("cannot reach"), "{args:?}: {err}");
    }
}

#[test]
fn errors_say_each_thing_once() {
    let Some(db) = TestDb::new(common::Backend::Sqlite) else {
        return;
    };
    common::load_demo(&db);
    let script = db.path().join("broken.rhai");
    let text = std::fs::read_to_string(repo("rules/henan-2024.rhai")).expect("plan");
    std::fs::write(
        &script,
        text.replace("quota: 8,", "quota: undefined_variable,"),
    )
    .expect("write");
    let out = db.suiji(&["rules", "check", script.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    let first = err.lines().next().unwrap_or("");
    assert!(first.contains("undefined_variable"), "{err}");
    for part in first.split(": ") {
        if part.len() > 12 {
            assert_eq!(first.matches(part).count(), 1, "`{part}` repeated: {first}");
        }
    }
}

#[test]
fn help_completions_and_manual_pages() {
    let bin = env!("CARGO_BIN_EXE_suiji");
    let run = |args: &[&str]| {
        std::process::Command::new(bin)
            .args(args)
            .output()
            .expect("run")
    };
    let help = stdout(&run(&["task", "list", "--help"]));
    assert!(help.contains("Only tasks in this state"), "{help}");
    assert!(help.contains("Global options:"), "{help}");
    let own = help.split("Global options:").next().unwrap_or("");
    assert!(
        !own.contains("--db"),
        "global options mixed into the command's own: {help}"
    );
    // The version names the commit built from and the specs of the documents it writes.
    let version = stdout(&run(&["--version"]));
    assert!(
        version.starts_with(&format!("suiji {} (commit ", env!("CARGO_PKG_VERSION")))
            && version.contains("suiji-draw-v4")
            && version.contains("suiji-draw-v5"),
        "{version}"
    );
    for shell in ["bash", "zsh", "fish"] {
        let out = run(&["completions", shell]);
        assert!(out.status.success());
        assert!(stdout(&out).contains("task"), "{shell}");
    }
    let dir = tempfile::tempdir().expect("dir");
    let out = run(&["man", "--out", dir.path().to_str().expect("utf-8")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let page = std::fs::read_to_string(dir.path().join("suiji-task-complete.1")).expect("page");
    assert!(page.contains("The inspection took place"), "{page}");
    assert!(dir.path().join("suiji.1").is_file());
}

fn wording(db: &TestDb) {
    let plan = fixed_draw(db);
    let dry = db.path().join("dry");
    let out = db.suiji(&[
        "--today",
        "2024-05-16 22:00",
        "draw",
        "--plan",
        &plan,
        "--dry-run",
        "--seed-value",
        "123456",
        "--out",
        dry.to_str().expect("utf-8"),
    ]);
    assert_ok(&out, &["draw", "--dry-run"]);
    let text = stdout(&out);
    assert!(
        text.starts_with("dry-run draw of henan-2024 (2024): 74 tasks"),
        "{text}"
    );
    assert!(text.contains("seed: manual `123456`"), "{text}");
    assert!(!text.contains("published"), "{text}");
    // An invalid seed value is refused before the registry is loaded.
    let msg = refused(
        db,
        "2024-05-16 22:00",
        &[
            "draw",
            "--plan",
            &plan,
            "--dry-run",
            "--seed-value",
            "123",
            "--out",
            "x",
        ],
    );
    assert!(msg.contains("at least 6 decimal digits"), "{msg}");

    let id = "henan-2024-noncoal-001";
    on(
        db,
        "2024-06-20",
        &["task", "schedule", id, "--date", "2024-07-01"],
    );
    on(
        db,
        "2024-07-01",
        &[
            "task",
            "complete",
            id,
            "--date",
            "2024-07-01",
            "--outcome",
            "no-issues",
        ],
    );
    let url = "https://yjglt.henan.gov.cn/sjsgk/1.html";
    on(
        db,
        "2024-07-02",
        &["task", "publish", id, "--date", "2024-07-02", "--url", url],
    );
    let show = text_on(db, "2024-07-02", &["task", "show", id]);
    assert!(show.contains(url), "{show}");
    assert!(
        !show.contains("PenaltyPublish") && !show.contains("Publish "),
        "{show}"
    );
    assert!(show.contains("publish results"), "{show}");
    assert!(show.contains("非煤矿山安全监督处"), "{show}");
    assert!(!show.contains("(41"), "city shown as a code: {show}");
    // Scheduled on 20 June, past the deadline of 14 June: done, and late.
    assert!(
        show.contains("done 2024-06-20, 4 working days late"),
        "{show}"
    );
    let report = text_on(db, "2024-07-31", &["report"]);
    assert!(
        report.contains("非煤矿山安全监督处") && !report.contains("noncoal "),
        "{report}"
    );
    let overdue = text_on(db, "2024-06-17", &["overdue"]);
    assert!(!overdue.contains(" 1 working days"), "{overdue}");
}

fn text_on(db: &TestDb, day: &str, args: &[&str]) -> String {
    let mut all = vec!["--today", day];
    all.extend_from_slice(args);
    text(db, &all)
}

on_both_backends!(wording);

/// Completion before the planned date, and a replacement after the window, are refused; a
/// date after the real today is refused whatever --today says.
fn lifecycle_refusals(db: &TestDb) {
    common::load_demo(db);
    common::freeze_and_draw(db);
    let id = "henan-2024-hazchem-001";
    on(
        db,
        "2024-05-20",
        &["task", "schedule", id, "--date", "2024-09-13"],
    );
    let msg = refused(
        db,
        "2024-09-20",
        &[
            "task",
            "complete",
            id,
            "--date",
            "2024-09-12",
            "--outcome",
            "no-issues",
        ],
    );
    assert!(msg.contains("before the planned date 2024-09-13"), "{msg}");
    let out = db.suiji(&[
        "task",
        "complete",
        id,
        "--date",
        "2099-09-13",
        "--outcome",
        "no-issues",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("in the future"), "{}", stderr(&out));
    // Without --today the replacement would be drawn today, after the 2024 window.
    let out = db.suiji(&[
        "task",
        "replace",
        "henan-2024-hazchem-002",
        "--reason",
        "已注销",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("window ended on 2024-12-31"),
        "{}",
        stderr(&out)
    );
    let ok = on(
        db,
        "2024-06-03",
        &[
            "task",
            "replace",
            "henan-2024-hazchem-002",
            "--reason",
            "已注销",
        ],
    );
    assert_eq!(ok["replaced"], "henan-2024-hazchem-002");
}

on_both_backends!(lifecycle_refusals);

/// A 2019 plan (test holiday data for 2019 only; 2020 is not shipped): a completion on 27
/// December is recorded, its publication deadline waits for 2020's data, `status` and the
/// nightly check say so, and the deadline is computed as soon as the data is added.
fn pending_holiday_data(db: &TestDb) {
    common::load_demo(db);
    let cal = db.path().join("calendar");
    std::fs::create_dir_all(&cal).expect("mkdir");
    std::fs::write(
        cal.join("2019.toml"),
        "year = 2019\nnotice = \"test data: weekends only\"\nholidays = []\nworkdays = []\n",
    )
    .expect("2019");
    let config = db.path().join("c.toml");
    std::fs::write(
        &config,
        format!("[calendar]\ndir = \"{}\"\n", cal.display()),
    )
    .expect("config");
    let cfg = config.to_str().expect("utf-8");
    let text = std::fs::read_to_string(Path::new(&common::plan_without_proposals(db.path())))
        .expect("plan");
    let plan = db.path().join("p2019.rhai");
    std::fs::write(&plan, text.replace("2024", "2019")).expect("plan");
    let plan = plan.to_str().expect("utf-8");
    let with = |day: &str, args: &[&str]| {
        let mut all = vec!["--config", cfg];
        all.extend_from_slice(args);
        on(db, day, &all)
    };
    common::draw_plan(
        db,
        plan,
        ("2019-05-13", "2019-05-16 21:30"),
        &["--config", cfg],
    );
    let id = "henan-2019-noncoal-001";
    with(
        "2019-06-01",
        &["task", "schedule", id, "--date", "2019-12-26"],
    );
    let t = with(
        "2019-12-27",
        &[
            "task",
            "complete",
            id,
            "--date",
            "2019-12-27",
            "--outcome",
            "no-issues",
        ],
    );
    assert_eq!(
        t["facts"]["completed"], "2019-12-27",
        "the fact is recorded: {t}"
    );
    assert_eq!(
        t["pending_deadlines"],
        serde_json::json!(["publish"]),
        "{t}"
    );
    let status = text_on_cfg(db, cfg, "2019-12-30", &["status"]);
    assert!(
        status.contains("deadlines waiting for holiday data: 1 task"),
        "{status}"
    );
    let overdue = text_on_cfg(db, cfg, "2019-12-30", &["overdue"]);
    assert!(
        overdue.contains(id) && overdue.contains("waiting for holiday data"),
        "{overdue}"
    );
    // The 2020 data arrives: the next check computes the deadline (5 working days: 3 January).
    std::fs::write(
        cal.join("2020.toml"),
        "year = 2020\nnotice = \"test data: weekends only\"\nholidays = []\nworkdays = []\n",
    )
    .expect("2020");
    text_on_cfg(db, cfg, "2019-12-31", &["overdue"]);
    let t = with("2019-12-31", &["task", "show", id]);
    assert_eq!(t["deadlines"]["publish"], "2020-01-03", "{t}");
    assert_eq!(t["pending_deadlines"], serde_json::json!([]), "{t}");
}

fn text_on_cfg(db: &TestDb, cfg: &str, day: &str, args: &[&str]) -> String {
    let mut all = vec!["--config", cfg, "--today", day];
    all.extend_from_slice(args);
    text(db, &all)
}

on_both_backends!(pending_holiday_data);

/// Several commands opening an SQLite database that still lacks a migration, all at once: one
/// applies it, and the others find it applied instead of failing on it.
#[test]
fn processes_opening_an_older_database_at_once() {
    let Some(db) = TestDb::new(common::Backend::Sqlite) else {
        return;
    };
    common::load_demo(&db);
    // Rounds of several at once: without a second look, about one process in three lost.
    for _ in 0..3 {
        db.sql(&[
            "DROP INDEX tasks_report",
            "ALTER TABLE tasks DROP COLUMN publish_due",
            "DELETE FROM _sqlx_migrations WHERE version = 7",
        ]);
        let running: Vec<_> = (0..6)
            .map(|_| {
                let mut cmd = db.bare();
                cmd.args(["--db", &db.url, "stats", "--json"])
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped());
                cmd.spawn().expect("spawn suiji")
            })
            .collect();
        for child in running {
            let out = child.wait_with_output().expect("wait");
            assert_ok(&out, &["stats", "--json"]);
        }
        // Every migration applied once, 7 among them again.
        let versions = db.query_strings(
            "SELECT CAST(version AS TEXT) FROM _sqlx_migrations WHERE success ORDER BY version",
        );
        let all: Vec<String> = (1..=versions.len()).map(|v| v.to_string()).collect();
        assert_eq!(versions, all);
        assert!(versions.len() >= 7, "{versions:?}");
    }
}

/// A department's own deployment: `init DIR` writes its starting point (never over a file; the
/// secrets file 0600), and `doctor` says, check by check, what stands in the way: first the
/// missing database, then, with the registry in, only warnings (no mail relay, next year's
/// holidays, no daemon yet); a relay that does not answer fails, with its remedy.
#[test]
fn a_deployment_from_init_to_doctor() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().expect("dir");
    let dir = tmp.path().join("dept");
    let suiji = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_suiji"))
            .current_dir(&dir)
            .env_remove("SUIJI_DATABASE__URL")
            .args(["--config", "suiji.toml"])
            .args(args)
            .output()
            .expect("suiji")
    };
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_suiji"))
        .args(["init", dir.to_str().expect("utf-8"), "--json"])
        .output()
        .expect("init");
    assert_ok(&out, &["init", "DIR"]);
    for f in [
        "suiji.toml",
        "env",
        "rules/henan-2024.rhai",
        "rules/calendar/2026.toml",
        "templates/mail/advance_notice.txt",
    ] {
        assert!(dir.join(f).is_file(), "{f}");
    }
    let mode = std::fs::metadata(dir.join("env"))
        .expect("env")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    std::fs::write(dir.join("rules/henan-2024.rhai"), "// edited").expect("edit");
    let again = std::process::Command::new(env!("CARGO_BIN_EXE_suiji"))
        .args(["init", dir.to_str().expect("utf-8")])
        .output()
        .expect("init");
    assert_eq!(again.status.code(), Some(2));
    assert!(
        stderr(&again).contains("never over a file"),
        "{}",
        stderr(&again)
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("rules/henan-2024.rhai")).expect("kept"),
        "// edited"
    );
    std::fs::write(
        dir.join("rules/henan-2024.rhai"),
        std::fs::read(repo("rules/henan-2024.rhai")).expect("plan"),
    )
    .expect("restore");

    let level = |d: &serde_json::Value, name: &str| -> String {
        d["checks"]
            .as_array()
            .expect("checks")
            .iter()
            .find(|c| c["name"] == name)
            .and_then(|c| c["level"].as_str())
            .unwrap_or("absent")
            .to_string()
    };
    let out = suiji(&["doctor", "--json"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let d: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(level(&d, "database"), "fail");
    assert_eq!(
        level(&d, "rules"),
        "warn",
        "not checked without the registry"
    );
    assert!(
        !dir.join("data/suiji.db").exists(),
        "doctor creates nothing"
    );

    assert_ok(&suiji(&["init", "--rehearsal"]), &["init"]);
    assert_ok(&suiji(&["demo", "run", "--import-only"]), &["demo", "run"]);
    let out = suiji(&["doctor", "--json"]);
    let d: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(out.status.code(), Some(0), "{d}");
    for (name, expected) in [
        ("timezone", "ok"),
        ("database", "ok"),
        ("rules", "ok"),
        ("data folder", "ok"),
        ("public folder", "ok"),
        ("mail", "warn"),
        ("clock", "ok"),
        ("daemon", "warn"),
    ] {
        assert_eq!(level(&d, name), expected, "{name}: {d}");
    }
    let text = stdout(&suiji(&["doctor"]));
    assert!(text.contains("warn mail"), "{text}");

    // A relay nobody answers at: a failure, and what to do.
    let config = std::fs::read_to_string(dir.join("suiji.toml")).expect("config");
    std::fs::write(
        dir.join("suiji.toml"),
        config.replacen(
            "host = \"\"\nport = 587",
            "host = \"127.0.0.1\"\nport = 1",
            1,
        ),
    )
    .expect("config");
    let out = suiji(&["doctor"]);
    assert_eq!(out.status.code(), Some(2));
    let text = stdout(&out);
    assert!(
        text.contains("FAIL mail") && text.contains("check smtp.host and smtp.port"),
        "{text}"
    );
}
