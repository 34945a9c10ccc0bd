//! `import`, `stats`, `audit verify` and `demo`: printing what the registry operations did.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result};

use super::table::{Align, Table};
use super::{Invalid, print_json};
use suiji::config::Settings;
use suiji::import::Kind;
use suiji::ops::Ctx;
use suiji::ops::import::{ImportReport, Progress};

/// A bar for large files on a terminal (reading, checking and staging, then applying);
/// hidden under `--json` or without a TTY.
pub(super) struct Bar(indicatif::ProgressBar);

impl Bar {
    pub(super) fn new(quiet: bool) -> Bar {
        if quiet || !std::io::stderr().is_terminal() {
            return Bar(indicatif::ProgressBar::hidden());
        }
        Bar(indicatif::ProgressBar::new(0))
    }
}

impl Progress for Bar {
    fn read(&self, done: u64, total: u64) {
        if self.0.is_hidden() {
            return;
        }
        if self.0.length() != Some(total) {
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{msg:>10} [{bar:40}] {percent:>3}% ({eta} left)",
            ) {
                self.0.set_style(style.progress_chars("=> "));
            }
            self.0.set_message("importing");
            self.0.set_length(total);
            self.0
                .enable_steady_tick(std::time::Duration::from_millis(120));
        }
        self.0.set_position(done);
    }
    fn applying(&self) {
        self.0.set_message("applying");
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

pub(super) async fn import(
    ctx: &Ctx<'_>,
    kind: Kind,
    file: &Path,
    sheet: Option<&str>,
    dry_run: bool,
    json: bool,
) -> Result<ExitCode> {
    let report = {
        let bar = Bar::new(json);
        suiji::ops::import::import_file(ctx, kind, file, sheet, dry_run, &bar).await?
    };
    print_import(&report, json)?;
    Ok(if report.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

pub(super) fn print_import(report: &ImportReport, json: bool) -> Result<()> {
    if json {
        return print_json(report);
    }
    if !report.problems.is_empty() {
        eprintln!(
            "{}: {} problem(s); nothing was imported:",
            report.file,
            report.problems.len()
        );
        for p in &report.problems {
            eprintln!("  {p}");
        }
        return Ok(());
    }
    let encoding = report.encoding.as_deref().unwrap_or("?");
    match &report.outcome {
        Some(o) => println!(
            "{} {}: {} rows ({encoding}): {} new, {} changed, {} unchanged (import #{})",
            report.kind.name(),
            report.file,
            o.rows,
            o.inserted,
            o.updated,
            o.unchanged,
            o.import_id
        ),
        None => println!(
            "{} {}: {} rows ({encoding}) valid; dry run, nothing written",
            report.kind.name(),
            report.file,
            report.rows
        ),
    }
    if !report.ignored_columns.is_empty() {
        println!("  ignored columns: {}", report.ignored_columns.join(", "));
    }
    Ok(())
}

pub(super) async fn stats(ctx: &Ctx<'_>, json: bool) -> Result<ExitCode> {
    let stats = ctx.store.stats().await?;
    if json {
        print_json(&stats)?;
    } else {
        println!("database: {:?}", stats.backend);
        let counts = |title: &str, rows: Vec<(String, String)>| {
            let mut t = Table::new(&[(title, Align::Left), ("", Align::Right)]);
            for (k, n) in rows {
                t.row([k, n]);
            }
            t.print();
        };
        let pairs = |m: &std::collections::BTreeMap<String, i64>| {
            m.iter().map(|(k, n)| (k.clone(), n.to_string())).collect()
        };
        counts("records", pairs(&stats.counts));
        if !stats.entities_by_sector.is_empty() {
            println!();
            counts("entities by sector", pairs(&stats.entities_by_sector));
            println!();
            counts("entities by risk", pairs(&stats.entities_by_risk));
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn status(ctx: &Ctx<'_>, json: bool) -> Result<ExitCode> {
    let s = suiji::ops::status::status(ctx).await?;
    if json {
        return print_json(&s).map(|_| ExitCode::SUCCESS);
    }
    println!(
        "store: {}",
        match s.store {
            suiji::store::Mode::Production => "production (records only on the real clock)",
            suiji::store::Mode::Rehearsal => "rehearsal (演练: simulated clock, mail as files)",
        }
    );
    for e in &s.plan_errors {
        println!("rule file on disk: cannot be used: {e}");
    }
    for p in &s.plans {
        println!(
            "plan {} ({}) from {} (sha256 {}){}",
            p.id,
            p.year,
            p.file,
            p.script_sha256,
            if p.from_daemon {
                ": the last good version, as the running daemon reports it"
            } else {
                ""
            }
        );
        if let (Some(kind), Some(at)) = (&p.seed_kind, &p.available_at) {
            println!("  seed: {kind}, public from {at}");
        }
        match &p.manifest {
            Some(m) => println!(
                "  manifest #{} frozen at {} (digest {})",
                m.seq, m.frozen_at, m.digest
            ),
            None => println!("  manifest: not frozen yet"),
        }
        match &p.draw {
            Some(d) => println!(
                "  official draw #{} made at {} (digest {})",
                d.seq, d.drawn_at, d.digest
            ),
            None => println!("  official draw: not made yet"),
        }
    }
    let tasks: Vec<String> = s
        .tasks_by_status
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    println!(
        "tasks: {}; overdue today: {}",
        if tasks.is_empty() {
            "none".to_string()
        } else {
            tasks.join(", ")
        },
        s.overdue
    );
    if s.pending_deadlines > 0 {
        println!(
            "deadlines waiting for holiday data: {} (add the next year's rules/calendar/YEAR.toml; \
             the nightly check then computes them)",
            suiji::text::count(s.pending_deadlines as usize, "task", "tasks")
        );
    }
    for j in &s.jobs {
        println!(
            "job {:<8} {:<14} {:<16} next {:<30} last {}",
            j.job.name(),
            j.plan.as_deref().unwrap_or("(department)"),
            j.cron.as_deref().unwrap_or("(as the daemon runs it)"),
            j.next_run.as_deref().unwrap_or("-"),
            j.last
                .as_ref()
                .map(|r| format!("{} ({})", r.slot, r.outcome.as_deref().unwrap_or("done")))
                .unwrap_or_else(|| "never".into())
        );
        if let Some(c) = &j.paused {
            println!(
                "    PAUSED by {} at {}: {}",
                c.actor,
                c.recorded_at,
                suiji::text::quote(&c.reason)
            );
        }
        for due in &j.due {
            println!("    {due} due, not yet run");
        }
        for p in &j.pending {
            let gone = p.status == "running" && !s.leader_alive;
            println!(
                "    {} {}{} (attempt {}, next {}): {}",
                p.slot,
                p.status.to_uppercase(),
                if gone {
                    " by a daemon no longer seen: the next leader runs it again"
                } else {
                    ""
                },
                p.attempts,
                p.next_attempt.as_deref().unwrap_or("-"),
                p.outcome.as_deref().or(p.error.as_deref()).unwrap_or("")
            );
        }
    }
    let outbox: Vec<String> = s.outbox.iter().map(|(k, n)| format!("{k} {n}")).collect();
    println!(
        "notices: {}{}",
        if outbox.is_empty() {
            "none".to_string()
        } else {
            outbox.join(", ")
        },
        if s.late_notices > 0 {
            format!(
                "; {} late (inside the notice period), naming {}",
                suiji::text::count(s.late_notices as usize, "函告", "函告"),
                suiji::text::count(s.late_inspections as usize, "inspection", "inspections")
            )
        } else {
            String::new()
        }
    );
    if let Some(r) = &s.relay {
        let line = match (&r.failing_since, &r.last_error) {
            (Some(since), Some(e)) => format!(
                "mail: FAILING since {since} ({}): {e}",
                r.cause.as_deref().unwrap_or("")
            ),
            _ => format!(
                "mail: last delivered {}",
                r.last_sent_at.as_deref().unwrap_or("never")
            ),
        };
        println!("{}", suiji::text::shown(&line));
    }
    match &s.leader {
        Some(l) => println!(
            "leader: {} since {} (last seen {}{})",
            l.holder,
            l.since,
            l.seen,
            if s.leader_alive {
                ", alive"
            } else {
                "; not seen since: no daemon is running on this database"
            }
        ),
        None => println!("leader: no daemon has run on this database"),
    }
    if let Some((leader, runs)) = s.leader.as_ref().and_then(|l| Some((l, l.runs.as_ref()?))) {
        let get = |k: &str| runs.get(k).and_then(|v| v.as_str()).unwrap_or("-");
        let plans: Vec<String> = leader
            .plans()
            .iter()
            .map(|p| {
                format!(
                    "plan {} from {}",
                    p.plan,
                    p.rules_file.as_deref().unwrap_or("-")
                )
            })
            .collect();
        println!(
            "daemon runs: {}; nightly {}, report {}, over every plan's tasks from {}",
            if plans.is_empty() {
                "no plan".to_string()
            } else {
                plans.join(", ")
            },
            get("nightly"),
            get("report"),
            get("department_from")
        );
    }
    match &s.audit_head {
        Some(h) => println!("audit chain head: row {} hash {}", h.seq, h.hash),
        None => println!("audit chain: empty"),
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn audit_verify(
    ctx: &Ctx<'_>,
    anchor: &[PathBuf],
    json: bool,
) -> Result<ExitCode> {
    let published = if anchor.is_empty() {
        suiji::ops::audit::Published::default()
    } else {
        let p = suiji::ops::audit::read_published(anchor)?;
        if p.anchors.is_empty() {
            return Err(Invalid(format!(
                "no published chain heads found in {}",
                anchor
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .into());
        }
        p
    };
    let report = suiji::ops::audit::verify(ctx, &published).await?;
    if json {
        print_json(&report)?;
    } else {
        print_audit(&report, &published);
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

pub(super) fn init_dir(dir: &Path, json: bool) -> Result<ExitCode> {
    let done = suiji::ops::init::init(dir)?;
    if json {
        return print_json(&done).map(|_| ExitCode::SUCCESS);
    }
    println!(
        "a new deployment in {}: {} files",
        done.dir.display(),
        done.files.len()
    );
    println!(
        "next: edit suiji.toml (the department, divisions, mail relay) and env (secrets, mode \
         0600); then, in that folder, each with --config suiji.toml: suiji init (the \
         database), suiji import …, suiji rules check, suiji doctor; the service runs there \
         (WorkingDirectory=) with the same --config"
    );
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn doctor(
    settings: &Settings,
    clock: &dyn suiji::clock::Clock,
    json: bool,
) -> Result<ExitCode> {
    let d = suiji::ops::doctor::doctor(settings, clock).await;
    if json {
        print_json(&d)?;
    } else {
        for c in &d.checks {
            let level = match c.level {
                suiji::ops::doctor::Level::Ok => "ok  ",
                suiji::ops::doctor::Level::Warn => "warn",
                suiji::ops::doctor::Level::Fail => "FAIL",
            };
            println!("{level} {:<14} {}", c.name, suiji::text::shown(&c.says));
            if c.level != suiji::ops::doctor::Level::Ok
                && let Some(r) = &c.remedy
            {
                println!("     {:<14} → {}", "", suiji::text::shown(r));
            }
        }
    }
    Ok(if d.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

pub(super) async fn backup(ctx: &Ctx<'_>, to: &Path, json: bool) -> Result<ExitCode> {
    let b = suiji::ops::backup::backup(ctx, to).await?;
    if json {
        print_json(&b)?;
    } else {
        println!(
            "backup written to {} ({} bytes){}",
            b.file.display(),
            b.bytes,
            b.audit_head
                .as_ref()
                .map(|h| format!("; audit chain head row {} hash {}", h.seq, h.hash))
                .unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn restore(
    settings: &Settings,
    from: &Path,
    actor: &str,
    json: bool,
) -> Result<ExitCode> {
    let r = suiji::ops::backup::restore(settings, from, actor).await?;
    if json {
        print_json(&r)?;
    } else {
        print_audit(&r.audit, &suiji::ops::audit::Published::default());
        println!(
            "checked against {} published plan index(es) in {}",
            r.public_indexes,
            settings.public_dir().display()
        );
        if r.ok {
            println!("restored {} from {}", r.database.display(), from.display());
        } else {
            println!(
                "NOT restored: {} does not hold what was published or its chain is broken; \
                 nothing was written",
                from.display()
            );
        }
    }
    Ok(if r.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The audit chain's verification as `audit verify` and `restore` print it.
pub(super) fn print_audit(
    report: &suiji::ops::audit::AuditReport,
    published: &suiji::ops::audit::Published,
) {
    match &report.first_broken {
        None => println!("audit log chain intact: {} rows", report.rows),
        Some(b) => println!("audit log BROKEN at row {}: {}", b.seq, b.reason),
    }
    if let Some(h) = &report.head {
        println!("head: row {} hash {}", h.seq, h.hash);
    }
    if !published.anchors.is_empty() {
        if report.anchor_problems.is_empty() {
            println!(
                "{} published anchor(s) match the chain",
                published.anchors.len()
            );
        }
        if !published.indexes.is_empty() && report.shrank.is_empty() {
            println!(
                "{} published index(es): every event they list is still in the history",
                published.indexes.len()
            );
        }
        for p in &report.anchor_problems {
            println!("ANCHOR MISMATCH at row {}: {}", p.seq, p.reason);
        }
    }
    for p in &report.unrecorded {
        println!("HISTORY EDITED at row {}: {}", p.seq, p.reason);
    }
    for p in &report.shrank {
        println!("HISTORY SHRANK: {}", suiji::text::quote_at_most(p, 400));
    }
}

pub(super) fn generate(
    settings: &Settings,
    entities: usize,
    seed: u64,
    out: &Path,
) -> Result<ExitCode> {
    let vocab = settings.vocabulary()?;
    suiji::demo::generate(entities, seed, &vocab)
        .write(out)
        .with_context(|| format!("writing demo data to {}", out.display()))?;
    eprintln!(
        "wrote {entities} entities and their officers, conflicts, items and bureaus to {}",
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn init(ctx: &Ctx<'_>, rehearsal: bool, json: bool) -> Result<ExitCode> {
    use suiji::store::Mode;
    let asked = if rehearsal {
        Mode::Rehearsal
    } else {
        Mode::Production
    };
    let mode = suiji::ops::rehearsal::init(ctx, asked).await?;
    if json {
        print_json(
            &serde_json::json!({ "database": ctx.settings.database.url.to_string(), "mode": mode }),
        )?;
    } else {
        println!(
            "{}: a {} store{}",
            ctx.settings.database.url,
            mode.name(),
            match mode {
                Mode::Production => ", which records only on the real clock",
                Mode::Rehearsal =>
                    ": it may run on a simulated clock, writes mail as .eml files and marks what \
                     it publishes 演练",
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}
