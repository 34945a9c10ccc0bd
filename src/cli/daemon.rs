//! `serve` and `demo run`: the daemon in real time, its rehearsal, and the demo year.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::registry::{Bar, print_import};
use super::{Invalid, print_json};
use suiji::daemon::{self as d, DaemonError, runner::Ran};
use suiji::ops::Ctx;

fn daemon_error(e: DaemonError) -> anyhow::Error {
    match e {
        e @ (DaemonError::Invalid(_) | DaemonError::Plan(_) | DaemonError::Leader(_)) => {
            Invalid(e.to_string()).into()
        }
        e => e.into(),
    }
}

pub(super) async fn serve(
    ctx: &Ctx<'_>,
    overrides: &suiji::config::Overrides,
    until: Option<String>,
    plans: Vec<std::path::PathBuf>,
    json: bool,
) -> Result<ExitCode> {
    // What the daemon records is recorded by the daemon, on behalf of whoever started it: the
    // published history names the role, the audit log both.
    let actor = format!("{}{}", suiji::publish::DAEMON, ctx.actor);
    match until {
        Some(u) => {
            let until = d::parse_until(&u).map_err(daemon_error)?;
            let files = suiji::ops::plan::plan_files(ctx.settings, &plans);
            let ran = d::rehearsal(ctx.store, ctx.settings, &actor, &files, (until, &[]), None)
                .await
                .map_err(daemon_error)?;
            print_timeline(&ran, json)?;
        }
        None => d::serve(ctx.store, ctx.settings, overrides, &actor, plans)
            .await
            .map_err(daemon_error)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// What ran, in order. Nightly checks that found the same as the one before are counted, not
/// repeated.
fn print_timeline(ran: &[Ran], json: bool) -> Result<()> {
    if json {
        return print_json(&ran);
    }
    if ran.is_empty() {
        println!("nothing was due: every slot up to then has run");
        return Ok(());
    }
    // With several plans each plan's job says which plan it is.
    let mut ids: Vec<&str> = ran.iter().filter_map(|r| r.plan.as_deref()).collect();
    ids.sort_unstable();
    ids.dedup();
    let several = ids.len() > 1;
    // A run with the same result as the one printed before it (a nightly check on another
    // day, a draw waiting again) is counted, not printed.
    let mut quiet = 0;
    let mut last: Option<(suiji::jobs::Job, &str, String)> = None;
    let more = |quiet: usize, last: &Option<(suiji::jobs::Job, &str, String)>| {
        if let Some((job, _, _)) = last.as_ref().filter(|_| quiet > 0) {
            let what = if *job == suiji::jobs::Job::Nightly {
                "nightly check(s)".to_string()
            } else {
                format!("{} attempt(s)", job.name())
            };
            println!("  … {quiet} more {what} with the same result");
        }
    };
    for r in ran {
        // The same result on another day reads the same without its date.
        let day = r.at.get(..10).unwrap_or("");
        let summary = r.outcome.replace(&format!(" on {day}"), "");
        let this = (r.job, r.status.as_str(), summary);
        if last.as_ref() == Some(&this) {
            quiet += 1;
            continue;
        }
        more(quiet, &last);
        quiet = 0;
        last = Some(this);
        println!(
            "{}  {:<8} {:<8} {}{}",
            &r.at[..16.min(r.at.len())].replace('T', " "),
            r.job.name(),
            r.status,
            r.plan
                .as_deref()
                .filter(|_| several)
                .map(|p| format!("[{p}] "))
                .unwrap_or_default(),
            r.outcome
        );
    }
    more(quiet, &last);
    Ok(())
}

pub(super) async fn demo(
    ctx: &Ctx<'_>,
    (dir, plan): (Option<&Path>, Option<&Path>),
    import_only: bool,
    until: Option<String>,
    people: bool,
    json: bool,
) -> Result<ExitCode> {
    // Without a folder or a plan, the demo's own, built in: it runs in any folder.
    let inputs = ctx.settings.daemon.data_dir.join("demo");
    let built_in = if dir.is_none() || plan.is_none() {
        Some(
            suiji::demo::write_inputs(&inputs)
                .with_context(|| format!("writing the demo's inputs to {}", inputs.display()))?,
        )
    } else {
        None
    };
    let dir = dir.unwrap_or(&inputs);
    let plan = plan.map_or_else(|| built_in.clone().unwrap_or_default(), Path::to_path_buf);
    let until = until
        .map(|u| d::parse_until(&u))
        .transpose()
        .map_err(daemon_error)?;
    let demo = {
        let bar = Bar::new(json);
        d::demo::run(ctx, (dir, &plan), import_only, (until, people), &bar)
            .await
            .map_err(daemon_error)?
    };
    if let Some(failed) = demo.imports.iter().find(|r| !r.problems.is_empty()) {
        print_import(failed, json)?;
        return Ok(ExitCode::from(2));
    }
    let stats = ctx.store.stats().await?;
    if json {
        print_json(&serde_json::json!({
            "imports": demo.imports,
            "stats": stats,
            "timeline": demo.timeline,
            "people": demo.people,
            "draw": {
                "plan": demo.plan,
                "digest": demo.draw_digest,
                "published": demo.published,
                "verified": demo.verified,
            },
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    for r in &demo.imports {
        print_import(r, false)?;
    }
    if demo.plan.is_some() {
        println!("\nthe daemon's year, rehearsed on a simulated clock (Asia/Shanghai):");
        print_timeline(&demo.timeline, false)?;
        print_people(&demo.people);
    }
    let n = |k: &str| stats.counts.get(k).copied().unwrap_or(0);
    println!(
        "\n{} ({:?}) holds {} entities, {} officers, {} conflicts, {} items, {} bureaus and {} \
         inspection tasks.",
        ctx.settings.database.url,
        stats.backend,
        n("entities"),
        n("officers"),
        n("conflicts"),
        n("items"),
        n("bureaus"),
        n("tasks"),
    );
    if let (Some(plan), Some(dir)) = (&demo.plan, &demo.published) {
        println!(
            "plan {plan}: official draw digest {}; published in {}, which {}.",
            demo.draw_digest.as_deref().unwrap_or("(not drawn)"),
            dir.display(),
            if demo.verified == Some(true) {
                "verifies from its files alone"
            } else {
                "does NOT verify"
            }
        );
        let site = ctx.settings.public_dir().join("index.html");
        if site.is_file() {
            println!(
                "the public disclosure site (一公开): open {} in a browser",
                site.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// What the demo's divisions recorded, counted by kind, and any act `ops` refused.
fn print_people(people: &[d::demo::Acted]) {
    if people.is_empty() {
        return;
    }
    let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
    for a in people.iter().filter(|a| a.refused.is_none()) {
        *counts.entry(a.act).or_insert(0) += 1;
    }
    let said: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
    println!(
        "the divisions (simulated) recorded: {} (see `suiji task list` and `suiji task show ID`)",
        said.join(", ")
    );
    for a in people.iter().filter(|a| a.refused.is_some()) {
        println!(
            "  refused on {}: {} {} by {}: {}",
            a.on,
            a.act,
            suiji::text::shown(&a.task),
            suiji::text::shown(&a.division),
            suiji::text::shown(a.refused.as_deref().unwrap_or_default())
        );
    }
}

/// `suiji rehearse`: a rehearsal copy of the store at `from` in `into`, then, with `until`, the
/// daemon's year on it.
pub(super) async fn rehearse(
    settings: &suiji::config::Settings,
    actor: &str,
    from: &str,
    into: &Path,
    until: Option<&str>,
    plans: &[std::path::PathBuf],
    json: bool,
) -> Result<ExitCode> {
    let until = until
        .map(d::parse_until)
        .transpose()
        .map_err(daemon_error)?;
    let from = suiji::config::DatabaseUrl::new(from);
    let (store, rs, fresh) = suiji::ops::rehearsal::copy(settings, &from, into, actor).await?;
    if !json {
        println!(
            "{} {} as a rehearsal store ({}); mail is written to {} and the site to {}, never \
             sent or published",
            if fresh { "copied" } else { "continuing" },
            from,
            rs.database.url,
            rs.daemon.data_dir.join("mail").display(),
            rs.public_dir().display()
        );
    }
    let ran = match until {
        Some(until) => {
            let files = suiji::ops::plan::plan_files(&rs, plans);
            let ran = d::rehearsal(&store, &rs, actor, &files, (until, &[]), None).await;
            store.close().await;
            ran.map_err(daemon_error)?
        }
        None => {
            store.close().await;
            Vec::new()
        }
    };
    if json {
        print_json(&serde_json::json!({
            "database": rs.database.url.to_string(),
            "copied": fresh,
            "timeline": ran,
        }))?;
    } else if until.is_some() {
        print_timeline(&ran, false)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// What a first `demo run` makes (the SQLite database and its companions, the public and data
/// folders), noted before it starts: a run that fails removes them, so the next run starts
/// from nothing instead of from half a demo.
pub(super) struct Fresh(Vec<std::path::PathBuf>);

impl Fresh {
    pub(super) fn before(settings: &suiji::config::Settings) -> Fresh {
        let db = suiji::store::Store::sqlite_path(&settings.database.url);
        let companions = db.iter().flat_map(|db| {
            ["", "-wal", "-shm", "-journal", ".serve.lock"]
                .map(|end| std::path::PathBuf::from(format!("{}{end}", db.display())))
        });
        Fresh(
            companions
                .chain([
                    settings.public_dir().to_path_buf(),
                    settings.daemon.data_dir.clone(),
                ])
                .filter(|p| !p.exists())
                .collect(),
        )
    }

    /// Removes what the failed run made; says what.
    pub(super) fn remove(&self) {
        for p in self.0.iter().filter(|p| p.exists()) {
            let gone = if p.is_dir() {
                std::fs::remove_dir_all(p)
            } else {
                std::fs::remove_file(p)
            };
            match gone {
                Ok(()) => eprintln!("the demo did not finish: removed {}", p.display()),
                Err(e) => eprintln!(
                    "the demo did not finish: could not remove {}: {e}",
                    p.display()
                ),
            }
        }
    }
}
