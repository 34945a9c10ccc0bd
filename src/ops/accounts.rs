//! Console accounts and sessions: adding, resetting and disabling accounts (`suiji user`, the
//! admin page), logging in with throttling, finding the account of a session token, logging
//! out here or everywhere, and a bureau's acknowledgement of a 函告.

use serde::Serialize;

use super::{Ctx, OpsError, Result, refused};
use crate::accounts::{self, Account, Role};
use crate::clock::stamp;
use crate::store::AccountRow;

impl From<accounts::AccountError> for OpsError {
    fn from(e: accounts::AccountError) -> Self {
        match e {
            accounts::AccountError::Invalid(r) => OpsError::Refused(r),
            e => OpsError::Internal(e.to_string()),
        }
    }
}

/// The account a stored row describes (a row with an unknown role reads as disabled).
pub fn account_of(row: &AccountRow) -> Account {
    let role = Role::parse(&row.role);
    Account {
        id: row.id,
        login: row.login.clone(),
        name: row.name.clone(),
        role: role.unwrap_or(Role::Auditor),
        scope: row.scope.clone(),
        disabled: row.disabled_at.is_some() || role.is_none(),
    }
}

/// What adding or resetting an account gives back: the password, when suiji generated it
/// (shown once, never stored or logged).
#[derive(Debug, Serialize)]
pub struct Credentials {
    pub login: String,
    pub generated_password: Option<String>,
}

fn password_or_generated(given: Option<&str>) -> Result<(String, bool)> {
    match given {
        Some(p) => {
            accounts::check_password(p)?;
            Ok((p.to_string(), false))
        }
        None => Ok((accounts::token()?[..24].to_string(), true)),
    }
}

/// Adds an account. A division account names its division's code (`[[divisions]]`), a bureau
/// account its municipal unit; admins and auditors have no scope.
pub async fn add(
    ctx: &Ctx<'_>,
    (login, name): (&str, &str),
    role: Role,
    scope: Option<&str>,
    password: Option<&str>,
) -> Result<Credentials> {
    accounts::check_login(login)?;
    crate::text::check_note("the account's name", name, 100).map_err(OpsError::Invalid)?;
    let scope = scope.map(str::trim).filter(|s| !s.is_empty());
    let vocab = ctx
        .settings
        .vocabulary()
        .map_err(|e| OpsError::Invalid(e.to_string()))?;
    let q = |s: &str| crate::text::quote(s);
    let scope = match (role, scope) {
        (Role::Admin | Role::Auditor, None) => None,
        (Role::Admin | Role::Auditor, Some(s)) => {
            return refused(
                format!(
                    "--scope `{}`: an {} account sees everything and has no scope",
                    q(s),
                    role.code()
                ),
                format!("“{}”：管理员和审计账号查看全部，不设范围", q(s)),
            );
        }
        (Role::Division, Some(s)) => match vocab.division(s) {
            Some(d) => Some(d.code.clone()),
            None => {
                return refused(
                    format!(
                        "--scope `{}` is not a division of the configuration's [[divisions]] \
                         (its code, label or an alias)",
                        q(s)
                    ),
                    format!("“{}”不是配置中的处室（代码、名称或别名）", q(s)),
                );
            }
        },
        (Role::Bureau, Some(s)) => match vocab.unit(s) {
            Some(u) => Some(u.code.to_string()),
            None => {
                return refused(
                    format!(
                        "--scope `{}` is not a municipal unit (its name or code, e.g. 郑州 or \
                         4101)",
                        q(s)
                    ),
                    format!("“{}”不是地市（名称或代码，如 郑州 或 4101）", q(s)),
                );
            }
        },
        (Role::Division | Role::Bureau, None) => {
            let (en, zh) = if role == Role::Division {
                ("division's code", "处室")
            } else {
                ("municipal unit", "地市")
            };
            return refused(
                format!("a {} account needs --scope: its {en}", role.code()),
                format!("该类账号须指定范围：所属{zh}"),
            );
        }
    };
    // The store refuses it too, under its writer lock; this says it in the console's language.
    if ctx.store.account(login).await?.is_some() {
        return refused(
            format!(
                "an account `{}` exists already (use `suiji user reset` for a new password)",
                q(login)
            ),
            format!("账号“{}”已存在（重置密码请用“重置密码”）", q(login)),
        );
    }
    let (password, generated) = password_or_generated(password)?;
    let hash = accounts::hash_password(&password)?;
    ctx.store
        .add_account(
            (login, name),
            role.code(),
            scope.as_deref(),
            &hash,
            ctx.clock,
            ctx.actor,
        )
        .await?;
    Ok(Credentials {
        login: login.to_string(),
        generated_password: generated.then_some(password),
    })
}

/// Sets a new password (given, or generated and returned once); enables a disabled account;
/// ends all its sessions.
pub async fn reset(ctx: &Ctx<'_>, login: &str, password: Option<&str>) -> Result<Credentials> {
    let (password, generated) = password_or_generated(password)?;
    let hash = accounts::hash_password(&password)?;
    ctx.store
        .change_account(login, Some(&hash), ctx.clock, ctx.actor)
        .await?;
    Ok(Credentials {
        login: login.to_string(),
        generated_password: generated.then_some(password),
    })
}

/// Disables an account and ends its sessions (the account and what it recorded stay).
pub async fn disable(ctx: &Ctx<'_>, login: &str) -> Result<()> {
    Ok(ctx
        .store
        .change_account(login, None, ctx.clock, ctx.actor)
        .await?)
}

pub async fn list(ctx: &Ctx<'_>) -> Result<Vec<AccountRow>> {
    Ok(ctx.store.accounts().await?)
}

/// A session opened by a login: the token goes into the cookie, the CSRF token into forms.
#[derive(Debug)]
pub struct Opened {
    pub token: String,
    pub csrf: String,
    pub account: Account,
}

/// Why a login was refused. The same words for an unknown login, a wrong password and a
/// disabled account: the page must not tell which logins exist.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    Wrong,
    Throttled,
}

/// Logs in from `address`: refused while throttled (counting before the password is even
/// checked, so guessing gains nothing); a failure is recorded against the login and the
/// address. A new session token every time: no id from before the login stays valid.
pub async fn login(
    ctx: &Ctx<'_>,
    login: &str,
    password: &str,
    address: &str,
) -> Result<std::result::Result<Opened, Refused>> {
    let throttle = ctx.settings.console.throttle();
    let since = stamp(ctx.clock.wall() - throttle.window);
    let login = login.trim();
    // Failures are counted under the login as typed (bounded: it is stored).
    let key = crate::text::quote_at_most(login, 64);
    let (for_login, from_address) = ctx.store.login_failures(&key, address, &since).await?;
    if throttle.refuses(for_login, from_address) {
        return Ok(Err(Refused::Throttled));
    }
    let row = if accounts::check_login(login).is_ok() {
        ctx.store.account(login).await?
    } else {
        None
    };
    let hash = row
        .as_ref()
        .map_or(accounts::decoy_hash(), |r| r.password_hash.as_str())
        .to_string();
    let matches = verify(hash, password.to_string()).await;
    let account = row.as_ref().map(account_of).filter(|a| !a.disabled);
    let Some(account) = account.filter(|_| matches) else {
        ctx.store.login_failed(&key, address, ctx.clock).await?;
        return Ok(Err(Refused::Wrong));
    };
    Ok(Ok(open(ctx, account, address).await?))
}

/// A new session of `account` from `address`, whatever signed it in.
pub(super) async fn open(ctx: &Ctx<'_>, account: Account, address: &str) -> Result<Opened> {
    let token = accounts::token()?;
    let csrf = accounts::token()?;
    ctx.store
        .open_session(
            &accounts::token_digest(&token),
            account.id,
            &csrf,
            address,
            ctx.clock,
        )
        .await?;
    Ok(Opened {
        token,
        csrf,
        account,
    })
}

/// Argon2 verifications at once: each takes 19 MiB and tens of milliseconds of a core, so a
/// flood of logins queues here instead of exhausting the server's memory, and the work runs
/// off the async workers.
static HASHING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

async fn verify(hash: String, password: String) -> bool {
    let Ok(_permit) = HASHING.acquire().await else {
        return false;
    };
    tokio::task::spawn_blocking(move || accounts::verify_password(&hash, &password))
        .await
        .unwrap_or(false)
}

/// The account and CSRF token of a live session, if `token` is one. A request more than a
/// minute after the last one moves the session's idle clock on.
pub async fn session(ctx: &Ctx<'_>, token: &str) -> Result<Option<(Account, String)>> {
    let digest = accounts::token_digest(token);
    let Some(s) = ctx.store.session(&digest).await? else {
        return Ok(None);
    };
    let account = account_of(&s.account);
    let parse =
        |t: &str| crate::clock::parse_time(t).map(|t| t.with_timezone(&chrono_tz::Asia::Shanghai));
    let (Some(created), Some(seen)) = (parse(&s.created_at), parse(&s.last_seen)) else {
        return Ok(None);
    };
    let now = ctx.clock.wall();
    if s.ended_at.is_some()
        || account.disabled
        || !ctx.settings.console.sessions().alive(created, seen, now)
    {
        return Ok(None);
    }
    if now - seen > chrono::Duration::minutes(1) {
        ctx.store.touch_session(&digest, &stamp(now)).await?;
    }
    Ok(Some((account, s.csrf)))
}

/// Ends the session of `token`, or every session of its account.
pub async fn logout(ctx: &Ctx<'_>, token: &str, everywhere: bool) -> Result<()> {
    Ok(ctx
        .store
        .end_session(&accounts::token_digest(token), everywhere, ctx.clock)
        .await?)
}
