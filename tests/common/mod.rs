//! Shared test harness: a throw-away database per test (an SQLite file in a temp folder, or a
//! uniquely named PostgreSQL database that is dropped afterwards) and a way to run the real
//! `suiji` binary against it.
//!
//! PostgreSQL is found at `TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`,
//! the maintenance database used to create and drop test databases). Set it to `skip` to run
//! the SQLite half only; the skipped tests then say so on stderr.
#![allow(dead_code)]

pub mod big;
pub mod browser;
pub mod http;
pub mod tamper;

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
    /// A fresh rehearsal store (`suiji init --rehearsal`): most tests replay a past year on a
    /// simulated clock, which only a rehearsal store accepts. `None` when PostgreSQL tests are
    /// explicitly skipped.
    pub fn new(backend: Backend) -> Option<TestDb> {
        let db = TestDb::empty(backend)?;
        assert_ok(
            &db.suiji(&["init", "--rehearsal"]),
            &["init", "--rehearsal"],
        );
        Some(db)
    }

    /// A fresh production store: it records only on the real clock and delivers mail.
    pub fn production(backend: Backend) -> Option<TestDb> {
        let db = TestDb::empty(backend)?;
        assert_ok(&db.suiji(&["init"]), &["init"]);
        Some(db)
    }

    /// A database nothing has been written into yet (not even its mode).
    pub fn empty(backend: Backend) -> Option<TestDb> {
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

impl TestDb {
    /// The first column of a query's rows, as text, read behind suiji's back.
    pub fn query_strings(&self, sql: &str) -> Vec<String> {
        runtime().block_on(async {
            use sqlx::Row;
            sqlx::any::install_default_drivers();
            let mut c = AnyConnection::connect(&self.url).await.expect("connect");
            let rows = sqlx::query(AssertSqlSafe(sql.to_string()))
                .fetch_all(&mut c)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
            c.close().await.ok();
            rows.iter()
                .map(|r| r.try_get::<String, _>(0).expect("text column"))
                .collect()
        })
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

/// Runs a story once per backend, on a rehearsal store (`TestDb::new`) or, given `production`,
/// on a production one.
#[macro_export]
macro_rules! on_both_backends {
    ($story:ident) => {
        on_both_backends!($story, new);
    };
    ($story:ident, $make:ident) => {
        mod $story {
            use super::*;
            #[test]
            fn sqlite() {
                if let Some(db) = common::TestDb::$make(common::Backend::Sqlite) {
                    super::$story(&db);
                }
            }
            #[test]
            fn postgres() {
                if let Some(db) = common::TestDb::$make(common::Backend::Postgres) {
                    super::$story(&db);
                }
            }
        }
    };
}

/// Runs `suiji --today DAY ARGS --json`, which must succeed. DAY may carry a time of day
/// ("2024-05-16 21:30").
pub fn on(db: &TestDb, day: &str, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["--today", day];
    all.extend_from_slice(args);
    all.push("--json");
    db.json(&all)
}

/// Runs `suiji --today DAY ARGS`, which must be refused (exit 2); returns the message.
pub fn refused(db: &TestDb, day: &str, args: &[&str]) -> String {
    let mut all = vec!["--today", day];
    all.extend_from_slice(args);
    let out = db.suiji(&all);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{args:?} was not refused:\nstdout:\n{}\nstderr:\n{}",
        stdout(&out),
        stderr(&out)
    );
    stderr(&out)
}

/// Runs `tools/verify_draw.py DIR` when Python with `consistent-sampler` and `drand-verify` is
/// at hand (VERIFY_PYTHON, default python3): its exit code and last line. CI sets
/// REQUIRE_PYTHON_VERIFIER=1 so that it can never be skipped there.
pub fn python_verifier(dir: &Path) -> Option<(i32, String)> {
    let python = python()?;
    let out = Command::new(&python)
        .arg(repo("tools/verify_draw.py"))
        .arg(dir)
        .output()
        .expect("python");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let last = text.lines().last().unwrap_or("").trim().to_string();
    Some((out.status.code().unwrap_or(-1), last))
}

/// The Python with `consistent-sampler`, `drand-verify` and `openpyxl` (VERIFY_PYTHON, default
/// python3), or None when it lacks them (never when REQUIRE_PYTHON_VERIFIER is set).
pub fn python() -> Option<String> {
    let python = std::env::var("VERIFY_PYTHON").unwrap_or_else(|_| "python3".into());
    let has_modules = Command::new(&python)
        .args(["-c", "import consistent_sampler, drand_verify, openpyxl"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_modules {
        assert!(
            std::env::var("REQUIRE_PYTHON_VERIFIER").is_err(),
            "REQUIRE_PYTHON_VERIFIER is set but {python} lacks consistent_sampler, drand_verify or openpyxl"
        );
        eprintln!(
            "SKIPPED: Python checks ({python} lacks consistent_sampler/drand_verify/openpyxl)"
        );
        return None;
    }
    Some(python)
}

/// Asserts the Python verifier (when present) accepts DIR.
pub fn python_accepts(dir: &Path) {
    if let Some((code, last)) = python_verifier(dir) {
        assert_eq!((code, last.as_str()), (0, "verified"), "{}", dir.display());
    }
}

/// Asserts the Python verifier (when present) rejects DIR; returns its last line.
pub fn python_rejects(dir: &Path) -> Option<String> {
    python_verifier(dir).map(|(code, last)| {
        assert_eq!(
            code,
            1,
            "the Python verifier accepted {}: {last}",
            dir.display()
        );
        assert!(last.starts_with("NOT verified"), "{last}");
        last
    })
}

/// Runs the Python verifier (when present) on DIR with more arguments (`--witness FILE`,
/// `--since OLD`) and asserts whether it accepts.
pub fn python_witness(dir: &Path, extra: &[&str], accepts: bool) {
    let Some(python) = python() else {
        return;
    };
    let out = Command::new(&python)
        .arg(repo("tools/verify_draw.py"))
        .arg(dir)
        .args(extra)
        .output()
        .expect("python");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code() == Some(0),
        accepts,
        "verify_draw.py {} {extra:?}:\n{text}{}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Copies a folder and everything in it to `to`.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read dir") {
        let e = e.expect("entry");
        if e.path().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).expect("copy");
        }
    }
}

/// A loopback SMTP server (`tools/smtp_sink.py`, over PyPI aiosmtpd) writing what it receives
/// into a folder. `None` when Python lacks aiosmtpd and it is not required (CI requires it).
pub struct Sink {
    pub dir: PathBuf,
    pub port: u16,
    /// The sink's options (`--tls`, `--auth`, …: see `tools/smtp_sink.py`).
    args: Vec<String>,
    child: Option<std::process::Child>,
}

impl Sink {
    pub fn start(dir: &Path) -> Option<Sink> {
        Sink::start_with(dir, &[])
    }

    pub fn start_with(dir: &Path, args: &[&str]) -> Option<Sink> {
        let python = std::env::var("VERIFY_PYTHON").unwrap_or_else(|_| "python3".into());
        let has = Command::new(&python)
            .args(["-c", "import aiosmtpd"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !has {
            assert!(
                std::env::var("REQUIRE_PYTHON_VERIFIER").is_err(),
                "REQUIRE_PYTHON_VERIFIER is set but {python} has no aiosmtpd"
            );
            eprintln!("SKIPPED: SMTP tests ({python} has no aiosmtpd)");
            return None;
        }
        // A port found free may be taken again before the sink binds it (tests run in
        // parallel): another port is tried.
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map(|a| a.port())
                .expect("a free port");
            let mut sink = Sink {
                dir: dir.to_path_buf(),
                port,
                args: args.iter().map(|a| a.to_string()).collect(),
                child: None,
            };
            if sink.listen() {
                return Some(sink);
            }
        }
        panic!("the SMTP sink did not start on any of 5 ports");
    }

    /// Starts (again) listening on the same port.
    pub fn up(&mut self) {
        assert!(self.listen(), "the SMTP sink did not start");
    }

    fn listen(&mut self) -> bool {
        use std::io::BufRead;
        let python = std::env::var("VERIFY_PYTHON").unwrap_or_else(|_| "python3".into());
        let mut child = Command::new(python)
            .arg(repo("tools/smtp_sink.py"))
            .arg(&self.dir)
            .arg(self.port.to_string())
            .args(&self.args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("smtp sink");
        let out = child.stdout.take().expect("stdout");
        let ready = std::io::BufReader::new(out)
            .lines()
            .map_while(Result::ok)
            .any(|l| l.trim() == "ready");
        if !ready {
            let _ = child.kill();
            let _ = child.wait();
            return false;
        }
        self.child = Some(child);
        true
    }

    /// Stops listening (connections are refused until `up`).
    pub fn down(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Every message received so far: (envelope recipients, raw bytes), in arrival order.
    pub fn messages(&self) -> Vec<(Vec<String>, Vec<u8>)> {
        let mut names: Vec<String> = std::fs::read_dir(&self.dir)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.ends_with(".eml"))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
            .iter()
            .map(|n| {
                let raw = std::fs::read(self.dir.join(n)).expect("eml");
                let env: serde_json::Value = serde_json::from_slice(
                    &std::fs::read(self.dir.join(n.replace(".eml", ".json"))).expect("envelope"),
                )
                .expect("json");
                let to = env["to"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default();
                (to, raw)
            })
            .collect()
    }

    /// What happened in the sink's sessions (`connect`, `starttls`, `auth ok …`, `auth fail
    /// …`, `quit`), in order.
    pub fn sessions(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.join("sessions.log"))
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    }

    /// The configuration that sends to this sink.
    pub fn config(&self) -> String {
        format!(
            "[smtp]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\ntimeout_secs = 5\n",
            self.port
        )
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.down();
    }
}

/// The Henan 2024 plan with the draw proposing no dates: every task starts unscheduled, for
/// stories about scheduling by hand.
/// The 2024 plan (without proposed dates) frozen on 13 May and drawn on the evening of 16 May
/// with the lottery digits of the demo, on the registry already imported.
pub fn freeze_and_draw(db: &TestDb) {
    freeze_and_draw_at(db, "2024-05-13 09:00");
}

/// The same, frozen at `frozen`; returns the plan's path.
pub fn freeze_and_draw_at(db: &TestDb, frozen: &str) -> String {
    freeze_and_draw_with(db, frozen, &[])
}

/// The same, with global options (`--config FILE`) before each command.
pub fn freeze_and_draw_with(db: &TestDb, frozen: &str, global: &[&str]) -> String {
    let plan = plan_without_proposals(db.path());
    draw_plan(db, &plan, (frozen, "2024-05-16 21:30"), global);
    plan
}

/// Freezes `plan` (a path) on the first day and draws it officially on the second, with the
/// lottery digits `03071218253109`, `global` options before each command.
pub fn draw_plan(db: &TestDb, plan: &str, (frozen, drawn): (&str, &str), global: &[&str]) {
    fn with<'a>(global: &[&'a str], args: &[&'a str]) -> Vec<&'a str> {
        [global, args].concat()
    }
    on(db, frozen, &with(global, &["freeze", "--plan", plan]));
    let draw = [
        "draw",
        "--plan",
        plan,
        "--official",
        "--seed-value",
        "03071218253109",
    ];
    on(db, drawn, &with(global, &draw));
}

/// Voids the official draw on 17 May 2024, the digits having been entered wrong.
pub fn void_draw(db: &TestDb, plan: &str, global: &[&str]) {
    let void = [
        "draw",
        "--plan",
        plan,
        "--void",
        "--reason",
        "开奖号码录入错误",
    ];
    on(db, "2024-05-17 09:00", &[global, &void].concat());
}

pub fn plan_without_proposals(dir: &Path) -> String {
    let text = std::fs::read_to_string(repo("rules/henan-2024.rhai")).expect("plan");
    assert!(text.contains("propose_dates: true"));
    let path = dir.join("henan-2024-unscheduled.rhai");
    std::fs::write(
        &path,
        text.replace("propose_dates: true", "propose_dates: false"),
    )
    .expect("write plan");
    path.display().to_string()
}

/// A copy of `plan` (a path) whose seed is the 双色球 of `day` (YYYY-MM-DD, drawn at 21:15):
/// what an admin announces after a void, since a redraw needs a seed that did not exist then.
pub fn reseeded(plan: &str, dir: &Path, day: &str) -> String {
    let text = std::fs::read_to_string(plan).expect("plan");
    let old = ("2024-05-16 21:15", "2024年5月16日");
    assert!(
        text.contains(old.0) && text.contains(old.1),
        "{plan}: the 16 May seed"
    );
    let (y, m, d) = (&day[..4], &day[5..7], &day[8..10]);
    let spoken = format!(
        "{y}年{}月{}日",
        m.trim_start_matches('0'),
        d.trim_start_matches('0')
    );
    let path = dir.join(format!("reseeded-{day}.rhai"));
    let draw_cron = format!(
        "draw: \"0 30 21 {} {} *\"",
        d.trim_start_matches('0'),
        m.trim_start_matches('0')
    );
    assert!(
        text.contains("draw: \"0 30 21 16 5 *\""),
        "{plan}: the draw's schedule"
    );
    std::fs::write(
        &path,
        text.replace(old.0, &format!("{day} 21:15"))
            .replace(old.1, &spoken)
            .replace("draw: \"0 30 21 16 5 *\"", &draw_cron),
    )
    .expect("write plan");
    path.display().to_string()
}

/// The demo registry imported file by file, as a department imports its own: `demo run` makes
/// a rehearsal store, so a production store is filled this way.
pub fn import_registry(db: &TestDb, dir: &Path) {
    for kind in ["bureaus", "items", "entities", "officers", "conflicts"] {
        let file = dir.join(format!("{kind}.csv"));
        db.json(&["import", kind, file.to_str().expect("utf-8"), "--json"]);
    }
}

/// The Henan plan moved to the real present, for a production store (which records only on
/// the real clock): this year, its window from today to 31 December, its seed public
/// `lead_secs` seconds from now. Returns the plan's path, that moment as the plan states it,
/// and a configuration layer whose calendar folder holds working-day data for this year and
/// next (no holidays) wherever the shipped data stops, so the test runs in any year.
pub fn live_plan(
    db: &TestDb,
    lead_secs: i64,
) -> (String, chrono::DateTime<chrono::FixedOffset>, String) {
    use chrono::Datelike;
    let beijing = chrono::FixedOffset::east_opt(8 * 3600).expect("+08:00");
    let now = chrono::Utc::now().with_timezone(&beijing);
    let available = now + chrono::Duration::seconds(lead_secs);
    let year = now.year();
    let text = std::fs::read_to_string(repo("rules/henan-2024.rhai")).expect("plan");
    let text = text
        .replace("year: 2024,", &format!("year: {year},"))
        .replace("2024年度", &format!("{year}年度"))
        .replace(
            "window: #{ start: \"2024-05-20\", end: \"2024-12-31\" }",
            &format!(
                "window: #{{ start: \"{}\", end: \"{year}-12-31\" }}",
                now.date_naive()
            ),
        )
        .replace(
            "available_at: \"2024-05-16 21:15\"",
            &format!(
                "available_at: \"{}\"",
                available.format("%Y-%m-%d %H:%M:%S")
            ),
        )
        .replace("freeze: \"0 0 9 13 5 *\"", "freeze: \"0 0 1 1 1 *\"")
        .replace(
            "draw: \"0 30 21 16 5 *\"",
            &format!("draw: \"{} *\"", available.format("%-S %-M %-H %-d %-m")),
        );
    let path = db.path().join("live.rhai");
    std::fs::write(&path, text).expect("write plan");
    let calendar = db.path().join("calendar");
    std::fs::create_dir_all(&calendar).expect("calendar dir");
    for y in [year, year + 1] {
        if !repo(&format!("rules/calendar/{y}.toml")).exists() {
            std::fs::write(
                calendar.join(format!("{y}.toml")),
                format!(
                    "year = {y}\nnotice = \"test data: no holidays\"\nurl = \"https://example.gov.cn/\"\n\
                     holidays = []\nworkdays = []\n"
                ),
            )
            .expect("calendar");
        }
    }
    let layer = format!("[calendar]\ndir = \"{}\"\n", calendar.display());
    (path.display().to_string(), available, layer)
}

/// Waits until `t` has passed on the real clock.
pub fn wait_until(t: chrono::DateTime<chrono::FixedOffset>) {
    let left = t.signed_duration_since(chrono::Utc::now());
    if let Ok(d) = (left + chrono::Duration::milliseconds(50)).to_std() {
        std::thread::sleep(d);
    }
}

/// Every `.eml` a rehearsal wrote into `data/mail/`: (its To and Cc addresses, raw bytes), by
/// name.
pub fn written_mail(db: &TestDb) -> Vec<(Vec<String>, Vec<u8>)> {
    let dir = db.path().join("data/mail");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    names.retain(|p| p.extension().is_some_and(|e| e == "eml"));
    names.sort();
    names
        .iter()
        .map(|p| {
            use mailparse::MailHeaderMap;
            let raw = std::fs::read(p).expect("eml");
            let parsed = mailparse::parse_mail(&raw).expect("a MIME message");
            let mut heads = parsed.headers.get_all_values("To");
            heads.extend(parsed.headers.get_all_values("Cc"));
            let to = heads
                .iter()
                .flat_map(|v| v.split(','))
                .map(|a| {
                    let a = a.trim();
                    a.rsplit_once('<')
                        .map_or(a, |(_, r)| r.trim_end_matches('>'))
                        .to_string()
                })
                .filter(|a| !a.is_empty())
                .collect();
            (to, raw)
        })
        .collect()
}

/// How many trials a crash test runs: `SUIJI_CRASH_TRIALS`, or 3 (`tools/crash-trials.sh`
/// asks for 100).
pub fn crash_trials() -> u64 {
    std::env::var("SUIJI_CRASH_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
}

/// A small generator for random kill moments, seeded by the test process.
pub struct Moments(u64);

impl Moments {
    pub fn new() -> Moments {
        Moments(0x5EED_u64 ^ u64::from(std::process::id()))
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n.max(1)
    }
}

/// Certificates for the TLS tests (`tools/test_ca.sh`): a private CA, a server certificate it
/// signed for 127.0.0.1, one for another name, and a self-signed one.
pub fn test_ca(db: &TestDb) -> PathBuf {
    let dir = db.path().join("ca");
    let out = std::process::Command::new("sh")
        .arg(repo("tools/test_ca.sh"))
        .arg(&dir)
        .output()
        .expect("test_ca.sh");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}
