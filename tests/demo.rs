//! The README's first command: `demo run` loads the shipped Henan demo registry, and running it
//! again changes nothing.

mod common;

use common::TestDb;

fn shipped_demo_loads(db: &TestDb) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/henan");
    let plan = concat!(env!("CARGO_MANIFEST_DIR"), "/rules/henan-2024.rhai");
    let first = db.json(&["demo", "run", "--dir", dir, "--plan", plan, "--json"]);
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

    let again = db.json(&["demo", "run", "--dir", dir, "--plan", plan, "--json"]);
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
