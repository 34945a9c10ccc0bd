//! The session with the mail relay: TCP (with `TCP_NODELAY`), TLS as configured — implicit
//! (SMTPS) or STARTTLS, both negotiated here with suiji's own trust (`tls`) — then lettre's
//! SMTP client for EHLO, AUTH (PLAIN or LOGIN), MAIL, RCPT, DATA and QUIT. Every failure
//! becomes a `Failure`: a cause, whether retrying can help, and one sentence saying what
//! happened and what to change, the same in `mail test`, the outbox's `last_error`, the log
//! and the administrators' notice.
//!
//! Why STARTTLS is spoken here and not by lettre: so that the certificate the server presents
//! and the reason it was refused are known (lettre only reports "invalid peer certificate"),
//! and so that every mode runs over a socket with Nagle's algorithm off (lettre writes a
//! message's final `\r\n.\r\n` separately, which otherwise waits for the relay's delayed ACK).

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use lettre::Address;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension};
use rustls_pki_types::ServerName;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, ReadBuf};
use tokio::net::TcpStream;

use crate::tls::{Summary, Trust};

/// How the relay wants TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Plain SMTP (loopback test servers only).
    None,
    /// Plain SMTP, upgraded with STARTTLS before anything else (usually port 587 or 25).
    StartTls,
    /// TLS from the first byte (SMTPS, usually port 465).
    Tls,
}

impl Mode {
    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "none" => Some(Mode::None),
            "starttls" => Some(Mode::StartTls),
            "tls" => Some(Mode::Tls),
            _ => None,
        }
    }
}

/// Why a delivery failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Cause {
    /// Nothing answered, or the connection broke: the relay may be down for a while.
    Unreachable,
    /// The relay answered 4xx: try again later.
    Busy,
    /// The settings do not match the relay (TLS mode, certificate, trust, authentication
    /// offered): nothing changes until an admin does.
    Settings,
    /// The relay refused the account's credentials.
    Credentials,
    /// The relay refused the sender address.
    Sender,
    /// The relay refused this notice (a recipient, or the message): permanent, for this
    /// notice only.
    Refused,
}

impl Cause {
    /// Whether trying again later can help without anybody changing anything.
    pub fn transient(self) -> bool {
        matches!(self, Cause::Unreachable | Cause::Busy)
    }

    /// Whether every notice would fail the same way (so one failure stands for all of this
    /// round's notices, and one administrators' notice for all of them).
    pub fn relay_wide(self) -> bool {
        !matches!(self, Cause::Refused)
    }

    pub fn code(self) -> &'static str {
        match self {
            Cause::Unreachable => "unreachable",
            Cause::Busy => "busy",
            Cause::Settings => "settings",
            Cause::Credentials => "credentials",
            Cause::Sender => "sender",
            Cause::Refused => "refused",
        }
    }
}

/// A failed step, explained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub cause: Cause,
    /// `host:port: what happened; what to do`.
    pub sentence: String,
}

/// An SMTP relay as configured.
pub struct Relay {
    pub host: String,
    pub port: u16,
    pub mode: Mode,
    pub credentials: Option<(String, Credentials)>,
    pub timeout: Duration,
    pub trust: Trust,
    hello: ClientId,
}

/// What a session set-up went through, for `mail test`.
#[derive(Debug, Default)]
pub struct Steps {
    pub lines: Vec<String>,
    pub certificate: Option<Summary>,
}

impl Steps {
    pub(crate) fn say(&mut self, line: impl Into<String>) {
        self.lines.push(line.into());
    }
}

/// A stream lettre can drive, with what the server said before TLS replaced by a greeting
/// (after STARTTLS the server sends none, but lettre's session begins by reading one; it then
/// sends EHLO again, as RFC 3207 requires).
#[derive(Debug)]
struct Stream<S> {
    greeting: &'static [u8],
    inner: S,
    peer: SocketAddr,
}

impl<S: AsyncRead + Unpin> AsyncRead for Stream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if !self.greeting.is_empty() {
            let n = self.greeting.len().min(buf.remaining());
            buf.put_slice(&self.greeting[..n]);
            self.greeting = &self.greeting[n..];
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Stream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl<S> AsyncTokioStream for Stream<S>
where
    S: AsyncRead + AsyncWrite + Send + Sync + Unpin + std::fmt::Debug,
{
    fn peer_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.peer)
    }
}

/// One SMTP reply read from the plain socket (before TLS): its code and its lines.
async fn reply(r: &mut BufReader<TcpStream>) -> std::io::Result<(u16, Vec<String>)> {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        let n = tokio::io::AsyncReadExt::take(&mut *r, 1024)
            .read_line(&mut line)
            .await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let line = line.trim_end().to_string();
        let code = line.get(..3).and_then(|c| c.parse::<u16>().ok());
        let last = line.as_bytes().get(3) != Some(&b'-');
        lines.push(line.get(4..).unwrap_or("").to_string());
        if lines.len() > 100 {
            return Err(std::io::Error::other("reply too long"));
        }
        if last {
            return code
                .map(|c| (c, lines))
                .ok_or_else(|| std::io::Error::other("not an SMTP reply"));
        }
    }
}

impl Relay {
    pub fn new(
        host: &str,
        port: u16,
        mode: Mode,
        credentials: Option<(String, String)>,
        timeout: Duration,
        trust: Trust,
    ) -> Relay {
        Relay {
            host: host.to_string(),
            port,
            mode,
            credentials: credentials.map(|(u, p)| (u.clone(), Credentials::new(u, p))),
            timeout,
            trust,
            hello: ClientId::default(),
        }
    }

    fn failure(&self, cause: Cause, what: impl std::fmt::Display) -> Failure {
        Failure {
            cause,
            sentence: format!("{}:{}: {what}", self.host, self.port),
        }
    }

    /// Connects, negotiates TLS, authenticates; every step said in `steps`.
    pub async fn connect(&self, steps: &mut Steps) -> Result<AsyncSmtpConnection, Failure> {
        match tokio::time::timeout(self.timeout, self.setup(steps)).await {
            Ok(r) => r,
            Err(_) => Err(self.silent(steps)),
        }
    }

    /// No answer in time: where it stopped says which setting is likely wrong.
    fn silent(&self, steps: &Steps) -> Failure {
        let secs = self.timeout.as_secs();
        let greeted = steps.lines.iter().any(|l| l.starts_with("greeting"));
        if !greeted && self.mode != Mode::Tls {
            return self.failure(
                Cause::Settings,
                format!(
                    "no SMTP greeting within {secs} s; the port may expect TLS from the first \
                     byte (SMTPS, usually port 465): set smtp.tls = \"tls\", or use the \
                     relay's STARTTLS port"
                ),
            );
        }
        self.failure(
            Cause::Unreachable,
            format!("no answer within {secs} s (smtp.timeout_secs)"),
        )
    }

    async fn setup(&self, steps: &mut Steps) -> Result<AsyncSmtpConnection, Failure> {
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| {
                let what = match e.kind() {
                    std::io::ErrorKind::ConnectionRefused => {
                        "connection refused: nothing listens there (check smtp.host and \
                         smtp.port, and that the relay is running)"
                            .to_string()
                    }
                    _ => format!("cannot connect: {e} (check smtp.host and smtp.port)"),
                };
                self.failure(Cause::Unreachable, what)
            })?;
        let _ = tcp.set_nodelay(true);
        let peer = tcp
            .peer_addr()
            .map_err(|e| self.failure(Cause::Unreachable, e))?;
        steps.say(format!("connected to {peer}"));
        let stream: Box<dyn AsyncTokioStream> = match self.mode {
            Mode::None => Box::new(Stream {
                greeting: b"",
                inner: tcp,
                peer,
            }),
            Mode::Tls => Box::new(Stream {
                greeting: b"",
                inner: self.handshake(tcp, steps).await?,
                peer,
            }),
            Mode::StartTls => {
                let tcp = self.starttls(tcp, steps).await?;
                Box::new(Stream {
                    greeting: b"220 suiji: TLS established\r\n",
                    inner: self.handshake(tcp, steps).await?,
                    peer,
                })
            }
        };
        let mut conn = AsyncSmtpConnection::connect_with_transport(stream, &self.hello)
            .await
            .map_err(|e| self.refused(&e, "at EHLO"))?;
        if self.mode == Mode::None {
            steps.say("greeting received (plain SMTP, no TLS)");
        }
        let info = conn.server_info();
        steps.say(format!(
            "EHLO: server {}, offers {}",
            info.name(),
            offers(info)
        ));
        if let Some((user, c)) = &self.credentials {
            let mechanisms = [Mechanism::Plain, Mechanism::Login];
            let Some(m) = info.get_auth_mechanism(&mechanisms) else {
                let tls_later =
                    self.mode == Mode::None && info.supports_feature(Extension::StartTls);
                return Err(self.failure(
                    Cause::Settings,
                    if tls_later {
                        "the server offers authentication only after STARTTLS: set smtp.tls = \
                         \"starttls\""
                            .to_string()
                    } else {
                        format!(
                            "the server offers no PLAIN or LOGIN authentication (it offers {}); \
                             if it relays for this machine without a password, leave \
                             smtp.username empty",
                            offers(info)
                        )
                    },
                ));
            };
            conn.auth(&mechanisms, c).await.map_err(|e| {
                if e.is_permanent() {
                    self.failure(
                        Cause::Credentials,
                        format!(
                            "the server refused user `{}` and its password ({}); correct \
                             smtp.username or the password (SUIJI_SMTP__PASSWORD or \
                             smtp.password_file), then run `suiji outbox retry --all`",
                            crate::text::quote(user),
                            reply_text(&e)
                        ),
                    )
                } else {
                    self.refused(&e, "at AUTH")
                }
            })?;
            steps.say(format!(
                "AUTH {m}: accepted for `{}`",
                crate::text::quote(user)
            ));
        }
        Ok(conn)
    }

    /// The plain-text part of a STARTTLS session: greeting, EHLO, STARTTLS.
    async fn starttls(&self, tcp: TcpStream, steps: &mut Steps) -> Result<TcpStream, Failure> {
        let lost =
            |e: std::io::Error| self.failure(Cause::Unreachable, format!("connection lost: {e}"));
        let mut r = BufReader::new(tcp);
        let (code, lines) = reply(&mut r).await.map_err(|e| {
            if e.kind() == std::io::ErrorKind::InvalidData || e.to_string() == "not an SMTP reply" {
                self.failure(
                    Cause::Settings,
                    "the server does not speak plain SMTP first; the port may expect TLS from \
                     the first byte (SMTPS, usually 465): set smtp.tls = \"tls\"",
                )
            } else {
                lost(e)
            }
        })?;
        if code != 220 {
            return Err(self.failure(Cause::Busy, format!("greeting {code} {}", lines.join(" "))));
        }
        steps.say(format!(
            "greeting: {code} {}",
            lines.first().map(String::as_str).unwrap_or("")
        ));
        let hello = format!("EHLO {}\r\n", self.hello);
        r.get_mut()
            .write_all(hello.as_bytes())
            .await
            .map_err(lost)?;
        let (code, lines) = reply(&mut r).await.map_err(lost)?;
        let offered = lines.iter().any(|l| l.eq_ignore_ascii_case("STARTTLS"));
        if code != 250 || !offered {
            return Err(self.failure(
                Cause::Settings,
                "the server does not offer STARTTLS on this port; use its STARTTLS port \
                 (usually 587), or its SMTPS port (usually 465) with smtp.tls = \"tls\"",
            ));
        }
        r.get_mut().write_all(b"STARTTLS\r\n").await.map_err(lost)?;
        let (code, lines) = reply(&mut r).await.map_err(lost)?;
        if code != 220 {
            return Err(self.failure(
                Cause::Settings,
                format!("the server refused STARTTLS: {code} {}", lines.join(" ")),
            ));
        }
        // Anything already sent after the 220 would be read as if it came over TLS (a
        // command injection, CVE-2011-0411 and kin): refused.
        if !r.buffer().is_empty() {
            return Err(self.failure(
                Cause::Settings,
                "the server sent data before the TLS handshake; refused (possible STARTTLS \
                 injection)",
            ));
        }
        steps.say("STARTTLS: 220, negotiating TLS");
        Ok(r.into_inner())
    }

    async fn handshake(
        &self,
        tcp: TcpStream,
        steps: &mut Steps,
    ) -> Result<tokio_rustls::client::TlsStream<TcpStream>, Failure> {
        let (config, seen) =
            crate::tls::client(&self.trust).map_err(|e| self.failure(Cause::Settings, e))?;
        let name = ServerName::try_from(self.host.clone()).map_err(|e| {
            self.failure(
                Cause::Settings,
                format!("`{}` is not a host name: {e}", self.host),
            )
        })?;
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let tls = match connector.connect(name, tcp).await {
            Ok(t) => t,
            Err(e) => {
                let seen = seen.lock().map(|s| s.clone()).unwrap_or_default();
                let host = &self.host;
                let what = if let Some(refused) = &seen.error {
                    crate::tls::refusal(refused, &seen.chain, host, "smtp.ca_file")
                } else if matches!(
                    e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()),
                    Some(rustls::Error::InvalidMessage(_))
                ) {
                    "the server answered in plain text: this port speaks SMTP before TLS \
                     (STARTTLS, usually port 587 or 25): set smtp.tls = \"starttls\""
                        .to_string()
                } else {
                    format!("TLS handshake failed: {e}")
                };
                let cause = if seen.error.is_some() || e.kind() == std::io::ErrorKind::InvalidData {
                    Cause::Settings
                } else {
                    Cause::Unreachable
                };
                return Err(self.failure(cause, what));
            }
        };
        let (_, session) = tls.get_ref();
        let version = session
            .protocol_version()
            .map(|v| format!("{v:?}"))
            .unwrap_or_default();
        let suite = session
            .negotiated_cipher_suite()
            .map(|s| format!("{:?}", s.suite()))
            .unwrap_or_default();
        steps.say(format!("TLS: {version}, {suite}"));
        let leaf = session
            .peer_certificates()
            .and_then(|c| c.first())
            .and_then(|c| crate::tls::summary(c));
        if let Some(s) = &leaf {
            steps.say(format!(
                "certificate: {}; issued by {}; valid until {}; names {}",
                s.subject,
                s.issuer,
                s.not_after,
                s.names.join(", ")
            ));
        }
        steps.certificate = leaf;
        Ok(tls)
    }

    /// One message over an open session: MAIL, RCPT for each recipient, DATA.
    pub async fn send(
        &self,
        conn: &mut AsyncSmtpConnection,
        from: &Address,
        to: &[Address],
        message: &[u8],
    ) -> Result<(), Failure> {
        let exchange = async {
            conn.command(Mail::new(Some(from.clone()), vec![]))
                .await
                .map_err(|e| {
                    if e.is_permanent() {
                        self.failure(
                            Cause::Sender,
                            format!(
                                "the server refused the sender <{from}> ({}); set \
                                 smtp.envelope_from (or smtp.from) to an address this account \
                                 may send from",
                                reply_text(&e)
                            ),
                        )
                    } else {
                        self.refused(&e, "at MAIL FROM")
                    }
                })?;
            for rcpt in to {
                conn.command(Rcpt::new(rcpt.clone(), vec![]))
                    .await
                    .map_err(|e| {
                        if e.is_permanent() {
                            self.failure(
                                Cause::Refused,
                                format!(
                                    "the server refused the recipient <{rcpt}> ({}); check \
                                     the address, or whether the relay lets this account send \
                                     outside the department",
                                    reply_text(&e)
                                ),
                            )
                        } else {
                            self.refused(&e, "at RCPT TO")
                        }
                    })?;
            }
            conn.command(Data)
                .await
                .map_err(|e| self.refused(&e, "at DATA"))?;
            conn.message(message)
                .await
                .map_err(|e| self.refused(&e, "after the message"))?;
            Ok(())
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(r) => r,
            Err(_) => Err(self.failure(
                Cause::Unreachable,
                format!(
                    "no answer within {} s (smtp.timeout_secs)",
                    self.timeout.as_secs()
                ),
            )),
        }
    }

    /// An SMTP error that is none of the cases above.
    fn refused(&self, e: &lettre::transport::smtp::Error, at: &str) -> Failure {
        if e.is_transient() {
            return self.failure(
                Cause::Busy,
                format!(
                    "the server asks to try later {at} ({}); suiji will",
                    reply_text(e)
                ),
            );
        }
        if e.is_permanent() {
            return self.failure(
                Cause::Refused,
                format!("the server refused the message {at} ({})", reply_text(e)),
            );
        }
        self.failure(
            Cause::Unreachable,
            format!("connection failed {at}: {}", reply_text(e)),
        )
    }
}

/// What the server offers after EHLO, as SMTP names them (of what suiji knows).
fn offers(info: &lettre::transport::smtp::extension::ServerInfo) -> String {
    let mut out = Vec::new();
    for (ext, name) in [
        (Extension::StartTls, "STARTTLS"),
        (Extension::EightBitMime, "8BITMIME"),
        (Extension::SmtpUtfEight, "SMTPUTF8"),
    ] {
        if info.supports_feature(ext) {
            out.push(name.to_string());
        }
    }
    let auth: Vec<&str> = [
        (Mechanism::Plain, "PLAIN"),
        (Mechanism::Login, "LOGIN"),
        (Mechanism::Xoauth2, "XOAUTH2"),
    ]
    .into_iter()
    .filter(|(m, _)| info.supports_auth_mechanism(*m))
    .map(|(_, n)| n)
    .collect();
    if !auth.is_empty() {
        out.push(format!("AUTH {}", auth.join(" ")));
    }
    if out.is_empty() {
        "nothing suiji uses".into()
    } else {
        out.join(", ")
    }
}

/// lettre's error without its doubled prefixes: the server's code and words, or the cause.
fn reply_text(e: &lettre::transport::smtp::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text = s.to_string();
        source = s.source();
    }
    match e.status() {
        Some(code) if !text.starts_with(&code.to_string()) => format!("{code} {text}"),
        _ => text,
    }
}
