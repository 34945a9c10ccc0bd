//! The console under load on loopback: `cargo bench --bench console [-- TASKS] [SESSIONS]
//! [SECONDS]` (default 1,000,000 tasks, 50 sessions, 60 s). Fills an SQLite store through the
//! store's draw path, then serves the console from a child process (this binary again, with
//! `--serve`: the daemon's console task on its own, so that its memory is its own) while
//! SESSIONS division accounts, logged in, ask in turn for a page of their task list, a task's
//! page and the console's stylesheet (a static answer of the same server: the floor). Prints
//! each kind's latency percentiles and rate, and the server's resident memory.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use suiji::accounts::Role;
use suiji::clock::SystemClock;
use suiji::config::{DatabaseUrl, Overrides, Settings};
use suiji::ops::Ctx;
use suiji::store::Store;

mod support;

const PASSWORD: &str = "bench-password-1";

fn settings() -> anyhow::Result<Settings> {
    let mut s = Settings::load(&Overrides::default())?;
    s.console.behind_tls_proxy = false;
    Ok(s)
}

/// The child: serves the console of the store at `url` on `addr` until killed.
fn serve(url: &str, addr: &str) -> anyhow::Result<()> {
    let settings = settings()?;
    tokio::runtime::Runtime::new()?.block_on(async {
        let store = Store::open(&DatabaseUrl::new(url), &settings.database).await?;
        let console = suiji::console::Console::new(
            store,
            settings,
            suiji::console::Daemon {
                running: tokio::sync::watch::channel(Vec::new()).1,
                wake: tokio::sync::mpsc::channel(1).0,
            },
        )
        .map_err(|e| anyhow::anyhow!(e))?;
        let listener = suiji::console::bind(addr)
            .await
            .map_err(|e| anyhow::anyhow!(e))?;
        suiji::console::serve(listener, console).await;
        Ok(())
    })
}

struct Reply {
    status: u16,
    cookies: Vec<String>,
    body: String,
}

fn http(addr: &str, req: &str) -> anyhow::Result<Reply> {
    let mut s = TcpStream::connect(addr)?;
    s.write_all(req.as_bytes())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let cookies = head
        .lines()
        .filter_map(|l| l.strip_prefix("set-cookie: "))
        .filter_map(|c| c.split(';').next())
        .map(String::from)
        .collect();
    Ok(Reply {
        status,
        cookies,
        body: body.to_string(),
    })
}

fn get(addr: &str, path: &str, cookie: &str) -> anyhow::Result<Reply> {
    http(
        addr,
        &format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
        ),
    )
}

/// Logs `login` in; returns its session cookie.
fn login(addr: &str, login: &str) -> anyhow::Result<String> {
    let page = get(addr, "/login", "")?;
    let pre = page.cookies.first().cloned().unwrap_or_default();
    let at = page.body.find("name=\"csrf\" value=\"").unwrap_or(0) + 19;
    let csrf: String = page.body[at..].chars().take(64).collect();
    let body = format!("csrf={csrf}&login={login}&password={PASSWORD}");
    let r = http(
        addr,
        &format!(
            "POST /login HTTP/1.1\r\nHost: {addr}\r\nCookie: {pre}\r\nConnection: close\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    )?;
    anyhow::ensure!(r.status == 303, "login {login}: {}", r.status);
    r.cookies
        .into_iter()
        .find(|c| c.starts_with("suiji_session="))
        .ok_or_else(|| anyhow::anyhow!("no session cookie"))
}

/// The kernel's figures for a process: (current, peak) resident memory in MiB.
fn rss(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (kib("VmRSS:") / 1024.0, kib("VmHWM:") / 1024.0)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--serve") {
        return serve(&args[i + 1], &args[i + 2]);
    }
    let numbers: Vec<u64> = args.iter().skip(1).filter_map(|a| a.parse().ok()).collect();
    let n = numbers.first().copied().unwrap_or(1_000_000) as usize;
    let sessions = numbers.get(1).copied().unwrap_or(50) as usize;
    let seconds = numbers.get(2).copied().unwrap_or(60);
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("console.db").display());
    let settings = settings()?;
    let t = Instant::now();
    tokio::runtime::Runtime::new()?.block_on(async {
        let store = Store::open(&DatabaseUrl::new(&url), &settings.database).await?;
        support::fill(&store, n).await?;
        let ctx = Ctx {
            store: &store,
            settings: &settings,
            clock: &SystemClock,
            actor: "bench",
        };
        for i in 0..sessions {
            suiji::ops::accounts::add(
                &ctx,
                (&format!("div{i}"), "bench"),
                Role::Division,
                Some("hazchem"),
                Some(PASSWORD),
            )
            .await?;
        }
        store.close().await;
        anyhow::Ok(())
    })?;
    println!(
        "SQLite: {n} tasks and {sessions} division accounts written in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = std::process::Command::new(std::env::current_exe()?)
        .args(["--serve", &url, &addr])
        .stderr(std::process::Stdio::null())
        .spawn()?;
    let started = Instant::now();
    while TcpStream::connect(&addr).is_err() {
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(30),
            "the console did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let (idle_rss, _) = rss(child.id());
    let cookies: Vec<String> = (0..sessions)
        .map(|i| login(&addr, &format!("div{i}")))
        .collect::<anyhow::Result<_>>()?;
    let (logged_in_rss, _) = rss(child.id());
    // Each session's tasks: hazchem's are every third task from the second.
    let hazchem = n.div_ceil(3).saturating_sub(1).max(1);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let kinds = ["task list", "task page", "static floor"];
    let threads: Vec<_> = cookies
        .into_iter()
        .enumerate()
        .map(|(s, cookie)| {
            let addr = addr.clone();
            std::thread::spawn(move || {
                let mut times: [Vec<Duration>; 3] = Default::default();
                let mut errors = 0u64;
                let mut k = s;
                let mut x = s as u64 * 2_654_435_761 + 1;
                while Instant::now() < deadline {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let kind = k % 3;
                    k += 1;
                    let path = match kind {
                        // Mostly the first pages (what a clerk opens), sometimes deep ones.
                        0 if x.is_multiple_of(5) => format!("/tasks?page={}", x % 2000),
                        0 => format!("/tasks?page={}", x % 10),
                        1 => format!("/tasks/bench-t-{:07}", 1 + 3 * (x as usize % hazchem)),
                        _ => "/console.css".to_string(),
                    };
                    let t = Instant::now();
                    match get(&addr, &path, &cookie) {
                        Ok(r) if r.status == 200 => times[kind].push(t.elapsed()),
                        _ => errors += 1,
                    }
                }
                (times, errors)
            })
        })
        .collect();
    let mut all: [Vec<Duration>; 3] = Default::default();
    let mut errors = 0;
    let mut peak_during = 0.0f64;
    while Instant::now() < deadline {
        peak_during = peak_during.max(rss(child.id()).0);
        std::thread::sleep(Duration::from_millis(500));
    }
    for t in threads {
        let (times, e) = t.join().map_err(|_| anyhow::anyhow!("a client panicked"))?;
        errors += e;
        for (a, b) in all.iter_mut().zip(times) {
            a.extend(b);
        }
    }
    let (rss_now, hwm) = rss(child.id());
    let _ = child.kill();
    let _ = child.wait();
    println!(
        "{sessions} sessions for {seconds} s over {n} tasks ({} per division account), \
         loopback, a new connection per request:",
        n / 3
    );
    for (kind, times) in kinds.iter().zip(all.iter_mut()) {
        times.sort();
        println!(
            "  {kind:<13} {:>7} requests, {:>7.1}/s  p50 {:>7.1} ms  p90 {:>7.1} ms  p99 {:>7.1} ms  max {:>7.1} ms",
            times.len(),
            times.len() as f64 / seconds as f64,
            percentile(times, 0.5),
            percentile(times, 0.9),
            percentile(times, 0.99),
            percentile(times, 1.0),
        );
    }
    println!(
        "  errors {errors}; console process RSS: {idle_rss:.1} MiB idle, {logged_in_rss:.1} MiB \
         after the logins, {peak_during:.1} MiB highest sampled under load, {rss_now:.1} MiB at \
         the end, peak (VmHWM) {hwm:.1} MiB"
    );
    Ok(())
}
