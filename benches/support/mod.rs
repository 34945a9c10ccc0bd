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
