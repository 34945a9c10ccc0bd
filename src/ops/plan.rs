//! Loading the yearly plan: the rule script evaluated against the registry in the store.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{Ctx, OpsError, Result};
use crate::calendar::Calendar;
use crate::config::Settings;
use crate::rules::{self, Checked};
use crate::store::Store;

pub fn calendar(settings: &Settings) -> Result<Calendar> {
    Calendar::load(&settings.calendar.dir)
        .map_err(|e| OpsError::Invalid(format!("holiday data: {e}")))
}

/// What a rule script may read: the registry snapshot, the vocabulary and the calendar.
pub async fn context(store: &Store, settings: &Settings) -> Result<rules::Context> {
    let calendar = calendar(settings)?;
    let vocab = settings
        .vocabulary()
        .map_err(|e| OpsError::Invalid(e.to_string()))?;
    Ok(rules::Context {
        snapshot: Arc::new(store.snapshot().await?),
        vocab: Arc::new(vocab),
        calendar: Arc::new(calendar),
    })
}

/// A script's name (as messages cite it) and text.
pub fn read_script(path: &Path) -> Result<(String, String)> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| OpsError::Invalid(format!("{}: cannot read: {e}", path.display())))?;
    Ok((path.display().to_string(), text))
}

/// The plan file to use: the one given, or the configured `rules.file`.
pub fn plan_file(settings: &Settings, file: Option<&Path>) -> PathBuf {
    file.map_or_else(|| settings.rules.file.clone(), Path::to_path_buf)
}

/// The plans the daemon runs: those given on its command line, else the configured
/// `rules.plans`, else `rules.file`.
pub fn plan_files(settings: &Settings, given: &[PathBuf]) -> Vec<PathBuf> {
    if !given.is_empty() {
        given.to_vec()
    } else if !settings.rules.plans.is_empty() {
        settings.rules.plans.clone()
    } else {
        vec![settings.rules.file.clone()]
    }
}

/// Which rule script an operation uses: a file (the configured `rules.file` when none is
/// named), or the text the daemon holds as the last good version of it.
#[derive(Debug, Clone, Copy)]
pub enum Script<'a> {
    File(Option<&'a Path>),
    Text { name: &'a str, text: &'a str },
}

impl Script<'_> {
    pub fn read(&self, settings: &Settings) -> Result<(String, String)> {
        match self {
            Script::File(file) => read_script(&plan_file(settings, *file)),
            Script::Text { name, text } => Ok((name.to_string(), text.to_string())),
        }
    }
}

/// Evaluates and checks the plan; a plan with errors cannot be frozen or drawn.
pub async fn checked(ctx: &Ctx<'_>, script: Script<'_>) -> Result<(Checked, rules::Context)> {
    let rc = context(ctx.store, ctx.settings).await?;
    let (name, text) = script.read(ctx.settings)?;
    let checked = rules::load(&name, &text, &rc).map_err(|findings| {
        let lines: Vec<String> = findings.iter().map(|f| f.to_string()).collect();
        OpsError::Invalid(format!(
            "the plan does not pass its check:\n{}",
            lines.join("\n")
        ))
    })?;
    Ok((checked, rc))
}

/// What `rules next` wrote: the new script, where, and what its check says of it.
#[derive(Debug, serde::Serialize)]
pub struct NextWritten {
    pub file: PathBuf,
    #[serde(flatten)]
    pub next: rules::next::Next,
    /// The new script checked against the registry as it stands (quotas that no longer fit,
    /// holiday data missing…).
    pub findings: Vec<rules::Finding>,
    pub ok: bool,
}

/// `rules next`: writes next year's script from `file` to `out` (default: beside it, named by
/// the new id), never over an existing file, and checks it.
pub fn write_next(
    rc: &rules::Context,
    file: &Path,
    year: i32,
    out: Option<&Path>,
) -> Result<NextWritten> {
    let (name, text) = read_script(file)?;
    let plan = rules::evaluate(&name, &text, rc).map_err(|f| {
        OpsError::Invalid(format!(
            "{f}: this year's script must evaluate to be carried on"
        ))
    })?;
    let next = rules::next::next(&plan, &text, year).map_err(OpsError::Invalid)?;
    let target = match out {
        Some(o) => o.to_path_buf(),
        None => file
            .parent()
            .unwrap_or(Path::new("."))
            .join(format!("{}.rhai", next.id)),
    };
    let (ok, findings) = match rules::load(&target.display().to_string(), &next.text, rc) {
        Ok(c) => (true, c.findings),
        Err(f) => (false, f),
    };
    let mut created = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&target)
        .map_err(|e| {
            OpsError::Invalid(format!(
                "{}: cannot write next year's script ({e}); it is never written over an \
                 existing file: name another with --out",
                target.display()
            ))
        })?;
    std::io::Write::write_all(&mut created, next.text.as_bytes())
        .map_err(|e| OpsError::Invalid(format!("{}: {e}", target.display())))?;
    Ok(NextWritten {
        file: target,
        next,
        findings,
        ok,
    })
}

/// Two versions of a plan compared: what changed in the evaluated plans (none when either
/// does not evaluate: then `problem` says why) and line by line in the scripts.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Comparison {
    pub changes: Option<Vec<rules::diff::Change>>,
    pub problem: Option<String>,
    pub lines: Vec<Vec<rules::diff::Line>>,
}

/// Compares `old` with `new` (e.g. last year's script with this year's, or the script the
/// daemon runs with the file an admin is editing), both evaluated against the registry now.
pub async fn compare(ctx: &Ctx<'_>, old: Script<'_>, new: Script<'_>) -> Result<Comparison> {
    let rc = context(ctx.store, ctx.settings).await?;
    let mut texts = Vec::new();
    let mut summaries = Vec::new();
    let mut problem = None;
    for script in [old, new] {
        let (name, text) = script.read(ctx.settings)?;
        match rules::evaluate(&name, &text, &rc) {
            Ok(plan) => {
                let strata = plan.strata(&rc.snapshot);
                summaries.push(rules::check::summary(&plan, &strata, &rc, ctx.clock.now()));
            }
            Err(f) => problem = Some(format!("{name}: {f}")),
        }
        texts.push(text);
    }
    Ok(Comparison {
        changes: match summaries.as_slice() {
            [a, b] => Some(rules::diff::diff(a, b)),
            _ => None,
        },
        problem,
        lines: rules::diff::lines(&texts[0], &texts[1], 3),
    })
}
