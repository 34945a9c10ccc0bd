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

/// What a follower makes of the last leader's record, given the plans it runs itself (id and
/// script SHA-256 of each, sorted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handover {
    /// No leader recorded, or the same plans: it may take over as soon as the lock is free.
    Same,
    /// The leader ran other plans (`theirs`, as `id (sha256 prefix), …`): while `binding` (the
    /// leader seen within the handover time) this instance does not lead, so the department's
    /// plans never change with a failover unseen.
    Other { theirs: String, binding: bool },
}

/// Plans as the log names them: each id and the start of its script's SHA-256.
pub fn plans_label(plans: &[(String, String)]) -> String {
    if plans.is_empty() {
        return "no plan".to_string();
    }
    let each: Vec<String> = plans
        .iter()
        .map(|(id, sha)| format!("{id} ({})", sha.get(..12).unwrap_or(sha)))
        .collect();
    format!("plan {}", each.join(", "))
}

/// Compares this instance's plans with those the last leader recorded (`runs`), the leader
/// last seen at `seen`; a record older than `handover` no longer binds.
pub fn handover(
    ours: &[(String, String)],
    record: &crate::store::LeaderRecord,
    now: chrono::DateTime<chrono::FixedOffset>,
    handover: chrono::Duration,
) -> Handover {
    if record.runs.is_none() {
        return Handover::Same;
    }
    let mut theirs: Vec<(String, String)> = record
        .plans()
        .into_iter()
        .filter_map(|p| Some((p.plan, p.script_sha256?)))
        .collect();
    theirs.sort();
    if theirs == ours {
        return Handover::Same;
    }
    let seen = crate::clock::parse_time(&record.seen);
    Handover::Other {
        theirs: plans_label(&theirs),
        binding: seen.is_some_and(|s| now - s < handover),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_plans_bind_while_their_leader_is_seen() {
        let sha = "ab".repeat(32);
        let record = |runs: serde_json::Value, seen: &str| crate::store::LeaderRecord {
            holder: "h/1/n".into(),
            since: seen.into(),
            seen: seen.into(),
            runs: Some(runs),
        };
        let one = |id: &str| serde_json::json!({ "plan": id, "script_sha256": sha });
        let set = |ids: &[&str]| serde_json::json!({ "plans": ids.iter().map(|i| one(i)).collect::<Vec<_>>() });
        let ours = |ids: &[&str], sha: &str| -> Vec<(String, String)> {
            let mut v: Vec<(String, String)> = ids
                .iter()
                .map(|i| (i.to_string(), sha.to_string()))
                .collect();
            v.sort();
            v
        };
        let now = crate::clock::parse_time("2024-05-16T10:00:00+08:00").expect("time");
        let fifteen = chrono::Duration::seconds(900);
        let seen = "2024-05-16T09:50:00.000+08:00";
        let fresh = record(set(&["spring", "autumn"]), seen);
        assert_eq!(
            handover(&ours(&["autumn", "spring"], &sha), &fresh, now, fifteen),
            Handover::Same
        );
        let other = Handover::Other {
            theirs: "plan autumn (abababababab), spring (abababababab)".into(),
            binding: true,
        };
        // One plan fewer, one script changed, no plan at all: another set.
        assert_eq!(
            handover(&ours(&["spring"], &sha), &fresh, now, fifteen),
            other
        );
        assert_eq!(
            handover(&ours(&["autumn", "spring"], "cd"), &fresh, now, fifteen),
            other
        );
        assert_eq!(handover(&[], &fresh, now, fifteen), other);
        // A record of a daemon that ran one plan, at its top level.
        let single = record(one("spring"), seen);
        assert_eq!(
            handover(&ours(&["spring"], &sha), &single, now, fifteen),
            Handover::Same
        );
        let stale = record(set(&["spring"]), "2024-05-16T09:44:59.000+08:00");
        assert_eq!(
            handover(&ours(&["autumn"], &sha), &stale, now, fifteen),
            Handover::Other {
                theirs: "plan spring (abababababab)".into(),
                binding: false
            }
        );
        let none = crate::store::LeaderRecord {
            runs: None,
            ..fresh
        };
        assert_eq!(
            handover(&ours(&["autumn"], &sha), &none, now, fifteen),
            Handover::Same
        );
    }
}
