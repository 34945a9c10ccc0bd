//! Signing in through the province's 统一身份认证 (OpenID Connect): the request the browser is
//! sent with, the provider's answer turned into a session of the account linked to its
//! subject, and the link itself (`suiji user link`).

use super::accounts::{Opened, account_of};
use super::{Ctx, OpsError, Result};
use crate::accounts;
use crate::sso::{self, Provider};

/// How long a sign-in may take at the provider.
const WITHIN_MINUTES: i64 = 10;

fn settings<'a>(ctx: &'a Ctx<'_>) -> Result<&'a crate::config::OidcSettings> {
    let o = &ctx.settings.console.oidc;
    if o.enabled() {
        Ok(o)
    } else {
        Err(OpsError::Invalid(
            "single sign-on is off (console.oidc.issuer is empty)".into(),
        ))
    }
}

fn failed(e: sso::SsoError) -> OpsError {
    match e {
        e @ sso::SsoError::Token(_) => OpsError::Invalid(e.to_string()),
        e => OpsError::Internal(e.to_string()),
    }
}

/// The provider's discovery document, as last read for an issuer: read again after ten
/// minutes, so that a flood of sign-ins does not become a flood of requests to the provider.
static DISCOVERED: std::sync::Mutex<Option<(std::time::Instant, Provider)>> =
    std::sync::Mutex::new(None);

async fn provider(o: &crate::config::OidcSettings) -> Result<(Provider, ureq::tls::TlsConfig)> {
    let tls = o.tls().map_err(|e| OpsError::Internal(e.to_string()))?;
    let fresh = |(at, p): &(std::time::Instant, Provider)| {
        at.elapsed() < std::time::Duration::from_secs(600) && p.issuer == o.issuer
    };
    let known = DISCOVERED
        .lock()
        .ok()
        .and_then(|d| d.as_ref().filter(|d| fresh(d)).map(|(_, p)| p.clone()));
    if let Some(p) = known {
        return Ok((p, tls));
    }
    let (issuer, t) = (o.issuer.clone(), tls.clone());
    let p = tokio::task::spawn_blocking(move || sso::discover(&issuer, t))
        .await
        .map_err(|e| OpsError::Internal(e.to_string()))?
        .map_err(failed)?;
    if let Ok(mut d) = DISCOVERED.lock() {
        *d = Some((std::time::Instant::now(), p.clone()));
    }
    Ok((p, tls))
}

/// Begins a sign-in: where to send the browser, and the state its cookie keeps.
pub async fn begin(ctx: &Ctx<'_>) -> Result<(String, String)> {
    let o = settings(ctx)?;
    let (p, _) = provider(o).await?;
    let (state, nonce, verifier) = (accounts::token()?, accounts::token()?, accounts::token()?);
    let stale = crate::clock::stamp(ctx.clock.wall() - chrono::Duration::days(1));
    ctx.store
        .begin_sso(
            &accounts::token_digest(&state),
            (&nonce, &verifier),
            &stale,
            ctx.clock,
        )
        .await?;
    let url = sso::authorize_url(
        &p,
        (&o.client_id, &o.redirect_url),
        (&state, &nonce, &verifier),
    );
    Ok((url, state))
}

/// Why a sign-in through the provider opens no session.
#[derive(Debug, PartialEq, Eq)]
pub enum Unlinked {
    /// No enabled account is linked to the provider's subject (named, so an admin can link it).
    Subject(String),
}

/// Ends a sign-in: the provider's `code` for the sign-in of `state` (taken once, within ten
/// minutes), traded for the ID token, whose subject's account gets a new session.
pub async fn finish(
    ctx: &Ctx<'_>,
    (state, code): (&str, &str),
    address: &str,
) -> Result<std::result::Result<Opened, Unlinked>> {
    let o = settings(ctx)?;
    let since = crate::clock::stamp(ctx.clock.wall() - chrono::Duration::minutes(WITHIN_MINUTES));
    let Some((nonce, verifier)) = ctx
        .store
        .take_sso(&accounts::token_digest(state), &since, ctx.clock)
        .await?
    else {
        return Err(OpsError::Invalid(
            "this sign-in is unknown, was used already or took too long: sign in again".into(),
        ));
    };
    let (p, tls) = provider(o).await?;
    let secret = o.secret().map_err(|e| OpsError::Internal(e.to_string()))?;
    let (client, redirect, code) = (
        o.client_id.clone(),
        o.redirect_url.clone(),
        code.to_string(),
    );
    let id_token = tokio::task::spawn_blocking(move || {
        sso::exchange(
            &p,
            (&client, secret.expose(), &redirect),
            (&code, &verifier),
            tls,
        )
    })
    .await
    .map_err(|e| OpsError::Internal(e.to_string()))?
    .map_err(failed)?;
    let subject = sso::subject(
        &id_token,
        (&o.issuer, &o.client_id, &nonce),
        ctx.clock.wall().with_timezone(&chrono::Utc),
    )
    .map_err(failed)?;
    let account = ctx
        .store
        .account_by_sso(&subject)
        .await?
        .map(|r| account_of(&r))
        .filter(|a| !a.disabled);
    match account {
        Some(a) => Ok(Ok(super::accounts::open(ctx, a, address).await?)),
        None => Ok(Err(Unlinked::Subject(subject))),
    }
}

/// Links the provider's `subject` to the account `login` (audited).
pub async fn link(ctx: &Ctx<'_>, login: &str, subject: &str) -> Result<()> {
    let subject = subject.trim();
    if subject.is_empty() || subject.len() > 255 {
        return Err(OpsError::Invalid(
            "the subject is the provider's `sub` claim: 1 to 255 bytes".into(),
        ));
    }
    crate::text::check_note("the subject", subject, 255).map_err(OpsError::Invalid)?;
    Ok(ctx
        .store
        .link_sso(login, subject, ctx.clock, ctx.actor)
        .await?)
}
