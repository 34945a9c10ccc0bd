//! The jobs page: every job's schedule, next and last runs, the slots due, waiting or failed
//! and why, whether an administrator paused it, and the history of runs and controls. Admins
//! pause, resume, or run a due, waiting or failed slot now: each on a confirmation page of its
//! own, with a reason, through the same `ops::jobs::control` as `suiji job`; the daemon is
//! woken at once.

use std::collections::BTreeMap;

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use minijinja::context;

use super::pages::{Fields, me, overseer};
use super::{Console, Who};
use crate::accounts::Role;
use crate::jobs::{Action, Job};
use crate::ops;

pub(super) async fn jobs(State(c): State<Console>, headers: HeaderMap) -> Response {
    let who = page!(c.who(&headers).await);
    jobs_page(&c, &who, StatusCode::OK, None, None).await
}

fn why(r: &crate::store::JobRun) -> String {
    r.error
        .as_deref()
        .or(r.outcome.as_deref())
        .unwrap_or("")
        .to_string()
}

/// What the page calls a job recorded by name (a name this version does not know, as is).
fn label(job: &str) -> String {
    Job::parse(job).map_or_else(|| job.to_string(), |j| j.label().to_string())
}

fn status_label(s: &str) -> &str {
    match s {
        "done" => "完成",
        "waiting" => "等待",
        "failed" => "失败",
        "running" => "运行中",
        other => other,
    }
}

async fn jobs_page(
    c: &Console,
    who: &Who,
    code: StatusCode,
    notice: Option<&str>,
    error: Option<&str>,
) -> Response {
    page!(overseer(c, who));
    let ctx = c.ctx("console");
    let status = page!(ops::status::status(&ctx).await.map_err(|e| c.failed(&e)));
    let (runs, controls) = page!(
        ops::jobs::history(&ctx, 100)
            .await
            .map_err(|e| c.failed(&e))
    );
    let jobs: Vec<serde_json::Value> = status
        .jobs
        .iter()
        .map(|j| {
            serde_json::json!({
                "job": j.job.name(), "label": j.job.label(), "plan": j.plan, "cron": j.cron,
                "next_run": j.next_run,
                "last": j.last.as_ref().map(|r| format!("{}（{}）", r.slot, why(r))),
                "paused": j.paused.as_ref().map(|p| serde_json::json!({
                    "actor": p.actor, "at": p.recorded_at, "reason": p.reason,
                })),
                "pending": j.pending.iter().map(|r| serde_json::json!({
                    "slot": r.slot, "status": status_label(&r.status), "attempts": r.attempts,
                    "next_attempt": r.next_attempt, "why": why(r),
                })).collect::<Vec<_>>(),
                "due": j.due,
                "open": j.open(),
            })
        })
        .collect();
    let runs: Vec<serde_json::Value> = runs
        .iter()
        .map(|r| {
            serde_json::json!({
                "job": label(&r.job),
                "owner": r.plan_id, "slot": r.slot, "status": status_label(&r.status),
                "attempts": r.attempts, "started_at": r.started_at,
                "duration_ms": r.duration_ms, "why": why(r),
            })
        })
        .collect();
    let controls: Vec<serde_json::Value> = controls
        .iter()
        .map(|k| {
            serde_json::json!({
                "id": k.id, "job": label(&k.job),
                "owner": k.owner,
                "action": Action::parse(&k.action).map_or(k.action.clone(), |a| a.label().into()),
                "slot": k.slot, "reason": k.reason, "actor": k.actor, "at": k.recorded_at,
            })
        })
        .collect();
    c.render(
        code,
        "jobs.html",
        context! {
            me => me(who), notice, error, jobs, runs, controls,
            may_act => who.account.role == Role::Admin,
        },
    )
}

type Asked<'a> = (Job, Option<&'a str>, Action, Option<&'a str>);

/// What an admin asks of a job, from the jobs page to its confirmation and on.
#[derive(serde::Deserialize)]
pub(super) struct Ask {
    job: String,
    plan: Option<String>,
    action: String,
    slot: Option<String>,
}

impl Ask {
    fn from_fields(f: &BTreeMap<String, String>) -> Ask {
        let get = |k: &str| f.get(k).cloned().unwrap_or_default();
        Ask {
            job: get("job"),
            plan: f.get("plan").cloned(),
            action: get("action"),
            slot: f.get("slot").cloned(),
        }
    }

    /// The job, its plan, the action and the slot.
    fn parse(&self) -> Result<Asked<'_>, String> {
        fn nonempty(s: &Option<String>) -> Option<&str> {
            s.as_deref().map(str::trim).filter(|s| !s.is_empty())
        }
        let job = Job::parse(&self.job).ok_or("没有这个定时任务")?;
        let action = Action::parse(&self.action).ok_or("没有这个操作")?;
        Ok((job, nonempty(&self.plan), action, nonempty(&self.slot)))
    }
}

fn admin_only(c: &Console, who: &Who) -> Result<(), Response> {
    if who.account.role == Role::Admin {
        Ok(())
    } else {
        Err(c.message(
            StatusCode::FORBIDDEN,
            "无权操作",
            "只有系统管理员可以暂停、恢复或手动运行定时任务。",
        ))
    }
}

/// The confirmation page: what will happen, and the reason the record will keep.
pub(super) async fn confirm(
    State(c): State<Console>,
    headers: HeaderMap,
    Query(ask): Query<Ask>,
) -> Response {
    let who = page!(c.who(&headers).await);
    page!(admin_only(&c, &who));
    let (job, plan, action, slot) = match ask.parse() {
        Ok(p) => p,
        Err(m) => return c.message(StatusCode::UNPROCESSABLE_ENTITY, "操作未执行", &m),
    };
    let whose = plan.unwrap_or("全厅");
    let what = match action {
        Action::Pause => format!(
            "暂停“{}”（{whose}）：到点的运行将保留待办，直到恢复或手动运行。",
            job.label()
        ),
        Action::Resume => format!(
            "恢复“{}”（{whose}）：守护进程随即补运行暂停期间到点的运行。",
            job.label()
        ),
        Action::Run => format!(
            "立即运行“{}”（{whose}）{}：守护进程随即运行，不论是否暂停，也不等下一次重试时间。",
            job.label(),
            slot.map_or(String::new(), |s| format!("的 {s} 时段"))
        ),
    };
    c.render(
        StatusCode::OK,
        "confirm.html",
        context! {
            me => me(&who), what, title => action.label(),
            job => job.name(), plan, action => action.name(), slot,
        },
    )
}

/// Records a confirmed control, then wakes the daemon.
pub(super) async fn control(
    State(c): State<Console>,
    headers: HeaderMap,
    Form(f): Fields,
) -> Response {
    let who = page!(c.who(&headers).await);
    page!(c.csrf(&who, f.get("csrf")));
    page!(admin_only(&c, &who));
    let ask = Ask::from_fields(&f);
    let (job, plan, action, slot) = match ask.parse() {
        Ok(p) => p,
        Err(m) => return c.message(StatusCode::UNPROCESSABLE_ENTITY, "操作未执行", &m),
    };
    if f.get("confirm").map(String::as_str) != Some("yes") {
        return jobs_page(
            &c,
            &who,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some("未确认：请在确认页勾选“我已确认”后提交。"),
        )
        .await;
    }
    let reason = f.get("reason").map_or("", String::as_str);
    let actor = who.account.actor();
    match ops::jobs::control(&c.ctx(&actor), (job, plan), action, slot, reason).await {
        Ok(done) => {
            c.wake();
            let note = format!(
                "已记录（控制 #{}）：{}“{}”{}。守护进程随即处理。",
                done.id,
                action.label(),
                job.label(),
                done.slot
                    .as_deref()
                    .map_or(String::new(), |s| format!("，时段 {s}"))
            );
            jobs_page(&c, &who, StatusCode::OK, Some(&note), None).await
        }
        Err(e) => match e.refusal() {
            Some(m) => jobs_page(&c, &who, StatusCode::UNPROCESSABLE_ENTITY, None, Some(m)).await,
            None => c.failed(&e),
        },
    }
}
