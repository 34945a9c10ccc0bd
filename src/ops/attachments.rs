//! Files divisions attach to their tasks: checked from their bytes, written content-addressed
//! under the data folder before their row and audit row are recorded (a crash between leaves
//! an unreferenced file, never a row without its file), listed and read back for the accounts
//! that may read the task. Never published.

use super::{Ctx, OpsError, Result};
use crate::attachment;
use crate::store::AttachmentRow;

/// Attaches `bytes` (named `name` by its sender) to task `id`, as `ctx.actor`.
pub async fn attach(ctx: &Ctx<'_>, id: &str, name: &str, bytes: &[u8]) -> Result<AttachmentRow> {
    let max = usize::try_from(ctx.settings.console.max_attachment_mib)
        .unwrap_or(usize::MAX)
        .saturating_mul(1024 * 1024);
    let content_type = attachment::check(bytes, max).map_err(OpsError::Refused)?;
    if ctx.store.task(id).await?.is_none() {
        let id = crate::text::quote(id);
        return super::refused(format!("no task `{id}`"), format!("没有任务“{id}”"));
    }
    let sha256 = attachment::digest(bytes);
    let path = attachment::path(&ctx.settings.daemon.data_dir, &sha256)
        .ok_or_else(|| OpsError::Internal("a digest that is not hex".into()))?;
    if !path.is_file() {
        let io = |e: std::io::Error| OpsError::Internal(format!("{}: {e}", path.display()));
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        // Written whole under a name of its own, then renamed: a reader never sees half a file.
        let partial = path.with_extension(format!("partial-{}", std::process::id()));
        std::fs::write(&partial, bytes).map_err(io)?;
        std::fs::rename(&partial, &path).map_err(io)?;
    }
    let name = attachment::clean_name(name);
    let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
    ctx.store
        .add_attachment(
            id,
            (&sha256, &name, content_type, size),
            ctx.clock,
            ctx.actor,
        )
        .await?;
    ctx.store
        .attachments(id)
        .await?
        .into_iter()
        .rev()
        .find(|a| a.sha256 == sha256)
        .ok_or_else(|| OpsError::Internal("the attachment just recorded is missing".into()))
}

pub async fn list(ctx: &Ctx<'_>, id: &str) -> Result<Vec<AttachmentRow>> {
    Ok(ctx.store.attachments(id).await?)
}

/// The content of task `id`'s attachment of digest `sha256`, with its record.
pub async fn read(ctx: &Ctx<'_>, id: &str, sha256: &str) -> Result<(AttachmentRow, Vec<u8>)> {
    let not_found = || OpsError::Invalid(format!("task {id} has no such attachment"));
    let row = list(ctx, id)
        .await?
        .into_iter()
        .find(|a| a.sha256 == sha256)
        .ok_or_else(not_found)?;
    let path = attachment::path(&ctx.settings.daemon.data_dir, sha256).ok_or_else(not_found)?;
    let bytes =
        std::fs::read(&path).map_err(|e| OpsError::Internal(format!("{}: {e}", path.display())))?;
    if attachment::digest(&bytes) != sha256 {
        return Err(OpsError::Internal(format!(
            "{}: the file no longer has the digest recorded for it",
            path.display()
        )));
    }
    Ok((row, bytes))
}
