//! Trust for suiji's outgoing TLS (the mail relay, the beacon relays, the timestamp authority):
//! the system's certificate store (`/etc/ssl/certs`, or `SSL_CERT_FILE` / `SSL_CERT_DIR`, read
//! by rustls-native-certs) plus a department's own CA from a PEM file (`smtp.ca_file`,
//! `beacon.ca_file`). There is deliberately no switch that accepts any certificate: a relay's
//! password sent over unverified TLS goes to whoever sits in the middle. Also: a certificate in
//! words (subject, issuer, names, expiry) and a verification failure as a cause an admin can
//! act on.

use std::sync::{Arc, Mutex};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use crate::der::{Der, children, read};

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{key} `{path}`: {reason}")]
    CaFile {
        key: &'static str,
        path: String,
        reason: String,
    },
    #[error("TLS settings: {0}")]
    Setup(String),
}

/// The certificates trusted as roots, and where they came from.
#[derive(Clone)]
pub struct Trust {
    pub roots: Arc<RootCertStore>,
    /// The same roots as certificates (for ureq), unless the Mozilla list stands in for an
    /// empty system store.
    certs: Vec<CertificateDer<'static>>,
    /// From the system's store (or, where it has none, the Mozilla list built in).
    pub system: usize,
    /// From the configured CA file.
    pub extra: usize,
}

/// The system's roots plus those in `ca_file` (PEM, one or more certificates; `key` names the
/// setting in errors). A CA file that cannot be read or holds no certificate is an error,
/// never silently ignored.
pub fn trust(key: &'static str, ca_file: &str) -> Result<Trust, TlsError> {
    let mut store = RootCertStore::empty();
    let mut certs = rustls_native_certs::load_native_certs().certs;
    let (mut system, _) = store.add_parsable_certificates(certs.iter().cloned());
    if system == 0 {
        // A container without ca-certificates: the Mozilla list rather than nothing.
        store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        system = store.roots.len();
        certs.clear();
    }
    let mut extra = 0;
    if !ca_file.trim().is_empty() {
        let fail = |reason: String| TlsError::CaFile {
            key,
            path: ca_file.to_string(),
            reason,
        };
        let pem = std::fs::read(ca_file).map_err(|e| fail(e.to_string()))?;
        for (i, cert) in CertificateDer::pem_slice_iter(&pem).enumerate() {
            let cert = cert.map_err(|e| fail(format!("certificate {}: {e}", i + 1)))?;
            store
                .add(cert.clone())
                .map_err(|e| fail(format!("certificate {}: {e}", i + 1)))?;
            certs.push(cert);
            extra += 1;
        }
        if extra == 0 {
            return Err(fail(
                "holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into(),
            ));
        }
    }
    Ok(Trust {
        roots: Arc::new(store),
        certs,
        system,
        extra,
    })
}

impl Trust {
    /// The same trust for ureq (the beacon relays, the timestamp authority). Where the Mozilla
    /// list stands in for the system's store, ureq cannot add a CA file to it: the CA file's
    /// certificates are then the only roots.
    pub fn ureq(&self) -> ureq::tls::TlsConfig {
        let roots = if self.certs.is_empty() {
            ureq::tls::RootCerts::WebPki
        } else {
            self.certs
                .iter()
                .map(|c| ureq::tls::Certificate::from_der(c).to_owned())
                .into()
        };
        ureq::tls::TlsConfig::builder().root_certs(roots).build()
    }
}

/// What a server presented and what verifying it said, kept for the explanation.
#[derive(Debug, Default, Clone)]
pub struct Seen {
    pub chain: Vec<Vec<u8>>,
    pub error: Option<rustls::Error>,
}

/// webpki's verdict, with the presented chain and the verdict recorded on the way.
#[derive(Debug)]
struct Recording {
    inner: Arc<WebPkiServerVerifier>,
    seen: Arc<Mutex<Seen>>,
}

impl ServerCertVerifier for Recording {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        );
        if let Ok(mut seen) = self.seen.lock() {
            seen.chain = std::iter::once(end_entity)
                .chain(intermediates)
                .map(|c| c.to_vec())
                .collect();
            seen.error = verdict.as_ref().err().cloned();
        }
        verdict
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// A client configuration verifying servers against `trust`, and where it records what the
/// server presented (one per connection, so that concurrent handshakes do not mix).
pub fn client(trust: &Trust) -> Result<(rustls::ClientConfig, Arc<Mutex<Seen>>), TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let inner = WebPkiServerVerifier::builder_with_provider(trust.roots.clone(), provider.clone())
        .build()
        .map_err(|e| TlsError::Setup(e.to_string()))?;
    let seen = Arc::new(Mutex::new(Seen::default()));
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Setup(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Recording {
            inner,
            seen: seen.clone(),
        }))
        .with_no_client_auth();
    Ok((config, seen))
}

/// A certificate in words.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub subject: String,
    pub issuer: String,
    /// `notAfter`, as written (UTC).
    pub not_after: String,
    /// Its DNS names and IP addresses (subjectAltName).
    pub names: Vec<String>,
}

impl Summary {
    pub fn self_signed(&self) -> bool {
        self.subject == self.issuer
    }
}

/// Reads subject, issuer, expiry and names from an X.509 certificate (DER); `None` when it is
/// not one.
pub fn summary(der: &[u8]) -> Option<Summary> {
    let (cert, _) = read(der).ok()?;
    let parts = children(cert).ok()?;
    let tbs = children(*parts.first()?).ok()?;
    // An explicit version ([0]) shifts every field by one.
    let at = usize::from(tbs.first()?.tag == 0xa0);
    let issuer = name(*tbs.get(at + 2)?)?;
    let validity = children(*tbs.get(at + 3)?).ok()?;
    let subject = name(*tbs.get(at + 4)?)?;
    let not_after = time(validity.get(1)?)?;
    let mut names = Vec::new();
    if let Some(ext) = tbs.iter().find(|d| d.tag == 0xa3) {
        let list = children(*children(*ext).ok()?.first()?).ok()?;
        for e in list {
            let fields = children(e).ok()?;
            // subjectAltName, 2.5.29.17
            if fields.first().map(|f| f.body) == Some(&[0x55, 0x1d, 0x11][..]) {
                let value = fields.last()?;
                let (seq, _) = read(value.body).ok()?;
                for g in children(seq).ok()? {
                    match g.tag {
                        0x82 => names.push(String::from_utf8_lossy(g.body).into_owned()),
                        0x87 if g.body.len() == 4 => {
                            let b: [u8; 4] = g.body.try_into().ok()?;
                            names.push(std::net::Ipv4Addr::from(b).to_string());
                        }
                        0x87 if g.body.len() == 16 => {
                            let b: [u8; 16] = g.body.try_into().ok()?;
                            names.push(std::net::Ipv6Addr::from(b).to_string());
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    Some(Summary {
        subject,
        issuer,
        not_after,
        names,
    })
}

/// `CN=…, O=…` of an X.501 name (the attributes people read; others left out).
fn name(d: Der<'_>) -> Option<String> {
    let mut out = Vec::new();
    for rdn in children(d).ok()? {
        for atv in children(rdn).ok()? {
            let f = children(atv).ok()?;
            let label = match f.first()?.body {
                [0x55, 0x04, 0x03] => "CN",
                [0x55, 0x04, 0x0a] => "O",
                [0x55, 0x04, 0x0b] => "OU",
                [0x55, 0x04, 0x06] => "C",
                _ => continue,
            };
            let v = f.get(1)?;
            let text = if v.tag == 0x1e {
                let units: Vec<u16> = v
                    .body
                    .chunks_exact(2)
                    .map(|c| u16::from_be_bytes([c[0], c[1]]))
                    .collect();
                String::from_utf16_lossy(&units)
            } else {
                String::from_utf8_lossy(v.body).into_owned()
            };
            out.push(format!("{label}={text}"));
        }
    }
    Some(out.join(", "))
}

/// UTCTime or GeneralizedTime as `YYYY-MM-DD HH:MM:SS UTC`.
fn time(d: &Der<'_>) -> Option<String> {
    let s = std::str::from_utf8(d.body).ok()?;
    let full = match d.tag {
        // RFC 5280: two-digit years 50–99 are 19xx.
        0x17 if s.len() >= 12 => {
            let century = if s[..2] >= *"50" { "19" } else { "20" };
            format!("{century}{s}")
        }
        0x18 if s.len() >= 14 => s.to_string(),
        _ => return None,
    };
    Some(format!(
        "{}-{}-{} {}:{}:{} UTC",
        &full[0..4],
        &full[4..6],
        &full[6..8],
        &full[8..10],
        &full[10..12],
        &full[12..14]
    ))
}

/// Why a server's certificate was refused, and what to do, in one sentence; `key` names the
/// CA-file setting to point to.
pub fn refusal(error: &rustls::Error, chain: &[Vec<u8>], host: &str, key: &str) -> String {
    let leaf = chain.first().and_then(|c| summary(c));
    let shown = leaf
        .as_ref()
        .map(|s| format!(" ({}, issued by {})", s.subject, s.issuer))
        .unwrap_or_default();
    match error {
        rustls::Error::InvalidCertificate(e) => match e {
            CertificateError::UnknownIssuer
            | CertificateError::BadSignature
            | CertificateError::UnsupportedSignatureAlgorithmContext { .. }
            | CertificateError::UnsupportedSignatureAlgorithmForPublicKeyContext { .. }
                if leaf.as_ref().is_some_and(Summary::self_signed) =>
            {
                format!(
                    "the server presents a self-signed certificate{shown}; have it use a \
                     certificate issued by the department's CA and put that CA in {key}"
                )
            }
            CertificateError::Other(o)
                if matches!(
                    o.0.downcast_ref::<webpki::Error>(),
                    Some(webpki::Error::CaUsedAsEndEntity)
                ) =>
            {
                format!(
                    "the server presents a self-signed CA certificate{shown} as its own; have \
                     it use a certificate issued by the department's CA and put that CA in {key}"
                )
            }
            CertificateError::UnknownIssuer => format!(
                "the server's certificate{shown} is issued by a CA this machine does not \
                 trust; put that CA's certificate (PEM) in {key}"
            ),
            CertificateError::BadSignature
            | CertificateError::UnsupportedSignatureAlgorithmContext { .. }
            | CertificateError::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => {
                format!(
                    "the server's certificate{shown} does not verify against the certificate \
                     trusted under its issuer's name; put the CA that really issued it in {key}"
                )
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                let names = leaf
                    .as_ref()
                    .map(|s| s.names.join(", "))
                    .filter(|n| !n.is_empty())
                    .unwrap_or_else(|| "other names".into());
                format!(
                    "the server's certificate{shown} is for {names}, not `{host}`; set the \
                     host to a name the certificate carries"
                )
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => format!(
                "the server's certificate{shown} expired on {}; the server's administrator \
                 must renew it (check this machine's clock too)",
                leaf.map(|s| s.not_after).unwrap_or_default()
            ),
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                format!(
                    "the server's certificate{shown} is not valid yet; check this machine's \
                     clock"
                )
            }
            other => format!("the server's certificate{shown} is refused: {other:?}"),
        },
        other => format!("TLS failed: {other}"),
    }
}

/// What went wrong with an HTTPS request (a drand relay, the timestamp authority), in the
/// mail relay's sentences when the certificate was refused: why, and what to put in `key`.
pub fn http_refusal(e: ureq::Error, url: &str, key: &str) -> String {
    let tls = match &e {
        ureq::Error::Rustls(r) => Some(r),
        ureq::Error::Io(io) => io.get_ref().and_then(|x| x.downcast_ref::<rustls::Error>()),
        _ => None,
    };
    match tls {
        Some(r) => {
            let host = url.split_once("://").map_or(url, |(_, rest)| {
                rest.split(['/', ':']).next().unwrap_or(rest)
            });
            refusal(r, &[], host, key)
        }
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_empty_ca_file_is_an_error_naming_the_setting() {
        let e = trust("smtp.ca_file", "/nonexistent/ca.pem")
            .err()
            .map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.starts_with("smtp.ca_file `/nonexistent/ca.pem`")));
        let dir = tempfile::tempdir().expect("tempdir");
        let empty = dir.path().join("ca.pem");
        std::fs::write(&empty, "not a certificate\n").expect("write");
        let e = trust("smtp.ca_file", &empty.to_string_lossy())
            .err()
            .map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("holds no PEM certificate")));
    }

    #[test]
    fn times_read_as_rfc_5280_says() {
        let utc = Der {
            tag: 0x17,
            body: b"491231235959Z",
            raw: b"",
        };
        assert_eq!(time(&utc).as_deref(), Some("2049-12-31 23:59:59 UTC"));
        let old = Der {
            tag: 0x17,
            body: b"500101000000Z",
            raw: b"",
        };
        assert_eq!(time(&old).as_deref(), Some("1950-01-01 00:00:00 UTC"));
        let generalized = Der {
            tag: 0x18,
            body: b"20510101000000Z",
            raw: b"",
        };
        assert_eq!(
            time(&generalized).as_deref(),
            Some("2051-01-01 00:00:00 UTC")
        );
        assert!(summary(b"\x30\x00").is_none());
    }
}
