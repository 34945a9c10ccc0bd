//! `backup` and `restore`. A backup is one consistent snapshot of the store written as a new
//! SQLite file while the daemon goes on writing (SQLite's `VACUUM INTO`, which reads in one
//! transaction; from PostgreSQL, every table in one read-only snapshot). A restore makes a new
//! SQLite database from such a file, and keeps it only if its audit chain holds and it still
//! holds every event the public folder has published: a copy older than the public site would
//! make published history disappear unseen.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{Ctx, OpsError, Result};
use crate::config::Settings;
use crate::store::{AuditHead, Store};

#[derive(Debug, Serialize)]
pub struct Backup {
    pub file: PathBuf,
    pub bytes: u64,
    /// The chain head the copy holds: written down, it dates the copy.
    pub audit_head: Option<AuditHead>,
}

/// Writes a consistent copy of the store to `to`, which must not exist.
pub async fn backup(ctx: &Ctx<'_>, to: &Path) -> Result<Backup> {
    if to.exists() {
        return Err(OpsError::Invalid(format!(
            "{} already exists: a backup is never written over a file; name a new one",
            to.display()
        )));
    }
    let head = ctx.store.audit_head().await?;
    ctx.store.copy_into(to).await?;
    let bytes = std::fs::metadata(to)
        .map_err(|e| OpsError::Internal(format!("{}: {e}", to.display())))?
        .len();
    Ok(Backup {
        file: to.to_path_buf(),
        bytes,
        audit_head: head,
    })
}

#[derive(Debug, Serialize)]
pub struct Restored {
    pub database: PathBuf,
    /// Whether it was kept: its chain holds and it holds all that was published.
    pub ok: bool,
    pub audit: super::audit::AuditReport,
    /// The plan indexes of the public folder it was checked against.
    pub public_indexes: usize,
}

/// Restores the backup `from` as the configured SQLite database (which must not exist yet),
/// checked against the configured public folder; on any failure nothing is left.
pub async fn restore(settings: &Settings, from: &Path, actor: &str) -> Result<Restored> {
    let Some(target) = Store::sqlite_path(&settings.database.url) else {
        return Err(OpsError::Invalid(
            "restore makes a SQLite database (point --db at a new sqlite:// file); for \
             PostgreSQL restore a pg_dump with pg_restore, as the README says"
                .into(),
        ));
    };
    if target.exists() {
        return Err(OpsError::Invalid(format!(
            "{} already exists: restore makes a new database and never writes over one; move \
             it away or point --db at a new file",
            target.display()
        )));
    }
    if !from.is_file() {
        return Err(OpsError::Invalid(format!(
            "{}: no such backup file",
            from.display()
        )));
    }
    // A restore of its own: two at once never share (or remove) each other's copy.
    let partial = PathBuf::from(format!(
        "{}.restoring-{}",
        target.display(),
        std::process::id()
    ));
    let remove = |p: &Path| {
        for end in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{end}", p.display()));
        }
    };
    remove(&partial);
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| OpsError::Invalid(format!("{}: {e}", dir.display())))?;
    }
    std::fs::copy(from, &partial)
        .map_err(|e| OpsError::Invalid(format!("{}: cannot copy: {e}", from.display())))?;
    let url = crate::config::DatabaseUrl::new(format!("sqlite://{}", partial.display()));
    let checked = async {
        let store = Store::open_existing(&url, &settings.database)
            .await
            .map_err(|e| OpsError::Invalid(format!("{}: {e}", from.display())))?;
        let ctx = Ctx {
            store: &store,
            settings,
            clock: &crate::clock::SystemClock,
            actor,
        };
        let public = settings.public_dir();
        let published = if public.is_dir() {
            super::audit::read_published(&[public.to_path_buf()])?
        } else {
            super::audit::Published::default()
        };
        let audit = super::audit::verify(&ctx, &published).await;
        store.close().await;
        Ok::<_, OpsError>((audit?, published.indexes.len()))
    }
    .await;
    let (audit, public_indexes) = match checked {
        Ok(c) => c,
        Err(e) => {
            remove(&partial);
            return Err(e);
        }
    };
    let ok = audit.ok;
    // A hard link fails if the target appeared meanwhile (another restore, a daemon started on
    // it): a rename would replace that database without a word.
    let placed = if ok {
        std::fs::hard_link(&partial, &target).map_err(|e| {
            OpsError::Invalid(format!(
                "{}: {e}: another restore or process made it meanwhile; nothing was changed",
                target.display()
            ))
        })
    } else {
        Ok(())
    };
    remove(&partial);
    placed?;
    Ok(Restored {
        database: target,
        ok,
        audit,
        public_indexes,
    })
}
