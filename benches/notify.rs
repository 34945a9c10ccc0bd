//! Notices: queue 10,000 (`BENCH_NOTICES`) (each a 函告-sized letter with a CSV attachment) into the outbox on
//! SQLite, then deliver them all to a loopback SMTP server (`tools/smtp_sink.py`, aiosmtpd)
//! through the pooled transport. Prints messages per second and the process's peak memory.
//! Needs Python with aiosmtpd (`BENCH_PYTHON`, default python3).

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
            let mut c = Command::new(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tools/postfix_loopback.sh"
            ));
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

fn main() -> anyhow::Result<()> {
    let n_notices = n();
    let dir = tempfile::tempdir()?;
    let python = std::env::var("BENCH_PYTHON").unwrap_or_else(|_| "python3".into());
    let server = Server::start(&dir.path().join("server"), &python)?;
    let mut settings = Settings::shipped()?;
    settings.database.url =
        DatabaseUrl::new(format!("sqlite://{}", dir.path().join("b.db").display()));
    settings.smtp.host = "127.0.0.1".into();
    settings.smtp.port = server.port;
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
    let suiji_rate = rt.block_on(async {
        let store = Store::open(&settings.database.url, &settings.database).await?;
        let t = Instant::now();
        for start in (0..n_notices).step_by(1000) {
            let chunk: Vec<Notice> = (start..(start + 1000).min(n_notices)).map(notice).collect();
            store.queue_notices(&chunk, &SystemClock).await?;
        }
        let queued = t.elapsed();
        let transport = suiji::notify::send::Transport::from_settings(
            &settings,
            suiji::store::Mode::Production,
        )?;
        let t = Instant::now();
        let (done, _) = suiji::notify::send::deliver(
            &store,
            &settings,
            &transport,
            &SystemClock,
            n_notices as i64,
        )
        .await?;
        let sent = t.elapsed();
        anyhow::ensure!(
            done.sent == n_notices,
            "sent {} of {n_notices}: {done:?}",
            done.sent
        );
        // The same messages, byte for byte, for the smtplib loop.
        for row in store.outbox(Some("sent")).await? {
            let attachments = store.outbox_attachments(row.id).await?;
            let m = suiji::notify::send::build(&row, &attachments, &settings.smtp.from)
                .map_err(anyhow::Error::msg)?;
            std::fs::write(emls.join(format!("{:06}.eml", row.id)), m.formatted())?;
        }
        let rate = done.sent as f64 / sent.as_secs_f64();
        println!(
            "queued {n_notices} notices in {:.2} s ({:.0}/s); suiji delivered {} to {} on \
             loopback in {:.2} s: {rate:.0} messages/s ({} sessions); peak RSS {:.1} MB",
            queued.as_secs_f64(),
            n_notices as f64 / queued.as_secs_f64(),
            done.sent,
            if server.postfix {
                "Postfix"
            } else {
                "aiosmtpd"
            },
            sent.as_secs_f64(),
            settings.notify.sessions,
            peak_rss_mb()
        );
        store.close().await;
        anyhow::Ok(rate)
    })?;
    let out = Command::new(&python)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tools/smtplib_bench.py"
        ))
        .arg("127.0.0.1")
        .arg(server.port.to_string())
        .arg(&emls)
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "smtplib_bench.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let smtplib = v["per_second"].as_f64().unwrap_or(0.0);
    println!(
        "smtplib (Python, one connection) sent the same {} messages to the same server: \
         {smtplib:.0} messages/s; suiji / smtplib = {:.2}",
        v["messages"],
        suiji_rate / smtplib
    );
    Ok(())
}
