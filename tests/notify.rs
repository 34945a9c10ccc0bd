//! Notices, checked as they are written and as they arrive. A rehearsed year of the demo plan
//! writes each division its assignment, each municipal bureau its 函告 (its own entities only,
//! with XLSX, CSV and ICS attachments), reminders, escalations and the monthly reports as
//! `.eml` files, and sends nothing to the SMTP server it is configured with (a rehearsal never
//! reaches the world); names that look like HTML or formulas arrive as text. On a production
//! store drawing on the real clock, through a real SMTP server on loopback (aiosmtpd): SMTP
//! down for a while loses nothing and delivers each notice once; a crash between delivery and
//! marking is the one way to a duplicate, and the kill test counts them.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{Sink, TestDb, on, repo};

/// `notify.sessions` as shipped.
const SESSIONS: usize = 4;
use serde_json::Value;

struct Mail {
    to: Vec<String>,
    subject: String,
    kind: String,
    message_id: String,
    text: String,
    html: String,
    /// (ASCII file name, the name as RFC 2231 gives it, decoded; content type, bytes)
    attachments: Vec<(String, String, String, Vec<u8>)>,
}

fn parse(to: Vec<String>, raw: &[u8]) -> Mail {
    use mailparse::MailHeaderMap;
    let m = mailparse::parse_mail(raw).expect("a MIME message");
    let mut mail = Mail {
        to,
        subject: m.headers.get_first_value("Subject").unwrap_or_default(),
        kind: m
            .headers
            .get_first_value("X-Suiji-Notice")
            .unwrap_or_default(),
        message_id: m.headers.get_first_value("Message-ID").unwrap_or_default(),
        text: String::new(),
        html: String::new(),
        attachments: Vec::new(),
    };
    fn walk(p: &mailparse::ParsedMail, mail: &mut Mail) {
        let disposition = p.get_content_disposition();
        if disposition.disposition == mailparse::DispositionType::Attachment {
            let params = &disposition.params;
            use mailparse::MailHeaderMap;
            let header = p
                .headers
                .get_first_value("Content-Disposition")
                .unwrap_or_default();
            mail.attachments.push((
                params.get("filename").cloned().unwrap_or_default(),
                rfc2231_name(&header),
                p.ctype.mimetype.clone(),
                p.get_body_raw().expect("attachment body"),
            ));
            return;
        }
        match p.ctype.mimetype.as_str() {
            "text/plain" => mail.text = p.get_body().expect("text"),
            "text/html" => mail.html = p.get_body().expect("html"),
            _ => {}
        }
        for s in &p.subparts {
            walk(s, mail);
        }
    }
    walk(&m, &mut mail);
    mail
}

/// `filename*0*=UTF-8''…; filename*1*=…` joined and decoded, as a reader of RFC 2231 does.
fn rfc2231_name(header: &str) -> String {
    let mut parts: Vec<(usize, String)> = header
        .split(';')
        .filter_map(|p| {
            let (k, v) = p.trim().split_once('=')?;
            let n = k
                .strip_prefix("filename*")?
                .strip_suffix('*')?
                .parse()
                .ok()?;
            Some((n, v.trim().to_string()))
        })
        .collect();
    parts.sort();
    let joined: String = parts.into_iter().map(|(_, v)| v).collect();
    let encoded = joined.strip_prefix("UTF-8''").unwrap_or(&joined);
    let mut bytes = Vec::new();
    let mut it = encoded.bytes();
    while let Some(b) = it.next() {
        if b == b'%' {
            let hex: String = it.by_ref().take(2).map(char::from).collect();
            bytes.push(u8::from_str_radix(&hex, 16).unwrap_or(b'?'));
        } else {
            bytes.push(b);
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn mails(sink: &Sink) -> Vec<Mail> {
    sink.messages()
        .into_iter()
        .map(|(to, raw)| parse(to, &raw))
        .collect()
}

/// What a rehearsal wrote instead of sending.
fn written(db: &TestDb) -> Vec<Mail> {
    common::written_mail(db)
        .into_iter()
        .map(|(to, raw)| parse(to, &raw))
        .collect()
}

fn config(db: &TestDb, sink: &Sink, extra: &str) -> String {
    let path = db.path().join("smtp.toml");
    std::fs::write(&path, format!("{}{extra}", sink.config())).expect("config");
    path.display().to_string()
}

/// The demo registry, optionally with some entities renamed (names are not part of the draw's
/// inputs, so the draw stays the same).
fn registry(db: &TestDb, rename: &[(&str, &str)]) -> PathBuf {
    let dir = db.path().join("henan");
    common::copy_dir(&repo("examples/henan"), &dir);
    if !rename.is_empty() {
        let text = std::fs::read_to_string(dir.join("entities.csv")).expect("entities");
        let mut out = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let mut cells: Vec<String> = line.split(',').map(String::from).collect();
            if i > 0 {
                for (city, name) in rename {
                    if cells.get(3).is_some_and(|c| c.starts_with(city)) {
                        cells[1] = format!("\"{}{i}\"", name.replace('"', "\"\""));
                    }
                }
            }
            out.push(cells.join(","));
        }
        std::fs::write(dir.join("entities.csv"), out.join("\n") + "\n").expect("write");
    }
    dir
}

fn rehearse(db: &TestDb, config: &str, dir: &Path, until: &str) -> Value {
    db.json(&[
        "--config",
        config,
        "demo",
        "run",
        "--dir",
        dir.to_str().expect("utf-8"),
        "--plan",
        repo("rules/henan-2024.rhai").to_str().expect("utf-8"),
        "--until",
        until,
        // The letters of the draw's own dates: no simulated division moves one.
        "--no-people",
        "--json",
    ])
}

/// Task id → (municipal unit, planned date).
fn tasks(db: &TestDb) -> HashMap<String, (String, String)> {
    db.json(&["task", "list", "--json"])
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap_or("").to_string(),
                (
                    t["city"].as_str().unwrap_or("").to_string(),
                    t["facts"]["planned"].as_str().unwrap_or("").to_string(),
                ),
            )
        })
        .collect()
}

fn a_spring_of_letters(db: &TestDb) {
    let Some(sink) = Sink::start(&db.path().join("sink")) else {
        return;
    };
    let cfg = config(db, &sink, "");
    rehearse(db, &cfg, &registry(db, &[]), "2024-07-02");
    let outbox = db.json(&["--config", &cfg, "outbox", "list", "--json"]);
    let outbox = outbox.as_array().expect("outbox");
    assert!(outbox.iter().all(|n| n["status"] == "sent"), "{outbox:?}");
    assert!(
        sink.messages().is_empty(),
        "a rehearsal sends nothing to the configured SMTP server"
    );
    let mails = written(db);
    assert_eq!(mails.len(), outbox.len(), "every notice written once");
    let ids: HashSet<&str> = mails.iter().map(|m| m.message_id.as_str()).collect();
    assert_eq!(ids.len(), mails.len(), "no duplicate Message-ID");

    let by_kind = |k: &str| mails.iter().filter(|m| m.kind == k).collect::<Vec<_>>();
    let assignments = by_kind("assignment");
    assert_eq!(assignments.len(), 6, "one per division with tasks");
    assert!(assignments.iter().any(|m| {
        m.to == ["hazchem@example.gov.cn"]
            && m.subject
                .contains("危险化学品监督管理处抽查任务通知（共5项）")
    }));

    // Each 函告 goes to one bureau and lists only that bureau's entities, with their dates in
    // the attached calendar; every planned inspection is notified exactly once.
    let tasks = tasks(db);
    let uscc_of: HashMap<String, String> = db
        .json(&["task", "list", "--json"])
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| {
            (
                t["uscc"].as_str().unwrap_or("").to_string(),
                t["id"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let mut notified: BTreeMap<String, usize> = BTreeMap::new();
    for m in by_kind("advance_notice") {
        assert_eq!(m.to.len(), 1, "{}", m.subject);
        let unit = m.to[0]
            .strip_prefix("yjj")
            .and_then(|r| r.strip_suffix("@example.gov.cn"))
            .expect("a bureau address")
            .to_string();
        assert!(
            m.subject.starts_with("关于开展安全生产监管执法检查的函"),
            "{}",
            m.subject
        );
        let names: Vec<&str> = m.attachments.iter().map(|a| a.0.as_str()).collect();
        assert_eq!(names.len(), 3, "{names:?}");
        assert!(
            names
                .iter()
                .all(|n| n.starts_with(&format!("hangao-{unit}-")))
        );
        let stem = m.attachments[0].0.trim_end_matches(".xlsx");
        let day = &stem[stem.len().saturating_sub(10)..];
        for (name, stem) in [
            (&m.attachments[0].1, "检查对象名单"),
            (&m.attachments[2].1, "检查日程"),
        ] {
            assert!(
                name.starts_with(stem) && name.contains(day) && name.contains("应急管理局"),
                "the Chinese name, dated, through RFC 2231: {name} ({day})"
            );
        }
        let csv = m
            .attachments
            .iter()
            .find(|a| a.0.ends_with(".csv"))
            .expect("csv");
        assert!(csv.3.starts_with(&[0xEF, 0xBB, 0xBF]), "UTF-8 with BOM");
        let text = String::from_utf8(csv.3[3..].to_vec()).expect("utf-8");
        let mut rows = text.lines();
        assert!(
            rows.next()
                .unwrap_or("")
                .starts_with("序号,单位名称,统一社会信用代码")
        );
        let ics = m
            .attachments
            .iter()
            .find(|a| a.0.ends_with(".ics"))
            .expect("ics");
        let ics = String::from_utf8(ics.3.clone())
            .expect("utf-8")
            .replace("\r\n ", "");
        assert!(ics.contains("TZID:Asia/Shanghai"));
        for row in rows {
            let uscc = row.split(',').nth(2).expect("uscc");
            let id = &uscc_of[uscc];
            let (city, planned) = &tasks[id];
            assert!(
                city == &unit || city.starts_with(&unit),
                "{id} in {city} told to {unit}"
            );
            let day = planned.replace('-', "");
            assert!(
                ics.contains(&format!("UID:{id}@suiji"))
                    && ics.contains(&format!("DTSTART;TZID=Asia/Shanghai:{day}T090000")),
                "{id} on {planned}"
            );
            *notified.entry(id.clone()).or_insert(0) += 1;
        }
    }
    assert_eq!(notified.len(), 74, "every planned inspection notified");
    assert!(notified.values().all(|&n| n == 1), "{notified:?}");

    let reports = by_kind("monthly_report");
    assert_eq!(reports.len(), 2, "June and July");
    assert!(reports.iter().all(|m| m.to == ["policy@example.gov.cn"]
        && m.attachments.len() == 1
        && m.attachments[0].3.starts_with(b"PK")));
    // Nobody outside the department, its divisions and the bureaus hears anything.
    for m in &mails {
        for r in &m.to {
            assert!(r.ends_with("@example.gov.cn"), "{r}");
        }
    }

    // The rest of the year. A result completed on 3 July and never published is due on 10 July
    // (5 working days). Before that, its division and its cadre each get their reminders; after
    // it, one escalation goes to the division with the tracker copied. Every month's report
    // goes out once, and every notice arrives once.
    let t = "henan-2024-hazchem-001";
    on(
        db,
        "2024-07-02",
        &["task", "schedule", t, "--date", "2024-07-03"],
    );
    on(
        db,
        "2024-07-03",
        &[
            "task",
            "complete",
            t,
            "--date",
            "2024-07-03",
            "--outcome",
            "issues-found",
        ],
    );
    rehearse(db, &cfg, &registry(db, &[]), "2025-01-01 12:00");
    let outbox = db.json(&["--config", &cfg, "outbox", "list", "--json"]);
    let outbox = outbox.as_array().expect("outbox");
    assert!(outbox.iter().all(|n| n["status"] == "sent"), "{outbox:?}");
    assert!(
        sink.messages().is_empty(),
        "nothing reached the SMTP server"
    );
    let mails = written(db);
    assert_eq!(mails.len(), outbox.len(), "every notice written once");
    let by_kind = |k: &str| mails.iter().filter(|m| m.kind == k).collect::<Vec<_>>();
    let about = |k: &str| {
        by_kind(k)
            .into_iter()
            .filter(|m| m.text.contains(t))
            .collect::<Vec<_>>()
    };
    let reminders = about("reminder");
    assert!(
        reminders.iter().any(|m| m.to == ["hazchem@example.gov.cn"]),
        "the division is reminded: {:?}",
        reminders.iter().map(|m| &m.to).collect::<Vec<_>>()
    );
    assert!(
        reminders
            .iter()
            .any(|m| m.to.len() == 1 && m.to[0] != "hazchem@example.gov.cn"),
        "the cadre is reminded"
    );
    let escalations = about("escalation");
    assert_eq!(escalations.len(), 1, "escalated once");
    let mut to = escalations[0].to.clone();
    to.sort();
    assert_eq!(to, ["hazchem@example.gov.cn", "policy@example.gov.cn"]);
    assert!(
        escalations[0].text.contains("2024-07-10"),
        "{}",
        escalations[0].text
    );
    let reports = by_kind("monthly_report");
    assert_eq!(reports.len(), 8, "June to January");
    assert!(reports.iter().all(|m| m.to == ["policy@example.gov.cn"]));
}

on_both_backends!(a_spring_of_letters);

/// A production store's official draw on the real clock (the plan moved to the present, its
/// seed public a few seconds from now), with the SMTP server `sink`: the draw queues each
/// division's assignment. Returns the configuration, and its layer besides the SMTP server
/// (the plan as `rules.file`, and its calendar).
fn live_draw(db: &TestDb, sink: &Sink) -> (String, String) {
    live_draw_with(db, |layer| config(db, sink, layer))
}

/// The same, with the configuration `cfg` makes of the layer.
fn live_draw_with(db: &TestDb, cfg: impl Fn(&str) -> String) -> (String, String) {
    common::import_registry(db, &registry(db, &[]));
    let (plan, available, layer) = common::live_plan(db, 4);
    let layer = format!("{layer}[rules]\nfile = \"{plan}\"\n");
    let cfg = cfg(&layer);
    db.json(&["--config", &cfg, "freeze", "--plan", &plan, "--json"]);
    common::wait_until(available);
    db.json(&[
        "--config",
        &cfg,
        "draw",
        "--plan",
        &plan,
        "--official",
        "--seed-value",
        "03071218253109",
        "--json",
    ]);
    (cfg, layer)
}

/// SMTP down, then up: notices wait and retry; once it is back each arrives exactly once.
#[test]
fn smtp_down_then_up() {
    let Some(db) = TestDb::production(common::Backend::Sqlite) else {
        return;
    };
    let Some(mut sink) = Sink::start(&db.path().join("sink")) else {
        return;
    };
    sink.down();
    let (cfg, _) = live_draw(&db, &sink);
    let first = db.json(&["--config", &cfg, "outbox", "send", "--json"]);
    assert_eq!(first["delivered"]["sent"], 0, "{first}");
    let pending = db.json(&[
        "--config", &cfg, "outbox", "list", "--status", "pending", "--json",
    ]);
    let pending = pending.as_array().expect("pending").clone();
    assert!(pending.len() >= 6, "assignments wait: {}", pending.len());
    assert!(
        pending
            .iter()
            .all(|n| n["attempts"].as_i64().unwrap_or(0) >= 1)
    );
    assert!(
        pending[0]["last_error"]
            .as_str()
            .is_some_and(|e| !e.is_empty())
    );
    sink.up();
    // Before their next attempt is due (a minute on) nothing moves; put back in line, every
    // one goes, once.
    let early = db.json(&["--config", &cfg, "outbox", "send", "--json"]);
    assert_eq!(early["delivered"]["sent"], 0);
    for n in &pending {
        let id = n["id"].as_i64().expect("id").to_string();
        common::assert_ok(
            &db.suiji(&["--config", &cfg, "outbox", "retry", &id]),
            &["outbox", "retry", &id],
        );
    }
    let late = db.json(&["--config", &cfg, "outbox", "send", "--json"]);
    assert_eq!(
        late["delivered"]["sent"].as_u64(),
        Some(pending.len() as u64)
    );
    let again = db.json(&["--config", &cfg, "outbox", "send", "--json"]);
    assert_eq!(again["delivered"]["sent"], 0);
    let mails = mails(&sink);
    assert_eq!(mails.len(), pending.len());
    let ids: HashSet<&str> = mails.iter().map(|m| m.message_id.as_str()).collect();
    assert_eq!(ids.len(), mails.len());
    assert!(
        common::written_mail(&db).is_empty(),
        "a production store with a relay writes no files"
    );
    // One notice, as `outbox show` tells it; a delivered one is not sent again by `retry`.
    let id = pending[0]["id"].as_i64().expect("id").to_string();
    let shown = db.json(&["--config", &cfg, "outbox", "show", &id, "--json"]);
    assert_eq!(shown["status"], "sent");
    assert!(ids.contains(shown["message_id"].as_str().unwrap_or("")));
    let out = db.suiji(&["--config", &cfg, "outbox", "retry", &id]);
    assert_eq!(out.status.code(), Some(2));
}

/// A notice given up on by `outbox send` is told to the administrators, as the daemon tells
/// them: one admin notice, queued for delivery.
#[test]
fn given_up_is_told() {
    let Some(db) = TestDb::production(common::Backend::Sqlite) else {
        return;
    };
    let Some(mut sink) = Sink::start(&db.path().join("sink")) else {
        return;
    };
    sink.down();
    let (_, layer) = live_draw(&db, &sink);
    let cfg = config(&db, &sink, &format!("{layer}[notify]\nmax_attempts = 1\n"));
    let sent = db.json(&["--config", &cfg, "outbox", "send", "--json"]);
    let failed = sent["delivered"]["failed"].as_u64().unwrap_or(0);
    assert!(failed >= 6, "{sent}");
    let outbox = db.json(&["--config", &cfg, "outbox", "list", "--json"]);
    let admin: Vec<&Value> = outbox
        .as_array()
        .expect("outbox")
        .iter()
        .filter(|n| n["kind"] == "admin" && n["status"] == "pending")
        .collect();
    assert_eq!(admin.len(), 1, "{outbox}");
}

/// Entity names that look like markup or a formula arrive as text in every letter and every
/// attached table.
#[test]
fn names_arrive_as_text() {
    let Some(db) = TestDb::new(common::Backend::Sqlite) else {
        return;
    };
    let Some(sink) = Sink::start(&db.path().join("sink")) else {
        return;
    };
    let cfg = config(&db, &sink, "");
    let dir = registry(
        &db,
        &[
            ("许昌", "<script>alert(1)</script>\"引号\"公司"),
            ("郑州", "=HYPERLINK(\"http://x\",\"y\")"),
        ],
    );
    rehearse(&db, &cfg, &dir, "2024-06-14");
    assert!(sink.messages().is_empty(), "a rehearsal sends nothing");
    let mails = written(&db);
    let xuchang: Vec<&Mail> = mails
        .iter()
        .filter(|m| m.kind == "advance_notice" && m.to == ["yjj4110@example.gov.cn"])
        .collect();
    assert!(!xuchang.is_empty());
    for m in &xuchang {
        assert!(
            m.html
                .contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;&quot;引号&quot;公司"),
            "{}",
            m.html
        );
        assert!(!m.html.contains("<script>"));
        assert!(m.text.contains("<script>alert(1)</script>\"引号\"公司"));
    }
    let zhengzhou = mails
        .iter()
        .find(|m| m.kind == "advance_notice" && m.to == ["yjj4101@example.gov.cn"])
        .expect("a 函告 to Zhengzhou");
    let csv = zhengzhou
        .attachments
        .iter()
        .find(|a| a.0.ends_with(".csv"))
        .expect("csv");
    let text = String::from_utf8_lossy(&csv.3);
    assert!(text.contains("\"'=HYPERLINK("), "{text}");
}

/// kill -9 between a delivery and its mark, K times: the notice each killed deliverer held stays
/// its own until the lease runs out (two timeouts and 12 s: a round's first notice goes
/// alone), then goes again: each kill
/// re-sends exactly the one message it had delivered (same Message-ID), nothing else is
/// duplicated or lost.
#[test]
fn a_crash_between_delivery_and_mark() {
    let Some(db) = TestDb::production(common::Backend::Sqlite) else {
        return;
    };
    let Some(sink) = Sink::start(&db.path().join("sink")) else {
        return;
    };
    let (cfg, _) = live_draw(&db, &sink);
    let queued = db
        .json(&["--config", &cfg, "outbox", "list", "--json"])
        .as_array()
        .map(Vec::len)
        .unwrap_or(0);
    let kills = 3;
    for _ in 0..kills {
        let mut child = db
            .bare()
            .args(["--db", &db.url, "--config", &cfg, "outbox", "send"])
            .env("SUIJI_FAILPOINT", "notice-before-marked")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let err = child.stderr.take().expect("stderr");
        let reached = BufReader::new(err)
            .lines()
            .map_while(Result::ok)
            .any(|l| l.contains("failpoint notice-before-marked reached"));
        assert!(reached);
        child.kill().expect("kill -9");
        let _ = child.wait();
    }
    db.json(&["--config", &cfg, "outbox", "send", "--json"]);
    let held = db.query_strings(
        "SELECT lease_until FROM outbox WHERE status = 'pending' ORDER BY lease_until",
    );
    assert_eq!(
        held.len(),
        kills,
        "the killed deliverers' notices wait for their leases"
    );
    let until =
        chrono::DateTime::parse_from_rfc3339(held.last().expect("a lease")).expect("a time");
    common::wait_until(until);
    db.json(&["--config", &cfg, "outbox", "send", "--json"]);
    let mails = mails(&sink);
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for m in &mails {
        *seen.entry(m.message_id.as_str()).or_insert(0) += 1;
    }
    let duplicates: usize = seen.values().map(|n| n - 1).sum();
    assert_eq!(seen.len(), queued, "every notice arrived");
    assert_eq!(
        duplicates, kills,
        "one duplicate per kill, recognisable by its Message-ID"
    );
    eprintln!("{queued} notices, {kills} kills between delivery and mark: {duplicates} duplicates");
}

/// kill -9 at random moments of `outbox send` (1 to 3 kills a trial), then a deliverer left to
/// finish once the dead ones' leases have run out: every notice arrives (none lost), and a
/// notice arrives twice only when a kill fell between the server's acceptance and the mark
/// (at most one per session of the round, `notify.sessions`, with the same Message-ID). Each trial puts every notice back to
/// pending behind suiji's back. `SUIJI_CRASH_TRIALS` sets the number of trials (CI: 3;
/// `tools/crash-trials.sh`: 100).
#[test]
fn killed_while_delivering() {
    let trials = common::crash_trials();
    let Some(db) = TestDb::production(common::Backend::Sqlite) else {
        return;
    };
    let Some(first) = Sink::start(&db.path().join("sink-0")) else {
        return;
    };
    let (_, layer) = live_draw(&db, &first);
    drop(first);
    // A short send timeout keeps the dead deliverers' leases (for 4 notices, two timeouts and
    // 2 s each, and 10 s) short.
    let cfg_for = |sink: &Sink| {
        let path = db.path().join("crash.toml");
        let smtp = sink
            .config()
            .replace("timeout_secs = 5", "timeout_secs = 1");
        std::fs::write(&path, format!("{smtp}{layer}")).expect("config");
        path.display().to_string()
    };
    let reset = || {
        db.sql(&[
            "UPDATE outbox SET status = 'pending', sent_at = NULL, attempts = 0, \
             next_attempt = '2000-01-01T00:00:00.000+08:00', lease_owner = NULL, \
             lease_until = NULL",
        ])
    };
    let queued = db
        .query_strings("SELECT CAST(id AS TEXT) FROM outbox")
        .len();
    let mut moments = common::Moments::new();
    let mut rand = |n: u64| moments.below(n);
    // How long an uninterrupted send of every notice takes: kills fall anywhere inside it.
    let full = {
        reset();
        let sink = Sink::start(&db.path().join("sink-full")).expect("sink");
        let cfg = cfg_for(&sink);
        let started = Instant::now();
        db.json(&["--config", &cfg, "outbox", "send", "--json"]);
        started.elapsed()
    };
    let (mut kills, mut lost, mut duplicates, mut in_window) = (0usize, 0usize, 0usize, 0usize);
    for trial in 0..trials {
        reset();
        let sink = Sink::start(&db.path().join(format!("sink-{trial}"))).expect("sink");
        let cfg = cfg_for(&sink);
        let these = 1 + rand(3) as usize;
        for _ in 0..these {
            let started = Instant::now();
            let mut child = db
                .bare()
                .args(["--db", &db.url, "--config", &cfg, "outbox", "send"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn");
            let at = Duration::from_millis(rand(full.as_millis() as u64 + 1));
            while started.elapsed() < at && child.try_wait().ok().flatten().is_none() {
                std::thread::sleep(Duration::from_millis(2));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        kills += these;
        // What the dead deliverers still hold waits for its lease, then goes.
        db.json(&["--config", &cfg, "outbox", "send", "--json"]);
        let held = db.query_strings(
            "SELECT lease_until FROM outbox WHERE status = 'pending' AND lease_until IS NOT NULL \
             ORDER BY lease_until",
        );
        if let Some(last) = held.last() {
            in_window += held.len();
            common::wait_until(chrono::DateTime::parse_from_rfc3339(last).expect("a time"));
            db.json(&["--config", &cfg, "outbox", "send", "--json"]);
        }
        let mails = mails(&sink);
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for m in &mails {
            *seen.entry(m.message_id.as_str()).or_insert(0) += 1;
        }
        let extra: usize = seen.values().map(|n| n - 1).sum();
        // Each of the round's sessions may hold one message delivered and not yet marked.
        assert!(
            extra <= these * SESSIONS,
            "trial {trial}: {extra} duplicates from {these} kills"
        );
        lost += queued - seen.len();
        duplicates += extra;
        let pending =
            db.query_strings("SELECT CAST(id AS TEXT) FROM outbox WHERE status <> 'sent'");
        assert!(pending.is_empty(), "trial {trial}: not sent: {pending:?}");
    }
    assert_eq!(lost, 0, "no notice lost");
    eprintln!(
        "{trials} trials of {queued} notices, {kills} kill -9 during delivery (a full send takes \
         {} ms): {lost} lost, {duplicates} duplicated (same Message-ID; {in_window} notice(s) \
         were held by a killed deliverer's lease)",
        full.as_millis()
    );
}

/// Deliverers at once (the daemon and `outbox send`, or an old leader beside a new one), 2 and
/// 4 of them, 20 times each: every notice reaches the SMTP server exactly once, because each is
/// claimed under a lease before it is sent. Between trials every notice is put back to pending
/// behind suiji's back, as if never sent.
fn concurrent_deliverers(db: &TestDb) {
    let Some(first) = Sink::start(&db.path().join("sink-0")) else {
        return;
    };
    let (cfg, layer) = live_draw(db, &first);
    drop(first);
    let queued = db
        .json(&["--config", &cfg, "outbox", "list", "--json"])
        .as_array()
        .map(Vec::len)
        .unwrap_or(0);
    assert!(queued >= 6, "{queued} notices");
    let mut trials = 0;
    for deliverers in [2, 4] {
        for trial in 0..20 {
            db.sql(&[
                "UPDATE outbox SET status = 'pending', sent_at = NULL, attempts = 0, \
                 next_attempt = '2000-01-01T00:00:00.000+08:00', lease_owner = NULL, \
                 lease_until = NULL",
            ]);
            let sink =
                Sink::start(&db.path().join(format!("sink-{deliverers}-{trial}"))).expect("sink");
            // The sink's port changes with each trial: the configuration follows it.
            let cfg = config(db, &sink, &layer);
            let children: Vec<_> = (0..deliverers)
                .map(|_| {
                    db.bare()
                        .args(["--db", &db.url, "--config", &cfg, "outbox", "send"])
                        .stdout(Stdio::null())
                        .stderr(Stdio::null())
                        .spawn()
                        .expect("spawn")
                })
                .collect();
            for mut c in children {
                assert!(c.wait().expect("wait").success());
            }
            let mails = mails(&sink);
            let mut seen: HashMap<&str, usize> = HashMap::new();
            for m in &mails {
                *seen.entry(m.message_id.as_str()).or_insert(0) += 1;
            }
            assert_eq!(
                (seen.len(), mails.len()),
                (queued, queued),
                "{deliverers} deliverers, trial {trial}: every notice once"
            );
            trials += 1;
        }
    }
    eprintln!("{trials} trials, {queued} notices each: every one received exactly once");
}

on_both_backends!(concurrent_deliverers, production);

/// A 函告 queued by `task schedule` is a draft for `notify.hold_secs`: dates scheduled for the
/// same bureau within it, or the same date moved, give one letter with the last dates. Once a
/// letter went, a moved date gets a letter that says it replaces it (更正, with both dates),
/// and the calendar event keeps its UID with a higher SEQUENCE.
#[test]
fn held_letters_are_one_and_corrections_say_so() {
    let Some(db) = TestDb::new(common::Backend::Sqlite) else {
        return;
    };
    common::load_demo(&db);
    common::freeze_and_draw_at(&db, "2024-05-13 09:00");
    let ids = three_in_one_city(&db);
    let (a, b, c) = (&ids[0], &ids[1], &ids[2]);
    let letters = || {
        db.query_strings(
            "SELECT status || '|' || next_attempt || '|' || subject FROM outbox \
             WHERE kind = 'advance_notice' ORDER BY id",
        )
    };
    // Within one minute: a planned, b planned, a moved. One letter, held to 10:01.
    on(
        &db,
        "2024-06-04 10:00",
        &["task", "schedule", a, "--date", "2024-06-05"],
    );
    on(
        &db,
        "2024-06-04 10:00",
        &["task", "schedule", b, "--date", "2024-06-06"],
    );
    on(
        &db,
        "2024-06-04 10:00",
        &[
            "task",
            "correct",
            a,
            "--field",
            "planned",
            "--value",
            "2024-06-07",
            "--reason",
            "企业要求改期",
        ],
    );
    let held = letters();
    assert_eq!(held.len(), 1, "{held:?}");
    assert!(
        held[0].starts_with("pending|2024-06-04T10:01:00"),
        "{held:?}"
    );
    assert!(
        !held[0].contains("更正"),
        "never sent, so nothing to correct: {held:?}"
    );
    let advance = || -> Vec<Mail> {
        written(&db)
            .into_iter()
            .filter(|m| m.kind == "advance_notice")
            .collect()
    };
    on(&db, "2024-06-04 10:03", &["outbox", "send"]);
    let mails = advance();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].text.contains("2024年6月7日") && mails[0].text.contains("2024年6月6日"));
    assert!(!mails[0].text.contains("2024年6月5日"), "{}", mails[0].text);
    // Past the hold: c goes in a letter of its own; a moved again (still inside its notice
    // period) is corrected.
    on(
        &db,
        "2024-06-04 10:05",
        &["task", "schedule", c, "--date", "2024-06-06"],
    );
    on(
        &db,
        "2024-06-04 10:07",
        &[
            "task",
            "correct",
            a,
            "--field",
            "planned",
            "--value",
            "2024-06-06",
            "--reason",
            "企业要求改期",
        ],
    );
    on(&db, "2024-06-04 10:09", &["outbox", "send"]);
    let mails = advance();
    assert_eq!(
        mails.len(),
        3,
        "{:?}",
        mails.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    let corrected = mails
        .iter()
        .find(|m| m.subject.contains("【更正】"))
        .expect("a correction");
    assert!(
        corrected
            .text
            .contains("原定2024年6月7日，改为2024年6月6日"),
        "{}",
        corrected.text
    );
    let ics = corrected
        .attachments
        .iter()
        .find(|x| x.0.ends_with(".ics"))
        .expect("calendar");
    let ics = String::from_utf8_lossy(&ics.3);
    assert!(
        ics.contains(&format!("UID:{a}@suiji")) && ics.contains("SEQUENCE:1"),
        "{ics}"
    );
}

/// The ids of three drawn inspections in one municipal unit (one bureau's 函告).
fn three_in_one_city(db: &TestDb) -> Vec<String> {
    let tasks = db.json(&["task", "list", "--json"]);
    let mut by_city: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for t in tasks.as_array().expect("tasks") {
        by_city
            .entry(t["city"].as_str().unwrap_or("").to_string())
            .or_default()
            .push(t["id"].as_str().unwrap_or("").to_string());
    }
    by_city
        .into_values()
        .find(|ids| ids.len() >= 3)
        .expect("a city with three inspections")
}

/// Three `task schedule` at once for one bureau's inspections (each inside its notice period):
/// the processes race to replace each other's held letter, and however they interleave every
/// inspection is named in exactly one letter, none lost.
fn held_letters_race(db: &TestDb) {
    common::load_demo(db);
    common::freeze_and_draw_at(db, "2024-05-13 09:00");
    let ids = three_in_one_city(db);
    let days = ["2024-06-05", "2024-06-06", "2024-06-07"];
    let children: Vec<_> = ids
        .iter()
        .zip(days)
        .map(|(id, day)| {
            db.bare()
                .args([
                    "--db",
                    &db.url,
                    "--today",
                    "2024-06-04 10:00",
                    "task",
                    "schedule",
                    id,
                    "--date",
                    day,
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for (id, day) in ids.iter().zip(days) {
        let rows = db.query_strings(&format!(
            "SELECT CAST(i.outbox_id AS TEXT) FROM notice_items i JOIN outbox o \
             ON o.id = i.outbox_id WHERE i.item = 'advance/{id}/{day}' \
             AND o.kind = 'advance_notice' AND o.status = 'pending'"
        ));
        assert_eq!(rows.len(), 1, "{id} on {day}: {rows:?}");
    }
    let letters =
        db.query_strings("SELECT CAST(id AS TEXT) FROM outbox WHERE kind = 'advance_notice'");
    assert!(!letters.is_empty() && letters.len() <= 3, "{letters:?}");
}

on_both_backends!(held_letters_race);

/// A configuration sending to `sink` with these `[smtp]` keys (besides host and port), and
/// `layer` after.
fn relay_config(db: &TestDb, name: &str, sink: &Sink, smtp: &str, layer: &str) -> String {
    let path = db.path().join(format!("{name}.toml"));
    let text = format!(
        "[smtp]\nhost = \"127.0.0.1\"\nport = {}\ntimeout_secs = 5\n{smtp}\n{layer}",
        sink.port
    );
    std::fs::write(&path, text).expect("config");
    path.display().to_string()
}

/// `mail test` with the configuration `cfg`: (passed, what it printed).
fn mail_test(db: &TestDb, cfg: &str, to: Option<&str>) -> (bool, String) {
    let mut args = vec!["--config", cfg, "mail", "test"];
    if let Some(to) = to {
        args.extend(["--to", to]);
    }
    let out = db.suiji(&args);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "mail test: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// A department's relay: STARTTLS with a certificate of the department's own CA, AUTH
/// required. Without `smtp.ca_file` nothing is sent and the admin is told which setting to
/// change; with the wrong TLS mode, likewise. A wrong password fails every notice at once (one
/// attempt at the relay, no retries) and raises one administrators' notice, copied to the data
/// folder; once the password is fixed, `outbox retry --all` delivers every notice exactly once,
/// each session ending with QUIT. A recipient the relay refuses fails that notice only.
#[test]
fn a_departments_relay_over_starttls() {
    let Some(db) = TestDb::production(common::Backend::Sqlite) else {
        return;
    };
    let ca = common::test_ca(&db);
    let cert = ca.join("server.pem").display().to_string();
    let key = ca.join("server.key").display().to_string();
    let Some(sink) = Sink::start_with(
        &db.path().join("sink"),
        &[
            "--tls",
            "starttls",
            "--cert",
            &cert,
            "--key",
            &key,
            "--auth",
            "suiji:right-pw",
            "--reject-rcpt",
            "training@",
        ],
    ) else {
        return;
    };
    let ca_file = format!("ca_file = \"{}\"\n", ca.join("ca.pem").display());
    let auth = |pw: &str| format!("username = \"suiji\"\npassword = \"{pw}\"\n");

    // Untrusted CA: refused, with the setting to change.
    let cfg = relay_config(
        &db,
        "no-ca",
        &sink,
        &format!("tls = \"starttls\"\n{}", auth("right-pw")),
        "",
    );
    let (ok, said) = mail_test(&db, &cfg, None);
    assert!(!ok, "{said}");
    assert!(said.contains("STARTTLS: 220"), "{said}");
    assert!(
        said.contains("issued by a CA this machine does not trust"),
        "{said}"
    );
    assert!(said.contains("smtp.ca_file"), "{said}");
    assert!(
        said.contains("CN=Suiji Test CA"),
        "the issuer is named: {said}"
    );
    // Implicit TLS on a STARTTLS port: the mode to set.
    let cfg = relay_config(
        &db,
        "wrong-mode",
        &sink,
        &format!("tls = \"tls\"\n{ca_file}{}", auth("right-pw")),
        "",
    );
    let (ok, said) = mail_test(&db, &cfg, None);
    assert!(!ok);
    assert!(said.contains("set smtp.tls = \"starttls\""), "{said}");
    // No TLS: the server offers AUTH only after STARTTLS.
    let cfg = relay_config(
        &db,
        "plain",
        &sink,
        &format!("tls = \"none\"\n{}", auth("right-pw")),
        "",
    );
    let (ok, said) = mail_test(&db, &cfg, None);
    assert!(!ok);
    assert!(said.contains("only after STARTTLS"), "{said}");
    assert!(
        !sink.sessions().iter().any(|l| l.starts_with("auth")),
        "no password went anywhere before TLS was verified: {:?}",
        sink.sessions()
    );

    // The wrong password: the draw's notices all fail at once, after one attempt.
    let smtp_ok = format!("tls = \"starttls\"\n{ca_file}{}", auth("right-pw"));
    let smtp_wrong = format!("tls = \"starttls\"\n{ca_file}{}", auth("wrong-pw"));
    let (wrong, layer) = live_draw_with(&db, |layer| {
        relay_config(&db, "wrong-pw", &sink, &smtp_wrong, layer)
    });
    let (ok, said) = mail_test(&db, &wrong, None);
    assert!(!ok);
    assert!(said.contains("certificate: CN=localhost"), "{said}");
    assert!(said.contains("refused user `suiji`"), "{said}");
    assert!(said.contains("outbox retry --all"), "{said}");
    let before = sink
        .sessions()
        .iter()
        .filter(|l| l.starts_with("auth fail"))
        .count();
    let round = db.json(&["--config", &wrong, "outbox", "send", "--json"]);
    let queued = round["delivered"]["failed"].as_u64().unwrap_or(0);
    assert!(queued >= 6, "every notice failed at once: {round}");
    assert_eq!(round["delivered"]["retrying"], 0, "{round}");
    assert_eq!(round["delivered"]["sent"], 0, "{round}");
    let fails = sink
        .sessions()
        .iter()
        .filter(|l| l.starts_with("auth fail"))
        .count();
    assert_eq!(
        fails - before,
        1,
        "one attempt at the relay: {:?}",
        sink.sessions()
    );
    let outbox = db.json(&["--config", &wrong, "outbox", "list", "--json"]);
    let rows = outbox.as_array().expect("outbox");
    let admin: Vec<&Value> = rows.iter().filter(|n| n["kind"] == "admin").collect();
    assert_eq!(
        admin.len(),
        1,
        "one administrators' notice for the cause: {outbox}"
    );
    assert_eq!(admin[0]["status"], "pending");
    let failed: Vec<&Value> = rows.iter().filter(|n| n["status"] == "failed").collect();
    assert_eq!(failed.len() as u64, queued);
    assert!(failed.iter().all(|n| {
        n["attempts"] == 1
            && n["last_error"]
                .as_str()
                .is_some_and(|e| e.contains("refused user `suiji`"))
    }));
    let copies: Vec<_> = std::fs::read_dir(db.path().join("data/undelivered"))
        .map(|d| d.filter_map(|e| e.ok()).collect())
        .unwrap_or_default();
    assert_eq!(
        copies.len(),
        1,
        "the administrators' notice is also kept as a file"
    );
    let copy = std::fs::read(copies[0].path()).expect("copy");
    assert!(String::from_utf8_lossy(&copy).contains("X-Suiji-Notice: admin"));
    let status = db.suiji(&["--config", &wrong, "status"]);
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(status.contains("mail: FAILING since"), "{status}");
    assert!(status.contains("(credentials)"), "{status}");
    // Another round the same day: one more attempt, no second administrators' notice.
    let again = db.json(&["--config", &wrong, "outbox", "send", "--json"]);
    assert_eq!(
        again["delivered"]["failed"], 1,
        "only the administrators' notice: {again}"
    );
    let outbox = db.json(&["--config", &wrong, "outbox", "list", "--json"]);
    let admins = outbox
        .as_array()
        .expect("outbox")
        .iter()
        .filter(|n| n["kind"] == "admin")
        .count();
    assert_eq!(admins, 1, "{outbox}");

    // Fixed: every failed notice goes, once.
    let fixed = relay_config(&db, "fixed", &sink, &smtp_ok, &layer);
    let retried = db.suiji(&["--config", &fixed, "outbox", "retry", "--all"]);
    common::assert_ok(&retried, &["outbox", "retry", "--all"]);
    let put_back = queued + 1;
    assert!(
        String::from_utf8_lossy(&retried.stdout).contains(&format!("{put_back} notices put back")),
        "{}",
        String::from_utf8_lossy(&retried.stdout)
    );
    let delivered = db.json(&["--config", &fixed, "outbox", "send", "--json"]);
    // The training division's address is refused by the relay: that notice alone fails.
    assert_eq!(delivered["delivered"]["failed"], 1, "{delivered}");
    assert_eq!(
        delivered["delivered"]["sent"].as_u64(),
        Some(put_back - 1),
        "{delivered}"
    );
    let refused = &delivered["gave_up"][0];
    assert_eq!(refused["cause"], "refused");
    assert!(
        refused["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("refused the recipient <training@")),
        "{refused}"
    );
    // The administrators hear of it (a notice per round for refused notices), and it goes.
    let told = db.json(&["--config", &fixed, "outbox", "send", "--json"]);
    assert_eq!(told["delivered"]["sent"], 1, "{told}");
    let nothing = db.json(&["--config", &fixed, "outbox", "send", "--json"]);
    assert_eq!(nothing["delivered"]["sent"], 0);
    let mails = mails(&sink);
    assert_eq!(
        mails.len() as u64,
        put_back,
        "each notice once at the server"
    );
    let ids: HashSet<&str> = mails.iter().map(|m| m.message_id.as_str()).collect();
    assert_eq!(ids.len(), mails.len(), "no duplicate");
    let log = sink.sessions();
    let authed = log.iter().filter(|l| l.starts_with("auth ok")).count();
    let quits = log.iter().filter(|l| *l == "quit").count();
    assert!(authed >= 1);
    assert_eq!(
        quits, authed,
        "every session that delivered ended with QUIT: {log:?}"
    );
    let status = db.suiji(&["--config", &fixed, "status"]);
    assert!(String::from_utf8_lossy(&status.stdout).contains("mail: last delivered"));
}

/// Implicit TLS (SMTPS) with AUTH: `mail test` says each step and the server's certificate,
/// and sends one message with the envelope sender asked for; a self-signed certificate, a
/// certificate for another name and STARTTLS on the SMTPS port are each refused with their
/// cause.
#[test]
fn implicit_tls_and_what_mail_test_says() {
    let Some(db) = TestDb::new(common::Backend::Sqlite) else {
        return;
    };
    let ca = common::test_ca(&db);
    let sink_with = |name: &str, cert: &str| {
        let (c, k) = (
            ca.join(format!("{cert}.pem")),
            ca.join(format!("{cert}.key")),
        );
        Sink::start_with(
            &db.path().join(name),
            &[
                "--tls",
                "implicit",
                "--cert",
                &c.display().to_string(),
                "--key",
                &k.display().to_string(),
                "--auth",
                "suiji:pw",
            ],
        )
    };
    let Some(sink) = sink_with("sink", "server") else {
        return;
    };
    let ca_file = format!("ca_file = \"{}\"\n", ca.join("ca.pem").display());
    let smtp = format!(
        "tls = \"tls\"\nusername = \"suiji\"\npassword = \"pw\"\n{ca_file}\
         envelope_from = \"bounces@example.gov.cn\"\n"
    );
    let cfg = relay_config(&db, "smtps", &sink, &smtp, "");
    let (ok, said) = mail_test(&db, &cfg, Some("张三 <zhangsan@example.gov.cn>"));
    assert!(ok, "{said}");
    for step in [
        "from smtp.ca_file",
        "TLS: TLSv1_3",
        "certificate: CN=localhost; issued by CN=Suiji Test CA",
        "names localhost, 127.0.0.1",
        "AUTH PLAIN: accepted",
        "RCPT TO <zhangsan@example.gov.cn>",
        "QUIT: 221",
        "mail test passed",
    ] {
        assert!(said.contains(step), "`{step}` in {said}");
    }
    let got = sink.messages();
    assert_eq!(got.len(), 1);
    let envelope: Value =
        serde_json::from_slice(&std::fs::read(sink.dir.join("000001.json")).expect("envelope"))
            .expect("json");
    assert_eq!(envelope["from"], "bounces@example.gov.cn");
    assert!(String::from_utf8_lossy(&got[0].1).contains("noreply@example.gov.cn"));
    // STARTTLS against the SMTPS port: the mode to set, once the greeting never comes.
    let starttls = smtp.replace("tls = \"tls\"", "tls = \"starttls\"");
    let cfg = relay_config(&db, "starttls-on-465", &sink, &starttls, "");
    let text = std::fs::read_to_string(&cfg)
        .expect("cfg")
        .replace("timeout_secs = 5", "timeout_secs = 2");
    std::fs::write(&cfg, text).expect("cfg");
    let (ok, said) = mail_test(&db, &cfg, None);
    assert!(!ok);
    assert!(said.contains("set smtp.tls = \"tls\""), "{said}");
    // Without the CA: refused, naming the setting.
    let cfg = relay_config(&db, "no-ca", &sink, &smtp.replace(&ca_file, ""), "");
    let (ok, said) = mail_test(&db, &cfg, None);
    assert!(!ok);
    assert!(
        said.contains("put that CA's certificate (PEM) in smtp.ca_file"),
        "{said}"
    );
    // Self-signed, and for another name: refused even with the CA trusted.
    let Some(selfsigned) = sink_with("self", "selfsigned") else {
        return;
    };
    let (ok, said) = mail_test(
        &db,
        &relay_config(&db, "self", &selfsigned, &smtp, ""),
        None,
    );
    assert!(!ok);
    assert!(said.contains("self-signed certificate"), "{said}");
    let Some(other) = sink_with("other", "wrongname") else {
        return;
    };
    let (ok, said) = mail_test(&db, &relay_config(&db, "other", &other, &smtp, ""), None);
    assert!(!ok);
    assert!(
        said.contains("is for mail.example.org, not `127.0.0.1`"),
        "{said}"
    );
    // A password is never sent in the clear beyond this machine.
    let clear = db.path().join("clear.toml");
    std::fs::write(
        &clear,
        "[smtp]\nhost = \"mail.example.org\"\ntls = \"none\"\nusername = \"suiji\"\npassword = \"pw\"\n",
    )
    .expect("config");
    let out = db.suiji(&["--config", &clear.display().to_string(), "mail", "test"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("in the clear"));
    for s in [&sink, &selfsigned, &other] {
        assert!(
            !s.sessions().iter().any(|l| l.starts_with("auth fail")),
            "no refused password anywhere"
        );
    }
}
