//! Delivery: the only code that knows SMTP. Pending notices are built into MIME messages
//! (lettre: Chinese headers RFC 2047-encoded, a plain-text and an HTML alternative, attachments
//! with an ASCII file name beside the RFC 2231 one) and handed to the transport: SMTP
//! (pooled, every send bounded by our own timeout) when `smtp.host` is set, otherwise `.eml`
//! files under `<data_dir>/mail/`. A failed attempt is tried again after a growing, jittered
//! pause; after `notify.max_attempts` the notice is marked failed and an admin notice raised.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Body, Mailbox as LMailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Serialize;

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
    Smtp(Smtp),
    /// `.eml` files in a folder (the embedded default: a newcomer opens the letters).
    Files(PathBuf),
}

/// An SMTP relay, its connections kept open between messages.
///
/// For plain and STARTTLS relays suiji opens the TCP connection itself, with `TCP_NODELAY`, and
/// hands it to lettre's SMTP client: lettre 0.11.23 leaves Nagle's algorithm on, and since it
/// writes a message's body and its final `\r\n.\r\n` separately, every message then waits
/// for the relay's delayed ACK (40 ms on Linux: 23 messages/s on loopback instead of
/// hundreds). Implicit TLS (port 465) goes through lettre's own pooled transport.
pub struct Smtp {
    host: String,
    port: u16,
    starttls: bool,
    credentials: Option<Credentials>,
    timeout: Duration,
    idle: tokio::sync::Mutex<Vec<AsyncSmtpConnection>>,
    implicit: Option<AsyncSmtpTransport<Tokio1Executor>>,
}

/// Open connections kept for the next message.
const IDLE_CONNECTIONS: usize = 4;

impl Smtp {
    async fn connect(&self) -> Result<AsyncSmtpConnection, String> {
        let addr = (self.host.as_str(), self.port);
        let tcp = tokio::time::timeout(self.timeout, tokio::net::TcpStream::connect(addr))
            .await
            .map_err(|_| format!("connecting to {}:{}: no answer", self.host, self.port))?
            .map_err(|e| format!("connecting to {}:{}: {e}", self.host, self.port))?;
        tcp.set_nodelay(true).map_err(|e| e.to_string())?;
        let hello = ClientId::default();
        let setup = async {
            let mut conn = AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &hello)
                .await
                .map_err(|e| e.to_string())?;
            if self.starttls {
                let tls = TlsParameters::new(self.host.clone()).map_err(|e| e.to_string())?;
                conn.starttls(tls, &hello)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            if let Some(c) = &self.credentials {
                conn.auth(&[Mechanism::Plain, Mechanism::Login], c)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Ok::<_, String>(conn)
        };
        tokio::time::timeout(self.timeout, setup)
            .await
            .map_err(|_| format!("{}:{}: no greeting in time", self.host, self.port))?
    }

    async fn send(&self, message: &Message) -> Result<(), String> {
        if let Some(t) = &self.implicit {
            return match tokio::time::timeout(self.timeout, t.send(message.clone())).await {
                Ok(Ok(_)) => Ok(()),
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err(format!("no answer within {} s", self.timeout.as_secs())),
            };
        }
        let bytes = message.formatted();
        let reused = self.idle.lock().await.pop();
        let was_reused = reused.is_some();
        let mut conn = match reused {
            Some(c) => c,
            None => self.connect().await?,
        };
        let sent = tokio::time::timeout(self.timeout, conn.send(message.envelope(), &bytes)).await;
        match sent {
            Ok(Ok(_)) => {
                let mut idle = self.idle.lock().await;
                if idle.len() < IDLE_CONNECTIONS {
                    idle.push(conn);
                }
                Ok(())
            }
            // A kept connection the relay closed meanwhile: once more on a fresh one.
            Ok(Err(e)) if was_reused && !e.is_permanent() => {
                conn.abort().await;
                let mut fresh = self.connect().await?;
                let again =
                    tokio::time::timeout(self.timeout, fresh.send(message.envelope(), &bytes))
                        .await;
                match again {
                    Ok(Ok(_)) => {
                        self.idle.lock().await.push(fresh);
                        Ok(())
                    }
                    Ok(Err(e)) => Err(e.to_string()),
                    Err(_) => Err(format!("no answer within {} s", self.timeout.as_secs())),
                }
            }
            Ok(Err(e)) => {
                conn.abort().await;
                Err(e.to_string())
            }
            Err(_) => Err(format!("no answer within {} s", self.timeout.as_secs())),
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
        let timeout = Duration::from_secs(s.timeout_secs.max(1));
        let password = s
            .resolved_password()
            .map_err(|e| SendError::Settings(e.to_string()))?;
        let credentials = (!s.username.is_empty())
            .then(|| Credentials::new(s.username.clone(), password.expose().to_string()));
        let implicit = match s.tls.as_str() {
            "none" | "starttls" => None,
            "tls" => {
                let mut b = AsyncSmtpTransport::<Tokio1Executor>::relay(&s.host)
                    .map_err(|e| SendError::Settings(e.to_string()))?
                    .port(s.port)
                    .timeout(Some(timeout));
                if let Some(c) = &credentials {
                    b = b.credentials(c.clone());
                }
                Some(b.build())
            }
            other => {
                return Err(SendError::Settings(format!(
                    "smtp.tls `{}`: \"starttls\", \"tls\" or \"none\"",
                    crate::text::quote(other)
                )));
            }
        };
        Ok(Transport::Smtp(Smtp {
            host: s.host.clone(),
            port: s.port,
            starttls: s.tls == "starttls",
            credentials,
            timeout,
            idle: tokio::sync::Mutex::new(Vec::new()),
            implicit,
        }))
    }

    async fn deliver(&self, row: &OutboxRow, message: &Message) -> Result<(), String> {
        match self {
            Transport::Smtp(smtp) => smtp.send(message).await,
            Transport::Files(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                let path = dir.join(format!("{:06}-{}.eml", row.id, row.kind));
                crate::publish::write_atomic(&path, &message.formatted()).map_err(|e| e.to_string())
            }
        }
    }
}

/// `Content-Disposition: attachment; filename="<ascii>"; filename*=UTF-8''<percent-encoded>`:
/// clients that read RFC 2231 show the Chinese name, the others the ASCII one.
#[derive(Debug, Clone)]
struct Disposition {
    name: String,
    ascii: String,
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
            .collect();
        let mut encoded = String::new();
        for b in self.name.as_bytes() {
            if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(b) {
                encoded.push(*b as char);
            } else {
                encoded.push_str(&format!("%{b:02X}"));
            }
        }
        let value = format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}");
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

/// The pause before attempt `n + 1`: a minute, doubling, at most an hour, with up to a fifth
/// added at random so that many notices failing together do not retry together.
pub fn backoff(attempts: i64, jitter_seed: u64) -> chrono::Duration {
    let base = 60i64 << attempts.clamp(0, 6);
    let base = base.min(3600);
    let jitter = (jitter_seed % (base as u64 / 5 + 1)) as i64;
    chrono::Duration::seconds(base + jitter)
}

/// Delivers every notice due by now (oldest first, at most `limit`), each claimed first under
/// a lease in the database (`Store::outbox_claim`), so that deliverers running at once (the
/// daemon and `outbox send`, an old leader and a new one) never send one notice twice. Returns
/// what happened; notices that exhaust their attempts are marked failed (the caller raises the
/// admin notice).
pub async fn deliver(
    store: &Store,
    settings: &Settings,
    transport: &Transport,
    clock: &dyn Clock,
    limit: i64,
) -> Result<(Delivered, Vec<OutboxRow>), SendError> {
    let mut report = Delivered::default();
    let mut gave_up = Vec::new();
    let owner = crate::instance::id();
    // Longer than any one send can take (each is bounded by the timeout), so a live
    // deliverer's lease never runs out under it.
    let lease = chrono::Duration::seconds(2 * settings.smtp.timeout_secs.max(1) as i64 + 10);
    for _ in 0..limit {
        let Some(row) = store
            .outbox_claim(
                &stamp(clock.now()),
                owner,
                &stamp(clock.wall() + lease),
                &stamp(clock.wall()),
            )
            .await?
        else {
            break;
        };
        let attachments = store.outbox_attachments(row.id).await?;
        let result = match build(&row, &attachments, &settings.smtp.from) {
            Ok(m) => transport.deliver(&row, &m).await,
            Err(e) => Err(e),
        };
        let held = match result {
            Ok(()) => {
                crate::failpoint::hit("notice-before-marked");
                report.sent += 1;
                store.outbox_sent(row.id, owner, clock).await?
            }
            Err(e) => {
                let attempts = row.attempts + 1;
                if attempts >= i64::from(settings.notify.max_attempts) {
                    tracing::error!(notice = row.id, kind = %row.kind, attempts, "delivery failed for good: {e}");
                    report.failed += 1;
                    let held = store.outbox_attempt_failed(row.id, owner, &e, None).await?;
                    gave_up.push(OutboxRow {
                        last_error: Some(e),
                        ..row.clone()
                    });
                    held
                } else {
                    let seed = clock.wall().timestamp_subsec_nanos() as u64 ^ (row.id as u64) << 8;
                    let next = stamp(clock.now() + backoff(attempts - 1, seed));
                    tracing::warn!(notice = row.id, kind = %row.kind, attempts, next = %next, "delivery failed, will retry: {e}");
                    report.retrying += 1;
                    store
                        .outbox_attempt_failed(row.id, owner, &e, Some(&next))
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
    }
    Ok((report, gave_up))
}
