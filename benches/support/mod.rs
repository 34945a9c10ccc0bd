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

/// Runs a command to its end: wall time, the child's own peak resident memory (wait4's
/// rusage, so each step is measured alone) and its output.
pub fn measure(cmd: &mut std::process::Command) -> anyhow::Result<Measured> {
    use std::io::Read;
    let start = std::time::Instant::now();
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
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
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waiting for our own child, with pointers to locals that outlive the call.
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    anyhow::ensure!(pid > 0, "wait4 failed");
    Ok(Measured {
        seconds: start.elapsed().as_secs_f64(),
        peak_mib: usage.ru_maxrss as f64 / 1024.0,
        ok: libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
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
