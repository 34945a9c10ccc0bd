//! The nightly overdue check over a large task table: `cargo bench --bench overdue [-- TASKS]`
//! (default 1,000,000 tasks, 1% of them overdue, half scheduled). Fills SQLite and PostgreSQL
//! (`TEST_POSTGRES_URL`, `skip` to leave it out) through the store's own draw path, then times
//! what `suiji overdue` does: the indexed `next_due` range query plus the per-task working-day
//! computation, five times each; then the progress report, added up by the database and folded
//! from the facts, as the real binary with its own peak memory, beside a plain GROUP BY (on
//! PostgreSQL again after `VACUUM ANALYZE`, as autovacuum leaves a table minutes later).

use std::time::{Duration, Instant};

use chrono::NaiveDate;
use suiji::calendar::Calendar;
use suiji::config::{DatabaseUrl, Overrides, Settings};
use suiji::lifecycle;
use suiji::store::{Store, TaskFilter};

mod support;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
}

async fn run(settings: &Settings, url: &str, n: usize, label: &str) -> anyhow::Result<()> {
    let store = Store::open(&DatabaseUrl::new(url), &settings.database).await?;
    let t = Instant::now();
    support::fill(&store, n).await?;
    println!(
        "{label:<10} {n} tasks written in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let cal = Calendar::shipped()?;
    let today = d("2024-07-01");
    let mut times: Vec<Duration> = Vec::new();
    let mut found = 0;
    for _ in 0..5 {
        let t = Instant::now();
        let rows = store
            .tasks(&TaskFilter {
                due_before: Some(today),
                ..Default::default()
            })
            .await?;
        found = 0;
        for r in &rows {
            found += lifecycle::overdue(&r.facts, &r.deadlines, today, &cal).len();
        }
        times.push(t.elapsed());
    }
    times.sort();
    println!(
        "{label:<10} overdue on {today}: {found} items; min {:.1} ms, median {:.1} ms",
        times[0].as_secs_f64() * 1e3,
        times[2].as_secs_f64() * 1e3
    );
    // The progress report: added up by the database (today), and folded from the facts (a past
    // month), each as the real binary with its own peak memory; the anchor is a plain GROUP BY.
    let mut anchor = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        store.tasks_by_status().await?;
        anchor.push(t.elapsed());
    }
    anchor.sort();
    println!(
        "{label:<10} anchor: SELECT status, COUNT(*) … GROUP BY status: median {:.1} ms",
        anchor[2].as_secs_f64() * 1e3
    );
    store.close().await;
    report_steps(url, label, n)?;
    if url.starts_with("postgres") {
        // Straight after a million inserts PostgreSQL has neither statistics nor a visibility
        // map for them (autovacuum sees to both within minutes): measured again as it will run.
        use sqlx::{Connection, Executor};
        let mut c = sqlx::AnyConnection::connect(url).await?;
        c.execute("VACUUM ANALYZE tasks").await?;
        c.close().await?;
        println!("{label:<10} after VACUUM ANALYZE tasks:");
        report_steps(url, label, n)?;
    }
    Ok(())
}

/// The report today and for a past month, and the overdue check, each as the real binary.
fn report_steps(url: &str, label: &str, n: usize) -> anyhow::Result<()> {
    for (what, args) in [
        (
            "report (today, SQL)",
            vec!["--today", "2024-07-01", "report", "--json"],
        ),
        (
            "report --month 2024-06 (fold)",
            vec![
                "--today",
                "2024-07-01",
                "report",
                "--month",
                "2024-06",
                "--json",
            ],
        ),
        (
            "overdue (binary)",
            vec!["--today", "2024-07-01", "overdue", "--json"],
        ),
    ] {
        let m = support::measure(
            std::process::Command::new(env!("CARGO_BIN_EXE_suiji"))
                .args(["--db", url])
                .args(&args),
        )?;
        anyhow::ensure!(m.ok, "{what}: {}", m.stderr);
        if what.starts_with("report") {
            // Both reports, added up or folded, count every task and every recorded schedule.
            let report: serde_json::Value = serde_json::from_str(&m.stdout)?;
            let sum = |field: &str| -> u64 {
                report["divisions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|d| d[field].as_u64())
                    .sum()
            };
            let counted = (sum("drawn"), sum("scheduled"));
            anyhow::ensure!(
                counted == (n as u64, n as u64 / 2),
                "{what}: counted {counted:?} of {n} tasks"
            );
        }
        println!(
            "{label:<10} {what:<30} {:.2} s, peak {:.1} MiB",
            m.seconds, m.peak_mib
        );
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let n = support::size_arg(1_000_000)?;
    let settings = Settings::load(&Overrides::default())?;
    let rt = tokio::runtime::Runtime::new()?;
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("overdue.db").display());
    rt.block_on(run(&settings, &url, n, "SQLite"))?;
    rt.block_on(support::with_postgres("overdue", |url| async move {
        run(&settings, &url, n, "PostgreSQL").await
    }))
}
