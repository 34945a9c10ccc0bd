//! Production and rehearsal stores: fixing a new store's mode, and making a rehearsal copy of
//! any store (`suiji rehearse`), which only reads the original.

use std::path::{Path, PathBuf};

use super::{Ctx, OpsError, Result};
use crate::config::Settings;
use crate::store::{Mode, Store};

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
/// already there). The original is opened for reading only and never written.
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
        std::fs::create_dir_all(dir)
            .map_err(|e| OpsError::Invalid(format!("{}: {e}", dir.display())))?;
        let source = Store::open_existing(from, &settings.database).await?;
        let copied = source.copy_into(&file).await;
        source.close().await;
        copied?;
    }
    let store = Store::open(&rs.database.url, &rs.database).await?;
    if fresh {
        store
            .become_rehearsal_copy(&from.to_string(), actor)
            .await?;
    } else if store.mode().await? != Mode::Rehearsal {
        store.close().await;
        return Err(OpsError::Invalid(format!(
            "{}: a database is there and it is not a rehearsal store; choose an empty folder",
            file.display()
        )));
    }
    Ok((store, rs, fresh))
}
