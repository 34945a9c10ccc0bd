//! The README's first command: `demo run` loads the Henan demo registry built into the binary,
//! in a folder that holds nothing else, and rehearses a year in which the divisions work (the
//! site fills with results, on time and late, a penalty, a replacement; letters of every
//! kind); running it again changes nothing; a first run that fails leaves nothing behind.

mod common;

use common::TestDb;

fn shipped_demo_loads(db: &TestDb) {
    // Nothing of the repository: the registry and the plan are the binary's own.
    let first = db.json(&["demo", "run", "--json"]);
    assert_eq!(first["draw"]["verified"], true);
    // 74 drawn and the alternate that replaced a closed firm.
    assert_eq!(first["stats"]["tasks"], 75);
    let stats = &first["stats"];
    assert_eq!(stats["entities"], 3000);
    assert_eq!(stats["bureaus"], 18);
    assert_eq!(stats["items"], 12);
    assert!(stats["officers"].as_u64().unwrap_or(0) >= 150);
    let sectors = stats["entities_by_sector"].as_object().expect("sectors");
    assert_eq!(sectors.len(), 10, "every shipped sector has entities");
    // The year has people in it: the divisions set and moved dates, inspected, published on
    // time and late, decided and published a penalty, had a closed firm replaced, and left one
    // task undone; every act was accepted by the same operations the CLI uses.
    let people = first["people"].as_array().expect("people");
    let refused: Vec<_> = people.iter().filter(|a| !a["refused"].is_null()).collect();
    assert!(refused.is_empty(), "{refused:?}");
    let acts = |kind: &str| people.iter().filter(|a| a["act"] == kind).count();
    assert_eq!(acts("replace"), 1);
    assert_eq!(acts("penalty"), 1);
    assert_eq!(acts("penalty-published"), 1);
    assert!(acts("schedule") >= 1, "a date was moved");
    let site = db.path().join("public/2024/henan-2024");
    let results: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(site.join("results.json")).expect("results.json"))
            .expect("json");
    assert!(results.len() >= 20, "{} results published", results.len());
    let late = results.iter().filter(|r| r["是否按期"] == "否").count();
    assert!(late >= 1, "no late publication");
    let penalties: Vec<_> = results
        .iter()
        .filter(|r| r["处罚决定日期"] != "" && r["处罚公示日期"] != "")
        .collect();
    assert_eq!(penalties.len(), 1, "{penalties:?}");
    let pages = std::fs::read_dir(site.join("results"))
        .expect("results/")
        .count();
    assert_eq!(pages, results.len(), "a page per published result");
    // One replaced, one never inspected: overdue on the last day rehearsed (1 January 2025).
    let plan_page = std::fs::read_to_string(site.join("plan.html")).expect("plan.html");
    assert_eq!(plan_page.matches("已替补").count(), 1, "{plan_page}");
    assert_eq!(plan_page.matches("逾期（未在检查期内完成检查").count(), 1);
    // Letters of every kind, written to files (a rehearsal sends nothing).
    let mail: Vec<String> = std::fs::read_dir(db.path().join("data/mail"))
        .expect("data/mail")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    for kind in suiji::notify::Kind::ALL {
        let end = format!("-{}.eml", kind.name());
        assert!(
            mail.iter().any(|m| m.ends_with(&end)),
            "no {end} in {mail:?}"
        );
    }
    // The monthly reports count what the divisions did: May's has overdue work in it.
    let timeline = first["timeline"].as_array().expect("timeline");
    let may = timeline
        .iter()
        .find(|r| r["job"] == "report" && r["outcome"].as_str().unwrap_or("").contains("2024-05"))
        .expect("May's report");
    assert!(
        !may["outcome"].as_str().unwrap_or("").contains(" 0 overdue"),
        "{may}"
    );

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
    assert_eq!(again["stats"]["tasks"], 75);
    assert_eq!(
        again["people"],
        serde_json::json!([]),
        "the divisions act once"
    );
    assert_eq!(
        std::fs::read_dir(db.path().join("data/mail"))
            .expect("mail")
            .count(),
        mail.len(),
        "no letter twice"
    );
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
