//! The daemon's jobs as pure values: which scheduled slots a plan has, which of them are due at
//! a moment given what already ran (each job's misfire policy), and how long a failed job waits
//! before it is tried again. The daemon and its rehearsal (`serve --until`) run exactly what this
//! says; `job_runs` in the store records what ran.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Datelike, TimeZone};
use chrono_tz::Asia::Shanghai;
use chrono_tz::Tz;
use serde::Serialize;

use crate::plan::Plan;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Job {
    /// Freeze and publish the manifest (before the seed is public).
    Freeze,
    /// The official draw and its tasks (once the seed is public).
    Draw,
    /// The overdue check, reminders and escalations.
    Nightly,
    /// The monthly progress report of the month before.
    Report,
}

/// What a job does with slots missed while the daemon was down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Misfire {
    /// Every missed slot runs once (the yearly freeze and draw must happen; every month's
    /// report is owed, each about its own month).
    CatchUp,
    /// Only the latest missed slot runs (one overdue check, not one per missed day: reminders
    /// come due by how few working days are left, so none is lost to a missed night).
    Latest,
}

impl Job {
    pub const ALL: [Job; 4] = [Job::Freeze, Job::Draw, Job::Nightly, Job::Report];

    pub fn name(self) -> &'static str {
        match self {
            Job::Freeze => "freeze",
            Job::Draw => "draw",
            Job::Nightly => "nightly",
            Job::Report => "report",
        }
    }

    pub fn parse(s: &str) -> Option<Job> {
        Job::ALL.into_iter().find(|j| j.name() == s)
    }

    pub fn misfire(self) -> Misfire {
        match self {
            Job::Freeze | Job::Draw | Job::Report => Misfire::CatchUp,
            Job::Nightly => Misfire::Latest,
        }
    }

    /// What the administrators' letters call it.
    pub fn label(self) -> &'static str {
        match self {
            Job::Freeze => "冻结并公示名录",
            Job::Draw => "正式抽取",
            Job::Nightly => "每日逾期检查",
            Job::Report => "月度进度报告",
        }
    }

    /// The department's jobs (the nightly check and the monthly report) watch every task of
    /// every plan; a plan's own jobs are its freeze and its draw.
    pub fn of_department(self) -> bool {
        matches!(self, Job::Nightly | Job::Report)
    }
}

/// The `job_runs` key of the department's own jobs: never a plan id (those are slugs).
pub const DEPARTMENT: &str = "*";

/// The department's recurring jobs: their schedules (from the configuration) and where they
/// start (the first import or draw recorded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Department {
    pub start: DateTime<Tz>,
    pub nightly: String,
    pub report: String,
}

impl Department {
    /// `None` while there is nothing to watch: nothing imported or drawn yet.
    pub fn new(
        settings: &crate::config::DaemonSettings,
        start: Option<DateTime<Tz>>,
    ) -> Option<Department> {
        Some(Department {
            start: start?,
            nightly: settings.nightly.clone(),
            report: settings.report.clone(),
        })
    }
}

/// What one daemon schedules: every active plan's freeze and draw, and the department's jobs.
#[derive(Debug, Clone, Default)]
pub struct Jobs<'a> {
    pub plans: Vec<&'a Plan>,
    pub department: Option<&'a Department>,
}

/// A slot as `job_runs` knows it once done: its job, its owner (a plan id or [`DEPARTMENT`]) and
/// its key.
pub type Done = HashSet<(Job, String, String)>;

impl<'a> Jobs<'a> {
    pub fn new(plans: Vec<&'a Plan>, department: Option<&'a Department>) -> Jobs<'a> {
        Jobs { plans, department }
    }

    /// The cron expression of a plan's job (`plan` given) or of a department's job.
    pub fn cron<'b>(&'b self, job: Job, plan: Option<&'b Plan>) -> Option<&'b str> {
        match (job, plan) {
            (Job::Freeze, Some(p)) => Some(p.schedules.freeze.as_str()),
            (Job::Draw, Some(p)) => Some(p.schedules.draw.as_str()),
            (Job::Freeze | Job::Draw, None) => None,
            (Job::Nightly, _) => self.department.map(|d| d.nightly.as_str()),
            (Job::Report, _) => self.department.map(|d| d.report.as_str()),
        }
    }

    /// Every schedule that wakes this daemon.
    pub fn crons(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self
            .plans
            .iter()
            .flat_map(|p| [p.schedules.freeze.as_str(), p.schedules.draw.as_str()])
            .chain(
                [Job::Nightly, Job::Report]
                    .into_iter()
                    .filter_map(|j| self.cron(j, None)),
            )
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    fn yearly(&self) -> Vec<Slot> {
        self.plans
            .iter()
            .flat_map(|plan| {
                [
                    (Job::Freeze, freeze_slot(plan)),
                    (Job::Draw, draw_slot(plan)),
                ]
                .into_iter()
                .filter_map(|(job, at)| {
                    Some(Slot {
                        at: at?,
                        job,
                        plan: Some(plan.id.clone()),
                    })
                })
            })
            .collect()
    }

    fn recurring(&self) -> Vec<(Job, croner::Cron, DateTime<Tz>)> {
        let Some(d) = self.department else {
            return Vec::new();
        };
        [Job::Nightly, Job::Report]
            .into_iter()
            .filter_map(|job| {
                let cron = crate::rules::cron(self.cron(job, None)?).ok()?;
                Some((job, cron, d.start))
            })
            .collect()
    }

    /// Every slot in `(after, to]`, in time order. Freeze and draw have one slot a plan; the
    /// department's jobs fire on their schedules from the department's start.
    pub fn slots(&self, after: DateTime<Tz>, to: DateTime<Tz>) -> Vec<Slot> {
        let in_range = |t: &DateTime<Tz>| *t > after && *t <= to;
        let mut out: Vec<Slot> = self
            .yearly()
            .into_iter()
            .filter(|s| in_range(&s.at))
            .collect();
        for (job, cron, first) in self.recurring() {
            out.extend(
                cron.iter_after(after.max(first))
                    .take_while(|t| *t <= to)
                    .map(|at| Slot::department(at, job)),
            );
        }
        out.sort();
        out
    }

    /// The slots due at `now`, oldest first, given the slots already done: every missed slot
    /// of a catch-up job, and only the latest missed slot of the others.
    ///
    /// A job of the latest kind is found by looking back from `now` for its one latest slot,
    /// not by counting every slot since the start: a schedule that fires every few seconds
    /// never runs out of slots however long the daemon runs.
    pub fn due(&self, now: DateTime<Tz>, done: &Done) -> Vec<Slot> {
        let not_done = |s: &Slot| !done.contains(&(s.job, s.owner().to_string(), s.key()));
        let mut out: Vec<Slot> = self
            .yearly()
            .into_iter()
            .filter(|s| s.at <= now)
            .filter(not_done)
            .collect();
        for (job, cron, first) in self.recurring() {
            match job.misfire() {
                Misfire::CatchUp => out.extend(
                    cron.iter_after(first)
                        .take_while(|t| *t <= now)
                        .map(|at| Slot::department(at, job))
                        .filter(not_done),
                ),
                Misfire::Latest => out.extend(
                    cron.find_previous_occurrence(&now, true)
                        .ok()
                        .filter(|t| *t > first)
                        .map(|at| Slot::department(at, job))
                        .filter(not_done),
                ),
            }
        }
        out.sort();
        out
    }

    /// The next slot of a plan's job (`plan` given) or of a department's job after `now` (for
    /// status and for sleeping until it).
    pub fn next(&self, job: Job, plan: Option<&str>, now: DateTime<Tz>) -> Option<DateTime<Tz>> {
        match job {
            Job::Freeze | Job::Draw => self
                .yearly()
                .into_iter()
                .find(|s| s.job == job && s.plan.as_deref() == plan && s.at > now)
                .map(|s| s.at),
            Job::Nightly | Job::Report => {
                let from = self.department?.start.max(now);
                crate::rules::next_run(self.cron(job, None)?, from)
            }
        }
    }

    /// The earliest next slot of any job.
    pub fn next_any(&self, now: DateTime<Tz>) -> Option<DateTime<Tz>> {
        self.yearly()
            .into_iter()
            .map(|s| s.at)
            .filter(|at| *at > now)
            .chain(
                [Job::Nightly, Job::Report]
                    .into_iter()
                    .filter_map(|j| self.next(j, None, now)),
            )
            .min()
    }
}

/// One scheduled run of a job: a plan's (`plan` its id) or the department's.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Slot {
    pub at: DateTime<Tz>,
    pub job: Job,
    pub plan: Option<String>,
}

impl Slot {
    pub fn department(at: DateTime<Tz>, job: Job) -> Slot {
        Slot {
            at,
            job,
            plan: None,
        }
    }

    /// The slot's key in `job_runs`: its time, RFC 3339 at +08:00 to the second.
    pub fn key(&self) -> String {
        self.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
    }

    /// Whose slot it is in `job_runs`: its plan's id, or [`DEPARTMENT`].
    pub fn owner(&self) -> &str {
        self.plan.as_deref().unwrap_or(DEPARTMENT)
    }
}

/// What an administrator tells the daemon about a job (`suiji job`, the console).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Its due slots wait, still owed, until it is resumed (or a slot is run by hand).
    Pause,
    Resume,
    /// Run one slot now: one that waits or failed (no waiting for its next attempt), or a due
    /// slot of a paused job.
    Run,
}

impl Action {
    pub const ALL: [Action; 3] = [Action::Pause, Action::Resume, Action::Run];

    pub fn name(self) -> &'static str {
        match self {
            Action::Pause => "pause",
            Action::Resume => "resume",
            Action::Run => "run",
        }
    }

    pub fn parse(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.name() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Action::Pause => "暂停",
            Action::Resume => "恢复",
            Action::Run => "立即运行",
        }
    }
}

/// The jobs administrators paused, and the slots they asked to run regardless: what the
/// recorded controls, in the order recorded, mean for the runner.
#[derive(Debug, Default, Clone)]
pub struct Holds {
    paused: HashSet<(Job, String)>,
    asked: HashSet<(Job, String, String)>,
}

impl Holds {
    /// From `(job, owner, action, slot)` in the order recorded: the latest pause or resume of
    /// a job is in force; a pause sets aside the runs asked for before it.
    pub fn new<'a>(
        controls: impl IntoIterator<Item = (Job, &'a str, Action, Option<&'a str>)>,
    ) -> Holds {
        let mut h = Holds::default();
        for (job, owner, action, slot) in controls {
            match action {
                Action::Pause => {
                    h.paused.insert((job, owner.to_string()));
                    h.asked.retain(|(j, o, _)| (*j, o.as_str()) != (job, owner));
                }
                Action::Resume => {
                    h.paused.remove(&(job, owner.to_string()));
                }
                Action::Run => {
                    if let Some(slot) = slot {
                        h.asked.insert((job, owner.to_string(), slot.to_string()));
                    }
                }
            }
        }
        h
    }

    pub fn paused(&self, job: Job, owner: &str) -> bool {
        self.paused.contains(&(job, owner.to_string()))
    }

    /// Whether the runner leaves `slot` for now: its job is paused and nobody asked for it.
    pub fn holds(&self, slot: &Slot) -> bool {
        self.paused(slot.job, slot.owner())
            && !self
                .asked
                .contains(&(slot.job, slot.owner().to_string(), slot.key()))
    }
}

fn start_of_year(year: i32) -> Option<DateTime<Tz>> {
    Shanghai.with_ymd_and_hms(year, 1, 1, 0, 0, 0).single()
}

/// The yearly freeze slot: the freeze schedule's first firing in the year the seed becomes
/// public (the plan check makes sure it comes before `available_at`).
pub fn freeze_slot(plan: &Plan) -> Option<DateTime<Tz>> {
    let available = plan.seed.available_at.with_timezone(&Shanghai);
    let start = start_of_year(available.year())?;
    crate::rules::next_run(&plan.schedules.freeze, start - chrono::Duration::seconds(1))
}

/// The yearly draw slot: the draw schedule's first firing at or after `available_at`.
pub fn draw_slot(plan: &Plan) -> Option<DateTime<Tz>> {
    let available = plan.seed.available_at.with_timezone(&Shanghai);
    crate::rules::next_run(
        &plan.schedules.draw,
        available - chrono::Duration::seconds(1),
    )
}

/// Where a plan's schedule starts: Jan 1 of the earlier of its year and its seed's year.
pub fn plan_start(plan: &Plan) -> Option<DateTime<Tz>> {
    let available = plan.seed.available_at.with_timezone(&Shanghai);
    start_of_year(plan.year.min(available.year()))
}

/// How long a failed job waits before its next attempt: 1 minute, doubling, at most an hour.
pub fn backoff(attempts: u32) -> Duration {
    let minutes = 1u64 << attempts.saturating_sub(1).min(6);
    Duration::from_secs(60 * minutes.min(60))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Plan {
        let settings = crate::config::Settings::shipped().expect("settings");
        let ctx = crate::rules::Context {
            snapshot: Default::default(),
            vocab: std::sync::Arc::new(settings.vocabulary().expect("vocab")),
            calendar: std::sync::Arc::new(crate::calendar::Calendar::shipped().expect("cal")),
        };
        let text = include_str!("../rules/henan-2024.rhai");
        crate::rules::evaluate("henan-2024.rhai", text, &ctx).expect("plan")
    }

    /// The department as the shipped configuration schedules it, started by the plan's draw.
    fn department(p: &Plan) -> Department {
        let settings = crate::config::Settings::shipped().expect("settings");
        Department::new(&settings.daemon, draw_slot(p)).expect("department")
    }

    fn t(s: &str) -> DateTime<Tz> {
        crate::clock::parse_time(s)
            .expect("time")
            .with_timezone(&Shanghai)
    }

    /// A pause holds every slot of its job and no other; a slot asked for runs regardless; a
    /// later pause sets that request aside; a resume frees them all.
    #[test]
    fn pauses_and_runs_asked_for() {
        let nightly = |at: &str| Slot::department(t(at), Job::Nightly);
        let report = Slot::department(t("2024-06-01 08:00"), Job::Report);
        let (a, b) = (nightly("2024-06-03 02:00"), nightly("2024-06-04 02:00"));
        let (ka, kb) = (a.key(), b.key());
        let d = DEPARTMENT;
        let holds = |c: &[(Action, Option<&str>)]| {
            Holds::new(c.iter().map(|(act, slot)| (Job::Nightly, d, *act, *slot)))
        };
        assert!(!holds(&[]).holds(&a));
        let paused = holds(&[(Action::Pause, None)]);
        assert!(paused.holds(&a) && paused.holds(&b) && !paused.holds(&report));
        assert!(paused.paused(Job::Nightly, d) && !paused.paused(Job::Nightly, "henan-2024"));
        let asked = holds(&[(Action::Pause, None), (Action::Run, Some(&ka))]);
        assert!(!asked.holds(&a) && asked.holds(&b));
        let set_aside = holds(&[
            (Action::Pause, None),
            (Action::Run, Some(&ka)),
            (Action::Resume, None),
            (Action::Pause, None),
        ]);
        assert!(set_aside.holds(&a));
        let resumed = holds(&[
            (Action::Pause, None),
            (Action::Run, Some(&kb)),
            (Action::Resume, None),
        ]);
        assert!(!resumed.holds(&a) && !resumed.holds(&b));
        assert_eq!(Action::parse("run"), Some(Action::Run));
        assert_eq!(Action::parse("stop"), None);
    }

    #[test]
    fn the_2024_plan_slots() {
        let p = plan();
        assert_eq!(freeze_slot(&p), Some(t("2024-05-13 09:00")));
        assert_eq!(draw_slot(&p), Some(t("2024-05-16 21:30")));
        let d = department(&p);
        let jobs = Jobs::new(vec![&p], Some(&d));
        let s = jobs.slots(t("2024-01-01 00:00"), t("2024-06-02 12:00"));
        let jobs: Vec<(Job, String)> = s.iter().take(4).map(|s| (s.job, s.key())).collect();
        assert_eq!(
            jobs,
            vec![
                (Job::Freeze, "2024-05-13T09:00:00+08:00".into()),
                (Job::Draw, "2024-05-16T21:30:00+08:00".into()),
                (Job::Nightly, "2024-05-17T01:30:00+08:00".into()),
                (Job::Nightly, "2024-05-18T01:30:00+08:00".into()),
            ]
        );
        let reports: Vec<String> = s
            .iter()
            .filter(|s| s.job == Job::Report)
            .map(Slot::key)
            .collect();
        assert_eq!(reports, ["2024-06-01T08:00:00+08:00"]);
    }

    #[test]
    fn catch_up_and_latest() {
        let p = plan();
        let d = department(&p);
        let jobs = Jobs::new(vec![&p], Some(&d));
        let due = |now, done: &Done| jobs.due(now, done);
        let mut done = HashSet::new();
        // Down from before the freeze to 3 June: freeze and draw catch up, one nightly and one
        // report run for all the missed ones.
        let due1 = due(t("2024-06-03 12:00"), &done);
        let jobs: Vec<Job> = due1.iter().map(|s| s.job).collect();
        assert_eq!(jobs, [Job::Freeze, Job::Draw, Job::Report, Job::Nightly]);
        assert_eq!(due1[3].key(), "2024-06-03T01:30:00+08:00");
        for s in &due1 {
            done.insert((s.job, s.owner().to_string(), s.key()));
        }
        assert!(due(t("2024-06-03 12:00"), &done).is_empty());
        let next = due(t("2024-06-05 02:00"), &done);
        assert_eq!(next.len(), 1, "only the latest nightly: {next:?}");
        assert_eq!(next[0].key(), "2024-06-05T01:30:00+08:00");
        for s in &next {
            done.insert((s.job, s.owner().to_string(), s.key()));
        }
        // Down across two month-ends: both months' reports, and one nightly.
        let later = due(t("2024-08-02 12:00"), &done);
        let keys: Vec<(Job, String)> = later.iter().map(|s| (s.job, s.key())).collect();
        assert_eq!(
            keys,
            [
                (Job::Report, "2024-07-01T08:00:00+08:00".to_string()),
                (Job::Report, "2024-08-01T08:00:00+08:00".to_string()),
                (Job::Nightly, "2024-08-02T01:30:00+08:00".to_string()),
            ]
        );
    }

    /// A schedule that fires every 20 s still has its slot 100,001 firings after the draw (it
    /// used to stop at 100,000).
    #[test]
    fn no_slot_limit() {
        let p = plan();
        let mut d = department(&p);
        d.nightly = "*/20 * * * * *".into();
        let jobs = Jobs::new(vec![&p], Some(&d));
        let draw = draw_slot(&p).expect("draw slot");
        let now = draw + chrono::Duration::seconds(20 * 100_001 + 5);
        let done: Done = [
            (Job::Freeze, freeze_slot(&p).expect("freeze")),
            (Job::Draw, draw),
        ]
        .into_iter()
        .map(|(j, at)| (j, p.id.clone(), Slot::department(at, j).key()))
        .collect();
        let nightly: Vec<Slot> = jobs
            .due(now, &done)
            .into_iter()
            .filter(|s| s.job == Job::Nightly)
            .collect();
        assert_eq!(nightly.len(), 1);
        assert_eq!(nightly[0].at, now - chrono::Duration::seconds(5));
    }

    /// The department's jobs need no plan: from the first import, the nightly check runs and
    /// every month's report is owed, whatever plan is active or none.
    #[test]
    fn department_without_a_plan() {
        let settings = crate::config::Settings::shipped().expect("settings");
        assert_eq!(Department::new(&settings.daemon, None), None);
        let d = Department::new(&settings.daemon, Some(t("2024-12-20 10:00"))).expect("department");
        let jobs = Jobs::new(Vec::new(), Some(&d));
        let keys: Vec<(Job, String)> = jobs
            .due(t("2025-03-02 12:00"), &Done::new())
            .iter()
            .map(|s| (s.job, s.key()))
            .collect();
        assert_eq!(
            keys,
            [
                (Job::Report, "2025-01-01T08:00:00+08:00".to_string()),
                (Job::Report, "2025-02-01T08:00:00+08:00".to_string()),
                (Job::Report, "2025-03-01T08:00:00+08:00".to_string()),
                (Job::Nightly, "2025-03-02T01:30:00+08:00".to_string()),
            ]
        );
        assert_eq!(jobs.next(Job::Freeze, None, t("2025-03-02 12:00")), None);
    }

    #[test]
    fn backoff_doubles_to_an_hour() {
        assert_eq!(backoff(1), Duration::from_secs(60));
        assert_eq!(backoff(2), Duration::from_secs(120));
        assert_eq!(backoff(20), Duration::from_secs(3600));
    }
}
