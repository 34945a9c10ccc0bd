//! Shared test harness: a throw-away database per test (an SQLite file in a temp folder, or a
//! uniquely named PostgreSQL database that is dropped afterwards) and a way to run the real
//! `suiji` binary against it.
//!
//! PostgreSQL is found at `TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`,
//! the maintenance database used to create and drop test databases). Set it to `skip` to run
//! the SQLite half only; the skipped tests then say so on stderr.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use sqlx::{AnyConnection, AssertSqlSafe, Connection, Executor};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestDb {
    pub backend: Backend,
    pub url: String,
    /// Working directory for the binary (and the SQLite file).
    pub dir: tempfile::TempDir,
    pg_name: Option<String>,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("test runtime")
}

async fn admin() -> AnyConnection {
    sqlx::any::install_default_drivers();
    let url = admin_url();
    AnyConnection::connect(&url).await.unwrap_or_else(|e| {
        panic!(
            "PostgreSQL is needed for this test and is not reachable at {url}: {e}\n\
             Start it, point TEST_POSTGRES_URL at a server, or set TEST_POSTGRES_URL=skip"
        )
    })
}

impl TestDb {
    /// A fresh database, or `None` when PostgreSQL tests are explicitly skipped.
    pub fn new(backend: Backend) -> Option<TestDb> {
        let dir = tempfile::tempdir().expect("temp dir");
        match backend {
            Backend::Sqlite => Some(TestDb {
                backend,
                url: format!("sqlite://{}", dir.path().join("suiji.db").display()),
                dir,
                pg_name: None,
            }),
            Backend::Postgres => {
                if admin_url() == "skip" {
                    eprintln!("SKIPPED: PostgreSQL half (TEST_POSTGRES_URL=skip)");
                    return None;
                }
                let name = format!(
                    "suiji_test_{}_{}_{}",
                    std::process::id(),
                    COUNTER.fetch_add(1, Ordering::SeqCst),
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.subsec_nanos())
                        .unwrap_or(0)
                );
                runtime().block_on(async {
                    let mut c = admin().await;
                    c.execute(AssertSqlSafe(format!("CREATE DATABASE {name}")))
                        .await
                        .expect("create test database");
                });
                // Same server and credentials, the new database's name as the path.
                let base = admin_url();
                let (scheme, rest) = base.split_once("://").expect("URL with a scheme");
                let host = rest.split(['/', '?']).next().unwrap_or(rest);
                let url = format!("{scheme}://{host}/{name}");
                Some(TestDb {
                    backend,
                    url,
                    dir,
                    pg_name: Some(name),
                })
            }
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs `suiji --db URL ARGS...` in the test's folder with a clean environment.
    pub fn suiji(&self, args: &[&str]) -> Output {
        self.suiji_env(args, &[])
    }

    pub fn suiji_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = self.bare();
        cmd.arg("--db").arg(&self.url).args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("run suiji")
    }

    /// The binary in the test's folder with a clean environment (no SUIJI_* variables, a host
    /// time zone far from Beijing) and no `--db`.
    pub fn bare(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_suiji"));
        cmd.current_dir(self.path());
        for (k, _) in std::env::vars() {
            if k.starts_with("SUIJI_") || k == "RUST_LOG" {
                cmd.env_remove(k);
            }
        }
        cmd.env("TZ", "America/Los_Angeles");
        cmd
    }

    /// Runs a command that must succeed and returns its stdout parsed as JSON.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let out = self.suiji(args);
        assert_ok(&out, args);
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "suiji {args:?}: stdout is not JSON ({e}):\n{}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }

    /// Executes SQL directly, as someone with database access behind suiji's back would.
    pub fn sql(&self, statements: &[&str]) {
        runtime().block_on(async {
            sqlx::any::install_default_drivers();
            let mut c = AnyConnection::connect(&self.url).await.expect("connect");
            for s in statements {
                c.execute(AssertSqlSafe(s.to_string()))
                    .await
                    .unwrap_or_else(|e| panic!("{s}: {e}"));
            }
            c.close().await.ok();
        });
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = self.pg_name.take() {
            runtime().block_on(async {
                let mut c = admin().await;
                let _ = c
                    .execute(AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .await;
            });
        }
    }
}

pub fn assert_ok(out: &Output, what: &[&str]) {
    assert!(
        out.status.success(),
        "suiji {what:?} failed ({:?}):\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A path inside the repository.
pub fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Imports the shipped demo registry (and nothing more).
pub fn load_demo(db: &TestDb) {
    let dir = repo("examples/henan");
    db.json(&[
        "demo",
        "run",
        "--import-only",
        "--dir",
        dir.to_str().expect("utf-8"),
        "--json",
    ]);
}

/// Writes the synthetic registry with `entities` entities into `dir` using the real binary.
pub fn generate(db: &TestDb, entities: usize, dir: &Path) -> PathBuf {
    let n = entities.to_string();
    let out = db.suiji(&[
        "demo",
        "generate",
        "--entities",
        &n,
        "--seed",
        "7",
        "--out",
        dir.to_str().expect("utf-8 path"),
    ]);
    assert_ok(&out, &["demo", "generate"]);
    dir.to_path_buf()
}

/// Runs a story once per backend.
#[macro_export]
macro_rules! on_both_backends {
    ($story:ident) => {
        mod $story {
            use super::*;
            #[test]
            fn sqlite() {
                if let Some(db) = common::TestDb::new(common::Backend::Sqlite) {
                    super::$story(&db);
                }
            }
            #[test]
            fn postgres() {
                if let Some(db) = common::TestDb::new(common::Backend::Postgres) {
                    super::$story(&db);
                }
            }
        }
    };
}
