//! Production and rehearsal stores: fixing a new store's mode, and making a rehearsal copy of
//! any store (`suiji rehearse`), which only reads the original.

use std::path::{Path, PathBuf};

use super::{Ctx, OpsError, Result};
use crate::config::Settings;
use crate::store::{Mode, Store, StoreError};

/// Fixes the mode of a store that has recorded nothing yet; reports the mode a store has.
pub async fn init(ctx: &Ctx<'_>, mode: Mode) -> Result<Mode> {
    Ok(ctx.store.create_as(mode, ctx.actor).await?)
}

/// Where a rehearsal in `dir` keeps everything: its own database, mail, reports and site.
pub fn settings_in(settings: &Settings, dir: &Path) -> Settings {
    let mut s = settings.clone();
    let db = dir.join("suiji.db");
    s.database.url = crate::config::DatabaseUrl::new(format!("sqlite://{}", db.display()));
    s.daemon.data_dir = dir.join("data");
    s.public.dir = dir.join("public");
    s
}

/// Copies the store at `from` into `dir/suiji.db` as a rehearsal store (or opens the rehearsal
/// already there). The original is opened for reading only and never written. The copy is made
/// and marked under a temporary name and renamed into place whole, so an interrupted copy
/// leaves nothing that could pass for a rehearsal.
pub async fn copy(
    settings: &Settings,
    from: &crate::config::DatabaseUrl,
    dir: &Path,
    actor: &str,
) -> Result<(Store, Settings, bool)> {
    let rs = settings_in(settings, dir);
    let file: PathBuf = dir.join("suiji.db");
    let fresh = !file.exists();
    if fresh {
        // Its mail, reports and site go under `dir`: a folder holding anything else (a real
        // store's data or public folder) must never receive them.
        if std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some()) {
            return Err(OpsError::Invalid(format!(
                "{}: not empty; a rehearsal is made in a folder of its own (a new or empty one, \
                 or one a rehearsal was made in), so that its mail, reports and site never mix \
                 with a real store's",
                dir.display()
            )));
        }
        let source = Store::open_existing(from, &settings.database)
            .await
            .map_err(|e| match e {
                e @ (StoreError::Missing(_)
                | StoreError::Unreachable { .. }
                | StoreError::Url(_)) => OpsError::Invalid(format!("--from: {e}")),
                e => e.into(),
            })?;
        let io = |e: std::io::Error| OpsError::Invalid(format!("{}: {e}", dir.display()));
        std::fs::create_dir_all(dir).map_err(io)?;
        let partial = dir.join(".suiji.db.partial");
        for stale in ["", "-wal", "-shm"] {
            let p = PathBuf::from(format!("{}{stale}", partial.display()));
            if p.exists() {
                std::fs::remove_file(&p).map_err(io)?;
            }
        }
        let copied = source.copy_into(&partial).await;
        source.close().await;
        copied?;
        let url = crate::config::DatabaseUrl::new(format!("sqlite://{}", partial.display()));
        let marked = Store::open(&url, &rs.database).await?;
        let became = marked.become_rehearsal_copy(&from.to_string(), actor).await;
        marked.close().await;
        became?;
        std::fs::rename(&partial, &file).map_err(io)?;
    }
    let store = Store::open(&rs.database.url, &rs.database).await?;
    if store.mode().await? != Mode::Rehearsal {
        store.close().await;
        return Err(OpsError::Invalid(format!(
            "{}: a database is there and it is not a rehearsal store; choose an empty folder",
            file.display()
        )));
    }
    Ok((store, rs, fresh))
}
