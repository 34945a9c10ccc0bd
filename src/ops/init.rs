//! `suiji init DIR`: a department's starting point, written from what the binary carries: the
//! configuration (every key with its comment), the reference plans, the letters' templates,
//! the holiday data, and an environment file for the secrets (mode 0600). All or nothing: a
//! file already there stops it before anything is written.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{OpsError, Result};

/// The secrets, read from the environment (`EnvironmentFile=` of the systemd unit): never in
/// the configuration file, which is world-readable on most systems.
const ENV: &str = include_str!("../../contrib/env");

#[derive(Debug, Serialize)]
pub struct Initialised {
    pub dir: PathBuf,
    pub files: Vec<PathBuf>,
}

/// Every file `init` writes, relative to the folder, with its text and whether it is secret.
fn files() -> Vec<(PathBuf, &'static str, bool)> {
    let mut out = vec![
        (PathBuf::from("suiji.toml"), crate::config::SHIPPED, false),
        (PathBuf::from("env"), ENV, true),
    ];
    for (name, text) in crate::demo::REFERENCE_PLANS {
        out.push((Path::new("rules").join(name), text, false));
    }
    for (name, text) in crate::calendar::SHIPPED {
        out.push((Path::new("rules/calendar").join(name), text, false));
    }
    for (name, text) in crate::notify::templates::SHIPPED {
        out.push((Path::new("templates/mail").join(name), text, false));
    }
    out
}

/// Writes the starting point into `dir` (created if missing); refuses, writing nothing, if any
/// of its files exists.
pub fn init(dir: &Path) -> Result<Initialised> {
    let files = files();
    let taken: Vec<String> = files
        .iter()
        .map(|(rel, _, _)| dir.join(rel))
        .filter(|p| p.exists())
        .map(|p| p.display().to_string())
        .collect();
    if !taken.is_empty() {
        return Err(OpsError::Invalid(format!(
            "{} already holds {}: init writes a new deployment and never over a file; choose an \
             empty folder",
            dir.display(),
            taken.join(", ")
        )));
    }
    let mut written = Vec::new();
    for (rel, text, secret) in files {
        let path = dir.join(&rel);
        let fail = |e: std::io::Error| OpsError::Invalid(format!("{}: {e}", path.display()));
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(fail)?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        if secret {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&path).map_err(fail)?;
        std::io::Write::write_all(&mut file, text.as_bytes()).map_err(fail)?;
        written.push(path);
    }
    Ok(Initialised {
        dir: dir.to_path_buf(),
        files: written,
    })
}
