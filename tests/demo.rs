//! The README's first command: `demo run` loads the Henan demo registry built into the binary,
//! in a folder that holds nothing else, and running it again changes nothing; a first run that
//! fails leaves nothing behind.

mod common;

use common::TestDb;

fn shipped_demo_loads(db: &TestDb) {
    // Nothing of the repository: the registry and the plan are the binary's own.
    let first = db.json(&["demo", "run", "--json"]);
    assert_eq!(first["draw"]["verified"], true);
    assert_eq!(first["stats"]["tasks"], 74);
    let stats = &first["stats"];
    assert_eq!(stats["entities"], 3000);
    assert_eq!(stats["bureaus"], 18);
    assert_eq!(stats["items"], 12);
    assert!(stats["officers"].as_u64().unwrap_or(0) >= 150);
    let sectors = stats["entities_by_sector"].as_object().expect("sectors");
    assert_eq!(sectors.len(), 10, "every shipped sector has entities");
    // The pages as of the last day rehearsed (1 January 2025): nobody in the demo year
    // inspected anything, and every task says so, with how late it is.
    let plan_page = std::fs::read_to_string(db.path().join("public/2024/henan-2024/plan.html"))
        .expect("plan.html");
    assert_eq!(
        plan_page.matches("逾期（未在检查期内完成检查").count(),
        74,
        "{plan_page}"
    );
    assert!(!plan_page.contains(">已排期<"));

    // What was imported is kept beside the data, byte for byte the shipped files.
    for name in ["entities.csv", "inspections.csv", "henan-2024.rhai"] {
        let shipped = if name.ends_with(".rhai") {
            common::repo(&format!("rules/{name}"))
        } else {
            common::repo(&format!("examples/henan/{name}"))
        };
        assert_eq!(
            std::fs::read(db.path().join("data/demo").join(name)).expect("written"),
            std::fs::read(shipped).expect("shipped"),
            "{name}"
        );
    }
    let again = db.json(&["demo", "run", "--json"]);
    assert_eq!(
        again["draw"]["digest"], first["draw"]["digest"],
        "drawn once"
    );
    assert_eq!(again["stats"]["tasks"], 74);
    for import in again["imports"].as_array().expect("imports") {
        let o = &import["outcome"];
        assert_eq!(o["inserted"], 0, "{import}");
        assert_eq!(o["updated"], 0, "{import}");
        assert_eq!(o["unchanged"], o["rows"], "{import}");
    }
    assert_eq!(db.json(&["audit", "verify", "--json"])["ok"], true);
}

on_both_backends!(shipped_demo_loads);

/// A first run that fails (here a registry with a bad row) removes what it made: the database,
/// the data and public folders; the next run starts from nothing.
#[test]
fn a_failed_first_demo_leaves_nothing() {
    let Some(db) = TestDb::empty(common::Backend::Sqlite) else {
        return;
    };
    let broken = db.path().join("registry");
    common::copy_dir(&common::repo("examples/henan"), &broken);
    let entities = std::fs::read_to_string(broken.join("entities.csv")).expect("entities");
    std::fs::write(
        broken.join("entities.csv"),
        entities.replacen("一般风险", "很高风险", 1),
    )
    .expect("write");
    let out = db.suiji(&["demo", "run", "--dir", broken.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2), "{}", common::stderr(&out));
    assert!(common::stderr(&out).contains("the demo did not finish: removed"));
    for left in ["suiji.db", "suiji.db-wal", "public", "data"] {
        assert!(!db.path().join(left).exists(), "{left} was left behind");
    }
    let out = db.suiji(&["demo", "run", "--import-only", "--json"]);
    common::assert_ok(&out, &["demo", "run", "--import-only"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["imports"][0]["outcome"]["import_id"], 1, "{report}");
}
