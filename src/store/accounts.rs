//! The console's accounts, sessions, failed logins and bureaus' receipts of 函告. A change to
//! an account is audited (never its password hash); a session is kept by its token's SHA-256,
//! ended, never deleted, so who was logged in when stays known.

use sqlx::Row;

use super::{Store, StoreError};
use crate::clock::{Clock, stamp};

/// An account as stored.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AccountRow {
    pub id: i64,
    pub login: String,
    pub name: String,
    pub role: String,
    pub scope: Option<String>,
    #[serde(skip)]
    pub password_hash: String,
    pub password_set_at: String,
    pub disabled_at: Option<String>,
    pub created_at: String,
}

/// A session with its account.
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub account: AccountRow,
    pub csrf: String,
    pub created_at: String,
    pub last_seen: String,
    pub ended_at: Option<String>,
}

/// A bureau's acknowledgement of a 函告.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Receipt {
    pub outbox_id: i64,
    pub login: String,
    pub acknowledged_at: String,
}

pub(super) const ACCOUNT: &str = "a.id, a.login, a.name, a.role, a.scope, a.password_hash, \
     a.password_set_at, a.disabled_at, a.created_at";

pub(super) fn account_row(r: &sqlx::any::AnyRow) -> Result<AccountRow, StoreError> {
    Ok(AccountRow {
        id: r.try_get(0)?,
        login: r.try_get(1)?,
        name: r.try_get(2)?,
        role: r.try_get(3)?,
        scope: r.try_get(4)?,
        password_hash: r.try_get(5)?,
        password_set_at: r.try_get(6)?,
        disabled_at: r.try_get(7)?,
        created_at: r.try_get(8)?,
    })
}

impl Store {
    /// Adds an account; refused if the login is taken.
    #[allow(clippy::too_many_arguments)]
    pub async fn add_account(
        &self,
        (login, name): (&str, &str),
        role: &str,
        scope: Option<&str>,
        password_hash: &str,
        clock: &dyn Clock,
        actor: &str,
    ) -> Result<i64, StoreError> {
        let mut tx = self.begin_write().await?;
        let taken = sqlx::query("SELECT 1 FROM accounts WHERE login = $1")
            .bind(login)
            .fetch_optional(&mut *tx)
            .await?;
        if taken.is_some() {
            return Err(StoreError::Refused(format!(
                "an account `{}` exists already (use `suiji user reset` for a new password)",
                crate::text::quote(login)
            )));
        }
        let now = stamp(clock.wall());
        let row = sqlx::query(
            "INSERT INTO accounts (login, name, role, scope, password_hash, password_set_at, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
        )
        .bind(login)
        .bind(name)
        .bind(role)
        .bind(scope)
        .bind(password_hash)
        .bind(&now)
        .fetch_one(&mut *tx)
        .await?;
        let id: i64 = row.try_get(0)?;
        Store::audit(
            &mut tx,
            clock,
            actor,
            "account.add",
            login,
            &serde_json::json!({"name": name, "role": role, "scope": scope}),
        )
        .await?;
        self.commit(tx).await?;
        Ok(id)
    }

    pub async fn account(&self, login: &str) -> Result<Option<AccountRow>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ACCOUNT} FROM accounts a WHERE a.login = $1"
        )))
        .bind(login)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(account_row).transpose()
    }

    pub async fn accounts(&self) -> Result<Vec<AccountRow>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ACCOUNT} FROM accounts a ORDER BY a.login"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(account_row).collect()
    }

    /// Sets a new password or disables the account (`password_hash` none), audited; either
    /// way every session of the account ends.
    pub async fn change_account(
        &self,
        login: &str,
        password_hash: Option<&str>,
        clock: &dyn Clock,
        actor: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let now = stamp(clock.wall());
        let done = match password_hash {
            Some(h) => sqlx::query(
                "UPDATE accounts SET password_hash = $1, password_set_at = $2, disabled_at = NULL \
                 WHERE login = $3",
            )
            .bind(h)
            .bind(&now)
            .bind(login),
            None => sqlx::query(
                "UPDATE accounts SET disabled_at = $1 WHERE login = $2 AND disabled_at IS NULL",
            )
            .bind(&now)
            .bind(login),
        }
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Refused(format!(
                "no {}account `{}`",
                if password_hash.is_none() {
                    "enabled "
                } else {
                    ""
                },
                crate::text::quote(login)
            )));
        }
        sqlx::query(
            "UPDATE sessions SET ended_at = $1 WHERE ended_at IS NULL AND account_id = \
             (SELECT id FROM accounts WHERE login = $2)",
        )
        .bind(&now)
        .bind(login)
        .execute(&mut *tx)
        .await?;
        let action = if password_hash.is_some() {
            "account.password"
        } else {
            "account.disable"
        };
        Store::audit(&mut tx, clock, actor, action, login, &serde_json::json!({})).await?;
        self.commit(tx).await?;
        Ok(())
    }

    /// Records a failed login.
    pub async fn login_failed(
        &self,
        login: &str,
        address: &str,
        clock: &dyn Clock,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO login_failures (login, address, at) VALUES ($1, $2, $3)")
            .bind(login)
            .bind(address)
            .bind(stamp(clock.wall()))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Failed logins since `since` for `login`, and from `address`.
    pub async fn login_failures(
        &self,
        login: &str,
        address: &str,
        since: &str,
    ) -> Result<(u32, u32), StoreError> {
        let count = |column: &'static str, value: &str| {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT COUNT(*) FROM login_failures WHERE {column} = $1 AND at >= $2"
            )))
            .bind(value.to_string())
            .bind(since.to_string())
        };
        let n = |r: sqlx::any::AnyRow| -> Result<u32, StoreError> {
            Ok(u32::try_from(r.try_get::<i64, _>(0)?).unwrap_or(u32::MAX))
        };
        Ok((
            n(count("login", login).fetch_one(&self.pool).await?)?,
            n(count("address", address).fetch_one(&self.pool).await?)?,
        ))
    }

    /// Opens a session (its token's digest) for `account_id`.
    pub async fn open_session(
        &self,
        digest: &str,
        account_id: i64,
        csrf: &str,
        address: &str,
        clock: &dyn Clock,
    ) -> Result<(), StoreError> {
        let now = stamp(clock.wall());
        sqlx::query(
            "INSERT INTO sessions (token_sha256, account_id, csrf, address, created_at, \
             last_seen) VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(digest)
        .bind(account_id)
        .bind(csrf)
        .bind(address)
        .bind(&now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The session of a token digest, with its account.
    pub async fn session(&self, digest: &str) -> Result<Option<SessionRow>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ACCOUNT}, s.csrf, s.created_at, s.last_seen, s.ended_at FROM sessions s \
             JOIN accounts a ON a.id = s.account_id WHERE s.token_sha256 = $1"
        )))
        .bind(digest)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(SessionRow {
                account: account_row(&r)?,
                csrf: r.try_get(9)?,
                created_at: r.try_get(10)?,
                last_seen: r.try_get(11)?,
                ended_at: r.try_get(12)?,
            })
        })
        .transpose()
    }

    /// Notes a session's latest request (`at`, a stamp).
    pub async fn touch_session(&self, digest: &str, at: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET last_seen = $1 WHERE token_sha256 = $2")
            .bind(at)
            .bind(digest)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Ends one session, or (`everywhere`) every session of its account.
    pub async fn end_session(
        &self,
        digest: &str,
        everywhere: bool,
        clock: &dyn Clock,
    ) -> Result<(), StoreError> {
        let sql = if everywhere {
            "UPDATE sessions SET ended_at = $1 WHERE ended_at IS NULL AND account_id = \
             (SELECT account_id FROM sessions WHERE token_sha256 = $2)"
        } else {
            "UPDATE sessions SET ended_at = $1 WHERE ended_at IS NULL AND token_sha256 = $2"
        };
        sqlx::query(sql)
            .bind(stamp(clock.wall()))
            .bind(digest)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records a bureau's acknowledgement of the 函告 `outbox_id` (once: a second is
    /// refused), audited under `actor`.
    pub async fn acknowledge(
        &self,
        outbox_id: i64,
        account_id: i64,
        clock: &dyn Clock,
        actor: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let known = sqlx::query("SELECT acknowledged_at FROM notice_receipts WHERE outbox_id = $1")
            .bind(outbox_id)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(r) = known {
            let at: String = r.try_get(0)?;
            return Err(StoreError::Refused(format!(
                "letter #{outbox_id} was acknowledged on {at} already"
            )));
        }
        sqlx::query(
            "INSERT INTO notice_receipts (outbox_id, account_id, acknowledged_at) \
             VALUES ($1, $2, $3)",
        )
        .bind(outbox_id)
        .bind(account_id)
        .bind(stamp(clock.wall()))
        .execute(&mut *tx)
        .await?;
        Store::audit(
            &mut tx,
            clock,
            actor,
            "notice.acknowledge",
            &outbox_id.to_string(),
            &serde_json::json!({}),
        )
        .await?;
        self.commit(tx).await?;
        Ok(())
    }

    /// Every acknowledgement, by letter.
    pub async fn receipts(&self) -> Result<Vec<Receipt>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.outbox_id, a.login, r.acknowledged_at FROM notice_receipts r \
             JOIN accounts a ON a.id = r.account_id ORDER BY r.outbox_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Receipt {
                    outbox_id: r.try_get(0)?,
                    login: r.try_get(1)?,
                    acknowledged_at: r.try_get(2)?,
                })
            })
            .collect()
    }
}
