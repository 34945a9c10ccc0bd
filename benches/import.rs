//! Import throughput: `cargo bench --bench import [-- ROWS]` (default 1,000,000 entities).
//!
//! Times the same pipeline `suiji import entities` runs (read + decode, validate, write in one
//! transaction) on SQLite and on PostgreSQL (`TEST_POSTGRES_URL`, default the local server;
//! `skip` to leave it out), then a re-import of the unchanged file (the diff path), and, as the
//! ceiling, SQLite's own bulk-insert rate for the same rows through the `sqlite3` shell's
//! `.import` when that shell is installed.

use std::path::Path;
use std::time::Instant;

use suiji::clock::SystemClock;
use suiji::config::{DatabaseUrl, Overrides, Settings};
use suiji::import::{self, Kind, Known};
use suiji::store::{ImportMeta, Store};

mod support;

fn main() -> anyhow::Result<()> {
    let rows = support::size_arg(1_000_000)?;
    let rt = tokio::runtime::Runtime::new()?;
    let settings = Settings::load(&Overrides::default())?;
    let vocab = settings.vocabulary()?;
    let dir = tempfile::tempdir()?;

    let t = Instant::now();
    suiji::demo::generate(rows, 1, &vocab).write(dir.path())?;
    let file = dir.path().join("entities.csv");
    let size = std::fs::metadata(&file)?.len();
    println!(
        "generated {rows} entities ({:.1} MB CSV) in {:.2} s",
        size as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );

    let sqlite_url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let sqlite_rate = rt.block_on(run(&settings, &vocab, &sqlite_url, &file, "SQLite"))?;

    let (settings_ref, vocab_ref, file_ref) = (&settings, &vocab, &file);
    rt.block_on(support::with_postgres("import", |url| async move {
        run(settings_ref, vocab_ref, &url, file_ref, "PostgreSQL")
            .await
            .map(|_| ())
    }))?;

    if let Some(raw) = sqlite_shell_rate(dir.path(), &file, rows)? {
        println!(
            "SQLite's own bulk insert (sqlite3 .import, same rows, one transaction): {:.0} rows/s",
            raw
        );
        println!(
            "ratio suiji/SQLite: {:.2} (suiji also decodes, validates every USCC, diffs and audits)",
            sqlite_rate / raw
        );
    } else {
        println!("sqlite3 shell not found: SQLite's own rate not measured");
    }
    Ok(())
}

/// Imports `file` into a fresh database at `url`, then again unchanged; returns rows/s of the first.
async fn run(
    settings: &Settings,
    vocab: &suiji::vocab::Vocabulary,
    url: &str,
    file: &Path,
    label: &str,
) -> anyhow::Result<f64> {
    let store = Store::open(&DatabaseUrl::new(url), &settings.database).await?;
    let mut first = 0.0;
    for pass in ["first import", "re-import, unchanged"] {
        let t0 = Instant::now();
        let bytes = std::fs::read(file)?;
        let table = import::table::read(file, None).map_err(|problems| {
            let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
            anyhow::anyhow!("{}", shown.join("\n"))
        })?;
        let t1 = Instant::now();
        let (records, _) = import::parse(Kind::Entities, &table, vocab, &Known::default())
            .map_err(|p| anyhow::anyhow!("{}", p[0]))?;
        let t2 = Instant::now();
        let meta = ImportMeta {
            kind: Kind::Entities,
            file: file.display().to_string(),
            sha256: suiji::audit::sha256_hex(&bytes),
            encoding: table.encoding.into(),
            actor: "bench".into(),
        };
        let outcome = store
            .apply_import(&meta, &records, &SystemClock, &|_| ())
            .await?;
        let t3 = Instant::now();
        let total = (t3 - t0).as_secs_f64();
        let rate = records.len() as f64 / total;
        println!(
            "{label:<10} {pass:<22} {} rows: read {:.2} s, validate {:.2} s, write {:.2} s, \
             total {:.2} s = {:.0} rows/s (new {}, unchanged {})",
            records.len(),
            (t1 - t0).as_secs_f64(),
            (t2 - t1).as_secs_f64(),
            (t3 - t2).as_secs_f64(),
            total,
            rate,
            outcome.inserted,
            outcome.unchanged,
        );
        if first == 0.0 {
            first = rate;
        }
    }
    store.close().await;
    Ok(first)
}

/// SQLite's own rate for the same rows: the `sqlite3` shell importing a CSV of the stored
/// columns into the same table shape, in one transaction.
fn sqlite_shell_rate(dir: &Path, file: &Path, rows: usize) -> anyhow::Result<Option<f64>> {
    if std::process::Command::new("sqlite3")
        .arg("-version")
        .output()
        .is_err()
    {
        return Ok(None);
    }
    let raw = dir.join("raw.csv");
    {
        let mut r = csv::Reader::from_path(file)?;
        let mut w = csv::Writer::from_path(&raw)?;
        for rec in r.records() {
            let rec = rec?;
            let mut row: Vec<&str> = rec.iter().collect();
            row.push("2024-01-01T00:00:00.000+08:00");
            w.write_record(&row)?;
        }
        w.flush()?;
    }
    let db = dir.join("raw.db");
    let script = format!(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;\n\
         CREATE TABLE entities (uscc TEXT PRIMARY KEY, name TEXT NOT NULL, sector TEXT NOT NULL, \
         city TEXT NOT NULL, county TEXT, risk TEXT NOT NULL, scale TEXT, status TEXT NOT NULL, \
         tags TEXT NOT NULL, updated_at TEXT NOT NULL);\n\
         BEGIN;\n.import --csv {} entities\nCOMMIT;\n",
        raw.display()
    );
    let t = Instant::now();
    let mut child = std::process::Command::new("sqlite3")
        .arg(&db)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        stdin.write_all(script.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    let secs = t.elapsed().as_secs_f64();
    if !out.status.success() {
        anyhow::bail!("sqlite3: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(Some(rows as f64 / secs))
}
