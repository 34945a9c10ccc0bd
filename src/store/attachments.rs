//! Files attached to tasks: one row per attachment (the file itself lies content-addressed
//! under the data folder), each with its audit row naming the file's SHA-256.

use sqlx::Row;

use super::{Store, StoreError};
use crate::clock::{Clock, stamp};

#[derive(Debug, Clone, serde::Serialize)]
pub struct AttachmentRow {
    pub id: i64,
    pub task_id: String,
    pub sha256: String,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    pub actor: String,
    pub at: String,
}

impl Store {
    /// Records an attachment of `task_id` whose file is already in place.
    pub async fn add_attachment(
        &self,
        task_id: &str,
        (sha256, name, content_type, size): (&str, &str, &str, i64),
        clock: &dyn Clock,
        actor: &str,
    ) -> Result<i64, StoreError> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "INSERT INTO attachments (task_id, sha256, name, content_type, size, actor, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(task_id)
        .bind(sha256)
        .bind(name)
        .bind(content_type)
        .bind(size)
        .bind(actor)
        .bind(stamp(clock.wall()))
        .fetch_one(&mut *tx)
        .await?;
        let id: i64 = row.try_get(0)?;
        Store::audit(
            &mut tx,
            clock,
            actor,
            "task.attach",
            task_id,
            &serde_json::json!({
                "sha256": sha256, "name": name, "content_type": content_type, "size": size,
            }),
        )
        .await?;
        self.commit(tx).await?;
        Ok(id)
    }

    /// A task's attachments, oldest first.
    pub async fn attachments(&self, task_id: &str) -> Result<Vec<AttachmentRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, task_id, sha256, name, content_type, size, actor, at FROM attachments \
             WHERE task_id = $1 ORDER BY id",
        )
        .bind(task_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AttachmentRow {
                    id: r.try_get(0)?,
                    task_id: r.try_get(1)?,
                    sha256: r.try_get(2)?,
                    name: r.try_get(3)?,
                    content_type: r.try_get(4)?,
                    size: r.try_get(5)?,
                    actor: r.try_get(6)?,
                    at: r.try_get(7)?,
                })
            })
            .collect()
    }
}
