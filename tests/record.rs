//! The public record is what was verified (`suiji-draw-v3`): what the pages show of the draw
//! comes from the published draw and manifest, not from rows a database edit can change; the
//! verifiers check the selection downloads and bind a folder to its plan; the public files
//! carry names, 执法证号 and units only, while the reasons behind eligibility stay in a
//! private record an auditor can check against its published hash; and every tamper of the
//! table in the closing note is caught by `suiji verify` and `tools/verify_draw.py` (the
//! browser's column is in `tests/site.rs`).

mod common;

use std::path::{Path, PathBuf};

use common::{TestDb, repo, tamper};
use serde_json::{Value, json};

use tamper::FOLDER;

fn verify(dir: &Path, extra: &[&str]) -> (i32, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_suiji"))
        .arg("verify")
        .arg(dir)
        .args(extra)
        .output()
        .expect("suiji verify");
    (
        out.status.code().unwrap_or(-1),
        common::stdout(&out).trim_end().to_string(),
    )
}

fn last_line(text: &str) -> &str {
    text.lines().last().unwrap_or("")
}

/// Every JSON member name in a document that holds data, recursively (a rule's on/off flag,
/// such as `recusal.home_city`, is policy, not data).
fn keys(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                if !v.is_boolean() {
                    out.push(k.clone());
                }
                keys(v, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|v| keys(v, out)),
        _ => {}
    }
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// The story: a draw, then an insider edits the database and renames an officer; the pages
/// still show what was drawn, and the verifiers agree. The public folder holds no private
/// field; the auditor's record explains every exclusion and matches its hash.
fn the_pages_show_what_was_drawn(db: &TestDb) {
    common::load_demo(db);
    common::freeze_and_draw_at(db, "2024-05-13 09:00");
    let folder = db.path().join(FOLDER);
    let (code, text) = verify(&folder, &[]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("selection: 74 rows match draw-1.json (74 drawn, 0 replacements)"),
        "{text}"
    );
    let before = std::fs::read(folder.join("selection.json")).expect("selection");
    let drawn: Vec<Value> = serde_json::from_slice(&before).expect("json");
    let first = drawn
        .iter()
        .find(|r| r["任务编号"] == json!("henan-2024-noncoal-001"))
        .expect("noncoal-001")
        .clone();
    let cadre = first["执法人员（姓名/执法证号）"]
        .as_str()
        .and_then(|c| c.split('（').nth(1))
        .and_then(|c| c.split('）').next())
        .expect("cadre id")
        .to_string();

    // The insider's edits: another entity and team in the task's row, the cadre renamed.
    db.sql(&[
        "UPDATE tasks SET uscc = '91410105M58QREGQ78', entity_name = '某某公司（被替换）', \
         cadre = '41000001007', members = '[\"41000001007\",\"41000001014\"]' \
         WHERE id = 'henan-2024-noncoal-001'",
        &format!("UPDATE officers SET name = '改名者' WHERE id = '{cadre}'"),
    ]);
    common::assert_ok(&db.suiji(&["publish"]), &["publish"]);
    // What was drawn is unchanged; only 状态 may say something new (today is later).
    let drawn_part = |bytes: &[u8]| -> Vec<Value> {
        let mut rows: Vec<Value> = serde_json::from_slice(bytes).expect("json");
        for r in &mut rows {
            if let Some(m) = r.as_object_mut() {
                m.remove("状态");
            }
        }
        rows
    };
    let after = std::fs::read(folder.join("selection.json")).expect("selection");
    assert_eq!(
        drawn_part(&after),
        drawn_part(&before),
        "selection.json changed after database edits"
    );
    for page in ["plan.html", "selection.csv", "index.html"] {
        let text = std::fs::read_to_string(folder.join(page)).expect("page");
        assert!(
            !text.contains("被替换") && !text.contains("改名者"),
            "{page} shows the edit"
        );
    }
    let (code, text) = verify(&folder, &[]);
    assert_eq!(code, 0, "{text}");
    common::python_accepts(&folder);

    // No private field anywhere in the public folder; officers by role, never by login.
    let mut all = Vec::new();
    files(&db.path().join("public"), &mut all);
    let private = [
        "home_city",
        "valid_until",
        "active",
        "conflicts",
        "entity_cities",
        "last_year_pairs",
        "email",
        "salt",
    ];
    for f in &all {
        let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("");
        assert!(
            !name.starts_with('.') && !name.ends_with(".lock") && !name.ends_with(".tmp"),
            "{} is published",
            f.display()
        );
        let bytes = std::fs::read(f).expect("read");
        if name.ends_with(".json") {
            let v: Value = serde_json::from_slice(&bytes).expect("json");
            let mut k = Vec::new();
            keys(&v, &mut k);
            for p in private {
                assert!(!k.iter().any(|k| k == p), "{}: member `{p}`", f.display());
            }
        }
        // The verifiers name v1/v2's reasons in their code; the data never does.
        if name.ends_with(".js") || name.ends_with(".py") {
            continue;
        }
        let text = String::from_utf8_lossy(&bytes);
        for reason in [
            "certificate_expired",
            "inactive",
            "declared_conflict",
            "home_city",
            "last_year",
        ] {
            let as_value = [format!(":\"{reason}\""), format!(": \"{reason}\"")];
            assert!(
                !as_value.iter().any(|v| text.contains(v.as_str()))
                    && !text.contains(&format!(">{reason}<")),
                "{}: `{reason}`",
                f.display()
            );
        }
        assert!(
            !text.contains("@example"),
            "{}: an e-mail address",
            f.display()
        );
    }
    let index: Value =
        serde_json::from_slice(&std::fs::read(folder.join("index.json")).expect("index"))
            .expect("json");
    for e in index["entries"].as_array().expect("entries") {
        assert!(
            ["operator", "daemon"].contains(&e["actor"].as_str().unwrap_or("")),
            "{e}"
        );
    }
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(folder.join("manifest-1.json")).expect("m"))
            .expect("json");
    let registry = db.query_strings("SELECT id FROM officers");
    let listed = manifest["officers"].as_array().expect("officers").len();
    assert!(
        listed < registry.len(),
        "{listed} of {} officers listed: the ineligible too",
        registry.len()
    );

    // The auditor: the stored record matches its hash and explains each exclusion; the read is
    // audited; a copy handed out is readable by its owner only and checks against the folder.
    let record = db.path().join("eligibility-1.json");
    let r = record.to_str().expect("utf-8");
    // A file already there, readable by everyone: the export makes it the owner's only.
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(&record, "old").expect("write");
    std::fs::set_permissions(&record, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let out = db.suiji(&["audit", "eligibility", "henan-2024", "--export", r]);
    common::assert_ok(&out, &["audit", "eligibility"]);
    let text = common::stdout(&out);
    assert!(
        text.contains("matches the hash its manifest published"),
        "{text}"
    );
    assert!(
        text.contains("not eligible: ") && text.contains("recusals"),
        "{text}"
    );
    let mode = std::fs::metadata(&record)
        .expect("record")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(
        db.query_strings("SELECT action FROM audit_log WHERE action = 'eligibility.read'")
            .len(),
        1
    );
    let (code, text) = verify(&folder, &["--eligibility", r]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("the eligibility record of manifest-1.json: matches"),
        "{text}"
    );
    let mut edited: Value =
        serde_json::from_slice(&std::fs::read(&record).expect("r")).expect("json");
    edited["conflicts"] = json!([]);
    std::fs::write(&record, suiji::draw::canonical(&edited).expect("canonical")).expect("write");
    let (code, text) = verify(&folder, &["--eligibility", r]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("eligibility record NOT verified"), "{text}");
}

on_both_backends!(the_pages_show_what_was_drawn);

/// Every tamper is caught by `suiji verify` and by `tools/verify_draw.py`; each verdict is
/// printed as the closing note's table. A copy of another plan's whole folder put in a plan's
/// place is caught by the folder's name.
#[test]
fn every_tamper_is_caught() {
    let Some(db) = TestDb::new(common::Backend::Sqlite) else {
        return;
    };
    let (folder, other) = tamper::two_plans(&db);
    let (code, text) = verify(&folder, &[]);
    assert_eq!(code, 0, "{text}");
    let mut table = Vec::new();
    for (i, (name, tamper)) in tamper::tampers().into_iter().enumerate() {
        let copy = db.path().join(format!("tampered-{i}/2024/henan-2024"));
        common::copy_dir(&folder, &copy);
        tamper(&copy, &other);
        let (code, text) = verify(&copy, &[]);
        assert_eq!(code, 1, "suiji verify missed `{name}`:\n{text}");
        let python = common::python_rejects(&copy).unwrap_or_else(|| "(not run)".into());
        table.push(format!("| {name} | {} | {python} |", last_line(&text)));
    }
    let moved = db.path().join("moved/2024/henan-2024");
    common::copy_dir(&other, &moved);
    let (code, text) = verify(&moved, &[]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("another plan's files were put in its place"),
        "{text}"
    );
    let python = common::python_rejects(&moved).unwrap_or_default();
    table.push(format!(
        "| another plan's whole folder in its place | {} | {python} |",
        last_line(&text)
    ));
    eprintln!("{}", table.join("\n"));
}

/// The attachments named `witness-*.json` in the mail written to files.
fn receipts(db: &TestDb) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for (_, raw) in common::written_mail(db) {
        let mail = mailparse::parse_mail(&raw).expect("MIME");
        for part in mail.parts() {
            let d = part.get_content_disposition();
            if let Some(name) = d
                .params
                .get("filename")
                .filter(|n| n.starts_with("witness-"))
            {
                out.push((name.clone(), part.get_body_raw().expect("body")));
            }
        }
    }
    out
}

/// Witnesses outside the department are sent a receipt of every freeze, draw and void, once
/// however often the history is written; with a receipt, or an older copy of the folder, anyone
/// can show later whether the published history was only extended.
fn witnesses_keep_the_history(db: &TestDb) {
    common::load_demo(db);
    let cfg = db.path().join("witnesses.toml");
    std::fs::write(
        &cfg,
        "[notify]\nwitnesses = [\"纪检监察组 <jjjc@example.gov.cn>\", \"sft@example.gov.cn\"]\n",
    )
    .expect("config");
    let c = cfg.to_str().expect("utf-8");
    let plan = common::freeze_and_draw_with(db, "2024-05-13 09:00", &["--config", c]);
    let folder = db.path().join(FOLDER);
    let kept = db.path().join("kept/2024/henan-2024");
    common::copy_dir(&folder, &kept);
    common::void_draw(db, &plan, &["--config", c]);
    common::assert_ok(&db.suiji(&["--config", c, "publish"]), &["publish"]);
    common::assert_ok(&db.suiji(&["--config", c, "publish"]), &["publish"]);

    let listed = db.json(&["outbox", "list", "--json"]);
    let witness: Vec<&Value> = listed["notices"]
        .as_array()
        .or(listed.as_array())
        .expect("notices")
        .iter()
        .filter(|n| n["kind"] == "witness")
        .collect();
    assert_eq!(witness.len(), 6, "3 events × 2 witnesses: {witness:?}");
    common::assert_ok(
        &db.suiji(&["--config", c, "outbox", "send"]),
        &["outbox", "send"],
    );
    let got = receipts(db);
    assert_eq!(
        got.len(),
        6,
        "{:?}",
        got.iter().map(|(n, _)| n).collect::<Vec<_>>()
    );
    let mut files = Vec::new();
    for (name, bytes) in &got {
        let path = db.path().join(name);
        std::fs::write(&path, bytes).expect("write receipt");
        files.push(path);
    }
    let receipt = |n: usize| db.path().join(format!("witness-henan-2024-2024-{n}.json"));
    for n in 1..=3 {
        let r = receipt(n);
        let (code, text) = verify(&folder, &["--witness", r.to_str().expect("utf-8")]);
        assert_eq!(code, 0, "{text}");
        assert!(text.contains(&format!("entry {n} (")), "{text}");
        common::python_witness(&folder, &["--witness", r.to_str().expect("utf-8")], true);
    }
    // The folder as it stood before the void, published again as if the void never happened:
    // the void's receipt says the history shrank; the history extends that older copy.
    let void_receipt = receipt(3);
    let (code, text) = verify(&kept, &["--witness", void_receipt.to_str().expect("utf-8")]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("names entry 3, the history has 2: it shrank"),
        "{text}"
    );
    common::python_witness(
        &kept,
        &["--witness", void_receipt.to_str().expect("utf-8")],
        false,
    );
    let k = kept.to_str().expect("utf-8");
    let (code, text) = verify(&folder, &["--since", k]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("extends the older copy: its 2 events are the first 2 of 3"),
        "{text}"
    );
    common::python_witness(&folder, &["--since", k], true);
    // An earlier event rewritten: the freeze a minute earlier.
    let forged = db.path().join("forged/2024/henan-2024");
    common::copy_dir(&folder, &forged);
    let index = forged.join("index.json");
    let mut v: Value =
        serde_json::from_slice(&std::fs::read(&index).expect("index")).expect("json");
    v["entries"][0]["at"] = json!("2024-05-13T08:59:00.000+08:00");
    std::fs::write(&index, serde_json::to_vec_pretty(&v).expect("json")).expect("write");
    for (n, says) in [
        (1, "no longer the event"),
        (2, "an earlier entry was changed"),
    ] {
        let r = receipt(n);
        let (code, text) = verify(&forged, &["--witness", r.to_str().expect("utf-8")]);
        assert_eq!(code, 1, "{text}");
        assert!(text.contains(says), "{text}");
        common::python_witness(&forged, &["--witness", r.to_str().expect("utf-8")], false);
    }
    let (code, text) = verify(&forged, &["--since", k]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("entry 1 differs from the older copy"),
        "{text}"
    );
}

on_both_backends!(witnesses_keep_the_history);

/// A local RFC 3161 authority (`tools/tsa.py`, OpenSSL's own TSA code): its folder (with
/// `ca.pem`) and its URL; the process ends with the guard.
struct Tsa {
    child: std::process::Child,
    dir: PathBuf,
    url: String,
}

impl Drop for Tsa {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tsa(dir: &Path, port: u16) -> Tsa {
    use std::io::BufRead;
    let mut child = std::process::Command::new("python3")
        .arg(repo("tools/tsa.py"))
        .arg(dir)
        .arg(port.to_string())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 tools/tsa.py (needs openssl)");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("the TSA's port");
    let port: u16 = line
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("TSA said `{line}`"));
    Tsa {
        child,
        dir: dir.to_path_buf(),
        url: format!("http://127.0.0.1:{port}/"),
    }
}

/// `openssl ts -verify` on a published token: the independent check of what suiji kept.
fn openssl_verifies(token: &Path, head: &[u8; 32], ca: &Path) -> bool {
    std::process::Command::new("openssl")
        .args(["ts", "-verify", "-token_in", "-in"])
        .arg(token)
        .args(["-digest", &suiji::audit::hex(head), "-CAfile"])
        .arg(ca)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Every head of the history is stamped by the configured authority and published as
/// `timestamp-<n>.tsr`; the verifiers check what each stamps and, given the authority's CA,
/// its signature; an entry recorded while the authority was down is stamped at the next write.
fn the_history_is_timestamped(db: &TestDb) {
    common::load_demo(db);
    let mut authority = tsa(&db.path().join("tsa"), 0);
    let ca = authority.dir.join("ca.pem");
    let cfg = db.path().join("tsa.toml");
    let config = |url: &str| {
        format!(
            "[public]\ntimestamp_url = \"{url}\"\ntimestamp_ca = \"{}\"\n",
            ca.display()
        )
    };
    std::fs::write(&cfg, config(&authority.url)).expect("config");
    let c = cfg.to_str().expect("utf-8");
    let plan = common::freeze_and_draw_with(db, "2024-05-13 09:00", &["--config", c]);
    let folder = db.path().join(FOLDER);
    let index = std::fs::read(folder.join("index.json")).expect("index");
    for n in 1..=2 {
        let token = folder.join(format!("timestamp-{n}.tsr"));
        let head = suiji::publish::witness::head_in(&index, n).expect("head");
        assert!(
            openssl_verifies(&token, &head, &ca),
            "openssl refuses {}",
            token.display()
        );
    }
    let ca_arg = ca.to_str().expect("utf-8");
    let (code, text) = verify(&folder, &["--tsa-ca", ca_arg]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(text.matches("signed by the authority").count(), 2, "{text}");
    let (code, text) = verify(&folder, &[]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("the signature was not checked"), "{text}");
    common::python_witness(&folder, &["--tsa-ca", ca_arg], true);

    // Down when the void is recorded: the void stands, its stamp comes with the next write.
    drop(authority);
    common::void_draw(db, &plan, &["--config", c]);
    assert!(!folder.join("timestamp-3.tsr").exists());
    authority = tsa(&db.path().join("tsa"), 0);
    std::fs::write(&cfg, config(&authority.url)).expect("config");
    common::assert_ok(&db.suiji(&["--config", c, "publish"]), &["publish"]);
    assert!(folder.join("timestamp-3.tsr").exists());
    let (code, text) = verify(&folder, &["--tsa-ca", ca_arg]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(text.matches("signed by the authority").count(), 3, "{text}");

    // An earlier entry rewritten: its stamp and every later one no longer match.
    let forged = db.path().join("forged/2024/henan-2024");
    common::copy_dir(&folder, &forged);
    let path = forged.join("index.json");
    let mut v: Value = serde_json::from_slice(&std::fs::read(&path).expect("index")).expect("json");
    v["entries"][0]["at"] = json!("2024-05-13T08:59:00.000+08:00");
    std::fs::write(&path, serde_json::to_vec_pretty(&v).expect("json")).expect("write");
    let (code, text) = verify(&forged, &[]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("timestamp-1.tsr does not stamp the history up to entry 1"),
        "{text}"
    );
    common::python_witness(&forged, &[], false);
    // Another authority's CA: the signature is not the configured authority's.
    let other = tsa(&db.path().join("other-tsa"), 0);
    let other_ca = other.dir.join("ca.pem");
    let (code, text) = verify(&folder, &["--tsa-ca", other_ca.to_str().expect("utf-8")]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("not signed by a time-stamping certificate of the given CA"),
        "{text}"
    );
    common::python_witness(
        &folder,
        &["--tsa-ca", other_ca.to_str().expect("utf-8")],
        false,
    );
}

on_both_backends!(the_history_is_timestamped);

/// A lawful takedown, rehearsed over the five years of 冀政办发〔2015〕22号: the Henan plan
/// replayed as a 2021 plan on a rehearsal store (its result published 4 June 2021), with
/// `public.retention_years = 5`. The rebuild on the day the retention runs out (4 June 2026, a
/// day that has come) takes the result down and publishes that in the history (what, when,
/// under which rule), which every verifier accepts; the result's page then says only that it
/// was taken down, the results downloads drop its row, the history keeps every earlier entry,
/// and a second rebuild adds nothing. Nothing is taken down a day early.
fn a_result_taken_down_after_its_retention(db: &TestDb) {
    common::load_demo(db);
    let text = std::fs::read_to_string(repo("rules/henan-2024.rhai")).expect("plan");
    let plan = db.path().join("henan-2021.rhai");
    std::fs::write(
        &plan,
        text.replace("2024", "2021")
            .replace("propose_dates: true", "propose_dates: false"),
    )
    .expect("plan");
    let plan = plan.display().to_string();
    common::draw_plan(db, &plan, ("2021-05-13 09:00", "2021-05-16 21:30"), &[]);
    let tasks = db.json(&["task", "list", "--json"]);
    let id = tasks[0]["id"].as_str().expect("id").to_string();
    let uscc = tasks[0]["uscc"].as_str().expect("uscc").to_string();
    for (day, args) in [
        (
            "2021-06-02",
            vec!["task", "schedule", &id, "--date", "2021-06-02"],
        ),
        (
            "2021-06-02",
            vec![
                "task",
                "complete",
                &id,
                "--date",
                "2021-06-02",
                "--outcome",
                "no-issues",
            ],
        ),
        (
            "2021-06-04",
            vec!["task", "publish", &id, "--date", "2021-06-04"],
        ),
    ] {
        common::on(db, day, &args);
    }
    let cfg = db.path().join("retention.toml");
    std::fs::write(&cfg, "[public]\nretention_years = 5\n").expect("config");
    let cfg = cfg.display().to_string();
    let folder = db.path().join("public/2021/henan-2021");
    let page = folder.join(format!("results/{id}.html"));
    let entries = |dir: &Path| -> Vec<Value> {
        let index: Value =
            serde_json::from_slice(&std::fs::read(dir.join("index.json")).expect("index"))
                .expect("json");
        index["entries"].as_array().cloned().unwrap_or_default()
    };
    common::on(db, "2026-06-03", &["--config", &cfg, "publish"]);
    let before = entries(&folder);
    assert!(
        before.iter().all(|e| e["event"] != "takedown"),
        "not a day early"
    );
    assert!(
        std::fs::read_to_string(&page)
            .expect("page")
            .contains("检查结果</dt>")
    );

    common::on(db, "2026-06-04", &["--config", &cfg, "publish"]);
    let after = entries(&folder);
    assert_eq!(after.len(), before.len() + 1);
    assert_eq!(
        &after[..before.len()],
        &before[..],
        "the history only grows"
    );
    let t = after.last().expect("takedown");
    assert_eq!(t["event"], "takedown");
    assert_eq!(t["task"], json!(id));
    assert_eq!(t["entity"], json!(uscc));
    assert_eq!(t["draw"], "draw-1.json");
    assert_eq!(t["reason"], "公示满5年（public.retention_years）");
    let (code, said) = verify(&folder, &[]);
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("taken down"), "{said}");
    common::python_accepts(&folder);
    let shown = std::fs::read_to_string(&page).expect("page");
    assert!(
        shown.contains("检查结果已于") && shown.contains("公示满5年"),
        "{shown}"
    );
    assert!(
        !shown.contains("检查结果</dt>"),
        "what the result said is gone"
    );
    let csv = std::fs::read_to_string(folder.join("results.csv")).expect("results.csv");
    assert!(!csv.contains(&id), "{csv}");
    let list = std::fs::read_to_string(folder.join("results.html")).expect("results.html");
    assert!(list.contains("因公示期满已撤下"), "the list says so");
    // Again: nothing new.
    common::on(db, "2026-06-05", &["--config", &cfg, "publish"]);
    assert_eq!(entries(&folder).len(), after.len());
    // A takedown altered behind suiji's back is caught.
    let copy = db.path().join("altered");
    common::copy_dir(&folder, &copy);
    let text = std::fs::read_to_string(copy.join("index.json")).expect("index");
    std::fs::write(
        copy.join("index.json"),
        text.replace(&uscc, "91410000000000000X"),
    )
    .expect("write");
    let (code, said) = verify(&copy, &[]);
    assert_ne!(code, 0, "{said}");
    common::python_rejects(&copy);
}

on_both_backends!(a_result_taken_down_after_its_retention);
