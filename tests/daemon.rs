//! The daemon through the real binary: a year rehearsed with `serve --until` on both databases
//! (jobs once each, on the right days, facts entered between steps, a second run changing
//! nothing), kill -9 at random moments of a rehearsal, downtime across the draw in real time,
//! two instances on one PostgreSQL database with the leader killed, and a second daemon on one
//! SQLite file refused.

mod common;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use chrono::Datelike;
use common::{TestDb, on, repo};
use serde_json::Value;

const SEED: &str = "03071218253109";

fn plan() -> String {
    repo("rules/henan-2024.rhai").display().to_string()
}

/// `serve --until DATE --json`: the timeline of what ran.
fn rehearse(db: &TestDb, plan: &str, until: &str) -> Vec<Value> {
    db.json(&["serve", "--plan", plan, "--until", until, "--json"])
        .as_array()
        .cloned()
        .expect("timeline")
}

fn job_runs(db: &TestDb) -> Vec<(String, String, String, i64)> {
    let rows = db.query_strings(
        "SELECT job || '|' || slot || '|' || status || '|' || CAST(attempts AS TEXT) \
         FROM job_runs ORDER BY slot, job",
    );
    rows.iter()
        .map(|r| {
            let p: Vec<&str> = r.split('|').collect();
            (
                p[0].to_string(),
                p[1].to_string(),
                p[2].to_string(),
                p[3].parse().unwrap_or(0),
            )
        })
        .collect()
}

fn a_rehearsed_year(db: &TestDb) {
    common::load_demo(db);
    let plan = plan();
    // Up to the lottery: the freeze (13 May, 09:00) and nothing else.
    let t = rehearse(db, &plan, "2024-05-16 21:00");
    let jobs: Vec<(&str, &str)> = t
        .iter()
        .map(|r| {
            (
                r["job"].as_str().unwrap_or(""),
                r["status"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(jobs, [("freeze", "done")], "{t:?}");
    assert_eq!(t[0]["at"], "2024-05-13T09:00:00.000+08:00");
    // The digits are announced at 21:15 and entered; the draw job takes them at 21:30.
    let early = db.suiji(&[
        "--today",
        "2024-05-16 21:00",
        "seed",
        "enter",
        SEED,
        "--plan",
        &plan,
    ]);
    assert_eq!(early.status.code(), Some(2), "digits before they exist");
    common::assert_ok(
        &db.suiji(&[
            "--today",
            "2024-05-16 21:20",
            "seed",
            "enter",
            SEED,
            "--plan",
            &plan,
        ]),
        &["seed", "enter"],
    );
    let t = rehearse(db, &plan, "2024-06-03");
    assert_eq!(t[0]["job"], "draw");
    assert_eq!(t[0]["at"], "2024-05-16T21:30:00.000+08:00");
    assert!(
        t[0]["outcome"].as_str().unwrap_or("").contains("74 tasks"),
        "{}",
        t[0]
    );
    let nightly: Vec<&str> = t
        .iter()
        .filter(|r| r["job"] == "nightly")
        .filter_map(|r| r["slot"].as_str())
        .collect();
    assert_eq!(nightly.len(), 18, "17 May .. 3 June, one a night");
    assert_eq!(nightly[0], "2024-05-17T01:30:00+08:00");
    let reports: Vec<&Value> = t.iter().filter(|r| r["job"] == "report").collect();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0]["slot"], "2024-06-01T08:00:00+08:00");

    // Divisions report in June: a task scheduled, completed and published; another completed
    // but not published within its 5 working days.
    let t1 = "henan-2024-hazchem-001";
    let t2 = "henan-2024-hazchem-002";
    for t in [t1, t2] {
        on(
            db,
            "2024-06-04",
            &["task", "schedule", t, "--date", "2024-06-05"],
        );
        on(
            db,
            "2024-06-05",
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
    }
    on(
        db,
        "2024-06-07",
        &["task", "publish", t1, "--date", "2024-06-07"],
    );
    let t = rehearse(db, &plan, "2024-07-02");
    let outcome = |day: &str| {
        t.iter()
            .find(|r| r["job"] == "nightly" && r["slot"].as_str().unwrap_or("").starts_with(day))
            .and_then(|r| r["outcome"].as_str())
            .unwrap_or("")
            .to_string()
    };
    // Every task has a proposed date; t2's results were due on 13 June (5 June + 5 working
    // days, 10 June a holiday): late from the night of the 14th, and escalated once.
    for (day, expected) in [
        ("2024-06-13", "0 overdue item(s)"),
        ("2024-06-14", "1 overdue item(s)"),
        ("2024-06-17", "1 overdue item(s)"),
    ] {
        assert!(
            outcome(day).starts_with(expected),
            "{day}: {}",
            outcome(day)
        );
    }
    assert!(
        outcome("2024-06-14").ends_with("1 notice(s) queued (0 函告)"),
        "{}",
        outcome("2024-06-14")
    );
    assert!(
        outcome("2024-06-17").ends_with("0 notice(s) queued (0 函告)"),
        "{}",
        outcome("2024-06-17")
    );
    let june = t
        .iter()
        .find(|r| r["job"] == "report")
        .expect("July's report of June");
    assert_eq!(june["slot"], "2024-07-01T08:00:00+08:00");
    let written: Value = serde_json::from_slice(
        &std::fs::read(db.path().join("data/reports/2024-06.json")).expect("report file"),
    )
    .expect("json");
    let asked = on(db, "2024-07-02", &["report", "--month", "2024-06"]);
    assert_eq!(written["divisions"], asked["divisions"]);
    let hazchem = asked["divisions"]
        .as_array()
        .and_then(|d| d.iter().find(|x| x["division"] == "hazchem"))
        .cloned()
        .expect("hazchem");
    assert_eq!(
        (&hazchem["completed"], &hazchem["published_on_time"]),
        (&Value::from(2), &Value::from(1))
    );
    // June's report is issued: a fact cannot be slipped in behind it under an earlier
    // `--today`; entered as of now it counts from its own date and June stands.
    let schedule = [
        "task",
        "schedule",
        "henan-2024-hazchem-003",
        "--date",
        "2024-07-10",
    ];
    let err = common::refused(db, "2024-06-30", &schedule);
    assert!(err.contains("monthly report was issued"), "{err}");
    on(db, "2024-07-02", &schedule);
    let again = on(db, "2024-07-02", &["report", "--month", "2024-06"]);
    assert_eq!(again["divisions"], written["divisions"]);

    // Once and only once: every slot up to 2 July is done, a second rehearsal runs nothing.
    assert!(rehearse(db, &plan, "2024-07-02").is_empty());
    let runs = job_runs(db);
    let slots: HashSet<(&str, &str)> = runs.iter().map(|r| (r.0.as_str(), r.1.as_str())).collect();
    assert_eq!(slots.len(), runs.len());
    assert!(runs.iter().all(|r| r.2 == "done"), "{runs:?}");
    let nights = runs.iter().filter(|r| r.0 == "nightly").count();
    assert_eq!(nights, 47, "17 May .. 2 July");
    assert_eq!(db.json(&["audit", "verify", "--json"])["ok"], true);

    // The rest of the year with the 2024 plan; a task inspected on 30 December, its results
    // due in January (5 working days, 1 January a holiday: 7 January).
    rehearse(db, &plan, "2024-12-30 12:00");
    let t3 = "henan-2024-hazchem-003";
    on(
        db,
        "2024-12-30",
        &[
            "task",
            "complete",
            t3,
            "--date",
            "2024-12-30",
            "--outcome",
            "no-issues",
        ],
    );
    // On 1 January the department switches to the 2025 plan: 2024's tasks stay watched.
    let plan_2025 = repo("rules/henan-2025.rhai").display().to_string();
    rehearse(db, &plan_2025, "2025-06-01 12:00");
    assert!(rehearse(db, &plan_2025, "2025-06-01 12:00").is_empty());
    let runs = job_runs(db);
    let slots: HashSet<(&str, &str)> = runs.iter().map(|r| (r.0.as_str(), r.1.as_str())).collect();
    assert_eq!(slots.len(), runs.len(), "each slot once");
    let not_done: Vec<_> = runs
        .iter()
        .filter(|r| r.2 != "done" && !(r.0 == "draw" && r.1.starts_with("2025")))
        .collect();
    assert!(not_done.is_empty(), "{not_done:?}");
    let freeze_2025 = runs
        .iter()
        .find(|r| r.0 == "freeze" && r.1.starts_with("2025"))
        .expect("the 2025 freeze");
    assert_eq!(freeze_2025.1, "2025-04-08T09:00:00+08:00");
    // One nightly check every night with no gap, one report on the first of every month,
    // whatever plan was active; each written report is what `report --month` says.
    let mut nights: Vec<chrono::NaiveDate> = runs
        .iter()
        .filter(|r| r.0 == "nightly")
        .filter_map(|r| r.1.get(..10)?.parse().ok())
        .collect();
    nights.sort();
    assert_eq!(
        nights.first().map(|d| d.to_string()).as_deref(),
        Some("2024-05-17")
    );
    assert_eq!(
        nights.last().map(|d| d.to_string()).as_deref(),
        Some("2025-06-01")
    );
    assert!(
        nights.windows(2).all(|w| (w[1] - w[0]).num_days() == 1),
        "a nightly check every night"
    );
    let mut reports: Vec<&str> = runs
        .iter()
        .filter(|r| r.0 == "report")
        .map(|r| r.1.as_str())
        .collect();
    reports.sort();
    let firsts: Vec<String> = (6..=12)
        .map(|m| format!("2024-{m:02}-01T08:00:00+08:00"))
        .chain((1..=6).map(|m| format!("2025-{m:02}-01T08:00:00+08:00")))
        .collect();
    assert_eq!(reports, firsts);
    for month in (5..=12)
        .map(|m| format!("2024-{m:02}"))
        .chain((1..=5).map(|m| format!("2025-{m:02}")))
    {
        let written: Value = serde_json::from_slice(
            &std::fs::read(db.path().join(format!("data/reports/{month}.json")))
                .expect("report file"),
        )
        .expect("json");
        let asked = on(db, "2025-06-02", &["report", "--month", &month]);
        assert_eq!(written["divisions"], asked["divisions"], "{month}");
    }
    // The 2024 task's reminders (2 and 1 working days before 7 January) and its escalation
    // (the night after) came on their days, under the 2025 plan.
    let notices = |prefix: &str| {
        db.query_strings(&format!(
            "SELECT substr(o.created_at, 1, 10) FROM notice_items i \
             JOIN outbox o ON o.id = i.outbox_id WHERE i.item LIKE '{prefix}/{t3}/Publish/%' \
             ORDER BY o.created_at"
        ))
    };
    let mut reminded = notices("reminder");
    reminded.dedup();
    assert_eq!(reminded, ["2025-01-03", "2025-01-06"]);
    assert_eq!(notices("escalation"), ["2025-01-08"]);
    assert_eq!(db.json(&["audit", "verify", "--json"])["ok"], true);
}

on_both_backends!(a_rehearsed_year);

/// The Henan 2024 plan with an OS seed: the rehearsal draws unattended.
fn unattended_plan(dir: &Path) -> String {
    let text = std::fs::read_to_string(plan()).expect("plan");
    let start = text.find("    seed: #{").expect("seed");
    let end = start + text[start..].find("    },\n").expect("end") + "    },\n".len();
    let text = format!(
        "{}    seed: #{{ kind: \"os\", source: \"test\", available_at: \"2024-05-16 21:15\" }},\n{}",
        &text[..start],
        &text[end..]
    );
    let path = dir.join("unattended.rhai");
    std::fs::write(&path, text).expect("plan");
    path.display().to_string()
}

/// kill -9 at random moments of a rehearsed year (up to three times in a row), then a
/// rehearsal left to finish: one manifest, one official draw with all its tasks, every slot
/// done once, the audit chain intact, the published history verified. Each trial starts from a
/// fresh database. `SUIJI_CRASH_TRIALS` sets the number of trials (CI: a few;
/// `tools/crash-trials.sh`: 100).
#[test]
fn killed_at_random_moments() {
    let trials = common::crash_trials();
    let until = "2024-07-02";
    let mut moments = common::Moments::new();
    let mut rand = |n: u64| moments.below(n);
    let (mut kills, mut mid_run) = (0, 0);
    // How long an uninterrupted rehearsal takes: kills fall anywhere inside it.
    let full = {
        let Some(db) = TestDb::new(common::Backend::Sqlite) else {
            return;
        };
        common::load_demo(&db);
        let plan = unattended_plan(db.path());
        let started = Instant::now();
        rehearse(&db, &plan, until);
        started.elapsed()
    };
    for trial in 0..trials {
        let Some(db) = TestDb::new(common::Backend::Sqlite) else {
            return;
        };
        common::load_demo(&db);
        let plan = unattended_plan(db.path());
        for _ in 0..=rand(3) {
            let started = Instant::now();
            let mut child = db
                .bare()
                .args(["--db", &db.url, "serve", "--plan", &plan, "--until", until])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn");
            let at = Duration::from_millis(rand(full.as_millis() as u64));
            while started.elapsed() < at && child.try_wait().ok().flatten().is_none() {
                std::thread::sleep(Duration::from_millis(5));
            }
            if child.try_wait().ok().flatten().is_none() {
                mid_run += 1;
            }
            let _ = child.kill();
            let _ = child.wait();
            kills += 1;
        }
        rehearse(&db, &plan, until);
        assert!(rehearse(&db, &plan, until).is_empty(), "trial {trial}");
        let stats = db.json(&["stats", "--json"]);
        assert_eq!(
            (&stats["manifests"], &stats["draws"], &stats["tasks"]),
            (&Value::from(1), &Value::from(1), &Value::from(74)),
            "trial {trial}"
        );
        let runs = job_runs(&db);
        assert!(
            runs.iter().all(|r| r.2 == "done"),
            "trial {trial}: {runs:?}"
        );
        let per_job: HashMap<&str, usize> = runs.iter().fold(HashMap::new(), |mut m, r| {
            *m.entry(r.0.as_str()).or_insert(0) += 1;
            m
        });
        let expected: HashMap<&str, usize> =
            [("freeze", 1), ("draw", 1), ("nightly", 47), ("report", 2)].into();
        assert_eq!(per_job, expected, "trial {trial}");
        assert_eq!(db.json(&["audit", "verify", "--json"])["ok"], true);
        let dir = db.path().join("public/2024/henan-2024");
        let out = db.suiji(&["verify", dir.to_str().expect("utf-8")]);
        assert!(
            out.status.success(),
            "trial {trial}: {}",
            common::stdout(&out)
        );
    }
    eprintln!(
        "{trials} trials, {kills} kill -9, {mid_run} of them mid-run (a run takes about {} ms): \
         nothing lost or duplicated",
        full.as_millis()
    );
}

/// A plan whose schedules fall in the next minutes of the real clock, with an OS seed (the
/// daemon draws unattended), and the configuration to run it (fast leader polls, holiday data
/// for the years it may reach).
struct LivePlan {
    plan: String,
    config: String,
    draw_at: chrono::DateTime<chrono_tz::Tz>,
}

fn live_plan(
    dir: &Path,
    freeze_in: i64,
    available_in: i64,
    draw_in: i64,
    nightly: &str,
) -> LivePlan {
    let tz = chrono_tz::Asia::Shanghai;
    let now = chrono::Utc::now().with_timezone(&tz);
    let at = |s: i64| now + chrono::Duration::seconds(s);
    let cron = |t: chrono::DateTime<chrono_tz::Tz>| {
        format!(
            "{} {} {} {} {} *",
            t.format("%-S"),
            t.format("%-M"),
            t.format("%-H"),
            t.day(),
            t.month()
        )
    };
    let available = at(available_in);
    let draw_at = at(draw_in);
    let year = now.year();
    let text = std::fs::read_to_string(repo("rules/henan-2024.rhai")).expect("plan");
    let start = text.find("    seed: #{").expect("seed");
    let end = start + text[start..].find("    },\n").expect("end") + "    },\n".len();
    let sched = text.find("    schedules: #{").expect("schedules");
    let sched_end = sched + text[sched..].find("    },\n").expect("end") + "    },\n".len();
    let text = format!(
        "{}    seed: #{{ kind: \"os\", source: \"test\", available_at: \"{}\" }},\n{}    schedules: #{{ freeze: \"{}\", draw: \"{}\" }},\n{}",
        &text[..start],
        available.format("%Y-%m-%d %H:%M:%S"),
        &text[end..sched],
        cron(at(freeze_in)),
        cron(draw_at),
        &text[sched_end..]
    )
    .replace("id: \"henan-2024\"", "id: \"live\"")
    .replace("year: 2024", &format!("year: {year}"))
    .replace(
        "window: #{ start: \"2024-05-20\", end: \"2024-12-31\" }",
        &format!("window: #{{ start: \"{year}-01-01\", end: \"{year}-12-31\" }}"),
    );
    let plan = dir.join("live.rhai");
    std::fs::write(&plan, text).expect("plan");
    // Holiday data for years the shipped files do not have yet: plain weekends (test data).
    let cal = dir.join("calendar");
    std::fs::create_dir_all(&cal).expect("mkdir");
    for y in [year + 1, year + 2] {
        if y > 2026 {
            std::fs::write(
                cal.join(format!("{y}.toml")),
                format!("year = {y}\nnotice = \"test data: weekends only\"\nholidays = []\nworkdays = []\n"),
            )
            .expect("calendar");
        }
    }
    let config = dir.join("live.toml");
    std::fs::write(
        &config,
        format!(
            "[calendar]\ndir = \"{}\"\n[daemon]\nleader_poll_secs = 1\nwaiting_recheck_secs = 1\n\
             nightly = \"{nightly}\"\n",
            cal.display()
        ),
    )
    .expect("config");
    LivePlan {
        plan: plan.display().to_string(),
        config: config.display().to_string(),
        draw_at,
    }
}

/// A daemon a test started: killed when dropped, so that a failed assertion never leaves it
/// running against a database the test is dropping.
struct Daemon(Child);

impl std::ops::Deref for Daemon {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Daemon {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

fn spawn_serve(db: &TestDb, live: &LivePlan, log: &str) -> Daemon {
    spawn_serve_at(db, &db.url, live, log)
}

/// The same through another URL to the test's database (a proxy in front of it).
fn spawn_serve_at(db: &TestDb, url: &str, live: &LivePlan, log: &str) -> Daemon {
    let log = std::fs::File::create(db.path().join(log)).expect("log");
    db.bare()
        .args([
            "--db",
            url,
            "--config",
            &live.config,
            "serve",
            "--plan",
            &live.plan,
        ])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .map(Daemon)
        .expect("spawn serve")
}

fn wait_for(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while start.elapsed() < limit {
        if ok() {
            return start.elapsed();
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    panic!("{what}: not within {limit:?}");
}

fn runs_of(db: &TestDb, job: &str) -> Vec<(String, String, String)> {
    db.query_strings(&format!(
        "SELECT slot || '|' || status || '|' || owner FROM job_runs WHERE job = '{job}' ORDER BY slot"
    ))
    .iter()
    .map(|r| {
        let p: Vec<&str> = r.split('|').collect();
        (p[0].to_string(), p[1].to_string(), p[2].to_string())
    })
    .collect()
}

fn stop(mut child: Daemon) {
    // SAFETY: kill on our own child's pid.
    unsafe {
        libc_kill(child.id() as i32, 15);
    }
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        if let Ok(Some(status)) = child.try_wait() {
            assert!(status.success(), "serve exited with {status}");
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    panic!("serve did not stop within 10 s of SIGTERM");
}

unsafe extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

/// Down across the draw and several nightly slots: on start the draw runs once, and one
/// nightly check for all the missed ones.
fn downtime(db: &TestDb) {
    common::load_demo(db);
    let live = live_plan(db.path(), 4, 12, 14, "*/5 * * * * *");
    let first = spawn_serve(db, &live, "serve-1.log");
    wait_for("the freeze", Duration::from_secs(30), || {
        runs_of(db, "freeze").iter().any(|r| r.1 == "done")
    });
    let alive = || db.json(&["--config", &live.config, "status", "--json"])["leader_alive"].clone();
    wait_for("the leader seen alive", Duration::from_secs(10), || {
        alive() == true
    });
    stop(first);
    let stopped = chrono::Utc::now();
    // Stay down across the draw slot and a few nightly slots.
    let resume = live.draw_at.with_timezone(&chrono::Utc) + chrono::Duration::seconds(12);
    while chrono::Utc::now() < resume {
        std::thread::sleep(Duration::from_millis(200));
    }
    // Its heartbeat stopped with it: status no longer calls it alive.
    assert_eq!(alive(), false);
    let restarted = chrono::Utc::now();
    let second = spawn_serve(db, &live, "serve-2.log");
    wait_for("the draw", Duration::from_secs(30), || {
        runs_of(db, "draw").iter().any(|r| r.1 == "done")
    });
    // The public site: the daemon built it, and rebuilds it when an event is recorded by
    // another process that publishes elsewhere (another instance's folder).
    let year = live.draw_at.year().to_string();
    let plan_page = db.path().join("public").join(&year).join("live/plan.html");
    wait_for("the site", Duration::from_secs(30), || plan_page.is_file());
    let tasks = db.json(&["task", "list", "--json"]);
    let id = tasks[0]["id"].as_str().expect("task id").to_string();
    let elsewhere = db.path().join("elsewhere");
    let out = db.suiji_env(
        &[
            "--config",
            &live.config,
            "task",
            "replace",
            &id,
            "--reason",
            "企业已注销",
        ],
        &[("SUIJI_PUBLIC__DIR", elsewhere.to_str().expect("utf-8"))],
    );
    common::assert_ok(&out, &["task", "replace"]);
    assert!(elsewhere.join(&year).join("live/plan.html").is_file());
    let took = wait_for("the daemon's rebuild", Duration::from_secs(15), || {
        std::fs::read_to_string(&plan_page).is_ok_and(|p| p.contains("已替补"))
    });
    eprintln!(
        "site rebuilt by the daemon {:.1} s after an event recorded elsewhere",
        took.as_secs_f64()
    );
    stop(second);
    assert_eq!(runs_of(db, "draw").len(), 1);
    assert_eq!(
        db.json(&["stats", "--json"])["tasks"],
        75,
        "74 and a replacement"
    );
    let tz = chrono_tz::Asia::Shanghai;
    let between = |from: chrono::DateTime<chrono::Utc>, to: chrono::DateTime<chrono::Utc>| {
        runs_of(db, "nightly")
            .into_iter()
            .filter(|r| {
                chrono::DateTime::parse_from_rfc3339(&r.0)
                    .is_ok_and(|t| t > from.with_timezone(&tz) && t <= to.with_timezone(&tz))
            })
            .collect::<Vec<_>>()
    };
    // Several slots were missed; at most the latest of them ran (a slot that fell while the
    // second daemon was starting is its own, hence the 5 s margin for the catch-up itself).
    let in_gap = between(stopped, restarted);
    assert!(
        in_gap.len() <= 1,
        "one nightly check for the missed ones: {in_gap:?}"
    );
    let caught_up = between(stopped, restarted + chrono::Duration::seconds(5));
    assert!(!caught_up.is_empty(), "the missed nightly check ran");
}

on_both_backends!(downtime);

/// Two daemons on one PostgreSQL database: one leads and runs every slot once; killed, the
/// other takes over well within 60 s.
#[test]
fn two_instances_on_postgres() {
    let Some(db) = TestDb::new(common::Backend::Postgres) else {
        return;
    };
    common::load_demo(&db);
    let live = live_plan(db.path(), 3, 8, 10, "*/2 * * * * *");
    let mut a = spawn_serve(&db, &live, "a.log");
    std::thread::sleep(Duration::from_millis(700));
    let b = spawn_serve(&db, &live, "b.log");
    wait_for("the draw", Duration::from_secs(40), || {
        runs_of(&db, "draw").iter().any(|r| r.1 == "done")
    });
    std::thread::sleep(Duration::from_secs(4));
    let leader = db.query_strings("SELECT holder FROM leader")[0].clone();
    // host/pid/nonce
    assert!(leader.contains(&format!("/{}/", a.id())), "{leader}");
    let before: HashSet<String> = runs_of(&db, "nightly").into_iter().map(|r| r.0).collect();
    assert!(
        runs_of(&db, "nightly").iter().all(|r| r.2 == leader),
        "only the leader runs jobs"
    );
    a.kill().expect("kill -9 the leader");
    let _ = a.wait();
    let killed = Instant::now();
    let took = wait_for("a new leader", Duration::from_secs(60), || {
        db.query_strings("SELECT holder FROM leader")[0] != leader
    });
    let successor = db.query_strings("SELECT holder FROM leader")[0].clone();
    assert!(successor.contains(&format!("/{}/", b.id())), "{successor}");
    wait_for(
        "a nightly run by the successor",
        Duration::from_secs(20),
        || runs_of(&db, "nightly").iter().any(|r| r.2 == successor),
    );
    stop(b);
    let runs = runs_of(&db, "nightly");
    let slots: HashSet<&String> = runs.iter().map(|r| &r.0).collect();
    assert_eq!(slots.len(), runs.len(), "no slot ran twice");
    assert!(runs.iter().all(|r| r.1 == "done"), "{runs:?}");
    assert!(runs.len() > before.len());
    assert_eq!(db.json(&["stats", "--json"])["draws"], 1);
    eprintln!(
        "takeover after kill -9: {:.1} s (leader poll 1 s); {} nightly slots, each once",
        took.as_secs_f64(),
        runs.len()
    );
    let _ = killed;
}

/// A follower whose plan is not the leader's (another script) says so and does not lead while
/// that leader is seen; after its leader is killed it waits out `daemon.plan_handover_secs`
/// from the leader's last heartbeat, then takes over, saying the plan changes with it.
#[test]
fn a_follower_with_another_plan() {
    let Some(db) = TestDb::new(common::Backend::Postgres) else {
        return;
    };
    common::load_demo(&db);
    let live = live_plan(db.path(), 300, 600, 900, "0 30 1 * * *");
    let mut a = spawn_serve(&db, &live, "a.log");
    wait_for("a leader", Duration::from_secs(30), || {
        db.query_strings("SELECT holder FROM leader")
            .first()
            .is_some_and(|h| h.contains(&format!("/{}/", a.id())))
    });
    let other = db.path().join("other.rhai");
    let text = std::fs::read_to_string(&live.plan).expect("plan");
    std::fs::write(&other, format!("{text}\n// edited on this instance only\n")).expect("plan");
    let config = db.path().join("other.toml");
    let text = std::fs::read_to_string(&live.config).expect("config");
    std::fs::write(
        &config,
        text.replace(
            "leader_poll_secs = 1",
            "leader_poll_secs = 1\nplan_handover_secs = 6",
        ),
    )
    .expect("config");
    let other = LivePlan {
        plan: other.display().to_string(),
        config: config.display().to_string(),
        draw_at: live.draw_at,
    };
    let b = spawn_serve(&db, &other, "b.log");
    let log = |name: &str| std::fs::read_to_string(db.path().join(name)).unwrap_or_default();
    wait_for("the follower to say so", Duration::from_secs(30), || {
        log("b.log").contains("will not lead with other plans")
    });
    a.kill().expect("kill -9 the leader");
    let _ = a.wait();
    let last_seen = db.query_strings("SELECT seen FROM leader")[0].clone();
    wait_for("the follower to take over", Duration::from_secs(60), || {
        db.query_strings("SELECT holder FROM leader")[0].contains(&format!("/{}/", b.id()))
    });
    let since = db.query_strings("SELECT since FROM leader")[0].clone();
    let t = |s: &str| suiji::clock::parse_time(s).expect("time");
    let waited = t(&since) - t(&last_seen);
    assert!(
        waited >= chrono::Duration::seconds(6),
        "took over {waited} after the leader was last seen"
    );
    let said = log("b.log");
    assert!(
        said.contains("took over as leader with plan")
            && said.contains("the department's plans change with this failover"),
        "{said}"
    );
    stop(b);
}

/// One daemon per SQLite file: the second is refused at once, saying why.
#[test]
fn second_serve_on_sqlite_is_refused() {
    let Some(db) = TestDb::new(common::Backend::Sqlite) else {
        return;
    };
    common::load_demo(&db);
    let live = live_plan(db.path(), 300, 600, 900, "0 30 1 * * *");
    let first = spawn_serve(&db, &live, "first.log");
    wait_for("the first daemon", Duration::from_secs(20), || {
        std::fs::read_to_string(db.path().join("first.log")).is_ok_and(|l| l.contains("ready"))
    });
    let out = db.suiji(&["--config", &live.config, "serve", "--plan", &live.plan]);
    assert_eq!(out.status.code(), Some(2));
    let err = common::stderr(&out);
    assert!(
        err.contains("already runs on") && err.contains(&format!("/{}", first.id())),
        "{err}"
    );
    stop(first);
}

/// A slot left `running` under this very process's name (its end could not be recorded; or, in
/// a container, the restarted daemon is PID 1 on the same host name again): the leader claims
/// it again at once; a slot done stays done. Process names carry a nonce drawn at start, so a
/// restarted process never passes for the one that died.
fn a_slot_left_running_is_taken_over(db: &TestDb) {
    let me = suiji::instance::id();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let settings = suiji::config::Settings::shipped().expect("settings");
        let url = suiji::config::DatabaseUrl::new(db.url.clone());
        let store = suiji::store::Store::open_existing(&url, &settings.database)
            .await
            .expect("store");
        let clock = suiji::clock::SystemClock;
        let slot = "2024-05-13T09:00:00+08:00";
        let claim = |take_over| store.claim("freeze", "p", slot, me, take_over, &clock);
        let suiji::store::Claim::Won { run_id, attempt } = claim(true).await.expect("claim") else {
            panic!("a new slot is won");
        };
        assert_eq!(attempt, 1);
        // Left running: not by a follower, but by the leader at once, whoever's name it bears.
        assert_eq!(
            claim(false).await.expect("claim"),
            suiji::store::Claim::NotYet
        );
        assert_eq!(
            claim(true).await.expect("claim"),
            suiji::store::Claim::Won { run_id, attempt: 2 }
        );
        store
            .finish_run(run_id, me, "done", Some("ok"), None, None, 1, &clock)
            .await
            .expect("finish");
        assert_eq!(claim(true).await.expect("claim"), suiji::store::Claim::Done);
        store.close().await;
    });
    assert_eq!(me.matches('/').count(), 2, "host/pid/nonce: {me}");
}

on_both_backends!(a_slot_left_running_is_taken_over);

/// An SMTP server that takes a message's envelope and text and then never answers: a relay
/// that hangs. Returns its port and how many messages it has swallowed.
fn hanging_relay() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let swallowed = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = swallowed.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let count = count.clone();
            std::thread::spawn(move || {
                let mut out = conn.try_clone().expect("clone");
                let _ = out.write_all(b"220 hang ESMTP\r\n");
                let mut lines = BufReader::new(conn).lines();
                let mut data = false;
                while let Some(Ok(line)) = lines.next() {
                    if data {
                        if line == "." {
                            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            // Accepted the text, and never says so.
                            std::thread::sleep(Duration::from_secs(3600));
                        }
                        continue;
                    }
                    let reply: &[u8] = match line.get(..4).map(str::to_ascii_uppercase).as_deref() {
                        Some("EHLO") | Some("HELO") => b"250 hang\r\n",
                        Some("DATA") => {
                            data = true;
                            b"354 go on\r\n"
                        }
                        Some("QUIT") => return,
                        _ => b"250 ok\r\n",
                    };
                    let _ = out.write_all(reply);
                }
            });
        }
    });
    (port, swallowed)
}

/// A reload (SIGHUP, or an edit of the configuration or the rule file) re-reads the
/// configuration and follows its `rules.file`; `status` shows what the daemon runs, and keeps
/// showing the plan, its manifest and its jobs when the rule file on disk is broken (the daemon
/// runs the last good version); a broken configuration is refused and the daemon goes on.
#[test]
fn a_reload_follows_the_configuration() {
    let Some(db) = TestDb::new(common::Backend::Sqlite) else {
        return;
    };
    common::load_demo(&db);
    let live = live_plan(db.path(), 3, 3600, 3700, "0 30 1 * * *");
    let base = std::fs::read_to_string(&live.config).expect("config");
    let write_config = |plan: &str, nightly: &str| {
        let text = base.replace(
            "nightly = \"0 30 1 * * *\"",
            &format!("nightly = \"{nightly}\""),
        );
        std::fs::write(&live.config, format!("{text}[rules]\nfile = \"{plan}\"\n"))
            .expect("config");
    };
    write_config(&live.plan, "0 30 1 * * *");
    let second = live.plan.replace("live.rhai", "second.rhai");
    let text = std::fs::read_to_string(&live.plan).expect("plan");
    std::fs::write(&second, text.replace("id: \"live\"", "id: \"second\"")).expect("plan");
    let log_path = db.path().join("serve.log");
    let mut daemon = db
        .bare()
        .args(["--db", &db.url, "--config", &live.config, "serve"])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).expect("log"))
        .spawn()
        .map(Daemon)
        .expect("spawn serve");
    let status = || db.json(&["--config", &live.config, "status", "--json"]);
    let runs = |k: &str| {
        let r = status()["leader"]["runs"].clone();
        match k {
            "plan" => r["plans"][0]["plan"].clone(),
            _ => r[k].clone(),
        }
    };
    wait_for("the freeze", Duration::from_secs(30), || {
        runs_of(&db, "freeze").iter().any(|r| r.1 == "done")
    });
    wait_for("the daemon's plan", Duration::from_secs(10), || {
        runs("plan") == "live"
    });
    assert_eq!(runs("nightly"), "0 30 1 * * *");
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();

    // Another plan file and another nightly schedule, then SIGHUP.
    write_config(&second, "0 0 3 * * *");
    // SAFETY: a signal to our own child.
    unsafe {
        libc_kill(daemon.id() as i32, 1);
    }
    wait_for("the new configuration", Duration::from_secs(15), || {
        runs("plan") == "second" && runs("nightly") == "0 0 3 * * *"
    });
    let text = log();
    assert!(text.contains("configuration reloaded"), "{text}");
    assert!(text.contains("changed=rules, daemon"), "{text}");
    assert!(text.contains("rule file changed"), "{text}");

    // The rule file on disk broken: refused, and status still shows the plan the daemon runs.
    std::fs::write(&second, "plan(#{ id: ").expect("break the plan");
    wait_for("the refusal", Duration::from_secs(15), || {
        log().contains("rules reload refused")
    });
    let s = status();
    assert!(s["plan_errors"][0].is_string(), "{s}");
    assert_eq!(s["plans"][0]["id"], "second", "{s}");
    assert_eq!(s["plans"][0]["from_daemon"], true);
    let jobs: Vec<&str> = s["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .filter_map(|j| j["job"].as_str())
        .collect();
    assert_eq!(jobs, ["freeze", "draw", "nightly", "report"], "{s}");
    let text = common::stdout(&db.suiji(&["--config", &live.config, "status"]));
    assert!(text.contains("as the running daemon reports it"), "{text}");

    // A configuration that does not load: refused, the daemon goes on with the last good one.
    std::fs::write(&live.config, "[daemon\n").expect("break the config");
    unsafe {
        libc_kill(daemon.id() as i32, 1);
    }
    wait_for("the refused configuration", Duration::from_secs(15), || {
        log().contains("configuration reload refused")
    });
    std::thread::sleep(Duration::from_secs(2));
    assert!(daemon.try_wait().ok().flatten().is_none(), "still running");
    write_config(&live.plan, "0 30 1 * * *");
    stop(daemon);
}

/// A relay that accepts the mail and then hangs: only mail waits. The draw's notices are stuck
/// in sends that time out, and meanwhile the jobs run on time, every nightly check on its slot.
#[test]
fn a_hanging_relay_delays_only_mail() {
    let Some(db) = TestDb::production(common::Backend::Sqlite) else {
        return;
    };
    common::import_registry(&db, &repo("examples/henan"));
    let live = live_plan(db.path(), 3, 8, 9, "*/3 * * * * *");
    let (port, swallowed) = hanging_relay();
    let mut config = std::fs::read_to_string(&live.config).expect("config");
    let http = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
    config = config.replace(
        "[daemon]\n",
        &format!("[daemon]\nhttp = \"127.0.0.1:{http}\"\n"),
    );
    config.push_str(&format!(
        "[smtp]\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\ntimeout_secs = 20\n"
    ));
    std::fs::write(&live.config, config).expect("config");
    let serve = spawn_serve(&db, &live, "serve.log");
    wait_for("the draw", Duration::from_secs(40), || {
        runs_of(&db, "draw").iter().any(|r| r.1 == "done")
    });
    wait_for("a send that hangs", Duration::from_secs(20), || {
        swallowed.load(std::sync::atomic::Ordering::SeqCst) > 0
    });
    let drawn = chrono::Utc::now();
    // Three nightly slots come while the first send hangs (20 s): each runs on time.
    std::thread::sleep(Duration::from_secs(10));
    // Notices due a minute ago and still waiting: /healthz says so.
    let took = wait_for(
        "/healthz reports the stuck mail",
        Duration::from_secs(120),
        || get(http, "/healthz").contains("mail:"),
    );
    assert!(healthz(http).contains("503"));
    eprintln!(
        "/healthz: {} ({:.0} s after the first hung send)",
        get(http, "/healthz").lines().last().unwrap_or(""),
        took.as_secs_f64() + 10.0
    );
    stop(serve);
    let tz = chrono_tz::Asia::Shanghai;
    let nightly_after: Vec<_> = runs_of(&db, "nightly")
        .into_iter()
        .filter(|r| {
            r.1 == "done"
                && chrono::DateTime::parse_from_rfc3339(&r.0)
                    .is_ok_and(|t| t > drawn.with_timezone(&tz))
        })
        .collect();
    assert!(
        nightly_after.len() >= 2,
        "nightly checks ran while the relay hung: {nightly_after:?}"
    );
    let outbox = db.json(&["outbox", "list", "--json"]);
    assert!(
        outbox
            .as_array()
            .expect("outbox")
            .iter()
            .all(|n| n["status"] != "sent"),
        "nothing was delivered: {outbox}"
    );
}

/// A TCP proxy to PostgreSQL that can cut every connection and refuse new ones: a database
/// outage as the daemon sees it, without stopping the server other tests use.
struct Outage {
    port: u16,
    cut: std::sync::Arc<std::sync::atomic::AtomicBool>,
    open: std::sync::Arc<std::sync::Mutex<Vec<std::net::TcpStream>>>,
}

impl Outage {
    fn start(upstream: String) -> Outage {
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let cut = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let open = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (c, o) = (cut.clone(), open.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if c.load(Ordering::SeqCst) {
                    continue;
                }
                let Ok(server) = std::net::TcpStream::connect(&upstream) else {
                    continue;
                };
                for s in [&client, &server] {
                    if let (Ok(s), Ok(mut o)) = (s.try_clone(), o.lock()) {
                        o.push(s);
                    }
                }
                for (mut from, mut to) in [
                    (
                        client.try_clone().expect("clone"),
                        server.try_clone().expect("clone"),
                    ),
                    (server, client),
                ] {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
        Outage { port, cut, open }
    }

    fn down(&self) {
        self.cut.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Ok(mut o) = self.open.lock() {
            for s in o.drain(..) {
                let _ = s.shutdown(std::net::Shutdown::Both);
            }
        }
    }

    fn up(&self) {
        self.cut.store(false, std::sync::atomic::Ordering::SeqCst);
    }
}

/// The daemon's answer to GET `path`: the whole response.
fn get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let Ok(mut c) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return "no answer".into();
    };
    let _ = c.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = c.write_all(format!("GET {path} HTTP/1.1\r\nhost: x\r\n\r\n").as_bytes());
    let mut text = String::new();
    let _ = c.read_to_string(&mut text);
    text
}

fn healthz(port: u16) -> String {
    get(port, "/healthz")
        .lines()
        .next()
        .unwrap_or("")
        .to_string()
}

/// PostgreSQL gone for 20 s across the draw's slot: the daemon stays up, `/healthz` says the
/// database is unavailable meanwhile, and once it is back the draw runs, once.
#[test]
fn a_database_outage_is_waited_out() {
    let Some(db) = TestDb::production(common::Backend::Postgres) else {
        return;
    };
    common::import_registry(&db, &repo("examples/henan"));
    let live = live_plan(db.path(), 3, 9, 10, "*/3 * * * * *");
    let upstream = db
        .url
        .split('@')
        .nth(1)
        .and_then(|r| r.split('/').next())
        .expect("host");
    let name = db.url.rsplit('/').next().expect("database");
    let proxy = Outage::start(upstream.to_string());
    let http = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
    let mut config = std::fs::read_to_string(&live.config).expect("config");
    config = config.replace(
        "[daemon]\n",
        &format!("[daemon]\nhttp = \"127.0.0.1:{http}\"\n"),
    );
    std::fs::write(&live.config, config).expect("config");
    let url = format!("postgres://postgres@127.0.0.1:{}/{name}", proxy.port);
    let mut serve = spawn_serve_at(&db, &url, &live, "serve.log");
    wait_for("the freeze", Duration::from_secs(30), || {
        runs_of(&db, "freeze").iter().any(|r| r.1 == "done")
    });
    assert!(healthz(http).contains("200"), "{}", healthz(http));
    proxy.down();
    let down = chrono::Utc::now();
    std::thread::sleep(Duration::from_secs(3));
    assert!(healthz(http).contains("503"), "{}", healthz(http));
    let metrics = get(http, "/metrics");
    assert!(
        metrics.contains("suiji_database_up 0") && !metrics.contains("suiji_overdue_tasks"),
        "{metrics}"
    );
    // 60 s down, across the draw slot.
    let back = (live.draw_at.with_timezone(&chrono::Utc) + chrono::Duration::seconds(12))
        .max(down + chrono::Duration::seconds(60));
    while chrono::Utc::now() < back {
        assert!(
            serve.try_wait().expect("wait").is_none(),
            "the daemon ended"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    proxy.up();
    wait_for("the draw after the outage", Duration::from_secs(60), || {
        runs_of(&db, "draw").iter().any(|r| r.1 == "done")
    });
    wait_for("healthy again", Duration::from_secs(30), || {
        healthz(http).contains("200")
    });
    assert!(
        serve.try_wait().expect("wait").is_none(),
        "the daemon ended"
    );
    let metrics = get(http, "/metrics");
    assert!(
        metrics.contains("suiji_database_up 1") && metrics.contains("suiji_notices{status="),
        "{metrics}"
    );
    stop(serve);
    assert_eq!(runs_of(&db, "draw").len(), 1);
    assert_eq!(db.json(&["stats", "--json"])["draws"], 1);
    eprintln!(
        "PostgreSQL cut for {} s across the draw slot: the daemon stayed up and drew once",
        (back - down).num_seconds()
    );
}

/// SQLite's outage: another process holding the writer lock far past `busy_timeout_ms`, across
/// the draw slot. The daemon stays up, says so in its log, and once the lock is released draws
/// once and goes on with its nightly checks.
#[test]
fn a_locked_sqlite_is_waited_out() {
    let Some(db) = TestDb::new(common::Backend::Sqlite) else {
        return;
    };
    common::load_demo(&db);
    let live = live_plan(db.path(), 3, 19, 20, "*/3 * * * * *");
    let config = std::fs::read_to_string(&live.config).expect("config");
    std::fs::write(
        &live.config,
        format!("{config}[database]\nbusy_timeout_ms = 1000\n"),
    )
    .expect("config");
    let mut serve = spawn_serve(&db, &live, "serve.log");
    wait_for("the freeze", Duration::from_secs(30), || {
        runs_of(&db, "freeze").iter().any(|r| r.1 == "done")
    });
    // Another process takes the writer lock and keeps it for 60 s, across the draw slot.
    let url = db.url.clone();
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let holder = std::thread::spawn(move || {
        use sqlx::{Connection, Executor};
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            sqlx::any::install_default_drivers();
            let mut c = sqlx::AnyConnection::connect(&url).await.expect("connect");
            c.execute("BEGIN IMMEDIATE").await.expect("lock");
            let _ = locked_tx.send(chrono::Utc::now());
            tokio::time::sleep(Duration::from_secs(60)).await;
            c.execute("COMMIT").await.expect("unlock");
            c.close().await.ok();
        });
        chrono::Utc::now()
    });
    let locked = locked_rx.recv().expect("locked");
    // While the lock is surely held (not in its last seconds), and past the draw's slot, no
    // draw can have been recorded.
    let mut looked_during = false;
    while !holder.is_finished() {
        assert!(
            serve.try_wait().expect("wait").is_none(),
            "the daemon ended"
        );
        let now = chrono::Utc::now();
        if now > live.draw_at.with_timezone(&chrono::Utc) + chrono::Duration::seconds(2)
            && now < locked + chrono::Duration::seconds(55)
        {
            assert!(
                runs_of(&db, "draw").is_empty(),
                "no draw could be recorded while the lock was held"
            );
            looked_during = true;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let released = holder.join().expect("holder");
    assert!(looked_during, "the draw's slot fell inside the lock");
    wait_for("the draw after the outage", Duration::from_secs(60), || {
        runs_of(&db, "draw").iter().any(|r| r.1 == "done")
    });
    let tz = chrono_tz::Asia::Shanghai;
    wait_for(
        "a nightly check after the outage",
        Duration::from_secs(30),
        || {
            runs_of(&db, "nightly").iter().any(|r| {
                r.1 == "done"
                    && chrono::DateTime::parse_from_rfc3339(&r.0)
                        .is_ok_and(|t| t > released.with_timezone(&tz))
            })
        },
    );
    assert!(
        serve.try_wait().expect("wait").is_none(),
        "the daemon ended"
    );
    stop(serve);
    let log = std::fs::read_to_string(db.path().join("serve.log")).expect("log");
    assert!(log.contains("database is busy"), "{log}");
    assert_eq!(runs_of(&db, "draw").len(), 1);
    assert_eq!(db.json(&["stats", "--json"])["draws"], 1);
    eprintln!(
        "writer lock held {:.0} s across the draw slot: the daemon stayed up and drew once after",
        (released - locked).num_milliseconds() as f64 / 1000.0
    );
}

/// A store whose daemon ran the nightly check and the report under the plan's id (before they
/// became the department's): none of those runs again, and nothing before the first of them is
/// owed, so an upgrade never sends reports about months no daemon watched.
fn an_upgraded_store_owes_nothing_old(db: &TestDb) {
    common::load_demo(db);
    db.sql(&[
        "INSERT INTO job_runs (job, plan_id, slot, status, owner, attempts, started_at, \
         finished_at, outcome) VALUES ('nightly', 'henan-2024', '2024-06-15T01:30:00+08:00', \
         'done', 'old/1/x', 1, '2024-06-15T01:30:00.000+08:00', \
         '2024-06-15T01:30:01.000+08:00', 'an older daemon')",
    ]);
    let plan = unattended_plan(db.path());
    rehearse(db, &plan, "2024-07-02");
    let runs = job_runs(db);
    let reports: Vec<&str> = runs
        .iter()
        .filter(|r| r.0 == "report")
        .map(|r| r.1.as_str())
        .collect();
    assert_eq!(reports, ["2024-07-01T08:00:00+08:00"], "{runs:?}");
    let nights: Vec<&str> = runs
        .iter()
        .filter(|r| r.0 == "nightly")
        .map(|r| r.1.as_str())
        .collect();
    assert_eq!(nights.first(), Some(&"2024-06-15T01:30:00+08:00"));
    assert_eq!(
        nights.len(),
        18,
        "15 June .. 2 July, the first by the older daemon"
    );
    let draws = runs.iter().filter(|r| r.0 == "draw").count();
    assert_eq!(draws, 1);
}

on_both_backends!(an_upgraded_store_owes_nothing_old);

/// An administrator pauses the nightly check: the rehearsal leaves its slots owed; one slot
/// asked for by hand runs, and only it; once resumed, the nights run again. Every control is a
/// fact in the audit chain; what makes no sense is refused.
fn a_paused_job(db: &TestDb) {
    common::load_demo(db);
    let plan = unattended_plan(db.path());
    let nights = |db: &TestDb| -> Vec<String> {
        job_runs(db)
            .into_iter()
            .filter(|r| r.0 == "nightly")
            .map(|r| r.1)
            .collect()
    };
    rehearse(db, &plan, "2024-06-20 12:00");
    let before = nights(db);
    assert_eq!(
        before.last().map(String::as_str),
        Some("2024-06-20T01:30:00+08:00")
    );
    let day = "2024-06-20 12:00";
    let paused = common::on(
        db,
        day,
        &["job", "pause", "nightly", "--reason", "停机维护"],
    );
    assert_eq!(paused["action"], "pause");
    let again = common::refused(db, day, &["job", "pause", "nightly", "--reason", "x"]);
    assert!(again.contains("paused already"), "{again}");
    for (args, says) in [
        (
            &["job", "pause", "draw", "--reason", "x"][..],
            "name the plan",
        ),
        (
            &[
                "job",
                "pause",
                "nightly",
                "--plan",
                "henan-2024",
                "--reason",
                "x",
            ],
            "takes no plan",
        ),
        (
            &["job", "pause", "nightly", "--reason", " "],
            "reason is required",
        ),
        (
            &[
                "job",
                "run",
                "nightly",
                "--slot",
                "2024-06-29T01:30:00+08:00",
                "--reason",
                "x",
            ],
            "not open to run",
        ),
    ] {
        let said = common::refused(db, day, args);
        assert!(said.contains(says), "{args:?}: {said}");
    }
    rehearse(db, &plan, "2024-06-24 12:00");
    assert_eq!(nights(db), before, "paused: no night runs");
    let status = common::on(db, "2024-06-24 12:00", &["status"]);
    let nightly = status["jobs"]
        .as_array()
        .and_then(|j| j.iter().find(|j| j["job"] == "nightly"))
        .cloned()
        .expect("nightly");
    assert_eq!(nightly["paused"]["reason"], "停机维护");
    assert_eq!(
        nightly["due"],
        serde_json::json!(["2024-06-24T01:30:00+08:00"])
    );
    let ran = common::on(
        db,
        "2024-06-24 12:00",
        &["job", "run", "nightly", "--reason", "补查"],
    );
    assert_eq!(ran["slot"], "2024-06-24T01:30:00+08:00");
    rehearse(db, &plan, "2024-06-27 12:00");
    let mut expected = before.clone();
    expected.push("2024-06-24T01:30:00+08:00".into());
    assert_eq!(nights(db), expected, "only the night asked for");
    // Never forgotten: the administrators heard of the pause once a week (20 June is in week
    // 25, 24 June in week 26).
    let told = db.query_strings("SELECT subject FROM outbox WHERE subject LIKE '%已暂停%'");
    assert_eq!(told.len(), 2, "{told:?}");
    common::on(
        db,
        "2024-06-27 12:00",
        &["job", "resume", "nightly", "--reason", "维护完毕"],
    );
    // A rehearsal replays every moment of the year under the controls in force when it runs:
    // resumed, each night it visits is that moment's latest, and runs (the real-time daemon,
    // which only looks at now, runs the latest owed night alone).
    rehearse(db, &plan, "2024-06-28 12:00");
    let mut expected = before.clone();
    expected.extend((21..=28).map(|d| format!("2024-06-{d}T01:30:00+08:00")));
    assert_eq!(nights(db), expected, "every night once resumed");
    let audited = db.query_strings(
        "SELECT action || ' ' || subject FROM audit_log WHERE action LIKE 'job.%' ORDER BY seq",
    );
    assert_eq!(
        audited,
        [
            "job.pause */nightly",
            "job.run */nightly",
            "job.resume */nightly"
        ]
    );
}

on_both_backends!(a_paused_job);

/// A new department store whose configuration still names a plan of a past year: the
/// department's jobs start at the first import, so the daemon owes no report about the plan's
/// long-gone months (a plan's draw slot alone never starts them).
#[test]
fn a_past_plan_owes_no_old_reports() {
    let Some(db) = TestDb::production(common::Backend::Sqlite) else {
        return;
    };
    common::import_registry(&db, &repo("examples/henan"));
    let config = db.path().join("past.toml");
    std::fs::write(
        &config,
        "[daemon]\nleader_poll_secs = 1\nwaiting_recheck_secs = 1\n",
    )
    .expect("config");
    let config = config.display().to_string();
    let daemon = db
        .bare()
        .args([
            "--db",
            &db.url,
            "--config",
            &config,
            "serve",
            "--plan",
            &plan(),
        ])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(db.path().join("serve.log")).expect("log"))
        .spawn()
        .map(Daemon)
        .expect("spawn serve");
    wait_for("the freeze slot tried", Duration::from_secs(30), || {
        !runs_of(&db, "freeze").is_empty()
    });
    std::thread::sleep(Duration::from_secs(3));
    stop(daemon);
    assert!(
        runs_of(&db, "report").is_empty(),
        "{:?}",
        runs_of(&db, "report")
    );
    assert!(runs_of(&db, "nightly").len() <= 1);
}

/// A plan of 2026 made from the Henan plan: `id`, its freeze and draw schedules, the lottery
/// day, its window's start and its tasks (`edit` changes the rest of its text).
fn plan_2026(
    dir: &Path,
    id: &str,
    (freeze, draw, lottery): (&str, &str, (&str, &str)),
    window: &str,
    edit: &dyn Fn(String) -> String,
) -> String {
    let text = std::fs::read_to_string(repo("rules/henan-2024.rhai")).expect("plan");
    let source = edit(text)
        .replace("id: \"henan-2024\"", &format!("id: \"{id}\""))
        .replace("year: 2024", "year: 2026")
        .replace("2024年度", &format!("2026年度（{id}）"))
        .replace("2024-05-20", window)
        .replace("2024-12-31", "2026-12-31")
        .replace("2024年5月16日", lottery.0)
        .replace("2024-05-16 21:15", lottery.1)
        .replace("0 0 9 13 5 *", freeze)
        .replace("0 30 21 16 5 *", draw)
        .replace("total: 74,", "");
    let path = dir.join(format!("{id}.rhai"));
    std::fs::write(&path, source).expect("plan");
    path.display().to_string()
}

/// A year of three plans in one daemon: a spring round whose non-coal quota is 30/10/2/1% of
/// each risk class, an autumn round and a joint plan with the market regulator, run by one
/// `serve --until` (`--plan` three times). Three freezes and three draws, each on its day;
/// no entity drawn twice in the year (a later plan's freeze leaves out what the earlier ones
/// drew); one nightly check a night over all of them; every plan's folder verifies in all
/// three verifiers, the ratio quotas recomputed from the manifest.
fn three_plans_in_one_daemon(db: &TestDb) {
    common::load_demo(db);
    let by_risk = |t: String| {
        t.replacen("quota: 8,", "", 1).replacen(
            "split: [
        #{ name: \"high\", label: \"重大、较大风险单位\", risk: [\"重大\", \"较大\"], share: 50 },
        #{ name: \"rest\", label: \"其余单位（全部风险等级）\", risk: \"all\", share: 50 },
    ],",
            "split: [
        #{ name: \"red\", risk: \"重大\", ratio: \"30%\" },
        #{ name: \"orange\", risk: \"较大\", ratio: \"10%\" },
        #{ name: \"yellow\", risk: \"一般\", ratio: \"2%\" },
        #{ name: \"blue\", risk: \"低\", ratio: \"1%\" },
    ],",
            1,
        )
    };
    let only = |tasks: &'static str, scope: &'static str| {
        move |t: String| {
            t.replace(
                "tasks: [noncoal, hazchem, trade, enforcement, agencies, training],",
                &format!("tasks: [{tasks}],"),
            )
            .replace(
                "scope: [\"非煤矿山\", \"危险化学品\", \"化工\", \"医药\", \"工贸\", \"中央驻豫企业\", \"省管企业\",
            \"安全评价机构\", \"安全生产检测检验机构\", \"安全培训机构\"],",
                &format!("scope: [{scope}],\n    partial: \"本年度第二轮抽查，清单其余事项由春季计划覆盖\","),
            )
        }
    };
    let dir = db.path();
    let spring = plan_2026(
        dir,
        "spring-2026",
        (
            "0 0 9 30 3 *",
            "0 30 21 2 4 *",
            ("2026年4月2日", "2026-04-02 21:15"),
        ),
        "2026-04-07",
        &by_risk,
    );
    let autumn = plan_2026(
        dir,
        "autumn-2026",
        (
            "0 0 9 31 8 *",
            "0 30 21 3 9 *",
            ("2026年9月3日", "2026-09-03 21:15"),
        ),
        "2026-09-08",
        &only(
            "noncoal, hazchem, enforcement",
            "\"非煤矿山\", \"危险化学品\", \"化工\", \"医药\", \"中央驻豫企业\", \"省管企业\"",
        ),
    );
    let joint = plan_2026(
        dir,
        "joint-2026",
        (
            "0 0 9 14 9 *",
            "0 30 21 17 9 *",
            ("2026年9月17日", "2026-09-17 21:15"),
        ),
        "2026-09-22",
        &only("trade", "\"工贸\""),
    );
    let serve = |until: &str| -> Vec<Value> {
        db.json(&[
            "serve", "--plan", &spring, "--plan", &autumn, "--plan", &joint, "--until", until,
            "--json",
        ])
        .as_array()
        .cloned()
        .expect("timeline")
    };
    let plan_jobs = |t: &[Value]| -> Vec<(String, String, String)> {
        t.iter()
            .filter(|r| r["plan"].is_string())
            .map(|r| {
                (
                    r["plan"].as_str().unwrap_or("").to_string(),
                    r["job"].as_str().unwrap_or("").to_string(),
                    r["status"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    };
    let owned = |v: &[(&str, &str, &str)]| -> Vec<(String, String, String)> {
        v.iter()
            .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
            .collect()
    };
    let enter = |at: &str, digits: &str, plan: &str| {
        common::assert_ok(
            &db.suiji(&["--today", at, "seed", "enter", digits, "--plan", plan]),
            &["seed", "enter", plan],
        );
    };
    let t = serve("2026-04-02 21:00");
    assert_eq!(
        plan_jobs(&t),
        owned(&[("spring-2026", "freeze", "done")]),
        "{t:?}"
    );
    enter("2026-04-02 21:20", SEED, &spring);
    let t = serve("2026-09-03 21:00");
    assert_eq!(
        plan_jobs(&t),
        owned(&[
            ("spring-2026", "draw", "done"),
            ("autumn-2026", "freeze", "done")
        ]),
        "{t:?}"
    );
    enter("2026-09-03 21:20", "01050914222711", &autumn);
    let t = serve("2026-09-17 21:00");
    assert_eq!(
        plan_jobs(&t),
        owned(&[
            ("autumn-2026", "draw", "done"),
            ("joint-2026", "freeze", "done")
        ]),
        "{t:?}"
    );
    enter("2026-09-17 21:20", "02061117293304", &joint);
    let t = serve("2026-10-15");
    assert_eq!(
        plan_jobs(&t),
        owned(&[("joint-2026", "draw", "done")]),
        "{t:?}"
    );
    assert!(serve("2026-10-15").is_empty(), "a second run does nothing");

    // Three draws; nobody drawn twice in the year.
    let tasks = db.json(&["task", "list", "--json"]);
    let tasks = tasks.as_array().expect("tasks");
    let mut per_plan: HashMap<&str, usize> = HashMap::new();
    let mut seen = HashSet::new();
    for t in tasks {
        *per_plan
            .entry(t["plan_id"].as_str().expect("plan"))
            .or_default() += 1;
        let uscc = t["uscc"].as_str().expect("uscc");
        assert!(seen.insert(uscc), "{uscc} drawn twice in 2026");
    }
    assert_eq!(per_plan.len(), 3, "{per_plan:?}");
    assert_eq!(per_plan["autumn-2026"], 8 + 5 + 16);
    assert_eq!(per_plan["joint-2026"], 5);

    // One nightly check a night, over every plan, from the night after the first draw.
    let nights: Vec<String> = job_runs(db)
        .into_iter()
        .filter(|(job, _, status, _)| job == "nightly" && status == "done")
        .map(|(_, slot, _, _)| slot)
        .collect();
    let days: HashSet<&str> = nights.iter().map(|s| &s[..10]).collect();
    assert_eq!(days.len(), nights.len(), "two nightly runs on one night");
    assert_eq!(
        nights.first().map(String::as_str),
        Some("2026-04-03T01:30:00+08:00")
    );
    assert_eq!(
        nights.last().map(String::as_str),
        Some("2026-10-15T01:30:00+08:00")
    );
    assert_eq!(nights.len(), 196, "3 April to 15 October");
    let last = t
        .iter()
        .rfind(|r| r["job"] == "nightly")
        .and_then(|r| r["outcome"].as_str())
        .unwrap_or("");
    assert!(last.contains("of 3 plan(s)"), "{last}");

    // Every plan's folder verifies; the spring ratios are recomputed from its manifest.
    let public = db.path().join("public");
    for id in ["spring-2026", "autumn-2026", "joint-2026"] {
        let folder = public.join("2026").join(id);
        let out = db.suiji(&["verify", folder.to_str().expect("utf-8")]);
        common::assert_ok(&out, &["verify", id]);
        common::python_accepts(&folder);
    }
    let folder = public.join("2026/spring-2026");
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(folder.join("manifest-1.json")).expect("manifest"))
            .expect("json");
    let ratios: Vec<u64> = manifest["strata"]
        .as_array()
        .expect("strata")
        .iter()
        .filter_map(|s| s["ratio"]["basis_points"].as_u64())
        .collect();
    assert_eq!(ratios, [3000, 1000, 200, 100]);
    if let Some(mut b) = common::browser::Browser::launch() {
        let base = common::browser::serve(&public);
        b.goto(&format!("{base}/2026/spring-2026/verify.html"));
        let r = b.eval(
            "Promise.all(['manifest-1.json', 'draw-1.json'].map(f => fetch(f).then(r => r.arrayBuffer()).then(b => new Uint8Array(b))))
               .then(([m, d]) => SuijiVerify.verify(m, d)).then(r => ({ ok: r.ok, problems: r.problems }))",
        );
        assert_eq!(r["ok"], true, "{r}");
    }
    // The configuration's rules.plans: status shows each plan with its manifest, its draw
    // and its jobs, and the department's jobs once.
    let config = db.path().join("plans.toml");
    std::fs::write(
        &config,
        format!("[rules]\nfile = {spring:?}\nplans = [{spring:?}, {autumn:?}, {joint:?}]\n"),
    )
    .expect("config");
    let config = config.to_str().expect("utf-8");
    let status = db.json(&["--config", config, "status", "--json"]);
    let plans: Vec<(&str, bool)> = status["plans"]
        .as_array()
        .expect("plans")
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap_or(""),
                p["draw"]["digest"].is_string(),
            )
        })
        .collect();
    assert_eq!(
        plans,
        [
            ("spring-2026", true),
            ("autumn-2026", true),
            ("joint-2026", true)
        ],
        "{status}"
    );
    let jobs: Vec<(&str, &str)> = status["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .map(|j| {
            (
                j["job"].as_str().unwrap_or(""),
                j["plan"].as_str().unwrap_or("*"),
            )
        })
        .collect();
    assert_eq!(jobs.len(), 8, "{jobs:?}");
    assert_eq!(jobs[6..], [("nightly", "*"), ("report", "*")]);
    let text = common::stdout(&db.suiji(&["--config", config, "status"]));
    assert!(text.contains("plan autumn-2026 (2026)"), "{text}");
}

on_both_backends!(three_plans_in_one_daemon);

/// Backup and restore on a live store: backups taken while `serve` freezes, draws and keeps
/// writing; each restored into a new folder against the public folder as it stands. The one
/// taken after the draw is restored (its chain holds, it holds all that was published, and the
/// restored database verifies and publishes the same history); the one taken before the draw
/// is refused, leaving nothing, since restoring it would make the published draw disappear;
/// a database that exists is never written over, and an older binary's refusal of a newer
/// store is a sentence, not a crash.
#[test]
fn backup_while_serving_and_restore() {
    let Some(db) = TestDb::new(common::Backend::Sqlite) else {
        return;
    };
    common::load_demo(&db);
    let live = live_plan(db.path(), 3, 8, 9, "*/2 * * * * *");
    let serve = spawn_serve(&db, &live, "serve.log");
    let backup = |name: &str| {
        let file = db.path().join(name);
        let out = db.suiji(&["backup", "--to", file.to_str().expect("utf-8"), "--json"]);
        common::assert_ok(&out, &["backup", name]);
        file
    };
    wait_for("the freeze", Duration::from_secs(30), || {
        runs_of(&db, "freeze").iter().any(|r| r.1 == "done")
    });
    let before_draw = backup("before-draw.db");
    wait_for("the draw", Duration::from_secs(30), || {
        runs_of(&db, "draw").iter().any(|r| r.1 == "done")
    });
    let year = live.draw_at.year().to_string();
    let index = db.path().join("public").join(&year).join("live/index.json");
    wait_for("the published draw", Duration::from_secs(30), || {
        std::fs::read_to_string(&index).is_ok_and(|t| t.contains("draw-1.json"))
    });
    // Several copies while the daemon writes its nightly runs and heartbeats.
    let copies: Vec<PathBuf> = (0..3).map(|i| backup(&format!("after-{i}.db"))).collect();
    let again = db.suiji(&["backup", "--to", copies[0].to_str().expect("utf-8")]);
    assert_eq!(
        again.status.code(),
        Some(2),
        "a backup is never written over a file"
    );
    stop(serve);

    // Restored into a new folder, against the public folder as it stands.
    let restore = |from: &Path, into: &str| {
        let dir = db.path().join(into);
        std::fs::create_dir_all(&dir).expect("dir");
        let config = dir.join("suiji.toml");
        std::fs::write(
            &config,
            format!(
                "[public]\ndir = \"{}\"\n",
                db.path().join("public").display()
            ),
        )
        .expect("config");
        let url = format!("sqlite://{}", dir.join("suiji.db").display());
        let out = db
            .bare()
            .args(["--db", &url, "--config", config.to_str().expect("utf-8")])
            .args(["restore", from.to_str().expect("utf-8"), "--json"])
            .output()
            .expect("restore");
        (out, dir, url)
    };
    let (out, dir, _) = restore(&before_draw, "old");
    assert_eq!(out.status.code(), Some(1), "{}", common::stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["ok"], false);
    assert!(
        report["audit"]["shrank"][0]
            .as_str()
            .is_some_and(|s| s.contains("index.json")),
        "{report}"
    );
    assert!(!dir.join("suiji.db").exists() && !dir.join("suiji.db.restoring").exists());

    let (out, dir, url) = restore(&copies[2], "new");
    common::assert_ok(&out, &["restore"]);
    let report: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        (report["ok"].clone(), report["public_indexes"].clone()),
        (Value::from(true), Value::from(1))
    );
    let restored = |args: &[&str]| {
        db.bare()
            .args(["--db", &url])
            .args(args)
            .output()
            .expect("suiji")
    };
    let verified: Value =
        serde_json::from_slice(&restored(&["audit", "verify", "--json"]).stdout).expect("json");
    assert_eq!(verified["ok"], true, "{verified}");
    let tasks: Value =
        serde_json::from_slice(&restored(&["task", "list", "--json"]).stdout).expect("json");
    assert_eq!(tasks.as_array().map(Vec::len), Some(74));
    // The restored store publishes the same history into a folder of its own.
    let out = restored(&[
        "publish",
        "--out",
        dir.join("public").to_str().expect("utf-8"),
    ]);
    common::assert_ok(&out, &["publish"]);
    let folder = dir.join("public").join(&year).join("live");
    common::assert_ok(
        &db.suiji(&["verify", folder.to_str().expect("utf-8")]),
        &["verify"],
    );
    let (out, _, _) = restore(&copies[1], "new");
    assert_eq!(
        out.status.code(),
        Some(2),
        "never over an existing database"
    );
    // Two restores into one new database at once: one makes it, the other changes nothing.
    let twice = db.path().join("twice");
    std::fs::create_dir_all(&twice).expect("dir");
    let url = format!("sqlite://{}", twice.join("suiji.db").display());
    let racers: Vec<Child> = [&copies[1], &copies[2]]
        .iter()
        .map(|from| {
            db.bare()
                .args(["--db", &url, "restore", from.to_str().expect("utf-8")])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("restore")
        })
        .collect();
    let mut codes: Vec<Option<i32>> = racers
        .into_iter()
        .map(|c| c.wait_with_output().expect("wait").status.code())
        .collect();
    codes.sort();
    assert_eq!(codes, [Some(0), Some(2)]);
    let left: Vec<String> = std::fs::read_dir(&twice)
        .expect("dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["suiji.db"], "no half-made copy is left");
    let verified: Value = serde_json::from_slice(
        &db.bare()
            .args(["--db", &url, "audit", "verify", "--json"])
            .output()
            .expect("verify")
            .stdout,
    )
    .expect("json");
    assert_eq!(verified["ok"], true, "{verified}");

    // A store of a newer schema: refused by this binary with a sentence.
    db.query_strings(
        "INSERT INTO _sqlx_migrations (version, description, installed_on, success, checksum, \
         execution_time) VALUES (9999, 'from the future', CURRENT_TIMESTAMP, true, x'00', 0)",
    );
    let out = db.suiji(&["status"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        common::stderr(&out).contains("written by a newer suiji (its schema is at migration 9999"),
        "{}",
        common::stderr(&out)
    );
}
