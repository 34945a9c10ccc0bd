//! Tampers of a plan's published folder, each as a forger would do it, for every verifier's
//! tests (`tests/record.rs` runs `suiji verify` and the Python verifier on them,
//! `tests/site.rs` the browser).

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::{TestDb, on, repo};

/// Where the demo plan's folder is published, under a test store's folder.
pub const FOLDER: &str = "public/2024/henan-2024";

/// Sets every listed file's digest in index.json (and the `.sha256` files and current copies)
/// to what the files now hash to: a tamperer who re-hashes everything.
fn rehash(dir: &Path) {
    let path = dir.join("index.json");
    let mut index: Value =
        serde_json::from_slice(&std::fs::read(&path).expect("index")).expect("json");
    for e in index["entries"].as_array_mut().expect("entries") {
        if let Some(f) = e["file"].as_str().map(str::to_string) {
            let bytes = std::fs::read(dir.join(&f)).unwrap_or_default();
            e["sha256"] = json!(suiji::audit::sha256_hex(&bytes));
        }
    }
    for (copy, key) in [("manifest.json", "manifest"), ("draw.json", "draw")] {
        if let Some(f) = index["current"][key].as_str() {
            let _ = std::fs::copy(dir.join(f), dir.join(copy));
        }
    }
    std::fs::write(&path, serde_json::to_vec_pretty(&index).expect("json")).expect("write");
}

fn edit_json(path: &Path, change: impl FnOnce(&mut Value)) {
    let mut v: Value = serde_json::from_slice(&std::fs::read(path).expect("read")).expect("json");
    change(&mut v);
    let bytes = if path.ends_with("index.json") || path.ends_with("selection.json") {
        serde_json::to_vec_pretty(&v).expect("json")
    } else {
        suiji::draw::canonical(&v).expect("canonical")
    };
    std::fs::write(path, bytes).expect("write");
}

/// A tamper: its name, and what it does to a copy of a plan's published folder.
pub type Tamper = (&'static str, Box<dyn Fn(&Path, &Path)>);

/// The tampers of the closing note's table; `other` is another plan's published folder.
pub fn tampers() -> Vec<Tamper> {
    vec![
        (
            "edit a ticket",
            Box::new(|d: &Path, _: &Path| {
                edit_json(&d.join("draw-1.json"), |v| {
                    let t = v["strata"][0]["selected"][0]["ticket"]
                        .as_str()
                        .unwrap_or("")
                        .to_string();
                    let last = if t.ends_with('1') { "2" } else { "1" };
                    v["strata"][0]["selected"][0]["ticket"] =
                        json!(format!("{}{last}", &t[..t.len() - 1]));
                })
            }),
        ),
        (
            "edit a ticket, re-hash everything",
            Box::new(|d: &Path, _: &Path| {
                edit_json(&d.join("draw-1.json"), |v| {
                    v["strata"][0]["selected"][0]["ticket"] = json!("0.5");
                });
                rehash(d);
            }),
        ),
        (
            "swap a selected entity and an alternate, re-hash",
            Box::new(|d: &Path, _: &Path| {
                edit_json(&d.join("draw-1.json"), |v| {
                    let s = &mut v["strata"][0];
                    let (a, b) = (s["selected"][0].clone(), s["alternates"][0].clone());
                    s["selected"][0] = b;
                    s["alternates"][0] = a;
                });
                rehash(d);
            }),
        ),
        (
            "reorder the index (renumbered)",
            Box::new(|d: &Path, _: &Path| {
                edit_json(&d.join("index.json"), |v| {
                    let e = v["entries"].as_array_mut().expect("entries");
                    e.swap(0, 1);
                    for (i, x) in e.iter_mut().enumerate() {
                        x["n"] = json!(i + 1);
                    }
                })
            }),
        ),
        (
            "delete a manifest",
            Box::new(|d: &Path, _: &Path| {
                std::fs::remove_file(d.join("manifest-1.json")).expect("rm");
            }),
        ),
        (
            "swap in another plan's files, re-hash",
            Box::new(|d: &Path, other: &Path| {
                for f in ["manifest-1.json", "draw-1.json"] {
                    std::fs::copy(other.join(f), d.join(f)).expect("copy");
                }
                rehash(d);
            }),
        ),
        (
            "edit a name in the selection downloads",
            Box::new(|d: &Path, _: &Path| {
                let mut name = String::new();
                edit_json(&d.join("selection.json"), |v| {
                    name = v[0]["检查对象"].as_str().unwrap_or("").to_string();
                    v[0]["检查对象"] = json!("某某替换公司");
                });
                let csv = std::fs::read_to_string(d.join("selection.csv")).expect("csv");
                std::fs::write(
                    d.join("selection.csv"),
                    csv.replacen(&name, "某某替换公司", 1),
                )
                .expect("write");
            }),
        ),
        (
            "replace a team member in the selection downloads",
            Box::new(|d: &Path, _: &Path| {
                let mut cell = String::new();
                edit_json(&d.join("selection.json"), |v| {
                    cell = v[0]["执法人员（姓名/执法证号）"]
                        .as_str()
                        .unwrap_or("")
                        .to_string();
                    let swapped = cell.replacen('（', "（9", 1);
                    v[0]["执法人员（姓名/执法证号）"] = json!(swapped);
                });
                let csv = std::fs::read_to_string(d.join("selection.csv")).expect("csv");
                std::fs::write(
                    d.join("selection.csv"),
                    csv.replacen(&cell, &cell.replacen('（', "（9", 1), 1),
                )
                .expect("write");
            }),
        ),
    ]
}

/// Two plans drawn in one store; the first's folder and the second's.
pub fn two_plans(db: &TestDb) -> (PathBuf, PathBuf) {
    super::load_demo(db);
    super::freeze_and_draw_at(db, "2024-05-13 09:00");
    let text = std::fs::read_to_string(repo("rules/henan-2024.rhai")).expect("plan");
    let other = db.path().join("henan-2024b.rhai");
    std::fs::write(
        &other,
        text.replace("id: \"henan-2024\"", "id: \"henan-2024b\""),
    )
    .expect("write");
    let other = other.to_str().expect("utf-8");
    on(db, "2024-05-13 10:00", &["freeze", "--plan", other]);
    on(
        db,
        "2024-05-16 21:40",
        &[
            "draw",
            "--plan",
            other,
            "--official",
            "--seed-value",
            "03071218253109",
        ],
    );
    (
        db.path().join(FOLDER),
        db.path().join("public/2024/henan-2024b"),
    )
}
