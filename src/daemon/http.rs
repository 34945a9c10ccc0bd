//! The daemon's optional loopback HTTP endpoint: `/healthz` and `/metrics` (Prometheus text
//! format). Plain HTTP/1.1 GET, one response per connection, nothing else served.

use std::fmt::Write as _;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::DaemonError;
use super::runner::SharedMetrics;
use crate::clock::{Clock, SystemClock};
use crate::store::Store;

/// Binds the configured address; only loopback addresses are accepted.
pub async fn bind(addr: &str) -> Result<TcpListener, DaemonError> {
    let parsed: SocketAddr = addr.parse().map_err(|_| {
        DaemonError::Invalid(format!(
            "daemon.http `{}` is not an address such as 127.0.0.1:9187",
            crate::text::quote(addr)
        ))
    })?;
    if !parsed.ip().is_loopback() {
        return Err(DaemonError::Invalid(format!(
            "daemon.http {parsed}: only a loopback address is allowed (put a proxy in front to \
             expose it)"
        )));
    }
    TcpListener::bind(parsed)
        .await
        .map_err(|e| DaemonError::Setup(format!("daemon.http {parsed}: {e}")))
}

pub async fn run(listener: TcpListener, store: Store, metrics: SharedMetrics) {
    loop {
        let Ok((mut conn, _)) = listener.accept().await else {
            continue;
        };
        let store = store.clone();
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 1024];
            let n =
                match tokio::time::timeout(std::time::Duration::from_secs(5), conn.read(&mut buf))
                    .await
                {
                    Ok(Ok(n)) => n,
                    _ => return,
                };
            let head = String::from_utf8_lossy(&buf[..n]);
            let path = head.split_whitespace().nth(1).unwrap_or("");
            let (status, body) = match path {
                "/healthz" => health(&store, &metrics).await,
                "/metrics" => ("200 OK", render(&store, &metrics).await),
                _ => ("404 Not Found", "not found\n".to_string()),
            };
            let response = format!(
                "HTTP/1.1 {status}\r\ncontent-type: text/plain; version=0.0.4; charset=utf-8\r\n\
                 content-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = conn.write_all(response.as_bytes()).await;
        });
    }
}

/// Healthy while the database answers (a daemon that cannot reach it runs nothing, however
/// alive the process), the leader keeps looking at its jobs, and no notice due a minute ago or
/// more is still waiting (a relay that accepts and hangs, or refuses everything).
async fn health(store: &Store, metrics: &SharedMetrics) -> (&'static str, String) {
    let unavailable = "503 Service Unavailable";
    let ping = tokio::time::timeout(std::time::Duration::from_secs(3), store.ping());
    match ping.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return (unavailable, format!("database unavailable: {e}\n")),
        Err(_) => {
            return (
                unavailable,
                "database unavailable: no answer within 3 s\n".to_string(),
            );
        }
    }
    let mut problems = Vec::new();
    if let Ok(m) = metrics.lock()
        && m.leader
        && m.looked.is_some_and(|t| t.elapsed() > m.look_within)
    {
        problems.push(format!(
            "jobs: not looked at for {} s (the loop is stuck)",
            m.looked.map_or(0, |t| t.elapsed().as_secs())
        ));
    }
    let before = crate::clock::stamp(SystemClock.now() - chrono::Duration::seconds(60));
    match store.outbox_stuck(&before).await {
        Ok((0, _)) => {}
        Ok((n, since)) => problems.push(format!(
            "mail: {n} notice(s) due and not delivered, the oldest since {}",
            since.unwrap_or_default()
        )),
        Err(e) => problems.push(format!("mail: {e}")),
    }
    if let Ok(Some(r)) = store.relay_state().await
        && let (Some(since), Some(e)) = (r.failing_since, r.last_error)
    {
        problems.push(format!("mail: failing since {since}: {e}"));
    }
    if problems.is_empty() {
        ("200 OK", "ok\n".to_string())
    } else {
        (unavailable, format!("{}\n", problems.join("\n")))
    }
}

async fn render(store: &Store, metrics: &SharedMetrics) -> String {
    let mut out = String::new();
    // Read from the database: while it does not answer, these are left out (a gauge that
    // reads -1 would be taken for a value) and suiji_database_up says why.
    let overdue = store.overdue_count(SystemClock.today()).await.ok();
    let outbox = store.outbox_counts().await.ok();
    let _ = writeln!(
        out,
        "# HELP suiji_job_runs_total Job runs by job and how they ended."
    );
    let _ = writeln!(out, "# TYPE suiji_job_runs_total counter");
    if let Ok(m) = metrics.lock() {
        for ((job, status), n) in &m.runs {
            let _ = writeln!(
                out,
                "suiji_job_runs_total{{job=\"{}\",status=\"{status}\"}} {n}",
                job.name()
            );
        }
        let _ = writeln!(out, "# HELP suiji_job_failures_total Failed job runs.");
        let _ = writeln!(out, "# TYPE suiji_job_failures_total counter");
        for ((job, status), n) in &m.runs {
            if status == "failed" {
                let _ = writeln!(
                    out,
                    "suiji_job_failures_total{{job=\"{}\"}} {n}",
                    job.name()
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP suiji_job_seconds_total Time spent running jobs."
        );
        let _ = writeln!(out, "# TYPE suiji_job_seconds_total counter");
        for (job, s) in &m.seconds {
            let _ = writeln!(
                out,
                "suiji_job_seconds_total{{job=\"{}\"}} {s:.3}",
                job.name()
            );
        }
        let _ = writeln!(out, "# HELP suiji_leader 1 if this instance runs the jobs.");
        let _ = writeln!(out, "# TYPE suiji_leader gauge");
        let _ = writeln!(out, "suiji_leader {}", u8::from(m.leader));
        let _ = writeln!(
            out,
            "# HELP suiji_rule_reloads_refused_total Rule scripts refused."
        );
        let _ = writeln!(out, "# TYPE suiji_rule_reloads_refused_total counter");
        let _ = writeln!(
            out,
            "suiji_rule_reloads_refused_total {}",
            m.reloads_rejected
        );
    }
    let _ = writeln!(
        out,
        "# HELP suiji_database_up 1 if the database answered this scrape."
    );
    let _ = writeln!(out, "# TYPE suiji_database_up gauge");
    let _ = writeln!(out, "suiji_database_up {}", u8::from(overdue.is_some()));
    if let Some(overdue) = overdue {
        let _ = writeln!(
            out,
            "# HELP suiji_overdue_tasks Tasks with a deadline passed today."
        );
        let _ = writeln!(out, "# TYPE suiji_overdue_tasks gauge");
        let _ = writeln!(out, "suiji_overdue_tasks {overdue}");
    }
    if let Some(outbox) = outbox {
        let _ = writeln!(out, "# HELP suiji_notices Notices by delivery status.");
        let _ = writeln!(out, "# TYPE suiji_notices gauge");
        for (status, n) in outbox {
            let _ = writeln!(out, "suiji_notices{{status=\"{status}\"}} {n}");
        }
    }
    if let Ok(relay) = store.relay_state().await {
        let failing = relay.as_ref().and_then(|r| {
            let since = crate::clock::parse_time(r.failing_since.as_deref()?)?;
            let cause: String = r
                .cause
                .as_deref()
                .unwrap_or("")
                .chars()
                .filter(|c| c.is_ascii_lowercase())
                .collect();
            Some((cause, since.timestamp()))
        });
        let _ = writeln!(
            out,
            "# HELP suiji_mail_failing_since_seconds When delivery to the relay began failing \
             (unix time), by cause; absent while it delivers."
        );
        let _ = writeln!(out, "# TYPE suiji_mail_failing_since_seconds gauge");
        if let Some((cause, since)) = failing {
            let _ = writeln!(
                out,
                "suiji_mail_failing_since_seconds{{cause=\"{cause}\"}} {since}"
            );
        }
    }
    out
}
