//! Notices: queue 10,000 (`BENCH_NOTICES`) 函告-sized letters with a CSV attachment into the
//! outbox on SQLite, then deliver them all to a loopback SMTP server (`tools/smtp_sink.py`,
//! aiosmtpd; or a private Postfix with `BENCH_MTA=postfix`, root only) through suiji's sessions
//! (`BENCH_SESSIONS`). A plain Python `smtplib` loop sends the same messages, byte for byte, to
//! the same server once before and once after, each on a drained server. Prints messages per
//! second, CPU per message, the ratio, and the process's peak memory. Needs Python with
//! aiosmtpd (`BENCH_PYTHON`, default python3).

use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::Instant;

use suiji::clock::SystemClock;
use suiji::config::{DatabaseUrl, Settings};
use suiji::notify::{Attachment, Kind, Mailbox, Notice};
use suiji::store::Store;

fn n() -> usize {
    std::env::var("BENCH_NOTICES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse::<f64>().ok())
        })
        .unwrap_or(0.0)
        / 1024.0
}

/// CPU seconds (user + system) this process has used so far, from /proc (clock ticks of 10 ms).
fn cpu_secs() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // Fields after the command name, which is in parentheses and may hold spaces.
            let rest = s.rsplit_once(')')?.1.split_whitespace().collect::<Vec<_>>();
            let ticks = |i: usize| rest.get(i).and_then(|v| v.parse::<f64>().ok());
            Some((ticks(11)? + ticks(12)?) / 100.0)
        })
        .unwrap_or(0.0)
}

/// CPU seconds each of this process's threads has used so far, by thread name.
fn cpu_by_thread() -> std::collections::BTreeMap<String, f64> {
    let mut out = std::collections::BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for t in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(t.path().join("stat")) else {
            continue;
        };
        let Some((head, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let name = head.split_once('(').map_or("?", |x| x.1).to_string();
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        *out.entry(name).or_insert(0.0) += (ticks(11) + ticks(12)) / 100.0;
    }
    out
}

fn notice(i: usize) -> Notice {
    let text = format!(
        "郑州市应急管理局：\n\n根据抽查计划，我厅将对你市以下单位开展安全生产监管执法检查（第{i}号）。\n{}\n",
        "检查对象名单详见附件。".repeat(20)
    );
    let csv = suiji::sheet::csv(
        &["序号", "单位名称", "统一社会信用代码"],
        &[vec![
            "1".into(),
            format!("某某化工有限公司{i}"),
            "91410100MA0000000X".into(),
        ]],
    );
    Notice {
        key: format!("bench/{i}"),
        kind: Kind::AdvanceNotice,
        to: vec![Mailbox {
            name: "郑州市应急管理局".into(),
            email: format!("bureau{}@example.gov.cn", i % 18),
        }],
        cc: Vec::new(),
        subject: format!("关于开展安全生产监管执法检查的函（第{i}号）"),
        html: format!("<p>{}</p>", text.replace('\n', "<br>")),
        text,
        attachments: vec![Attachment {
            name: "检查对象名单.csv".into(),
            ascii_name: format!("list-{i}.csv"),
            content_type: "text/csv; charset=utf-8".into(),
            data: csv,
        }],
        items: vec![format!("bench/{i}")],
        late: false,
    }
}

/// The SMTP server both clients send to: aiosmtpd (default) or a private Postfix
/// (`BENCH_MTA=postfix`, `tools/postfix_loopback.sh`; needs root and Debian's postfix).
struct Server {
    port: u16,
    dir: std::path::PathBuf,
    child: Option<std::process::Child>,
    postfix: bool,
}

impl Server {
    fn start(dir: &std::path::Path, python: &str) -> anyhow::Result<Server> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let postfix = std::env::var("BENCH_MTA").is_ok_and(|m| m == "postfix");
        let mut cmd = if postfix {
            let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tools/postfix_loopback.sh");
            // `BENCH_MTA_CPUS=1`: the MTA on its own CPUs, as on a relay of its own (with the
            // bench itself under `taskset -c 0`), so the clients do not compete with it.
            let mut c = match std::env::var("BENCH_MTA_CPUS") {
                Ok(cpus) => {
                    let mut c = Command::new("taskset");
                    c.arg("-c").arg(cpus).arg(script);
                    c
                }
                Err(_) => Command::new(script),
            };
            c.arg("start").arg(dir).arg(port.to_string());
            c
        } else {
            let mut c = Command::new(python);
            c.arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tools/smtp_sink.py"))
                .arg(dir)
                .arg(port.to_string());
            c
        };
        let mut child = cmd.stdout(Stdio::piped()).spawn()?;
        let out = child
            .stdout
            .take()
            .ok_or_else(|| anyhow::anyhow!("server stdout"))?;
        anyhow::ensure!(
            std::io::BufReader::new(out)
                .lines()
                .map_while(Result::ok)
                .any(|l| l.trim() == "ready"),
            "the SMTP server did not start ({python} needs aiosmtpd; BENCH_MTA=postfix needs postfix and root)"
        );
        let child = if postfix {
            child.wait()?;
            None
        } else {
            Some(child)
        };
        Ok(Server {
            port,
            dir: dir.to_path_buf(),
            child,
            postfix,
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
        if self.postfix {
            let _ = Command::new(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tools/postfix_loopback.sh"
            ))
            .arg("stop")
            .arg(&self.dir)
            .status();
        }
    }
}

/// `BENCH_RTT_MS`: a relay across a network, `tools/latency_proxy.py` in front of the server
/// adding half the round-trip time each way; both clients go through it.
struct Proxy(std::process::Child);

impl Proxy {
    fn start(python: &str, target: u16, rtt_ms: f64) -> anyhow::Result<(Proxy, u16)> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let mut child = Command::new(python)
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tools/latency_proxy.py"
            ))
            .arg(port.to_string())
            .arg(target.to_string())
            .arg((rtt_ms / 2.0).to_string())
            .stdout(Stdio::piped())
            .spawn()?;
        let out = child
            .stdout
            .take()
            .ok_or_else(|| anyhow::anyhow!("proxy stdout"))?;
        let mut proxy = Proxy(child);
        let ready = std::io::BufReader::new(out)
            .lines()
            .map_while(Result::ok)
            .any(|l| l.trim() == "ready");
        if !ready {
            let _ = proxy.0.kill();
            anyhow::bail!("the latency proxy did not start");
        }
        Ok((proxy, port))
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until the server has nothing left from the previous client (Postfix's queue drained),
/// so that neither client is timed while the server still works for the other.
fn settle(server: &Server) -> anyhow::Result<()> {
    if !server.postfix {
        return Ok(());
    }
    let conf = server.dir.join("etc");
    for _ in 0..600 {
        let out = Command::new("postqueue")
            .arg("-c")
            .arg(&conf)
            .arg("-p")
            .output()?;
        if String::from_utf8_lossy(&out.stdout).contains("Mail queue is empty") {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    anyhow::bail!("Postfix's queue did not drain in 60 s")
}

/// One run of the smtplib loop over the `.eml` files: messages per second and CPU µs each.
fn smtplib(
    python: &str,
    server: &Server,
    port: u16,
    emls: &std::path::Path,
) -> anyhow::Result<(f64, f64)> {
    settle(server)?;
    let out = Command::new(python)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tools/smtplib_bench.py"
        ))
        .arg("127.0.0.1")
        .arg(port.to_string())
        .arg(emls)
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "smtplib_bench.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    Ok((
        v["per_second"].as_f64().unwrap_or(0.0),
        v["cpu_us_per_message"].as_f64().unwrap_or(0.0),
    ))
}

fn main() -> anyhow::Result<()> {
    let n_notices = n();
    let dir = tempfile::tempdir()?;
    let python = std::env::var("BENCH_PYTHON").unwrap_or_else(|_| "python3".into());
    let server = Server::start(&dir.path().join("server"), &python)?;
    let rtt: Option<f64> = std::env::var("BENCH_RTT_MS")
        .ok()
        .and_then(|v| v.parse().ok());
    let (_proxy, port) = match rtt {
        Some(ms) => {
            let (p, port) = Proxy::start(&python, server.port, ms)?;
            (Some(p), port)
        }
        None => (None, server.port),
    };
    let mut settings = Settings::shipped()?;
    settings.database.url =
        DatabaseUrl::new(format!("sqlite://{}", dir.path().join("b.db").display()));
    settings.smtp.host = "127.0.0.1".into();
    settings.smtp.port = port;
    settings.smtp.tls = "none".into();
    if let Some(n) = std::env::var("BENCH_SESSIONS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        settings.notify.sessions = n;
    }
    let emls = dir.path().join("eml");
    std::fs::create_dir_all(&emls)?;
    let rt = tokio::runtime::Runtime::new()?;
    let store = rt.block_on(Store::open(&settings.database.url, &settings.database))?;
    let t = Instant::now();
    for start in (0..n_notices).step_by(1000) {
        let chunk: Vec<Notice> = (start..(start + 1000).min(n_notices)).map(notice).collect();
        rt.block_on(store.queue_notices(&chunk, &SystemClock))?;
    }
    let queued = t.elapsed();
    // The same messages, byte for byte, for the smtplib loop.
    for row in rt.block_on(store.outbox(Some("pending")))? {
        let attachments = rt.block_on(store.outbox_attachments(&[row.id]))?;
        let files = attachments.get(&row.id).map_or(&[][..], Vec::as_slice);
        let m = suiji::notify::send::build(&row, files, &settings.smtp.from)
            .map_err(anyhow::Error::msg)?;
        std::fs::write(emls.join(format!("{:06}.eml", row.id)), m.formatted())?;
    }
    // smtplib before and after suiji, each on a drained server: neither gains from going first.
    let before = smtplib(&python, &server, port, &emls)?;
    settle(&server)?;
    let transport =
        suiji::notify::send::Transport::from_settings(&settings, suiji::store::Mode::Production)?;
    let t = Instant::now();
    let cpu = cpu_secs();
    let threads = cpu_by_thread();
    let (done, _) = rt.block_on(suiji::notify::send::deliver(
        &store,
        &settings,
        &transport,
        &SystemClock,
        n_notices as i64,
    ))?;
    let sent = t.elapsed();
    let cpu = cpu_secs() - cpu;
    let per_thread: Vec<String> = cpu_by_thread()
        .into_iter()
        .map(|(name, secs)| {
            (
                name.clone(),
                secs - threads.get(&name).copied().unwrap_or(0.0),
            )
        })
        .filter(|(_, secs)| *secs > 0.0)
        .map(|(name, secs)| format!("{name} {:.0}", secs * 1e6 / n_notices.max(1) as f64))
        .collect();
    anyhow::ensure!(
        done.sent == n_notices,
        "sent {} of {n_notices}: {done:?}",
        done.sent
    );
    rt.block_on(store.close());
    let after = smtplib(&python, &server, port, &emls)?;
    let rate = done.sent as f64 / sent.as_secs_f64();
    println!(
        "queued {n_notices} notices in {:.2} s ({:.0}/s); suiji delivered {} to {} on loopback{} \
         in {:.2} s: {rate:.0} messages/s ({} sessions), {:.0} µs of CPU per message ({}); \
         peak RSS {:.1} MB",
        queued.as_secs_f64(),
        n_notices as f64 / queued.as_secs_f64(),
        done.sent,
        if server.postfix {
            "Postfix"
        } else {
            "aiosmtpd"
        },
        rtt.map(|ms| format!(" with {ms} ms round trips"))
            .unwrap_or_default(),
        sent.as_secs_f64(),
        settings.notify.sessions,
        cpu * 1e6 / done.sent.max(1) as f64,
        per_thread.join(", "),
        peak_rss_mb()
    );
    let smtplib_rate = (before.0 + after.0) / 2.0;
    println!(
        "smtplib (Python, one connection) sent the same {n_notices} messages to the same server \
         before and after: {:.0} and {:.0} messages/s, {:.0} and {:.0} µs of CPU per message; \
         suiji / smtplib (their mean) = {:.2}",
        before.0,
        after.0,
        before.1,
        after.1,
        rate / smtplib_rate
    );
    Ok(())
}
