//! What notices need from the rest of the system: the directory of addresses (registry and
//! configuration), the letters' templates (the last good version, kept for the life of the
//! process), and the administrators' notices.

use std::collections::BTreeMap;
use std::sync::Mutex;

use chrono::{Datelike, NaiveDate};

use super::{Ctx, OpsError, Result};
use crate::notify::templates::Templates;
use crate::notify::{self, Directory, Mailbox};

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

/// Everyone the department's own letters go to (administrators, the tracking division), as
/// the registry and the configuration say now; `for_plan` points it at one plan's folder.
pub async fn department_directory(ctx: &Ctx<'_>, today: NaiveDate) -> Result<Directory> {
    directory_for(ctx, &notify::PlanInfo::department(today.year())).await
}

/// `dir`, for the letters of one plan: its public folder.
pub fn for_plan(ctx: &Ctx<'_>, dir: &Directory, plan: &notify::PlanInfo) -> Directory {
    Directory {
        published: published(ctx, plan),
        ..dir.clone()
    }
}

/// What the letters say of a plan known only by its id and year (a plan no longer active, or
/// tasks of an earlier system): the title its official draw's manifest was frozen with.
pub async fn plan_info(ctx: &Ctx<'_>, plan_id: &str, year: i64) -> Result<notify::PlanInfo> {
    let manifest = match ctx.store.official_draw(plan_id, year).await? {
        Some(d) => Some(ctx.store.manifest_by_id(d.manifest_id).await?),
        None => ctx.store.active_manifest(plan_id, year).await?,
    };
    let title = match manifest {
        Some(m) => serde_json::from_str::<crate::draw::Manifest>(&m.content)
            .map(|m| m.plan.title)
            .unwrap_or_else(|_| plan_id.to_string()),
        None => plan_id.to_string(),
    };
    Ok(notify::PlanInfo {
        id: plan_id.to_string(),
        year,
        title,
    })
}

/// Where a plan's public files are read: the portal's address, or the folder.
fn published(ctx: &Ctx<'_>, plan: &notify::PlanInfo) -> String {
    let n = &ctx.settings.notify;
    let root = ctx.settings.public_dir();
    match (n.public_url.is_empty(), plan.id == crate::jobs::DEPARTMENT) {
        (true, true) => root.display().to_string(),
        (true, false) => crate::publish::plan_dir(root, plan.year, &plan.id)
            .display()
            .to_string(),
        (false, true) => format!("{}/", n.public_url.trim_end_matches('/')),
        (false, false) => format!(
            "{}/{}/{}/",
            n.public_url.trim_end_matches('/'),
            plan.year,
            plan.id
        ),
    }
}

/// Everyone a plan's letters go to, as the registry and the configuration say now.
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
    let published = published(ctx, plan);
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
        admins: n.admin.iter().filter_map(|a| Mailbox::parse(a)).collect(),
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

/// How often the administrators hear of the same thing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Every {
    Day,
    /// For what stays true from day to day (a paused job).
    Week,
}

/// Tells the administrators about `what` (at most once per `every`), queued in its own
/// transaction; returns the notice's key when it was queued now (none when it was already,
/// or no administrator's address is configured).
pub async fn tell_admins(
    ctx: &Ctx<'_>,
    (what, every): (&str, Every),
    title: &str,
    lines: &[String],
) -> Result<Option<String>> {
    let today: NaiveDate = ctx.clock.today();
    let period = match every {
        Every::Day => today.to_string(),
        Every::Week => {
            let w = chrono::Datelike::iso_week(&today);
            format!("{}-W{:02}", w.year(), w.week())
        }
    };
    let dir = department_directory(ctx, today).await?;
    let (t, _) = templates(ctx);
    let Some(n) = wrap(notify::admin(what, &period, title, lines, today, &dir, &t))? else {
        return Ok(None);
    };
    let key = n.key.clone();
    Ok((ctx.store.queue_notices(&[n], ctx.clock).await? > 0).then_some(key))
}

/// The receipts of a plan's history for the witnesses (`notify.witnesses`): one letter per
/// entry and address, queued once whenever the history is written (a crash between an event
/// and its publication is caught up at the next). Returns how many were new.
pub async fn witness(ctx: &Ctx<'_>, index: &crate::publish::Index) -> Result<usize> {
    let witnesses: Vec<Mailbox> = ctx
        .settings
        .notify
        .witnesses
        .iter()
        .filter_map(|a| Mailbox::parse(a))
        .collect();
    if witnesses.is_empty() || index.entries.is_empty() {
        return Ok(0);
    }
    let receipts = crate::publish::witness::receipts(index).map_err(OpsError::Internal)?;
    let today = ctx.clock.today();
    let plan = notify::PlanInfo {
        id: index.plan.clone(),
        year: index.year,
        title: String::new(),
    };
    let dir = Directory {
        published: published(ctx, &plan),
        department: super::Labels::of(ctx.settings)?.department().to_string(),
        contact: ctx.settings.notify.contact.clone(),
        ..Directory::default()
    };
    let (t, _) = templates(ctx);
    let mut notices = Vec::new();
    for r in &receipts {
        for w in &witnesses {
            notices.push(wrap(notify::witness(r, w, today, &dir, &t))?);
        }
    }
    Ok(ctx.store.queue_notices(&notices, ctx.clock).await?)
}

/// Delivers the notices due (at most `limit`) and tells the administrators of those given up
/// on, whoever delivers (the daemon, or `outbox send`): one notice per cause a day for a cause
/// every notice meets (the relay's settings or credentials), one per round for notices the
/// relay refused. Each such notice is also written as an `.eml` file under
/// `<data_dir>/undelivered/`, since it may have to go through the relay that is failing.
pub async fn deliver(
    ctx: &Ctx<'_>,
    transport: &crate::notify::send::Transport,
    limit: i64,
) -> Result<(
    crate::notify::send::Delivered,
    Vec<crate::notify::send::GaveUp>,
)> {
    use crate::notify::send::SendError;
    let (done, gave_up) =
        crate::notify::send::deliver(ctx.store, ctx.settings, transport, ctx.clock, limit)
            .await
            .map_err(|e| match e {
                SendError::Store(e) => OpsError::from(e),
                e => OpsError::Invalid(e.to_string()),
            })?;
    let mut by_cause: BTreeMap<String, Vec<&crate::notify::send::GaveUp>> = BTreeMap::new();
    for g in &gave_up {
        let what = if g.relay_wide {
            format!("undelivered/{}", g.cause)
        } else {
            format!("undelivered/{}", gave_up[0].row.id)
        };
        by_cause.entry(what).or_default().push(g);
    }
    for (what, rows) in by_cause {
        let mut lines: Vec<String> = Vec::new();
        if let Some(first) = rows.first().filter(|g| g.relay_wide) {
            lines.push(first.row.last_error.clone().unwrap_or_default());
        }
        lines.extend(rows.iter().map(|g| {
            let to: Vec<&str> = g.row.to.iter().map(|m| m.email.as_str()).collect();
            format!(
                "#{} {} 收件人 {}：{}",
                g.row.id,
                g.row.subject,
                to.join("、"),
                g.row.last_error.as_deref().unwrap_or("")
            )
        }));
        lines.push(
            "原因排除后，运行 `suiji outbox retry --all` 重新发送全部失败通知（每份只发一次）。"
                .into(),
        );
        let told = tell_admins(ctx, (&what, Every::Day), "通知发送失败", &lines).await?;
        let Some(key) = told else {
            continue;
        };
        if let Some(row) = ctx.store.outbox_by_key(&key).await? {
            let dir = ctx.settings.daemon.data_dir.join("undelivered");
            let written = crate::notify::send::build(&row, &[], &ctx.settings.smtp.from)
                .and_then(|m| crate::notify::send::write_eml(&dir, &row, &m));
            match written {
                Ok(()) => tracing::warn!(
                    notice = row.id,
                    "administrators' notice about undelivered mail also written to {}",
                    dir.display()
                ),
                Err(e) => tracing::error!(
                    notice = row.id,
                    "cannot keep a copy of the administrators' notice: {e}"
                ),
            }
        }
    }
    Ok((done, gave_up))
}

/// A 函告 as its bureau sees it: the letter, the bureau's unit and its acknowledgement.
#[derive(Debug, serde::Serialize)]
pub struct Letter {
    #[serde(flatten)]
    pub row: crate::store::OutboxRow,
    /// The municipal unit whose bureau it was sent to.
    pub unit: Option<String>,
    pub receipt: Option<crate::store::Receipt>,
}

/// The 函告 sent or to be sent to the bureau of `unit` (every bureau's when none), newest
/// first, with their acknowledgements.
pub async fn letters(ctx: &Ctx<'_>, unit: Option<&str>) -> Result<Vec<Letter>> {
    let by_address: BTreeMap<String, String> = ctx
        .store
        .bureaus()
        .await?
        .into_iter()
        .map(|b| (b.email.to_lowercase(), b.unit))
        .collect();
    let mut receipts: BTreeMap<i64, crate::store::Receipt> = ctx
        .store
        .receipts()
        .await?
        .into_iter()
        .map(|r| (r.outbox_id, r))
        .collect();
    Ok(ctx
        .store
        .outbox(None)
        .await?
        .into_iter()
        .filter(|r| r.kind == notify::Kind::AdvanceNotice.name())
        .filter_map(|row| {
            let bureau = row
                .to
                .iter()
                .find_map(|m| by_address.get(&m.email.to_lowercase()).cloned());
            if unit.is_some_and(|u| bureau.as_deref() != Some(u)) {
                return None;
            }
            Some(Letter {
                receipt: receipts.remove(&row.id),
                unit: bureau,
                row,
            })
        })
        .collect())
}

/// A bureau acknowledges a 函告 it received: only its own, only once it was sent, once.
pub async fn acknowledge(
    ctx: &Ctx<'_>,
    account: &crate::accounts::Account,
    letter: i64,
) -> Result<()> {
    if account.role != crate::accounts::Role::Bureau {
        return super::refused(
            "only a bureau's account acknowledges the 函告 it received",
            "只有市局账号可以签收发给本局的函告",
        );
    }
    let found = letters(ctx, account.scope.as_deref())
        .await?
        .into_iter()
        .find(|l| l.row.id == letter);
    let Some(l) = found else {
        return super::refused(
            format!("no 函告 #{letter} to this bureau"),
            format!("没有发给本局的函告 #{letter}"),
        );
    };
    if l.row.status != "sent" {
        return super::refused(
            format!(
                "函告 #{letter} has not been sent yet ({}): it can be acknowledged once it arrives",
                l.row.status
            ),
            format!("函告 #{letter} 尚未发出，送达后才能签收"),
        );
    }
    if let Some(r) = &l.receipt {
        return super::refused(
            format!(
                "letter #{letter} was acknowledged on {} already",
                r.acknowledged_at
            ),
            format!("函告 #{letter} 已于 {} 签收", r.acknowledged_at),
        );
    }
    Ok(ctx
        .store
        .acknowledge(letter, account.id, ctx.clock, ctx.actor)
        .await?)
}

/// The outbox, newest first, by delivery status (pending, sent or failed; all when none).
pub async fn outbox(ctx: &Ctx<'_>, status: Option<&str>) -> Result<Vec<crate::store::OutboxRow>> {
    if let Some(s) = status
        && !["pending", "sent", "failed"].contains(&s)
    {
        return Err(OpsError::Invalid(format!(
            "unknown status `{}`: pending, sent or failed",
            crate::text::quote(s)
        )));
    }
    Ok(ctx.store.outbox(status).await?)
}

/// Puts notices back in line for delivery (audited); returns them.
pub async fn retry(
    ctx: &Ctx<'_>,
    which: crate::store::Retry,
) -> Result<Vec<crate::store::OutboxRow>> {
    Ok(ctx.store.outbox_retry(which, ctx.clock, ctx.actor).await?)
}
