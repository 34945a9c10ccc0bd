//! The disclosure site (一公开): `suiji publish`, and the same after every freeze, draw, void,
//! result and penalty (the operations that record them call [`refresh`]; the daemon also
//! rebuilds when the audit head moves, whoever recorded the event).
//!
//! The site lives in the public folder beside the append-only draw history, one folder per plan
//! and year (`<out>/<year>/<plan>/`), with a front page listing them. Pages are derived from
//! recorded facts only, so rebuilding them never loses anything: a published result stays on
//! its page for good, and a correction shows as a correction.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Ctx, OpsError, Result};
use crate::clock::stamp;
use crate::publish::{self, site};
use crate::store::TaskFilter;

/// What one plan's folder holds, as `site.json` records it (the front page reads these).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    pub plan: String,
    pub year: i64,
    pub title: String,
    pub rehearsal: bool,
    pub tasks: usize,
    pub results: usize,
    pub generated_at: String,
}

#[derive(Debug, Serialize)]
pub struct Published {
    pub out: PathBuf,
    pub plans: Vec<Summary>,
    /// Files written (new or changed); unchanged files are left alone.
    pub written: usize,
}

fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<bool> {
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(false);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| {
            OpsError::Publish(publish::PublishError::Io {
                path: dir.to_path_buf(),
                source: e,
            })
        })?;
    }
    publish::write_atomic(path, bytes)?;
    Ok(true)
}

/// One plan's publication as read from the store for one rebuild: its records and the history
/// index they make. A large manifest's text is read once per rebuild, not once per use.
struct History {
    manifests: Vec<crate::store::ManifestRecord>,
    draws: Vec<crate::store::DrawRecord>,
    index: publish::Index,
}

/// Reads one plan's publication and writes its history into `out` (append-only); returns what
/// was read and the paths written.
async fn write_history(
    ctx: &Ctx<'_>,
    plan_id: &str,
    year: i64,
    out: &Path,
) -> Result<(History, Vec<PathBuf>)> {
    let lost: Vec<String> = ctx
        .store
        .unrecorded_events()
        .await?
        .into_iter()
        .filter(|(_, _, plan)| plan == plan_id)
        .map(|(seq, action, _)| format!("{action} at audit row {seq}"))
        .collect();
    if !lost.is_empty() {
        return super::invalid(format!(
            "the audit chain records events of {plan_id} that the store no longer holds ({}): \
             its records were edited behind suiji's back, and publishing now would make the \
             public history shrink unseen. Nothing was published; restore the store from a \
             backup (`suiji audit verify` lists what is missing)",
            lost.join(", ")
        ));
    }
    let (manifests, draws) = ctx.store.publication(plan_id, year).await?;
    let takedowns = ctx.store.takedowns(plan_id, year).await?;
    let head = ctx.store.audit_head().await?;
    let mode = ctx.store.mode().await?;
    let (index, files) =
        publish::history(plan_id, year, mode, &manifests, &draws, &takedowns, head);
    let written = publish::write_history(&publish::plan_dir(out, year, plan_id), &index, &files)?;
    // The witnesses' receipts and the timestamps, each once per entry whenever the history is
    // written: what could not be done now is done at the next write.
    if let Err(e) = super::notices::witness(ctx, &index).await {
        tracing::warn!("the witnesses' receipts of {plan_id} ({year}) were not queued: {e}");
    }
    let dir = publish::plan_dir(out, year, plan_id);
    let written = match timestamps(ctx, &index, &dir).await {
        Ok(more) => [written, more].concat(),
        Err(e) => {
            tracing::warn!("the history of {plan_id} ({year}) was not timestamped: {e}");
            written
        }
    };
    let history = History {
        manifests,
        draws,
        index,
    };
    Ok((history, written))
}

/// Stamps every head of a history that has no token yet at the configured authority
/// (`public.timestamp_url`), keeps each token, and publishes it as `timestamp-<n>.tsr`.
async fn timestamps(ctx: &Ctx<'_>, index: &publish::Index, dir: &Path) -> Result<Vec<PathBuf>> {
    let p = &ctx.settings.public;
    if p.timestamp_url.is_empty() {
        return Ok(Vec::new());
    }
    let ca =
        match &p.timestamp_ca {
            Some(f) => Some(std::fs::read(f).map_err(|e| {
                OpsError::Invalid(format!("public.timestamp_ca {}: {e}", f.display()))
            })?),
            None => None,
        };
    let mut tokens = Vec::new();
    for n in 1..=index.entries.len() {
        let digest = publish::witness::head(index, n).map_err(OpsError::Internal)?;
        let head = crate::audit::hex(&digest);
        let key = (index.plan.as_str(), index.year);
        let token = match ctx.store.timestamp_token(key, n, &head).await? {
            Some(t) => t,
            None => {
                let (url, ca) = (p.timestamp_url.clone(), ca.clone());
                let tls = ctx
                    .settings
                    .beacon
                    .tls()
                    .map_err(|e| OpsError::Invalid(e.to_string()))?;
                // Bounded: an authority that hangs delays this history's stamp, not the site.
                let timeout = std::time::Duration::from_secs(30);
                let token = tokio::task::spawn_blocking(move || {
                    crate::timestamp::fetch(&url, &digest, ca.as_deref(), timeout, tls)
                })
                .await
                .map_err(|e| OpsError::Internal(e.to_string()))?
                .map_err(|e| OpsError::Internal(e.to_string()))?;
                ctx.store
                    .keep_timestamp(key, n, &head, &token, ctx.clock)
                    .await?
            }
        };
        tokens.push((n, token));
    }
    Ok(publish::write_timestamps(dir, &tokens)?)
}

/// A plan's index as its history stands in the store now (what `publish` would write).
pub async fn index_now(ctx: &Ctx<'_>, plan_id: &str, year: i64) -> Result<publish::Index> {
    let (manifests, draws) = ctx.store.publication(plan_id, year).await?;
    let takedowns = ctx.store.takedowns(plan_id, year).await?;
    let head = ctx.store.audit_head().await?;
    let mode = ctx.store.mode().await?;
    Ok(publish::history(plan_id, year, mode, &manifests, &draws, &takedowns, head).0)
}

/// Builds and writes one plan's folder under `out`: its history (append-only, unless `known`
/// was just written) and its pages.
async fn plan_folder(
    ctx: &Ctx<'_>,
    plan_id: &str,
    year: i64,
    out: &Path,
    known: Option<History>,
) -> Result<(Summary, usize)> {
    let tasks: Vec<_> = ctx
        .store
        .tasks(&TaskFilter::default())
        .await?
        .into_iter()
        .filter(|t| t.plan_id == plan_id && t.year == year)
        .collect();
    // Results whose retention ran out are taken down first, each a new event of the history
    // (recorded once: a rebuild that finds nothing new writes nothing).
    let retention = publish::retention::Retention {
        years: ctx.settings.public.retention_years,
        natural_person_years: ctx.settings.public.retention_years_natural_person,
    };
    let due = publish::retention::due(&tasks, retention, ctx.clock.today());
    let new = ctx
        .store
        .record_takedowns(&due, ctx.clock, ctx.actor)
        .await?;
    if new > 0 {
        tracing::info!(
            plan = plan_id,
            year,
            "{new} result(s) taken down: retention ran out"
        );
    }
    let (history, mut written) = match known.filter(|_| new == 0) {
        Some(h) => (h, 0),
        None => {
            let (h, paths) = write_history(ctx, plan_id, year, out).await?;
            (h, paths.len())
        }
    };
    let History {
        manifests,
        draws,
        index,
    } = &history;
    let dir = publish::plan_dir(out, year, plan_id);
    let ids: std::collections::HashSet<&str> = tasks.iter().map(|t| t.id.as_str()).collect();
    let now = stamp(ctx.clock.now());
    // Every fact recorded, whoever builds the pages and on whatever clock: a rebuild never
    // drops a correction (no recording time is later than the real one).
    let facts: Vec<_> = ctx
        .store
        .facts_known_by(&stamp(ctx.clock.wall()), None)
        .await?
        .into_iter()
        .filter(|f| ids.contains(f.task_id.as_str()))
        .collect();
    let items = ctx.store.items().await?;
    let officers: HashMap<String, String> = ctx
        .store
        .officers()
        .await?
        .into_iter()
        .map(|o| (o.id, o.name))
        .collect();
    let labels = super::Labels::of(ctx.settings)?;
    let calendar = super::plan::calendar(ctx.settings)?;
    let division = |code: &str| labels.division(code);
    let agency = |code: &str| labels.agency(code);
    let city = |code: &str| labels.city(code);
    let relays = ctx
        .settings
        .beacon
        .relays
        .first()
        .cloned()
        .unwrap_or_default();
    let names = site::Names {
        department: labels.department(),
        division: &division,
        agency: &agency,
        city: &city,
        officers: &officers,
        beacon_relay: &relays,
    };
    let input = site::Inputs {
        plan_id,
        year,
        manifests,
        draws,
        index,
        tasks: &tasks,
        facts: &facts,
        items: &items,
        fields: &ctx.settings.public.result_fields,
        generated_at: &now,
        today: ctx.clock.today(),
        calendar: &calendar,
    };
    let Some(pages) = site::PlanSite::build(&input, &names) else {
        return Err(OpsError::Internal(format!(
            "plan {plan_id} ({year}): its manifest could not be read back from the store"
        )));
    };
    for (name, bytes) in site::render(&pages).map_err(|e| OpsError::Internal(e.to_string()))? {
        if write_if_changed(&dir.join(&name), &bytes)? {
            written += 1;
        }
    }
    let summary = Summary {
        plan: plan_id.to_string(),
        year,
        title: pages.title.clone(),
        rehearsal: pages.rehearsal,
        tasks: pages.task_count,
        results: pages.results.len(),
        generated_at: now,
    };
    let json =
        serde_json::to_vec_pretty(&summary).map_err(|e| OpsError::Internal(e.to_string()))?;
    write_if_changed(&dir.join("site.json"), &json)?;
    Ok((summary, written))
}

/// Writes the site into `out` (the public folder by default): every plan of `year`, or every
/// plan, and the front page.
pub async fn publish(ctx: &Ctx<'_>, year: Option<i64>, out: Option<&Path>) -> Result<Published> {
    let out = out.unwrap_or(ctx.settings.public_dir()).to_path_buf();
    let _lock = lock(ctx, &out).await?;
    rebuild(ctx, year, out, None).await
}

/// After a plan's draw event (freeze, draw, void) is recorded: writes its history into the
/// public folder, which is the publication itself, so a failure is the caller's error; then
/// rebuilds the year's pages from the same read, where a failure is only a warning (see
/// [`after_event`]). Returns the history's paths written.
pub async fn publish_plan(ctx: &Ctx<'_>, plan_id: &str, year: i64) -> Result<Vec<PathBuf>> {
    let out = ctx.settings.public_dir();
    let _lock = lock(ctx, out).await?;
    let (history, written) = write_history(ctx, plan_id, year, out).await?;
    let known = Some((plan_id, year, history));
    let _ = unbuilt(rebuild(ctx, Some(year), out.to_path_buf(), known).await);
    Ok(written)
}

/// [`publish`] under its lock; `known` is a plan's history already read and written.
async fn rebuild(
    ctx: &Ctx<'_>,
    year: Option<i64>,
    out: PathBuf,
    mut known: Option<(&str, i64, History)>,
) -> Result<Published> {
    let all = ctx.store.published_plans().await?;
    if let Some(y) = year
        && !all.iter().any(|(_, py)| *py == y)
    {
        let years: Vec<String> = all.iter().map(|(_, y)| y.to_string()).collect();
        return super::invalid(format!(
            "nothing is published for {y}: no plan of that year has been frozen (published \
             years: {})",
            if years.is_empty() {
                "none".into()
            } else {
                years.join(", ")
            }
        ));
    }
    let mut plans = Vec::new();
    let mut written = 0;
    for (plan_id, y) in &all {
        let dir = publish::plan_dir(&out, *y, plan_id);
        let previous = std::fs::read(dir.join("site.json"))
            .ok()
            .and_then(|b| serde_json::from_slice::<Summary>(&b).ok());
        match (year.is_none_or(|w| w == *y), previous) {
            (false, Some(s)) => plans.push(s),
            _ => {
                let history = known
                    .take_if(|(p, ky, _)| p == plan_id && ky == y)
                    .map(|(_, _, h)| h);
                let (s, n) = plan_folder(ctx, plan_id, *y, &out, history).await?;
                written += n;
                plans.push(s);
            }
        }
    }
    let listed: Vec<site::Listed> = plans
        .iter()
        .map(|s| site::Listed {
            year: s.year,
            plan_id: s.plan.clone(),
            title: s.title.clone(),
            results: s.results,
            rehearsal: s.rehearsal,
        })
        .collect();
    let now = stamp(ctx.clock.now());
    let home = site::render_home(super::Labels::of(ctx.settings)?.department(), &now, &listed)
        .map_err(|e| OpsError::Internal(e.to_string()))?;
    for (name, bytes) in home {
        if write_if_changed(&out.join(name), &bytes)? {
            written += 1;
        }
    }
    Ok(Published {
        out,
        plans,
        written,
    })
}

/// One rebuild at a time per folder (the daemon and a command may both rebuild): each reads the
/// store only once it holds the lock, so the last rebuild always shows the latest facts. A
/// folder holding another kind of store's publication is refused (see `publish::check_site`).
async fn lock(ctx: &Ctx<'_>, out: &Path) -> Result<std::fs::File> {
    let io = |e: std::io::Error| {
        OpsError::Publish(publish::PublishError::Io {
            path: out.to_path_buf(),
            source: e,
        })
    };
    std::fs::create_dir_all(out).map_err(io)?;
    // The lock is the public folder itself (flock on its directory): every process that
    // writes there, whatever its configuration, takes the same one, and no lock file is ever
    // published.
    let file = std::fs::File::open(out).map_err(io)?;
    for _ in 0..1200 {
        if crate::lock::try_exclusive(&file) {
            publish::check_site(out, ctx.store.mode().await?)?;
            publish::sweep(out)?;
            return Ok(file);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    Err(OpsError::Internal(format!(
        "{}: another process has been rebuilding the site for a minute",
        out.display()
    )))
}

/// Rebuilds the public folder's pages of one plan after an event it records.
pub async fn refresh(ctx: &Ctx<'_>, year: i64) -> Result<Published> {
    publish(ctx, Some(year), None).await
}

/// After an event is recorded: rebuilds the year's pages. A failure is a warning, not an error:
/// the event stands, and the pages are derived from it, so `suiji publish` or the daemon's next
/// look writes them.
pub async fn after_event(ctx: &Ctx<'_>, year: i64) -> Option<String> {
    unbuilt(refresh(ctx, year).await)
}

/// A rebuild that failed after an event, logged, as the warning its caller may show.
fn unbuilt(rebuilt: Result<Published>) -> Option<String> {
    let e = rebuilt.err()?;
    tracing::warn!("the public site was not rebuilt: {e}");
    Some(format!(
        "recorded, but the public site was not rebuilt: {e} (run `suiji publish`)"
    ))
}
