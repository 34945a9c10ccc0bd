//! `suiji doctor`: whether a deployment can do its year, each check with ok, warn or fail and
//! one sentence of remedy: the time zone, the database, the rule files, the holiday data for
//! this year and next, the folders it writes, the mail relay, the clock and the daemon. It
//! reads only; a database that is missing is a finding, not created.

use std::path::Path;
use std::time::Duration;

use chrono::Datelike;
use serde::Serialize;

use crate::clock::Clock;
use crate::config::Settings;
use crate::store::{Store, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Ok,
    Warn,
    Fail,
}

#[derive(Debug, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub level: Level,
    pub says: String,
    /// What to do about a warning or a failure.
    pub remedy: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Doctor {
    /// No check failed.
    pub ok: bool,
    pub checks: Vec<Check>,
}

fn check(name: &'static str, level: Level, says: String, remedy: Option<&str>) -> Check {
    Check {
        name,
        level,
        says,
        remedy: remedy.map(str::to_string),
    }
}

pub async fn doctor(settings: &Settings, clock: &dyn Clock) -> Doctor {
    let mut checks = vec![if settings.timezone == "Asia/Shanghai" {
        check("timezone", Level::Ok, "Asia/Shanghai".into(), None)
    } else {
        check(
            "timezone",
            Level::Fail,
            format!("timezone is `{}`", crate::text::quote(&settings.timezone)),
            Some("set timezone = \"Asia/Shanghai\": the law's days are Beijing's"),
        )
    }];
    let store = match Store::open_existing(&settings.database.url, &settings.database).await {
        Ok(store) => {
            checks.push(database(&store, settings).await);
            Some(store)
        }
        Err(e) => {
            let remedy = match &e {
                StoreError::Missing(_) => {
                    "create it with `suiji init` (or `suiji import`), or point --db / database.url \
                     at the right one"
                }
                StoreError::Newer { .. } => "run the suiji version that wrote it, or a newer one",
                _ => "check database.url (SUIJI_DATABASE__URL) and that the server runs",
            };
            checks.push(check("database", Level::Fail, e.to_string(), Some(remedy)));
            None
        }
    };
    checks.extend(rules(store.as_ref(), settings).await);
    checks.push(holidays(settings, clock));
    for (what, dir) in [
        ("data folder", settings.daemon.data_dir.as_path()),
        ("public folder", settings.public_dir()),
    ] {
        checks.push(writable(what, dir));
    }
    checks.push(mail(settings).await);
    if let Some(store) = &store {
        checks.push(clock_check(store, clock).await);
        checks.push(daemon(store, settings, clock).await);
        if let Some(c) = console(store, settings).await {
            checks.push(c);
        }
        if let Some(c) = sso(settings).await {
            checks.push(c);
        }
        store.close().await;
    }
    Doctor {
        ok: checks.iter().all(|c| c.level != Level::Fail),
        checks,
    }
}

async fn database(store: &Store, settings: &Settings) -> Check {
    let (mode, stats) = match (store.mode().await, store.stats().await) {
        (Ok(m), Ok(s)) => (m, s),
        (Err(e), _) | (_, Err(e)) => {
            return check(
                "database",
                Level::Fail,
                e.to_string(),
                Some("check the database server and its permissions"),
            );
        }
    };
    let n = |k: &str| stats.counts.get(k).copied().unwrap_or(0);
    let says = format!(
        "{} ({:?}, {:?} store): {} entities, {} officers, {} tasks",
        settings.database.url,
        stats.backend,
        mode,
        n("entities"),
        n("officers"),
        n("tasks")
    );
    if n("entities") == 0 || n("officers") == 0 {
        check(
            "database",
            Level::Warn,
            says,
            Some("import the registry: suiji import entities FILE, officers, items, bureaus"),
        )
    } else {
        check("database", Level::Ok, says, None)
    }
}

async fn rules(store: Option<&Store>, settings: &Settings) -> Vec<Check> {
    let files = super::plan::plan_files(settings, &[]);
    let Some(store) = store else {
        return vec![check(
            "rules",
            Level::Warn,
            "not checked: the plans are checked against the registry in the database".into(),
            Some("fix the database first"),
        )];
    };
    let rc = match super::plan::context(store, settings).await {
        Ok(rc) => rc,
        Err(e) => {
            return vec![check(
                "rules",
                Level::Fail,
                e.to_string(),
                Some("fix the holiday data or the vocabulary in the configuration"),
            )];
        }
    };
    let mut out = Vec::new();
    for file in files {
        let loaded = super::plan::read_script(&file)
            .map(|(name, text)| crate::rules::load(&name, &text, &rc));
        out.push(match loaded {
            Err(e) => check(
                "rules",
                Level::Fail,
                e.to_string(),
                Some("point rules.file (or rules.plans) at the year's plan"),
            ),
            Ok(Err(findings)) => check(
                "rules",
                Level::Fail,
                format!(
                    "{}: does not pass its check ({} finding(s); the first: {})",
                    file.display(),
                    findings.len(),
                    findings.first().map(|f| f.to_string()).unwrap_or_default()
                ),
                Some("run `suiji rules check` and fix what it says"),
            ),
            Ok(Ok(c)) if !c.findings.is_empty() => check(
                "rules",
                Level::Warn,
                format!(
                    "{}: plan {} checks, with {} warning(s)",
                    file.display(),
                    c.plan.id,
                    c.findings.len()
                ),
                Some("read them with `suiji rules check`"),
            ),
            Ok(Ok(c)) => check(
                "rules",
                Level::Ok,
                format!("{}: plan {} checks", file.display(), c.plan.id),
                None,
            ),
        });
    }
    out
}

fn holidays(settings: &Settings, clock: &dyn Clock) -> Check {
    let year = clock.today().year();
    let remedy = |y: i32| {
        format!(
            "add rules/calendar/{y}.toml from the State Council's notice on {y}'s holidays \
             (国务院办公厅关于{y}年部分节假日安排的通知)"
        )
    };
    match super::plan::calendar(settings) {
        Err(e) => check(
            "holidays",
            Level::Fail,
            e.to_string(),
            Some("fix the files in calendar.dir"),
        ),
        Ok(cal) if cal.year(year).is_err() => check(
            "holidays",
            Level::Fail,
            format!("no holiday data for {year}: no working-day deadline can be computed"),
            Some(&remedy(year)),
        ),
        Ok(cal) if cal.year(year + 1).is_err() => check(
            "holidays",
            Level::Warn,
            format!(
                "{year}'s data is there; {}'s is not (deadlines running into it wait for it)",
                year + 1
            ),
            Some(&remedy(year + 1)),
        ),
        Ok(_) => check(
            "holidays",
            Level::Ok,
            format!("{year} and {}", year + 1),
            None,
        ),
    }
}

/// Whether suiji can create files in `dir` (created if missing, as the daemon would).
fn writable(what: &'static str, dir: &Path) -> Check {
    let probe = dir.join(format!(".suiji-doctor-{}", std::process::id()));
    let result = std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(&probe, b"probe"))
        .and_then(|()| std::fs::remove_file(&probe));
    match result {
        Ok(()) => check(
            what,
            Level::Ok,
            format!("{} is writable", dir.display()),
            None,
        ),
        Err(e) => check(
            what,
            Level::Fail,
            format!("{}: {e}", dir.display()),
            Some("give the service's user write access to it (systemd: ReadWritePaths=)"),
        ),
    }
}

async fn mail(settings: &Settings) -> Check {
    let smtp = &settings.smtp;
    if smtp.host.is_empty() {
        return check(
            "mail",
            Level::Warn,
            format!(
                "no smtp.host: letters are written as .eml files in {}",
                settings.daemon.data_dir.join("mail").display()
            ),
            Some("set smtp.host (and the password in the environment) to send them"),
        );
    }
    if let Err(e) = smtp.resolved_password() {
        return check(
            "mail",
            Level::Fail,
            e.to_string(),
            Some("make smtp.password_file readable by the service's user"),
        );
    }
    let wait = Duration::from_secs(smtp.timeout_secs.clamp(1, 10));
    let at = format!("{}:{}", smtp.host, smtp.port);
    match tokio::time::timeout(wait, tokio::net::TcpStream::connect(&at)).await {
        Ok(Ok(_)) => check(
            "mail",
            Level::Ok,
            format!("{at} accepts connections"),
            Some("`suiji mail test` tries TLS, AUTH and a message"),
        ),
        Ok(Err(e)) => check(
            "mail",
            Level::Fail,
            format!("{at}: {e}"),
            Some("check smtp.host and smtp.port, and the firewall; `suiji mail test` says more"),
        ),
        Err(_) => check(
            "mail",
            Level::Fail,
            format!("{at}: no answer within {} s", wait.as_secs()),
            Some("check smtp.host and smtp.port, and the firewall"),
        ),
    }
}

/// The clock must not stand before what the store has already recorded.
async fn clock_check(store: &Store, clock: &dyn Clock) -> Check {
    let now = clock.wall();
    let last = store
        .audit_entries()
        .await
        .ok()
        .and_then(|e| e.last().map(|e| e.at.clone()))
        .and_then(|at| crate::clock::parse_time(&at));
    let says = format!("now {}", now.format("%Y-%m-%d %H:%M:%S %:z"));
    match last {
        Some(last) if now.fixed_offset() + chrono::Duration::minutes(1) < last => check(
            "clock",
            Level::Fail,
            format!(
                "{says}, before the last recorded event ({})",
                last.to_rfc3339()
            ),
            Some("set the system clock right (NTP: timedatectl set-ntp true)"),
        ),
        _ => check("clock", Level::Ok, says, None),
    }
}

async fn daemon(store: &Store, settings: &Settings, clock: &dyn Clock) -> Check {
    let start = "start it: systemctl enable --now suiji (or suiji serve)";
    match store.leader().await {
        Ok(Some(l)) if super::status::alive(&l, settings, clock) => check(
            "daemon",
            Level::Ok,
            format!("{} leads, last seen {}", l.holder, l.seen),
            None,
        ),
        Ok(Some(l)) => check(
            "daemon",
            Level::Warn,
            format!("no daemon seen since {} ({})", l.seen, l.holder),
            Some(start),
        ),
        Ok(None) => check(
            "daemon",
            Level::Warn,
            "no daemon has run on this database".into(),
            Some(start),
        ),
        Err(e) => check("daemon", Level::Fail, e.to_string(), None),
    }
}

/// With single sign-on on: its settings are whole, the secret is at hand, and the provider
/// answers with its discovery document for the configured issuer.
async fn sso(settings: &Settings) -> Option<Check> {
    let o = &settings.console.oidc;
    if settings.console.listen.is_empty() || !o.enabled() {
        return None;
    }
    let fail = |says: String, remedy: &str| Some(check("sso", Level::Fail, says, Some(remedy)));
    if o.client_id.is_empty() || o.redirect_url.is_empty() {
        return fail(
            "console.oidc needs client_id and redirect_url".into(),
            "as registered with the provider: the redirect is https://HOST/login/sso/callback",
        );
    }
    match o.secret() {
        Ok(s) if !s.is_empty() => {}
        Ok(_) => {
            return fail(
                "console.oidc has no client secret".into(),
                "set SUIJI_CONSOLE__OIDC__CLIENT_SECRET or console.oidc.client_secret_file",
            );
        }
        Err(e) => return fail(e.to_string(), "make the secret file readable by suiji"),
    }
    let tls = match o.tls() {
        Ok(t) => t,
        Err(e) => return fail(e.to_string(), "console.oidc.ca_file must be a PEM file"),
    };
    let issuer = o.issuer.clone();
    let found = tokio::task::spawn_blocking(move || crate::sso::discover(&issuer, tls)).await;
    Some(match found {
        Ok(Ok(p)) => check(
            "sso",
            Level::Ok,
            format!(
                "{} answers (sign-in at {})",
                p.issuer, p.authorization_endpoint
            ),
            None,
        ),
        Ok(Err(e)) => check(
            "sso",
            Level::Fail,
            e.to_string(),
            Some("check console.oidc.issuer and that this host reaches the provider"),
        ),
        Err(e) => check("sso", Level::Fail, e.to_string(), None),
    })
}

/// With the console on: its address parses, and someone can administer it.
async fn console(store: &Store, settings: &Settings) -> Option<Check> {
    let listen = &settings.console.listen;
    if listen.is_empty() {
        return None;
    }
    if listen.parse::<std::net::SocketAddr>().is_err() {
        return Some(check(
            "console",
            Level::Fail,
            format!(
                "console.listen `{}` is not an address",
                crate::text::quote(listen)
            ),
            Some("write it as IP:PORT, e.g. 127.0.0.1:8080 (the reverse proxy forwards to it)"),
        ));
    }
    let admins = match store.accounts().await {
        Ok(a) => a
            .iter()
            .filter(|a| a.role == "admin" && a.disabled_at.is_none())
            .count(),
        Err(e) => return Some(check("console", Level::Fail, e.to_string(), None)),
    };
    Some(if admins == 0 {
        check(
            "console",
            Level::Warn,
            format!("served on {listen}, but no enabled admin account exists"),
            Some("add one: suiji user add LOGIN --name NAME --role admin"),
        )
    } else if !settings.console.behind_tls_proxy {
        check(
            "console",
            Level::Warn,
            format!("served on {listen} with cookies not marked Secure (behind_tls_proxy = false)"),
            Some("serve it only behind the department's TLS proxy, with behind_tls_proxy = true"),
        )
    } else {
        check(
            "console",
            Level::Ok,
            format!("served on {listen}; {admins} enabled admin account(s)"),
            None,
        )
    })
}
