//! `freeze`, `draw` and `verify`: the shell around the pure draw. Reads the plan and the
//! registry, records through the store, publishes files, prints results.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use serde::Serialize;

use super::rules::{context as rules_context, read_script};
use super::{Invalid, Output, print_json};
use suiji::clock::Clock;
use suiji::config::Settings;
use suiji::draw::{self, DrawDoc, Manifest};
use suiji::plan::SeedKind;
use suiji::publish;
use suiji::registry::Snapshot;
use suiji::rules::{self, Checked};
use suiji::store::{NewTask, Store, StoreError};

/// Evaluates and checks the plan; a plan with errors cannot be frozen or drawn.
pub(super) async fn checked_plan(
    store: &Store,
    settings: &Settings,
    file: Option<PathBuf>,
) -> Result<(Checked, rules::Context)> {
    let ctx = rules_context(store, settings).await?;
    let (name, text) = read_script(&file.unwrap_or_else(|| settings.rules.file.clone()))?;
    let checked = rules::load(&name, &text, &ctx).map_err(|findings| {
        let lines: Vec<String> = findings.iter().map(|f| f.to_string()).collect();
        Invalid(format!(
            "the plan does not pass its check:\n{}",
            lines.join("\n")
        ))
    })?;
    Ok((checked, ctx))
}

pub(super) fn store_error(e: StoreError) -> anyhow::Error {
    match e {
        e @ (StoreError::AlreadyFrozen(_)
        | StoreError::AlreadyDrawn(_)
        | StoreError::NotFound(_)
        | StoreError::Refused(_)) => Invalid(e.to_string()).into(),
        e => e.into(),
    }
}

#[derive(Serialize)]
struct FreezeReport {
    plan: String,
    year: i32,
    digest: String,
    path: String,
    frozen_at: String,
    already_frozen: bool,
    seed_source: suiji::plan::SeedSource,
    strata: Vec<(String, u32, usize)>,
}

#[allow(clippy::too_many_arguments)]
pub async fn freeze(
    store: &Store,
    settings: &Settings,
    clock: &dyn Clock,
    actor: &str,
    plan_file: Option<PathBuf>,
    refreeze_reason: Option<String>,
    out: Output,
) -> Result<ExitCode> {
    let (checked, ctx) = checked_plan(store, settings, plan_file).await?;
    let plan = &checked.plan;
    let department = ctx.vocab.department().code.clone();
    let manifest = draw::manifest(plan, &checked.strata, &ctx.snapshot, &department);
    let bytes = draw::canonical(&manifest)?;
    let digest = suiji::audit::sha256_hex(&bytes);
    let content = String::from_utf8(bytes).context("manifest is UTF-8")?;
    let year = i64::from(plan.year);
    let (record, already) = match store
        .freeze(
            &plan.id,
            year,
            &digest,
            &plan.source.sha256,
            &content,
            refreeze_reason.as_deref(),
            clock,
            actor,
        )
        .await
    {
        Ok(r) => (r, false),
        // Freezing the same inputs again is harmless: republish the files.
        Err(StoreError::AlreadyFrozen(existing)) if existing.digest == digest => (*existing, true),
        Err(StoreError::AlreadyFrozen(existing)) => {
            return Err(Invalid(format!(
                "{}; the registry or the plan has changed since, and the frozen manifest stays \
                 the one the draw will use. To replace it before the draw, run \
                 `suiji freeze --refreeze --reason \"...\"` (audited).",
                StoreError::AlreadyFrozen(existing)
            ))
            .into());
        }
        Err(e) => return Err(store_error(e)),
    };
    let dir = publish::plan_dir(settings.public_dir(), year, &plan.id);
    let path = publish::write_document(&dir, "manifest", record.content.as_bytes())
        .with_context(|| format!("publishing the manifest to {}", dir.display()))?;
    let report = FreezeReport {
        plan: plan.id.clone(),
        year: plan.year,
        digest: record.digest.clone(),
        path: path.display().to_string(),
        frozen_at: record.frozen_at.clone(),
        already_frozen: already,
        seed_source: plan.seed.clone(),
        strata: manifest
            .strata
            .iter()
            .map(|s| (s.stratum.clone(), s.quota, s.candidates.len()))
            .collect(),
    };
    if out == Output::Json {
        print_json(&report)?;
    } else if out == Output::Text {
        println!(
            "{} plan {} ({}) at {}: manifest digest {}",
            if already {
                "already frozen:"
            } else {
                "frozen:"
            },
            report.plan,
            report.year,
            report.frozen_at,
            report.digest
        );
        println!("published {}", report.path);
        for (s, q, n) in &report.strata {
            println!("  {s:<22} quota {q:>3} of {n:>7} candidates");
        }
        println!(
            "seed: {}: {}",
            draw::kind_name(plan.seed.kind),
            plan.seed.source
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// 32 bytes from the operating system, as hex: the unattended seed.
fn os_seed() -> Result<String> {
    use rand::TryRng;
    let mut bytes = [0u8; 32];
    rand::rngs::SysRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| anyhow::anyhow!("the operating system's random source failed: {e}"))?;
    Ok(suiji::audit::hex(&bytes))
}

fn seed_value(kind: SeedKind, given: Option<String>) -> Result<String> {
    match (kind, given) {
        (SeedKind::Manual, Some(v)) => Ok(v),
        (SeedKind::Manual, None) => Err(Invalid(
            "this plan's seed is manual: give the publicly drawn digits with --seed-value".into(),
        )
        .into()),
        (SeedKind::Os, None) => os_seed(),
        (SeedKind::Os, Some(_)) => Err(Invalid(
            "this plan's seed kind is \"os\": the value comes from the operating system; \
             change the plan to a manual seed to type one in"
                .into(),
        )
        .into()),
    }
}

/// The tasks a draw creates, named `<plan>-<task>-NNN` (`<plan>-rN-...` after a voided draw).
fn new_tasks(
    doc: &DrawDoc,
    manifest: &Manifest,
    snapshot: &Snapshot,
    prefix: &str,
    plan: &suiji::plan::Plan,
    calendar: &suiji::calendar::Calendar,
    drawn_on: chrono::NaiveDate,
) -> Result<Vec<NewTask>> {
    let mut per_task: std::collections::HashMap<&str, usize> = Default::default();
    doc.teams
        .iter()
        .map(|team| {
            let n = per_task.entry(team.task.as_str()).or_insert(0);
            *n += 1;
            let rule = manifest.tasks.iter().find(|t| t.task == team.task);
            let entity = snapshot
                .entities
                .binary_search_by(|e| e.uscc.as_str().cmp(&team.entity))
                .ok()
                .map(|i| &snapshot.entities[i]);
            let facts = suiji::lifecycle::Facts::drawn(drawn_on, plan.window);
            let deadlines = suiji::lifecycle::deadlines(&facts, &plan.deadlines, calendar)
                .map_err(|e| Invalid(format!("deadlines of the new tasks: {e}")))?;
            let next_due = suiji::lifecycle::next_due(&facts, &deadlines);
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
                deadlines,
                next_due,
            })
        })
        .collect()
}

#[derive(Serialize)]
struct DrawReport<'a> {
    plan: &'a str,
    year: i64,
    official: bool,
    digest: String,
    manifest_digest: &'a str,
    seed_source: &'a draw::SeedValue,
    seed: &'a str,
    tasks: usize,
    files: Vec<String>,
}

fn print_draw(report: &DrawReport, doc: &DrawDoc, snapshot: &Snapshot, out: Output) -> Result<()> {
    match out {
        Output::Json => return print_json(report),
        Output::Quiet => return Ok(()),
        Output::Text => {}
    }
    println!(
        "{} draw of {} ({}): {} tasks",
        if report.official {
            "official"
        } else {
            "dry-run"
        },
        report.plan,
        report.year,
        report.tasks
    );
    println!(
        "seed: {} `{}` -> {}",
        draw::kind_name(report.seed_source.kind),
        report.seed_source.value,
        report.seed
    );
    println!(
        "manifest digest {}; draw digest {}",
        report.manifest_digest, report.digest
    );
    for f in &report.files {
        println!("published {f}");
    }
    let name = |u: &str| {
        snapshot
            .entities
            .binary_search_by(|e| e.uscc.as_str().cmp(u))
            .map(|i| snapshot.entities[i].name.clone())
            .unwrap_or_default()
    };
    for team in &doc.teams {
        println!(
            "  {:<16} {} {:<28} cadre {} members {} partners {}",
            team.stratum,
            team.entity,
            name(&team.entity),
            team.cadre,
            team.members[1..].join(","),
            if team.partners.is_empty() {
                "-".to_string()
            } else {
                team.partners.join(",")
            }
        );
    }
    Ok(())
}

/// Without `dry_run` or `void`, the draw is the official one (clap requires one of the three).
pub struct DrawArgs {
    pub plan: Option<PathBuf>,
    pub dry_run: bool,
    pub void: bool,
    pub seed_value: Option<String>,
    pub out: Option<PathBuf>,
    pub reason: Option<String>,
    pub out_mode: Output,
}

pub async fn draw(
    store: &Store,
    settings: &Settings,
    clock: &dyn Clock,
    actor: &str,
    args: DrawArgs,
) -> Result<ExitCode> {
    let (checked, ctx) = checked_plan(store, settings, args.plan).await?;
    let plan = &checked.plan;
    let year = i64::from(plan.year);
    let dir = publish::plan_dir(settings.public_dir(), year, &plan.id);

    if args.void {
        let reason = args
            .reason
            .filter(|r| !r.trim().is_empty())
            .ok_or_else(|| {
                Invalid("voiding a draw needs --reason \"...\" (it is audited)".into())
            })?;
        let voided = store
            .void_draw(&plan.id, year, &reason, clock, actor)
            .await
            .map_err(store_error)?;
        println!(
            "voided the official draw of {} ({}) made at {} (digest {}): {reason}",
            plan.id, plan.year, voided.drawn_at, voided.digest
        );
        return Ok(ExitCode::SUCCESS);
    }

    if args.dry_run {
        let out = args.out.ok_or_else(|| {
            Invalid("a dry run needs --out DIR for manifest.json and draw.json".into())
        })?;
        let value = args
            .seed_value
            .ok_or_else(|| Invalid("a dry run needs --seed-value DIGITS".into()))?;
        let department = ctx.vocab.department().code.clone();
        let mut manifest = draw::manifest(plan, &checked.strata, &ctx.snapshot, &department);
        // A dry run always takes the typed digits, whatever the plan's seed kind.
        manifest.seed_source.kind = SeedKind::Manual;
        let bytes = draw::canonical(&manifest)?;
        let digest = suiji::audit::sha256_hex(&bytes);
        let doc = draw::run(&manifest, &digest, &value).map_err(|e| Invalid(e.to_string()))?;
        let draw_bytes = draw::canonical(&doc)?;
        let files = vec![
            publish::write_document(&out, "manifest", &bytes)?
                .display()
                .to_string(),
            publish::write_document(&out, "draw", &draw_bytes)?
                .display()
                .to_string(),
        ];
        let report = DrawReport {
            plan: &plan.id,
            year,
            official: false,
            digest: suiji::audit::sha256_hex(&draw_bytes),
            manifest_digest: &digest,
            seed_source: &doc.seed_source,
            seed: &doc.seed,
            tasks: doc.teams.len(),
            files,
        };
        print_draw(&report, &doc, &ctx.snapshot, args.out_mode)?;
        return Ok(ExitCode::SUCCESS);
    }

    // The official draw: from the frozen manifest, never the live registry.
    let frozen = store
        .active_manifest(&plan.id, year)
        .await?
        .ok_or_else(|| {
            Invalid(format!(
                "plan {} ({}) has no frozen manifest: run `suiji freeze` and publish it before the seed exists",
                plan.id, plan.year
            ))
        })?;
    if let Some(existing) = store.official_draw(&plan.id, year).await? {
        // Make sure the files are out there, then refuse.
        publish::write_document(&dir, "manifest", frozen.content.as_bytes())?;
        publish::write_document(&dir, "draw", existing.content.as_bytes())?;
        return Err(store_error(StoreError::AlreadyDrawn(Box::new(existing))));
    }
    if frozen.script_sha256 != plan.source.sha256 {
        return Err(Invalid(format!(
            "the rule script changed since the manifest was frozen (script sha256 {} then, {} now): \
             restore it, or re-freeze with --refreeze --reason before any draw",
            frozen.script_sha256, plan.source.sha256
        ))
        .into());
    }
    let manifest: Manifest = serde_json::from_str(&frozen.content)
        .context("the stored manifest is not a valid suiji-draw-v1 manifest")?;
    let value = seed_value(manifest.seed_source.kind, args.seed_value)?;
    let doc = draw::run(&manifest, &frozen.digest, &value).map_err(|e| Invalid(e.to_string()))?;
    let bytes = draw::canonical(&doc)?;
    let digest = suiji::audit::sha256_hex(&bytes);
    let previous = store.draw_count(&plan.id, year).await?;
    let prefix = if previous == 0 {
        plan.id.clone()
    } else {
        format!("{}-r{}", plan.id, previous + 1)
    };
    let tasks = new_tasks(
        &doc,
        &manifest,
        &ctx.snapshot,
        &prefix,
        plan,
        &ctx.calendar,
        clock.today(),
    )?;
    let content = String::from_utf8(bytes).context("draw is UTF-8")?;
    let record = store
        .record_draw(
            &frozen,
            &doc,
            &digest,
            &content,
            &tasks,
            plan.window,
            &plan.deadlines,
            clock,
            actor,
        )
        .await
        .map_err(store_error)?;
    publish::write_document(&dir, "manifest", frozen.content.as_bytes())?;
    let path = publish::write_document(&dir, "draw", record.content.as_bytes())?;
    let report = DrawReport {
        plan: &plan.id,
        year,
        official: true,
        digest,
        manifest_digest: &frozen.digest,
        seed_source: &doc.seed_source,
        seed: &doc.seed,
        tasks: tasks.len(),
        files: vec![path.display().to_string()],
    };
    print_draw(&report, &doc, &ctx.snapshot, args.out_mode)?;
    Ok(ExitCode::SUCCESS)
}

pub fn verify(dir: &Path, out: Output) -> Result<ExitCode> {
    let read = |name: &str| {
        std::fs::read(dir.join(name))
            .map_err(|e| Invalid(format!("{}: {e}", dir.join(name).display())))
    };
    let result = draw::verify(&read("manifest.json")?, &read("draw.json")?);
    if out == Output::Json {
        print_json(&serde_json::json!({
            "verified": result.is_ok(),
            "difference": result.as_ref().err(),
        }))?;
    } else if out == Output::Text {
        match &result {
            Ok(()) => println!("verified"),
            Err(d) => println!("NOT verified: first difference: {d}"),
        }
    }
    Ok(if result.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
