//! The command line: parses arguments, builds the operation context, calls `suiji::ops` and
//! prints text or `--json`. No business logic lives here. Errors are `anyhow` at this edge; an
//! [`Invalid`] or an `OpsError::Invalid` anywhere in the chain means the user's input was at
//! fault (exit 2).

mod daemon;
mod draw;
mod outbox;
mod registry;
mod rules;
mod table;
mod task;
mod user;

use std::fmt;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use serde::Serialize;

use suiji::clock::{Clock, SystemClock};
use suiji::config::{Overrides, Settings};
use suiji::import::Kind;
use suiji::ops::{Ctx, OpsError};
use suiji::store::{Mode, Store, StoreError};

#[derive(Parser)]
#[command(
    name = "suiji",
    version = suiji::version(),
    about = "随机: publicly verifiable random safety inspections (双随机、一公开)"
)]
struct Cli {
    /// Configuration file layered over the shipped defaults.
    #[arg(
        long,
        global = true,
        value_name = "PATH",
        help_heading = "Global options"
    )]
    config: Option<PathBuf>,
    /// Database URL (sqlite://PATH or postgres://...), overriding database.url.
    #[arg(
        long,
        global = true,
        value_name = "URL",
        help_heading = "Global options"
    )]
    db: Option<String>,
    /// Who is acting, recorded in the audit log (default: SUIJI_ACTOR, else the OS user, else
    /// the host name).
    #[arg(
        long,
        global = true,
        value_name = "NAME",
        help_heading = "Global options"
    )]
    actor: Option<String>,
    /// Take DATE (not later than the real today) as today, Asia/Shanghai ("YYYY-MM-DD", or
    /// "YYYY-MM-DD HH:MM"): on a rehearsal store for replaying a year; on a production store
    /// only read-only views take it. Audit timestamps stay real.
    #[arg(
        long,
        global = true,
        value_name = "DATE",
        help_heading = "Global options"
    )]
    today: Option<String>,
    /// Write logs (stderr) as JSON lines instead of text.
    #[arg(long, global = true, help_heading = "Global options")]
    log_json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// With DIR: write a department's starting point there (configuration with every key
    /// explained, the reference plans, the letters' templates, the holiday data, an env file
    /// for secrets), never over a file. Without: create the database (and apply its
    /// migrations) as a production store, or a rehearsal store with --rehearsal; an existing
    /// store keeps its mode, which is printed.
    Init {
        /// The folder of a new deployment.
        dir: Option<PathBuf>,
        /// A rehearsal store: it may run on a simulated clock (--today, serve --until), writes
        /// mail as .eml files only and marks everything it publishes 演练.
        #[arg(long)]
        rehearsal: bool,
        /// Print the result as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Whether this deployment can do its year: time zone, database, rule files, holiday data,
    /// folders, mail relay, clock, daemon; each ok, warn or fail with a remedy (exit 2 on a
    /// failure). Reads only.
    Doctor {
        /// Print the result as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// A consistent copy of the database, taken while the daemon runs, written as a new SQLite
    /// file (from SQLite or PostgreSQL); FILE must not exist.
    Backup {
        /// The new file to write the copy to.
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
        /// Print the result as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Make the database (a new SQLite file, --db) from a backup, kept only if its audit chain
    /// holds and it holds every event the public folder has published.
    Restore {
        /// The backup file (`suiji backup --to FILE`).
        from: PathBuf,
        /// Print the result as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Console accounts: add, reset a password, disable, list.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Rehearse on a copy: copy the database at --from into a new rehearsal store in DIR (the
    /// original is only read), then run the plan's year on it up to --until (mail as .eml
    /// files in DIR/data/mail, the public site in DIR/public).
    Rehearse {
        /// The database to copy (sqlite://PATH or postgres://...); it is never written.
        #[arg(long, value_name = "URL")]
        from: String,
        /// The folder of the rehearsal (its database DIR/suiji.db, mail, reports and site); a
        /// rehearsal already there is continued.
        #[arg(long, value_name = "DIR")]
        into: PathBuf,
        /// Rehearse the daemon's jobs up to DATE ("YYYY-MM-DD" or "YYYY-MM-DD HH:MM"); without
        /// it, only the copy is made.
        #[arg(long, value_name = "DATE")]
        until: Option<String>,
        /// A plan script; repeat for several (default: rules.plans, or rules.file).
        #[arg(long, value_name = "FILE")]
        plan: Vec<PathBuf>,
        /// Print the result as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Import a registry file (CSV in UTF-8/GBK, or XLSX); all rows or none.
    Import {
        /// What the file holds: entities, officers, conflicts, items, bureaus, or inspections
        /// done outside suiji (counted by yearly caps).
        kind: Kind,
        /// The CSV (UTF-8 or GBK) or XLSX file.
        file: PathBuf,
        /// Validate only; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Spreadsheet sheet to read (default: the first).
        #[arg(long, value_name = "NAME")]
        sheet: Option<String>,
        /// Print the result as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Run the daemon: the plans' scheduled jobs, exactly once each, until SIGTERM or Ctrl-C;
    /// with --until, rehearse the plans' year up to DATE on a simulated clock and exit.
    Serve {
        /// Rehearse every job slot from the start of the plan's year up to DATE (a day, or
        /// "YYYY-MM-DD HH:MM"), exactly as the daemon would have run them, then exit.
        #[arg(long, value_name = "DATE")]
        until: Option<String>,
        /// A plan script; repeat for several plans run together (default: rules.plans, or
        /// rules.file).
        #[arg(long, value_name = "FILE")]
        plan: Vec<PathBuf>,
        /// Print the result as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Notices (函告, assignments, reminders, escalations, reports): the outbox.
    Outbox {
        #[command(subcommand)]
        command: OutboxCommand,
    },
    /// The mail relay: test the connection, TLS, authentication and delivery.
    Mail {
        #[command(subcommand)]
        command: MailCommand,
    },
    /// The daemon's jobs: pause one, resume it, or run a slot now (each audited with its
    /// reason); `suiji status` shows them.
    Job {
        #[command(subcommand)]
        command: JobCommand,
    },
    /// Public seed digits, entered once announced, for the draw job.
    Seed {
        #[command(subcommand)]
        command: SeedCommand,
    },
    /// Where the active plan stands: manifest, draw, jobs, tasks, overdue, the audit head.
    Status {
        /// Print the result as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Counts of the registry and bookkeeping tables.
    Stats {
        /// Print the result as JSON instead of text.
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
    /// Freeze the draw's inputs into the manifest and publish it (before the seed is public).
    Freeze {
        /// The plan script (default: rules.file).
        #[arg(long, value_name = "FILE")]
        plan: Option<PathBuf>,
        /// Replace the active manifest (only before the seed is public and before the official
        /// draw; audited and published).
        #[arg(long, requires = "reason")]
        refreeze: bool,
        /// Why the manifest is replaced (required with --refreeze; audited and published).
        #[arg(long)]
        reason: Option<String>,
        /// Print the result as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// The draw: --official (once per plan and year), --dry-run, or --void.
    #[command(group(clap::ArgGroup::new("mode").required(true).args(["official", "dry_run", "void"])))]
    Draw {
        /// The plan script (default: rules.file).
        #[arg(long, value_name = "FILE")]
        plan: Option<PathBuf>,
        /// The one official draw, from the frozen manifest (once the seed is public).
        #[arg(long)]
        official: bool,
        /// Compute a draw from the live registry into --out, recording nothing.
        #[arg(long, requires_all = ["seed_value", "out"])]
        dry_run: bool,
        /// Void the official draw (needs --reason; audited and published) so that it can be
        /// redrawn.
        #[arg(long, requires = "reason")]
        void: bool,
        /// Void even though the draw's tasks hold recorded results (they keep them, marked
        /// voided).
        #[arg(long, requires = "void")]
        force: bool,
        /// The publicly drawn digits (manual seed).
        #[arg(long, value_name = "DIGITS", value_parser = digits)]
        seed_value: Option<String>,
        /// The drand round's signature (hex), instead of fetching it from the relays.
        #[arg(long, value_name = "HEX")]
        beacon_signature: Option<String>,
        /// Where a dry run writes manifest.json and draw.json.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Why the draw is voided (required with --void; audited and published).
        #[arg(long)]
        reason: Option<String>,
        /// Print the result as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Write the public disclosure site (一公开): item list, plan, draw, results and a page that
    /// verifies the draw in the visitor's browser, with CSV, XLSX and JSON downloads. The
    /// daemon and every recording command keep it current; this rebuilds it on demand.
    Publish {
        /// Only this year's plans (the front page still lists every plan).
        #[arg(long, value_name = "YEAR")]
        year: Option<i64>,
        /// Write here instead of the public folder (public.dir), e.g. to preview.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Print the result as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Print a shell completion script: `suiji completions bash > /etc/bash_completion.d/suiji`
    /// (zsh: into a folder on $fpath as `_suiji`; fish: ~/.config/fish/completions/suiji.fish).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Write the manual pages (suiji.1 and one per command, e.g. suiji-task-list.1) into a
    /// folder, from the same definitions as --help: `suiji man --out /usr/local/share/man/man1`.
    Man {
        /// The folder to write the pages into.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Recompute a published draw from its folder alone: the whole history (index.json), or a
    /// manifest.json + draw.json pair.
    Verify {
        /// The published folder (index.json and its files), or a folder with manifest.json and draw.json.
        dir: PathBuf,
        /// Also check a department's private eligibility record (`suiji audit eligibility
        /// --export`) against the folder's manifest that commits to it, and list every
        /// exclusion it explains.
        #[arg(long, value_name = "RECORD")]
        eligibility: Option<PathBuf>,
        /// Also check that the history extends an older copy of the same folder (the folder or
        /// its index.json): nothing it listed was changed or dropped.
        #[arg(long, value_name = "OLD")]
        since: Option<PathBuf>,
        /// Also check a witness's receipt (`witness-<plan>-<year>-<n>.json`): the event it names
        /// and the history before it are unchanged. May be given several times.
        #[arg(long, value_name = "RECEIPT")]
        witness: Vec<PathBuf>,
        /// The timestamp authority's CA certificate (PEM): check the signature of every
        /// published timestamp (`timestamp-<n>.tsr`), not only what it stamps.
        #[arg(long, value_name = "PEM")]
        tsa_ca: Option<PathBuf>,
        /// Print the result as JSON instead of text.
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
        /// The day to check (default: today).
        #[arg(long, value_name = "DATE")]
        date: Option<String>,
        /// Print the result as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Progress per division: a month as it stood at its end (default: today), also as XLSX.
    Report {
        /// The month to report, YYYY-MM (default: today's progress).
        #[arg(long, value_name = "YYYY-MM")]
        month: Option<String>,
        /// Take in facts recorded after the month about it (late entries, corrections).
        #[arg(long)]
        revised: bool,
        /// Also write the report as a spreadsheet to this file.
        #[arg(long, value_name = "FILE")]
        xlsx: Option<PathBuf>,
        /// Print the result as JSON instead of text.
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
enum UserCommand {
    /// Add a console account. Without --password-stdin a password is generated and printed
    /// once (hand it over in person); it is stored only as its Argon2id hash.
    Add {
        /// The login name (letters, digits, `.`, `-`, `_`).
        login: String,
        /// The person's name, as pages and the audit log show it.
        #[arg(long)]
        name: String,
        /// admin (everything), division (its own division's tasks), bureau (its municipal
        /// unit's inspections and 函告), auditor (reads everything).
        #[arg(long, value_enum)]
        role: suiji::accounts::Role,
        /// A division account's division (code, label or alias); a bureau account's
        /// municipal unit (name or code).
        #[arg(long)]
        scope: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Print the result as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Set a new password (generated unless --password-stdin) and enable the account; every
    /// session of the account ends.
    Reset {
        /// The account's login name.
        login: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Print the result as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Disable an account and end its sessions (it and what it recorded stay).
    Disable {
        /// The account's login name.
        login: String,
    },
    /// Let the account sign in through single sign-on (console.oidc) as the provider's
    /// subject (its `sub` claim; the login page shows it to a person not linked yet).
    Link {
        /// The account's login name.
        login: String,
        /// The provider's subject.
        subject: String,
    },
    /// The accounts.
    List {
        /// Print the result as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum OutboxCommand {
    /// Notices, newest first.
    List {
        /// pending, sent or failed.
        #[arg(long)]
        status: Option<String>,
        /// Print the result as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// One notice: recipients, subject, delivery state, text and attachments.
    Show {
        /// The notice's number (from `outbox list`).
        id: i64,
        /// Print the whole message as it is sent (RFC 5322, MIME).
        #[arg(long)]
        eml: bool,
        /// Print the result as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Put notices back in line for delivery now (audited): one by number, or `--all` of a
    /// status once the cause of their failure is fixed. Each is still delivered once.
    Retry {
        /// The notice's number (from `outbox list`).
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<i64>,
        /// Every notice of `--status` (failed unless said).
        #[arg(long)]
        all: bool,
        /// With --all: failed, or pending (those waiting for their next attempt).
        #[arg(long, requires = "all", default_value = "failed")]
        status: String,
    },
    /// Deliver every notice due now (the daemon does this by itself).
    Send {
        /// Print the result as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum MailCommand {
    /// Connect to smtp.host, negotiate TLS, authenticate and, with --to, send one message,
    /// saying each step, the server's certificate, and for a failure its cause and remedy.
    /// Exit 0 when every step passed, 1 otherwise.
    Test {
        /// Send a test message to this address.
        #[arg(long, value_name = "ADDR")]
        to: Option<String>,
        /// Print the result as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum JobCommand {
    /// Hold the job's due slots (still owed) until it is resumed; the daemon keeps running
    /// the other jobs.
    Pause {
        #[command(flatten)]
        job: JobArgs,
    },
    /// Let the daemon run the job's owed slots again at its next look.
    Resume {
        #[command(flatten)]
        job: JobArgs,
    },
    /// Have the daemon run a slot that is due, waits or failed at its next look (paused or
    /// not, without waiting for its next attempt); never a slot not yet due.
    Run {
        #[command(flatten)]
        job: JobArgs,
        /// The slot, as `suiji status` lists it (default: the job's one open slot).
        #[arg(long, value_name = "SLOT")]
        slot: Option<String>,
    },
}

#[derive(clap::Args)]
struct JobArgs {
    /// freeze, draw (a plan's), nightly or report (the department's).
    #[arg(value_parser = job_name)]
    job: suiji::jobs::Job,
    /// The plan whose freeze or draw it is (its id, as `suiji status` shows).
    #[arg(long, value_name = "ID")]
    plan: Option<String>,
    /// Why (required; audited).
    #[arg(long)]
    reason: String,
    /// Print the result as JSON instead of text.
    #[arg(long)]
    json: bool,
}

fn job_name(s: &str) -> std::result::Result<suiji::jobs::Job, String> {
    suiji::jobs::Job::parse(s).ok_or_else(|| {
        format!(
            "`{}` is not a job: freeze, draw, nightly or report",
            suiji::text::quote(s)
        )
    })
}

#[derive(Subcommand)]
enum SeedCommand {
    /// Record the announced digits of a manual seed (once; after available_at; audited).
    Enter {
        /// Decimal digits exactly as announced (lottery balls as two digits each, in order).
        #[arg(value_parser = digits)]
        digits: String,
        /// The plan script (default: rules.file).
        #[arg(long, value_name = "FILE")]
        plan: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Recompute the hash chain and name the first broken row; with --anchor, also check it
    /// against chain heads published earlier (index.json files, status reports).
    Verify {
        /// A published file or folder (searched for index.json) holding chain heads.
        #[arg(long, value_name = "FILE_OR_DIR")]
        anchor: Vec<PathBuf>,
        /// Print the result as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Check a v3 manifest's private eligibility record (why officers are not eligible, or
    /// recused) against the published hash, and list every exclusion. The read is recorded in
    /// the audit chain.
    Eligibility {
        /// The plan's id.
        plan: String,
        /// The plan's year (default: its latest).
        #[arg(long)]
        year: Option<i64>,
        /// The manifest's number (default: the one in force).
        #[arg(long, value_name = "N")]
        manifest: Option<i64>,
        /// Write the record to this file (mode 0600) for an outside auditor, who checks it
        /// with `suiji verify DIR --eligibility FILE`.
        #[arg(long, value_name = "FILE")]
        export: Option<PathBuf>,
        /// Print the result as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum TaskCommand {
    /// Tasks with their state, division, entity and next deadline (filter by status, division,
    /// or what is overdue).
    List {
        /// Only tasks in this state: drawn, scheduled, completed, published, archived, replaced or voided.
        #[arg(long)]
        status: Option<String>,
        /// Only this division's tasks (its code or name).
        #[arg(long)]
        division: Option<String>,
        /// Only tasks with a deadline already passed (as of today).
        #[arg(long)]
        overdue: bool,
        /// Show at most this many tasks (1 to 100000).
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        limit: u32,
        /// Skip this many tasks first (for the next page).
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(..=i64::MAX as u64))]
        offset: u64,
        /// Print the result as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Team, items, dates, deadlines, how far each is, and every recorded fact.
    Show {
        /// The task's number, e.g. henan-2024-noncoal-001.
        id: String,
        /// Print the result as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Set the planned inspection date (a working day inside the window).
    Schedule {
        /// The task's number.
        id: String,
        /// The planned inspection day: a working day inside the window.
        #[arg(long)]
        date: String,
        /// Print the result as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// The inspection took place: its day and its outcome.
    Complete {
        /// The task's number.
        id: String,
        /// The day of the inspection (not before the planned day, not in the future).
        #[arg(long)]
        date: String,
        /// What the inspection found.
        #[arg(long, value_enum)]
        outcome: suiji::lifecycle::Outcome,
        /// Print the result as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Results published (公示).
    Publish {
        /// The task's number.
        id: String,
        /// The day the results were published.
        #[arg(long)]
        date: String,
        /// Where they were published (http or https only).
        #[arg(long)]
        url: Option<String>,
        /// Print the result as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// A penalty decision was made (the outcome must be `penalty`).
    Penalty {
        /// The task's number.
        id: String,
        /// The day the penalty decision was made.
        #[arg(long)]
        decision_date: String,
        /// Print the result as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// The penalty decision was published.
    PenaltyPublished {
        /// The task's number.
        id: String,
        /// The day the penalty decision was published.
        #[arg(long)]
        date: String,
        /// Print the result as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Transferred to judicial organs (移送司法机关).
    Refer {
        /// The task's number.
        id: String,
        /// The day the case was transferred.
        #[arg(long)]
        date: String,
        /// Print the result as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Correct a recorded value (audited with the old and the new value and the reason).
    Correct {
        /// The task's number.
        id: String,
        /// planned, completed, outcome, published, url, penalty-decision, penalty-published,
        /// referred
        #[arg(long)]
        field: String,
        /// The corrected value (a date YYYY-MM-DD, an outcome, or a URL).
        #[arg(long)]
        value: String,
        /// Why the recorded value was wrong (audited).
        #[arg(long)]
        reason: String,
        /// Print the result as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Close a task that owes nothing more (results and any penalty published).
    Archive {
        /// The task's number.
        id: String,
        /// Print the result as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Apply a file of outcomes from the divisions (CSV/XLSX), all rows or none.
    Import {
        /// The divisions' outcome file (CSV or XLSX): 任务编号 and the dates and outcomes to record.
        file: PathBuf,
        /// Spreadsheet sheet to read (default: the first).
        #[arg(long, value_name = "NAME")]
        sheet: Option<String>,
        /// Check every row; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print the result as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// The entity is closed or unreachable: the stratum's next alternate takes its place.
    Replace {
        /// The task's number.
        id: String,
        /// Why the entity cannot be inspected (closed, unreachable; audited).
        #[arg(long)]
        reason: String,
        /// Print the result as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum CalendarCommand {
    /// Show a year's holiday data (exit 2 if there is none).
    Check {
        /// The year whose holiday data to check.
        year: i32,
        /// Print the result as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// The end of the N-th working day after DATE (negative N: before).
    AddDays {
        /// The day of the event (it does not count).
        date: String,
        /// How many working days after it (negative: before).
        #[arg(allow_hyphen_values = true)]
        n: i64,
        /// Print the result as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum RulesCommand {
    /// Compile, evaluate and check a script against the registry (default: rules.file).
    Check {
        /// The rule script (default: rules.file).
        file: Option<PathBuf>,
        /// Print the result as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// The evaluated plan: tasks, owners, pools per risk level, quotas, rules, next runs.
    Show {
        /// The rule script (default: rules.file).
        file: Option<PathBuf>,
        /// Print the result as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Next year's script from this one: dates moved to the same weekdays, schedules, id and
    /// title; written beside it (or to --out), with what the admin must decide, checked.
    Next {
        /// This year's rule script.
        file: PathBuf,
        /// The year to write the plan for.
        #[arg(long)]
        year: i32,
        /// Where to write it (default: beside FILE, named by the new plan id); never
        /// overwritten.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Print the result as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// What changed between two plans (e.g. last year's and this year's).
    Diff {
        /// Last year's (or the previous) rule script.
        old: PathBuf,
        /// The rule script to compare with it.
        new: PathBuf,
        /// Also print the scripts' changed lines (a unified diff, 3 lines of context).
        #[arg(long)]
        lines: bool,
        /// Print the result as JSON instead of text: the list of changes, or with --lines an
        /// object of `changes` and `lines` (hunks of lines).
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum DemoCommand {
    /// Import the shipped demo registry, rehearse the demo plan's year (freeze, draw, nightly
    /// checks, monthly reports), print the timeline and verify what was published.
    Run {
        /// Folder holding bureaus.csv, items.csv, entities.csv, officers.csv, conflicts.csv and,
        /// optionally, inspections.csv (inspections done outside suiji). Default: the demo
        /// registry built into the binary, written to DATA_DIR/demo/ as the record of what was
        /// imported.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// The plan to freeze and draw (default: the demo's, henan-2024, built in and written
        /// beside the registry).
        #[arg(long, value_name = "FILE")]
        plan: Option<PathBuf>,
        /// Only import the registry; no freeze, draw or verification.
        #[arg(long)]
        import_only: bool,
        /// Rehearse only up to DATE (default: the first report after the window).
        #[arg(long, value_name = "DATE")]
        until: Option<String>,
        /// The year without its simulated divisions: only what the daemon does (nobody
        /// schedules, inspects or publishes, so every task goes overdue).
        #[arg(long)]
        no_people: bool,
        /// Print the result as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Write a synthetic registry (CSV, Chinese headers) for tests and benchmarks.
    Generate {
        /// How many entities to generate.
        #[arg(long, default_value_t = 3000)]
        entities: usize,
        /// Seed of the generator (the same seed gives the same files).
        #[arg(long, default_value_t = 2024)]
        seed: u64,
        /// The folder to write the CSV files into.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
}

/// How a command reports: text for people, or one JSON document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Output {
    Text,
    Json,
}

impl Output {
    fn of(json: bool) -> Output {
        if json { Output::Json } else { Output::Text }
    }
}

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
    // The demo prints its own timeline; the daemon's log lines would only repeat it.
    let quiet = matches!(
        cli.command,
        Command::Demo {
            command: DemoCommand::Run { .. }
        }
    );
    init_logging(&settings, cli.log_json, quiet);
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
            eprintln!("error: {}", error_text(&e));
            // The user's input, or something an admin supplies (holiday data), rather than a
            // fault of the program.
            let invalid = e.chain().any(|c| {
                c.is::<Invalid>()
                    || c.is::<suiji::calendar::CalendarError>()
                    || matches!(
                        c.downcast_ref(),
                        Some(
                            OpsError::Invalid(_)
                                | OpsError::Refused(_)
                                | OpsError::NotYet(_)
                                | OpsError::Calendar(_)
                        )
                    )
            });
            ExitCode::from(if invalid { 2 } else { 1 })
        }
    }
}

/// An error and its causes on one line, each cause only when it adds something: many errors
/// already repeat their source's text in their own.
fn error_text(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if text.is_empty() || out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

/// Log lines are stamped in Asia/Shanghai, like every other time suiji shows.
struct Beijing;

impl tracing_subscriber::fmt::time::FormatTime for Beijing {
    fn format_time(&self, w: &mut tracing_subscriber::fmt::format::Writer<'_>) -> fmt::Result {
        write!(w, "{}", suiji::clock::stamp(SystemClock.now()))
    }
}

fn init_logging(settings: &Settings, json: bool, quiet: bool) {
    let level = if quiet { "warn" } else { &settings.log.level };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .with_timer(Beijing);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// Who acts: `--actor`, else `SUIJI_ACTOR`, else the OS user of this process (from its uid,
/// so it works for services and root without USER set), else the host name. Control
/// characters are refused: an actor is written into the audit log and printed.
fn actor(cli: &Cli) -> Result<String> {
    let given = cli
        .actor
        .clone()
        .or_else(|| std::env::var("SUIJI_ACTOR").ok())
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty());
    let actor = match given {
        Some(a) => a,
        None => os_user()
            .or_else(suiji::instance::host)
            .unwrap_or_else(|| "unknown".into()),
    };
    if let Some((at, c)) = suiji::text::hidden_char(&actor) {
        return Err(Invalid(format!(
            "actor `{}`: {}; an actor is a plain name",
            suiji::text::quote(&actor),
            suiji::text::hidden_reason(at, c)
        ))
        .into());
    }
    if actor.chars().count() > 200 {
        return Err(Invalid(format!(
            "actor `{}` is longer than 200 characters",
            suiji::text::quote(&actor)
        ))
        .into());
    }
    Ok(actor)
}

fn os_user() -> Option<String> {
    // SAFETY: getpwuid_r writes into the buffers we own and returns a pointer into them.
    unsafe {
        let uid = libc::geteuid();
        let mut pwd: libc::passwd = std::mem::zeroed();
        let mut buf = vec![0 as libc::c_char; 4096];
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc = libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result);
        if rc != 0 || result.is_null() || pwd.pw_name.is_null() {
            return None;
        }
        let name = std::ffi::CStr::from_ptr(pwd.pw_name)
            .to_string_lossy()
            .into_owned();
        Some(name).filter(|n| !n.is_empty())
    }
}

/// The clock: the real one, or `--today` (never later than the real today: "no future dates"
/// must not be bypassed by moving today forward).
fn clock(cli: &Cli) -> Result<Box<dyn Clock>> {
    let Some(given) = &cli.today else {
        return Ok(Box::new(SystemClock));
    };
    let (day, time) = match given.trim().split_once([' ', 'T']) {
        Some((d, t)) => {
            let time = ["%H:%M:%S", "%H:%M"]
                .iter()
                .find_map(|f| chrono::NaiveTime::parse_from_str(t.trim(), f).ok())
                .ok_or_else(|| {
                    Invalid(format!(
                        "--today `{}`: `{}` is not a time of day (HH:MM)",
                        suiji::text::quote(given),
                        suiji::text::quote(t)
                    ))
                })?;
            (task::parse_date(d)?, Some(time))
        }
        None => (task::parse_date(given)?, None),
    };
    let clock = suiji::clock::AsOf { day, time };
    let real = SystemClock.now();
    if day > real.date_naive() || clock.now() > real {
        return Err(Invalid(format!(
            "--today {} is after the real time ({}, Asia/Shanghai): a moment that has not come \
             cannot be acted on",
            suiji::text::quote(given),
            suiji::clock::stamp(real)
        ))
        .into());
    }
    Ok(Box::new(clock))
}

/// Publicly drawn digits, checked as the command line is read: a mistyped value is refused
/// before a database is opened or a registry loaded.
fn digits(value: &str) -> std::result::Result<String, String> {
    suiji::draw::check_digits(value)
        .map(|()| value.to_string())
        .map_err(|e| e.to_string())
}

fn serve_until(command: &Command) -> bool {
    matches!(command, Command::Serve { until: Some(_), .. })
}

/// The commands that may start a database from nothing: those that bring data in or run the
/// year. Every other command needs one that exists (a typo in --db must not create a file).
fn creates_store(command: &Command) -> bool {
    matches!(
        command,
        Command::Import { .. }
            | Command::Init { .. }
            | Command::Serve { .. }
            | Command::Demo {
                command: DemoCommand::Run { .. }
            }
    )
}

async fn open_store(settings: &Settings, create: bool) -> Result<Store> {
    let (url, db) = (&settings.database.url, &settings.database);
    let opened = if create {
        Store::open(url, db).await
    } else {
        Store::open_existing(url, db).await
    };
    let store = match opened {
        Err(e @ (StoreError::Missing(_) | StoreError::Unreachable { .. })) => {
            return Err(Invalid(e.to_string()).into());
        }
        Err(e @ (StoreError::Url(_) | StoreError::Newer { .. })) => {
            return Err(Invalid(e.to_string()).into());
        }
        r => r.with_context(|| format!("opening database {}", settings.database.url))?,
    };
    tracing::debug!(backend = ?store.backend(), "database ready");
    Ok(store)
}

/// Whether a command only reads: these may take a date on any store. Every other command
/// records something, and on a production store records only on the real clock.
fn reads_only(command: &Command) -> bool {
    match command {
        Command::Stats { .. }
        | Command::Backup { .. }
        | Command::Status { .. }
        | Command::Audit {
            command: AuditCommand::Verify { .. },
        }
        | Command::Rules { .. }
        | Command::Verify { .. }
        | Command::Overdue { .. }
        | Command::Report { .. }
        | Command::Calendar { .. }
        | Command::Completions { .. }
        | Command::Man { .. }
        | Command::Demo {
            command: DemoCommand::Generate { .. },
        }
        | Command::User {
            command: UserCommand::List { .. },
        }
        | Command::Outbox {
            command: OutboxCommand::List { .. } | OutboxCommand::Show { .. },
        }
        | Command::Task {
            command: TaskCommand::List { .. } | TaskCommand::Show { .. },
        } => true,
        Command::Import { dry_run, .. }
        | Command::Task {
            command: TaskCommand::Import { dry_run, .. },
        }
        | Command::Draw { dry_run, .. } => *dry_run,
        _ => false,
    }
}

/// The daemon's store: a database that cannot be reached yet (the server starting after us, a
/// network cut) is waited for, saying so every 5 s, so that a service manager that does not
/// restart on exit 2 never leaves the daemon down for a passing outage.
async fn open_store_waiting(settings: &Settings) -> Result<Store> {
    loop {
        match Store::open(&settings.database.url, &settings.database).await {
            Err(StoreError::Unreachable { at, message }) => {
                tracing::error!("database at {at} unreachable ({message}); trying again in 5 s");
                tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            }
            Ok(store) => return Ok(store),
            // Anything else is said as any command says it.
            Err(_) => return open_store(settings, true).await,
        }
    }
}

async fn run(cli: Cli, settings: Settings) -> Result<ExitCode> {
    let actor = actor(&cli)?;
    let clock = clock(&cli)?;
    let clock = clock.as_ref();
    if let Some(code) = offline(&cli.command, &settings) {
        return code;
    }
    if let Command::Mail {
        command: MailCommand::Test { to, json },
    } = &cli.command
    {
        return outbox::mail_test(&settings, to.as_deref(), *json).await;
    }
    if let Command::Rehearse {
        from,
        into,
        until,
        plan,
        json,
    } = &cli.command
    {
        if cli.today.is_some() {
            return Err(Invalid(
                "a rehearsal runs on its own simulated clock: give --until, not --today".into(),
            )
            .into());
        }
        return daemon::rehearse(&settings, &actor, from, into, until.as_deref(), plan, *json)
            .await;
    }
    if let Command::Doctor { json } = &cli.command {
        return registry::doctor(&settings, clock, *json).await;
    }
    if let Command::Init {
        dir: Some(dir),
        rehearsal,
        json,
    } = &cli.command
    {
        if *rehearsal {
            return Err(Invalid(
                "init DIR writes a deployment's files; create its store with `suiji init \
                 [--rehearsal]` run in it"
                    .into(),
            )
            .into());
        }
        return registry::init_dir(dir, *json);
    }
    if let Command::Restore { from, json } = &cli.command {
        return registry::restore(&settings, from, &actor, *json).await;
    }
    let fresh = matches!(
        cli.command,
        Command::Demo {
            command: DemoCommand::Run { .. }
        }
    )
    .then(|| daemon::Fresh::before(&settings));
    let store = if matches!(cli.command, Command::Serve { until: None, .. }) {
        open_store_waiting(&settings).await?
    } else {
        open_store(&settings, creates_store(&cli.command)).await?
    };
    let simulated = serve_until(&cli.command) || !clock.is_real();
    if simulated && !reads_only(&cli.command) && store.mode().await? == Mode::Production {
        let what = match &cli.today {
            Some(t) => format!("--today {}", suiji::text::quote(t)),
            None => "serve --until (the daemon's year on a simulated clock)".to_string(),
        };
        store.close().await;
        return Err(Invalid(suiji::store::production_refusal(&what)).into());
    }
    let ctx = Ctx {
        store: &store,
        settings: &settings,
        clock,
        actor: &actor,
    };
    let overrides = Overrides {
        file: cli.config.clone(),
        database_url: cli.db.clone(),
        env: None,
    };
    let code = dispatch(&ctx, &overrides, cli.command).await;
    store.close().await;
    if let Some(fresh) = fresh
        && !matches!(code, Ok(c) if c == ExitCode::SUCCESS)
    {
        fresh.remove();
    }
    code
}

async fn dispatch(ctx: &Ctx<'_>, overrides: &Overrides, command: Command) -> Result<ExitCode> {
    match command {
        Command::Init {
            rehearsal, json, ..
        } => registry::init(ctx, rehearsal, json).await,
        Command::Import {
            kind,
            file,
            dry_run,
            sheet,
            json,
        } => registry::import(ctx, kind, &file, sheet.as_deref(), dry_run, json).await,
        Command::Stats { json } => registry::stats(ctx, json).await,
        Command::Backup { to, json } => registry::backup(ctx, &to, json).await,
        Command::Publish { year, out, json } => {
            draw::publish(ctx, year, out.as_deref(), Output::of(json)).await
        }
        Command::Status { json } => registry::status(ctx, json).await,
        Command::Outbox { command } => outbox::command(ctx, command).await,
        Command::User { command } => user::command(ctx, command).await,
        Command::Mail {
            command: MailCommand::Test { to, json },
        } => outbox::mail_test(ctx.settings, to.as_deref(), json).await,
        Command::Serve { until, plan, json } => {
            daemon::serve(ctx, overrides, until, plan, json).await
        }
        Command::Job { command } => {
            use suiji::jobs::Action;
            let (action, args, slot) = match command {
                JobCommand::Pause { job } => (Action::Pause, job, None),
                JobCommand::Resume { job } => (Action::Resume, job, None),
                JobCommand::Run { job, slot } => (Action::Run, job, slot),
            };
            let done = suiji::ops::jobs::control(
                ctx,
                (args.job, args.plan.as_deref()),
                action,
                slot.as_deref(),
                &args.reason,
            )
            .await?;
            if args.json {
                return print_json(&done).map(|_| ExitCode::SUCCESS);
            }
            println!(
                "{} {} of {}{}: recorded (control #{}); the daemon acts at its next look",
                action.name(),
                done.job.name(),
                done.owner,
                done.slot
                    .as_deref()
                    .map_or(String::new(), |s| format!(", slot {s}")),
                done.id
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Seed {
            command: SeedCommand::Enter { digits, plan },
        } => {
            suiji::ops::draw::enter_seed(
                ctx,
                suiji::ops::plan::Script::File(plan.as_deref()),
                &digits,
            )
            .await?;
            println!("seed digits recorded; the draw job draws with them");
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit {
            command: AuditCommand::Verify { anchor, json },
        } => registry::audit_verify(ctx, &anchor, json).await,
        Command::Audit {
            command:
                AuditCommand::Eligibility {
                    plan,
                    year,
                    manifest,
                    export,
                    json,
                },
        } => {
            draw::eligibility(
                ctx,
                &plan,
                year,
                manifest,
                export.as_deref(),
                Output::of(json),
            )
            .await
        }
        Command::Rules { command } => rules::command(ctx, command).await,
        Command::Freeze {
            plan,
            refreeze,
            reason,
            json,
        } => {
            let reason = if refreeze { reason } else { None };
            draw::freeze(ctx, plan.as_deref(), reason.as_deref(), Output::of(json)).await
        }
        Command::Draw {
            plan,
            official: _,
            dry_run,
            void,
            force,
            seed_value,
            beacon_signature,
            out,
            reason,
            json,
        } => {
            let out_mode = Output::of(json);
            if void {
                draw::void(ctx, plan.as_deref(), reason.as_deref(), force, out_mode).await
            } else if dry_run {
                draw::dry_run(ctx, plan.as_deref(), seed_value, out, out_mode).await
            } else {
                let input = suiji::ops::draw::SeedInput {
                    value: seed_value,
                    beacon_signature,
                };
                draw::official(ctx, plan.as_deref(), input, out_mode).await
            }
        }
        Command::Task { command } => task::command(ctx, command).await,
        Command::Overdue { date, json } => {
            let date = match date {
                Some(d) => task::parse_date(&d)?,
                None => ctx.clock.today(),
            };
            task::overdue(ctx, date, json).await
        }
        Command::Report {
            month,
            revised,
            xlsx,
            json,
        } => task::report(ctx, month.as_deref(), revised, xlsx.as_deref(), json).await,
        Command::Demo {
            command:
                DemoCommand::Run {
                    dir,
                    plan,
                    import_only,
                    until,
                    no_people,
                    json,
                },
        } => {
            daemon::demo(
                ctx,
                (dir.as_deref(), plan.as_deref()),
                import_only,
                until,
                !no_people,
                json,
            )
            .await
        }
        Command::Verify { .. }
        | Command::Doctor { .. }
        | Command::Restore { .. }
        | Command::Rehearse { .. }
        | Command::Completions { .. }
        | Command::Man { .. }
        | Command::Calendar { .. }
        | Command::Demo {
            command: DemoCommand::Generate { .. },
        } => offline(&command, ctx.settings).unwrap_or(Ok(ExitCode::SUCCESS)),
    }
}

/// The commands that need no database (and must not create one), run without opening it.
fn offline(command: &Command, settings: &Settings) -> Option<Result<ExitCode>> {
    Some(match command {
        Command::Verify {
            dir,
            eligibility,
            since,
            witness,
            tsa_ca,
            json,
        } => draw::verify(
            dir,
            &draw::Also {
                eligibility: eligibility.as_deref(),
                since: since.as_deref(),
                witnesses: witness,
                tsa_ca: tsa_ca.as_deref(),
            },
            Output::of(*json),
        ),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(*shell, &mut Cli::command(), "suiji", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Command::Man { out } => man_pages(out),
        Command::Calendar {
            command: CalendarCommand::Check { year, json },
        } => task::calendar_check(settings, *year, *json),
        Command::Calendar {
            command: CalendarCommand::AddDays { date, n, json },
        } => task::add_days(settings, date, *n, *json),
        Command::Demo {
            command:
                DemoCommand::Generate {
                    entities,
                    seed,
                    out,
                },
        } => registry::generate(settings, *entities, *seed, out),
        _ => return None,
    })
}

/// `suiji.1` and a page per command, named as git names its own (`suiji-task-list.1`).
fn man_pages(out: &std::path::Path) -> Result<ExitCode> {
    use clap::CommandFactory;
    if !out.is_dir() {
        return Err(Invalid(format!("{}: not a folder", out.display())).into());
    }
    fn write(cmd: clap::Command, name: &str, out: &std::path::Path, n: &mut usize) -> Result<()> {
        let cmd = cmd.name(name.to_string());
        let mut page = Vec::new();
        clap_mangen::Man::new(cmd.clone()).render(&mut page)?;
        let path = out.join(format!("{name}.1"));
        std::fs::write(&path, page).with_context(|| format!("writing {}", path.display()))?;
        *n += 1;
        for sub in cmd.get_subcommands() {
            if sub.get_name() != "help" {
                write(sub.clone(), &format!("{name}-{}", sub.get_name()), out, n)?;
            }
        }
        Ok(())
    }
    let mut n = 0;
    write(Cli::command(), "suiji", out, &mut n)?;
    println!("{n} manual pages written to {}", out.display());
    Ok(ExitCode::SUCCESS)
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

    /// Every command and every option says what it is for, in `--help` and the man page.
    #[test]
    fn everything_has_help() {
        use clap::CommandFactory;
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for sub in cmd.get_subcommands() {
                let p = format!("{path} {}", sub.get_name());
                if sub.get_about().is_none() && sub.get_name() != "help" {
                    missing.push(format!("{p}: no description"));
                }
                walk(sub, &p, missing);
            }
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if id == "help" || id == "version" || arg.is_global_set() && !path.is_empty() {
                    continue;
                }
                if arg.get_help().is_none() {
                    missing.push(format!("{path} --{id}: no help"));
                }
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "suiji", &mut missing);
        assert!(missing.is_empty(), "{}", missing.join("\n"));
    }
}
