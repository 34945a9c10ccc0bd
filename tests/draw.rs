//! The verifiable draw through the real binary on both databases: freeze, the one official
//! draw of the Henan 2024 plan, its properties, independent verification, refusal of a second
//! draw, void and redraw, and a crash in the middle of the draw.

mod common;

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;

use common::{TestDb, load_demo, repo, stderr};
use serde_json::Value;

const SEED: &str = "03071218253109";

fn plan() -> String {
    repo("rules/henan-2024.rhai").display().to_string()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("read")).expect("json")
}

/// Runs tools/verify_draw.py when Python with `consistent-sampler` is at hand (VERIFY_PYTHON,
/// default python3). CI sets REQUIRE_PYTHON_VERIFIER=1 so that it can never be skipped there.
fn python_verifier(dir: &Path) -> Option<String> {
    let python = std::env::var("VERIFY_PYTHON").unwrap_or_else(|_| "python3".into());
    let has_module = std::process::Command::new(&python)
        .args(["-c", "import consistent_sampler"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_module {
        assert!(
            std::env::var("REQUIRE_PYTHON_VERIFIER").is_err(),
            "REQUIRE_PYTHON_VERIFIER is set but {python} has no consistent_sampler"
        );
        eprintln!("SKIPPED: tools/verify_draw.py ({python} has no consistent_sampler)");
        return None;
    }
    let out = std::process::Command::new(&python)
        .arg(repo("tools/verify_draw.py"))
        .arg(dir)
        .output()
        .expect("python");
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Checks every property the law and the plan ask of a draw, from the published files.
fn check_draw(manifest: &Value, draw: &Value) {
    let officers: HashMap<&str, &Value> = manifest["officers"]
        .as_array()
        .expect("officers")
        .iter()
        .map(|o| (o["id"].as_str().expect("id"), o))
        .collect();
    let conflicts: HashSet<(String, String)> = manifest["conflicts"]
        .as_array()
        .expect("conflicts")
        .iter()
        .map(|p| {
            (
                p[0].as_str().unwrap_or("").into(),
                p[1].as_str().unwrap_or("").into(),
            )
        })
        .collect();
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
    let quotas: Vec<u64> = [
        "noncoal",
        "hazchem",
        "trade",
        "enforcement",
        "agencies",
        "training",
    ]
    .iter()
    .map(|t| per_task.get(*t).copied().unwrap_or(0))
    .collect();
    assert_eq!(quotas, vec![8, 5, 5, 16, 20, 20]);

    let teams = draw["teams"].as_array().expect("teams");
    assert_eq!(teams.len(), 74);
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
            assert_eq!(officers[m]["active"], true);
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
    let out = db.suiji(&["draw", "--plan", &plan, "--official", "--seed-value", SEED]);
    assert_eq!(out.status.code(), Some(2), "no draw before freezing");
    assert!(
        stderr(&out).contains("no frozen manifest"),
        "{}",
        stderr(&out)
    );

    let frozen = db.json(&["freeze", "--plan", &plan, "--json"]);
    let digest = frozen["digest"].as_str().expect("digest").to_string();
    let dir = db.path().join("public/2024/henan-2024");
    let sha_file = std::fs::read_to_string(dir.join("manifest.sha256")).expect("sha file");
    assert_eq!(sha_file, format!("{digest}  manifest.json\n"));
    assert_eq!(
        db.json(&["freeze", "--plan", &plan, "--json"])["already_frozen"],
        true
    );

    let drawn = db.json(&[
        "draw",
        "--plan",
        &plan,
        "--official",
        "--seed-value",
        SEED,
        "--json",
    ]);
    assert_eq!(drawn["tasks"], 74);
    assert_eq!(drawn["manifest_digest"], digest.as_str());
    let manifest = read_json(&dir.join("manifest.json"));
    let draw = read_json(&dir.join("draw.json"));
    check_draw(&manifest, &draw);
    assert_eq!(db.json(&["stats", "--json"])["tasks"], 74);

    let out = db.suiji(&["verify", dir.to_str().expect("utf-8")]);
    assert_eq!(common::stdout(&out).trim(), "verified");
    if let Some(python) = python_verifier(&dir) {
        assert_eq!(python, "verified");
    }

    // The one official draw: a second attempt is refused and says when and with which seed.
    let out = db.suiji(&[
        "draw",
        "--plan",
        &plan,
        "--official",
        "--seed-value",
        "99999999",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("already has its official draw") && err.contains(SEED),
        "{err}"
    );

    // A forged draw.json is caught.
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

    // Void (reasoned, audited) and redraw with a new public seed.
    let out = db.suiji(&["draw", "--plan", &plan, "--void"]);
    assert_eq!(out.status.code(), Some(2), "voiding needs a reason");
    let out = db.suiji(&[
        "draw",
        "--plan",
        &plan,
        "--void",
        "--reason",
        "开奖号码录入错误",
    ]);
    common::assert_ok(&out, &["draw", "--void"]);
    let redrawn = db.json(&[
        "draw",
        "--plan",
        &plan,
        "--official",
        "--seed-value",
        "05091314222708",
        "--json",
    ]);
    assert_eq!(redrawn["tasks"], 74);
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

/// Killed in the middle of the official draw (after every row is written, before the commit),
/// the database holds no part of it; the next attempt makes the whole draw.
fn crash_mid_draw(db: &TestDb) {
    load_demo(db);
    let plan = plan();
    db.json(&["freeze", "--plan", &plan, "--json"]);
    let before = db.json(&["stats", "--json"]);
    let mut child = db
        .bare()
        .args([
            "--db",
            &db.url,
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

    let drawn = db.json(&[
        "draw",
        "--plan",
        &plan,
        "--official",
        "--seed-value",
        SEED,
        "--json",
    ]);
    assert_eq!(drawn["tasks"], 74);
    assert_eq!(db.json(&["stats", "--json"])["tasks"], 74);
}

on_both_backends!(crash_mid_draw);

/// The golden vector: the checked-in manifest and seed give the checked-in draw, byte for byte.
#[test]
fn golden_draw() {
    let manifest_bytes = std::fs::read(repo("tests/golden/manifest.json")).expect("manifest");
    let expected = std::fs::read(repo("tests/golden/draw.json")).expect("draw");
    let manifest: suiji::draw::Manifest =
        serde_json::from_slice(&manifest_bytes).expect("manifest");
    assert_eq!(
        suiji::draw::canonical(&manifest).expect("canonical"),
        manifest_bytes,
        "manifest is canonical"
    );
    let digest = suiji::audit::sha256_hex(&manifest_bytes);
    let doc = suiji::draw::run(&manifest, &digest, SEED).expect("draw");
    let bytes = suiji::draw::canonical(&doc).expect("canonical");
    assert!(
        bytes == expected,
        "the draw no longer reproduces tests/golden/draw.json"
    );
    check_draw(
        &serde_json::from_slice(&manifest_bytes).expect("json"),
        &serde_json::from_slice(&expected).expect("json"),
    );
    if let Some(python) = python_verifier(&repo("tests/golden")) {
        assert_eq!(python, "verified");
    }
}
