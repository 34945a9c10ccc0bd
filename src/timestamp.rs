//! RFC 3161 timestamps of a history's heads (spec section 12): a timestamp authority outside
//! the department signs that a head existed at a time, so nobody, the department included, can
//! later publish another history as if it had been there. This module builds the request,
//! reads the answer and checks a token: its message imprint, and, given the authority's CA,
//! its signature and certificate chain (`webpki`, for the timeStamping purpose). Requests go
//! over HTTP (the only network code besides `beacon`; every answer is checked before it is
//! kept, every request bounded).

use rustls_pki_types::pem::PemObject;

use crate::der::{DerError, children, expect, read, tlv};
use rustls_pki_types::{CertificateDer, UnixTime};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TimestampError {
    #[error("timestamp authority {url}: {reason}")]
    Authority { url: String, reason: String },
    #[error("timestamp token: {0}")]
    Token(String),
}

fn bad(reason: impl Into<String>) -> TimestampError {
    TimestampError::Token(reason.into())
}

impl From<DerError> for TimestampError {
    fn from(e: DerError) -> Self {
        bad(e.0)
    }
}

// Object identifiers, as their DER content.
const SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
const SIGNED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];
const TST_INFO: &[u8] = &[
    0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x01, 0x04,
];
const MESSAGE_DIGEST: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x04];
const RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const RSA_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];
const ECDSA_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
/// id-kp-timeStamping, 1.3.6.1.5.5.7.3.8.
const TIME_STAMPING: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08];

/// A TimeStampReq for a SHA-256 digest, asking for the authority's certificate in the token.
pub fn request(digest: &[u8; 32], nonce: u64) -> Vec<u8> {
    let alg = tlv(0x30, &[tlv(0x06, SHA256), vec![0x05, 0x00]].concat());
    let imprint = tlv(0x30, &[alg, tlv(0x04, digest)].concat());
    // A DER INTEGER is minimal, and positive: a leading zero only before a high bit.
    let mut n: Vec<u8> = nonce
        .to_be_bytes()
        .into_iter()
        .skip_while(|&b| b == 0)
        .collect();
    if n.first().is_none_or(|&b| b & 0x80 != 0) {
        n.insert(0, 0);
    }
    let body = [tlv(0x02, &[1]), imprint, tlv(0x02, &n), tlv(0x01, &[0xff])].concat();
    tlv(0x30, &body)
}

/// The token (a CMS ContentInfo) of a TimeStampResp whose status grants it.
pub fn token_of(response: &[u8]) -> Result<Vec<u8>, TimestampError> {
    let (resp, _) = read(response)?;
    let parts = children(expect(Some(&resp), 0x30, "TimeStampResp")?)?;
    let status = children(expect(parts.first(), 0x30, "PKIStatusInfo")?)?;
    let code = expect(status.first(), 0x02, "PKIStatus")?;
    if !matches!(code.body, [0] | [1]) {
        return Err(bad(format!(
            "the authority refused the request (PKIStatus {:?})",
            code.body
        )));
    }
    Ok(expect(parts.get(1), 0x30, "timeStampToken")?.raw.to_vec())
}

/// What a checked token says.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Stamp {
    /// The authority's time (GeneralizedTime, UTC), e.g. `20240516133001Z`.
    pub gen_time: String,
    /// Whether the signature and the authority's chain were checked (a CA was given).
    pub signature_checked: bool,
}

/// Checks that `token` timestamps `digest` and, when `ca_pem` (the authority's CA
/// certificates) is given, that its signature is the authority's: a certificate in the token
/// that chains to the CA for time stamping, valid at the stamped time, signed the attributes,
/// which hold the digest of the stamped content.
pub fn check(
    token: &[u8],
    digest: &[u8; 32],
    ca_pem: Option<&[u8]>,
) -> Result<Stamp, TimestampError> {
    let (ci, _) = read(token)?;
    let ci = children(expect(Some(&ci), 0x30, "ContentInfo")?)?;
    if expect(ci.first(), 0x06, "contentType")?.body != SIGNED_DATA {
        return Err(bad("not CMS SignedData"));
    }
    let explicit = children(expect(ci.get(1), 0xa0, "content")?)?;
    let sd = children(expect(explicit.first(), 0x30, "SignedData")?)?;
    let encap = children(expect(sd.get(2), 0x30, "encapContentInfo")?)?;
    if expect(encap.first(), 0x06, "eContentType")?.body != TST_INFO {
        return Err(bad("the signed content is not a TSTInfo"));
    }
    let econtent = children(expect(encap.get(1), 0xa0, "eContent")?)?;
    let tst_bytes = expect(econtent.first(), 0x04, "eContent")?.body;
    let (tst, _) = read(tst_bytes)?;
    let tst = children(expect(Some(&tst), 0x30, "TSTInfo")?)?;
    let imprint = children(expect(tst.get(2), 0x30, "messageImprint")?)?;
    let alg = children(expect(imprint.first(), 0x30, "hashAlgorithm")?)?;
    if expect(alg.first(), 0x06, "hashAlgorithm")?.body != SHA256 {
        return Err(bad("the imprint is not SHA-256"));
    }
    if expect(imprint.get(1), 0x04, "hashedMessage")?.body != digest {
        return Err(bad("it timestamps another digest than this head"));
    }
    let stamped = expect(tst.get(4), 0x18, "genTime")?;
    let gen_time = String::from_utf8_lossy(stamped.body).into_owned();
    let Some(ca_pem) = ca_pem else {
        return Ok(Stamp {
            gen_time,
            signature_checked: false,
        });
    };
    let at = unix_time(&gen_time)?;
    let certs: Vec<CertificateDer<'_>> = match sd.get(3) {
        Some(c) if c.tag == 0xa0 => children(*c)?
            .iter()
            .map(|c| CertificateDer::from(c.raw))
            .collect(),
        _ => return Err(bad("the token carries no certificate (request certReq)")),
    };
    let signer = sd.last().copied().filter(|s| s.tag == 0x31);
    let infos = children(expect(signer.as_ref(), 0x31, "signerInfos")?)?;
    let info = children(expect(infos.first(), 0x30, "SignerInfo")?)?;
    let attrs = expect(info.get(3), 0xa0, "signedAttrs")?;
    let digest_of_content = {
        use sha2::Digest;
        sha2::Sha256::digest(tst_bytes)
    };
    let mut found = false;
    for a in children(attrs)? {
        let a = children(a)?;
        if expect(a.first(), 0x06, "attribute")?.body == MESSAGE_DIGEST {
            let values = children(expect(a.get(1), 0x31, "attribute values")?)?;
            found =
                expect(values.first(), 0x04, "messageDigest")?.body == digest_of_content.as_slice();
        }
    }
    if !found {
        return Err(bad(
            "the signed attributes do not hold the digest of the TSTInfo",
        ));
    }
    let mut signed = attrs.raw.to_vec();
    signed[0] = 0x31;
    let sig_alg = children(expect(info.get(4), 0x30, "signatureAlgorithm")?)?;
    let alg = match expect(sig_alg.first(), 0x06, "signatureAlgorithm")?.body {
        RSA | RSA_SHA256 => webpki::ring::RSA_PKCS1_2048_8192_SHA256,
        ECDSA_SHA256 => webpki::ring::ECDSA_P256_SHA256,
        _ => {
            return Err(bad(
                "unsupported signature algorithm (RSA or ECDSA P-256 with SHA-256)",
            ));
        }
    };
    let signature = expect(info.get(5), 0x04, "signature")?.body;
    let cas: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(ca_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| bad(format!("the authority's CA file: {e}")))?;
    let anchors = cas
        .iter()
        .map(|c| webpki::anchor_from_trusted_cert(c).map(|a| a.to_owned()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("the authority's CA file: {e}")))?;
    if anchors.is_empty() {
        return Err(bad("the authority's CA file holds no certificate"));
    }
    let mut why = String::from("no certificate in the token");
    for c in &certs {
        let ee = match webpki::EndEntityCert::try_from(c) {
            Ok(ee) => ee,
            Err(e) => {
                why = e.to_string();
                continue;
            }
        };
        let chain = ee.verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            &anchors,
            &certs,
            at,
            webpki::KeyUsage::required(TIME_STAMPING),
            None,
            None,
        );
        match chain.and_then(|_| ee.verify_signature(alg, &signed, signature)) {
            Ok(()) => {
                return Ok(Stamp {
                    gen_time,
                    signature_checked: true,
                });
            }
            Err(e) => why = e.to_string(),
        }
    }
    Err(bad(format!(
        "not signed by a time-stamping certificate of the given CA ({why})"
    )))
}

/// A GeneralizedTime (`YYYYMMDDHHMMSS[.fff]Z`) as a Unix time.
fn unix_time(g: &str) -> Result<UnixTime, TimestampError> {
    let core = g.get(..14).ok_or_else(|| bad(format!("genTime `{g}`")))?;
    let t = chrono::NaiveDateTime::parse_from_str(core, "%Y%m%d%H%M%S")
        .map_err(|_| bad(format!("genTime `{g}`")))?;
    let secs = u64::try_from(t.and_utc().timestamp()).map_err(|_| bad("genTime before 1970"))?;
    Ok(UnixTime::since_unix_epoch(std::time::Duration::from_secs(
        secs,
    )))
}

/// Asks the authority at `url` to timestamp `digest`; the token, once it checks against the
/// digest (and the CA, when given).
pub fn fetch(
    url: &str,
    digest: &[u8; 32],
    ca_pem: Option<&[u8]>,
    timeout: std::time::Duration,
    tls: ureq::tls::TlsConfig,
) -> Result<Vec<u8>, TimestampError> {
    let fail = |reason: String| TimestampError::Authority {
        url: url.to_string(),
        reason,
    };
    let mut nonce = [0u8; 8];
    use rand::TryRng;
    rand::rngs::SysRng
        .try_fill_bytes(&mut nonce)
        .map_err(|e| fail(format!("no random nonce: {e}")))?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .tls_config(tls)
        .http_status_as_error(false)
        .build()
        .into();
    let mut resp = agent
        .post(url)
        .header("Content-Type", "application/timestamp-query")
        .send(&request(digest, u64::from_be_bytes(nonce))[..])
        .map_err(|e| fail(crate::tls::http_refusal(e, url, "beacon.ca_file")))?;
    if resp.status() != 200 {
        return Err(fail(format!("HTTP {}", resp.status())));
    }
    let body = resp
        .body_mut()
        .with_config()
        .limit(1 << 20)
        .read_to_vec()
        .map_err(|e| fail(e.to_string()))?;
    let token = token_of(&body).map_err(|e| fail(e.to_string()))?;
    check(&token, digest, ca_pem).map_err(|e| fail(e.to_string()))?;
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_and_requests_encode_as_der() {
        let long = tlv(0x04, &[7u8; 300]);
        assert_eq!(&long[..4], &[0x04, 0x82, 0x01, 0x2c]);
        let (d, rest) = read(&long).expect("read");
        assert_eq!((d.tag, d.body.len(), rest.len()), (0x04, 300, 0));
        let req = request(&[1u8; 32], 42);
        let (r, _) = read(&req).expect("request");
        let parts = children(r).expect("parts");
        assert_eq!(parts.len(), 4);
        assert_eq!(parts[0].body, &[1]);
        assert!(read(&[0x30, 0x05, 0x01]).is_err(), "truncated");
        assert!(check(&[0x30, 0x00], &[0u8; 32], None).is_err());
    }
}
