//! The console's routes: login and logout, the task list and a task's page with its forms,
//! the 函告 and their acknowledgement, the admin page (accounts, status, seed entry). Each
//! handler checks the session, the role and the object's owner before anything else, then
//! calls one `ops` function.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::NaiveDate;
use minijinja::context;
use serde::Serialize;

use super::{Console, PRE_LOGIN, Who, cookie};
use crate::accounts::Role;
use crate::lifecycle::{Event, Field, Outcome};
use crate::ops::{self, OpsError};

pub(super) type Fields = Form<BTreeMap<String, String>>;

pub(super) fn router(c: Console) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/login/sso", get(super::sso::begin))
        .route("/login/sso/callback", get(super::sso::callback))
        .route("/tasks", get(tasks))
        .route("/tasks/{id}", get(task).post(record))
        .route(
            "/tasks/{id}/files",
            post(attach).layer(axum::extract::DefaultBodyLimit::max(
                usize::try_from(c.0.settings.console.max_attachment_mib)
                    .unwrap_or(64)
                    .saturating_mul(1024 * 1024)
                    .saturating_add(64 * 1024),
            )),
        )
        .route("/tasks/{id}/files/{sha256}", get(attachment))
        .route("/letters", get(letters))
        .route("/letters/{id}/ack", post(acknowledge))
        .route("/admin", get(admin))
        .route("/admin/users", post(users))
        .route("/admin/seed", post(seed))
        .route("/admin/outbox", get(outbox))
        .route("/admin/plans", get(super::plans::plans))
        .route(
            "/admin/eligibility",
            get(super::eligibility::form).post(super::eligibility::read),
        )
        .route(
            "/admin/jobs",
            get(super::jobs::jobs).post(super::jobs::control),
        )
        .route("/admin/jobs/confirm", get(super::jobs::confirm))
        .route("/admin/outbox/{id}/retry", post(retry))
        .route("/console.css", get(css))
        .with_state(c)
}

async fn css() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../../templates/console/console.css"),
    )
        .into_response()
}

/// Where an account starts.
async fn home(State(c): State<Console>, headers: HeaderMap) -> Response {
    let who = page!(c.who(&headers).await);
    Redirect::to(match who.account.role {
        Role::Bureau => "/letters",
        Role::Admin => "/admin",
        Role::Division | Role::Auditor => "/tasks",
    })
    .into_response()
}

async fn login_page(State(c): State<Console>, headers: HeaderMap) -> Response {
    if c.who(&headers).await.is_ok() {
        return Redirect::to("/").into_response();
    }
    login_form(&c, StatusCode::OK, None)
}

/// The login form with a fresh pre-login token, set as a cookie and repeated in the form.
pub(super) fn login_form(c: &Console, status: StatusCode, error: Option<&str>) -> Response {
    let Ok(pre) = crate::accounts::token() else {
        return c.message(
            StatusCode::INTERNAL_SERVER_ERROR,
            "系统错误",
            "无法生成令牌",
        );
    };
    let o = &c.0.settings.console.oidc;
    let sso = o.enabled().then_some(o.label.as_str());
    let mut r = c.render(status, "login.html", context! { csrf => &pre, error, sso });
    r.headers_mut()
        .append(header::SET_COOKIE, c.cookie(PRE_LOGIN, &pre, Some(1800)));
    r
}

async fn login(
    State(c): State<Console>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(f): Fields,
) -> Response {
    let pre = cookie(&headers, PRE_LOGIN);
    let fresh =
        matches!((&pre, f.get("csrf")), (Some(a), Some(b)) if crate::accounts::same_secret(a, b));
    if !fresh {
        return c.message(
            StatusCode::FORBIDDEN,
            "请求被拒绝",
            "登录表单已失效（CSRF 校验失败）：请重新打开登录页。",
        );
    }
    let address = c.address(peer, &headers);
    let field = |k: &str| f.get(k).map_or("", String::as_str);
    let ctx = c.ctx("console");
    match ops::accounts::login(&ctx, field("login"), field("password"), &address).await {
        Ok(Ok(opened)) => {
            let mut r = Redirect::to("/").into_response();
            let h = r.headers_mut();
            h.append(
                header::SET_COOKIE,
                c.cookie(c.cookie_name(), &opened.token, None),
            );
            h.append(header::SET_COOKIE, c.cookie(PRE_LOGIN, "", Some(0)));
            tracing::info!(login = %opened.account.login, %address, "console login");
            r
        }
        Ok(Err(ops::accounts::Refused::Wrong)) => login_form(
            &c,
            StatusCode::UNAUTHORIZED,
            Some("用户名或密码错误，或账号已停用。"),
        ),
        Ok(Err(ops::accounts::Refused::Throttled)) => login_form(
            &c,
            StatusCode::TOO_MANY_REQUESTS,
            Some("登录失败次数过多，请稍后再试。"),
        ),
        Err(e) => c.failed(&e),
    }
}

async fn logout(State(c): State<Console>, headers: HeaderMap, Form(f): Fields) -> Response {
    let who = page!(c.who(&headers).await);
    page!(c.csrf(&who, f.get("csrf")));
    let everywhere = f.contains_key("everywhere");
    if let Err(e) = ops::accounts::logout(&c.ctx("console"), &who.token, everywhere).await {
        return c.failed(&e);
    }
    let mut r = Redirect::to("/login").into_response();
    r.headers_mut()
        .append(header::SET_COOKIE, c.cookie(c.cookie_name(), "", Some(0)));
    r
}

/// What every signed-in page shows of its account.
pub(super) fn me(who: &Who) -> minijinja::Value {
    minijinja::Value::from_serialize(serde_json::json!({
        "login": who.account.login,
        "name": who.account.name,
        "role": who.account.role.code(),
        "role_label": who.account.role.label(),
        "csrf": who.csrf,
    }))
}

#[derive(serde::Deserialize)]
struct ListParams {
    view: Option<String>,
    page: Option<u64>,
}

/// A task line of the list: red when overdue or at most 2 working days left, yellow at most 5.
#[derive(Serialize)]
struct Line {
    id: String,
    href: String,
    entity: String,
    city: String,
    division: String,
    status: &'static str,
    next_due: Option<NaiveDate>,
    days: String,
    level: &'static str,
}

/// Working days left as the pages say it.
fn days_label(days: Option<i64>) -> String {
    match days {
        None => "—".into(),
        Some(d) if d < 0 => format!("逾期 {} 个工作日", -d),
        Some(d) => d.to_string(),
    }
}

/// Working days from `today` to `due` (negative when past), where the calendar knows.
fn days_left(cal: &crate::calendar::Calendar, today: NaiveDate, due: NaiveDate) -> Option<i64> {
    if due >= today {
        cal.working_days_between(today, due).ok()
    } else {
        cal.working_days_between(due, today).ok().map(|n| -n)
    }
}

/// Working days left at which a task shows yellow, and the "soon" view's reach.
const SOON: i64 = 5;

fn level(days: Option<i64>) -> &'static str {
    match days {
        Some(d) if d <= 2 => "red",
        Some(d) if d <= SOON => "yellow",
        _ => "",
    }
}

async fn tasks(
    State(c): State<Console>,
    headers: HeaderMap,
    Query(p): Query<ListParams>,
) -> Response {
    let who = page!(c.who(&headers).await);
    let a = &who.account;
    if a.role.scoped() && a.scope.is_none() {
        return c.message(StatusCode::FORBIDDEN, "无权访问", "账号未指定处室或地市。");
    }
    let ctx = c.ctx("console");
    let today = crate::clock::Clock::today(&crate::clock::SystemClock);
    let view = match p.view.as_deref() {
        Some("overdue") => "overdue",
        Some("soon") => "soon",
        Some("all") => "all",
        _ => "open",
    };
    let cal = ops::plan::calendar(&c.0.settings).ok();
    let due_before = match view {
        "overdue" => Some(today),
        // Overdue, or due within SOON working days (a week by the calendar where it has no
        // data).
        "soon" => cal
            .as_ref()
            .and_then(|cal| cal.add_working_days(today, SOON).ok())
            .unwrap_or(today + chrono::Duration::days(7))
            .succ_opt(),
        "all" => None,
        // Open tasks only (closed ones owe nothing), soonest deadline first.
        _ => NaiveDate::from_ymd_opt(9999, 12, 31),
    };
    let q = ops::task::Query {
        status: None,
        division: (a.role == Role::Division)
            .then_some(a.scope.as_deref())
            .flatten(),
        unit: (a.role == Role::Bureau)
            .then_some(a.scope.as_deref())
            .flatten(),
        due_before,
        count_up_to: Some(10_000),
    };
    const PER_PAGE: u32 = 50;
    let page_no = p.page.unwrap_or(0).min(1_000_000);
    let page = crate::store::Page {
        limit: PER_PAGE,
        offset: page_no * u64::from(PER_PAGE),
    };
    let listing = page!(
        ops::task::list(&ctx, &q, page)
            .await
            .map_err(|e| c.failed(&e))
    );
    let labels = page!(ops::Labels::of(&c.0.settings).map_err(|e| c.failed(&e)));
    let lines: Vec<Line> = listing
        .tasks
        .iter()
        .map(|t| {
            let days = t
                .next_due
                .zip(cal.as_ref())
                .and_then(|(due, cal)| days_left(cal, today, due));
            Line {
                id: t.id.clone(),
                href: format!("/tasks/{}", crate::text::percent(&t.id)),
                entity: t.entity_name.clone(),
                city: labels.city(&t.city),
                division: labels.division(&t.division),
                status: t.facts.status.label(),
                next_due: t.next_due,
                days: days_label(days),
                level: if t.facts.status.is_open() {
                    level(days)
                } else {
                    ""
                },
            }
        })
        .collect();
    let pages = (listing.total.max(0) as u64).div_ceil(u64::from(PER_PAGE));
    c.render(
        StatusCode::OK,
        "tasks.html",
        context! {
            me => me(&who), lines, view, total => listing.total, capped => listing.capped,
            page => page_no, pages,
        },
    )
}

/// A task the account may read, or 404 (the same as for a task that does not exist: an id
/// tried from another division's account tells nothing).
/// A task's page: its view and its attachments.
pub(super) struct Readable {
    view: ops::task::TaskView,
    attachments: Vec<crate::store::AttachmentRow>,
}

async fn readable(c: &Console, who: &Who, id: &str) -> Result<Readable, Response> {
    let ctx = c.ctx("console");
    let view = readable_view(c, who, id).await?;
    let attachments = ops::attachments::list(&ctx, id)
        .await
        .map_err(|e| c.failed(&e))?;
    Ok(Readable { view, attachments })
}

async fn readable_view(c: &Console, who: &Who, id: &str) -> Result<ops::task::TaskView, Response> {
    let ctx = c.ctx("console");
    let not_found = || {
        c.message(
            StatusCode::NOT_FOUND,
            "没有这个任务",
            "任务不存在，或不在本账号的范围内。",
        )
    };
    match ops::task::show(&ctx, id).await {
        Ok(v) if who.account.may_read_task(&v.row.division, &v.row.city) => Ok(v),
        Ok(_) => Err(not_found()),
        Err(OpsError::Invalid(_)) => Err(not_found()),
        Err(e) => Err(c.failed(&e)),
    }
}

async fn task(State(c): State<Console>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let who = page!(c.who(&headers).await);
    let view = page!(readable(&c, &who, &id).await);
    task_page(&c, &who, &view, StatusCode::OK, None)
}

fn task_page(
    c: &Console,
    who: &Who,
    view: &Readable,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    let labels = page!(ops::Labels::of(&c.0.settings).map_err(|e| c.failed(&e)));
    let today = crate::clock::Clock::today(&crate::clock::SystemClock);
    let cal = ops::plan::calendar(&c.0.settings).ok();
    let t = &view.view.row;
    let deadlines: Vec<serde_json::Value> = t
        .deadlines
        .iter()
        .map(|(o, due)| {
            let days = cal.as_ref().and_then(|cal| days_left(cal, today, *due));
            serde_json::json!({"what": o.words(), "due": due, "days": days_label(days)})
        })
        .collect();
    let facts: Vec<serde_json::Value> = view
        .view
        .recorded
        .iter()
        .map(|f| {
            serde_json::json!({
                "effective": f.effective, "recorded_at": f.recorded_at, "actor": f.actor,
                "event": f.event.label(), "detail": serde_json::to_string(&f.event).unwrap_or_default(),
            })
        })
        .collect();
    let may_record = who.account.may_record_task(&t.division) && t.facts.status.is_open();
    let files: Vec<serde_json::Value> = view
        .attachments
        .iter()
        .map(|a| {
            serde_json::json!({
                "name": a.name, "size": a.size, "type": a.content_type, "at": a.at,
                "actor": a.actor, "sha256": a.sha256,
                "href": format!("/tasks/{}/files/{}", crate::text::percent(&t.id), a.sha256),
            })
        })
        .collect();
    c.render(
        status,
        "task.html",
        context! {
            me => me(who),
            error,
            t => minijinja::Value::from_serialize(serde_json::json!({
                "id": t.id, "entity": t.entity_name, "uscc": t.uscc,
                "city": labels.city(&t.city), "division": labels.division(&t.division),
                "status": t.facts.status.label(), "planned": t.facts.planned,
                "completed": t.facts.completed, "outcome": t.facts.outcome.map(Outcome::code),
                "published": t.facts.published, "members": t.members, "items": t.items,
                "window_end": t.facts.window.end,
                "files_action": format!("/tasks/{}/files", crate::text::percent(&t.id)),
            })),
            deadlines, facts, may_record, warnings => &view.view.warnings, files,
            may_attach => who.account.may_record_task(&t.division),
            max_mib => c.0.settings.console.max_attachment_mib,
        },
    )
}

fn date(f: &BTreeMap<String, String>, key: &str) -> Result<NaiveDate, String> {
    let v = f.get(key).map_or("", |s| s.trim());
    NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .map_err(|_| format!("日期“{}”格式不对：请写成 YYYY-MM-DD", crate::text::quote(v)))
}

/// The event a task form asks for.
fn event(f: &BTreeMap<String, String>) -> Result<Event, String> {
    let get = |k: &str| f.get(k).map_or("", |s| s.trim());
    Ok(match get("action") {
        "schedule" => Event::Schedule(date(f, "date")?),
        "complete" => Event::Complete(
            date(f, "date")?,
            Outcome::parse(get("outcome")).ok_or("请选择检查结果")?,
        ),
        "publish" => Event::Publish(
            date(f, "date")?,
            Some(get("url").to_string()).filter(|u| !u.is_empty()),
        ),
        "penalty" => Event::PenaltyDecided(date(f, "date")?),
        "penalty-published" => Event::PenaltyPublished(date(f, "date")?),
        "correct" => Event::Correct(
            Field::parse(get("field"), get("value"))?,
            get("reason").to_string(),
        ),
        other => return Err(format!("未知操作“{}”", crate::text::quote(other))),
    })
}

async fn record(
    State(c): State<Console>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Fields,
) -> Response {
    let who = page!(c.who(&headers).await);
    page!(c.csrf(&who, f.get("csrf")));
    let view = page!(readable(&c, &who, &id).await);
    if !who.account.may_record_task(&view.view.row.division) {
        return c.message(
            StatusCode::FORBIDDEN,
            "无权操作",
            "只有承办处室（谁检查谁录入）和系统管理员可以录入该任务的情况。",
        );
    }
    let refused =
        |msg: &str| task_page(&c, &who, &view, StatusCode::UNPROCESSABLE_ENTITY, Some(msg));
    let e = match event(&f) {
        Ok(e) => e,
        Err(m) => return refused(&m),
    };
    let actor = who.account.actor();
    match ops::task::transition(&c.ctx(&actor), &id, e).await {
        Ok(_) => Redirect::to(&format!("/tasks/{}", crate::text::percent(&id))).into_response(),
        Err(e) => match e.refusal() {
            Some(m) => refused(m),
            None => c.failed(&e),
        },
    }
}

async fn letters(State(c): State<Console>, headers: HeaderMap) -> Response {
    let who = page!(c.who(&headers).await);
    let unit = match who.account.role {
        Role::Bureau => match who.account.scope.as_deref() {
            Some(u) => Some(u),
            None => return c.message(StatusCode::FORBIDDEN, "无权访问", "账号未指定地市。"),
        },
        Role::Admin | Role::Auditor => None,
        Role::Division => {
            return c.message(
                StatusCode::FORBIDDEN,
                "无权访问",
                "函告由市级应急管理局查看。",
            );
        }
    };
    let all = page!(
        ops::notices::letters(&c.ctx("console"), unit)
            .await
            .map_err(|e| c.failed(&e))
    );
    let labels = page!(ops::Labels::of(&c.0.settings).map_err(|e| c.failed(&e)));
    let rows: Vec<serde_json::Value> = all
        .iter()
        .map(|l| {
            serde_json::json!({
                "id": l.row.id, "subject": l.row.subject, "status": l.row.status,
                "created_at": l.row.created_at, "sent_at": l.row.sent_at,
                "unit": l.unit.as_deref().map(|u| labels.city(u)),
                "text": l.row.text,
                "acknowledged_at": l.receipt.as_ref().map(|r| &r.acknowledged_at),
                "acknowledged_by": l.receipt.as_ref().map(|r| &r.login),
            })
        })
        .collect();
    let may_ack = who.account.role == Role::Bureau;
    c.render(
        StatusCode::OK,
        "letters.html",
        context! { me => me(&who), rows, may_ack },
    )
}

async fn acknowledge(
    State(c): State<Console>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(f): Fields,
) -> Response {
    let who = page!(c.who(&headers).await);
    page!(c.csrf(&who, f.get("csrf")));
    let actor = who.account.actor();
    match ops::notices::acknowledge(&c.ctx(&actor), &who.account, id).await {
        Ok(()) => Redirect::to("/letters").into_response(),
        Err(e) => c.failed(&e),
    }
}

/// The admin page: status, accounts, seed entry. Auditors read it; only admins act.
async fn admin(State(c): State<Console>, headers: HeaderMap) -> Response {
    let who = page!(c.who(&headers).await);
    admin_page(&c, &who, StatusCode::OK, None, None).await
}

async fn admin_page(
    c: &Console,
    who: &Who,
    code: StatusCode,
    notice: Option<&str>,
    error: Option<&str>,
) -> Response {
    page!(overseer(c, who));
    let ctx = c.ctx("console");
    let status = page!(ops::status::status(&ctx).await.map_err(|e| c.failed(&e)));
    let accounts = page!(ops::accounts::list(&ctx).await.map_err(|e| c.failed(&e)));
    let jobs = context! {
        total => status.jobs.len(),
        paused => status.jobs.iter().filter(|j| j.paused.is_some()).count(),
        pending => status.jobs.iter().map(|j| j.pending.len()).sum::<usize>(),
        due => status.jobs.iter().map(|j| j.due.len()).sum::<usize>(),
    };
    c.render(
        code,
        "admin.html",
        context! {
            me => me(who), notice, error, accounts, jobs,
            plans => minijinja::Value::from_serialize(&status.plans),
            audit_head => status.audit_head.as_ref().map(|h| format!("#{} {}", h.seq, h.hash)),
            leader => status.leader.as_ref().map(|l| format!(
                "{}（{}，最近 {}）", l.holder, if status.leader_alive { "运行中" } else { "未见心跳" }, l.seen
            )),
            outbox => &status.outbox, overdue => status.overdue,
            tasks => &status.tasks_by_status,
            may_act => who.account.role == Role::Admin,
            roles => ["admin", "division", "bureau", "auditor"],
            files => c.plan_files()
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>(),
        },
    )
}

async fn users(State(c): State<Console>, headers: HeaderMap, Form(f): Fields) -> Response {
    let who = page!(c.who(&headers).await);
    page!(c.csrf(&who, f.get("csrf")));
    if who.account.role != Role::Admin {
        return c.message(
            StatusCode::FORBIDDEN,
            "无权操作",
            "只有系统管理员可以管理账号。",
        );
    }
    let get = |k: &str| f.get(k).map(|s| s.trim()).filter(|s| !s.is_empty());
    let actor = who.account.actor();
    let ctx = c.ctx(&actor);
    let login = get("login").unwrap_or("");
    let done = match get("op") {
        Some("add") => match get("role").and_then(Role::parse) {
            Some(role) => ops::accounts::add(
                &ctx,
                (login, get("name").unwrap_or(login)),
                role,
                get("scope"),
                None,
            )
            .await
            .map(|c| c.generated_password),
            None => Err(OpsError::Invalid("请选择角色".into())),
        },
        Some("reset") => ops::accounts::reset(&ctx, login, None)
            .await
            .map(|c| c.generated_password),
        Some("disable") => ops::accounts::disable(&ctx, login).await.map(|()| None),
        _ => Err(OpsError::Invalid("未知操作".into())),
    };
    match done {
        Ok(Some(password)) => {
            let note =
                format!("账号 {login} 的初始密码（只显示这一次，请当面交给本人）：{password}");
            admin_page(&c, &who, StatusCode::OK, Some(&note), None).await
        }
        Ok(None) => admin_page(&c, &who, StatusCode::OK, Some("已完成。"), None).await,
        Err(e) => match e.refusal() {
            Some(m) => admin_page(&c, &who, StatusCode::UNPROCESSABLE_ENTITY, None, Some(m)).await,
            None => c.failed(&e),
        },
    }
}

/// An admin enters the public seed's digits for a plan the daemon runs; the waiting draw job
/// runs on its next look.
async fn seed(State(c): State<Console>, headers: HeaderMap, Form(f): Fields) -> Response {
    let who = page!(c.who(&headers).await);
    page!(c.csrf(&who, f.get("csrf")));
    if who.account.role != Role::Admin {
        return c.message(
            StatusCode::FORBIDDEN,
            "无权操作",
            "只有系统管理员可以录入随机数。",
        );
    }
    let file = f.get("plan").map_or("", |s| s.trim());
    let files = c.plan_files();
    let Some(file) = files.iter().find(|p| p.display().to_string() == file) else {
        return admin_page(
            &c,
            &who,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some("请选择守护进程运行的计划"),
        )
        .await;
    };
    let actor = who.account.actor();
    let digits = f.get("digits").map_or("", |s| s.trim());
    match ops::draw::enter_seed(&c.ctx(&actor), ops::plan::Script::File(Some(file)), digits).await {
        Ok(()) => {
            admin_page(
                &c,
                &who,
                StatusCode::OK,
                Some("随机数已录入：等待中的抽取将在下次检查时进行。"),
                None,
            )
            .await
        }
        Err(e) => match e.refusal() {
            Some(m) => admin_page(&c, &who, StatusCode::UNPROCESSABLE_ENTITY, None, Some(m)).await,
            None => c.failed(&e),
        },
    }
}

/// A file attached to a task (multipart form: `csrf`, then `file`), by its division.
async fn attach(
    State(c): State<Console>,
    headers: HeaderMap,
    Path(id): Path<String>,
    mut form: axum::extract::Multipart,
) -> Response {
    let who = page!(c.who(&headers).await);
    let mut csrf = None;
    let mut file: Option<(String, Vec<u8>)> = None;
    loop {
        match form.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or("").to_string();
                let file_name = field.file_name().unwrap_or("").to_string();
                let Ok(bytes) = field.bytes().await else {
                    return c.message(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "文件过大",
                        "上传的文件超过允许的大小。",
                    );
                };
                match name.as_str() {
                    "csrf" => csrf = Some(String::from_utf8_lossy(&bytes).to_string()),
                    "file" => file = Some((file_name, bytes.to_vec())),
                    _ => {}
                }
            }
            Ok(None) => break,
            Err(_) => {
                return c.message(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "上传失败",
                    "上传的内容无法读取或超过允许的大小。",
                );
            }
        }
    }
    page!(c.csrf(&who, csrf.as_ref()));
    let view = page!(readable(&c, &who, &id).await);
    if !who.account.may_record_task(&view.view.row.division) {
        return c.message(
            StatusCode::FORBIDDEN,
            "无权操作",
            "只有承办处室和系统管理员可以上传附件。",
        );
    }
    let Some((name, bytes)) = file else {
        return task_page(
            &c,
            &who,
            &view,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("请选择文件"),
        );
    };
    let actor = who.account.actor();
    match ops::attachments::attach(&c.ctx(&actor), &id, &name, &bytes).await {
        Ok(_) => Redirect::to(&format!("/tasks/{}", crate::text::percent(&id))).into_response(),
        Err(e) => match e.refusal() {
            Some(m) => task_page(&c, &who, &view, StatusCode::UNPROCESSABLE_ENTITY, Some(m)),
            None => c.failed(&e),
        },
    }
}

/// An attachment, to whoever may read its task; sent as a download, never rendered inline.
async fn attachment(
    State(c): State<Console>,
    headers: HeaderMap,
    Path((id, sha256)): Path<(String, String)>,
) -> Response {
    let who = page!(c.who(&headers).await);
    page!(readable_view(&c, &who, &id).await);
    match ops::attachments::read(&c.ctx("console"), &id, &sha256).await {
        Ok((row, bytes)) => {
            let ascii: String = row
                .name
                .chars()
                .map(|ch| {
                    if ch.is_ascii_alphanumeric() || ch == '.' {
                        ch
                    } else {
                        '_'
                    }
                })
                .collect();
            (
                [
                    (header::CONTENT_TYPE, row.content_type.clone()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!(
                            "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
                            crate::text::percent(&row.name)
                        ),
                    ),
                ],
                bytes,
            )
                .into_response()
        }
        Err(OpsError::Invalid(_)) => {
            c.message(StatusCode::NOT_FOUND, "没有这个附件", "附件不存在。")
        }
        Err(e) => c.failed(&e),
    }
}

#[derive(serde::Deserialize)]
struct OutboxParams {
    status: Option<String>,
}

/// The outbox, by delivery status, for admins and auditors; admins put a notice back in line.
async fn outbox(
    State(c): State<Console>,
    headers: HeaderMap,
    Query(p): Query<OutboxParams>,
) -> Response {
    let who = page!(c.who(&headers).await);
    page!(overseer(&c, &who));
    let status = p.status.as_deref().filter(|s| !s.is_empty());
    let rows = page!(
        ops::notices::outbox(&c.ctx("console"), status)
            .await
            .map_err(|e| c.failed(&e))
    );
    let rows: Vec<serde_json::Value> = rows
        .iter()
        .take(500)
        .map(|r| {
            serde_json::json!({
                "id": r.id, "kind": r.kind, "status": r.status, "subject": r.subject,
                "to": r.to.iter().map(|m| m.email.clone()).collect::<Vec<_>>().join("、"),
                "attempts": r.attempts, "last_error": r.last_error, "created_at": r.created_at,
                "sent_at": r.sent_at, "text": r.text,
            })
        })
        .collect();
    c.render(
        StatusCode::OK,
        "outbox.html",
        context! {
            me => me(&who), rows, status => status.unwrap_or(""),
            may_act => who.account.role == Role::Admin,
        },
    )
}

async fn retry(
    State(c): State<Console>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(f): Fields,
) -> Response {
    let who = page!(c.who(&headers).await);
    page!(c.csrf(&who, f.get("csrf")));
    if who.account.role != Role::Admin {
        return c.message(
            StatusCode::FORBIDDEN,
            "无权操作",
            "只有系统管理员可以重新发送通知。",
        );
    }
    let actor = who.account.actor();
    match ops::notices::retry(&c.ctx(&actor), crate::store::Retry::One(id)).await {
        Ok(_) => Redirect::to("/admin/outbox").into_response(),
        Err(e) => c.failed(&e),
    }
}

/// Admins and auditors only: the pages that show the whole department.
pub(super) fn overseer(c: &Console, who: &Who) -> Result<(), Response> {
    if matches!(who.account.role, Role::Admin | Role::Auditor) {
        Ok(())
    } else {
        Err(c.message(
            StatusCode::FORBIDDEN,
            "无权访问",
            "该页面仅供系统管理员和审计账号使用。",
        ))
    }
}
