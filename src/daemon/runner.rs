//! Running what is due: the one function the real-time daemon calls on every wake-up and the
//! rehearsal calls at every slot of its simulated year. Each due slot is claimed in `job_runs`,
//! run through `ops::jobs` with a store that marks the run done in the transaction of its
//! effects, and ended as done, waiting or failed (with the time of its next attempt).

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;

use crate::clock::{Clock, stamp};
use crate::config::Settings;
use crate::jobs::{self, Job, Slot};
use crate::ops::jobs::Outcome;
use crate::ops::plan::Script;
use crate::ops::{Ctx, OpsError};
use crate::plan::Plan;
use crate::store::{Claim, JobMark, Store, StoreError};

/// One job run, as the timeline and the log show it.
#[derive(Debug, Clone, Serialize)]
pub struct Ran {
    pub job: Job,
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
}

pub type SharedMetrics = Arc<Mutex<Metrics>>;

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
    /// Runs every slot of `plan` due at `clock.now()`, oldest first. A failing job never stops
    /// the others.
    pub async fn reconcile(
        &self,
        clock: &dyn Clock,
        plan: &Plan,
        script: Script<'_>,
    ) -> Result<Vec<Ran>, StoreError> {
        let done: HashSet<(Job, String)> = self
            .store
            .job_runs(&plan.id)
            .await?
            .into_iter()
            .filter(|r| r.status == "done")
            .filter_map(|r| Job::parse(&r.job).map(|j| (j, r.slot)))
            .collect();
        let mut out = Vec::new();
        for slot in jobs::due(plan, clock.now(), &done) {
            if let Some(ran) = self.run(clock, plan, script, &slot).await? {
                out.push(ran);
            }
        }
        Ok(out)
    }

    /// Rebuilds the public site when the audit head has moved since `built` (the head it was
    /// last built from), and returns the head it is now built from. A failure is logged and
    /// tried again on the next look.
    pub async fn publish(
        &self,
        clock: &dyn Clock,
        built: Option<Option<crate::store::AuditHead>>,
    ) -> Result<Option<Option<crate::store::AuditHead>>, StoreError> {
        let head = self.store.audit_head().await?;
        if built.as_ref() == Some(&head) {
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
                Ok(Some(head))
            }
            Err(e) => {
                tracing::error!("rebuilding the public site: {e}");
                Ok(built)
            }
        }
    }

    /// Delivers the notices due; a notice given up on raises an admin notice.
    pub async fn deliver(&self, clock: &dyn Clock, plan: &Plan) -> Result<(), StoreError> {
        let ctx = Ctx {
            store: self.store,
            settings: self.settings,
            clock,
            actor: self.actor,
        };
        match crate::ops::notices::deliver(&ctx, Some(plan), self.transport, 1000).await {
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
        plan: &Plan,
        script: Script<'_>,
        slot: &Slot,
    ) -> Result<Option<Ran>, StoreError> {
        let key = slot.key();
        let claim = self
            .store
            .claim(slot.job.name(), &plan.id, &key, self.owner, true, clock)
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
        let result = crate::ops::jobs::run(&ctx, script, plan, slot).await;
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
                job = slot.job.name(), plan = %plan.id, slot = %key, attempt, duration_ms,
                next_attempt = next.as_deref().unwrap_or("-"), "job run failed: {outcome}"
            ),
            _ => tracing::info!(
                job = slot.job.name(), plan = %plan.id, slot = %key, attempt, status, duration_ms,
                "job run: {outcome}"
            ),
        }
        if let Ok(mut m) = self.metrics.lock() {
            *m.runs.entry((slot.job, status.to_string())).or_insert(0) += 1;
            *m.seconds.entry(slot.job).or_insert(0.0) += duration_ms as f64 / 1000.0;
        }
        // What the administrators must hear: a draw waiting for its seed, a job that keeps
        // failing. Queued apart from the run (which has not finished its work).
        let alert = match status {
            "waiting" if slot.job == Job::Draw => Some((
                format!("waiting/{}/{}", plan.id, slot.job.name()),
                "抽取等待随机数：请录入公开的开奖号码".to_string(),
            )),
            "failed" if attempt >= 3 => Some((
                format!("failing/{}/{}/{key}", plan.id, slot.job.name()),
                format!("定时任务 {} 连续失败 {attempt} 次", slot.job.name()),
            )),
            _ => None,
        };
        if let Some((what, title)) = alert {
            let ctx = Ctx {
                store: self.store,
                settings: self.settings,
                clock,
                actor: self.actor,
            };
            let lines = vec![format!("{} {key}: {outcome}", slot.job.name())];
            match crate::ops::notices::admin(&ctx, plan, &what, &title, &lines).await {
                Ok(Some(n)) => {
                    self.store.queue_notices(&[n], clock).await?;
                }
                Ok(None) => {}
                Err(e) => tracing::error!("admin notice: {e}"),
            }
        }
        Ok(Some(Ran {
            job: slot.job,
            slot: key,
            at: stamp(now),
            attempt,
            status: status.to_string(),
            outcome,
            duration_ms,
        }))
    }
}
