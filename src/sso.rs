//! Single sign-on over OpenID Connect (a province's 统一身份认证), authorization-code flow with
//! PKCE: the request the browser is sent to the provider with, and what the provider's ID
//! token must say before an account is signed in. The token comes straight from the provider's
//! token endpoint over TLS, with the client's secret, so its issuer is vouched for by TLS (OIDC
//! Core 3.1.3.7) and its claims are what is checked: issuer, audience, expiry, nonce. Pure but
//! for `discover` and `exchange`, the two requests to the provider.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::Deserialize;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SsoError {
    #[error("single sign-on: {0}")]
    Provider(String),
    #[error("single sign-on: the ID token is refused: {0}")]
    Token(String),
}

/// What the provider's discovery document says (`/.well-known/openid-configuration`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Provider {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
}

/// The PKCE challenge of `verifier` (S256).
pub fn challenge(verifier: &str) -> String {
    use sha2::Digest;
    URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()))
}

/// Where the browser goes to sign in: the provider's authorization endpoint with the flow's
/// state, nonce and PKCE challenge.
pub fn authorize_url(
    p: &Provider,
    (client_id, redirect): (&str, &str),
    (state, nonce, verifier): (&str, &str, &str),
) -> String {
    let q = [
        ("response_type", "code"),
        ("scope", "openid"),
        ("client_id", client_id),
        ("redirect_uri", redirect),
        ("state", state),
        ("nonce", nonce),
        ("code_challenge", &challenge(verifier)),
        ("code_challenge_method", "S256"),
    ]
    .iter()
    .map(|(k, v)| format!("{k}={}", crate::text::percent(v)))
    .collect::<Vec<_>>()
    .join("&");
    let sep = if p.authorization_endpoint.contains('?') {
        '&'
    } else {
        '?'
    };
    format!("{}{sep}{q}", p.authorization_endpoint)
}

#[derive(Deserialize)]
struct Claims {
    iss: String,
    aud: Audience,
    sub: String,
    exp: i64,
    nonce: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

/// The subject of an ID token the provider issued for this client and this flow, still valid
/// at `now` (a minute's leeway for clocks).
pub fn subject(
    id_token: &str,
    (issuer, client_id, nonce): (&str, &str, &str),
    now: DateTime<Utc>,
) -> Result<String, SsoError> {
    let bad = |m: &str| SsoError::Token(m.to_string());
    let mut parts = id_token.split('.');
    let (Some(_), Some(payload), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("not a JWT (three parts)"));
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| bad("its claims are not base64url"))?;
    let c: Claims =
        serde_json::from_slice(&bytes).map_err(|e| SsoError::Token(format!("its claims: {e}")))?;
    if c.iss != issuer {
        return Err(SsoError::Token(format!(
            "issued by `{}`, not the configured issuer",
            crate::text::quote(&c.iss)
        )));
    }
    let ours = match &c.aud {
        Audience::One(a) => a == client_id,
        Audience::Many(all) => all.iter().any(|a| a == client_id),
    };
    if !ours {
        return Err(bad("issued for another client (aud)"));
    }
    if c.exp + 60 < now.timestamp() {
        return Err(bad("expired"));
    }
    match &c.nonce {
        Some(n) if crate::accounts::same_secret(n, nonce) => {}
        _ => return Err(bad("its nonce is not this sign-in's (a replay?)")),
    }
    if c.sub.is_empty() || c.sub.len() > 255 {
        return Err(bad("no usable subject"));
    }
    Ok(c.sub)
}

/// The issuer's URL must be HTTPS, but for a provider on this machine (a test's).
pub fn check_issuer(issuer: &str) -> Result<(), SsoError> {
    let loopback = ["http://127.0.0.1:", "http://localhost:", "http://[::1]:"];
    if issuer.starts_with("https://") || loopback.iter().any(|l| issuer.starts_with(l)) {
        Ok(())
    } else {
        Err(SsoError::Provider(format!(
            "console.oidc.issuer `{}` must be an https:// URL",
            crate::text::quote(issuer)
        )))
    }
}

fn agent(tls: ureq::tls::TlsConfig) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(std::time::Duration::from_secs(15)))
        .tls_config(tls)
        .http_status_as_error(false)
        .build()
        .into()
}

fn read_json<T: serde::de::DeserializeOwned>(
    mut r: ureq::http::Response<ureq::Body>,
    url: &str,
) -> Result<T, SsoError> {
    let status = r.status();
    let body = r
        .body_mut()
        .with_config()
        .limit(256 * 1024)
        .read_to_string()
        .map_err(|e| SsoError::Provider(format!("{url}: {e}")))?;
    if !status.is_success() {
        return Err(SsoError::Provider(format!(
            "{url} answered {status}: {}",
            crate::text::quote_at_most(&body, 300)
        )));
    }
    serde_json::from_str(&body).map_err(|e| SsoError::Provider(format!("{url}: {e}")))
}

/// The provider's discovery document, which must name the configured issuer. Blocking.
pub fn discover(issuer: &str, tls: ureq::tls::TlsConfig) -> Result<Provider, SsoError> {
    check_issuer(issuer)?;
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let r = agent(tls).get(&url).call().map_err(|e| {
        SsoError::Provider(crate::tls::http_refusal(e, &url, "console.oidc.ca_file"))
    })?;
    let p: Provider = read_json(r, &url)?;
    if p.issuer != issuer {
        return Err(SsoError::Provider(format!(
            "{url} names the issuer `{}`, not `{issuer}`",
            crate::text::quote(&p.issuer)
        )));
    }
    Ok(p)
}

#[derive(Deserialize)]
struct Tokens {
    id_token: String,
}

/// Trades the authorization code for the ID token at the token endpoint (the client's
/// secret in HTTP Basic, the PKCE verifier). Blocking.
pub fn exchange(
    p: &Provider,
    (client_id, secret, redirect): (&str, &str, &str),
    (code, verifier): (&str, &str),
    tls: ureq::tls::TlsConfig,
) -> Result<String, SsoError> {
    let credentials = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        crate::text::percent(client_id),
        crate::text::percent(secret)
    ));
    let r = agent(tls)
        .post(&p.token_endpoint)
        .header("authorization", format!("Basic {credentials}"))
        .send_form([
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect),
            ("code_verifier", verifier),
            ("client_id", client_id),
        ])
        .map_err(|e| {
            SsoError::Provider(crate::tls::http_refusal(
                e,
                &p.token_endpoint,
                "console.oidc.ca_file",
            ))
        })?;
    let t: Tokens = read_json(r, &p.token_endpoint)?;
    Ok(t.id_token)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(claims: serde_json::Value) -> String {
        let enc = |v: &serde_json::Value| URL_SAFE_NO_PAD.encode(v.to_string());
        format!(
            "{}.{}.c2ln",
            enc(&serde_json::json!({"alg": "RS256"})),
            enc(&claims)
        )
    }

    /// The RFC 7636 appendix B vector.
    #[test]
    fn pkce_challenge_golden() {
        assert_eq!(
            challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    /// A token for this client and flow gives its subject; another issuer, audience or nonce,
    /// an expired token, a malformed one are refused.
    #[test]
    fn id_token_claims() {
        let now = Utc::now();
        let good = serde_json::json!({
            "iss": "https://sso.example.gov.cn", "aud": ["other", "suiji"], "sub": "u-1",
            "exp": now.timestamp() + 300, "nonce": "n1",
        });
        let flow = ("https://sso.example.gov.cn", "suiji", "n1");
        assert_eq!(subject(&token(good.clone()), flow, now), Ok("u-1".into()));
        for (key, value, says) in [
            ("iss", serde_json::json!("https://evil.example"), "issuer"),
            ("aud", serde_json::json!("other"), "another client"),
            ("exp", serde_json::json!(now.timestamp() - 120), "expired"),
            ("nonce", serde_json::json!("n2"), "nonce"),
            ("sub", serde_json::json!(""), "subject"),
        ] {
            let mut c = good.clone();
            c[key] = value;
            let e = subject(&token(c), flow, now).expect_err(key).to_string();
            assert!(e.contains(says), "{key}: {e}");
        }
        assert!(subject("a.b", flow, now).is_err());
        assert!(subject("a.!!!.c", flow, now).is_err());
        assert!(check_issuer("http://sso.example.gov.cn").is_err());
        assert!(check_issuer("http://127.0.0.1:9000").is_ok());
    }

    #[test]
    fn the_authorization_request() {
        let p = Provider {
            issuer: "https://sso.example".into(),
            authorization_endpoint: "https://sso.example/auth?realm=hn".into(),
            token_endpoint: "https://sso.example/token".into(),
        };
        let url = authorize_url(
            &p,
            ("suiji", "https://c.example/login/sso/callback"),
            ("s", "n", "v"),
        );
        assert!(url.starts_with("https://sso.example/auth?realm=hn&response_type=code&scope=openid&client_id=suiji&redirect_uri=https%3A%2F%2Fc.example%2Flogin%2Fsso%2Fcallback&state=s&nonce=n&code_challenge="), "{url}");
        assert!(url.ends_with("&code_challenge_method=S256"));
    }
}
