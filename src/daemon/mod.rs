//! `suiji serve`: the long-running daemon, and its rehearsal on a simulated clock.
//!
//! The daemon holds the last good rule script and configuration, runs the plan's jobs (freeze,
//! draw) and the department's (nightly check, monthly report, over every plan's tasks) through
//! the same operations as the command line (`ops`), and records every run in `job_runs`, which
//! is the truth about what ran: tokio-cron-scheduler only wakes it up. On every wake-up (a
//! schedule firing, a retry falling due, a start after downtime) it runs whatever `Jobs::due`
//! says is due, so missed slots are caught up by each job's misfire policy. Only the leader runs
//! jobs (see `leader`). SIGTERM or Ctrl-C stop it within seconds; SIGHUP or an edit of the
//! configuration or the rule file reloads both (what does not load or check is refused and the
//! last good version stays).

pub mod demo;
pub mod http;
pub mod leader;
pub mod rehearse;
pub mod runner;
mod systemd;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone};
use chrono_tz::Tz;
use tokio::sync::mpsc;

use crate::clock::{Clock, SystemClock};
use crate::config::{Overrides, Settings};
use crate::jobs::{Department, Jobs};
use crate::ops::plan::Script;
use crate::plan::Plan;
use crate::rules::reload::{ActivePlan, Reload};
use crate::store::{Mode, Store, StoreError};
use leader::{LeaderError, Leadership};
use runner::{Metrics, Ran, Runner, SharedMetrics};

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Leader(#[from] LeaderError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The rule script cannot be used (at start, or for a rehearsal).
    #[error("{0}")]
    Plan(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Setup(String),
}

/// This instance, as `job_runs` and the leader record name it (see `instance`).
pub fn instance_id() -> String {
    crate::instance::id().to_string()
}

/// A rule script the daemon runs: its last good text and the plan it evaluated to.
struct Active {
    file: PathBuf,
    name: String,
    text: String,
    plans: ActivePlan,
}

impl Active {
    fn new(file: &Path) -> Active {
        Active {
            file: file.to_path_buf(),
            name: String::new(),
            text: String::new(),
            plans: ActivePlan::default(),
        }
    }

    fn plan(&self) -> Option<&Plan> {
        self.plans.plan()
    }

    fn script(&self) -> Script<'_> {
        Script::Text {
            name: &self.name,
            text: &self.text,
        }
    }

    /// Reads and checks the file; installs it only if it passes and its id is not `taken`. A
    /// file that cannot be read is refused like one that does not check.
    fn reload(&mut self, rc: &crate::rules::Context, taken: &[&str]) -> Reload {
        let (name, text) = match crate::ops::plan::read_script(&self.file) {
            Ok(read) => read,
            Err(e) => {
                return Reload::Rejected(vec![crate::rules::Finding::error(
                    &self.file.display().to_string(),
                    Default::default(),
                    e.to_string(),
                )]);
            }
        };
        let result = self.plans.reload(&name, &text, rc, taken);
        if matches!(result, Reload::Installed(_)) {
            self.name = name;
            self.text = text;
        }
        result
    }
}

/// Every plan the daemon runs (`rules.plans`, or `rules.file` alone), each with its own last
/// good version.
struct Actives(Vec<Active>);

impl Actives {
    fn plans(&self) -> Vec<&Plan> {
        self.0.iter().filter_map(Active::plan).collect()
    }

    fn scripts(&self) -> Vec<(&Plan, Script<'_>)> {
        self.0
            .iter()
            .filter_map(|a| Some((a.plan()?, a.script())))
            .collect()
    }

    fn files(&self) -> Vec<PathBuf> {
        self.0.iter().map(|a| a.file.clone()).collect()
    }

    /// Each file with a plan and the text of its last good version.
    fn running(&self) -> Vec<(PathBuf, String)> {
        self.0
            .iter()
            .filter(|a| a.plan().is_some())
            .map(|a| (a.file.clone(), a.text.clone()))
            .collect()
    }

    /// The ids of the plans other than the `i`th.
    fn taken(&self, i: usize) -> Vec<String> {
        self.0
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .filter_map(|(_, a)| a.plan().map(|p| p.id.clone()))
            .collect()
    }

    /// Reloads each plan in turn; returns each file with what became of it.
    async fn reload(
        &mut self,
        store: &Store,
        settings: &Settings,
    ) -> Result<Vec<(PathBuf, Reload)>, DaemonError> {
        let rc = crate::ops::plan::context(store, settings)
            .await
            .map_err(|e| DaemonError::Plan(e.to_string()))?;
        let mut out = Vec::new();
        for i in 0..self.0.len() {
            let taken = self.taken(i);
            let taken: Vec<&str> = taken.iter().map(String::as_str).collect();
            let result = self.0[i].reload(&rc, &taken);
            out.push((self.0[i].file.clone(), result));
        }
        Ok(out)
    }

    /// Follows a new list of rule files: a file still listed keeps its plan, and a file put in
    /// the place of another takes over that one's last good plan until it checks itself (as a
    /// daemon of one plan does when `rules.file` changes); the files are read at the reload.
    fn follow(&mut self, files: &[PathBuf]) {
        let mut old: Vec<Option<Active>> =
            std::mem::take(&mut self.0).into_iter().map(Some).collect();
        let mut out = Vec::with_capacity(files.len());
        for (i, file) in files.iter().enumerate() {
            let kept = old
                .iter_mut()
                .find(|a| a.as_ref().is_some_and(|a| &a.file == file))
                .and_then(Option::take);
            let active = match kept {
                Some(a) => a,
                None => match old
                    .get_mut(i)
                    .and_then(|a| a.take_if(|a| !files.contains(&a.file)))
                {
                    Some(mut a) => {
                        tracing::info!(
                            from = %a.file.display(),
                            to = %file.display(),
                            "rule file changed"
                        );
                        a.file = file.clone();
                        a
                    }
                    None => {
                        tracing::info!(file = %file.display(), "rule file added");
                        Active::new(file)
                    }
                },
            };
            out.push(active);
        }
        for gone in old.into_iter().flatten() {
            tracing::warn!(
                file = %gone.file.display(),
                plan = %gone.plan().map_or("-", |p| p.id.as_str()),
                "rule file no longer listed: its plan's jobs stop"
            );
        }
        self.0 = out;
    }

    /// Loads every file; all must check (and have ids of their own) for the daemon to start.
    async fn load(
        store: &Store,
        settings: &Settings,
        files: &[PathBuf],
    ) -> Result<Actives, DaemonError> {
        let mut actives = Actives(files.iter().map(|f| Active::new(f)).collect());
        let mut refused = Vec::new();
        for (_, result) in actives.reload(store, settings).await? {
            if let Reload::Rejected(findings) = result {
                refused.extend(findings.iter().map(|f| f.to_string()));
            }
        }
        if !refused.is_empty() {
            return Err(DaemonError::Plan(format!(
                "the rule script cannot be used:\n{}",
                refused.join("\n")
            )));
        }
        Ok(actives)
    }
}

/// Parses `--until`: a day (its end) or a time, Asia/Shanghai.
pub fn parse_until(s: &str) -> Result<DateTime<Tz>, DaemonError> {
    let shanghai = chrono_tz::Asia::Shanghai;
    if let Ok(day) = chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d") {
        return day
            .and_hms_opt(23, 59, 59)
            .and_then(|t| shanghai.from_local_datetime(&t).single())
            .ok_or_else(|| DaemonError::Invalid(format!("--until {s}: out of range")));
    }
    crate::clock::parse_time(s)
        .map(|t| t.with_timezone(&shanghai))
        .ok_or_else(|| {
            DaemonError::Invalid(format!(
                "--until `{}` is not a day or a time: write YYYY-MM-DD or \"YYYY-MM-DD HH:MM\"",
                crate::text::quote(s)
            ))
        })
}

/// `serve --until`: the plans' year rehearsed up to `until` (see `rehearse`). Holds the
/// leadership for its duration, so it never runs beside a daemon.
pub async fn rehearsal(
    store: &Store,
    settings: &Settings,
    actor: &str,
    plan_files: &[PathBuf],
    (until, also_at): (DateTime<Tz>, &[DateTime<Tz>]),
    people: Option<&mut Vec<demo::Acted>>,
) -> Result<Vec<Ran>, DaemonError> {
    rehearse::check_until(until, &SystemClock).map_err(DaemonError::Invalid)?;
    if store.mode().await? != Mode::Rehearsal {
        return Err(DaemonError::Invalid(crate::store::production_refusal(
            "serve --until (the daemon's year on a simulated clock)",
        )));
    }
    let me = instance_id();
    let leadership = leader::try_lead(store, &me).await?.ok_or_else(|| {
        DaemonError::Invalid(
            "another instance leads on this database: a rehearsal needs it to itself".into(),
        )
    })?;
    let active = Actives::load(store, settings, plan_files).await?;
    let transport = transport(settings, Mode::Rehearsal)?;
    let runner = Runner {
        store,
        settings,
        actor,
        owner: &me,
        metrics: Arc::new(Mutex::new(Metrics::default())),
        transport: &transport,
    };
    let ran = rehearse::year(&runner, &active.scripts(), (until, also_at), people).await;
    leadership.release().await;
    Ok(ran?)
}

fn transport(
    settings: &Settings,
    mode: Mode,
) -> Result<crate::notify::send::Transport, DaemonError> {
    crate::notify::send::Transport::from_settings(settings, mode)
        .map_err(|e| DaemonError::Invalid(e.to_string()))
}

/// Wake-ups from the plans' and the department's schedules, through tokio-cron-scheduler
/// (what is due at a wake-up is for `Jobs::due` to say).
async fn schedule(
    jobs: Jobs<'_>,
    wake: mpsc::Sender<()>,
) -> Result<tokio_cron_scheduler::JobScheduler, DaemonError> {
    use tokio_cron_scheduler::{Job as CronJob, JobScheduler};
    let fail = |e: tokio_cron_scheduler::JobSchedulerError| DaemonError::Setup(e.to_string());
    let sched = JobScheduler::new().await.map_err(fail)?;
    for cron in jobs.crons() {
        let tx = wake.clone();
        let cron = CronJob::new_async_tz(cron, chrono_tz::Asia::Shanghai, move |_, _| {
            let tx = tx.clone();
            Box::pin(async move {
                let _ = tx.send(()).await;
            })
        })
        .map_err(fail)?;
        sched.add(cron).await.map_err(fail)?;
    }
    sched.start().await.map_err(fail)?;
    Ok(sched)
}

fn jobs<'a>(active: &'a Actives, department: &'a Option<Department>) -> Jobs<'a> {
    Jobs::new(active.plans(), department.as_ref())
}

/// Sends a reload whenever one of `files` changes (the rule file, the configuration file):
/// editors replace files, so their folders are watched.
fn watch(
    files: &[PathBuf],
    reload: mpsc::Sender<()>,
) -> Result<notify::RecommendedWatcher, DaemonError> {
    use notify::Watcher;
    let names: Vec<std::ffi::OsString> = files
        .iter()
        .filter_map(|f| f.file_name().map(|n| n.to_os_string()))
        .collect();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(e) = event
            && e.paths
                .iter()
                .any(|p| p.file_name().is_some_and(|n| names.iter().any(|m| m == n)))
            && !e.kind.is_access()
        {
            let _ = reload.try_send(());
        }
    })
    .map_err(|e| DaemonError::Setup(format!("watching for changes: {e}")))?;
    let mut dirs: Vec<&Path> = files
        .iter()
        .map(|f| {
            f.parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."))
        })
        .collect();
    dirs.sort();
    dirs.dedup();
    for dir in dirs {
        watcher
            .watch(dir, notify::RecursiveMode::NonRecursive)
            .map_err(|e| DaemonError::Setup(format!("watching {}: {e}", dir.display())))?;
    }
    Ok(watcher)
}

/// When the daemon must next look, besides schedule wake-ups: a retry falling due, the next
/// slot (a backstop for the scheduler), a follower's poll for the leadership.
async fn next_look(
    store: &Store,
    settings: &Settings,
    jobs: Jobs<'_>,
    postgres: bool,
) -> Result<Duration, StoreError> {
    let now = SystemClock.now();
    let retry = crate::ops::jobs::next_retry(&crate::ops::jobs::runs(store, &jobs).await?);
    let next = jobs.next_any(now).into_iter().chain(retry).min();
    let mut wait = next
        .map(|t| (t - now).to_std().unwrap_or(Duration::ZERO) + Duration::from_millis(200))
        .unwrap_or(Duration::from_secs(24 * 3600));
    if postgres {
        wait = wait.min(Duration::from_secs(settings.daemon.leader_poll_secs.max(1)));
    }
    Ok(wait)
}

/// The plans this daemon runs, as the leader's record names them: (id, script SHA-256), sorted.
fn plan_keys(active: &Actives) -> Vec<(String, String)> {
    let mut keys: Vec<(String, String)> = active
        .plans()
        .iter()
        .map(|p| (p.id.clone(), p.source.sha256.clone()))
        .collect();
    keys.sort();
    keys
}

/// What this daemon runs, as `status` shows it (recorded with the leader's heartbeat).
fn running(settings: &Settings, active: &Actives, department: Option<&Department>) -> String {
    let plans: Vec<serde_json::Value> = active
        .0
        .iter()
        .filter_map(|a| {
            let p = a.plan()?;
            Some(serde_json::json!({
                "rules_file": a.file.display().to_string(),
                "plan": p.id,
                "year": p.year,
                "script_sha256": p.source.sha256,
            }))
        })
        .collect();
    serde_json::json!({
        "plans": plans,
        "nightly": settings.daemon.nightly,
        "report": settings.daemon.report,
        "department_from": department.map(|d| d.start.to_rfc3339()),
    })
    .to_string()
}

/// `suiji serve`: runs until SIGTERM or Ctrl-C. `given` are the rule files named on the command
/// line; without them the daemon follows the configuration's `rules.plans` (or `rules.file`),
/// re-read on reload.
pub async fn serve(
    store: &Store,
    settings: &Settings,
    overrides: &Overrides,
    actor: &str,
    given: Vec<PathBuf>,
) -> Result<(), DaemonError> {
    use tokio::signal::unix::{SignalKind, signal};
    let me = instance_id();
    let postgres = store.backend() == crate::store::Backend::Postgres;
    let mut settings = settings.clone();
    let rules_files = |s: &Settings| crate::ops::plan::plan_files(s, &given);
    let mut leadership: Option<Leadership> = leader::try_lead(store, &me).await?;
    let mut active = Actives::load(store, &settings, &rules_files(&settings)).await?;
    let mode = store.mode().await?;
    let metrics: SharedMetrics = Arc::new(Mutex::new(Metrics {
        // The loop looks at least every waiting_recheck_secs while it leads; a minute's grace.
        look_within: Duration::from_secs(2 * settings.daemon.waiting_recheck_secs.max(1) + 60),
        ..Metrics::default()
    }));
    let set_leader = |m: &SharedMetrics, l: bool| {
        if let Ok(mut m) = m.lock() {
            m.leader = l;
        }
    };
    let mut department = crate::ops::jobs::department(store, &settings).await?;
    if leadership.is_some() {
        let runs = running(&settings, &active, department.as_ref());
        store.record_leader(&me, true, &runs, &SystemClock).await?;
        set_leader(&metrics, true);
    }
    let (wake_tx, mut wake_rx) = mpsc::channel::<()>(64);
    let mail = Mail {
        with: tokio::sync::watch::channel((
            settings.clone(),
            Arc::new(transport(&settings, mode)?),
        ))
        .0,
        leading: Arc::new(std::sync::atomic::AtomicBool::new(leadership.is_some())),
        wake: Arc::new(tokio::sync::Notify::new()),
    };
    let delivery = tokio::spawn(deliver_mail(
        store.clone(),
        actor.to_string(),
        me.clone(),
        metrics.clone(),
        mail.watch(),
    ));
    let mut sched = schedule(jobs(&active, &department), wake_tx.clone()).await?;
    // The scripts the console shows as running, kept current across reloads.
    let scripts = tokio::sync::watch::Sender::new(active.running());
    let (reload_tx, mut reload_rx) = mpsc::channel::<()>(4);
    let watched = |a: &Actives| -> Vec<PathBuf> {
        a.files()
            .into_iter()
            .chain(overrides.file.clone())
            .collect()
    };
    let mut _watcher = watch(&watched(&active), reload_tx.clone())?;
    let signal_err = |e: std::io::Error| DaemonError::Setup(format!("signals: {e}"));
    let mut sigterm = signal(SignalKind::terminate()).map_err(signal_err)?;
    let mut sigint = signal(SignalKind::interrupt()).map_err(signal_err)?;
    let mut sighup = signal(SignalKind::hangup()).map_err(signal_err)?;
    if !settings.daemon.http.is_empty() {
        let addr = http::bind(&settings.daemon.http).await?;
        tokio::spawn(http::run(addr, store.clone(), metrics.clone()));
    }
    if !settings.console.listen.is_empty() {
        let listener = crate::console::bind(&settings.console.listen)
            .await
            .map_err(DaemonError::Setup)?;
        let daemon = crate::console::Daemon {
            running: scripts.subscribe(),
            wake: wake_tx.clone(),
        };
        let console = crate::console::Console::new(store.clone(), settings.clone(), daemon)
            .map_err(DaemonError::Setup)?;
        tracing::info!(listen = %settings.console.listen, "console served");
        tokio::spawn(crate::console::serve(listener, console));
    }
    tracing::info!(
        instance = %me,
        plans = %leader::plans_label(&plan_keys(&active)),
        leader = leadership.is_some(),
        database = ?store.backend(),
        "suiji serve ready"
    );
    systemd::notify("READY=1");
    // The audit head and the day the public site was last built from: any recorded event (here
    // or by a command in another process) moves the head, and the site is rebuilt, as it is on
    // every new day.
    let mut site_head: runner::Built = None;
    // The leader's plan this follower last said it differs from (said once per plan).
    let mut warned: Option<String> = None;
    'serve: loop {
        // The first import starts the department's jobs, whenever it happens.
        match crate::ops::jobs::department(store, &settings).await {
            Ok(d) if d != department => {
                department = d;
                let _ = sched.shutdown().await;
                sched = schedule(jobs(&active, &department), wake_tx.clone()).await?;
            }
            Ok(_) => {}
            Err(e) => tracing::error!("database unavailable: {e}"),
        }
        if leadership.is_some() {
            let transport = mail.with.borrow().1.clone();
            let runner = Runner {
                store,
                settings: &settings,
                actor,
                owner: &me,
                metrics: metrics.clone(),
                transport: &transport,
            };
            let plans = active.scripts();
            let work = async {
                runner
                    .reconcile(&SystemClock, &plans, department.as_ref())
                    .await?;
                mail.wake.notify_one();
                site_head = runner.publish(&SystemClock, site_head.take()).await?;
                Ok::<_, StoreError>(())
            };
            tokio::pin!(work);
            tokio::select! {
                r = &mut work => {
                    match r {
                        Ok(()) => {
                            if let Ok(mut m) = metrics.lock() {
                                m.looked = Some(std::time::Instant::now());
                            }
                        }
                        Err(e) => tracing::error!("running due jobs: {e}"),
                    }
                }
                _ = sigterm.recv() => {
                    tracing::info!("stopping: letting the running job finish (at most 8 s)");
                    let _ = tokio::time::timeout(Duration::from_secs(8), &mut work).await;
                    break 'serve;
                }
                _ = sigint.recv() => {
                    tracing::info!("stopping: letting the running job finish (at most 8 s)");
                    let _ = tokio::time::timeout(Duration::from_secs(8), &mut work).await;
                    break 'serve;
                }
            }
        }
        // The database may be gone for a while (a restart, a network cut): the daemon waits,
        // says so, and resumes; nothing it owes is lost, since every slot and notice is in
        // the database and is looked at again.
        let mut wait = match next_look(store, &settings, jobs(&active, &department), postgres).await
        {
            Ok(w) => w,
            Err(e) => {
                tracing::error!("database unavailable, looking again in 5 s: {e}");
                Duration::from_secs(5)
            }
        };
        if leadership.is_some() {
            wait = wait.min(Duration::from_secs(
                settings.daemon.waiting_recheck_secs.max(1),
            ));
        }
        let reload = tokio::select! {
            Some(()) = wake_rx.recv() => {
                tracing::debug!("schedule fired");
                false
            }
            _ = tokio::time::sleep(wait) => false,
            Some(()) = reload_rx.recv() => {
                // Editors write in several steps: let them finish.
                tokio::time::sleep(Duration::from_millis(300)).await;
                while reload_rx.try_recv().is_ok() {}
                true
            }
            _ = sighup.recv() => {
                tracing::info!("SIGHUP: reloading the configuration and the rules");
                true
            }
            _ = sigterm.recv() => break 'serve,
            _ = sigint.recv() => break 'serve,
        };
        if reload {
            let before = watched(&active);
            reconfigure(
                &mut settings,
                overrides,
                &rules_files,
                &mut active,
                &mail,
                mode,
                &metrics,
            );
            if let Err(e) = reload_rules(&mut active, store, &settings, &metrics).await {
                tracing::error!("reloading the rules: {e}");
            }
            scripts.send_replace(active.running());
            if watched(&active) != before {
                _watcher = watch(&watched(&active), reload_tx.clone())?;
            }
            // A change of the department's schedules or start is rescheduled at the loop's top.
            let _ = sched.shutdown().await;
            sched = schedule(jobs(&active, &department), wake_tx.clone()).await?;
        }
        // Leadership on PostgreSQL: keep it, lose it, or take it over.
        let runs = running(&settings, &active, department.as_ref());
        match &mut leadership {
            Some(l) => {
                if !l.alive().await {
                    tracing::error!("lost the leadership (its database connection ended)");
                    leadership = None;
                    set_leader(&metrics, false);
                    mail.lead(false);
                } else if let Err(e) = store.record_leader(&me, false, &runs, &SystemClock).await {
                    // The heartbeat `status` reads: a daemon killed stops being seen.
                    tracing::error!("recording the leader's heartbeat: {e}");
                }
            }
            None => {
                let ours = plan_keys(&active);
                let check = match store.leader().await {
                    Ok(Some(record)) => leader::handover(
                        &ours,
                        &record,
                        SystemClock.wall().fixed_offset(),
                        chrono::Duration::seconds(
                            i64::try_from(settings.daemon.plan_handover_secs).unwrap_or(i64::MAX),
                        ),
                    ),
                    Ok(None) | Err(_) => leader::Handover::Same,
                };
                match &check {
                    leader::Handover::Other {
                        theirs,
                        binding: true,
                    } => {
                        if warned.as_deref() != Some(theirs.as_str()) {
                            tracing::error!(
                                instance = %me,
                                "this instance runs {} but the leader runs {theirs}: it will not \
                                 lead with other plans while that leader is seen (and for \
                                 daemon.plan_handover_secs after); give every instance the same \
                                 rules",
                                leader::plans_label(&ours)
                            );
                            warned = Some(theirs.clone());
                        }
                    }
                    _ => match leader::try_lead(store, &me).await {
                        Ok(Some(l)) => {
                            match &check {
                                leader::Handover::Other { theirs, .. } => tracing::error!(
                                    instance = %me,
                                    "took over as leader with {}, although the last leader \
                                     ran {theirs}: it has not been seen for \
                                     daemon.plan_handover_secs, and the department's plans \
                                     change with this failover",
                                    leader::plans_label(&ours)
                                ),
                                leader::Handover::Same => {
                                    tracing::info!(instance = %me, "took over as leader")
                                }
                            }
                            if let Err(e) =
                                store.record_leader(&me, true, &runs, &SystemClock).await
                            {
                                tracing::error!("recording the leader: {e}");
                            }
                            set_leader(&metrics, true);
                            mail.lead(true);
                            leadership = Some(l);
                        }
                        Ok(None) => {}
                        Err(e) => tracing::error!("trying for the leadership: {e}"),
                    },
                }
            }
        }
    }
    systemd::notify("STOPPING=1");
    // A send cut short leaves its notice's lease to run out: it goes again, at least once.
    delivery.abort();
    let _ = sched.shutdown().await;
    if let Some(l) = leadership {
        l.release().await;
    }
    tracing::info!(instance = %me, "suiji serve stopped");
    Ok(())
}

/// Re-reads the configuration: a configuration that does not load is refused (the last good
/// one stays); otherwise what changed is logged by section (never a value: secrets stay out of
/// the log), mail follows the new SMTP settings, and the rule files follow `rules.plans` (or
/// `rules.file`).
fn reconfigure(
    settings: &mut Settings,
    overrides: &Overrides,
    rules_files: &dyn Fn(&Settings) -> Vec<PathBuf>,
    active: &mut Actives,
    mail: &Mail,
    mode: Mode,
    metrics: &SharedMetrics,
) {
    let new = match Settings::load(overrides) {
        Ok(s) => s,
        Err(e) => {
            if let Ok(mut m) = metrics.lock() {
                m.reloads_rejected += 1;
            }
            tracing::error!("configuration reload refused, the last good one stays: {e}");
            return;
        }
    };
    let changed = settings.changes(&new);
    if changed.is_empty() {
        return;
    }
    if changed.contains(&"database") {
        tracing::warn!("database settings changed: they take effect at the next start");
    }
    match transport(&new, mode) {
        Ok(t) => {
            mail.with.send_replace((new.clone(), Arc::new(t)));
        }
        Err(e) => {
            tracing::error!("configuration reload refused (mail): {e}");
            return;
        }
    }
    let files = rules_files(&new);
    if files != active.files() {
        active.follow(&files);
    }
    tracing::info!(changed = %changed.join(", "), "configuration reloaded");
    *settings = new;
}

/// What the mail task follows of the main loop: the settings and transport in force, whether
/// this instance leads, and a nudge when jobs may have queued notices.
struct Mail {
    with: tokio::sync::watch::Sender<(Settings, Arc<crate::notify::send::Transport>)>,
    leading: Arc<std::sync::atomic::AtomicBool>,
    wake: Arc<tokio::sync::Notify>,
}

/// The mail task's side of [`Mail`].
struct MailWatch {
    with: tokio::sync::watch::Receiver<(Settings, Arc<crate::notify::send::Transport>)>,
    leading: Arc<std::sync::atomic::AtomicBool>,
    wake: Arc<tokio::sync::Notify>,
}

impl Mail {
    fn watch(&self) -> MailWatch {
        MailWatch {
            with: self.with.subscribe(),
            leading: self.leading.clone(),
            wake: self.wake.clone(),
        }
    }

    fn lead(&self, leading: bool) {
        self.leading
            .store(leading, std::sync::atomic::Ordering::Relaxed);
        self.wake.notify_one();
    }
}

/// Delivers notices on a task of its own, so that a relay that accepts and then hangs delays
/// only mail, never a job: every send is bounded by `smtp.timeout_secs`, and each notice is
/// claimed under a lease (`Store::outbox_claim`). Only the leader delivers. It looks again
/// when nudged, when the next retry falls due, and at least every 30 s.
async fn deliver_mail(
    store: Store,
    actor: String,
    owner: String,
    metrics: SharedMetrics,
    mut watch: MailWatch,
) {
    loop {
        if watch.leading.load(std::sync::atomic::Ordering::Relaxed) {
            let (settings, transport) = watch.with.borrow_and_update().clone();
            let runner = Runner {
                store: &store,
                settings: &settings,
                actor: &actor,
                owner: &owner,
                metrics: metrics.clone(),
                transport: &transport,
            };
            if let Err(e) = runner.deliver(&SystemClock).await {
                tracing::error!("delivering notices: {e}");
            }
        }
        let next = match store.outbox_next_attempt().await {
            Ok(Some(t)) => crate::clock::parse_time(&t).and_then(|t| {
                (t.with_timezone(&chrono::Utc) - chrono::Utc::now())
                    .to_std()
                    .ok()
            }),
            _ => None,
        };
        let wait = next
            .unwrap_or(Duration::from_secs(30))
            .clamp(Duration::from_secs(1), Duration::from_secs(30));
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = watch.wake.notified() => {}
        }
    }
}

async fn reload_rules(
    active: &mut Actives,
    store: &Store,
    settings: &Settings,
    metrics: &SharedMetrics,
) -> Result<(), DaemonError> {
    let results = match active.reload(store, settings).await {
        Ok(r) => r,
        Err(e) => {
            for file in active.files() {
                refused(&file, store, settings, metrics, vec![e.to_string()]).await;
            }
            return Ok(());
        }
    };
    for (file, result) in results {
        match result {
            Reload::Installed(_) => tracing::info!(file = %file.display(), "rules reloaded"),
            Reload::Unchanged => {}
            Reload::Rejected(findings) => {
                let lines: Vec<String> = findings.iter().map(|f| f.to_string()).collect();
                refused(&file, store, settings, metrics, lines).await;
            }
        }
    }
    Ok(())
}

/// A refused rule script: counted, logged, and the administrators told (the last good plan
/// stays active).
async fn refused(
    file: &Path,
    store: &Store,
    settings: &Settings,
    metrics: &SharedMetrics,
    lines: Vec<String>,
) {
    if let Ok(mut m) = metrics.lock() {
        m.reloads_rejected += 1;
    }
    tracing::error!(
        file = %file.display(),
        "rules reload refused: the last good plan stays active: {}",
        lines.join("; ")
    );
    let ctx = crate::ops::Ctx {
        store,
        settings,
        clock: &SystemClock,
        actor: "suiji-daemon",
    };
    let digest = crate::audit::sha256_hex(lines.join("\n").as_bytes());
    let what = format!("rules-refused/{}", &digest[..12]);
    let title = format!("规则脚本 {} 未通过检查，继续执行上一版本", file.display());
    let every = crate::ops::notices::Every::Day;
    if let Err(e) = crate::ops::notices::tell_admins(&ctx, (&what, every), &title, &lines).await {
        tracing::error!("admin notice: {e}");
    }
}
