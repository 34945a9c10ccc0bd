//! The public folder, append-only: `<public>/<year>/<plan>/` holds every manifest ever frozen
//! (`manifest-N.json`) and every draw ever made (`draw-N.json`, voided ones too), each with a
//! `sha256sum`-style `.sha256` beside it, and `index.json`, the history in the order it happened
//! with digests, times, reasons and the audit rows that recorded each event. `manifest.json` and
//! `draw.json` are copies of the current ones.
//!
//! Nothing published is ever overwritten or removed: a numbered file that exists with other
//! bytes is an error, never replaced; a new index must extend the old one entry for entry. Files
//! are written whole or not at all (temporary file, fsync, rename). The database keeps every
//! document's bytes, so anything lost to a crash between commit and write is written again.
//!
//! [`verify_history`] checks a whole folder from its files alone; `tools/verify_draw.py` does
//! the same independently.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::store::{AuditHead, DrawRecord, ManifestRecord, Mode};

pub mod drawn;
pub mod retention;
pub mod selection;
pub mod site;
pub mod witness;

pub const INDEX_SPEC: &str = "suiji-publication-v2";
/// Indexes before the store's mode was published: read as production, the stricter reading.
pub const INDEX_SPEC_V1: &str = "suiji-publication-v1";

fn production() -> Mode {
    Mode::Production
}

pub fn plan_dir(public: &Path, year: i64, plan_id: &str) -> PathBuf {
    public.join(year.to_string()).join(plan_id)
}

/// `index.json`: the plan's publication history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Index {
    pub spec: String,
    pub plan: String,
    pub year: i64,
    /// The kind of store that published it: a rehearsal's history proves nothing about real
    /// timing, and a production history may hold nothing frozen on a simulated clock.
    #[serde(default = "production")]
    pub store: Mode,
    pub entries: Vec<Entry>,
    pub current: Current,
    /// The last audit row when this index was written: a published anchor of the chain.
    pub audit_head: Option<AuditHead>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Current {
    pub manifest: Option<String>,
    /// The official draw, if there is one (none after a void until the redraw).
    pub draw: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Freeze,
    Refreeze,
    Draw,
    Void,
    /// A result taken down when its retention ran out (spec section 7).
    Takedown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub n: usize,
    pub event: EventKind,
    /// The document this event published (freeze, refreeze, draw).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// The manifest a draw was made from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<String>,
    /// The draw a void set aside.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub draw: Option<String>,
    /// When the seed becomes public (manifests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available_at: Option<String>,
    pub at: String,
    pub actor: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A void of a draw whose tasks held results.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub forced: bool,
    /// The task whose result a takedown removed, as its pages numbered it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    /// That task's object (统一社会信用代码).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity: Option<String>,
    /// The audit row that recorded the event.
    pub audit: Option<AuditHead>,
}

impl Entry {
    /// The same event, whoever is named as its recorder: releases before v3 published a login
    /// as `actor`, now a role, and that redaction is the one change an entry may see.
    pub fn same_event(&self, other: &Entry) -> bool {
        Entry {
            actor: String::new(),
            ..self.clone()
        } == Entry {
            actor: String::new(),
            ..other.clone()
        }
    }
}

/// Writes the tokens of a history's timestamps (`timestamp-<n>.tsr`), each once: a different
/// token already published for the same entry is a conflict, never overwritten.
pub fn write_timestamps(
    dir: &Path,
    tokens: &[(usize, Vec<u8>)],
) -> Result<Vec<PathBuf>, PublishError> {
    let mut written = Vec::new();
    for (n, token) in tokens {
        let path = dir.join(format!("timestamp-{n}.tsr"));
        match std::fs::read(&path) {
            Ok(existing) if existing == *token => {}
            Ok(_) => return Err(PublishError::Conflict(path)),
            Err(_) => {
                write_atomic(&path, token)?;
                written.push(path);
            }
        }
    }
    Ok(written)
}

/// What an older published copy of a plan's index lists and `now` (the history as it stands)
/// lacks: a history only ever grows, so each is a sign that records were deleted or rewritten.
/// An event is the same when its kind, document, digest, manifest and draw are.
pub fn lost_entries(older: &Index, now: &Index) -> Vec<String> {
    let key = |e: &Entry| {
        (
            e.event,
            e.file.clone(),
            e.sha256.clone(),
            e.manifest.clone(),
            e.draw.clone(),
        )
    };
    let current: Vec<_> = now.entries.iter().map(key).collect();
    older
        .entries
        .iter()
        .filter(|e| !current.contains(&key(e)))
        .map(|e| {
            format!(
                "entry {} ({:?}{}{}) of {} {} is no longer in its history",
                e.n,
                e.event,
                e.file
                    .as_deref()
                    .or(e.draw.as_deref())
                    .map(|f| format!(" {f}"))
                    .unwrap_or_default(),
                e.sha256
                    .as_deref()
                    .map(|h| format!(", sha256 {}…", &h[..12.min(h.len())]))
                    .unwrap_or_default(),
                older.plan,
                older.year
            )
        })
        .collect()
}

fn manifest_file(seq: i64) -> String {
    format!("manifest-{seq}.json")
}

/// The objects of a draw file: every `selected` and `alternates` id of its strata.
fn draw_objects(bytes: &[u8]) -> std::collections::BTreeSet<String> {
    let doc: serde_json::Value = serde_json::from_slice(bytes).unwrap_or_default();
    let mut out = std::collections::BTreeSet::new();
    for s in doc["strata"].as_array().into_iter().flatten() {
        for key in ["selected", "alternates"] {
            for t in s[key].as_array().into_iter().flatten() {
                if let Some(id) = t["id"].as_str() {
                    out.insert(id.to_string());
                }
            }
        }
    }
    out
}

fn draw_file(seq: i64) -> String {
    format!("draw-{seq}.json")
}

/// The index and the numbered documents of a plan, from its records (oldest first).
pub fn history(
    plan: &str,
    year: i64,
    store: Mode,
    manifests: &[ManifestRecord],
    draws: &[DrawRecord],
    takedowns: &[crate::store::TakedownRecord],
    audit_head: Option<AuditHead>,
) -> (Index, Vec<(String, Vec<u8>)>) {
    // (audit seq, time) orders the events as they were recorded.
    let mut events: Vec<((i64, String), Entry)> = Vec::new();
    let mut files = Vec::new();
    let by_id: BTreeMap<i64, i64> = manifests.iter().map(|m| (m.id, m.seq)).collect();
    for (i, m) in manifests.iter().enumerate() {
        let file = manifest_file(m.seq);
        files.push((file.clone(), m.content.clone().into_bytes()));
        events.push((
            (m.audit.as_ref().map_or(0, |a| a.seq), m.frozen_at.clone()),
            Entry {
                n: 0,
                event: if i == 0 {
                    EventKind::Freeze
                } else {
                    EventKind::Refreeze
                },
                sha256: Some(m.digest.clone()),
                file: Some(file),
                manifest: None,
                draw: None,
                available_at: m.available_at.clone(),
                at: m.frozen_at.clone(),
                actor: role(&m.actor),
                reason: m.reason.clone(),
                forced: false,
                task: None,
                entity: None,
                audit: m.audit.clone(),
            },
        ));
    }
    for d in draws {
        let file = draw_file(d.seq);
        files.push((file.clone(), d.content.clone().into_bytes()));
        events.push((
            (d.audit.as_ref().map_or(0, |a| a.seq), d.drawn_at.clone()),
            Entry {
                n: 0,
                event: EventKind::Draw,
                sha256: Some(d.digest.clone()),
                file: Some(file.clone()),
                manifest: by_id.get(&d.manifest_id).map(|s| manifest_file(*s)),
                draw: None,
                available_at: None,
                at: d.drawn_at.clone(),
                actor: role(&d.actor),
                reason: None,
                forced: false,
                task: None,
                entity: None,
                audit: d.audit.clone(),
            },
        ));
        if let Some(v) = &d.void {
            events.push((
                (v.audit.as_ref().map_or(0, |a| a.seq), v.at.clone()),
                Entry {
                    n: 0,
                    event: EventKind::Void,
                    file: None,
                    sha256: None,
                    manifest: None,
                    draw: Some(file),
                    available_at: None,
                    at: v.at.clone(),
                    actor: role(&v.actor),
                    reason: Some(v.reason.clone()),
                    forced: v.forced,
                    task: None,
                    entity: None,
                    audit: v.audit.clone(),
                },
            ));
        }
    }
    let seq_of: BTreeMap<i64, i64> = draws.iter().map(|d| (d.id, d.seq)).collect();
    for t in takedowns {
        events.push((
            (t.audit.seq, t.at.clone()),
            Entry {
                n: 0,
                event: EventKind::Takedown,
                file: None,
                sha256: None,
                manifest: None,
                draw: seq_of.get(&t.draw_id).map(|s| draw_file(*s)),
                available_at: None,
                at: t.at.clone(),
                actor: role(&t.actor),
                reason: Some(t.rule.clone()),
                forced: false,
                task: Some(t.task_id.clone()),
                entity: Some(t.uscc.clone()),
                audit: Some(t.audit.clone()),
            },
        ));
    }
    events.sort_by(|a, b| a.0.cmp(&b.0));
    let entries: Vec<Entry> = events
        .into_iter()
        .enumerate()
        .map(|(i, (_, e))| Entry { n: i + 1, ..e })
        .collect();
    let current = Current {
        manifest: manifests
            .iter()
            .rfind(|m| m.status == "active")
            .map(|m| manifest_file(m.seq)),
        draw: draws
            .iter()
            .rfind(|d| d.status == "official")
            .map(|d| draw_file(d.seq)),
    };
    let index = Index {
        spec: INDEX_SPEC.into(),
        plan: plan.to_string(),
        year,
        store,
        entries,
        current,
        audit_head,
    };
    (index, files)
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{0}: already published with other content; published files are never overwritten \
         (someone altered the public folder, or it belongs to another database)"
    )]
    Conflict(PathBuf),
    #[error(
        "{0}: the published history is not a prefix of the one being written; nothing \
         published is ever rewritten (someone altered the public folder, or it belongs to \
         another database)"
    )]
    Rewrite(PathBuf),
    #[error(
        "{path}: this folder holds a {} store's publication and this is a {} store: a \
         rehearsal never publishes into a real site, nor a real store into a rehearsal's; \
         publish into a folder of its own (public.dir, or --out)",
        theirs.name(),
        ours.name()
    )]
    Store {
        path: PathBuf,
        theirs: Mode,
        ours: Mode,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PublishError + '_ {
    move |source| PublishError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes a plan's history into `dir`: new numbered documents, the index (only if it extends
/// the one there), and the current copies. Returns the paths written.
pub fn write_history(
    dir: &Path,
    index: &Index,
    files: &[(String, Vec<u8>)],
) -> Result<Vec<PathBuf>, PublishError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let index_path = dir.join("index.json");
    if let Ok(old) = std::fs::read(&index_path) {
        let old: Index =
            serde_json::from_slice(&old).map_err(|_| PublishError::Rewrite(index_path.clone()))?;
        if old.store != index.store {
            return Err(PublishError::Store {
                path: index_path,
                theirs: old.store,
                ours: index.store,
            });
        }
        let extends = old.plan == index.plan
            && old.year == index.year
            && old.entries.len() <= index.entries.len()
            && old
                .entries
                .iter()
                .zip(&index.entries)
                .all(|(a, b)| a.same_event(b));
        if !extends {
            return Err(PublishError::Rewrite(index_path));
        }
    }
    let mut written = Vec::new();
    for (name, bytes) in files {
        let path = dir.join(name);
        match std::fs::read(&path) {
            Ok(existing) if existing == *bytes => {}
            Ok(_) => return Err(PublishError::Conflict(path)),
            Err(_) => {
                write_document(dir, name, bytes)?;
                written.push(path);
            }
        }
    }
    let find = |name: &Option<String>| {
        name.as_ref()
            .and_then(|n| files.iter().find(|(f, _)| f == n))
            .map(|(_, b)| b)
    };
    if let Some(bytes) = find(&index.current.manifest) {
        written.push(write_document(dir, "manifest.json", bytes)?);
    }
    if let Some(bytes) = find(&index.current.draw) {
        written.push(write_document(dir, "draw.json", bytes)?);
    }
    let mut text = serde_json::to_vec_pretty(index).map_err(|e| PublishError::Io {
        path: index_path.clone(),
        source: std::io::Error::other(e),
    })?;
    text.push(b'\n');
    write_atomic(&index_path, &text)?;
    written.push(index_path);
    Ok(written)
}

/// Whether a public folder may take a `mode` store's publication: every plan history already
/// in it (`<root>/<year>/<plan>/index.json`) must come from a store of the same kind, so a
/// rehearsal never rebuilds a real site's front page, nor adds its plans beside real ones.
pub fn check_site(root: &Path, mode: Mode) -> Result<(), PublishError> {
    #[derive(Deserialize)]
    struct Kind {
        #[serde(default = "production")]
        store: Mode,
    }
    let dirs = |p: &Path| -> Vec<PathBuf> {
        std::fs::read_dir(p)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .filter(|p| p.is_dir())
                    .collect()
            })
            .unwrap_or_default()
    };
    for year in dirs(root) {
        if !year
            .file_name()
            .is_some_and(|n| n.to_string_lossy().bytes().all(|b| b.is_ascii_digit()))
        {
            continue;
        }
        for plan in dirs(&year) {
            let path = plan.join("index.json");
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            if let Ok(k) = serde_json::from_slice::<Kind>(&bytes)
                && k.store != mode
            {
                return Err(PublishError::Store {
                    path,
                    theirs: k.store,
                    ours: mode,
                });
            }
        }
    }
    Ok(())
}

/// Writes `<dir>/<name>` and `<dir>/<stem>.sha256` beside it; returns the document's path.
pub fn write_document(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf, PublishError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let path = dir.join(name);
    let stem = name.strip_suffix(".json").unwrap_or(name);
    let digest = crate::audit::sha256_hex(bytes);
    write_atomic(&path, bytes)?;
    write_atomic(
        &dir.join(format!("{stem}.sha256")),
        format!("{digest}  {name}\n").as_bytes(),
    )?;
    Ok(path)
}

pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), PublishError> {
    // A temporary name of its own per file, process and call: two processes rebuilding the
    // site at once (the daemon and a command) never write into each other's file.
    static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = path
        .file_name()
        .map_or_else(String::new, |f| f.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(".{name}.{}.{n}.tmp", std::process::id()));
    let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
    f.write_all(bytes).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

/// Removes what a crashed rebuild left in the public folder (its temporary files) and the lock
/// file older versions kept there. Called under the site's lock, when no rebuild is writing:
/// only published documents and pages stay public.
pub fn sweep(out: &Path) -> Result<usize, PublishError> {
    fn walk(dir: &Path, depth: usize, removed: &mut usize) -> Result<(), PublishError> {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Ok(());
        };
        for e in entries.flatten() {
            let path = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            let leftover =
                name == ".site.lock" || (name.starts_with('.') && name.ends_with(".tmp"));
            match e.file_type() {
                Ok(t) if t.is_file() && leftover => {
                    std::fs::remove_file(&path).map_err(io(&path))?;
                    *removed += 1;
                }
                Ok(t) if t.is_dir() && depth > 0 => walk(&path, depth - 1, removed)?,
                _ => {}
            }
        }
        Ok(())
    }
    let mut removed = 0;
    walk(out, 3, &mut removed)?;
    Ok(removed)
}

/// One checked line of a history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Checked {
    pub n: usize,
    pub event: EventKind,
    pub file: Option<String>,
    pub note: String,
}

/// What a verified folder holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryReport {
    pub plan: String,
    pub year: i64,
    pub store: Mode,
    pub entries: Vec<Checked>,
    pub audit_head: Option<AuditHead>,
    /// Manifests frozen on a replayed or rehearsed clock: they prove nothing about timing.
    pub simulated: Vec<String>,
    /// What the check of the selection downloads found (None: the folder has no pages).
    pub selection: Option<String>,
    /// What each published timestamp (`timestamp-<n>.tsr`) proves.
    pub timestamps: Vec<String>,
}

/// Checks a whole published history from its files alone: every listed document present with
/// its digest, every manifest frozen before its seed became public, every draw recomputed from
/// the manifest it names (the one in force when it was made), voids naming a draw, at most one
/// draw standing at a time, the current copies equal to the current documents, and no
/// numbered document that the index leaves out.
pub fn verify_history(
    index_bytes: &[u8],
    read: &dyn Fn(&str) -> Option<Vec<u8>>,
    listing: &[String],
    tsa_ca: Option<&[u8]>,
) -> Result<HistoryReport, String> {
    let index: Index = serde_json::from_slice(index_bytes)
        .map_err(|e| format!("index.json is not a {INDEX_SPEC} index: {e}"))?;
    let v1 = index.spec == INDEX_SPEC_V1;
    if index.spec != INDEX_SPEC && !v1 {
        return Err(format!("index.json: unknown spec `{}`", index.spec));
    }
    if v1 == has_member(index_bytes, "store") {
        return Err(format!(
            "index.json: a {INDEX_SPEC} index says which kind of store published it (`store`), \
             a {INDEX_SPEC_V1} index does not"
        ));
    }
    let mut out = Vec::new();
    let mut simulated = Vec::new();
    let mut manifests: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut in_force: Option<String> = None;
    let mut standing: Option<String> = None;
    let mut drawn: Vec<String> = Vec::new();
    let mut voided: Vec<String> = Vec::new();
    // Each draw's objects (selected and alternates), for the takedowns that name them.
    let mut objects: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    let mut taken_down: std::collections::BTreeSet<String> = Default::default();
    let mut time = Timeline::default();
    for (i, e) in index.entries.iter().enumerate() {
        let at = |what: String| format!("index.json entry {} ({:?}): {what}", i + 1, e.event);
        if e.n != i + 1 {
            return Err(at(format!("numbered {}, expected {}", e.n, i + 1)));
        }
        time.event(i + 1, &e.at).map_err(at)?;
        if e.event != EventKind::Takedown && (e.task.is_some() || e.entity.is_some()) {
            return Err(at("only a takedown names a task and an entity".into()));
        }
        for name in [&e.file, &e.manifest, &e.draw].into_iter().flatten() {
            if !is_document_name(name) {
                return Err(at(format!(
                    "`{}` is not a published document's name (manifest-N.json or draw-N.json)",
                    crate::text::quote(name)
                )));
            }
        }
        let document = match (&e.file, &e.sha256) {
            (Some(f), Some(h)) => {
                let bytes = read(f).ok_or_else(|| at(format!("{f} is missing")))?;
                let digest = crate::audit::sha256_hex(&bytes);
                if &digest != h {
                    return Err(at(format!(
                        "{f} hashes to {digest}, the index says {h} (altered after publication)"
                    )));
                }
                Some((f.clone(), bytes))
            }
            (None, None) => None,
            _ => {
                return Err(at(
                    "a file without its digest, or a digest without its file".into(),
                ));
            }
        };
        let note = match e.event {
            EventKind::Freeze | EventKind::Refreeze => {
                let (f, bytes) = document.ok_or_else(|| at("no manifest file".into()))?;
                if e.event == EventKind::Refreeze && (in_force.is_none() || e.reason.is_none()) {
                    return Err(at(
                        "a refreeze needs an earlier manifest and a reason".into()
                    ));
                }
                if e.event == EventKind::Freeze && in_force.is_some() {
                    return Err(at("a second freeze must be a refreeze".into()));
                }
                if standing.is_some() {
                    return Err(at("refrozen while an official draw stands".into()));
                }
                let (manifest, timing) =
                    crate::draw::check_manifest(&bytes).map_err(|m| at(format!("{f}: {m}")))?;
                if (manifest.plan.id.as_str(), i64::from(manifest.plan.year))
                    != (index.plan.as_str(), index.year)
                {
                    return Err(at(format!(
                        "{f} is a manifest of plan {} ({}), not of {} ({})",
                        manifest.plan.id, manifest.plan.year, index.plan, index.year
                    )));
                }
                if timing.simulated {
                    if index.store == Mode::Production {
                        return Err(at(format!(
                            "{f} was frozen on a simulated clock (replayed or rehearsed) in a \
                             production history: it proves nothing about being frozen before \
                             the seed existed"
                        )));
                    }
                    simulated.push(f.clone());
                }
                time.manifest(&f, manifest.seed_source.available_at)
                    .map_err(at)?;
                manifests.insert(f.clone(), bytes);
                in_force = Some(f.clone());
                format!(
                    "frozen {} (spec {}), seed public from {}{}",
                    timing.frozen_at.as_deref().unwrap_or("(not recorded: v1)"),
                    timing.spec,
                    timing
                        .available_at
                        .as_deref()
                        .unwrap_or("(not recorded: v1)"),
                    e.reason
                        .as_deref()
                        .map(|r| format!("; reason: {r}"))
                        .unwrap_or_default()
                )
            }
            EventKind::Draw => {
                let (f, bytes) = document.ok_or_else(|| at("no draw file".into()))?;
                let m = e
                    .manifest
                    .as_ref()
                    .ok_or_else(|| at("names no manifest".into()))?;
                if Some(m) != in_force.as_ref() {
                    return Err(at(format!(
                        "drawn from {m}, but the manifest in force was {}",
                        in_force.as_deref().unwrap_or("none")
                    )));
                }
                if let Some(s) = &standing {
                    return Err(at(format!("drawn while {s} stands (not voided)")));
                }
                let mb = manifests
                    .get(m)
                    .ok_or_else(|| at(format!("{m} is not an earlier manifest")))?;
                let timing = crate::draw::verify(mb, &bytes)
                    .map_err(|d| at(format!("{f} does not verify: {d}")))?;
                let seed = serde_json::from_slice::<crate::draw::DrawDoc>(&bytes)
                    .map_err(|d| at(format!("{f}: {d}")))?
                    .seed_source;
                time.draw(&f, m, &e.at, &seed).map_err(at)?;
                standing = Some(f.clone());
                drawn.push(f.clone());
                objects.insert(f.clone(), draw_objects(&bytes));
                format!(
                    "verified against {m}; seed {} {}{}",
                    seed.kind.name(),
                    seed.value,
                    seed.round
                        .or(timing.beacon_round)
                        .map(|r| format!(" (drand round {r})"))
                        .unwrap_or_default()
                )
            }
            EventKind::Void => {
                let d = e.draw.as_ref().ok_or_else(|| at("names no draw".into()))?;
                if e.task.is_some() {
                    return Err(at("a void names no task".into()));
                }
                if standing.as_ref() != Some(d) || voided.contains(d) {
                    return Err(at(format!("{d} is not the standing draw")));
                }
                let reason = e
                    .reason
                    .as_deref()
                    .filter(|r| !r.trim().is_empty())
                    .ok_or_else(|| at("a void needs its reason".into()))?;
                voided.push(d.clone());
                time.void(d, &e.at);
                standing = None;
                format!(
                    "{d} voided{}: {reason}",
                    if e.forced { " (forced)" } else { "" }
                )
            }
            EventKind::Takedown => {
                if document.is_some() || e.manifest.is_some() {
                    return Err(at(
                        "a takedown publishes no file and names no manifest".into()
                    ));
                }
                let d = e.draw.as_ref().ok_or_else(|| at("names no draw".into()))?;
                let ids = objects
                    .get(d)
                    .ok_or_else(|| at(format!("{d} is not a draw listed before it")))?;
                let task = e
                    .task
                    .as_deref()
                    .filter(|t| {
                        !t.is_empty()
                            && t.chars()
                                .all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c))
                    })
                    .ok_or_else(|| at("names no task (letters, digits, `.`, `_`, `-`)".into()))?;
                let entity = e.entity.as_deref().unwrap_or("");
                if !ids.contains(entity) {
                    return Err(at(format!(
                        "{} is not one of {d}'s objects",
                        crate::text::quote(entity)
                    )));
                }
                let reason = e
                    .reason
                    .as_deref()
                    .filter(|r| !r.trim().is_empty())
                    .ok_or_else(|| at("a takedown needs its rule".into()))?;
                if !taken_down.insert(task.to_string()) {
                    return Err(at(format!("{task} was already taken down")));
                }
                format!("{task} ({entity}) of {d} taken down: {reason}")
            }
        };
        out.push(Checked {
            n: e.n,
            event: e.event,
            file: e.file.clone().or_else(|| e.draw.clone()),
            note,
        });
    }
    if index.current.manifest != in_force || index.current.draw != standing {
        return Err(format!(
            "index.json: current documents ({:?}, {:?}) are not the last in force ({in_force:?}, \
             {standing:?})",
            index.current.manifest, index.current.draw
        ));
    }
    for name in [&index.current.manifest, &index.current.draw]
        .into_iter()
        .flatten()
    {
        if !is_document_name(name) {
            return Err(format!(
                "index.json: `{}` is not a published document's name",
                crate::text::quote(name)
            ));
        }
    }
    for (copy, current) in [
        ("manifest.json", &index.current.manifest),
        ("draw.json", &index.current.draw),
    ] {
        if let Some(c) = current {
            let a = read(copy).ok_or_else(|| format!("{copy} is missing (it copies {c})"))?;
            if Some(a) != read(c) {
                return Err(format!("{copy} differs from {c}, the current document"));
            }
        }
    }
    for name in listing {
        let numbered =
            (name.starts_with("manifest-") || name.starts_with("draw-")) && name.ends_with(".json");
        let listed = index
            .entries
            .iter()
            .any(|e| e.file.as_deref() == Some(name.as_str()));
        if numbered && !listed {
            return Err(format!("{name} is in the folder but not in index.json"));
        }
    }
    let standing_bytes = standing.as_deref().and_then(read);
    let standing_doc = standing
        .as_deref()
        .zip(standing_bytes.as_deref())
        .map(|(f, b)| (b, f));
    let in_force_bytes = in_force.as_ref().and_then(|m| manifests.get(m));
    let selection = selection::check(read, in_force_bytes.map(Vec::as_slice), standing_doc)?;
    let timestamps = check_timestamps(index_bytes, index.entries.len(), read, listing, tsa_ca)?;
    Ok(HistoryReport {
        plan: index.plan,
        year: index.year,
        store: index.store,
        entries: out,
        audit_head: index.audit_head,
        simulated,
        selection,
        timestamps,
    })
}

/// Every `timestamp-<n>.tsr` of the folder stamps `head(n)` of this history (spec section 12),
/// and, given the authority's CA, is its signature.
fn check_timestamps(
    index_bytes: &[u8],
    entries: usize,
    read: &dyn Fn(&str) -> Option<Vec<u8>>,
    listing: &[String],
    tsa_ca: Option<&[u8]>,
) -> Result<Vec<String>, String> {
    let mut found: Vec<(usize, &String)> = listing
        .iter()
        .filter_map(|name| {
            let n = name.strip_prefix("timestamp-")?.strip_suffix(".tsr")?;
            Some((n.parse().ok()?, name))
        })
        .collect();
    found.sort();
    let mut out = Vec::new();
    for (n, name) in found {
        if n == 0 || n > entries {
            return Err(format!("{name}: the history has no entry {n}"));
        }
        let token = read(name).ok_or_else(|| format!("{name} is missing"))?;
        let head = witness::head_in(index_bytes, n)?;
        let stamp = crate::timestamp::check(&token, &head, tsa_ca)
            .map_err(|e| format!("{name} does not stamp the history up to entry {n}: {e}"))?;
        out.push(format!(
            "{name}: the history up to entry {n} existed at {} (UTC){}",
            stamp.gen_time,
            if stamp.signature_checked {
                ", signed by the authority"
            } else {
                "; the signature was not checked (give the authority's CA: --tsa-ca)"
            }
        ));
    }
    Ok(out)
}

fn has_member(json: &[u8], name: &str) -> bool {
    serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(json)
        .is_ok_and(|m| m.contains_key(name))
}

/// What a history's order must say about its seeds: events in time order; no manifest whose
/// seed was already public when an earlier draw or void was made (its seed could be known when
/// it was frozen); after a void, a draw only from a manifest frozen after it (a redraw needs a
/// seed that did not exist when the first result was set aside); no seed used by two draws.
#[derive(Default)]
struct Timeline {
    last: Option<(usize, chrono::DateTime<chrono::FixedOffset>)>,
    /// The latest draw or void so far: a later manifest's seed must come after it.
    settled: Option<(String, chrono::DateTime<chrono::FixedOffset>)>,
    /// Manifests frozen since the last void (all of them before any void).
    fresh: Vec<String>,
    seeds: Vec<(String, String, Option<u64>)>,
}

impl Timeline {
    fn event(&mut self, n: usize, at: &str) -> Result<(), String> {
        let t = chrono::DateTime::parse_from_rfc3339(at)
            .map_err(|_| format!("`{}` is not an RFC 3339 time", crate::text::quote(at)))?;
        if let Some((m, before)) = self.last
            && t < before
        {
            return Err(format!(
                "at {at}, before entry {m} ({}): the events are not in time order",
                before.to_rfc3339()
            ));
        }
        self.last = Some((n, t));
        Ok(())
    }

    fn manifest(
        &mut self,
        file: &str,
        available: Option<chrono::DateTime<chrono::FixedOffset>>,
    ) -> Result<(), String> {
        if let (Some((what, t)), Some(a)) = (&self.settled, available)
            && a <= *t
        {
            return Err(format!(
                "{file} was frozen after {what} (at {}) and its seed is public from {}, not \
                 after it: its seed could already be known when it was frozen",
                t.to_rfc3339(),
                a.to_rfc3339()
            ));
        }
        self.fresh.push(file.to_string());
        Ok(())
    }

    fn draw(
        &mut self,
        file: &str,
        manifest: &str,
        at: &str,
        seed: &crate::draw::SeedValue,
    ) -> Result<(), String> {
        if let Some((voided, _)) = &self.settled
            && !self.fresh.iter().any(|m| m == manifest)
        {
            return Err(format!(
                "{file} redraws from {manifest} after {voided}: a redraw needs a manifest \
                 frozen after the void, with a seed that did not exist then"
            ));
        }
        if let Some((earlier, _, _)) = self
            .seeds
            .iter()
            .find(|(_, v, r)| *v == seed.value || (r.is_some() && *r == seed.round))
        {
            return Err(format!(
                "{file} reuses the seed of {earlier} ({} {}): a seed is used by one draw only",
                seed.kind.name(),
                seed.value
            ));
        }
        self.seeds
            .push((file.to_string(), seed.value.clone(), seed.round));
        self.settle(file, at);
        Ok(())
    }

    fn void(&mut self, draw: &str, at: &str) {
        self.settle(&format!("the void of {draw}"), at);
        self.fresh.clear();
    }

    fn settle(&mut self, what: &str, at: &str) {
        if let Ok(t) = chrono::DateTime::parse_from_rfc3339(at) {
            self.settled = Some((what.to_string(), t));
        }
    }
}

/// How the daemon's actor begins (`suiji-daemon:<who started it>`).
pub const DAEMON: &str = "suiji-daemon:";

/// Who recorded an event, as the public reads it: a role, never a login or host name (the
/// audit log keeps the name).
fn role(actor: &str) -> String {
    if actor.starts_with(DAEMON) || actor == "suiji-daemon" {
        "daemon".into()
    } else {
        "operator".into()
    }
}

/// `manifest-N.json` or `draw-N.json`: the only names an index may point at (never a path).
fn is_document_name(name: &str) -> bool {
    let number = name
        .strip_prefix("manifest-")
        .or_else(|| name.strip_prefix("draw-"))
        .and_then(|rest| rest.strip_suffix(".json"));
    number.is_some_and(|n| !n.is_empty() && n.len() <= 9 && n.bytes().all(|b| b.is_ascii_digit()))
}

/// A folder laid out as published, `<year>/<plan>/`, holds only its own plan's history: a
/// copy of another plan's files put there is refused. A copy kept under another name is
/// verified for the plan and year its index states, which the verifier prints.
fn check_folder(dir: &Path, plan: &str, year: i64) -> Result<(), String> {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let name = |p: Option<&Path>| {
        p.and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned())
    };
    let (Some(folder), Some(parent)) = (name(Some(&dir)), name(dir.parent())) else {
        return Ok(());
    };
    let published = parent.len() == 4 && parent.bytes().all(|b| b.is_ascii_digit());
    if published && (folder != plan || parent != year.to_string()) {
        return Err(format!(
            "{}: the folder is {parent}/{folder}, but its index.json is the history of {plan} \
             ({year}): another plan's files were put in its place",
            dir.display()
        ));
    }
    Ok(())
}

/// Verifies a folder from disk: its history when it has an `index.json`, otherwise the single
/// pair `manifest.json` + `draw.json` (what a dry run writes, or a pre-history folder).
pub fn verify_dir(dir: &Path) -> Result<Verified, String> {
    verify_dir_with(dir, None)
}

/// [`verify_dir`], checking timestamps' signatures against the authority's CA (PEM).
pub fn verify_dir_with(dir: &Path, tsa_ca: Option<&[u8]>) -> Result<Verified, String> {
    let read = |name: &str| std::fs::read(dir.join(name)).ok();
    match read("index.json") {
        Some(index) => {
            let listing: Vec<String> = std::fs::read_dir(dir)
                .map_err(|e| format!("{}: {e}", dir.display()))?
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            let report = verify_history(&index, &read, &listing, tsa_ca)?;
            check_folder(dir, &report.plan, report.year)?;
            Ok(Verified::History(report))
        }
        None => {
            let need = |name: &str| {
                read(name).ok_or_else(|| format!("{}: missing", dir.join(name).display()))
            };
            crate::draw::verify(&need("manifest.json")?, &need("draw.json")?).map(Verified::Pair)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verified {
    History(HistoryReport),
    Pair(crate::draw::Timing),
}
