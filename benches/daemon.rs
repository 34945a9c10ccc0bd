//! The daemon's figures, measured on the real binary: start to ready on SQLite, idle resident
//! memory and CPU (over `BENCH_IDLE_SECS`, default 60; the issue asks for 600), and the time of
//! a whole rehearsed year on the demo registry and (with `BENCH_ENTITIES`, e.g. 1000000)
//! on a generated one.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn suiji(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_suiji"));
    c.current_dir(dir)
        .env_remove("RUST_LOG")
        .env("TZ", "America/Los_Angeles");
    c
}

fn run(dir: &Path, args: &[&str]) -> anyhow::Result<Duration> {
    let t = Instant::now();
    let out = suiji(dir).args(args).output()?;
    anyhow::ensure!(
        out.status.success(),
        "suiji {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(t.elapsed())
}

/// Resident memory (kB) and CPU time (seconds) of a process, from /proc.
fn usage(pid: u32) -> anyhow::Result<(u64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let after = stat.rsplit_once(')').map(|(_, a)| a).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    let ticks: u64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
        + fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    Ok((rss, ticks as f64 / hz))
}

fn demo_dir() -> anyhow::Result<tempfile::TempDir> {
    let dir = tempfile::tempdir()?;
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    for sub in ["rules", "examples"] {
        let status = Command::new("cp")
            .arg("-r")
            .arg(repo.join(sub))
            .arg(dir.path())
            .status()?;
        anyhow::ensure!(status.success(), "copying {sub}");
    }
    Ok(dir)
}

fn main() -> anyhow::Result<()> {
    // A whole rehearsed year on the demo registry: `demo run`, the README's first command.
    let dir = demo_dir()?;
    let year = run(dir.path(), &["demo", "run"])?;
    println!(
        "rehearsed year, demo registry (3,000 entities; import + freeze + draw + 230 nightly \
         checks + 8 reports): {:.2} s",
        year.as_secs_f64()
    );
    let again = run(dir.path(), &["demo", "run"])?;
    println!(
        "the same again (nothing due, every row unchanged): {:.2} s",
        again.as_secs_f64()
    );

    // Start to ready on SQLite, five times.
    let mut starts = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let mut child = suiji(dir.path())
            .args(["serve"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        let stderr = child
            .stderr
            .take()
            .ok_or_else(|| anyhow::anyhow!("stderr"))?;
        let ready = BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .any(|l| l.contains("suiji serve ready"));
        starts.push(t.elapsed());
        anyhow::ensure!(ready, "serve never said it was ready");
        // SAFETY: SIGTERM to our own child.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        child.wait()?;
    }
    starts.sort();
    println!(
        "start to ready (SQLite, demo database): median {:.0} ms (min {:.0}, max {:.0})",
        starts[2].as_secs_f64() * 1e3,
        starts[0].as_secs_f64() * 1e3,
        starts[4].as_secs_f64() * 1e3
    );

    // Idle: ready, nothing due, for BENCH_IDLE_SECS.
    let secs: u64 = std::env::var("BENCH_IDLE_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let mut child = suiji(dir.path())
        .args(["serve"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    std::thread::sleep(Duration::from_secs(3));
    let (rss0, cpu0) = usage(child.id())?;
    let t = Instant::now();
    let mut peak = rss0;
    while t.elapsed() < Duration::from_secs(secs) {
        std::thread::sleep(Duration::from_secs(1));
        peak = peak.max(usage(child.id())?.0);
    }
    let (rss1, cpu1) = usage(child.id())?;
    let wall = t.elapsed().as_secs_f64();
    println!(
        "idle for {secs} s: RSS {:.1} MB at start, {:.1} MB at the end, {:.1} MB peak; CPU \
         {:.3} s = {:.3} %",
        rss0 as f64 / 1024.0,
        rss1 as f64 / 1024.0,
        peak as f64 / 1024.0,
        cpu1 - cpu0,
        100.0 * (cpu1 - cpu0) / wall
    );
    // SAFETY: SIGTERM to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    child.wait()?;

    // A rehearsed year on a generated registry.
    if let Some(n) = std::env::var("BENCH_ENTITIES")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        let big = demo_dir()?;
        let data = big.path().join("gen");
        let n_text = n.to_string();
        let data_text = data.display().to_string();
        run(
            big.path(),
            &[
                "demo",
                "generate",
                "--entities",
                &n_text,
                "--seed",
                "1",
                "--out",
                &data_text,
            ],
        )?;
        let t = run(big.path(), &["demo", "run", "--dir", &data_text])?;
        println!(
            "import + rehearsed year, {n} entities: {:.1} s",
            t.as_secs_f64()
        );
    }
    Ok(())
}
