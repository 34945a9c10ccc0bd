//! Production or rehearsal: what kind of store this is, fixed when it is created. A production
//! store is a department's record of the world and acts only on the real clock; a rehearsal
//! store (the demo, tests, a copy made by `suiji rehearse`) may run on a simulated one and never
//! reaches the world. The mode is kept in the audit chain itself (a `store.rehearsal` row), so
//! it cannot be changed without the change showing in the chain.

use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::{Store, StoreError, Tx};
use crate::clock::Clock;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Production,
    Rehearsal,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Production => "production",
            Mode::Rehearsal => "rehearsal",
        }
    }
}

/// The audit action that makes a store a rehearsal store.
const REHEARSAL: &str = "store.rehearsal";
/// The audit action that records a production store's creation (stores older than the mode
/// have none, and are production).
const PRODUCTION: &str = "store.production";

/// What a refused write on a simulated clock says: where rehearsing is done instead.
pub fn production_refusal(what: &str) -> String {
    format!(
        "{what} is refused: this database is a production store, which records only on the real \
         clock. Read-only views take a date (`status`, `overdue --date`, `report --month`). To \
         replay or rehearse, work on a rehearsal copy that never touches this one: `suiji \
         rehearse --from <this database's URL> --into DIR --until DATE`"
    )
}

async fn mode_of<'c>(
    db: impl sqlx::Executor<'c, Database = sqlx::Any>,
) -> Result<Mode, StoreError> {
    let row = sqlx::query("SELECT 1 FROM audit_log WHERE action = $1 LIMIT 1")
        .bind(REHEARSAL)
        .fetch_optional(db)
        .await?;
    Ok(if row.is_some() {
        Mode::Rehearsal
    } else {
        Mode::Production
    })
}

/// Inside an audited write: a simulated clock may write only into a rehearsal store. The
/// backstop behind every command's own refusal, in the transaction that would write.
pub(super) async fn check_clock(tx: &mut Tx, clock: &dyn Clock) -> Result<(), StoreError> {
    if !clock.is_real() && mode_of(&mut **tx).await? == Mode::Production {
        return Err(StoreError::Refused(production_refusal(&format!(
            "recording at {} (a simulated clock)",
            crate::clock::stamp(clock.now())
        ))));
    }
    Ok(())
}

impl Store {
    /// This store's mode.
    pub async fn mode(&self) -> Result<Mode, StoreError> {
        mode_of(&self.pool).await
    }

    /// Fixes the mode of a store that has recorded nothing yet (returns it, whatever it was).
    /// A store that has recorded anything keeps the mode it has: asking for another is refused.
    pub async fn create_as(&self, mode: Mode, actor: &str) -> Result<Mode, StoreError> {
        let mut tx = self.begin_write().await?;
        let first = sqlx::query("SELECT action FROM audit_log ORDER BY seq LIMIT 1")
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| r.try_get::<String, _>(0))
            .transpose()?;
        let has = mode_of(&mut *tx).await?;
        if first.is_some() {
            tx.rollback().await?;
            if has != mode {
                return Err(StoreError::Refused(format!(
                    "this database is already a {} store, with records: a store's mode is fixed \
                     when it is created{}",
                    has.name(),
                    if has == Mode::Production {
                        ". To rehearse on its data, make a rehearsal copy: `suiji rehearse \
                         --from URL --into DIR`"
                    } else {
                        ""
                    }
                )));
            }
            return Ok(has);
        }
        let action = match mode {
            Mode::Production => PRODUCTION,
            Mode::Rehearsal => REHEARSAL,
        };
        let detail = serde_json::json!({ "mode": mode.name() });
        // Written on the real clock whatever the caller runs on: the store is created now.
        Store::audit(
            &mut tx,
            &crate::clock::SystemClock,
            actor,
            action,
            "store",
            &detail,
        )
        .await?;
        self.commit(tx).await?;
        Ok(mode)
    }

    /// Turns a copy of another store into a rehearsal store (`suiji rehearse`): the chain
    /// keeps everything the original recorded, then says from which head it was copied.
    pub async fn become_rehearsal_copy(&self, source: &str, actor: &str) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        if mode_of(&mut *tx).await? == Mode::Rehearsal {
            tx.rollback().await?;
            return Ok(());
        }
        let head = sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| -> Result<_, sqlx::Error> {
                Ok(serde_json::json!({
                    "seq": r.try_get::<i64, _>(0)?,
                    "hash": r.try_get::<String, _>(1)?,
                }))
            })
            .transpose()?;
        let detail = serde_json::json!({
            "mode": Mode::Rehearsal.name(),
            "copied_from": source,
            "copied_at_head": head,
        });
        Store::audit(
            &mut tx,
            &crate::clock::SystemClock,
            actor,
            REHEARSAL,
            "store",
            &detail,
        )
        .await?;
        self.commit(tx).await
    }
}
