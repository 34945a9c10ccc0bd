//! Single sign-on's records: the provider's subject each account signs in as (linked by an
//! admin, audited), and the sign-ins under way, kept by their state's SHA-256 and taken once.

use sqlx::Row;

use super::accounts::{ACCOUNT, account_row};
use super::{AccountRow, Store, StoreError};
use crate::clock::{Clock, stamp};

impl Store {
    /// Makes `subject` (the provider's `sub`) sign in as `login`, audited; refused if another
    /// account has it.
    pub async fn link_sso(
        &self,
        login: &str,
        subject: &str,
        clock: &dyn Clock,
        actor: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let other =
            sqlx::query("SELECT login FROM accounts WHERE sso_subject = $1 AND login <> $2")
                .bind(subject)
                .bind(login)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some(r) = other {
            return Err(StoreError::Refused(format!(
                "the subject `{}` signs in as `{}` already",
                crate::text::quote(subject),
                crate::text::quote(&r.try_get::<String, _>(0)?)
            )));
        }
        let n = sqlx::query("UPDATE accounts SET sso_subject = $1 WHERE login = $2")
            .bind(subject)
            .bind(login)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::Refused(format!(
                "no account `{}`",
                crate::text::quote(login)
            )));
        }
        Store::audit(
            &mut tx,
            clock,
            actor,
            "account.sso",
            login,
            &serde_json::json!({ "subject": subject }),
        )
        .await?;
        self.commit(tx).await?;
        Ok(())
    }

    /// The account the provider's `subject` signs in as.
    pub async fn account_by_sso(&self, subject: &str) -> Result<Option<AccountRow>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ACCOUNT} FROM accounts a WHERE a.sso_subject = $1"
        )))
        .bind(subject)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(account_row).transpose()
    }

    /// A sign-in sent to the provider. Sign-ins begun before `stale` go: they can no longer
    /// be finished, and anyone may begin one.
    pub async fn begin_sso(
        &self,
        state_digest: &str,
        (nonce, verifier): (&str, &str),
        stale: &str,
        clock: &dyn Clock,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sso_logins WHERE created_at < $1")
            .bind(stale)
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "INSERT INTO sso_logins (state_sha256, nonce, verifier, created_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(state_digest)
        .bind(nonce)
        .bind(verifier)
        .bind(stamp(clock.wall()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Takes the sign-in of a state begun at `since` or later: its nonce and PKCE verifier,
    /// once (a replayed callback finds nothing).
    pub async fn take_sso(
        &self,
        state_digest: &str,
        since: &str,
        clock: &dyn Clock,
    ) -> Result<Option<(String, String)>, StoreError> {
        let row = sqlx::query(
            "UPDATE sso_logins SET taken_at = $1 WHERE state_sha256 = $2 AND taken_at IS NULL \
             AND created_at >= $3 RETURNING nonce, verifier",
        )
        .bind(stamp(clock.wall()))
        .bind(state_digest)
        .bind(since)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
    }
}
