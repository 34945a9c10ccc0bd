//! Delivery: the only code that knows SMTP (with `relay`, the session). Pending notices are
//! built into MIME messages (lettre: Chinese headers RFC 2047-encoded, a plain-text and an
//! HTML alternative, attachments with an ASCII file name beside the RFC 2231 one) and handed
//! to the transport: the relay when `smtp.host` is set, otherwise `.eml` files under
//! `<data_dir>/mail/`. A transient failure is tried again after a growing, jittered pause,
//! until `notify.max_attempts`; a permanent one (a 5xx, refused credentials, settings that do
//! not match the relay) fails the notice at once. A failure that every notice would meet (the
//! relay unreachable, its settings or credentials wrong) ends the round's attempts: the other
//! notices of the round meet it without a connection being tried for each.

use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Body, Mailbox as LMailbox, MultiPart, SinglePart};
use lettre::transport::smtp::client::AsyncSmtpConnection;
use lettre::{Address, Message};
use serde::Serialize;

use super::relay::{Cause, Failure, Mode, Relay, Steps};
use super::{Attachment, Mailbox};
use crate::clock::{Clock, stamp};
use crate::config::Settings;
use crate::store::{OutboxRow, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("smtp settings: {0}")]
    Settings(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where messages go.
pub enum Transport {
    Smtp(Box<Smtp>),
    /// `.eml` files in a folder (the embedded default: a newcomer opens the letters).
    Files(PathBuf),
}

/// An SMTP relay, its sessions kept open between messages of a round and closed with QUIT at
/// its end.
pub struct Smtp {
    pub relay: Relay,
    /// The envelope's sender (`smtp.envelope_from`, else the address of `smtp.from`).
    envelope_from: Address,
    idle: tokio::sync::Mutex<Vec<AsyncSmtpConnection>>,
}

impl Smtp {
    async fn send(&self, message: &Message) -> Result<(), Failure> {
        let bytes = message.formatted();
        let to = message.envelope().to().to_vec();
        let reused = self.idle.lock().await.pop();
        let was_reused = reused.is_some();
        let mut conn = match reused {
            Some(c) => c,
            None => self.relay.connect(&mut Steps::default()).await?,
        };
        let mut sent = self
            .relay
            .send(&mut conn, &self.envelope_from, &to, &bytes)
            .await;
        // A kept session the relay closed meanwhile: once more on a fresh one.
        if was_reused && sent.as_ref().is_err_and(|f| f.cause == Cause::Unreachable) {
            conn.abort().await;
            conn = self.relay.connect(&mut Steps::default()).await?;
            sent = self
                .relay
                .send(&mut conn, &self.envelope_from, &to, &bytes)
                .await;
        }
        match sent {
            Ok(()) => {
                self.idle.lock().await.push(conn);
                Ok(())
            }
            Err(f) => {
                conn.abort().await;
                Err(f)
            }
        }
    }

    /// Ends every kept session with QUIT.
    pub async fn close(&self) {
        let sessions: Vec<AsyncSmtpConnection> = self.idle.lock().await.drain(..).collect();
        for mut c in sessions {
            let _ = tokio::time::timeout(self.relay.timeout, c.quit()).await;
            c.abort().await;
        }
    }
}

impl Transport {
    /// SMTP when `smtp.host` is set and the store is production; `.eml` files otherwise: a
    /// rehearsal never sends real mail, whatever the configuration says.
    pub fn from_settings(
        settings: &Settings,
        mode: crate::store::Mode,
    ) -> Result<Transport, SendError> {
        let s = &settings.smtp;
        if s.host.trim().is_empty() || mode == crate::store::Mode::Rehearsal {
            return Ok(Transport::Files(settings.daemon.data_dir.join("mail")));
        }
        Ok(Transport::Smtp(Box::new(Smtp {
            relay: relay(settings)?,
            envelope_from: envelope_from(settings)?,
            idle: tokio::sync::Mutex::new(Vec::new()),
        })))
    }

    async fn deliver(&self, row: &OutboxRow, message: &Message) -> Result<(), Failure> {
        match self {
            Transport::Smtp(smtp) => smtp.send(message).await,
            Transport::Files(dir) => write_eml(dir, row, message).map_err(|e| Failure {
                cause: Cause::Unreachable,
                sentence: e,
            }),
        }
    }

    /// Ends the round: QUIT to every session kept open.
    pub async fn close(&self) {
        if let Transport::Smtp(s) = self {
            s.close().await;
        }
    }
}

/// The relay `smtp` describes (whether or not the store may use it: `mail test` probes it).
pub fn relay(settings: &Settings) -> Result<Relay, SendError> {
    let s = &settings.smtp;
    if s.host.trim().is_empty() {
        return Err(SendError::Settings(
            "smtp.host is empty: no relay is configured".into(),
        ));
    }
    let mode = Mode::parse(&s.tls).ok_or_else(|| {
        SendError::Settings(format!(
            "smtp.tls `{}`: \"starttls\", \"tls\" or \"none\"",
            crate::text::quote(&s.tls)
        ))
    })?;
    let password = s
        .resolved_password()
        .map_err(|e| SendError::Settings(e.to_string()))?;
    let credentials =
        (!s.username.is_empty()).then(|| (s.username.clone(), password.expose().to_string()));
    let loopback = s.host == "localhost"
        || s.host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if mode == Mode::None && credentials.is_some() && !loopback {
        return Err(SendError::Settings(format!(
            "smtp.tls = \"none\" would send the password for `{}` in the clear to {}: use \
             \"starttls\" or \"tls\" (\"none\" is for a relay on this machine only)",
            crate::text::quote(&s.username),
            crate::text::quote(&s.host)
        )));
    }
    let trust = crate::tls::trust("smtp.ca_file", &s.ca_file)
        .map_err(|e| SendError::Settings(e.to_string()))?;
    Ok(Relay::new(
        &s.host,
        s.port,
        mode,
        credentials,
        Duration::from_secs(s.timeout_secs.max(1)),
        trust,
    ))
}

/// What `mail test` saw.
#[derive(Debug, Serialize)]
pub struct Probe {
    pub relay: String,
    pub steps: Vec<String>,
    pub certificate: Option<crate::tls::Summary>,
    pub cause: Option<&'static str>,
    pub failure: Option<String>,
}

/// Connects to the configured relay, negotiates TLS, authenticates, sends one message to `to`
/// if given, and ends with QUIT, saying each step. Settings that cannot even be read are an
/// error; everything the relay does is in the `Probe`.
pub async fn probe(settings: &Settings, to: Option<&str>) -> Result<Probe, SendError> {
    let relay = relay(settings)?;
    let from = envelope_from(settings)?;
    let message = match to {
        Some(to) => Some(test_message(settings, to)?),
        None => None,
    };
    let mut steps = Steps::default();
    steps.say(format!(
        "trust: {} root certificates from the system's store, {} from smtp.ca_file",
        relay.trust.system, relay.trust.extra
    ));
    let outcome = async {
        let mut conn = relay.connect(&mut steps).await?;
        if let Some(m) = &message {
            let rcpt = m.envelope().to().to_vec();
            relay.send(&mut conn, &from, &rcpt, &m.formatted()).await?;
            steps.say(format!(
                "MAIL FROM <{from}>, RCPT TO {}, DATA: accepted",
                rcpt.iter()
                    .map(|a| format!("<{a}>"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let bye = conn.quit().await;
        conn.abort().await;
        steps.say(match bye {
            Ok(r) => format!("QUIT: {}", r.code()),
            Err(e) => format!("QUIT: {e}"),
        });
        Ok::<(), Failure>(())
    }
    .await;
    Ok(Probe {
        relay: format!("{}:{} ({})", relay.host, relay.port, settings.smtp.tls),
        steps: steps.lines,
        certificate: steps.certificate,
        cause: outcome.as_ref().err().map(|f| f.cause.code()),
        failure: outcome.err().map(|f| f.sentence),
    })
}

fn test_message(settings: &Settings, to: &str) -> Result<Message, SendError> {
    let bad = |what: &str, v: &str, e: String| {
        SendError::Settings(format!("{what} `{}`: {e}", crate::text::quote(v)))
    };
    let from: LMailbox = settings
        .smtp
        .from
        .parse()
        .map_err(|e| bad("smtp.from", &settings.smtp.from, format!("{e}")))?;
    let rcpt: LMailbox = to.parse().map_err(|e| bad("--to", to, format!("{e}")))?;
    let now = chrono::Utc::now().with_timezone(&chrono_tz::Asia::Shanghai);
    Message::builder()
        .from(from)
        .to(rcpt)
        .subject(format!("suiji 邮件测试 {}", now.format("%Y-%m-%d %H:%M")))
        .body(format!(
            "这是 suiji 的测试邮件（suiji mail test），发送于北京时间 {}。收到即表示通知可以送达，无需回复。\n",
            now.format("%Y-%m-%d %H:%M:%S")
        ))
        .map_err(|e| SendError::Settings(e.to_string()))
}

/// `smtp.envelope_from`, else the address in `smtp.from`.
pub fn envelope_from(settings: &Settings) -> Result<Address, SendError> {
    let s = &settings.smtp;
    if !s.envelope_from.trim().is_empty() {
        return s.envelope_from.trim().parse().map_err(|e| {
            SendError::Settings(format!(
                "smtp.envelope_from `{}`: {e}",
                crate::text::quote(&s.envelope_from)
            ))
        });
    }
    let from: LMailbox = s.from.parse().map_err(|e| {
        SendError::Settings(format!("smtp.from `{}`: {e}", crate::text::quote(&s.from)))
    })?;
    Ok(from.email)
}

/// A message as an `.eml` file, `NNNNNN-kind.eml`, written whole or not at all.
pub fn write_eml(dir: &std::path::Path, row: &OutboxRow, message: &Message) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join(format!("{:06}-{}.eml", row.id, row.kind));
    crate::publish::write_atomic(&path, &message.formatted()).map_err(|e| e.to_string())
}

/// `Content-Disposition: attachment; filename="<ascii>"; filename*0*=UTF-8''<…>; …`: clients
/// that read RFC 2231 show the Chinese name, the others the ASCII one. The encoded name is
/// cut into continuations (`filename*0*`, `filename*1*`, …, each on its own folded line, cut
/// between characters) so that no header line passes 78 characters, whatever the name.
#[derive(Debug, Clone)]
struct Disposition {
    name: String,
    ascii: String,
}

/// Encoded characters per continuation: with `filename*NN*=` and the fold, a line stays under
/// 78 characters.
const SEGMENT: usize = 54;

impl Disposition {
    fn segments(&self) -> Vec<String> {
        let mut out = vec![String::from("UTF-8''")];
        for c in self.name.chars() {
            let mut buf = [0u8; 4];
            let mut encoded = String::new();
            for b in c.encode_utf8(&mut buf).bytes() {
                if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
                    encoded.push(b as char);
                } else {
                    encoded.push_str(&format!("%{b:02X}"));
                }
            }
            if out
                .last()
                .is_some_and(|l| l.len() + encoded.len() > SEGMENT)
            {
                out.push(String::new());
            }
            if let Some(l) = out.last_mut() {
                l.push_str(&encoded);
            }
        }
        out
    }
}

impl Header for Disposition {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Content-Disposition")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Disposition {
            name: s.to_string(),
            ascii: s.to_string(),
        })
    }

    fn display(&self) -> HeaderValue {
        let ascii: String = self
            .ascii
            .chars()
            .filter(|c| c.is_ascii_graphic() && *c != '"' && *c != '\\')
            .take(60)
            .collect();
        let mut value = format!("attachment; filename=\"{ascii}\"");
        for (i, segment) in self.segments().iter().enumerate() {
            value.push_str(&format!(";\r\n filename*{i}*={segment}"));
        }
        HeaderValue::dangerous_new_pre_encoded(Self::name(), value.clone(), value)
    }
}

/// `X-Suiji-Notice: <kind>`: which kind of notice a message is, for filters and tests.
#[derive(Debug, Clone)]
struct NoticeKind(String);

impl Header for NoticeKind {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("X-Suiji-Notice")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(NoticeKind(s.to_string()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

fn mailbox(m: &Mailbox) -> Result<LMailbox, String> {
    let email = m
        .email
        .parse()
        .map_err(|e| format!("address `{}`: {e}", crate::text::quote(&m.email)))?;
    Ok(LMailbox::new(Some(m.name.clone()), email))
}

fn attachment(a: &Attachment) -> Result<SinglePart, String> {
    let ct = format!("{}; name=\"{}\"", a.content_type, a.ascii_name);
    let ct = ContentType::parse(&ct).map_err(|e| format!("content type `{ct}`: {e}"))?;
    Ok(SinglePart::builder()
        .header(ct)
        .header(Disposition {
            name: a.name.clone(),
            ascii: a.ascii_name.clone(),
        })
        .body(Body::new(a.data.clone())))
}

/// The MIME message of an outbox row: its `Message-ID` made from its key, its date the time it
/// was created.
pub fn build(row: &OutboxRow, attachments: &[Attachment], from: &str) -> Result<Message, String> {
    let from: LMailbox = from
        .parse()
        .map_err(|e| format!("smtp.from `{}`: {e}", crate::text::quote(from)))?;
    let mut b = Message::builder()
        .from(from)
        .message_id(Some(super::message_id(&row.key)))
        .subject(row.subject.clone());
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(&row.created_at) {
        b = b.date(std::time::SystemTime::from(t));
    }
    for m in &row.to {
        b = b.to(mailbox(m)?);
    }
    for m in &row.cc {
        b = b.cc(mailbox(m)?);
    }
    b = b.header(NoticeKind(row.kind.clone()));
    let body = MultiPart::alternative()
        .singlepart(SinglePart::plain(row.text.clone()))
        .singlepart(SinglePart::html(row.html.clone()));
    let message = if attachments.is_empty() {
        b.multipart(body)
    } else {
        let mut mixed = MultiPart::mixed().multipart(body);
        for a in attachments {
            mixed = mixed.singlepart(attachment(a)?);
        }
        b.multipart(mixed)
    };
    message.map_err(|e| e.to_string())
}

/// What a delivery round did.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Delivered {
    pub sent: usize,
    pub retrying: usize,
    pub failed: usize,
}

/// A notice given up on, and why.
#[derive(Debug, Clone, Serialize)]
pub struct GaveUp {
    #[serde(flatten)]
    pub row: OutboxRow,
    pub cause: &'static str,
    #[serde(skip)]
    pub relay_wide: bool,
}

/// The pause before attempt `n + 1`: a minute, doubling, at most an hour, with up to a fifth
/// added at random so that many notices failing together do not retry together.
pub fn backoff(attempts: i64, jitter_seed: u64) -> chrono::Duration {
    let base = 60i64 << attempts.clamp(0, 6);
    let base = base.min(3600);
    let jitter = (jitter_seed % (base as u64 / 5 + 1)) as i64;
    chrono::Duration::seconds(base + jitter)
}

/// One round's shared state: how many notices may still be taken, what the round has done,
/// the failure every further notice would meet, once one is seen, and the marks waiting to be
/// committed.
struct Round {
    left: AtomicI64,
    report: std::sync::Mutex<(Delivered, Vec<GaveUp>)>,
    blocked: std::sync::Mutex<Option<Failure>>,
    marks: Marks,
}

impl Round {
    /// Takes up to `want` of what the round may still deliver.
    fn reserve(&self, want: i64) -> i64 {
        let mut left = self.left.load(Ordering::SeqCst);
        loop {
            let k = want.min(left);
            if k <= 0 {
                return 0;
            }
            match self
                .left
                .compare_exchange(left, left - k, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => return k,
                Err(now) => left = now,
            }
        }
    }
}

/// Group commit of the marks "sent": each session, once the relay accepted its message, adds
/// the notice and waits for its mark to be committed before it sends another, so a crash
/// leaves at most one delivered, unmarked message per session; the marks of sessions that
/// finish together share one transaction (one fsync on SQLite) instead of one each.
#[derive(Default)]
struct Marks {
    queue: std::sync::Mutex<Vec<i64>>,
    done: std::sync::Mutex<std::collections::HashMap<i64, bool>>,
    turn: tokio::sync::Mutex<()>,
}

impl Marks {
    /// Marks `id` sent; whether its lease was still `owner`'s.
    async fn sent(
        &self,
        store: &Store,
        id: i64,
        owner: &str,
        clock: &dyn Clock,
    ) -> Result<bool, StoreError> {
        if let Ok(mut q) = self.queue.lock() {
            q.push(id);
        }
        let _turn = self.turn.lock().await;
        if let Some(held) = self.done.lock().ok().and_then(|mut d| d.remove(&id)) {
            return Ok(held);
        }
        let batch: Vec<i64> = self
            .queue
            .lock()
            .map(|mut q| std::mem::take(&mut *q))
            .unwrap_or_default();
        let held = match store.outbox_sent(&batch, owner, clock).await {
            Ok(h) => h,
            Err(e) => {
                // Left for the next session's turn (or the lease) to mark.
                if let Ok(mut q) = self.queue.lock() {
                    q.extend(batch.iter().filter(|&&b| b != id));
                }
                return Err(e);
            }
        };
        let mut done = self
            .done
            .lock()
            .map_err(|_| StoreError::Corrupt("marks poisoned".into()))?;
        for b in &batch {
            done.insert(*b, held.contains(b));
        }
        Ok(done.remove(&id).unwrap_or(false))
    }
}

/// Notices a session claims at once (one transaction for all): the lease covers them all.
const CLAIM: i64 = 4;

/// Delivers every notice due by now (oldest first, at most `limit`), each claimed first under
/// a lease in the database (`Store::outbox_claim`), so that deliverers running at once (the
/// daemon and `outbox send`, an old leader and a new one, this round's own sessions) never
/// send one notice twice. Returns what happened and the notices given up on (the caller tells
/// the administrators). Ends every SMTP session it opened with QUIT.
pub async fn deliver(
    store: &Store,
    settings: &Settings,
    transport: &Transport,
    clock: &dyn Clock,
    limit: i64,
) -> Result<(Delivered, Vec<GaveUp>), SendError> {
    let round = Round {
        left: AtomicI64::new(limit),
        report: std::sync::Mutex::new(Default::default()),
        blocked: std::sync::Mutex::new(None),
        marks: Marks::default(),
    };
    let sessions = match transport {
        Transport::Smtp(_) => settings.notify.sessions.max(1) as usize,
        Transport::Files(_) => 1,
    };
    // The first notice alone: a relay that refuses every notice (a wrong password, an
    // untrusted certificate) is then tried once a round, not once per session.
    let first = deliverer(store, settings, transport, clock, &round, Some(1)).await;
    let mut results = vec![first];
    if results[0].is_ok() {
        // Blocked, the rest meet the same failure without a connection: one deliverer will do.
        let blocked = round.blocked.lock().map_or(true, |b| b.is_some());
        let n = if blocked { 1 } else { sessions };
        let work = (0..n).map(|_| deliverer(store, settings, transport, clock, &round, None));
        results.extend(futures_util::future::join_all(work).await);
    }
    transport.close().await;
    for r in results {
        r?;
    }
    let (report, gave_up) = round
        .report
        .into_inner()
        .map_err(|_| SendError::Settings("a deliverer panicked".into()))?;
    let blocked = round.blocked.into_inner().ok().flatten();
    let at = stamp(clock.wall());
    match &blocked {
        Some(f) => {
            store
                .relay_seen(Some((f.cause.code(), &f.sentence)), &at)
                .await?
        }
        None if report.sent > 0 && matches!(transport, Transport::Smtp(_)) => {
            store.relay_seen(None, &at).await?
        }
        None => {}
    }
    Ok((report, gave_up))
}

/// One session's work: claims notices (`CLAIM` at a time, or `at_most`) and delivers them in
/// turn until the round has none left.
async fn deliverer(
    store: &Store,
    settings: &Settings,
    transport: &Transport,
    clock: &dyn Clock,
    round: &Round,
    at_most: Option<i64>,
) -> Result<(), SendError> {
    let owner = crate::instance::id();
    let want = at_most.unwrap_or(CLAIM);
    // Longer than all the claimed sends can take (connecting and sending are each bounded by
    // the timeout), so a live deliverer's lease never runs out under it.
    let per_send = 2 * settings.smtp.timeout_secs.max(1) as i64 + 2;
    let lease = chrono::Duration::seconds(want * per_send + 10);
    loop {
        let k = round.reserve(want);
        if k == 0 {
            return Ok(());
        }
        let rows = store
            .outbox_claim(
                &stamp(clock.now()),
                owner,
                &stamp(clock.wall() + lease),
                &stamp(clock.wall()),
                k,
            )
            .await?;
        round
            .left
            .fetch_add(k - rows.len() as i64, Ordering::SeqCst);
        if rows.is_empty() {
            return Ok(());
        }
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let mut attachments = store.outbox_attachments(&ids).await?;
        for row in rows {
            let files = attachments.remove(&row.id).unwrap_or_default();
            one(store, settings, transport, clock, round, owner, row, &files).await?;
        }
        if at_most.is_some() {
            return Ok(());
        }
    }
}

/// Delivers one claimed notice and records what became of it.
#[allow(clippy::too_many_arguments)]
async fn one(
    store: &Store,
    settings: &Settings,
    transport: &Transport,
    clock: &dyn Clock,
    round: &Round,
    owner: &str,
    row: OutboxRow,
    attachments: &[Attachment],
) -> Result<(), SendError> {
    let blocked = round.blocked.lock().ok().and_then(|b| b.clone());
    let result = match blocked {
        Some(f) => Err(f),
        None => match build(&row, attachments, &settings.smtp.from) {
            Ok(m) => transport.deliver(&row, &m).await,
            Err(e) => Err(Failure {
                cause: Cause::Refused,
                sentence: e,
            }),
        },
    };
    let held = match result {
        Ok(()) => {
            crate::failpoint::hit("notice-before-marked");
            if let Ok(mut r) = round.report.lock() {
                r.0.sent += 1;
            }
            round.marks.sent(store, row.id, owner, clock).await?
        }
        Err(f) => {
            if f.cause.relay_wide()
                && let Ok(mut b) = round.blocked.lock()
                && b.is_none()
            {
                *b = Some(f.clone());
            }
            let attempts = row.attempts + 1;
            let give_up =
                !f.cause.transient() || attempts >= i64::from(settings.notify.max_attempts);
            if give_up {
                tracing::error!(notice = row.id, kind = %row.kind, attempts, cause = f.cause.code(), "not delivered, given up: {}", f.sentence);
                let held = store
                    .outbox_attempt_failed(row.id, owner, &f.sentence, None)
                    .await?;
                if let Ok(mut r) = round.report.lock() {
                    r.0.failed += 1;
                    r.1.push(GaveUp {
                        row: OutboxRow {
                            last_error: Some(f.sentence.clone()),
                            status: "failed".into(),
                            attempts,
                            ..row.clone()
                        },
                        cause: f.cause.code(),
                        relay_wide: f.cause.relay_wide(),
                    });
                }
                held
            } else {
                let seed = clock.wall().timestamp_subsec_nanos() as u64 ^ (row.id as u64) << 8;
                let next = stamp(clock.now() + backoff(attempts - 1, seed));
                tracing::warn!(notice = row.id, kind = %row.kind, attempts, next = %next, "not delivered, will retry: {}", f.sentence);
                if let Ok(mut r) = round.report.lock() {
                    r.0.retrying += 1;
                }
                store
                    .outbox_attempt_failed(row.id, owner, &f.sentence, Some(&next))
                    .await?
            }
        }
    };
    if !held {
        tracing::error!(
            notice = row.id,
            "the notice's lease ran out during its delivery and another deliverer may \
             have taken it: it may arrive twice, with the same Message-ID"
        );
    }
    Ok(())
}
#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> OutboxRow {
        OutboxRow {
            id: 7,
            key: "advance_notice/k".into(),
            kind: "advance_notice".into(),
            to: vec![Mailbox {
                name: "郑州市应急管理局".into(),
                email: "yjj@example.gov.cn".into(),
            }],
            cc: Vec::new(),
            subject: "关于开展安全生产监管执法检查的函".into(),
            text: "正文".into(),
            html: "<p>正文</p>".into(),
            late: false,
            status: "pending".into(),
            attempts: 0,
            next_attempt: None,
            last_error: None,
            created_at: "2024-06-03T09:00:00+08:00".into(),
            sent_at: None,
        }
    }

    /// A bureau name of 95 characters (the longest real ones run past 40) still gives header
    /// lines within 78 characters, and the continuations join back to the name.
    #[test]
    fn long_attachment_names_fold_into_rfc_2231_continuations() {
        let bureau = "某".repeat(80) + "经济技术开发区管理委员会应急管理局";
        assert_eq!(bureau.chars().count(), 97);
        let name = format!("检查对象名单-{bureau}-2024-06-03.xlsx");
        let a = Attachment {
            name: name.clone(),
            ascii_name: "hangao-4101-2024-06-03.xlsx".into(),
            content_type: "text/csv; charset=utf-8".into(),
            data: b"x".to_vec(),
        };
        let m = build(&row(), &[a], "厅 <noreply@example.gov.cn>").expect("message");
        let raw = String::from_utf8(m.formatted()).expect("ascii");
        assert!(raw.lines().all(|l| l.len() <= 78), "a line over 78:\n{raw}");
        let d = Disposition {
            name: name.clone(),
            ascii: String::new(),
        };
        let segments = d.segments();
        assert!(segments.len() > 5);
        let joined: String = segments.concat();
        let encoded = joined.strip_prefix("UTF-8''").expect("charset");
        let mut bytes = Vec::new();
        let mut i = 0;
        let b = encoded.as_bytes();
        while i < b.len() {
            if b[i] == b'%' {
                bytes.push(u8::from_str_radix(&encoded[i + 1..i + 3], 16).expect("hex"));
                i += 3;
            } else {
                bytes.push(b[i]);
                i += 1;
            }
        }
        assert_eq!(String::from_utf8(bytes).expect("utf-8"), name);
        // Every segment holds whole characters, so even a reader that decodes segment by
        // segment shows the name.
        assert!(segments.iter().all(|s| !s.ends_with('%')));
    }
}
