//! The verifiable draw through the real binary on both databases: freeze before the seed is
//! public, the one official draw of the Henan 2024 plan after it, its properties, independent
//! verification of the whole published history, refusal of a second draw, void and redraw,
//! draw shopping refused, tampering caught, and a crash in the middle of the draw.

mod common;

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;

use common::{TestDb, load_demo, on, python_accepts, python_rejects, refused, repo, stderr};
use serde_json::Value;

const SEED: &str = "03071218253109";
/// Before the 双色球 of 16 May 2024 (21:15), and after it.
const BEFORE: &str = "2024-05-13";
const AFTER: &str = "2024-05-16 21:30";

fn plan() -> String {
    repo("rules/henan-2024.rhai").display().to_string()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("read")).expect("json")
}

/// Checks every property the law and the plan ask of a draw, from the published files.
fn check_draw(manifest: &Value, draw: &Value) {
    let officers: HashMap<&str, &Value> = manifest["officers"]
        .as_array()
        .expect("officers")
        .iter()
        .map(|o| (o["id"].as_str().expect("id"), o))
        .collect();
    // Who may not serve an entity: v2 publishes the declared conflicts, v3 the recusals (of
    // which the conflicts are a part) without their reasons (and so does v4).
    let v3 = suiji::draw::publishes_eligibility(manifest["spec"].as_str().unwrap_or(""));
    let pair = |o: &Value, e: &Value| {
        (
            o.as_str().unwrap_or("").to_string(),
            e.as_str().unwrap_or("").to_string(),
        )
    };
    let conflicts: HashSet<(String, String)> = if v3 {
        manifest["recused"]
            .as_array()
            .expect("recused")
            .iter()
            .flat_map(|g| {
                let officers = g["officers"].as_array().expect("officers");
                g["entities"]
                    .as_array()
                    .expect("entities")
                    .iter()
                    .flat_map(move |e| officers.iter().map(move |o| pair(o, e)))
            })
            .collect()
    } else {
        manifest["conflicts"]
            .as_array()
            .expect("conflicts")
            .iter()
            .map(|p| pair(&p[0], &p[1]))
            .collect()
    };
    let tasks: HashMap<&str, &Value> = manifest["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| (t["task"].as_str().expect("task"), t))
        .collect();
    let cap = manifest["team_rules"]["cap_per_officer"]
        .as_u64()
        .expect("cap");

    let mut per_task: HashMap<String, u64> = HashMap::new();
    let mut seen = HashSet::new();
    for s in draw["strata"].as_array().expect("strata") {
        let selected = s["selected"].as_array().expect("selected");
        assert_eq!(
            selected.len() as u64,
            s["quota"].as_u64().expect("quota"),
            "{}",
            s["stratum"]
        );
        *per_task
            .entry(s["task"].as_str().expect("task").into())
            .or_insert(0) += selected.len() as u64;
        for p in selected {
            assert!(
                seen.insert(p["id"].as_str().expect("id").to_string()),
                "drawn twice: {p}"
            );
        }
    }
    // Every task draws its strata's quotas (Henan 2024: 8/5/5/16/20/20, 74 in all).
    let mut want: HashMap<String, u64> = HashMap::new();
    for s in manifest["strata"].as_array().expect("strata") {
        *want
            .entry(s["task"].as_str().expect("task").into())
            .or_default() += s["quota"].as_u64().expect("quota");
    }
    assert_eq!(per_task, want);
    let teams = draw["teams"].as_array().expect("teams");
    assert_eq!(teams.len() as u64, want.values().sum::<u64>());
    let mut load: HashMap<&str, u64> = HashMap::new();
    for team in teams {
        let entity = team["entity"].as_str().expect("entity");
        let task = tasks[team["task"].as_str().expect("task")];
        let members: Vec<&str> = team["members"]
            .as_array()
            .expect("members")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let partners: Vec<&str> = team["partners"]
            .as_array()
            .expect("partners")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(members.len() >= 2, "at least two officers: {team}");
        assert_eq!(members[0], team["cadre"].as_str().expect("cadre"));
        let cadre = officers[members[0]];
        assert_eq!(cadre["cadre"], true, "{team}");
        for m in &members {
            assert_eq!(officers[m]["division"], task["division"], "{team}");
            // v3 lists only officers on duty with a valid certificate.
            assert!(v3 || officers[m]["active"] == true);
        }
        assert_eq!(
            partners.len() as u64,
            task["partner_members"].as_u64().expect("n")
        );
        for p in &partners {
            assert_eq!(officers[p]["agency"], "hnsamr");
        }
        for o in members.iter().chain(&partners) {
            assert!(
                !conflicts.contains(&(o.to_string(), entity.to_string())),
                "recused pair {o} / {entity}"
            );
            *load.entry(o).or_insert(0) += 1;
        }
    }
    assert!(
        load.values().all(|&n| n <= cap),
        "an officer is over the cap of {cap}"
    );
}

fn official_draw(db: &TestDb) {
    load_demo(db);
    let plan = plan();
    let official = ["draw", "--plan", &plan, "--official", "--seed-value", SEED];
    let err = refused(db, AFTER, &official);
    assert!(err.contains("no frozen manifest"), "{err}");

    let frozen = on(db, BEFORE, &["freeze", "--plan", &plan]);
    let digest = frozen["digest"].as_str().expect("digest").to_string();
    assert_eq!(frozen["seq"], 1);
    assert_eq!(frozen["available_at"], "2024-05-16T21:15:00.000+08:00");
    let dir = db.path().join("public/2024/henan-2024");
    let sha_file = std::fs::read_to_string(dir.join("manifest-1.sha256")).expect("sha file");
    assert_eq!(sha_file, format!("{digest}  manifest-1.json\n"));
    // The same inputs again, even once the seed is public, only republish.
    assert_eq!(
        on(db, BEFORE, &["freeze", "--plan", &plan])["already_frozen"],
        true
    );
    assert_eq!(
        on(db, "2024-05-20", &["freeze", "--plan", &plan])["already_frozen"],
        true
    );

    // Not before the seed is public.
    let err = refused(db, "2024-05-16 21:00", &official);
    assert!(
        err.contains("waits for its seed") && err.contains("2024-05-16T21:15:00.000+08:00"),
        "{err}"
    );
    // The plan names its lottery: digits that are not a 双色球 result (a blue ball of 17, a red
    // ball twice) are refused, by the draw and by `seed enter`, saying which ball.
    for (digits, says) in [
        ("03071218253117", "ball 7 is 17"),
        ("03031218253109", "03 is drawn twice"),
    ] {
        let typo = [
            "draw",
            "--plan",
            &plan,
            "--official",
            "--seed-value",
            digits,
        ];
        let err = refused(db, AFTER, &typo);
        assert!(
            err.contains("is not a 双色球 result") && err.contains(says),
            "{err}"
        );
        let err = refused(db, AFTER, &["seed", "enter", digits, "--plan", &plan]);
        assert!(
            err.contains("is not a 双色球 result") && err.contains(says),
            "{err}"
        );
    }
    let drawn = on(db, AFTER, &official);
    assert_eq!(drawn["tasks"], 74);
    assert_eq!(drawn["seq"], 1);
    assert_eq!(drawn["manifest_digest"], digest.as_str());
    let manifest = read_json(&dir.join("manifest.json"));
    let draw = read_json(&dir.join("draw.json"));
    assert_eq!(read_json(&dir.join("draw-1.json")), draw);
    check_draw(&manifest, &draw);
    assert_eq!(db.json(&["stats", "--json"])["tasks"], 74);

    let out = db.suiji(&["verify", dir.to_str().expect("utf-8")]);
    let text = common::stdout(&out);
    assert!(
        out.status.success() && text.contains("verified: the whole history of henan-2024"),
        "{text}"
    );
    assert!(text.contains("frozen 2024-05-13"), "{text}");
    python_accepts(&dir);

    // The one official draw: a second attempt is refused and says when and with which seed.
    let err = refused(
        db,
        "2024-05-17",
        &[
            "draw",
            "--plan",
            &plan,
            "--official",
            "--seed-value",
            "99999999",
        ],
    );
    assert!(
        err.contains("already has its official draw") && err.contains(SEED),
        "{err}"
    );

    // A forged draw is caught, by both verifiers.
    let forged_dir = db.path().join("forged");
    std::fs::create_dir_all(&forged_dir).expect("dir");
    std::fs::copy(dir.join("manifest.json"), forged_dir.join("manifest.json")).expect("copy");
    let mut forged = draw.clone();
    forged["teams"][3]["cadre"] = Value::from("41000001999");
    std::fs::write(forged_dir.join("draw.json"), forged.to_string()).expect("write");
    let out = db.suiji(&["verify", forged_dir.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        common::stdout(&out).contains("teams[3].cadre"),
        "{}",
        common::stdout(&out)
    );
    python_rejects(&forged_dir);

    // Void (reasoned, audited, published) and redraw with a new public seed.
    let out = db.suiji(&["draw", "--plan", &plan, "--void"]);
    assert_eq!(out.status.code(), Some(2), "voiding needs a reason");
    common::void_draw(db, &plan, &[]);
    // The same manifest cannot be drawn again, with other digits or the same ones: a redraw
    // needs a seed that did not exist when the void was recorded.
    for digits in ["05091314222708", SEED] {
        let err = refused(
            db,
            "2024-05-17 10:00",
            &[
                "draw",
                "--plan",
                &plan,
                "--official",
                "--seed-value",
                digits,
            ],
        );
        assert!(err.contains("a redraw needs a seed"), "{err}");
    }
    let reseeded = common::reseeded(&plan, db.path(), "2024-05-19");
    on(
        db,
        "2024-05-17 10:00",
        &[
            "freeze",
            "--plan",
            &reseeded,
            "--refreeze",
            "--reason",
            "作废后改用5月19日开奖号码",
        ],
    );
    let redraw = |digits| {
        [
            "draw",
            "--plan",
            &reseeded,
            "--official",
            "--seed-value",
            digits,
        ]
    };
    let err = refused(db, "2024-05-19 21:30", &redraw(SEED));
    assert!(err.contains("already used by draw-1"), "{err}");
    let redrawn = on(db, "2024-05-19 21:30", &redraw("05091314222708"));
    assert_eq!(redrawn["tasks"], 74);
    assert_eq!(redrawn["seq"], 2);
    assert_ne!(redrawn["digest"], drawn["digest"]);
    let stats = db.json(&["stats", "--json"]);
    assert_eq!(
        (stats["draws"].as_u64(), stats["tasks"].as_u64()),
        (Some(2), Some(148))
    );
    // Voided tasks owe nothing: only the redraw's 74 are late once the window has closed.
    let late = db.json(&["overdue", "--date", "2025-01-02", "--json"]);
    let complete = late["overdue"]
        .as_array()
        .expect("overdue")
        .iter()
        .filter(|l| l["obligation"] == "complete")
        .count();
    assert_eq!(complete, 74);
    assert_eq!(db.json(&["audit", "verify", "--json"])["ok"], true);
}

on_both_backends!(official_draw);

/// The plan with a comment added: another script, another manifest digest, another draw.
fn edited_plan(db: &TestDb, n: usize) -> String {
    let text = std::fs::read_to_string(plan()).expect("plan");
    let path = db.path().join(format!("plan-{n}.rhai"));
    std::fs::write(&path, format!("// edit {n}\n{text}")).expect("write");
    path.display().to_string()
}

/// Every version stays published, the history verifies, and so does nothing altered: draw
/// shopping after the seed is public is refused, a file changed or removed afterwards is
/// caught by both verifiers, a tampered folder is never silently overwritten, and deleting
/// the last audit row is caught against the published chain head.
fn trust(db: &TestDb) {
    load_demo(db);
    let plan = plan();
    on(db, "2024-05-10", &["freeze", "--plan", &plan]);
    let second = edited_plan(db, 2);
    let refrozen = on(
        db,
        "2024-05-12",
        &[
            "freeze",
            "--plan",
            &second,
            "--refreeze",
            "--reason",
            "补充审批机构名录",
        ],
    );
    assert_eq!(refrozen["seq"], 2);

    // Draw shopping: once the digits can be known, no refreeze, whatever the script change.
    for (day, n) in [
        ("2024-05-16 21:15", 3),
        ("2024-05-16 23:00", 4),
        ("2024-06-01", 5),
    ] {
        let shopped = edited_plan(db, n);
        let err = refused(
            db,
            day,
            &[
                "freeze",
                "--plan",
                &shopped,
                "--refreeze",
                "--reason",
                "再试一次",
            ],
        );
        assert!(
            err.contains("refused") && err.contains("2024-05-16T21:15:00.000+08:00"),
            "{err}"
        );
    }

    on(
        db,
        AFTER,
        &[
            "draw",
            "--plan",
            &second,
            "--official",
            "--seed-value",
            SEED,
        ],
    );
    on(
        db,
        "2024-05-17",
        &[
            "draw",
            "--plan",
            &second,
            "--void",
            "--reason",
            "开奖号码录入错误",
        ],
    );
    let third = common::reseeded(&second, db.path(), "2024-05-19");
    on(
        db,
        "2024-05-17",
        &[
            "freeze",
            "--plan",
            &third,
            "--refreeze",
            "--reason",
            "作废后改用5月19日开奖号码",
        ],
    );
    on(
        db,
        "2024-05-19 21:30",
        &[
            "draw",
            "--plan",
            &third,
            "--official",
            "--seed-value",
            "05091314222708",
        ],
    );
    let dir = db.path().join("public/2024/henan-2024");
    let index = read_json(&dir.join("index.json"));
    let events: Vec<&str> = index["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["event"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        events,
        ["freeze", "refreeze", "draw", "void", "refreeze", "draw"]
    );
    assert_eq!(index["entries"][1]["reason"], "补充审批机构名录");
    assert_eq!(index["entries"][3]["reason"], "开奖号码录入错误");
    assert_eq!(index["current"]["draw"], "draw-2.json");
    for f in [
        "manifest-1.json",
        "manifest-2.json",
        "manifest-3.json",
        "draw-1.json",
        "draw-2.json",
    ] {
        assert!(dir.join(f).exists(), "{f} published");
    }
    let out = db.suiji(&["verify", dir.to_str().expect("utf-8")]);
    assert!(out.status.success(), "{}", common::stdout(&out));
    python_accepts(&dir);

    // One historical file altered, or removed: both verifiers reject the folder.
    let altered = db.path().join("altered");
    common::copy_dir(&dir, &altered);
    let mut d1 = std::fs::read(altered.join("draw-1.json")).expect("read");
    let at = d1.iter().position(|&b| b == b'7').expect("a digit");
    d1[at] = b'8';
    std::fs::write(altered.join("draw-1.json"), &d1).expect("write");
    let out = db.suiji(&["verify", altered.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        common::stdout(&out).contains("draw-1.json hashes to"),
        "{}",
        common::stdout(&out)
    );
    python_rejects(&altered);
    let removed = db.path().join("removed");
    common::copy_dir(&dir, &removed);
    std::fs::remove_file(removed.join("manifest-1.json")).expect("rm");
    let out = db.suiji(&["verify", removed.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        common::stdout(&out).contains("manifest-1.json is missing"),
        "{}",
        common::stdout(&out)
    );
    python_rejects(&removed);

    // A tampered public folder is never overwritten: publishing again refuses.
    std::fs::write(dir.join("draw-1.json"), &d1).expect("tamper");
    let out = db.suiji(&["--today", "2024-05-20", "freeze", "--plan", &third]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("never overwritten"),
        "{}",
        stderr(&out)
    );

    // The chain head is published: deleting the last audit row behind suiji's back leaves
    // the chain itself looking intact, but not against the published head.
    let anchor = [
        "audit",
        "verify",
        "--anchor",
        dir.to_str().expect("utf-8"),
        "--json",
    ];
    assert_eq!(db.json(&anchor)["ok"], true);
    // `status` publishes the head too; the report anchors like an index.
    let status = db.json(&["status", "--json"]);
    assert!(
        status["audit_head"]["seq"].as_i64().unwrap_or(0) > 0,
        "{status}"
    );
    let status_file = db.path().join("status.json");
    std::fs::write(&status_file, status.to_string()).expect("write");
    let by_status = [
        "audit",
        "verify",
        "--anchor",
        status_file.to_str().expect("utf-8"),
        "--json",
    ];
    assert_eq!(db.json(&by_status)["ok"], true);
    db.sql(&[
        match db.backend {
            common::Backend::Sqlite => "DROP TRIGGER audit_log_no_delete",
            common::Backend::Postgres => "DROP TRIGGER audit_log_no_change ON audit_log",
        },
        "DELETE FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log)",
    ]);
    assert_eq!(db.json(&["audit", "verify", "--json"])["ok"], true);
    for args in [&anchor, &by_status] {
        let out = db.suiji(args);
        assert_eq!(out.status.code(), Some(1));
        let report: Value = serde_json::from_slice(&out.stdout).expect("json");
        let reason = report["anchor_problems"][0]["reason"]
            .as_str()
            .unwrap_or("");
        assert!(reason.starts_with("truncated"), "{report}");
    }
}

on_both_backends!(trust);

/// A void respects recorded results: refused without --force (naming the tasks); with it the
/// tasks keep their facts, visibly, and the redraw's tasks are new rows.
fn void_respects_facts(db: &TestDb) {
    load_demo(db);
    let plan = plan();
    on(db, BEFORE, &["freeze", "--plan", &plan]);
    on(
        db,
        AFTER,
        &["draw", "--plan", &plan, "--official", "--seed-value", SEED],
    );
    let task = "henan-2024-noncoal-001";
    on(
        db,
        "2024-05-20",
        &["task", "schedule", task, "--date", "2024-05-21"],
    );
    on(
        db,
        "2024-05-22",
        &[
            "task",
            "complete",
            task,
            "--date",
            "2024-05-21",
            "--outcome",
            "no-issues",
        ],
    );
    let void = [
        "draw",
        "--plan",
        &plan,
        "--void",
        "--reason",
        "registry error",
    ];
    let err = refused(db, "2024-05-23", &void);
    assert!(err.contains(task) && err.contains("--force"), "{err}");
    let mut forced = void.to_vec();
    forced.push("--force");
    on(db, "2024-05-23", &forced);
    let shown = on(db, "2024-05-23", &["task", "show", task]);
    assert_eq!(shown["facts"]["status"], "voided");
    assert_eq!(shown["facts"]["completed"], "2024-05-21");
    assert_eq!(shown["facts"]["outcome"], "no-issues");
    let recorded: Vec<&str> = shown["recorded"]
        .as_array()
        .expect("facts")
        .iter()
        .map(|f| f["event"].as_object().map_or("archive", |_| "x"))
        .collect();
    assert_eq!(
        recorded.len(),
        4,
        "the proposed date, the division's, the completion, the void: {shown}"
    );
    let index = read_json(&db.path().join("public/2024/henan-2024/index.json"));
    assert_eq!(index["entries"][2]["forced"], true);
    let reseeded = common::reseeded(&plan, db.path(), "2024-05-26");
    on(
        db,
        "2024-05-24",
        &[
            "freeze",
            "--plan",
            &reseeded,
            "--refreeze",
            "--reason",
            "作废后改用5月26日开奖号码",
        ],
    );
    on(
        db,
        "2024-05-26 21:30",
        &[
            "draw",
            "--plan",
            &reseeded,
            "--official",
            "--seed-value",
            "11223031320507",
        ],
    );
    let redrawn = db.json(&["task", "list", "--status", "scheduled", "--json"]);
    let ids: Vec<&str> = redrawn
        .as_array()
        .expect("tasks")
        .iter()
        .filter_map(|t| t["id"].as_str())
        .collect();
    assert_eq!(ids.len(), 74);
    assert!(
        ids.iter().all(|i| i.starts_with("henan-2024-r2-")),
        "{ids:?}"
    );
}

on_both_backends!(void_respects_facts);

/// The actor recorded is never "unknown": without --actor or SUIJI_ACTOR it is the OS user of
/// the process, even with USER and LOGNAME unset; control characters are refused.
#[test]
fn actor() {
    let Some(db) = TestDb::new(common::Backend::Sqlite) else {
        return;
    };
    let items = repo("examples/henan/items.csv");
    let items = items.to_str().expect("utf-8");
    let import = |env: &[(&str, &str)], extra: &[&str]| {
        let mut cmd = db.bare();
        cmd.env_remove("USER").env_remove("LOGNAME");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.args(["--db", &db.url]).args(extra);
        cmd.args(["import", "items", items, "--json"]);
        cmd.output().expect("run")
    };
    let out = import(&[], &[]);
    common::assert_ok(&out, &["import"]);
    let out = import(&[("SUIJI_ACTOR", "ops-bot")], &[]);
    common::assert_ok(&out, &["import"]);
    let out = import(&[], &["--actor", "a\nb"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("control character"),
        "{}",
        stderr(&out)
    );
    let out = import(&[("SUIJI_ACTOR", "x\u{1b}[31m")], &[]);
    assert_eq!(out.status.code(), Some(2));
    let actors = db.query_strings("SELECT actor FROM audit_log ORDER BY seq");
    let id = std::process::Command::new("id")
        .arg("-un")
        .output()
        .expect("id");
    let user = String::from_utf8_lossy(&id.stdout).trim().to_string();
    assert_eq!(actors[0], user, "the OS user, without USER or LOGNAME");
    assert_eq!(actors.last().map(String::as_str), Some("ops-bot"));
}

/// Killed in the middle of the official draw (after every row is written, before the commit),
/// the database holds no part of it; the next attempt makes the whole draw.
fn crash_mid_draw(db: &TestDb) {
    load_demo(db);
    let plan = plan();
    on(db, BEFORE, &["freeze", "--plan", &plan]);
    let before = db.json(&["stats", "--json"]);
    let mut child = db
        .bare()
        .args([
            "--db",
            &db.url,
            "--today",
            AFTER,
            "draw",
            "--plan",
            &plan,
            "--official",
            "--seed-value",
            SEED,
        ])
        .env("SUIJI_FAILPOINT", "draw-before-commit")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stderr = child.stderr.take().expect("stderr");
    let reached = BufReader::new(stderr)
        .lines()
        .map_while(Result::ok)
        .any(|l| l.contains("failpoint draw-before-commit reached"));
    assert!(reached, "the draw never reached the failpoint");
    child.kill().expect("kill");
    child.wait().expect("wait");

    let after = db.json(&["stats", "--json"]);
    for table in ["draws", "tasks", "audit_log"] {
        assert_eq!(
            after[table], before[table],
            "{table} changed by a killed draw"
        );
    }
    assert_eq!(db.json(&["audit", "verify", "--json"])["ok"], true);

    let drawn = on(
        db,
        AFTER,
        &["draw", "--plan", &plan, "--official", "--seed-value", SEED],
    );
    assert_eq!(drawn["tasks"], 74);
    assert_eq!(db.json(&["stats", "--json"])["tasks"], 74);
}

on_both_backends!(crash_mid_draw);

/// A golden vector: the checked-in manifest and seed give the checked-in draw, byte for byte,
/// and both verifiers accept the pair.
fn golden(dir: &str, value: &suiji::draw::SeedValue) {
    let dir = repo(dir);
    let manifest_bytes = std::fs::read(dir.join("manifest.json")).expect("manifest");
    let expected = std::fs::read(dir.join("draw.json")).expect("draw");
    let manifest: suiji::draw::Manifest =
        serde_json::from_slice(&manifest_bytes).expect("manifest");
    assert_eq!(
        suiji::draw::canonical(&manifest).expect("canonical"),
        manifest_bytes,
        "manifest is canonical"
    );
    let digest = suiji::audit::sha256_hex(&manifest_bytes);
    let doc = suiji::draw::run(&manifest, &digest, value).expect("draw");
    let bytes = suiji::draw::canonical(&doc).expect("canonical");
    assert!(
        bytes == expected,
        "the draw no longer reproduces {}",
        dir.join("draw.json").display()
    );
    check_draw(
        &serde_json::from_slice(&manifest_bytes).expect("json"),
        &serde_json::from_slice(&expected).expect("json"),
    );
    assert!(suiji::publish::verify_dir(&dir).is_ok());
    python_accepts(&dir);
}

/// `suiji-draw-v1`, as published before freeze times existed: it still verifies.
#[test]
fn golden_v1() {
    golden(
        "tests/golden",
        &suiji::draw::SeedValue::plain(suiji::plan::SeedKind::Manual, SEED),
    );
}

/// `suiji-draw-v2` with the lottery digits.
#[test]
fn golden_v2() {
    golden(
        "tests/golden/v2",
        &suiji::draw::SeedValue::plain(suiji::plan::SeedKind::Manual, SEED),
    );
}

/// `suiji-draw-v3` with the lottery digits: the demo registry's dry run, whose manifest names
/// the candidates and eligible officers and publishes no private attribute.
#[test]
fn golden_v3() {
    golden(
        "tests/golden/v3",
        &suiji::draw::SeedValue::plain(suiji::plan::SeedKind::Manual, SEED),
    );
}

/// What a tamper test expects a verifier to say, and the change it makes to a manifest.
type Edit<'a> = (&'a str, fn(&mut serde_json::Value));

/// A golden vector's manifest changed by each edit: both verifiers refuse it, saying `says`.
fn golden_refused(vector: &str, edits: &[Edit<'_>]) {
    let tmp = tempfile::tempdir().expect("tmp");
    let golden: serde_json::Value = serde_json::from_slice(
        &std::fs::read(repo(vector).join("manifest.json")).expect("manifest"),
    )
    .expect("json");
    for (i, (says, edit)) in edits.iter().enumerate() {
        let dir = tmp.path().join(i.to_string());
        std::fs::create_dir_all(&dir).expect("mkdir");
        let mut m = golden.clone();
        edit(&mut m);
        std::fs::write(
            dir.join("manifest.json"),
            serde_json::to_vec(&m).expect("json"),
        )
        .expect("write");
        std::fs::copy(repo(vector).join("draw.json"), dir.join("draw.json")).expect("copy");
        let err = suiji::publish::verify_dir(&dir).expect_err("a tampered manifest");
        let err = format!("{err:?}");
        assert!(err.contains(says), "{says}: {err}");
        python_rejects(&dir);
    }
}

/// `suiji-draw-v4`: the v3 vector's registry under a plan with ratio quotas (a minimum and a
/// maximum that bind, shares rounded up) and labelled strata. A quota that is not what its
/// published ratio gives, a stratum without its label: both verifiers refuse, naming the
/// stratum.
#[test]
fn golden_v4() {
    golden(
        "tests/golden/v4",
        &suiji::draw::SeedValue::plain(suiji::plan::SeedKind::Manual, SEED),
    );
    golden_refused(
        "tests/golden/v4",
        &[
            ("quota 13 is not what its ratio gives", |m| {
                m["strata"][7]["quota"] = serde_json::json!(13);
            }),
            ("label is missing or empty", |m| {
                m["strata"][0]
                    .as_object_mut()
                    .expect("stratum")
                    .remove("label");
            }),
        ],
    );
}

/// `suiji-draw-v5`: the v4 vector with three entities left out by yearly caps. A capped entity
/// among the candidates, or a v5 manifest without `capped`: both verifiers refuse.
#[test]
fn golden_v5() {
    golden(
        "tests/golden/v5",
        &suiji::draw::SeedValue::plain(suiji::plan::SeedKind::Manual, SEED),
    );
    golden_refused(
        "tests/golden/v5",
        &[
            ("at its yearly cap, yet a candidate", |m| {
                let first = m["strata"][0]["candidates"][0].clone();
                m["capped"][0]["uscc"] = first;
            }),
            ("capped is missing", |m| {
                m.as_object_mut().expect("manifest").remove("capped");
            }),
        ],
    );
}

/// `suiji-draw-v2` with drand quicknet round 657413 (the beacon's own test vector).
#[test]
fn golden_drand() {
    let sig = "b713718a38ae728dfd477991af2822e08d2f305e47718cef9f7848ce4050e7be41076862b98fad56e91a6b85b89cd97b";
    let beacon = suiji::beacon::verify(657413, sig).expect("beacon");
    assert_eq!(
        beacon.randomness,
        "fc1873a13f3545aeade8401532ef5519920652eee6b0d2b19ca12643b87b3587"
    );
    golden(
        "tests/golden/drand",
        &suiji::draw::SeedValue::drand(&beacon),
    );
}

/// Writes `tests/golden/v2` and `tests/golden/drand` from the v1 vector: the same inputs with
/// the v2 members (a freeze time before the seed is public, `available_at`, the certificate
/// day), `tests/golden/v4` from the v3 vector and `tests/golden/v5` from v4. Run once by hand (`cargo test --test draw -- --ignored regenerate_golden`); the
/// tests above then hold the files to it byte for byte.
#[test]
#[ignore]
fn regenerate_golden() {
    use suiji::draw::{Manifest, SeedValue, canonical};
    use suiji::plan::SeedKind;
    let v1: Manifest =
        serde_json::from_slice(&std::fs::read(repo("tests/golden/manifest.json")).expect("read"))
            .expect("v1");
    let sig = "b713718a38ae728dfd477991af2822e08d2f305e47718cef9f7848ce4050e7be41076862b98fad56e91a6b85b89cd97b";
    let beacon = suiji::beacon::verify(657413, sig).expect("beacon");
    let cases = [
        (
            "tests/golden/v2",
            "2024-05-13T09:00:00.000+08:00",
            "2024-05-16 21:15",
            SeedKind::Manual,
            SeedValue::plain(SeedKind::Manual, SEED),
        ),
        (
            "tests/golden/drand",
            "2023-09-14T09:00:00.000+08:00",
            "2023-09-15 19:00:01",
            SeedKind::Drand,
            SeedValue::drand(&beacon),
        ),
    ];
    for (dir, frozen_at, available, kind, value) in cases {
        let at = suiji::clock::parse_time(available).expect("time");
        let mut m = v1.clone();
        m.spec = suiji::draw::SPEC_V2.into();
        m.frozen_at = Some(frozen_at.into());
        m.seed_source.kind = kind;
        m.seed_source.available_at = Some(at);
        if kind == SeedKind::Drand {
            m.seed_source.source = "drand quicknet (League of Entropy), https://drand.love".into();
            m.seed_source.beacon = Some(suiji::beacon::BeaconDecl::quicknet_at(at));
        }
        m.team_rules.certificate_date = at.date_naive();
        let mb = canonical(&m).expect("canonical");
        let digest = suiji::audit::sha256_hex(&mb);
        let doc = suiji::draw::run(&m, &digest, &value).expect("draw");
        let dir = repo(dir);
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(dir.join("manifest.json"), &mb).expect("write");
        std::fs::write(dir.join("draw.json"), canonical(&doc).expect("canonical")).expect("write");
    }
    // v4 from v3: labels, and ratios in place of four quotas.
    let mut m: Manifest = serde_json::from_slice(
        &std::fs::read(repo("tests/golden/v3/manifest.json")).expect("read"),
    )
    .expect("v3");
    m.spec = suiji::draw::SPEC.into();
    let ratio = |bp, min, max| suiji::plan::Ratio {
        basis_points: bp,
        min,
        max,
    };
    let names: std::collections::HashMap<String, String> = m
        .tasks
        .iter()
        .map(|t| (t.task.clone(), t.name.clone()))
        .collect();
    for s in &mut m.strata {
        s.label = Some(match s.stratum.rsplit_once('/') {
            Some((_, "high")) => "重大、较大风险单位".into(),
            Some(_) => "其余单位（全部风险等级）".into(),
            None => names[&s.task].clone(),
        });
        s.ratio = match s.stratum.as_str() {
            "noncoal/high" => Some(ratio(1000, 0, None)),
            "noncoal/rest" => Some(ratio(300, 0, None)),
            "hazchem/high" => Some(ratio(25, 2, None)),
            "hazchem/rest" => Some(ratio(25, 0, None)),
            "agencies" => Some(ratio(2500, 0, Some(20))),
            "training" => Some(ratio(1250, 0, None)),
            _ => None,
        };
        if let Some(r) = s.ratio {
            s.quota = r.quota(s.candidates.len());
        }
    }
    let mb = canonical(&m).expect("canonical");
    let digest = suiji::audit::sha256_hex(&mb);
    let doc =
        suiji::draw::run(&m, &digest, &SeedValue::plain(SeedKind::Manual, SEED)).expect("draw");
    let dir = repo("tests/golden/v4");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("manifest.json"), &mb).expect("write");
    std::fs::write(dir.join("draw.json"), canonical(&doc).expect("canonical")).expect("write");
    // v5 from v4: three entities of the demo registry that are no candidate, at their caps.
    let candidates: std::collections::HashSet<&str> = m
        .strata
        .iter()
        .flat_map(|s| s.candidates.iter().map(String::as_str))
        .collect();
    let registry = std::fs::read_to_string(repo("examples/henan/entities.csv")).expect("entities");
    let mut outside: Vec<String> = registry
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next())
        .filter(|u| !candidates.contains(u))
        .map(str::to_string)
        .take(3)
        .collect();
    outside.sort();
    let mut m5 = m.clone();
    m5.spec = suiji::draw::SPEC_V5.into();
    m5.capped = Some(
        outside
            .into_iter()
            .zip([(2, 2), (2, 3), (4, 4)])
            .map(|(uscc, (cap, inspections))| suiji::draw::CappedDecl {
                uscc,
                cap,
                inspections,
            })
            .collect(),
    );
    let mb = canonical(&m5).expect("canonical");
    let digest = suiji::audit::sha256_hex(&mb);
    let doc =
        suiji::draw::run(&m5, &digest, &SeedValue::plain(SeedKind::Manual, SEED)).expect("draw");
    let dir = repo("tests/golden/v5");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("manifest.json"), &mb).expect("write");
    std::fs::write(dir.join("draw.json"), canonical(&doc).expect("canonical")).expect("write");
}

/// A history cannot shrink unseen: a void undone behind suiji's back (the draw's row set back
/// to official) leaves the void's audit row, so `publish` refuses to publish the shorter
/// history and `audit verify` names the event the store lost, even with the chain intact.
fn a_history_cannot_shrink(db: &TestDb) {
    common::load_demo(db);
    let plan = common::freeze_and_draw_at(db, "2024-05-13 09:00");
    common::void_draw(db, &plan, &[]);
    assert_eq!(db.json(&["audit", "verify", "--json"])["ok"], true);
    // A copy of the published index kept by someone outside.
    let kept = db.path().join("kept-index.json");
    std::fs::copy(db.path().join("public/2024/henan-2024/index.json"), &kept).expect("keep a copy");
    let kept = kept.to_str().expect("utf-8");
    let out = db.suiji(&["audit", "verify", "--anchor", kept]);
    assert!(
        common::stdout(&out).contains("every event they list is still in the history"),
        "{}",
        common::stdout(&out)
    );
    db.sql(&[
        "UPDATE draws SET status = 'official', void_reason = NULL, voided_at = NULL, \
         voided_by = NULL, void_audit_seq = NULL, void_audit_hash = NULL",
    ]);
    let out = db.suiji(&["publish"]);
    assert_eq!(out.status.code(), Some(2), "{}", common::stdout(&out));
    let err = common::stderr(&out);
    assert!(
        err.contains("draw.void at audit row") && err.contains("Nothing was published"),
        "{err}"
    );
    let out = db.suiji(&["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    let text = common::stdout(&out);
    assert!(text.contains("audit log chain intact"), "{text}");
    assert!(
        text.contains("HISTORY EDITED at row") && text.contains("`draw.void` of henan-2024"),
        "{text}"
    );
    // The kept copy lists the void the history no longer holds.
    let out = db.suiji(&["audit", "verify", "--anchor", kept]);
    assert_eq!(out.status.code(), Some(1));
    let text = common::stdout(&out);
    assert!(
        text.contains("HISTORY SHRANK") && text.contains("(Void draw-1.json)"),
        "{text}"
    );
}

on_both_backends!(a_history_cannot_shrink);

/// A plan drawn in December of the last year with holiday data, its deadlines running into the
/// next: `rules check` warns that next year's data is missing, and the official draw, its seed
/// already public, still succeeds. Its proposed dates stop at the last day the calendar knows; the tasks left
/// unproposed are scheduled by hand, their deadlines pending until the data is added.
#[test]
fn a_year_end_draw_does_not_fail_for_next_years_holidays() {
    let Some(db) = TestDb::new(common::Backend::Sqlite) else {
        return;
    };
    load_demo(&db);
    let text = std::fs::read_to_string(plan())
        .expect("plan")
        .replace("year: 2024,", "year: 2026,")
        .replace(
            "window: #{ start: \"2024-05-20\", end: \"2024-12-31\" }",
            "window: #{ start: \"2026-11-01\", end: \"2026-12-31\" }",
        )
        .replace("2024-05-16 21:15", "2026-12-04 21:15")
        .replace("freeze: \"0 0 9 13 5 *\"", "freeze: \"0 0 9 1 12 *\"")
        .replace("draw: \"0 30 21 16 5 *\"", "draw: \"0 30 21 4 12 *\"");
    let path = db.path().join("year-end.rhai");
    std::fs::write(&path, text).expect("plan");
    let plan = path.display().to_string();
    let check = on(&db, "2026-12-01", &["rules", "check", &plan]);
    assert_eq!(check["ok"], true, "{check}");
    assert!(
        check.to_string().contains("2027"),
        "a warning names 2027: {check}"
    );
    on(&db, "2026-12-01", &["freeze", "--plan", &plan]);
    let drawn = on(
        &db,
        "2026-12-04 21:30",
        &["draw", "--plan", &plan, "--official", "--seed-value", SEED],
    );
    assert_eq!(drawn["tasks"], 74, "{drawn}");
    let tasks = on(&db, "2026-12-04 21:31", &["task", "list"]);
    let planned: Vec<&str> = tasks
        .as_array()
        .expect("tasks")
        .iter()
        .filter_map(|t| t["facts"]["planned"].as_str())
        .collect();
    assert!(!planned.is_empty(), "the days 2026 knows are proposed");
    let pending = tasks
        .as_array()
        .expect("tasks")
        .iter()
        .filter(|t| {
            t["pending_deadlines"]
                .as_array()
                .is_some_and(|p| !p.is_empty())
        })
        .count();
    assert!(pending > 0, "deadlines in 2027 wait for its data");
    assert!(
        planned.iter().all(|p| p.starts_with("2026-12-")),
        "{planned:?}"
    );
}
