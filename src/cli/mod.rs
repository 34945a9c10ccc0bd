//! Argument parsing and the commands' output. The binary edge: errors are `anyhow` here, and
//! an [`Invalid`] anywhere in the chain means the user's input was at fault (exit 2).

mod draw;
mod rules;
mod task;

use std::fmt;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use serde::Serialize;

use suiji::clock::{Clock, SystemClock};
use suiji::config::{Overrides, Settings};
use suiji::import::{self, Kind, Problem};
use suiji::store::{ImportMeta, Store, StoreError};

#[derive(Parser)]
#[command(
    name = "suiji",
    version,
    about = "随机: publicly verifiable random safety inspections (双随机、一公开)"
)]
struct Cli {
    /// Configuration file layered over the shipped defaults.
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Database URL (sqlite://PATH or postgres://...), overriding database.url.
    #[arg(long, global = true, value_name = "URL")]
    db: Option<String>,
    /// Who is acting, recorded in the audit log (default: the login name).
    #[arg(long, global = true, value_name = "NAME")]
    actor: Option<String>,
    /// Take DATE as today (Asia/Shanghai) for validating and computing deadlines: for entering
    /// events after the fact and replaying a year. Audit timestamps stay real.
    #[arg(long, global = true, value_name = "DATE")]
    today: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Import a registry file (CSV in UTF-8/GBK, or XLSX); all rows or none.
    Import {
        kind: Kind,
        file: PathBuf,
        /// Validate only; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Spreadsheet sheet to read (default: the first).
        #[arg(long, value_name = "NAME")]
        sheet: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Counts of the registry and bookkeeping tables.
    Stats {
        #[arg(long)]
        json: bool,
    },
    /// The hash-chained audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// The yearly plan as a Rhai rule script: check, show, compare.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Freeze the draw's inputs into the manifest and publish it (before the seed exists).
    Freeze {
        /// The plan script (default: rules.file).
        #[arg(long, value_name = "FILE")]
        plan: Option<PathBuf>,
        /// Replace the active manifest (only before the official draw; audited).
        #[arg(long, requires = "reason")]
        refreeze: bool,
        #[arg(long)]
        reason: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// The draw: --official (once per plan and year), --dry-run, or --void.
    #[command(group(clap::ArgGroup::new("mode").required(true).args(["official", "dry_run", "void"])))]
    Draw {
        #[arg(long, value_name = "FILE")]
        plan: Option<PathBuf>,
        /// The one official draw, from the frozen manifest.
        #[arg(long)]
        official: bool,
        /// Compute a draw from the live registry into --out, recording nothing.
        #[arg(long, requires_all = ["seed_value", "out"])]
        dry_run: bool,
        /// Void the official draw (needs --reason; audited) so that it can be redrawn.
        #[arg(long, requires = "reason")]
        void: bool,
        /// The publicly drawn digits (manual seed).
        #[arg(long, value_name = "DIGITS")]
        seed_value: Option<String>,
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        #[arg(long)]
        reason: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Recompute a published draw from DIR/manifest.json and DIR/draw.json alone.
    Verify {
        dir: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Inspection tasks: list, show, and record what happened.
    Task {
        #[command(subcommand)]
        command: TaskCommand,
    },
    /// What is overdue on a day (default today): the nightly check.
    Overdue {
        #[arg(long, value_name = "DATE")]
        date: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Progress per division (as of a month's end, default today), also as XLSX.
    Report {
        #[arg(long, value_name = "YYYY-MM")]
        month: Option<String>,
        #[arg(long, value_name = "FILE")]
        xlsx: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Working days: holiday data and deadline arithmetic.
    Calendar {
        #[command(subcommand)]
        command: CalendarCommand,
    },
    /// Demo data: load the shipped set, or generate large synthetic sets.
    Demo {
        #[command(subcommand)]
        command: DemoCommand,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Recompute the hash chain and name the first broken row.
    Verify {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum TaskCommand {
    List {
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        division: Option<String>,
        /// Only tasks with a deadline already passed (as of today).
        #[arg(long)]
        overdue: bool,
        #[arg(long)]
        json: bool,
    },
    /// Team, items, dates, deadlines and how far each is.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Set the planned inspection date (a working day inside the window).
    Schedule {
        id: String,
        #[arg(long)]
        date: String,
        #[arg(long)]
        json: bool,
    },
    Complete {
        id: String,
        #[arg(long)]
        date: String,
        #[arg(long, value_enum)]
        outcome: suiji::lifecycle::Outcome,
        #[arg(long)]
        json: bool,
    },
    /// Results published (公示).
    Publish {
        id: String,
        #[arg(long)]
        date: String,
        #[arg(long)]
        url: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// A penalty decision was made.
    Penalty {
        id: String,
        #[arg(long)]
        decision_date: String,
        #[arg(long)]
        json: bool,
    },
    /// The penalty decision was published.
    PenaltyPublished {
        id: String,
        #[arg(long)]
        date: String,
        #[arg(long)]
        json: bool,
    },
    /// Transferred to judicial organs (移送司法机关).
    Refer {
        id: String,
        #[arg(long)]
        date: String,
        #[arg(long)]
        json: bool,
    },
    Archive {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Apply a file of outcomes from the divisions (CSV/XLSX), all rows or none.
    Import {
        file: PathBuf,
        #[arg(long, value_name = "NAME")]
        sheet: Option<String>,
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
    },
    /// The entity is closed or unreachable: the stratum's next alternate takes its place.
    Replace {
        id: String,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum CalendarCommand {
    /// Show a year's holiday data (exit 2 if there is none).
    Check {
        year: i32,
        #[arg(long)]
        json: bool,
    },
    /// The end of the N-th working day after DATE (negative N: before).
    AddDays {
        date: String,
        #[arg(allow_hyphen_values = true)]
        n: i64,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum RulesCommand {
    /// Compile, evaluate and check a script against the registry (default: rules.file).
    Check {
        file: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// The evaluated plan: tasks, owners, pools per risk level, quotas, rules, next runs.
    Show {
        file: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// What changed between two plans (e.g. last year's and this year's).
    Diff {
        old: PathBuf,
        new: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum DemoCommand {
    /// Import the shipped demo registry and print what the database now holds.
    Run {
        /// Folder holding bureaus.csv, items.csv, entities.csv, officers.csv, conflicts.csv.
        #[arg(long, default_value = "examples/henan")]
        dir: PathBuf,
        /// The plan to freeze and draw (default: rules.file).
        #[arg(long, value_name = "FILE")]
        plan: Option<PathBuf>,
        /// Only import the registry; no freeze, draw or verification.
        #[arg(long)]
        import_only: bool,
        #[arg(long)]
        json: bool,
    },
    /// Write a synthetic registry (CSV, Chinese headers) for tests and benchmarks.
    Generate {
        #[arg(long, default_value_t = 3000)]
        entities: usize,
        #[arg(long, default_value_t = 2024)]
        seed: u64,
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
}

/// How a command reports: text for people, one JSON document, or nothing (when another command
/// reports for it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Output {
    Text,
    Json,
    Quiet,
}

impl Output {
    fn of(json: bool) -> Output {
        if json { Output::Json } else { Output::Text }
    }
}

/// The manual seed `demo run` draws with: the digits of the 2024 demo's golden vector.
const DEMO_SEED: &str = "03071218253109";

/// The user's input is wrong (exit 2), as opposed to the program failing (exit 1).
#[derive(Debug)]
struct Invalid(String);

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Invalid {}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let settings = match Settings::load(&Overrides {
        file: cli.config.clone(),
        database_url: cli.db.clone(),
        env: None,
    }) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    init_logging(&settings);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: starting the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli, settings)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            if e.chain().any(|c| c.is::<Invalid>()) {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

fn init_logging(settings: &Settings) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(&settings.log.level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

fn actor(cli: &Cli) -> String {
    cli.actor
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .filter(|a| !a.trim().is_empty())
        .unwrap_or_else(|| "unknown".into())
}

async fn open_store(settings: &Settings) -> Result<Store> {
    let store = match Store::open(&settings.database.url, &settings.database).await {
        Err(e @ StoreError::Url(_)) => return Err(Invalid(e.to_string()).into()),
        r => r.with_context(|| format!("opening database {}", settings.database.url))?,
    };
    tracing::debug!(backend = ?store.backend(), "database ready");
    Ok(store)
}

async fn run(cli: Cli, settings: Settings) -> Result<ExitCode> {
    let actor = actor(&cli);
    let clock: Box<dyn Clock> = match &cli.today {
        Some(d) => Box::new(suiji::clock::AsOf(task::parse_date(d)?)),
        None => Box::new(SystemClock),
    };
    let clock = clock.as_ref();
    match cli.command {
        Command::Import {
            kind,
            ref file,
            dry_run,
            ref sheet,
            json,
        } => {
            let store = open_store(&settings).await?;
            let report = import_file(
                &store,
                &settings,
                clock,
                &actor,
                kind,
                file,
                sheet.as_deref(),
                dry_run,
                json,
            )
            .await?;
            store.close().await;
            print_import(&report, json)?;
            Ok(if report.problems.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            })
        }
        Command::Stats { json } => {
            let store = open_store(&settings).await?;
            let stats = store.stats().await?;
            store.close().await;
            if json {
                print_json(&stats)?;
            } else {
                println!("database: {:?}", stats.backend);
                for (table, n) in &stats.counts {
                    println!("{table:<12} {n:>10}");
                }
                if !stats.entities_by_sector.is_empty() {
                    println!("\nentities by sector:");
                    for (s, n) in &stats.entities_by_sector {
                        println!("  {s:<20} {n:>8}");
                    }
                    println!("entities by risk:");
                    for (r, n) in &stats.entities_by_risk {
                        println!("  {r:<20} {n:>8}");
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit {
            command: AuditCommand::Verify { json },
        } => {
            let store = open_store(&settings).await?;
            let entries = store.audit_entries().await?;
            store.close().await;
            let result = suiji::audit::verify(&entries);
            #[derive(Serialize)]
            struct Report {
                ok: bool,
                rows: usize,
                first_broken: Option<suiji::audit::Break>,
            }
            let report = Report {
                ok: result.is_ok(),
                rows: entries.len(),
                first_broken: result.as_ref().err().cloned(),
            };
            if json {
                print_json(&report)?;
            } else {
                match &result {
                    Ok(n) => println!("audit log intact: {n} rows, chain verified"),
                    Err(b) => println!("audit log BROKEN at row {}: {}", b.seq, b.reason),
                }
            }
            Ok(if result.is_ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Freeze {
            plan,
            refreeze,
            reason,
            json,
        } => {
            let store = open_store(&settings).await?;
            let reason = if refreeze { reason } else { None };
            let code = draw::freeze(
                &store,
                &settings,
                clock,
                &actor,
                plan,
                reason,
                Output::of(json),
            )
            .await;
            store.close().await;
            code
        }
        Command::Draw {
            plan,
            official: _,
            dry_run,
            void,
            seed_value,
            out,
            reason,
            json,
        } => {
            let store = open_store(&settings).await?;
            let args = draw::DrawArgs {
                plan,
                dry_run,
                void,
                seed_value,
                out,
                reason,
                out_mode: Output::of(json),
            };
            let code = draw::draw(&store, &settings, clock, &actor, args).await;
            store.close().await;
            code
        }
        Command::Verify { dir, json } => draw::verify(&dir, Output::of(json)),
        Command::Calendar { command } => match command {
            CalendarCommand::Check { year, json } => task::calendar_check(&settings, year, json),
            CalendarCommand::AddDays { date, n, json } => task::add_days(&settings, &date, n, json),
        },
        Command::Overdue { date, json } => {
            let date = match date {
                Some(d) => task::parse_date(&d)?,
                None => clock.today(),
            };
            let store = open_store(&settings).await?;
            let code = task::overdue(&store, &settings, date, json).await;
            store.close().await;
            code
        }
        Command::Report { month, xlsx, json } => {
            let store = open_store(&settings).await?;
            let code = task::report(&store, &settings, clock, month, xlsx.as_deref(), json).await;
            store.close().await;
            code
        }
        Command::Task { command } => {
            let store = open_store(&settings).await?;
            let code = task_command(&store, &settings, clock, &actor, command).await;
            store.close().await;
            code
        }
        Command::Rules { command } => {
            let store = open_store(&settings).await?;
            let ctx = rules::context(&store, &settings).await?;
            store.close().await;
            rules::command(command, &settings, &ctx, clock)
        }
        Command::Demo {
            command:
                DemoCommand::Generate {
                    entities,
                    seed,
                    ref out,
                },
        } => {
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
        Command::Demo {
            command:
                DemoCommand::Run {
                    ref dir,
                    ref plan,
                    import_only,
                    json,
                },
        } => {
            let store = open_store(&settings).await?;
            let mut reports = Vec::new();
            for kind in Kind::ALL {
                let file = dir.join(format!("{}.csv", kind.name()));
                let report = import_file(
                    &store, &settings, clock, &actor, kind, &file, None, false, true,
                )
                .await?;
                if !report.problems.is_empty() {
                    print_import(&report, json)?;
                    return Ok(ExitCode::from(2));
                }
                reports.push(report);
            }
            if !json {
                for r in &reports {
                    print_import(r, false)?;
                }
            }
            if import_only {
                let stats = store.stats().await?;
                store.close().await;
                if json {
                    print_json(&serde_json::json!({ "imports": reports, "stats": stats }))?;
                }
                return Ok(ExitCode::SUCCESS);
            }
            // Then the year's main job on the demo plan: freeze, the official draw with the
            // demo's public digits (once), and an independent check of what was published.
            let out = if json { Output::Quiet } else { Output::Text };
            let plan = plan.clone().unwrap_or_else(|| settings.rules.file.clone());
            draw::freeze(
                &store,
                &settings,
                clock,
                &actor,
                Some(plan.clone()),
                None,
                out,
            )
            .await?;
            let (checked, _) = draw::checked_plan(&store, &settings, Some(plan.clone())).await?;
            let year = i64::from(checked.plan.year);
            if store.official_draw(&checked.plan.id, year).await?.is_none() {
                let args = draw::DrawArgs {
                    plan: Some(plan),
                    dry_run: false,
                    void: false,
                    seed_value: Some(DEMO_SEED.to_string()),
                    out: None,
                    reason: None,
                    out_mode: out,
                };
                draw::draw(&store, &settings, clock, &actor, args).await?;
            } else if !json {
                println!(
                    "the official draw of {} was already made; verifying it",
                    checked.plan.id
                );
            }
            let official = store.official_draw(&checked.plan.id, year).await?;
            let published = suiji::publish::plan_dir(settings.public_dir(), year, &checked.plan.id);
            let verified = draw::verify(&published, out)? == ExitCode::SUCCESS;
            let stats = store.stats().await?;
            store.close().await;
            if json {
                print_json(&serde_json::json!({
                    "imports": reports,
                    "stats": stats,
                    "draw": {
                        "plan": checked.plan.id,
                        "digest": official.as_ref().map(|d| &d.digest),
                        "published": published,
                        "verified": verified,
                    },
                }))?;
            } else {
                let n = |k: &str| stats.counts.get(k).copied().unwrap_or(0);
                println!(
                    "\n{} ({:?}) holds {} entities, {} officers, {} conflicts, {} items, {} bureaus \
                     and {} inspection tasks; the draw is published in {} and {}.",
                    settings.database.url,
                    stats.backend,
                    n("entities"),
                    n("officers"),
                    n("conflicts"),
                    n("items"),
                    n("bureaus"),
                    n("tasks"),
                    published.display(),
                    if verified {
                        "verified"
                    } else {
                        "does NOT verify"
                    },
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn task_command(
    store: &Store,
    settings: &Settings,
    clock: &dyn Clock,
    actor: &str,
    command: TaskCommand,
) -> Result<ExitCode> {
    use suiji::lifecycle::Event;
    let date = |d: &str| task::parse_date(d);
    let (id, event, detail, json) = match command {
        TaskCommand::List {
            status,
            division,
            overdue,
            json,
        } => {
            let filter = suiji::store::TaskFilter {
                status,
                division,
                due_before: overdue.then(|| clock.today()),
                draw_id: None,
            };
            return task::list(store, settings, clock, filter, json).await;
        }
        TaskCommand::Show { id, json } => {
            return task::show(store, settings, clock, &id, json).await;
        }
        TaskCommand::Schedule { id, date: d, json } => (
            id,
            Event::Schedule(date(&d)?),
            serde_json::json!({ "date": d }),
            json,
        ),
        TaskCommand::Complete {
            id,
            date: d,
            outcome,
            json,
        } => (
            id,
            Event::Complete(date(&d)?, outcome),
            serde_json::json!({ "date": d, "outcome": outcome.code() }),
            json,
        ),
        TaskCommand::Publish {
            id,
            date: d,
            url,
            json,
        } => (
            id,
            Event::Publish(date(&d)?, url.clone()),
            serde_json::json!({ "date": d, "url": url }),
            json,
        ),
        TaskCommand::Penalty {
            id,
            decision_date: d,
            json,
        } => (
            id,
            Event::PenaltyDecided(date(&d)?),
            serde_json::json!({ "decision_date": d }),
            json,
        ),
        TaskCommand::PenaltyPublished { id, date: d, json } => (
            id,
            Event::PenaltyPublished(date(&d)?),
            serde_json::json!({ "date": d }),
            json,
        ),
        TaskCommand::Refer { id, date: d, json } => (
            id,
            Event::Refer(date(&d)?),
            serde_json::json!({ "date": d }),
            json,
        ),
        TaskCommand::Archive { id, json } => (id, Event::Archive, serde_json::json!({}), json),
        TaskCommand::Import {
            file,
            sheet,
            dry_run,
            json,
        } => {
            return task::import_outcomes(
                store,
                settings,
                clock,
                actor,
                &file,
                sheet.as_deref(),
                dry_run,
                json,
            )
            .await;
        }
        TaskCommand::Replace { id, reason, json } => {
            return task::replace(store, settings, clock, actor, &id, &reason, json).await;
        }
    };
    task::transition(store, settings, clock, actor, &id, event, detail, json).await
}

/// What an import did (or would do, or why it did nothing).
#[derive(Debug, Serialize)]
struct ImportReport {
    ok: bool,
    kind: Kind,
    file: String,
    dry_run: bool,
    encoding: Option<String>,
    rows: usize,
    ignored_columns: Vec<String>,
    outcome: Option<suiji::store::ImportOutcome>,
    problems: Vec<Problem>,
}

#[allow(clippy::too_many_arguments)]
async fn import_file(
    store: &Store,
    settings: &Settings,
    clock: &dyn Clock,
    actor: &str,
    kind: Kind,
    file: &Path,
    sheet: Option<&str>,
    dry_run: bool,
    quiet: bool,
) -> Result<ImportReport> {
    let vocab = settings.vocabulary()?;
    store.sync_divisions(&vocab, clock, actor).await?;
    let mut report = ImportReport {
        ok: false,
        kind,
        file: file.display().to_string(),
        dry_run,
        encoding: None,
        rows: 0,
        ignored_columns: Vec::new(),
        outcome: None,
        problems: Vec::new(),
    };
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => {
            report
                .problems
                .push(Problem::file(&report.file, &format!("cannot read: {e}")));
            return Ok(report);
        }
    };
    let table = match import::table::read(file, sheet) {
        Ok(t) => t,
        Err(p) => {
            report.problems.push(p);
            return Ok(report);
        }
    };
    report.encoding = Some(table.encoding.to_string());
    report.rows = table.rows.len();
    let known = if kind == Kind::Conflicts {
        store.known_keys().await?
    } else {
        Default::default()
    };
    let progress = progress_bar(table.rows.len(), quiet);
    let parsed = import::parse(kind, &table, &vocab, &known);
    let (records, notes) = match parsed {
        Ok(r) => r,
        Err(problems) => {
            progress.finish_and_clear();
            report.problems = problems;
            return Ok(report);
        }
    };
    report.ignored_columns = notes.ignored_columns;
    if !dry_run {
        progress.set_message("writing");
        let meta = ImportMeta {
            kind,
            file: report.file.clone(),
            sha256: suiji::audit::sha256_hex(&bytes),
            encoding: table.encoding.to_string(),
            actor: actor.to_string(),
        };
        progress.set_length(records.len() as u64);
        report.outcome = Some(
            store
                .apply_import(&meta, &records, clock, &|n| progress.set_position(n))
                .await?,
        );
    }
    progress.finish_and_clear();
    report.ok = true;
    Ok(report)
}

/// A bar for large files on a terminal (validating, then rows written); hidden under `--json`
/// or without a TTY.
fn progress_bar(rows: usize, quiet: bool) -> indicatif::ProgressBar {
    if quiet || rows < 10_000 || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(rows as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{msg:>10} [{bar:40}] {pos}/{len} rows ({per_sec}, {eta} left)",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message("validating");
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

fn print_import(report: &ImportReport, json: bool) -> Result<()> {
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

fn print_json(value: &impl Serialize) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
