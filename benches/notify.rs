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

fn main() -> anyhow::Result<()> {
    let n_notices = n();
    let dir = tempfile::tempdir()?;
    let python = std::env::var("BENCH_PYTHON").unwrap_or_else(|_| "python3".into());
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let sink_dir = dir.path().join("sink");
    let mut sink = Command::new(&python)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tools/smtp_sink.py"))
        .arg(&sink_dir)
        .arg(port.to_string())
        .stdout(Stdio::piped())
        .spawn()?;
    let out = sink
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("sink stdout"))?;
    anyhow::ensure!(
        std::io::BufReader::new(out)
            .lines()
            .map_while(Result::ok)
            .any(|l| l.trim() == "ready"),
        "the SMTP sink did not start ({python} needs aiosmtpd)"
    );
    let mut settings = Settings::shipped()?;
    settings.database.url =
        DatabaseUrl::new(format!("sqlite://{}", dir.path().join("b.db").display()));
    settings.smtp.host = "127.0.0.1".into();
    settings.smtp.port = port;
    settings.smtp.tls = "none".into();
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
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
        let received = std::fs::read_dir(&sink_dir)?
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".eml"))
            .count();
        println!(
            "queued {n_notices} notices in {:.2} s ({:.0}/s); delivered {} to the loopback SMTP \
             server in {:.2} s: {:.0} messages/s (pooled); the server received {received}; peak \
             RSS {:.1} MB",
            queued.as_secs_f64(),
            n_notices as f64 / queued.as_secs_f64(),
            done.sent,
            sent.as_secs_f64(),
            done.sent as f64 / sent.as_secs_f64(),
            peak_rss_mb()
        );
        store.close().await;
        anyhow::Ok(())
    })?;
    let _ = sink.kill();
    let _ = sink.wait();
    Ok(())
}
