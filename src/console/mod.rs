//! The web console (`console.listen`): divisions record their own results, bureaus
//! acknowledge their 函告, admins and auditors see everything. Served by `suiji serve` behind
//! the department's reverse proxy; server-rendered pages, every form works without
//! JavaScript. A thin shell: every action calls the same `ops` function as the CLI, with the
//! logged-in account as the audit actor; this module only knows HTTP, cookies and pages.
//!
//! Sessions: a random token in an HttpOnly, SameSite=Strict cookie (Secure behind TLS), kept
//! in the database by its SHA-256 (several instances serve the same users), idle and absolute
//! expiry, a new token at every login. Every POST carries the session's CSRF token (the login
//! form a pre-login token, double-submitted). Pages are escaped by minijinja's HTML
//! auto-escaping and sent with a Content-Security-Policy that allows no script.

// A handler's early way out is the response itself (a redirect to the login, a refusal):
// boxing it would only add noise to every handler.
#![allow(clippy::result_large_err)]

/// A handler's `Ok` value, or the response to send instead.
macro_rules! page {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(r) => return r,
        }
    };
}

mod eligibility;
mod jobs;
mod pages;
mod plans;
mod sso;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};

use crate::accounts::Account;
use crate::clock::SystemClock;
use crate::config::Settings;
use crate::ops::Ctx;
use crate::store::Store;

/// What every request handler shares.
#[derive(Clone)]
pub struct Console(Arc<Inner>);

struct Inner {
    store: Store,
    settings: Settings,
    daemon: Daemon,
    pages: minijinja::Environment<'static>,
}

/// What the daemon shares with its console: the rule scripts it runs (each file with its last
/// good text, kept current as it reloads them) and a way to make it look at its jobs now.
#[derive(Clone)]
pub struct Daemon {
    pub running: tokio::sync::watch::Receiver<Vec<(std::path::PathBuf, String)>>,
    pub wake: tokio::sync::mpsc::Sender<()>,
}

const SESSION: &str = "suiji_session";
const SECURE_SESSION: &str = "__Host-suiji_session";
const PRE_LOGIN: &str = "suiji_login";

/// The console's templates, compiled in.
const TEMPLATES: [(&str, &str); 12] = [
    (
        "base.html",
        include_str!("../../templates/console/base.html"),
    ),
    (
        "login.html",
        include_str!("../../templates/console/login.html"),
    ),
    (
        "tasks.html",
        include_str!("../../templates/console/tasks.html"),
    ),
    (
        "task.html",
        include_str!("../../templates/console/task.html"),
    ),
    (
        "letters.html",
        include_str!("../../templates/console/letters.html"),
    ),
    (
        "admin.html",
        include_str!("../../templates/console/admin.html"),
    ),
    (
        "message.html",
        include_str!("../../templates/console/message.html"),
    ),
    (
        "outbox.html",
        include_str!("../../templates/console/outbox.html"),
    ),
    (
        "plans.html",
        include_str!("../../templates/console/plans.html"),
    ),
    (
        "jobs.html",
        include_str!("../../templates/console/jobs.html"),
    ),
    (
        "confirm.html",
        include_str!("../../templates/console/confirm.html"),
    ),
    (
        "eligibility.html",
        include_str!("../../templates/console/eligibility.html"),
    ),
];

/// The templates, compiled.
fn pages() -> Result<minijinja::Environment<'static>, String> {
    let mut pages = minijinja::Environment::new();
    for (name, text) in TEMPLATES {
        pages
            .add_template(name, text)
            .map_err(|e| format!("console template {name}: {e}"))?;
    }
    Ok(pages)
}

impl Console {
    pub fn new(store: Store, settings: Settings, daemon: Daemon) -> Result<Console, String> {
        let pages = pages()?;
        Ok(Console(Arc::new(Inner {
            store,
            settings,
            daemon,
            pages,
        })))
    }

    /// The rule files the daemon runs now.
    fn plan_files(&self) -> Vec<std::path::PathBuf> {
        self.0
            .daemon
            .running
            .borrow()
            .iter()
            .map(|(f, _)| f.clone())
            .collect()
    }

    /// Has the daemon look at its jobs now (its loop reads no more than one wake-up at a
    /// time: a full channel already holds one).
    fn wake(&self) {
        let _ = self.0.daemon.wake.try_send(());
    }

    /// The operations' context, acting as `actor` on the real clock.
    fn ctx<'a>(&'a self, actor: &'a str) -> Ctx<'a> {
        Ctx {
            store: &self.0.store,
            settings: &self.0.settings,
            clock: &SystemClock,
            actor,
        }
    }

    fn render(&self, status: StatusCode, name: &str, values: minijinja::Value) -> Response {
        match self
            .0
            .pages
            .get_template(name)
            .and_then(|t| t.render(values))
        {
            Ok(html) => (status, Html(html)).into_response(),
            Err(e) => {
                tracing::error!("console page {name}: {e}");
                (StatusCode::INTERNAL_SERVER_ERROR, "页面生成失败").into_response()
            }
        }
    }

    /// A page that only says something (an error, a refusal), with its status.
    fn message(&self, status: StatusCode, title: &str, text: &str) -> Response {
        self.render(status, "message.html", minijinja::context! { title, text })
    }

    fn secure(&self) -> bool {
        self.0.settings.console.behind_tls_proxy
    }

    fn cookie_name(&self) -> &'static str {
        if self.secure() {
            SECURE_SESSION
        } else {
            SESSION
        }
    }

    /// A cookie the page's scripts cannot read and no other site's request carries.
    fn cookie(&self, name: &str, value: &str, max_age: Option<i64>) -> HeaderValue {
        self.cookie_for(name, value, max_age, "Strict")
    }

    /// A cookie as `cookie`, sent with requests from another site as `same_site` allows
    /// (`Lax`: the provider's redirect back to the console, a top-level GET).
    fn cookie_for(
        &self,
        name: &str,
        value: &str,
        max_age: Option<i64>,
        same_site: &str,
    ) -> HeaderValue {
        let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite={same_site}");
        if self.secure() {
            c.push_str("; Secure");
        }
        if let Some(age) = max_age {
            c.push_str(&format!("; Max-Age={age}"));
        }
        HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    /// The client's address: the peer, or behind the proxy the last address it added.
    fn address(&self, peer: SocketAddr, headers: &HeaderMap) -> String {
        if self.secure()
            && let Some(last) = headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .map(str::trim)
                .rfind(|v| v.parse::<std::net::IpAddr>().is_ok())
        {
            return last.to_string();
        }
        peer.ip().to_string()
    }
}

/// The value of cookie `name` in the request.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// The signed-in account of a request, its CSRF token and session token.
pub(crate) struct Who {
    account: Account,
    csrf: String,
    token: String,
}

impl Console {
    /// The request's live session, or the way to the login page.
    async fn who(&self, headers: &HeaderMap) -> Result<Who, Response> {
        let to_login = || Redirect::to("/login").into_response();
        let Some(token) = cookie(headers, self.cookie_name()) else {
            return Err(to_login());
        };
        let ctx = self.ctx("console");
        match crate::ops::accounts::session(&ctx, &token).await {
            Ok(Some((account, csrf))) => Ok(Who {
                account,
                csrf,
                token,
            }),
            Ok(None) => Err(to_login()),
            Err(e) => Err(self.failed(&e)),
        }
    }

    /// A POST's CSRF token checked against the session's: 403 if missing or wrong.
    fn csrf(&self, who: &Who, given: Option<&String>) -> Result<(), Response> {
        match given {
            Some(t) if crate::accounts::same_secret(t, &who.csrf) => Ok(()),
            _ => Err(self.message(
                StatusCode::FORBIDDEN,
                "请求被拒绝",
                "表单已失效或来源不明（CSRF 校验失败）：请返回页面刷新后重试。",
            )),
        }
    }

    fn failed(&self, e: &crate::ops::OpsError) -> Response {
        match e.refusal() {
            Some(m) => self.message(StatusCode::UNPROCESSABLE_ENTITY, "操作未执行", m),
            None => {
                tracing::error!("console: {e}");
                self.message(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "系统错误",
                    "操作未完成，详情已记入系统日志。",
                )
            }
        }
    }
}

/// Headers every response carries: no script runs, nothing is framed or cached, no referrer
/// leaves.
async fn hardened(mut response: Response) -> Response {
    let h = response.headers_mut();
    for (k, v) in [
        (
            "content-security-policy",
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("cache-control", "no-store"),
        ("x-frame-options", "DENY"),
    ] {
        h.insert(k, HeaderValue::from_static(v));
    }
    response
}

/// Binds `console.listen`.
pub async fn bind(addr: &str) -> Result<tokio::net::TcpListener, String> {
    let parsed: SocketAddr = addr.parse().map_err(|_| {
        format!(
            "console.listen `{}` is not an address such as 127.0.0.1:8080",
            crate::text::quote(addr)
        )
    })?;
    tokio::net::TcpListener::bind(parsed)
        .await
        .map_err(|e| format!("console.listen {parsed}: {e}"))
}

/// Serves the console on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, console: Console) {
    // Each login's Argon2 verification takes 19 MiB. glibc's malloc raises its mmap threshold
    // to the size of the first such block freed and keeps later ones in its arenas: a few
    // logins left ~115 MiB resident for good. A fixed threshold keeps blocks this large
    // mapped, and returned to the system when freed.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; called before any block that size.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 4 * 1024 * 1024);
    }
    let app = pages::router(console)
        .layer(axum::middleware::map_response(hardened))
        .into_make_service_with_connect_info::<SocketAddr>();
    if let Err(e) = axum::serve(listener, app).await {
        tracing::error!("the console stopped: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every page renders from values of the shapes the handlers give, and escapes them.
    #[test]
    fn every_page_renders_and_escapes() {
        let env = pages().expect("templates");
        let evil = "<script>x</script>";
        let me = minijinja::context! {
            login => "a", name => evil, role => "admin", role_label => "系统管理员", csrf => "c",
        };
        let line = minijinja::context! {
            id => "t-1", href => "/tasks/t-1", entity => evil, city => "郑州", division => "处",
            status => "已排期", next_due => "2026-01-05", days => "逾期 3 个工作日", level => "red",
        };
        let t = minijinja::context! {
            id => "t-1", entity => evil, uscc => "u", city => "c", division => "d",
            status => "已排期", planned => (), completed => (), outcome => (), published => (),
            members => vec![evil], items => vec!["HNYJ-01"], window_end => "2026-12-31",
        };
        let letter = minijinja::context! {
            id => 3, subject => evil, status => "sent", created_at => "x", sent_at => "y",
            unit => "郑州", text => evil, acknowledged_at => (), acknowledged_by => (),
        };
        let job = minijinja::context! {
            job => "draw", label => "抽取", plan => evil, cron => evil, next_run => (), last => evil,
            paused => minijinja::context! { actor => evil, at => "t", reason => evil },
            pending => vec![minijinja::context! {
                slot => evil, status => "等待", attempts => 2, next_attempt => (), why => evil,
            }],
            due => vec![evil], open => vec![evil],
        };
        let account = minijinja::context! {
            login => "a", name => evil, role => "admin", scope => (), disabled_at => (),
        };
        let plan = minijinja::context! { id => "p", year => 2026, file => evil, manifest => (), draw => () };
        let pages = [
            (
                "login.html",
                minijinja::context! { csrf => "c", error => evil },
            ),
            (
                "message.html",
                minijinja::context! { title => evil, text => evil },
            ),
            (
                "tasks.html",
                minijinja::context! {
                    me, lines => vec![line], view => "open", total => 1, page => 0, pages => 2,
                },
            ),
            (
                "task.html",
                minijinja::context! {
                    me, error => evil, t, may_record => true, warnings => vec![evil],
                    may_attach => true, max_mib => 10,
                    files => vec![minijinja::context! {
                        name => evil, size => 3, type => "image/png", at => "a", actor => evil,
                        sha256 => "ab", href => "/tasks/t-1/files/ab",
                    }],
                    deadlines => vec![minijinja::context! { what => "公示", due => "d", days => "2" }],
                    facts => vec![minijinja::context! {
                        effective => "d", recorded_at => "r", actor => evil, event => "e", detail => evil,
                    }],
                },
            ),
            (
                "letters.html",
                minijinja::context! { me, rows => vec![letter], may_ack => true },
            ),
            (
                "admin.html",
                minijinja::context! {
                    me, notice => evil, error => evil, accounts => vec![account],
                    jobs => minijinja::context! { total => 4, paused => 1, pending => 0, due => 0 },
                    audit_head => evil, leader => evil,
                    plans => vec![plan], outbox => minijinja::context! { sent => 1 }, overdue => 0,
                    tasks => minijinja::context! { drawn => 1 }, may_act => true,
                    roles => ["admin"], files => vec![evil],
                },
            ),
            (
                "jobs.html",
                minijinja::context! {
                    me, notice => evil, error => evil, jobs => vec![job], may_act => true,
                    runs => vec![minijinja::context! {
                        job => "抽取", owner => evil, slot => "s", status => "完成", attempts => 1,
                        started_at => "t", duration_ms => 3, why => evil,
                    }],
                    controls => vec![minijinja::context! {
                        id => 1, at => "t", actor => evil, action => "暂停", job => "抽取",
                        owner => "*", slot => (), reason => evil,
                    }],
                },
            ),
            (
                "eligibility.html",
                minijinja::context! {
                    me, plans => vec![minijinja::context! { id => evil, year => 2024 }],
                    shown => minijinja::context! {
                        plan => evil, year => 2024, manifest => "manifest-1.json", officers => 3,
                        eligible => 2,
                        not_eligible => vec![minijinja::context! { officer => evil, why => evil }],
                        recusals => vec![minijinja::context! { officer => "o", entity => evil, why => "x" }],
                    },
                },
            ),
            (
                "confirm.html",
                minijinja::context! {
                    me, what => evil, title => "暂停", job => "draw", plan => evil,
                    action => "pause", slot => evil,
                },
            ),
            (
                "plans.html",
                minijinja::context! {
                    me, plans => vec![minijinja::context! {
                        file => evil, ok => false, findings => vec![evil], strata => Vec::<()>::new(),
                        evaluated => evil, sha256 => "a", running_sha256 => "b",
                        compared => minijinja::context! {
                            problem => (),
                            changes => vec![minijinja::context! { path => evil, old => evil, new => "1" }],
                            lines => vec![vec![minijinja::context! {
                                tag => "removed", old => 3, new => (), text => evil,
                            }]],
                        },
                    }],
                },
            ),
        ];
        for (name, values) in pages {
            let html = env
                .get_template(name)
                .and_then(|t| t.render(values))
                .unwrap_or_else(|e| panic!("{name}: {e:#}"));
            assert!(!html.contains("<script>"), "{name}: {html}");
            assert!(html.contains("&lt;script&gt;"), "{name}");
        }
    }
}
