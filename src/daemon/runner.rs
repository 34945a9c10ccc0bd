//! Running what is due: the one function the real-time daemon calls on every wake-up and the
//! rehearsal calls at every slot of its simulated year. Each due slot is claimed in `job_runs`,
//! run through `ops::jobs` with a store that marks the run done in the transaction of its
//! effects, and ended as done, waiting or failed (with the time of its next attempt).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;

use crate::clock::{Clock, stamp};
use crate::config::Settings;
use crate::jobs::{self, Department, Job, Jobs, Slot};
use crate::ops::jobs::Outcome;
use crate::ops::notices::Every;
use crate::ops::plan::Script;
use crate::ops::{Ctx, OpsError};
use crate::plan::Plan;
use crate::store::{Claim, JobMark, Store, StoreError};

/// One job run, as the timeline and the log show it.
#[derive(Debug, Clone, Serialize)]
pub struct Ran {
    pub job: Job,
    /// The plan whose job it is; none for the department's.
    pub plan: Option<String>,
    pub slot: String,
    /// When it ran, on the clock it ran on.
    pub at: String,
    pub attempt: i64,
    /// done, waiting or failed.
    pub status: String,
    pub outcome: String,
    pub duration_ms: i64,
}

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    pub runs: BTreeMap<(Job, String), u64>,
    pub seconds: BTreeMap<Job, f64>,
    pub leader: bool,
    pub reloads_rejected: u64,
    /// When the leader last finished looking at its jobs, and how long it may take before it
    /// looks again: `/healthz` fails past that.
    pub looked: Option<Instant>,
    pub look_within: std::time::Duration,
}

pub type SharedMetrics = Arc<Mutex<Metrics>>;

/// What the public site was last built from: the audit head and the day.
pub type Built = Option<(Option<crate::store::AuditHead>, chrono::NaiveDate)>;

pub struct Runner<'a> {
    pub store: &'a Store,
    pub settings: &'a Settings,
    pub actor: &'a str,
    /// This instance, as `job_runs.owner` records it.
    pub owner: &'a str,
    pub metrics: SharedMetrics,
    /// Where notices go.
    pub transport: &'a crate::notify::send::Transport,
}

impl Runner<'_> {
    /// Runs every slot due at `clock.now()`, oldest first: each plan's freeze and draw, and the
    /// department's jobs, but for those an administrator paused (unless he asked for the
    /// slot). A failing job never stops the others.
    pub async fn reconcile(
        &self,
        clock: &dyn Clock,
        plans: &[(&Plan, Script<'_>)],
        department: Option<&Department>,
    ) -> Result<Vec<Ran>, StoreError> {
        let jobs = Jobs::new(plans.iter().map(|(p, _)| *p).collect(), department);
        let done = crate::ops::jobs::done(&crate::ops::jobs::runs(self.store, &jobs).await?);
        let controls = self.store.job_controls().await?;
        let holds = crate::ops::jobs::holds(&controls);
        let mut out = Vec::new();
        let mut held: Vec<Slot> = Vec::new();
        for slot in jobs.due(clock.now(), &done) {
            if holds.holds(&slot) {
                held.push(slot);
                continue;
            }
            let plan = plans
                .iter()
                .find(|(p, _)| Some(&p.id) == slot.plan.as_ref())
                .copied();
            if let Some(ran) = self.run(clock, plan, &slot).await? {
                out.push(ran);
            }
        }
        self.tell_held(clock, &held, &controls).await?;
        Ok(out)
    }

    /// An administrators' notice; only the store failing is the caller's concern.
    async fn tell(
        &self,
        ctx: &Ctx<'_>,
        what: (&str, Every),
        title: &str,
        lines: &[String],
    ) -> Result<(), StoreError> {
        match crate::ops::notices::tell_admins(ctx, what, title, lines).await {
            Err(OpsError::Store(e)) => Err(e),
            Err(e) => {
                tracing::error!("admin notice: {e}");
                Ok(())
            }
            Ok(_) => Ok(()),
        }
    }

    /// A paused job is never forgotten: while its slots are held, the administrators hear of
    /// it once a week (who paused it, when, why, what waits).
    async fn tell_held(
        &self,
        clock: &dyn Clock,
        held: &[Slot],
        controls: &[crate::store::JobControl],
    ) -> Result<(), StoreError> {
        let mut told: Vec<(Job, &str)> = Vec::new();
        for slot in held {
            let (job, owner) = (slot.job, slot.owner());
            if told.contains(&(job, owner)) {
                continue;
            }
            told.push((job, owner));
            let Some(pause) = controls
                .iter()
                .rfind(|c| c.job == job.name() && c.owner == owner && c.action == "pause")
            else {
                continue;
            };
            let waiting: Vec<String> = held
                .iter()
                .filter(|s| s.job == job && s.owner() == owner)
                .map(Slot::key)
                .collect();
            let ctx = Ctx {
                store: self.store,
                settings: self.settings,
                clock,
                actor: self.actor,
            };
            let title = format!("定时任务“{}”已暂停，到点的运行未执行", job.label());
            let lines = vec![
                format!(
                    "{}（{owner}）自 {} 起由 {} 暂停，原因：{}",
                    job.label(),
                    pause.recorded_at,
                    pause.actor,
                    pause.reason
                ),
                format!("到点未运行的时段：{}", waiting.join("、")),
                "恢复：在工作台“定时任务”页，或 suiji job resume。".to_string(),
            ];
            let what = format!("paused/{owner}/{}", job.name());
            self.tell(&ctx, (&what, Every::Week), &title, &lines)
                .await?;
            tracing::debug!(job = job.name(), plan = %owner, held = waiting.len(), "paused: slots held");
        }
        Ok(())
    }

    /// Rebuilds the public site when the audit head has moved since `built` (the head and the
    /// day it was last built from) or a new day has begun (what is overdue changes with the
    /// day), and returns what it is now built from. A failure is logged and tried again on the
    /// next look.
    pub async fn publish(&self, clock: &dyn Clock, built: Built) -> Result<Built, StoreError> {
        let now = (self.store.audit_head().await?, clock.today());
        if built.as_ref() == Some(&now) {
            return Ok(built);
        }
        let ctx = Ctx {
            store: self.store,
            settings: self.settings,
            clock,
            actor: self.actor,
        };
        match crate::ops::site::publish(&ctx, None, None).await {
            Ok(p) => {
                if p.written > 0 {
                    tracing::info!(written = p.written, "public site rebuilt");
                }
                Ok(Some(now))
            }
            Err(e) => {
                tracing::error!("rebuilding the public site: {e}");
                Ok(built)
            }
        }
    }

    /// Delivers the notices due; a notice given up on raises an admin notice.
    pub async fn deliver(&self, clock: &dyn Clock) -> Result<(), StoreError> {
        let ctx = Ctx {
            store: self.store,
            settings: self.settings,
            clock,
            actor: self.actor,
        };
        match crate::ops::notices::deliver(&ctx, self.transport, 1000).await {
            Ok((done, _)) if done.sent + done.retrying + done.failed > 0 => {
                tracing::info!(
                    sent = done.sent,
                    retrying = done.retrying,
                    failed = done.failed,
                    "notices delivered"
                );
            }
            Ok(_) => {}
            Err(OpsError::Store(e)) => return Err(e),
            Err(e) => tracing::error!("delivering notices: {e}"),
        }
        Ok(())
    }

    async fn run(
        &self,
        clock: &dyn Clock,
        plan: Option<(&Plan, Script<'_>)>,
        slot: &Slot,
    ) -> Result<Option<Ran>, StoreError> {
        let key = slot.key();
        let owner = slot.owner();
        let claim = self
            .store
            .claim(slot.job.name(), owner, &key, self.owner, true, clock)
            .await?;
        let Claim::Won { run_id, attempt } = claim else {
            return Ok(None);
        };
        let store = self.store.for_job(JobMark {
            run_id,
            owner: self.owner.to_string(),
            finished_at: stamp(clock.wall()),
        });
        let ctx = Ctx {
            store: &store,
            settings: self.settings,
            clock,
            actor: self.actor,
        };
        let started = Instant::now();
        let result = crate::ops::jobs::run(&ctx, plan, slot).await;
        let duration_ms = started.elapsed().as_millis() as i64;
        let now = clock.now();
        let recheck = chrono::Duration::seconds(self.settings.daemon.waiting_recheck_secs as i64);
        let (status, outcome, error, next) = match result {
            Ok(Outcome::Done(o)) => ("done", o, None, None),
            Ok(Outcome::Waiting(w)) => ("waiting", w, None, Some(now + recheck)),
            Err(OpsError::Store(StoreError::LostClaim(id))) => {
                tracing::warn!(job = slot.job.name(), slot = %key, run = id, "run taken over by another instance");
                return Ok(None);
            }
            Err(e) => {
                let wait =
                    chrono::Duration::from_std(jobs::backoff(attempt as u32)).unwrap_or(recheck);
                let message = e.to_string();
                ("failed", message.clone(), Some(message), Some(now + wait))
            }
        };
        let next = next.map(stamp);
        let recorded = self
            .store
            .finish_run(
                run_id,
                self.owner,
                status,
                Some(&outcome),
                error.as_deref(),
                next.as_deref(),
                duration_ms,
                clock,
            )
            .await?;
        let status = recorded.as_str();
        match status {
            "failed" => tracing::error!(
                job = slot.job.name(), plan = %owner, slot = %key, attempt, duration_ms,
                next_attempt = next.as_deref().unwrap_or("-"), "job run failed: {outcome}"
            ),
            _ => tracing::info!(
                job = slot.job.name(), plan = %owner, slot = %key, attempt, status, duration_ms,
                "job run: {outcome}"
            ),
        }
        if let Ok(mut m) = self.metrics.lock() {
            *m.runs.entry((slot.job, status.to_string())).or_insert(0) += 1;
            *m.seconds.entry(slot.job).or_insert(0.0) += duration_ms as f64 / 1000.0;
        }
        // What the administrators must hear: a draw waiting for its seed, a job that keeps
        // failing. Queued apart from the run (which has not finished its work).
        let when = format!(
            "{} {}",
            crate::notify::chinese_date(slot.at.date_naive()),
            slot.at.format("%H:%M")
        );
        let alert = match status {
            "waiting" if slot.job == Job::Draw => Some((
                format!("waiting/{owner}/{}", slot.job.name()),
                "抽取等待随机数：请录入公开的开奖号码".to_string(),
                vec![format!(
                    "计划 {owner} 的正式抽取（{when}）正在等待随机数：开奖号码公布后，请用 \
                     suiji seed enter 号码 录入；录入后抽取自动进行。"
                )],
            )),
            "failed" if attempt >= 3 => Some((
                format!("failing/{owner}/{}/{key}", slot.job.name()),
                format!("定时任务“{}”连续失败 {attempt} 次", slot.job.label()),
                vec![
                    format!(
                        "{}（{owner}，{when}）第 {attempt} 次运行失败，系统将自动重试。",
                        slot.job.label()
                    ),
                    format!("错误信息（原文）：{outcome}"),
                ],
            )),
            _ => None,
        };
        if let Some((what, title, lines)) = alert {
            let ctx = Ctx {
                store: self.store,
                settings: self.settings,
                clock,
                actor: self.actor,
            };
            self.tell(&ctx, (&what, Every::Day), &title, &lines).await?;
        }
        Ok(Some(Ran {
            job: slot.job,
            plan: slot.plan.clone(),
            slot: key,
            at: stamp(now),
            attempt,
            status: status.to_string(),
            outcome,
            duration_ms,
        }))
    }
}
