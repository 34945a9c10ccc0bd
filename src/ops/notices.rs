//! What notices need from the rest of the system: the directory of addresses (registry and
//! configuration), the letters' templates (the last good version, kept for the life of the
//! process), and the administrators' notices.

use std::sync::Mutex;

use chrono::NaiveDate;

use super::{Ctx, OpsError, Result};
use crate::notify::templates::Templates;
use crate::notify::{self, Directory, Mailbox, Notice};

/// The last good templates of this process: a broken edit is refused and this stays.
static TEMPLATES: Mutex<Option<Templates>> = Mutex::new(None);

/// The templates, reloaded from `notify.templates`; problems are logged and returned.
pub fn templates(ctx: &Ctx<'_>) -> (Templates, Vec<notify::templates::Problem>) {
    let mut last = TEMPLATES.lock().unwrap_or_else(|p| p.into_inner());
    let previous = last.clone().unwrap_or_else(Templates::shipped);
    let (next, problems) = previous.load(&ctx.settings.notify.templates);
    for p in &problems {
        tracing::error!("template refused, the last good one stays: {p}");
    }
    *last = Some(next.clone());
    (next, problems)
}

/// "Name <address>" or a bare address.
fn parse_mailbox(s: &str) -> Option<Mailbox> {
    let s = s.trim();
    let (name, email) = match s.rsplit_once('<') {
        Some((name, rest)) => (name.trim().to_string(), rest.trim_end_matches('>').trim()),
        None => (s.to_string(), s),
    };
    email.parse::<lettre::Address>().ok()?;
    Some(Mailbox {
        name,
        email: email.to_string(),
    })
}

/// Everyone notices go to, as the registry and the configuration say now.
pub async fn directory(ctx: &Ctx<'_>, plan: &crate::plan::Plan) -> Result<Directory> {
    directory_for(ctx, &notify::PlanInfo::of(plan)).await
}

/// The directory, for a plan known by its id and year.
pub async fn directory_for(ctx: &Ctx<'_>, plan: &notify::PlanInfo) -> Result<Directory> {
    let vocab = ctx
        .settings
        .vocabulary()
        .map_err(|e| OpsError::Invalid(e.to_string()))?;
    let n = &ctx.settings.notify;
    let published = if n.public_url.is_empty() {
        crate::publish::plan_dir(ctx.settings.public_dir(), plan.year, &plan.id)
            .display()
            .to_string()
    } else {
        format!(
            "{}/{}/{}/",
            n.public_url.trim_end_matches('/'),
            plan.year,
            plan.id
        )
    };
    Ok(Directory {
        department: vocab.department().label.clone(),
        contact: n.contact.clone(),
        bureaus: ctx
            .store
            .bureaus()
            .await?
            .into_iter()
            .map(|b| {
                (
                    b.unit.clone(),
                    Mailbox {
                        name: b.name,
                        email: b.email,
                    },
                )
            })
            .collect(),
        units: vocab
            .units
            .iter()
            .map(|u| (u.code.to_string(), u.name.to_string()))
            .collect(),
        divisions: ctx
            .settings
            .divisions
            .iter()
            .map(|d| (d.code.clone(), (d.label.clone(), d.email.clone())))
            .collect(),
        officers: ctx
            .store
            .officers()
            .await?
            .into_iter()
            .map(|o| (o.id, (o.name, o.email)))
            .collect(),
        tracker: Some(n.tracker.clone()).filter(|t| !t.is_empty()),
        admins: n.admin.iter().filter_map(|a| parse_mailbox(a)).collect(),
        published,
    })
}

fn notice_error(e: notify::NoticeError) -> OpsError {
    match e {
        notify::NoticeError::Calendar(c) => OpsError::Calendar(c),
        e => OpsError::Internal(e.to_string()),
    }
}

pub(crate) fn wrap<T>(r: std::result::Result<T, notify::NoticeError>) -> Result<T> {
    r.map_err(notice_error)
}

/// An administrators' notice about `what` (once a day), queued in its own transaction.
pub async fn admin(
    ctx: &Ctx<'_>,
    plan: &crate::plan::Plan,
    what: &str,
    title: &str,
    lines: &[String],
) -> Result<Option<Notice>> {
    let dir = directory(ctx, plan).await?;
    let (t, _) = templates(ctx);
    let today: NaiveDate = ctx.clock.today();
    let notice = wrap(notify::admin(
        what,
        &today.to_string(),
        title,
        lines,
        today,
        &dir,
        &t,
    ))?;
    Ok(notice)
}

/// Delivers the notices due (at most `limit`) and tells the administrators of those given up
/// on, whoever delivers (the daemon, or `outbox send`). Their addresses come from `plan`'s
/// directory; without a plan the failures are only logged.
pub async fn deliver(
    ctx: &Ctx<'_>,
    plan: Option<&crate::plan::Plan>,
    transport: &crate::notify::send::Transport,
    limit: i64,
) -> Result<(crate::notify::send::Delivered, Vec<crate::store::OutboxRow>)> {
    use crate::notify::send::SendError;
    let (done, gave_up) =
        crate::notify::send::deliver(ctx.store, ctx.settings, transport, ctx.clock, limit)
            .await
            .map_err(|e| match e {
                SendError::Store(e) => OpsError::from(e),
                e => OpsError::Invalid(e.to_string()),
            })?;
    if gave_up.is_empty() {
        return Ok((done, gave_up));
    }
    let lines: Vec<String> = gave_up
        .iter()
        .map(|r| {
            let to: Vec<&str> = r.to.iter().map(|m| m.email.as_str()).collect();
            format!(
                "#{} {} 收件人 {}：{}",
                r.id,
                r.subject,
                to.join("、"),
                r.last_error.as_deref().unwrap_or("")
            )
        })
        .collect();
    match plan {
        Some(plan) => {
            let what = format!("undelivered/{}", gave_up[0].id);
            if let Some(n) = admin(ctx, plan, &what, "通知发送失败", &lines).await? {
                ctx.store.queue_notices(&[n], ctx.clock).await?;
            }
        }
        None => tracing::error!(
            "notices given up on (no plan to find the administrators by): {}",
            lines.join("; ")
        ),
    }
    Ok((done, gave_up))
}
