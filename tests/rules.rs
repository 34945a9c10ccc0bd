//! Rule scripts through the real binary: the Henan plans pass on the demo registry (on both
//! databases), and a corpus of broken scripts each gets its own message at the right line,
//! without hanging or crashing the process.

mod common;

use std::time::{Duration, Instant};

use common::{Backend, TestDb, load_demo, repo};
use serde_json::Value;

fn henan_plans(db: &TestDb) {
    load_demo(db);
    let p2024 = repo("rules/henan-2024.rhai");
    let p2024 = p2024.to_str().expect("utf-8");
    let check = db.json(&["rules", "check", p2024, "--json"]);
    assert_eq!(check["ok"], true, "{check}");
    assert_eq!(check["total_quota"], 74);

    let show = db.json(&["rules", "show", p2024, "--json"]);
    assert_eq!(show["year"], 2024);
    assert_eq!(show["total_quota"], 74);
    let tasks = show["tasks"].as_array().expect("tasks");
    let quotas: Vec<u64> = tasks
        .iter()
        .map(|t| t["quota"].as_u64().expect("quota"))
        .collect();
    assert_eq!(quotas, vec![8, 5, 5, 16, 20, 20]);
    let divisions: Vec<&str> = tasks
        .iter()
        .map(|t| t["division"].as_str().expect("division"))
        .collect();
    assert_eq!(
        divisions,
        vec![
            "noncoal",
            "hazchem",
            "industry_trade",
            "enforcement",
            "planning",
            "training"
        ]
    );
    for t in tasks {
        assert!(t["pool_size"].as_u64() >= t["quota"].as_u64(), "{t}");
    }
    assert_eq!(tasks[2]["joint"]["agency"], "hnsamr");
    let next = show["schedules"][0]["next_run"].as_str().expect("next run");
    assert!(next.ends_with("+08:00"), "{next}");

    let p2025 = repo("rules/henan-2025.rhai");
    let p2025 = p2025.to_str().expect("utf-8");
    assert_eq!(db.json(&["rules", "check", p2025, "--json"])["ok"], true);
    let diff = db.json(&["rules", "diff", p2024, p2025, "--json"]);
    let changed = |path: &str| {
        diff.as_array()
            .expect("changes")
            .iter()
            .find(|c| c["path"] == path)
            .map(|c| (c["old"].clone(), c["new"].clone()))
    };
    assert_eq!(
        changed("tasks[hazchem].quota"),
        Some((Value::from(5), Value::from(8)))
    );
    assert_eq!(
        changed("teams.recusal.last_year"),
        Some((Value::from(false), Value::from(true)))
    );
    assert_eq!(
        changed("tasks[enforcement].quota"),
        None,
        "unchanged quotas are not listed"
    );
    // And line by line: the hunks of the scripts, numbered in each.
    let lines = db.json(&["rules", "diff", p2024, p2025, "--lines", "--json"]);
    let added: Vec<&str> = lines["lines"]
        .as_array()
        .expect("hunks")
        .iter()
        .flat_map(|h| h.as_array().into_iter().flatten())
        .filter(|l| l["tag"] == "added" && l["new"].as_u64().is_some())
        .filter_map(|l| l["text"].as_str())
        .collect();
    assert!(added.iter().any(|l| l.contains("2025")), "{added:?}");
    assert_eq!(
        lines["changes"].as_array().map(Vec::len),
        diff.as_array().map(Vec::len)
    );

    sampling_frame(db, p2024, &pool_sizes(&show));
}

fn pool_sizes(show: &Value) -> Vec<u64> {
    show["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| t["pool_size"].as_u64().expect("pool size"))
        .collect()
}

/// The pools are counted from the sampling frame, which SQLite reads from an index of rows
/// packed by the database itself (migration 0008): an entity an import closes leaves its pool
/// at once, and a database from before that migration gets the index on upgrade and counts
/// the same.
fn sampling_frame(db: &TestDb, plan: &str, sizes: &[u64]) {
    let shown = |db: &TestDb| pool_sizes(&db.json(&["rules", "show", plan, "--json"]));
    let csv = std::fs::read_to_string(repo("examples/henan/entities.csv")).expect("entities");
    let (header, rows) = csv.split_once('\n').expect("header");
    let (first, rest) = rows.split_once('\n').expect("a row");
    // 工贸, 正常: in the industry-and-trade pool until it is closed.
    assert!(
        first.contains(",工贸,") && first.contains(",正常,"),
        "{first}"
    );
    let closed = db.path().join("closed.csv");
    let line = first.replace(",正常,", ",注销,");
    std::fs::write(&closed, format!("{header}\n{line}\n{rest}")).expect("write");
    let import = |path: &std::path::Path| {
        db.json(&[
            "import",
            "entities",
            path.to_str().expect("utf-8"),
            "--json",
        ])
    };
    assert_eq!(import(&closed)["outcome"]["updated"], 1);
    let after = shown(db);
    let gone: Vec<u64> = sizes.iter().zip(&after).map(|(a, b)| a - b).collect();
    assert_eq!(gone, vec![0, 0, 1, 0, 0, 0], "{sizes:?} then {after:?}");
    assert_eq!(
        import(&repo("examples/henan/entities.csv"))["outcome"]["updated"],
        1
    );
    assert_eq!(shown(db), sizes);

    let undo: &[&str] = match db.backend {
        Backend::Sqlite => &[
            "DROP INDEX entities_frame",
            "ALTER TABLE entities DROP COLUMN frame",
            "CREATE INDEX entities_sector_status ON entities (sector, status)",
            "DELETE FROM _sqlx_migrations WHERE version = 8",
        ],
        Backend::Postgres => &[
            "CREATE INDEX entities_sector_status ON entities (sector, status)",
            "DELETE FROM _sqlx_migrations WHERE version = 8",
        ],
    };
    db.sql(undo);
    assert_eq!(shown(db), sizes, "the same pools after the upgrade");
    let indexes = match db.backend {
        Backend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE tbl_name = 'entities' \
             AND type = 'index' AND sql IS NOT NULL ORDER BY name"
        }
        Backend::Postgres => {
            "SELECT indexname::text FROM pg_indexes WHERE tablename = 'entities' \
             AND indexname <> 'entities_pkey' ORDER BY indexname"
        }
    };
    let want: &[&str] = match db.backend {
        Backend::Sqlite => &["entities_frame"],
        Backend::Postgres => &[],
    };
    assert_eq!(db.query_strings(indexes), want);
}

on_both_backends!(henan_plans);

/// A plan as Henan wrote it in 2021: non-coal mines drawn by risk class at 30% / 10% / 2% / 1%
/// of each class, enterprises at 12.5% of their pool (at least 3, at most 14). `rules check`
/// and `rules show` give the numbers for the registry as it stands; the frozen manifest records
/// each ratio beside its quota, and `suiji verify` and the Python verifier recompute them.
fn ratio_plan(db: &TestDb) {
    load_demo(db);
    let text = std::fs::read_to_string(repo("rules/henan-2024.rhai")).expect("plan");
    let split = "split: [
        #{ name: \"high\", label: \"重大、较大风险单位\", risk: [\"重大\", \"较大\"], share: 50 },
        #{ name: \"rest\", label: \"其余单位（全部风险等级）\", risk: \"all\", share: 50 },
    ],";
    let by_risk = "split: [
        #{ name: \"red\", risk: \"重大\", ratio: \"30%\" },
        #{ name: \"orange\", risk: \"较大\", ratio: \"10%\" },
        #{ name: \"yellow\", risk: \"一般\", ratio: \"2%\" },
        #{ name: \"blue\", risk: \"低\", ratio: \"1%\" },
    ],";
    assert!(text.contains(split));
    let source = text
        .replacen("quota: 8,", "", 1)
        .replacen(split, by_risk, 1)
        .replacen("quota: 16,", "ratio: \"12.5%\", min: 3, max: 14,", 1)
        .replacen("total: 74,", "", 1)
        .replace("propose_dates: true", "propose_dates: false");
    let plan = db.path().join("ratio.rhai");
    std::fs::write(&plan, source).expect("plan");
    let plan = plan.to_str().expect("utf-8");

    let show = db.json(&["rules", "show", plan, "--json"]);
    let strata: Vec<&Value> = show["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .flat_map(|t| t["strata"].as_array().expect("strata"))
        .collect();
    let mut total = 0;
    for s in &strata {
        total += s["quota"].as_u64().expect("quota");
        let Some(bp) = s["ratio"]["basis_points"].as_u64() else {
            continue;
        };
        let pool = s["pool_size"].as_u64().expect("pool");
        let min = s["ratio"]["min"].as_u64().expect("min");
        let max = s["ratio"]["max"].as_u64().unwrap_or(u64::MAX);
        assert_eq!(
            s["quota"].as_u64(),
            Some((pool * bp).div_ceil(10_000).max(min).min(max)),
            "{s}"
        );
    }
    let ratios: Vec<(&str, u64)> = strata
        .iter()
        .filter_map(|s| Some((s["id"].as_str()?, s["ratio"]["basis_points"].as_u64()?)))
        .collect();
    assert_eq!(
        ratios,
        [
            ("noncoal/red", 3000),
            ("noncoal/orange", 1000),
            ("noncoal/yellow", 200),
            ("noncoal/blue", 100),
            ("enforcement", 1250)
        ]
    );
    assert_eq!(show["total_quota"].as_u64(), Some(total));
    let check = db.json(&["rules", "check", plan, "--json"]);
    assert_eq!(check["total_quota"].as_u64(), Some(total), "{check}");
    let text = db.suiji(&["rules", "show", plan]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("= 12.5% ≥3 ≤14"), "{text}");
    assert!(
        text.contains("the draw takes it of the pool at the freeze"),
        "{text}"
    );

    common::draw_plan(db, plan, ("2024-05-13 09:00", "2024-05-16 21:30"), &[]);
    let folder = db.path().join("public/2024/henan-2024");
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(folder.join("manifest-1.json")).expect("manifest"))
            .expect("json");
    assert_eq!(manifest["spec"], "suiji-draw-v4");
    let published: Vec<(&str, u64)> = manifest["strata"]
        .as_array()
        .expect("strata")
        .iter()
        .filter_map(|s| Some((s["stratum"].as_str()?, s["ratio"]["basis_points"].as_u64()?)))
        .collect();
    assert_eq!(published, ratios);
    let labels: Vec<&str> = manifest["strata"]
        .as_array()
        .expect("strata")
        .iter()
        .filter_map(|s| s["label"].as_str())
        .collect();
    assert_eq!(labels[..4], ["重大风险", "较大风险", "一般风险", "低风险"]);
    let verified = db.suiji(&["verify", folder.to_str().expect("utf-8")]);
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    common::python_accepts(&folder);
    let page = std::fs::read_to_string(folder.join("plan.html")).expect("plan page");
    assert!(
        page.contains("按 12.5%（至少 3 家，至多 14 家）"),
        "the plan page states the ratio"
    );
    assert!(page.contains("较大风险") && !page.contains(">noncoal/orange<"));
}

on_both_backends!(ratio_plan);

/// Two rounds a year: the autumn plan, frozen after the spring plan's draw, leaves out the 74
/// entities spring drew (at most once a year, across plans); a joint plan that names its
/// reason to re-visit keeps them in its pools.
fn a_second_plan_of_the_year(db: &TestDb) {
    load_demo(db);
    common::freeze_and_draw(db);
    let spring: Vec<String> = db
        .json(&["task", "list", "--json"])
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| t["uscc"].as_str().expect("uscc").to_string())
        .collect();
    assert_eq!(spring.len(), 74);
    let variant = |id: &str, frequency: &str| autumn_plan(db, id, frequency);
    let autumn = variant("henan-2024-autumn", "frequency: #{ lookback_months: 0 },");
    let show = db.json(&["rules", "show", &autumn, "--json"]);
    assert_eq!(show["drawn_elsewhere"], 74, "{show}");
    let said = String::from_utf8_lossy(&db.suiji(&["rules", "show", &autumn]).stdout).to_string();
    assert!(
        said.contains("left out: 74 entities the other plans of 2024 have drawn"),
        "{said}"
    );
    common::on(db, "2024-09-13", &["freeze", "--plan", &autumn]);
    let manifest: Value = serde_json::from_slice(
        &std::fs::read(
            db.path()
                .join("public/2024/henan-2024-autumn/manifest-1.json"),
        )
        .expect("manifest"),
    )
    .expect("json");
    let candidates: std::collections::HashSet<&str> = manifest["strata"]
        .as_array()
        .expect("strata")
        .iter()
        .flat_map(|s| s["candidates"].as_array().expect("candidates"))
        .filter_map(Value::as_str)
        .collect();
    assert!(!candidates.is_empty());
    let again: Vec<&String> = spring
        .iter()
        .filter(|u| candidates.contains(u.as_str()))
        .collect();
    assert!(again.is_empty(), "drawn twice in 2024: {again:?}");

    let joint = variant(
        "henan-2024-joint",
        "frequency: #{ lookback_months: 0, revisit: \"与省市场监管局联合检查，可重复检查\" },",
    );
    let show = db.json(&["rules", "show", &joint, "--json"]);
    assert_eq!(
        show["frequency"]["revisit"],
        "与省市场监管局联合检查，可重复检查"
    );
    let joint_pools = pool_sizes(&show);
    let autumn_pools = pool_sizes(&db.json(&["rules", "show", &autumn, "--json"]));
    let more: u64 = joint_pools.iter().sum::<u64>() - autumn_pools.iter().sum::<u64>();
    // Spring's entities are back in the joint plan's pools (each pool counts them once).
    assert!(more >= 74, "{joint_pools:?} against {autumn_pools:?}");
    let said = String::from_utf8_lossy(&db.suiji(&["rules", "show", &joint]).stdout).to_string();
    assert!(said.contains("may draw again 74 entities"), "{said}");
}

on_both_backends!(a_second_plan_of_the_year);

/// The Henan 2024 plan as a second round of the year: `id`, frozen on 13 and drawn on 17
/// September, with `frequency` in place of its own.
fn autumn_plan(db: &TestDb, id: &str, frequency: &str) -> String {
    let text = std::fs::read_to_string(repo("rules/henan-2024.rhai")).expect("plan");
    let source = text
        .replace("id: \"henan-2024\"", &format!("id: \"{id}\""))
        .replace("2024-05-20", "2024-09-23")
        .replace("2024年5月16日", "2024年9月17日")
        .replace("2024-05-16 21:15", "2024-09-17 21:15")
        .replace("0 0 9 13 5 *", "0 0 9 13 9 *")
        .replace("0 30 21 16 5 *", "0 30 21 17 9 *")
        .replace("frequency: #{ lookback_months: 0 },", frequency)
        .replace("propose_dates: true", "propose_dates: false");
    let path = db.path().join(format!("{id}.rhai"));
    std::fs::write(&path, source).expect("plan");
    path.display().to_string()
}

/// Yearly caps across all inspections (国办发〔2024〕54号): inspections done outside suiji are
/// imported (a bad file imports nothing and names row, field and value; the same file again
/// adds nothing), and with suiji's own completed inspections they leave the entities at their
/// cap out of a later plan's pools: `rules check` and `rules show` say how many per cap, the
/// v5 manifest lists them, every verifier accepts it, and no drawn entity goes over its cap.
fn yearly_caps(db: &TestDb) {
    load_demo(db);
    common::freeze_and_draw(db);
    let registry = std::fs::read_to_string(repo("examples/henan/entities.csv")).expect("csv");
    let rows: Vec<Vec<&str>> = registry
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    let risk: std::collections::HashMap<&str, &str> = rows.iter().map(|r| (r[0], r[5])).collect();
    // One of spring's inspections done in June, by suiji.
    let tasks = db.json(&["task", "list", "--json"]);
    let done = tasks
        .as_array()
        .expect("tasks")
        .iter()
        .find(|t| risk.get(t["uscc"].as_str().unwrap_or("")) != Some(&"重大风险"))
        .expect("a task")
        .clone();
    let (id, inspected) = (
        done["id"].as_str().expect("id"),
        done["uscc"].as_str().expect("uscc").to_string(),
    );
    common::on(
        db,
        "2024-06-04",
        &["task", "schedule", id, "--date", "2024-06-05"],
    );
    common::on(
        db,
        "2024-06-05",
        &[
            "task",
            "complete",
            id,
            "--date",
            "2024-06-05",
            "--outcome",
            "no-issues",
        ],
    );
    // Outside suiji (besides the demo's own inspections.csv): every 重大风险 hazardous-chemicals
    // firm twice; the one suiji inspected twice.
    let mut heavy: Vec<&str> = rows
        .iter()
        .filter(|r| r[2] == "危险化学品" && r[5] == "重大风险" && r[7] == "正常")
        .map(|r| r[0])
        .collect();
    heavy.sort_unstable();
    assert!(heavy.len() > 10, "{heavy:?}");
    let mut csv = String::from("统一社会信用代码,检查日期,检查类型,检查主体,文书编号\n");
    for u in &heavy {
        csv.push_str(&format!("{u},2024-03-12,重点检查,河南省应急管理厅,\n"));
        csv.push_str(&format!("{u},2024-04-20,专项检查,郑州市应急管理局,\n"));
    }
    csv.push_str(&format!(
        "{inspected},2024-02-20,投诉举报核查,河南省应急管理厅,豫应急罚〔2024〕1号\n\
         {inspected},2024-04-02,重点检查,河南省应急管理厅,\n"
    ));
    let bad = db.path().join("bad-inspections.csv");
    std::fs::write(
        &bad,
        format!("{csv}{},2024-13-01,重点检查,河南省应急管理厅,\n", heavy[0]),
    )
    .expect("csv");
    let out = db.suiji(&["import", "inspections", bad.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2));
    let said = format!("{}{}", common::stdout(&out), common::stderr(&out));
    assert!(
        said.contains("bad-inspections.csv")
            && said.contains("row 74, column 检查日期, value \"2024-13-01\""),
        "{said}"
    );
    let demo = std::fs::read_to_string(repo("examples/henan/inspections.csv")).expect("demo");
    let demo: Vec<&str> = demo
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next())
        .collect();
    assert_eq!(
        db.query_strings("SELECT CAST(COUNT(*) AS TEXT) FROM inspections"),
        [demo.len().to_string()],
        "nothing of the bad file"
    );
    let good = db.path().join("inspections.csv");
    std::fs::write(&good, &csv).expect("csv");
    let first = db.json(&[
        "import",
        "inspections",
        good.to_str().expect("utf-8"),
        "--json",
    ]);
    assert_eq!(first["outcome"]["inserted"], 2 * heavy.len() + 2, "{first}");
    let again = db.json(&[
        "import",
        "inspections",
        good.to_str().expect("utf-8"),
        "--json",
    ]);
    assert_eq!(
        again["outcome"]["unchanged"],
        2 * heavy.len() + 2,
        "{again}"
    );
    assert_eq!(again["outcome"]["inserted"], 0, "{again}");

    let plan = autumn_plan(
        db,
        "henan-2024-caps",
        "frequency: #{ lookback_months: 0, revisit: \"专项复查\", cap_per_year: [
            #{ label: \"重大风险危化品\", sectors: [\"危险化学品\"], risk: \"重大\", cap: 2 },
            #{ label: \"其余单位\", cap: 3 },
        ] },",
    );
    let show = db.json(&["rules", "show", &plan, "--json"]);
    let caps: Vec<(&str, u64, u64)> = show["caps"]
        .as_array()
        .expect("caps")
        .iter()
        .map(|c| {
            (
                c["label"].as_str().unwrap_or(""),
                c["cap"].as_u64().unwrap_or(0),
                c["excluded"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        caps,
        [
            ("重大风险危化品", 2, heavy.len() as u64),
            ("其余单位", 3, 1)
        ]
    );
    assert_eq!(
        db.json(&["rules", "check", &plan, "--json"])["caps"],
        show["caps"]
    );
    let text = common::stdout(&db.suiji(&["rules", "check", &plan]));
    assert!(
        text.contains(&format!(
            "yearly cap: 重大风险危化品 at most 2 inspection(s) in 2024: {} entities left out",
            heavy.len()
        )),
        "{text}"
    );

    common::draw_plan(db, &plan, ("2024-09-13 09:00", "2024-09-17 21:30"), &[]);
    let folder = db.path().join("public/2024/henan-2024-caps");
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(folder.join("manifest-1.json")).expect("manifest"))
            .expect("json");
    assert_eq!(manifest["spec"], "suiji-draw-v5");
    let capped: Vec<&str> = manifest["capped"]
        .as_array()
        .expect("capped")
        .iter()
        .filter_map(|c| c["uscc"].as_str())
        .collect();
    let mut expected: Vec<&str> = heavy.iter().copied().chain([inspected.as_str()]).collect();
    expected.sort_unstable();
    assert_eq!(capped, expected);
    // Nobody drawn goes over the cap: before this draw, each had fewer than 2 inspections.
    // Outside (the demo's and this test's) and suiji's own, against the cap of its class.
    let before = |u: &str| {
        demo.iter().filter(|d| **d == u).count()
            + 2 * usize::from(heavy.contains(&u))
            + 3 * usize::from(u == inspected)
    };
    let cap = |u: &str| if heavy.contains(&u) { 2 } else { 3 };
    let drawn: Vec<String> = db
        .json(&["task", "list", "--json"])
        .as_array()
        .expect("tasks")
        .iter()
        .filter(|t| t["plan_id"] == "henan-2024-caps")
        .map(|t| t["uscc"].as_str().expect("uscc").to_string())
        .collect();
    assert!(!drawn.is_empty());
    for u in &drawn {
        // With this draw's inspection, at most the cap.
        assert!(before(u) < cap(u), "{u} drawn at its cap");
    }
    let out = db.suiji(&["verify", folder.to_str().expect("utf-8")]);
    common::assert_ok(&out, &["verify", "henan-2024-caps"]);
    common::python_accepts(&folder);
}

on_both_backends!(yearly_caps);

/// `rules next`: the 2024 plan carried to 2025 (and 2026) checks on the demo registry, its
/// dates on the same weekdays, with what the admin must decide; an existing file is never
/// written over.
fn next_years_plan(db: &TestDb) {
    load_demo(db);
    let source = repo("rules/henan-2024.rhai");
    let source = source.to_str().expect("utf-8");
    let out = db.path().join("henan-2025.rhai");
    let out = out.to_str().expect("utf-8");
    let w = db.json(&[
        "rules", "next", source, "--year", "2025", "--out", out, "--json",
    ]);
    assert_eq!(w["ok"], true, "{w}");
    assert_eq!(w["id"], "henan-2025");
    let decide: Vec<&str> = w["decide"]
        .as_array()
        .expect("decide")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        decide
            .iter()
            .any(|d| d.starts_with("seed: the digits of 双色球 on 2025-05-15 (星期四)")),
        "{decide:?}"
    );
    assert!(
        decide
            .iter()
            .any(|d| d.starts_with("window: 2025-05-19 to 2025-12-31")),
        "{decide:?}"
    );
    let show = db.json(&["rules", "show", out, "--json"]);
    assert_eq!(show["year"], 2025);
    assert_eq!(show["seed"]["available_at"], "2025-05-15T21:15:00+08:00");
    let again = db.suiji(&["rules", "next", source, "--year", "2025", "--out", out]);
    assert_eq!(again.status.code(), Some(2));
    assert!(common::stderr(&again).contains("never written over an existing file"));
    // Two years on, from a folder of its own: named by the new id beside the source.
    let dir = db.path().join("plans");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::copy(source, dir.join("henan-2024.rhai")).expect("copy");
    let from = dir.join("henan-2024.rhai");
    let w = db.json(&[
        "rules",
        "next",
        from.to_str().expect("utf-8"),
        "--year",
        "2026",
        "--json",
    ]);
    assert_eq!(
        w["file"],
        dir.join("henan-2026.rhai").display().to_string(),
        "{w}"
    );
    assert!(dir.join("henan-2026.rhai").is_file());
}

on_both_backends!(next_years_plan);

/// Where an error must be reported: the line of the named task's `task(` call, of `plan(`, or
/// of the first line containing some text.
enum At {
    Task(&'static str),
    Plan,
    Text(&'static str),
}

/// A broken variant of the 2024 plan: replace `find` with `replace`, expect `message` at `at`.
struct Case {
    name: &'static str,
    find: &'static str,
    replace: &'static str,
    at: At,
    message: &'static str,
}

const fn case(
    name: &'static str,
    find: &'static str,
    replace: &'static str,
    at: At,
    message: &'static str,
) -> Case {
    Case {
        name,
        find,
        replace,
        at,
        message,
    }
}

const CORPUS: &[Case] = &[
    case(
        "syntax error",
        "quota: 16,",
        "quota: 16",
        At::Text("pool: pool(#{ sectors: [\"中央驻豫企业\""),
        "syntax error",
    ),
    case(
        "runtime error",
        "quota: 20,\n    pool: pool(#{ sectors: [\"安全培训机构\"]",
        "quota: twenty,\n    pool: pool(#{ sectors: [\"安全培训机构\"]",
        At::Text("quota: twenty"),
        "unknown variable `twenty`",
    ),
    case(
        "infinite loop",
        "// Non-coal mines listed",
        "let i = 0; loop { i += 1; }\n// Non-coal mines listed",
        At::Text("loop {"),
        "ran too long",
    ),
    case(
        "huge string",
        "// Non-coal mines listed",
        "let s = \"河南\"; while true { s += s; }\n// Non-coal mines listed",
        At::Text("s += s"),
        "grew beyond the limit",
    ),
    case(
        "huge array",
        "// Non-coal mines listed",
        "let a = []; while true { a.push(1); }\n// Non-coal mines listed",
        At::Text("a.push"),
        "grew beyond the limit",
    ),
    case(
        "deep recursion",
        "// Non-coal mines listed",
        "fn down(n) { down(n + 1) }\ndown(0);\n// Non-coal mines listed",
        At::Text("down(0);"),
        "too deeply",
    ),
    case(
        "import of a file",
        "// Non-coal mines listed",
        "import \"/etc/passwd\" as secrets;\n// Non-coal mines listed",
        At::Text("import"),
        "cannot import",
    ),
    case(
        "eval",
        "// Non-coal mines listed",
        "let x = eval(\"40 + 2\");\n// Non-coal mines listed",
        At::Text("eval("),
        "`eval` is not available",
    ),
    case(
        "quota larger than pool",
        "quota: 5,\n    pool: pool(#{ sectors: [\"危险化学品\"",
        "quota: 5000,\n    pool: pool(#{ sectors: [\"危险化学品\"",
        At::Task("hazchem"),
        "quota 2000 but its pool has",
    ),
    case(
        "quota zero",
        "quota: 16,",
        "quota: 0,",
        At::Task("enforcement"),
        "quota must be at least 1, found 0",
    ),
    case(
        "quota negative",
        "quota: 16,",
        "quota: -3,",
        At::Task("enforcement"),
        "quota must be at least 1, found -3",
    ),
    case(
        "quota not a number",
        "quota: 16,",
        "quota: \"sixteen\",",
        At::Task("enforcement"),
        "`quota` in task must be a whole number",
    ),
    case(
        "unknown sector",
        "sectors: [\"工贸\"]",
        "sectors: [\"huagong\"]",
        At::Text("pool(#{ sectors: [\"huagong\"]"),
        "unknown sector `huagong`",
    ),
    case(
        "unknown division",
        "division: \"规划科技处\",",
        "division: \"科技处\",",
        At::Task("agencies"),
        "unknown division `科技处`",
    ),
    case(
        "unknown key",
        "quota: 16,",
        "quotaa: 16,",
        At::Task("enforcement"),
        "unknown key `quotaa` in task",
    ),
    case(
        "an empty list of yearly caps",
        "frequency: #{ lookback_months: 0 },",
        "frequency: #{ lookback_months: 0, cap_per_year: [] },",
        At::Plan,
        "`cap_per_year` is empty",
    ),
    case(
        "a yearly cap of 0",
        "frequency: #{ lookback_months: 0 },",
        "frequency: #{ lookback_months: 0, cap_per_year: [#{ risk: \"重大\", cap: 0 }] },",
        At::Plan,
        "cap_per_year[0]: cap 0 must be between 1 and 366",
    ),
    case(
        "a yearly cap without its number",
        "frequency: #{ lookback_months: 0 },",
        "frequency: #{ lookback_months: 0, cap_per_year: [#{ risk: \"重大\" }] },",
        At::Plan,
        "cap_per_year[0]: `cap` (inspections a year, at least 1) is missing",
    ),
    case(
        "a yearly cap on an unknown risk level",
        "frequency: #{ lookback_months: 0 },",
        "frequency: #{ lookback_months: 0, cap_per_year: [#{ risk: \"极高\", cap: 2 }] },",
        At::Plan,
        "cap_per_year[0]: unknown risk level `极高`",
    ),
    case(
        "partial without a reason",
        "total: 74,",
        "total: 74,\n    partial: \" \",",
        At::Plan,
        "`partial` must say why",
    ),
    case(
        "team size 1",
        "size: 2,                      // 行政处罚法",
        "size: 1,                      // 行政处罚法",
        At::Plan,
        "team size 1 is below the legal minimum of 2",
    ),
    case(
        "task team size 1",
        "items: [\"HNYJ-08\"],",
        "items: [\"HNYJ-08\"],\n    team_size: 1,",
        At::Task("enforcement"),
        "team size 1 is below the legal minimum",
    ),
    case(
        "plan id that climbs out of the public folder",
        "id: \"henan-2024\",",
        "id: \"../../pwn\",",
        At::Plan,
        "plan id `../../pwn` must be lowercase letters",
    ),
    case(
        "a title with a terminal escape sequence",
        "title: \"河南省应急管理厅",
        "title: \"\u{1b}]0;pwned\u{7}河南省应急管理厅",
        At::Plan,
        "character 1 (\\u{1b}) is a control character",
    ),
    case(
        "a plan title with a bidi control",
        "title: \"河南省应急管理厅",
        "title: \"\u{202e}河南省应急管理厅",
        At::Plan,
        "character 1 (U+202E (a bidi control)) is an invisible character",
    ),
    case(
        "plan id that passes for an option",
        "id: \"henan-2024\",",
        "id: \"-henan\",",
        At::Plan,
        "plan id `-henan` must be lowercase letters",
    ),
    case(
        "bad cron",
        "draw: \"0 30 21 16 5 *\",",
        "draw: \"every day at nine\",",
        At::Plan,
        "cron expression `every day at nine` for `draw` is invalid",
    ),
    case(
        "cron without seconds",
        "freeze: \"0 0 9 13 5 *\",",
        "freeze: \"0 9 13 5 *\",",
        At::Plan,
        "cron expression `0 9 13 5 *` for `freeze` is invalid",
    ),
    case(
        "missing holiday year",
        "window: #{ start: \"2024-05-20\", end: \"2024-12-31\" },",
        "window: #{ start: \"2027-05-20\", end: \"2027-12-31\" },",
        At::Plan,
        "no holiday data for 2027",
    ),
    case(
        "holiday helper without data",
        "// Non-coal mines listed",
        "let due = add_working_days(\"2027-03-01\", 5);\n// Non-coal mines listed",
        At::Text("add_working_days"),
        "no holiday data for 2027",
    ),
    case(
        "window reversed",
        "end: \"2024-12-31\"",
        "end: \"2024-01-31\"",
        At::Plan,
        "window ends (2024-01-31) before it starts",
    ),
    case(
        "bad date",
        "start: \"2024-05-20\"",
        "start: \"2024-13-01\"",
        At::Plan,
        "`2024-13-01` is not a date",
    ),
    case(
        "total mismatch",
        "total: 74,",
        "total: 75,",
        At::Plan,
        "add up to 74 but the plan states a total of 75",
    ),
    case(
        "uncovered sector",
        "tasks: [noncoal, hazchem, trade, enforcement, agencies, training],",
        "tasks: [noncoal, hazchem, trade, enforcement, agencies],",
        At::Plan,
        "sector `safety_training` (安全培训机构) is in the plan's scope but no task draws from it",
    ),
    case(
        "unknown item",
        "items: [\"HNYJ-08\"],",
        "items: [\"HNYJ-08\", \"HNYJ-99\"],",
        At::Task("enforcement"),
        "unknown 清单 item `HNYJ-99`",
    ),
    case(
        "uncovered item",
        "items: [\"HNYJ-11\"],",
        "items: [\"HNYJ-10\"],",
        At::Plan,
        "清单 item `HNYJ-11`",
    ),
    case(
        "penalty deadline over the law",
        "penalties: 7, ",
        "penalties: 10, ",
        At::Plan,
        "exceeds the legal 7 (安全生产法 第七十八条)",
    ),
    case(
        "results deadline over the law",
        "results: 5, ",
        "results: 25, ",
        At::Plan,
        "exceeds the legal 20",
    ),
    case(
        "not a plan",
        "training],\n})",
        "training],\n});\n42",
        At::Text("42"),
        "must end with the plan",
    ),
    case(
        "seed without available_at",
        "available_at: \"2024-05-16 21:15\",",
        "",
        At::Plan,
        "the seed needs `available_at`",
    ),
    case(
        "available_at not a time",
        "available_at: \"2024-05-16 21:15\",",
        "available_at: \"after the lottery\",",
        At::Plan,
        "available_at `after the lottery` is not a time",
    ),
    case(
        "freeze scheduled after the seed is public",
        "freeze: \"0 0 9 13 5 *\",",
        "freeze: \"0 0 22 16 5 *\",",
        At::Plan,
        "the freeze schedule first fires in 2024 at 2024-05-16 22:00:00, not before the seed",
    ),
    case(
        "draw scheduled before the seed is public",
        "draw: \"0 30 21 16 5 *\",",
        "draw: \"0 0 21 16 5 *\",",
        At::Plan,
        "the draw schedule first fires in 2024 at 2024-05-16 21:00:00, before the seed",
    ),
    case(
        "unknown seed kind",
        "kind: \"manual\",",
        "kind: \"dice\",",
        At::Plan,
        "unknown seed kind `dice`",
    ),
    case(
        "manual seed without source",
        "source: \"中国福利彩票",
        "ignored: \"中国福利彩票",
        At::Plan,
        "unknown key `ignored` in seed",
    ),
    case(
        "joint with a non-partner",
        "agency: \"河南省市场监督管理局\"",
        "agency: \"河南省应急管理厅\"",
        At::Task("trade"),
        "is not a partner agency",
    ),
    case(
        "not enough cadres",
        "cap_per_officer: 8,",
        "cap_per_officer: 2,",
        At::Task("enforcement"),
        "eligible 处级 cadres",
    ),
    case(
        "declared recusal off",
        "recusal: #{ declared: true,",
        "recusal: #{ declared: false,",
        At::Plan,
        "declared conflicts cannot be switched off",
    ),
    case(
        "duplicate task id",
        "id: \"training\",",
        "id: \"agencies\",",
        At::Plan,
        "task id `agencies` is used twice",
    ),
    case(
        "unknown risk level",
        "risk: [\"重大\", \"较大\"], share: 40",
        "risk: [\"严重\"], share: 40",
        At::Task("hazchem"),
        "unknown risk level `严重`",
    ),
];

fn line_of(script: &str, at: &At) -> usize {
    let needle = match at {
        At::Task(id) => format!("let {id} = task("),
        At::Plan => "plan(#{".to_string(),
        At::Text(t) => t.to_string(),
    };
    script
        .lines()
        .position(|l| l.contains(&needle))
        .map(|i| i + 1)
        .unwrap_or_else(|| panic!("`{needle}` is not in the script"))
}

#[test]
fn broken_scripts_are_explained() {
    assert!(CORPUS.len() >= 25, "the corpus keeps at least 25 cases");
    let db = TestDb::new(Backend::Sqlite).expect("sqlite");
    load_demo(&db);
    let original = std::fs::read_to_string(repo("rules/henan-2024.rhai")).expect("script");
    let mut failures = Vec::new();
    for (i, c) in CORPUS.iter().enumerate() {
        assert!(
            original.contains(c.find),
            "case `{}`: `{}` not in the 2024 script",
            c.name,
            c.find
        );
        let script = original.replacen(c.find, c.replace, 1);
        let file = db.path().join(format!("broken-{i:02}.rhai"));
        std::fs::write(&file, &script).expect("write");
        let started = Instant::now();
        let out = db.suiji(&["rules", "check", file.to_str().expect("utf-8"), "--json"]);
        let took = started.elapsed();
        if out.status.code() != Some(2) {
            failures.push(format!(
                "{}: exit {:?}, stderr {}",
                c.name,
                out.status.code(),
                common::stderr(&out)
            ));
            continue;
        }
        let report: Value = serde_json::from_slice(&out.stdout).expect("json");
        let errors: Vec<&Value> = report["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter(|f| f["severity"] == "error")
            .collect();
        let want_line = line_of(&script, &c.at);
        let hit = errors
            .iter()
            .find(|f| f["message"].as_str().is_some_and(|m| m.contains(c.message)));
        match hit {
            None => failures.push(format!(
                "{}: no error contains `{}`: {errors:?}",
                c.name, c.message
            )),
            Some(f) if f["line"].as_u64() != Some(want_line as u64) => failures.push(format!(
                "{}: reported at line {} instead of {want_line}: {f}",
                c.name, f["line"]
            )),
            Some(f) => assert!(
                f["file"].as_str().is_some_and(|x| x.ends_with(".rhai")),
                "{f}"
            ),
        }
        assert!(took < Duration::from_secs(20), "{} took {took:?}", c.name);
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases:\n{}",
        failures.len(),
        CORPUS.len(),
        failures.join("\n")
    );
}
