//! The public randomness beacon for unattended draws: drand's `quicknet` chain, run by the
//! League of Entropy. A round's signature is checked offline against the chain's public key
//! (BLS on G1, RFC 9380 hashing, via the `drand-verify` crate); its randomness is the SHA-256 of
//! the signature. Which round a plan uses is fixed in the manifest before the round exists: the
//! first round at or after the plan's `available_at`.
//!
//! Everything here is pure except [`fetch`], which asks relays over HTTP(S) for a round and
//! still verifies what they answer: a relay is trusted for availability, never for the value.

use std::time::Duration;

use chrono::{DateTime, FixedOffset, TimeZone};
use serde::{Deserialize, Serialize};

/// `quicknet`: scheme `bls-unchained-g1-rfc9380`, a round every 3 s.
pub const CHAIN_HASH: &str = "52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971";
pub const PUBLIC_KEY: &str = "83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c8c4b450b6a0a6c3ac6a5776a2d1064510d1fec758c921cc22b0e17e63aaf4bcb5ed66304de9cf809bd274ca73bab4af5a6e9c76a4bc09e76eae8991ef5ece45a";
/// Unix seconds of round 1.
pub const GENESIS: i64 = 1_692_803_367;
pub const PERIOD_SECS: i64 = 3;

/// What a manifest fixes about the beacon before the round exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BeaconDecl {
    pub chain_hash: String,
    pub public_key: String,
    pub genesis_time: i64,
    pub period: i64,
    pub round: u64,
}

impl BeaconDecl {
    /// The quicknet round that is the first at or after `t`.
    pub fn quicknet_at(t: DateTime<FixedOffset>) -> BeaconDecl {
        BeaconDecl {
            chain_hash: CHAIN_HASH.to_string(),
            public_key: PUBLIC_KEY.to_string(),
            genesis_time: GENESIS,
            period: PERIOD_SECS,
            round: round_at_or_after(t.timestamp()),
        }
    }

    /// Refuses a declaration that is not quicknet, or whose round is not the one `t` implies.
    pub fn check(&self, t: DateTime<FixedOffset>) -> Result<(), BeaconError> {
        let expected = BeaconDecl::quicknet_at(t);
        if self.chain_hash != expected.chain_hash
            || self.public_key != expected.public_key
            || self.genesis_time != expected.genesis_time
            || self.period != expected.period
        {
            return Err(BeaconError::Invalid(
                "the beacon is not drand quicknet (chain hash, public key, genesis or period \
                 differ from the published chain)"
                    .into(),
            ));
        }
        if self.round != expected.round {
            return Err(BeaconError::Invalid(format!(
                "round {} is not the first quicknet round at or after {t} (that is round {})",
                self.round, expected.round
            )));
        }
        Ok(())
    }
}

/// A round as a relay (or an admin) gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Beacon {
    pub round: u64,
    /// Hex of the 48-byte G1 signature.
    pub signature: String,
    /// Hex SHA-256 of the signature.
    pub randomness: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BeaconError {
    #[error("beacon: {0}")]
    Invalid(String),
    #[error(
        "beacon round {round}: the signature does not verify against the quicknet public key \
         (forged, corrupted, or of another round)"
    )]
    BadSignature { round: u64 },
    #[error("beacon round {round} is not published yet (it is due at {due})")]
    NotYet { round: u64, due: String },
    #[error("beacon round {round}: no relay answered with a valid round: {errors}")]
    Unavailable { round: u64, errors: String },
}

/// The first round whose time is at or after Unix second `t` (round 1 for anything earlier).
pub fn round_at_or_after(t: i64) -> u64 {
    if t <= GENESIS {
        return 1;
    }
    let since = t - GENESIS;
    (since.div_euclid(PERIOD_SECS) + i64::from(since.rem_euclid(PERIOD_SECS) != 0) + 1) as u64
}

/// When a round is published (Unix seconds).
pub fn round_time(round: u64) -> i64 {
    GENESIS + (round as i64 - 1) * PERIOD_SECS
}

/// The round's publication time in Asia/Shanghai, for messages.
pub fn round_time_text(round: u64) -> String {
    chrono_tz::Asia::Shanghai
        .timestamp_opt(round_time(round), 0)
        .single()
        .map(|t| t.to_rfc3339())
        .unwrap_or_else(|| format!("unix {}", round_time(round)))
}

pub fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Verifies a quicknet round offline and returns it with its randomness.
pub fn verify(round: u64, signature_hex: &str) -> Result<Beacon, BeaconError> {
    use drand_verify::{G2PubkeyRfc, Pubkey};
    let signature = signature_hex.trim().to_ascii_lowercase();
    let bytes = hex_decode(&signature)
        .filter(|b| b.len() == 48)
        .ok_or_else(|| {
            BeaconError::Invalid(format!(
                "a quicknet signature is 96 hex digits (48 bytes); got {} characters",
                signature.chars().count()
            ))
        })?;
    let key: [u8; 96] = hex_decode(PUBLIC_KEY)
        .and_then(|k| k.try_into().ok())
        .ok_or_else(|| BeaconError::Invalid("built-in public key".into()))?;
    let pk = G2PubkeyRfc::from_fixed(key)
        .map_err(|e| BeaconError::Invalid(format!("built-in public key: {e}")))?;
    match pk.verify(round, b"", &bytes) {
        Ok(true) => Ok(Beacon {
            round,
            randomness: crate::audit::hex(&drand_verify::derive_randomness(&bytes)),
            signature,
        }),
        Ok(false) | Err(_) => Err(BeaconError::BadSignature { round }),
    }
}

/// Where and how patiently to ask for a round.
#[derive(Debug, Clone)]
pub struct Relays {
    pub urls: Vec<String>,
    pub timeout: Duration,
    /// Passes over the relay list before giving up.
    pub attempts: u32,
    pub backoff: Duration,
    /// The system's roots and `beacon.ca_file`.
    pub tls: ureq::tls::TlsConfig,
}

#[derive(Deserialize)]
struct RelayAnswer {
    round: u64,
    signature: String,
}

/// Asks each relay in turn for `round` (every request bounded by `timeout`, whole passes
/// repeated `attempts` times with a pause between) and returns the first answer that verifies.
/// A relay that lies is skipped; a round in the future is reported as not yet published.
pub async fn fetch(relays: &Relays, round: u64, now_unix: i64) -> Result<Beacon, BeaconError> {
    if now_unix < round_time(round) {
        return Err(BeaconError::NotYet {
            round,
            due: round_time_text(round),
        });
    }
    if relays.urls.is_empty() {
        return Err(BeaconError::Unavailable {
            round,
            errors: "no relays configured (beacon.relays)".into(),
        });
    }
    let mut errors = Vec::new();
    for attempt in 0..relays.attempts.max(1) {
        if attempt > 0 {
            tokio::time::sleep(relays.backoff * attempt).await;
        }
        for base in &relays.urls {
            let url = format!("{}/{CHAIN_HASH}/public/{round}", base.trim_end_matches('/'));
            let (timeout, tls) = (relays.timeout, relays.tls.clone());
            let got = tokio::task::spawn_blocking(move || get_json(&url, timeout, tls)).await;
            let answer = match got {
                Ok(Ok(a)) => a,
                Ok(Err(e)) => {
                    errors.push(format!("{base}: {e}"));
                    continue;
                }
                Err(e) => {
                    errors.push(format!("{base}: {e}"));
                    continue;
                }
            };
            if answer.round != round {
                errors.push(format!("{base}: answered round {}", answer.round));
                continue;
            }
            match verify(round, &answer.signature) {
                Ok(b) => return Ok(b),
                Err(e) => errors.push(format!("{base}: {e}")),
            }
        }
    }
    Err(BeaconError::Unavailable {
        round,
        errors: errors.join("; "),
    })
}

fn get_json(
    url: &str,
    timeout: Duration,
    tls: ureq::tls::TlsConfig,
) -> Result<RelayAnswer, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .tls_config(tls)
        .http_status_as_error(true)
        .build()
        .into();
    let mut response = agent
        .get(url)
        .call()
        .map_err(|e| crate::tls::http_refusal(e, url, "beacon.ca_file"))?;
    let body = response
        .body_mut()
        .with_config()
        .limit(64 * 1024)
        .read_to_string()
        .map_err(|e| e.to_string())?;
    serde_json::from_str(&body).map_err(|e| format!("not a drand round: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIG: &str = "b713718a38ae728dfd477991af2822e08d2f305e47718cef9f7848ce4050e7be41076862b98fad56e91a6b85b89cd97b";

    #[test]
    fn golden_vector() {
        let b = verify(657413, SIG).expect("verifies");
        assert_eq!(
            b.randomness,
            "fc1873a13f3545aeade8401532ef5519920652eee6b0d2b19ca12643b87b3587"
        );
    }

    #[test]
    fn another_round_or_a_flipped_bit_is_refused() {
        assert_eq!(
            verify(657414, SIG),
            Err(BeaconError::BadSignature { round: 657414 })
        );
        let mut flipped = SIG.to_string();
        flipped.replace_range(10..11, "0");
        assert!(verify(657413, &flipped).is_err());
        assert!(matches!(
            verify(657413, "abc"),
            Err(BeaconError::Invalid(_))
        ));
    }

    #[test]
    fn rounds_and_times() {
        assert_eq!(round_at_or_after(GENESIS), 1);
        assert_eq!(round_at_or_after(GENESIS + 1), 2);
        assert_eq!(round_at_or_after(GENESIS + 3), 2);
        assert_eq!(round_at_or_after(GENESIS + 4), 3);
        assert_eq!(round_time(657413), 1_694_775_603);
        assert_eq!(round_at_or_after(1_694_775_603), 657413);
        assert_eq!(round_at_or_after(1_694_775_601), 657413);
    }
}
