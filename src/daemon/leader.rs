//! Who may run jobs. On SQLite: the one process holding an exclusive OS file lock beside the
//! database (released by the kernel on any exit, so a stale lock is impossible; a second `serve`
//! is refused at once). On PostgreSQL: the instance holding a session advisory lock on its own
//! connection (released by the server when that connection ends); the others poll for it.
//! Because only the leader runs jobs, a run left `running` by someone else belongs to a dead
//! process and is taken over.

use std::fs::File;
use std::path::PathBuf;

use crate::store::{LeaderLock, Store, StoreError};

pub enum Leadership {
    /// SQLite: the file lock (held while this value lives).
    File(File),
    /// PostgreSQL: the advisory lock's connection.
    Postgres(LeaderLock),
    /// An in-memory SQLite database: nobody else can see it.
    Alone,
}

#[derive(Debug, thiserror::Error)]
pub enum LeaderError {
    #[error(
        "another suiji serve ({holder}) already runs on {db}: only one daemon may use a SQLite \
         database; stop it first, or use PostgreSQL for several instances"
    )]
    Busy { db: String, holder: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Tries to lead. SQLite: the lock or an error naming who holds it. PostgreSQL: `None` while
/// another instance leads.
pub async fn try_lead(store: &Store, me: &str) -> Result<Option<Leadership>, LeaderError> {
    if let Some(db) = store.sqlite_file() {
        let path = PathBuf::from(format!("{}.serve.lock", db.display()));
        let io = |source| LeaderError::Io {
            path: path.clone(),
            source,
        };
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(io)?;
        if !crate::lock::try_exclusive(&file) {
            let holder = std::fs::read_to_string(&path).unwrap_or_default();
            return Err(LeaderError::Busy {
                db: db.display().to_string(),
                holder: holder.trim().to_string(),
            });
        }
        use std::io::{Seek, Write};
        file.set_len(0).map_err(io)?;
        file.seek(std::io::SeekFrom::Start(0)).map_err(io)?;
        writeln!(file, "{me}").map_err(io)?;
        return Ok(Some(Leadership::File(file)));
    }
    match store.try_leader_lock().await? {
        Some(lock) => Ok(Some(Leadership::Postgres(lock))),
        None if store.backend() == crate::store::Backend::Sqlite => Ok(Some(Leadership::Alone)),
        None => Ok(None),
    }
}

impl Leadership {
    /// Whether this instance still leads (a PostgreSQL lock dies with its connection).
    pub async fn alive(&mut self) -> bool {
        match self {
            Leadership::Postgres(lock) => lock.alive().await,
            Leadership::File(_) | Leadership::Alone => true,
        }
    }

    pub async fn release(self) {
        if let Leadership::Postgres(lock) = self {
            lock.release().await;
        }
    }
}
