//! Freezing the manifest, the official draw (and the tasks it creates), dry runs and voids,
//! with the trust rules around them: a manifest is frozen only before its seed is public, the
//! official draw only after, a void never sets real work aside silently, and everything is
//! published append-only.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::Serialize;

use super::plan::Script;
use super::site::publish_plan;
use super::{Ctx, OpsError, Result, invalid};
use crate::clock::{Clock, stamp};
use crate::draw::{self, DrawDoc, FreezeTime, Manifest, SeedValue};
use crate::plan::{Plan, SeedKind};
use crate::publish;
use crate::store::{DrawRecord, ManifestRecord, NewTask, StoreError};

/// How a freeze ended.
#[derive(Debug, Serialize)]
pub struct Frozen {
    pub record: ManifestRecord,
    /// The same inputs were frozen before: nothing new was recorded.
    pub already: bool,
    #[serde(skip)]
    pub manifest: Manifest,
    pub published: Vec<PathBuf>,
}

fn freeze_time(clock: &dyn Clock) -> FreezeTime {
    FreezeTime {
        at: stamp(clock.now()),
        simulated: !clock.is_real(),
    }
}

fn shanghai(t: chrono::DateTime<chrono::FixedOffset>) -> String {
    stamp(t.with_timezone(&chrono_tz::Asia::Shanghai))
}

/// Freezes the plan's manifest (or finds the same inputs already frozen, and republishes).
/// Refused at or after the moment the seed becomes public: from then on anyone could try
/// manifests against the known seed until one gave the outcome they wanted.
pub async fn freeze(
    ctx: &Ctx<'_>,
    script: Script<'_>,
    refreeze_reason: Option<&str>,
) -> Result<Frozen> {
    let imported = ctx.store.last_import().await?;
    let (checked, rc) = super::plan::checked(ctx, script).await?;
    let plan = &checked.plan;
    let year = i64::from(plan.year);
    let department = rc.vocab.department().code.clone();
    let names = candidate_names(ctx, &checked, &rc, Some(imported)).await?;
    let lookup = |u: &str| names.get(u).cloned();
    let build = |t: &FreezeTime, salt: Option<&str>| {
        draw::manifest(
            plan,
            &checked.strata,
            &rc.snapshot,
            &department,
            t,
            &lookup,
            salt,
        )
    };
    if let Some(existing) = ctx.store.active_manifest(&plan.id, year).await? {
        // The same inputs frozen again: the manifest as it would have been built then, with
        // the salt drawn then (a v2 manifest, frozen before v3, had none).
        let stored = serde_json::from_str::<Manifest>(&existing.content).ok();
        let then = FreezeTime {
            at: existing.frozen_at.clone(),
            simulated: stored.as_ref().is_some_and(|m| m.simulated),
        };
        let same = match ctx.store.eligibility(existing.id).await? {
            Some(record) => {
                let record: draw::eligibility::Record = serde_json::from_str(&record)
                    .map_err(|e| OpsError::Internal(format!("stored eligibility record: {e}")))?;
                let rebuilt = build(&then, Some(&record.salt))?.0;
                if stored.is_some_and(|m| m.spec == draw::SPEC_V3) {
                    draw::as_v3(rebuilt)
                } else {
                    rebuilt
                }
            }
            None => draw::manifest_v2(plan, &checked.strata, &rc.snapshot, &department, &then),
        };
        if refreeze_reason.is_none()
            && crate::audit::sha256_hex(&draw::canonical(&same)?) == existing.digest
        {
            let published = publish_plan(ctx, &plan.id, year).await?;
            return Ok(Frozen {
                record: existing,
                already: true,
                manifest: same,
                published,
            });
        }
    }
    refuse_ended_window(ctx, plan)?;
    after_history(ctx, plan).await?;
    let now = ctx.clock.now();
    let available = plan.seed.available_at;
    if now >= available {
        return invalid(format!(
            "freezing plan {} is refused: its seed becomes public at {} and it is now {}. A \
             manifest must be frozen before anyone can know the seed, or the seed could be \
             tried against manifests until one gives a wanted outcome. The frozen manifest \
             stays the one the draw uses; to draw from other inputs, announce a new seed \
             source with a later available_at in the plan.",
            plan.id,
            shanghai(available),
            stamp(now)
        ));
    }
    if let Some(reason) = refreeze_reason {
        crate::text::check_note("the refreeze's --reason", reason, 500)
            .map_err(OpsError::Invalid)?;
    }
    let (manifest, record) = build(&freeze_time(ctx.clock), salt(ctx).await?.as_deref())?;
    let bytes = draw::canonical(&manifest)?;
    let digest = crate::audit::sha256_hex(&bytes);
    let utf8 = |b: Vec<u8>| String::from_utf8(b).map_err(|e| OpsError::Internal(e.to_string()));
    let content = utf8(bytes)?;
    let record = utf8(draw::canonical(&record)?)?;
    let record = match ctx
        .store
        .freeze(
            &plan.id,
            year,
            &digest,
            &plan.source.sha256,
            (content, Some(&record)),
            manifest.frozen_at.as_deref().unwrap_or_default(),
            &shanghai(available),
            refreeze_reason,
            ctx.clock,
            ctx.actor,
        )
        .await
    {
        Ok(r) => r,
        Err(StoreError::AlreadyFrozen(existing)) => {
            return invalid(format!(
                "{}; the registry or the plan has changed since, and the frozen manifest stays \
                 the one the draw will use. To replace it before the seed is public ({}), run \
                 `suiji freeze --refreeze --reason \"...\"` (audited and published).",
                StoreError::AlreadyFrozen(existing),
                shanghai(available)
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let published = publish_plan(ctx, &plan.id, year).await?;
    Ok(Frozen {
        record,
        already: false,
        manifest,
        published,
    })
}

/// The salt of a new eligibility record: from the operating system on a department's store;
/// none on a rehearsal store, whose draws must reproduce (see `draw::eligibility::seal`).
async fn salt(ctx: &Ctx<'_>) -> Result<Option<String>> {
    Ok(match ctx.store.mode().await? {
        crate::store::Mode::Production => Some(os_seed()?),
        crate::store::Mode::Rehearsal => None,
    })
}

/// Every candidate's name and municipal unit as the registry holds them now, for the manifest
/// to publish. `imported`, the last import before the plan's snapshot was read, guards against
/// an import between the two reads: the names would then not be the snapshot's.
async fn candidate_names(
    ctx: &Ctx<'_>,
    checked: &crate::rules::Checked,
    rc: &crate::rules::Context,
    imported: Option<i64>,
) -> Result<std::collections::HashMap<String, draw::EntityDecl>> {
    let frame = &rc.snapshot.entities;
    let usccs: std::collections::HashSet<&str> = checked
        .strata
        .iter()
        .flat_map(|s| s.members.iter().map(|&i| frame.uscc(i)))
        .collect();
    let (names, last) = ctx.store.entity_names(&usccs).await?;
    if imported.is_some_and(|i| i != last) {
        return invalid(
            "the registry was imported into while the freeze read it: nothing was frozen; run              the freeze again",
        );
    }
    let labels = super::Labels::of(ctx.settings)?;
    Ok(names
        .into_iter()
        .map(|(u, (name, city))| {
            let city = labels.city(&city);
            (u, draw::EntityDecl { name, city })
        })
        .collect())
}

/// A plan's published history is in time order: no freeze, draw or void is recorded at a
/// moment before one it already holds (a rehearsal's `--today` cannot go back behind it, and
/// every verifier refuses a history out of order).
async fn after_history(ctx: &Ctx<'_>, plan: &Plan) -> Result<()> {
    let now = ctx.clock.now();
    let latest = ctx
        .store
        .event_times(&plan.id, i64::from(plan.year))
        .await?
        .iter()
        .filter_map(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .max();
    match latest {
        Some(t) if now < t => invalid(format!(
            "plan {}'s published history already holds an event at {}: nothing is recorded \
             before it (it is now {})",
            plan.id,
            shanghai(t),
            stamp(now)
        )),
        _ => Ok(()),
    }
}

/// On the real clock, a plan whose window has ended is not frozen or drawn now: that is a
/// rehearsal of a past year (or a replay with `--today`), which says so in what it publishes.
fn refuse_ended_window(ctx: &Ctx<'_>, plan: &Plan) -> Result<()> {
    let today = ctx.clock.today();
    if ctx.clock.is_real() && today > plan.window.end {
        return invalid(format!(
            "plan {}'s window ended on {} (today is {today}): its year is over. To see what the \
             daemon would have done, rehearse it on a copy that never touches this store or \
             the world: `suiji rehearse --from URL --into DIR --until {}`",
            plan.id, plan.window.end, plan.window.end
        ));
    }
    Ok(())
}

/// Where the official draw's randomness comes from, as the caller has it.
#[derive(Debug, Clone, Default)]
pub struct SeedInput {
    /// Manual digits as announced.
    pub value: Option<String>,
    /// The drand round's signature, typed in instead of fetched from relays.
    pub beacon_signature: Option<String>,
}

/// The official draw as recorded, with what it created.
#[derive(Debug, Serialize)]
pub struct Drawn {
    pub record: DrawRecord,
    #[serde(skip)]
    pub doc: DrawDoc,
    pub tasks: usize,
    pub published: Vec<PathBuf>,
}

/// Turns what the caller gave into the seed value the manifest's kind asks for.
async fn seed_value(ctx: &Ctx<'_>, manifest: &Manifest, input: SeedInput) -> Result<SeedValue> {
    let kind = manifest.seed_source.kind;
    let other = |what: &str| {
        invalid::<SeedValue>(format!(
            "this plan's seed kind is \"{}\": {what}",
            kind.name()
        ))
    };
    match kind {
        SeedKind::Manual => match (input.value, input.beacon_signature) {
            (Some(v), None) => Ok(SeedValue::plain(kind, &v)),
            (None, None) => other(
                "give the publicly drawn digits with --seed-value (or `suiji seed enter`) once \
                 they are announced",
            ),
            (_, Some(_)) => other("a beacon signature does not apply"),
        },
        SeedKind::Os => match (input.value, input.beacon_signature) {
            (None, None) => Ok(SeedValue::plain(kind, &os_seed()?)),
            _ => other("the value comes from the operating system; nothing can be typed in"),
        },
        SeedKind::Drand => {
            if input.value.is_some() {
                return other(
                    "the value is the beacon round's randomness: give its signature with \
                     --beacon-signature, or let suiji fetch it from the relays",
                );
            }
            let round = manifest
                .seed_source
                .beacon
                .as_ref()
                .map(|b| b.round)
                .ok_or_else(|| OpsError::Internal("drand manifest without its round".into()))?;
            let beacon = match input.beacon_signature {
                Some(sig) => crate::beacon::verify(round, &sig),
                None => {
                    let relays = ctx
                        .settings
                        .beacon
                        .relays()
                        .map_err(|e| OpsError::Invalid(e.to_string()))?;
                    crate::beacon::fetch(&relays, round, ctx.clock.now().timestamp()).await
                }
            }
            .map_err(|e| match e {
                crate::beacon::BeaconError::NotYet { .. } => OpsError::NotYet(e.to_string()),
                e => OpsError::Invalid(e.to_string()),
            })?;
            Ok(SeedValue::drand(&beacon))
        }
    }
}

/// 32 bytes from the operating system, as hex: the unattended (and weaker) seed, and the salt
/// of each eligibility record.
fn os_seed() -> Result<String> {
    use rand::TryRng;
    let mut bytes = [0u8; 32];
    rand::rngs::SysRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| OpsError::Internal(format!("the operating system's random source: {e}")))?;
    Ok(crate::audit::hex(&bytes))
}

/// The one official draw, from the frozen manifest, never the live registry: refused before
/// the seed is public, refused if the plan script changed since freezing, refused (after
/// republishing what exists) if the draw was already made.
pub async fn draw_official(ctx: &Ctx<'_>, script: Script<'_>, input: SeedInput) -> Result<Drawn> {
    // A typed-in value that is neither digits nor an OS value (64 hex digits) is refused before
    // anything is loaded; which of the two the plan wants is checked once it is.
    if let Some(v) = &input.value
        && !(v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        draw::check_digits(v)?;
    }
    let (checked, rc) = super::plan::checked(ctx, script).await?;
    let plan = &checked.plan;
    let year = i64::from(plan.year);
    let frozen = ctx
        .store
        .active_manifest(&plan.id, year)
        .await?
        .ok_or_else(|| {
            OpsError::Invalid(format!(
                "plan {} ({}) has no frozen manifest: run `suiji freeze` and publish it before \
                 the seed exists",
                plan.id, plan.year
            ))
        })?;
    if let Some(existing) = ctx.store.official_draw(&plan.id, year).await? {
        publish_plan(ctx, &plan.id, year).await?;
        return Err(StoreError::AlreadyDrawn(Box::new(existing)).into());
    }
    refuse_ended_window(ctx, plan)?;
    after_history(ctx, plan).await?;
    if frozen.script_sha256 != plan.source.sha256 {
        return invalid(format!(
            "the rule script changed since the manifest was frozen (script sha256 {} then, {} \
             now): restore it, or refreeze with --refreeze --reason before the seed is public",
            frozen.script_sha256, plan.source.sha256
        ));
    }
    let manifest: Manifest = serde_json::from_str(&frozen.content)
        .map_err(|e| OpsError::Internal(format!("the stored manifest: {e}")))?;
    if let Some(available) = manifest.seed_source.available_at {
        let now = ctx.clock.now();
        if now < available {
            return Err(OpsError::NotYet(format!(
                "the official draw of {} waits for its seed: the randomness becomes public at \
                 {} and it is now {}",
                plan.id,
                shanghai(available),
                stamp(now)
            )));
        }
    }
    let (_, draws) = ctx.store.publication(&plan.id, year).await?;
    let earlier: Vec<draw::Earlier> = draws
        .iter()
        .map(|d| draw::Earlier {
            seq: d.seq,
            seed_value: &d.seed_value,
            voided_at: d.void.as_ref().map(|v| v.at.as_str()),
        })
        .collect();
    draw::check_redraw(
        &earlier,
        frozen.seq,
        &frozen.frozen_at,
        manifest.seed_source.available_at,
    )?;
    let value = seed_value(ctx, &manifest, input).await?;
    draw::check_seed_unused(&earlier, &value)?;
    let doc = draw::run(&manifest, &frozen.digest, &value)?;
    let bytes = draw::canonical(&doc)?;
    let digest = crate::audit::sha256_hex(&bytes);
    let prefix = if draws.is_empty() {
        plan.id.clone()
    } else {
        format!("{}-r{}", plan.id, draws.len() + 1)
    };
    // The frame holds no names: the selected entities are read back.
    let mut selected = std::collections::HashMap::new();
    for team in &doc.teams {
        if let Some(e) = ctx.store.entity(&team.entity).await? {
            selected.insert(team.entity.clone(), e);
        }
    }
    let tasks = new_tasks(
        &doc,
        &manifest,
        &selected,
        &prefix,
        plan,
        &rc.calendar,
        ctx.clock.today(),
    )?;
    let content = String::from_utf8(bytes).map_err(|e| OpsError::Internal(e.to_string()))?;
    // Each division hears of its tasks in the draw's own transaction.
    let dir = super::notices::directory(ctx, plan).await?;
    let (templates, _) = super::notices::templates(ctx);
    let planned = super::notices::wrap(crate::notify::assignments(
        &tasks,
        plan,
        draws.len() as i64 + 1,
        &digest,
        ctx.clock.today(),
        &dir,
        &templates,
    ))?;
    for u in &planned.unaddressed {
        tracing::warn!("{u}");
    }
    let record = ctx
        .store
        .record_draw(
            &frozen,
            &doc,
            &digest,
            &content,
            &tasks,
            plan.window,
            &plan.deadlines,
            &planned.notices,
            ctx.clock,
            ctx.actor,
        )
        .await?;
    let published = publish_plan(ctx, &plan.id, year).await?;
    Ok(Drawn {
        record,
        doc,
        tasks: tasks.len(),
        published,
    })
}

/// The tasks a draw creates, named `<plan>-<task>-NNN` (`<plan>-rN-...` after a voided draw),
/// each with a proposed date when the plan asks for them (see `schedule`).
fn new_tasks(
    doc: &DrawDoc,
    manifest: &Manifest,
    selected: &std::collections::HashMap<String, crate::registry::Entity>,
    prefix: &str,
    plan: &Plan,
    calendar: &crate::calendar::Calendar,
    drawn_on: NaiveDate,
) -> Result<Vec<NewTask>> {
    let proposed: Vec<Option<NaiveDate>> = if plan.deadlines.propose_dates {
        let days = crate::schedule::days(drawn_on, plan.window, &plan.deadlines, calendar)?;
        let places: Vec<crate::schedule::ToPlace> = doc
            .teams
            .iter()
            .map(|t| crate::schedule::ToPlace {
                division: manifest
                    .tasks
                    .iter()
                    .find(|x| x.task == t.task)
                    .map_or("", |x| x.division.as_str()),
                officers: t
                    .members
                    .iter()
                    .chain(&t.partners)
                    .map(String::as_str)
                    .collect(),
            })
            .collect();
        crate::schedule::propose(&places, &days)
    } else {
        vec![None; doc.teams.len()]
    };
    let mut per_task: std::collections::HashMap<&str, usize> = Default::default();
    doc.teams
        .iter()
        .zip(proposed)
        .map(|(team, planned)| {
            let n = per_task.entry(team.task.as_str()).or_insert(0);
            *n += 1;
            let rule = manifest.tasks.iter().find(|t| t.task == team.task);
            let entity = selected.get(&team.entity);
            let mut facts = crate::lifecycle::Facts::drawn(drawn_on, plan.window);
            if let Some(p) = planned {
                facts = crate::lifecycle::effect(
                    &facts,
                    &crate::lifecycle::Event::Schedule(p),
                    drawn_on,
                );
            }
            let deadlines = crate::lifecycle::deadlines(&facts, &plan.deadlines, calendar)
                .map_err(|e| OpsError::Invalid(format!("deadlines of the new tasks: {e}")))?;
            let next_due = crate::lifecycle::next_due(&facts, &deadlines.dates);
            Ok(NewTask {
                id: format!("{prefix}-{}-{:03}", team.task, n),
                task_rule: team.task.clone(),
                stratum: team.stratum.clone(),
                uscc: team.entity.clone(),
                entity_name: entity.map(|e| e.name.clone()).unwrap_or_default(),
                city: entity.map(|e| e.city.clone()).unwrap_or_default(),
                division: rule.map(|r| r.division.clone()).unwrap_or_default(),
                cadre: team.cadre.clone(),
                members: team.members.clone(),
                partners: team.partners.clone(),
                items: rule.map(|r| r.items.clone()).unwrap_or_default(),
                drawn_on,
                planned,
                deadlines,
                next_due,
            })
        })
        .collect()
}

/// A dry run: the same computation on the live registry with typed digits, written as a
/// manifest and draw pair into `out`, recording nothing. Its manifest is marked simulated
/// (a dry run proves nothing about timing) and takes the digits as a manual seed.
/// A dry run's result: the draw it would make and the files it wrote.
pub struct DryRun {
    pub plan_id: String,
    pub year: i64,
    pub doc: DrawDoc,
    pub manifest_digest: String,
    pub files: Vec<PathBuf>,
}

pub async fn dry_run(ctx: &Ctx<'_>, script: Script<'_>, value: &str, out: &Path) -> Result<DryRun> {
    draw::check_digits(value)?;
    let (checked, rc) = super::plan::checked(ctx, script).await?;
    let plan = &checked.plan;
    let department = rc.vocab.department().code.clone();
    let before = plan.seed.available_at - chrono::Duration::milliseconds(1);
    let t = FreezeTime {
        at: shanghai(before),
        simulated: true,
    };
    let names = candidate_names(ctx, &checked, &rc, None).await?;
    let (mut manifest, _) = draw::manifest(
        plan,
        &checked.strata,
        &rc.snapshot,
        &department,
        &t,
        &|u| names.get(u).cloned(),
        salt(ctx).await?.as_deref(),
    )?;
    manifest.seed_source.kind = SeedKind::Manual;
    manifest.seed_source.beacon = None;
    // Any digits may be tried: a dry run is not the announced lottery's result.
    manifest.seed_source.game = None;
    let bytes = draw::canonical(&manifest)?;
    let digest = crate::audit::sha256_hex(&bytes);
    let doc = draw::run(
        &manifest,
        &digest,
        &SeedValue::plain(SeedKind::Manual, value),
    )?;
    let draw_bytes = draw::canonical(&doc)?;
    let files = vec![
        publish::write_document(out, "manifest.json", &bytes)?,
        publish::write_document(out, "draw.json", &draw_bytes)?,
    ];
    Ok(DryRun {
        plan_id: plan.id.clone(),
        year: i64::from(plan.year),
        doc,
        manifest_digest: digest,
        files,
    })
}

/// Voids the official draw (reasoned, audited, published). A draw whose tasks hold results is
/// voided only with `force`.
pub async fn void(
    ctx: &Ctx<'_>,
    script: Script<'_>,
    reason: &str,
    force: bool,
) -> Result<(DrawRecord, Vec<PathBuf>)> {
    crate::text::check_note("the void's --reason", reason, 500).map_err(OpsError::Invalid)?;
    let (checked, _) = super::plan::checked(ctx, script).await?;
    let plan = &checked.plan;
    let year = i64::from(plan.year);
    after_history(ctx, plan).await?;
    let record = ctx
        .store
        .void_draw(&plan.id, year, reason, force, ctx.clock, ctx.actor)
        .await?;
    let published = publish_plan(ctx, &plan.id, year).await?;
    Ok((record, published))
}

/// Records the public digits of a manual seed once they are announced, for the draw job (and
/// anyone) to draw with. Refused before the manifest is frozen, before `available_at` (nobody
/// can know them yet), for another seed kind, or in a form the manifest does not allow.
pub async fn enter_seed(ctx: &Ctx<'_>, script: Script<'_>, value: &str) -> Result<()> {
    let (checked, _) = super::plan::checked(ctx, script).await?;
    let plan = &checked.plan;
    let year = i64::from(plan.year);
    let frozen = ctx
        .store
        .active_manifest(&plan.id, year)
        .await?
        .ok_or_else(|| {
            OpsError::Invalid(format!(
                "plan {} has no frozen manifest: the digits are entered after the freeze",
                plan.id
            ))
        })?;
    let manifest: Manifest = serde_json::from_str(&frozen.content)
        .map_err(|e| OpsError::Internal(format!("the stored manifest: {e}")))?;
    if manifest.seed_source.kind != SeedKind::Manual {
        return invalid(format!(
            "plan {}'s seed is {}: there are no digits to enter",
            plan.id,
            manifest.seed_source.kind.name()
        ));
    }
    draw::check_seed(
        &manifest.seed_source,
        &SeedValue::plain(SeedKind::Manual, value),
    )?;
    if let Some(available) = manifest.seed_source.available_at
        && ctx.clock.now() < available
    {
        return invalid(format!(
            "the digits cannot be known before {}: it is now {}",
            shanghai(available),
            stamp(ctx.clock.now())
        ));
    }
    ctx.store
        .enter_seed(&frozen, value, ctx.clock, ctx.actor)
        .await?;
    Ok(())
}

/// A v3 manifest's private eligibility record, checked against the manifest for an auditor.
#[derive(Debug, Serialize)]
pub struct EligibilityAudit {
    pub plan: String,
    pub year: i64,
    pub manifest: String,
    pub audit: draw::eligibility::Audit,
    /// The record itself (the caller writes it out when asked; never printed).
    #[serde(skip)]
    pub record: String,
}

/// Reads the eligibility record of a plan's manifest (the active one, or number `seq`), checks
/// it as an outside auditor would, and records the read in the audit chain.
pub async fn eligibility(
    ctx: &Ctx<'_>,
    plan_id: &str,
    year: Option<i64>,
    seq: Option<i64>,
    exported: bool,
) -> Result<EligibilityAudit> {
    let years: Vec<i64> = ctx
        .store
        .published_plans()
        .await?
        .into_iter()
        .filter(|(p, _)| p == plan_id)
        .map(|(_, y)| y)
        .collect();
    let Some(year) = year.or_else(|| years.iter().max().copied()) else {
        return invalid(format!(
            "plan `{}` has no frozen manifest",
            crate::text::quote(plan_id)
        ));
    };
    let (manifests, _) = ctx.store.publication(plan_id, year).await?;
    let m = match seq {
        Some(n) => manifests.iter().find(|m| m.seq == n),
        None => manifests.iter().rfind(|m| m.status == "active"),
    }
    .ok_or_else(|| OpsError::Invalid(format!("plan {plan_id} ({year}) has no such manifest")))?;
    let name = format!("manifest-{}.json", m.seq);
    let Some(record) = ctx
        .store
        .read_eligibility(m, exported, ctx.clock, ctx.actor)
        .await?
    else {
        return invalid(format!(
            "{name} of {plan_id} ({year}) was frozen before suiji-draw-v3: it publishes its \
             officers' attributes itself and has no private record"
        ));
    };
    let manifest: Manifest = serde_json::from_str(&m.content)
        .map_err(|e| OpsError::Internal(format!("stored manifest: {e}")))?;
    let audit = draw::eligibility::audit(&manifest, record.as_bytes()).map_err(|e| {
        OpsError::Internal(format!("{name}: the stored record does not match: {e}"))
    })?;
    Ok(EligibilityAudit {
        plan: plan_id.to_string(),
        year,
        manifest: name,
        audit,
        record,
    })
}
