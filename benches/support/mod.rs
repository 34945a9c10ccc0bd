//! What the benchmark binaries share: the size argument and a throw-away PostgreSQL database.
#![allow(dead_code)]

use sqlx::{AnyConnection, AssertSqlSafe, Connection, Executor};

/// The first argument that is not a flag (cargo bench passes `--bench`), or `default`.
pub fn size_arg(default: usize) -> anyhow::Result<usize> {
    Ok(std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(default))
}

/// Runs `f` with the URL of a fresh PostgreSQL database (dropped afterwards) on the server at
/// `TEST_POSTGRES_URL` (default the local one); does nothing when that is `skip`.
pub async fn with_postgres<F, Fut>(label: &str, f: F) -> anyhow::Result<()>
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let admin = std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    if admin == "skip" {
        println!("PostgreSQL skipped (TEST_POSTGRES_URL=skip)");
        return Ok(());
    }
    let name = format!("suiji_bench_{label}_{}", std::process::id());
    let (scheme, rest) = admin.split_once("://").unwrap_or(("postgres", &admin));
    let host = rest.split(['/', '?']).next().unwrap_or(rest);
    let url = format!("{scheme}://{host}/{name}");
    sqlx::any::install_default_drivers();
    let mut c = AnyConnection::connect(&admin).await?;
    c.execute(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await?;
    let result = f(url).await;
    c.execute(AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)")))
        .await?;
    result
}

/// Runs a command to its end: wall time, the child's own peak resident memory and its output.
pub fn measure(cmd: &mut std::process::Command) -> anyhow::Result<Measured> {
    use std::io::Read;
    let start = std::time::Instant::now();
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    // The kernel's high-water mark of the child's own address space, read until it exits:
    // wait4's ru_maxrss also counts the parent's memory the child had before its exec (a
    // bench holding a million tasks would lend each step its size).
    let pid = child.id();
    // Until the exec, the process is still a copy of this one, under this one's name.
    let program: String = std::path::Path::new(cmd.get_program())
        .file_name()
        .map(|n| n.to_string_lossy().chars().take(15).collect())
        .unwrap_or_default();
    let hwm = std::thread::spawn(move || {
        let mut peak_kib = 0u64;
        while let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
            if status.lines().next() != Some(&format!("Name:\t{program}")) {
                std::thread::sleep(std::time::Duration::from_millis(1));
                continue;
            }
            let Some(kib) = status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            else {
                break;
            };
            peak_kib = peak_kib.max(kib);
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        peak_kib
    });
    // Both pipes drain at once: a child filling one while we wait on the other would stall.
    let errs = child.stderr.take().map(|mut e| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = e.read_to_string(&mut s);
            s
        })
    });
    let mut out = String::new();
    if let Some(mut o) = child.stdout.take() {
        o.read_to_string(&mut out)?;
    }
    let err = errs.and_then(|h| h.join().ok()).unwrap_or_default();
    let status = child.wait()?;
    Ok(Measured {
        seconds: start.elapsed().as_secs_f64(),
        peak_mib: hwm.join().unwrap_or(0) as f64 / 1024.0,
        ok: status.success(),
        stdout: out,
        stderr: err,
    })
}

pub struct Measured {
    pub seconds: f64,
    pub peak_mib: f64,
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

/// The entity table's shape, for the databases' own bulk loaders measured beside suiji.
const ANCHOR_TABLE: &str = "CREATE TABLE anchor_entities (uscc TEXT PRIMARY KEY, name TEXT NOT NULL, \
     sector TEXT NOT NULL, city TEXT NOT NULL, county TEXT, risk TEXT NOT NULL, scale TEXT, \
     status TEXT NOT NULL, tags TEXT NOT NULL)";

/// SQLite's own bulk insert of the same CSV rows into the same table shape (the `sqlite3`
/// shell's `.import`, one transaction, WAL and FULL sync as suiji runs): no decoding,
/// validation, diff or audit, so a ceiling rather than a peer.
pub fn anchor_sqlite(dir: &std::path::Path, csv: &std::path::Path) -> anyhow::Result<Measured> {
    let script = dir.join("anchor.sql");
    std::fs::write(
        &script,
        format!(
            "PRAGMA journal_mode=WAL;\nPRAGMA synchronous=FULL;\n{ANCHOR_TABLE};\nBEGIN;\n\
             .import --csv --skip 1 {} anchor_entities\nCOMMIT;\n",
            csv.display()
        ),
    )?;
    measure(
        std::process::Command::new("sqlite3")
            .arg(dir.join("anchor.db"))
            .arg(format!(".read {}", script.display())),
    )
}

/// PostgreSQL's own bulk load of the same CSV rows: `psql \copy` into the same table shape.
pub fn anchor_psql(url: &str, csv: &std::path::Path) -> anyhow::Result<Measured> {
    measure(std::process::Command::new("psql").args([
        url,
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
        "-c",
        &format!("SET client_min_messages = warning; DROP TABLE IF EXISTS anchor_entities; {ANCHOR_TABLE}"),
        "-c",
        &format!(
            "\\copy anchor_entities FROM '{}' WITH (FORMAT csv, HEADER true, \
             FORCE_NOT_NULL (name, sector, city, county, risk, scale, status, tags))",
            csv.display()
        ),
    ]))
}

fn d(s: &str) -> chrono::NaiveDate {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
}

/// Fills `store` with one draw of `n` tasks of the 2024 window, as the store's draw path
/// writes them: one in a hundred late to schedule on 1 July, every other one scheduled at the
/// draw (a recorded fact), the rest due at year end; divisions noncoal, hazchem and
/// enforcement in turn, all in unit 4101.
pub async fn fill(store: &suiji::store::Store, n: usize) -> anyhow::Result<()> {
    use chrono::TimeZone;
    use std::collections::BTreeMap;
    use suiji::clock::FixedClock;
    use suiji::draw::{DrawDoc, SeedValue};
    use suiji::lifecycle::Obligation;
    use suiji::plan::{Deadlines, SeedKind, Window};
    use suiji::store::NewTask;
    // Drawn when the plan's draw was, so that June's report, as it stood, holds every task.
    let clock = FixedClock(
        chrono_tz::Asia::Shanghai
            .with_ymd_and_hms(2024, 5, 16, 21, 15, 0)
            .single()
            .ok_or_else(|| anyhow::anyhow!("draw time"))?,
    );
    let window = Window {
        start: d("2024-05-20"),
        end: d("2024-12-31"),
    };
    let manifest = store
        .freeze(
            "bench",
            2024,
            &"0".repeat(64),
            &"0".repeat(64),
            ("{}".into(), None),
            "2024-05-13T09:00:00.000+08:00",
            "2024-05-16T21:15:00.000+08:00",
            None,
            &clock,
            "bench",
        )
        .await?;
    let doc = DrawDoc {
        spec: suiji::draw::SPEC.into(),
        manifest_digest: "0".repeat(64),
        seed_source: SeedValue::plain(SeedKind::Manual, "123456"),
        seed: "0".repeat(64),
        strata: vec![],
        teams: vec![],
    };
    let tasks: Vec<NewTask> = (0..n)
        .map(|i| {
            // One task in a hundred is late to schedule on 1 July; every other one was
            // scheduled at the draw (a recorded fact for a past month's report to fold); the
            // rest are due at year end.
            let next = if i % 100 == 0 {
                d("2024-06-14")
            } else {
                d("2024-12-31")
            };
            let planned = (i % 2 == 1).then(|| d("2024-09-02"));
            let mut deadlines = BTreeMap::new();
            if planned.is_none() {
                deadlines.insert(Obligation::Schedule, next);
            }
            deadlines.insert(Obligation::Complete, window.end);
            NewTask {
                id: format!("bench-t-{i:07}"),
                task_rule: "t".into(),
                stratum: "t".into(),
                uscc: format!("9141010{i:010}X"),
                entity_name: "企业".into(),
                city: "4101".into(),
                division: ["noncoal", "hazchem", "enforcement"][i % 3].into(),
                cadre: "41000001007".into(),
                members: vec!["41000001007".into(), "41000001014".into()],
                partners: vec![],
                items: vec!["HNYJ-01".into()],
                drawn_on: d("2024-05-16"),
                planned,
                deadlines: suiji::lifecycle::Due {
                    dates: deadlines,
                    pending: Default::default(),
                },
                next_due: Some(next),
            }
        })
        .collect();
    let rules = Deadlines {
        results: 5,
        penalties: 7,
        advance_notice: 3,
        schedule_within: 20,
        reminders: vec![1],
        propose_dates: false,
    };
    store
        .record_draw(
            &manifest,
            &doc,
            &"0".repeat(64),
            "{}",
            &tasks,
            window,
            &rules,
            &[],
            &clock,
            "bench",
        )
        .await?;
    Ok(())
}
