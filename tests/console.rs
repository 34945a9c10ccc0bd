//! The web console served by the real daemon on a production store, both databases: in
//! Chromium, an admin enters the seed a waiting draw needs and the draw runs; a division
//! schedules, completes and publishes its own task, which reaches the public site and the
//! audit log under its account; a bureau acknowledges its 函告. Over plain HTTP, every page and
//! action without a session leads to the login, each role is refused the others' pages and
//! tasks (IDOR), a POST without or with a wrong CSRF token is refused, hostile text from the
//! registry and from forms is escaped, 20 wrong passwords throttle, cookies carry their flags,
//! and a session id from before a login is worthless after it.

mod common;

use std::io::Write;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::browser::Browser;
use common::http::{self, form, request};
use common::{TestDb, repo};
use serde_json::Value;

const XSS: &str = "<img src=x onerror=alert(1)>";
const SEED: &str = "03071218253109";

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The task ids the list page in the browser shows.
fn task_ids(b: &mut Browser) -> Vec<String> {
    b.eval("[...document.querySelectorAll('#tasks tbody tr td:first-child a')].map(a => a.textContent)")
        .as_array()
        .expect("ids")
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

/// `suiji serve` with the console, its log in the test's folder.
fn serve(db: &TestDb, config: &str, plan: &str) -> Daemon {
    let log = std::fs::File::create(db.path().join("serve.log")).expect("log");
    Daemon(
        db.bare()
            .args(["--db", &db.url, "--config", config, "serve", "--plan", plan])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("serve"),
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn wait_for(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < limit {
        if ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    panic!("{what}: not within {limit:?}");
}

/// The Henan registry with a script-like prefix on every entity's name.
fn hostile_registry(db: &TestDb) -> std::path::PathBuf {
    let to = db.path().join("registry");
    common::copy_dir(&repo("examples/henan"), &to);
    let text = std::fs::read_to_string(to.join("entities.csv")).expect("entities");
    let lines: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(i, line)| {
            let mut cells: Vec<String> = line.split(',').map(str::to_string).collect();
            if i > 0 {
                cells[1] = format!("{XSS}{}", cells[1]);
            }
            cells.join(",")
        })
        .collect();
    std::fs::write(to.join("entities.csv"), lines.join("\n") + "\n").expect("write");
    to
}

fn add_user(db: &TestDb, config: &str, login: &str, role: &str, scope: Option<&str>) {
    let mut args = vec![
        "--db",
        &db.url,
        "--config",
        config,
        "user",
        "add",
        login,
        "--name",
        login,
        "--role",
        role,
        "--password-stdin",
    ];
    if let Some(s) = scope {
        args.extend(["--scope", s]);
    }
    let mut child = db
        .bare()
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("user add");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{login}-password-1\n").as_bytes())
        .expect("password");
    let out = child.wait_with_output().expect("user add");
    common::assert_ok(&out, &["user", "add", login]);
}

fn password(login: &str) -> String {
    format!("{login}-password-1")
}

/// A login attempt over HTTP, as a browser makes it: the form (and its pre-login cookie),
/// then the POST.
fn attempt(addr: &str, login: &str, password: &str) -> http::Response {
    let page = request(addr, "GET", "/login", None, None);
    let pre = page.cookie("suiji_login").expect("pre-login cookie");
    let csrf = page.input("csrf").expect("csrf in the form");
    request(
        addr,
        "POST",
        "/login",
        Some(&format!("suiji_login={pre}")),
        Some(&form(&[
            ("csrf", &csrf),
            ("login", login),
            ("password", password),
        ])),
    )
}

/// Logs in over HTTP; returns the session cookie ("name=value") and the page's CSRF token.
fn login(addr: &str, login: &str) -> (String, String) {
    let r = attempt(addr, login, &password(login));
    assert_eq!(r.status, 303, "{login}: {}", r.body);
    let session = r.cookie("suiji_session").expect("session cookie");
    let cookie = format!("suiji_session={session}");
    let home = request(addr, "GET", "/tasks", Some(&cookie), None);
    let csrf = home.input("csrf").unwrap_or_default();
    (cookie, csrf)
}

fn a_year_in_the_console(db: &TestDb) {
    let registry = hostile_registry(db);
    common::import_registry(db, &registry);
    let (plan, available, layer) = common::live_plan(db, 20);
    // Today is a working day in this test's calendar, whatever the date: a division can then
    // schedule, inspect and publish today.
    let today = chrono::Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("+08"))
        .date_naive();
    let year = chrono::Datelike::year(&today);
    let calendar = db.path().join("calendar");
    std::fs::write(
        calendar.join(format!("{year}.toml")),
        format!(
            "year = {year}\nnotice = \"test data\"\nurl = \"https://example.gov.cn/\"\n\
             holidays = []\nworkdays = [\"{today}\"]\n"
        ),
    )
    .expect("calendar");
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let config = db.path().join("console.toml");
    std::fs::write(
        &config,
        format!(
            "{layer}[console]\nlisten = \"{addr}\"\nbehind_tls_proxy = false\n\
             [daemon]\nwaiting_recheck_secs = 1\n[notify]\nhold_secs = 1\n"
        ),
    )
    .expect("config");
    let config = config.display().to_string();
    add_user(db, &config, "admin1", "admin", None);
    add_user(db, &config, "div1", "division", Some("hazchem"));
    add_user(
        db,
        &config,
        "div2",
        "division",
        Some("危险化学品监督管理处"),
    );
    add_user(db, &config, "noncoal1", "division", Some("noncoal"));
    add_user(db, &config, "aud1", "auditor", None);
    let _daemon = serve(db, &config, &plan);
    wait_for("the console", Duration::from_secs(30), || {
        std::net::TcpStream::connect(&addr).is_ok()
    });
    let base = format!("http://{addr}");

    // The admin, in the browser: she pauses the draw job (confirmed, with a reason); the draw
    // comes due and waits for the lottery's digits; she enters them, and the paused job still
    // holds its slot; she runs it by hand, then resumes the job.
    let Some(mut b) = Browser::launch() else {
        return;
    };
    browser_login(&mut b, &base, "admin1");
    let control = |b: &mut Browser, link: &str, reason: &str| {
        b.goto(&format!("{base}/admin/jobs"));
        submit(
            b,
            &format!("document.querySelector('#job-draw-henan-2024 {link}').click()"),
        );
        submit(
            b,
            &format!(
                "const f = document.querySelector('#control'); f.reason.value = '{reason}'; \
                 f.confirm.checked = true; f.submit()"
            ),
        );
        let said = b.eval("document.querySelector('#notice, #error').textContent");
        assert!(
            said.as_str().unwrap_or("").contains("已记录"),
            "{link}: {said}"
        );
    };
    control(&mut b, "a.pause", "核对开奖号码来源");
    assert!(
        b.eval("document.querySelector('#job-draw-henan-2024 .state').textContent")
            .as_str()
            .is_some_and(|s| s.contains("已暂停") && s.contains("核对开奖号码来源")),
        "{}",
        b.eval("document.body.innerHTML")
    );
    common::wait_until(available);
    b.goto(&format!("{base}/admin"));
    submit(
        &mut b,
        &format!(
            "document.querySelector('#seed input[name=digits]').value = '{SEED}'; \
             document.querySelector('#seed button').click()"
        ),
    );
    let said = b.eval("document.querySelector('#notice, #error').textContent");
    assert!(
        said.as_str().unwrap_or("").contains("随机数已录入"),
        "{said}"
    );
    // The daemon looks every second here: three looks, and the paused draw has not run.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(db.json(&["task", "list", "--json"]), serde_json::json!([]));
    let held = db.json(&["status", "--json"]);
    let draw = held["jobs"]
        .as_array()
        .and_then(|j| j.iter().find(|j| j["job"] == "draw"))
        .expect("draw job");
    assert_eq!(draw["paused"]["actor"], "console:admin1", "{draw}");
    assert_eq!(draw["due"].as_array().map(Vec::len), Some(1), "{draw}");
    control(&mut b, "a.run", "号码已核对");
    wait_for("the draw", Duration::from_secs(60), || {
        db.json(&["task", "list", "--json"])
            .as_array()
            .is_some_and(|t| !t.is_empty())
    });
    control(&mut b, "a.resume", "核对完毕");
    let controls = db.query_strings(
        "SELECT action || ' ' || actor || ' ' || subject FROM audit_log WHERE action LIKE 'job.%' \
         ORDER BY seq",
    );
    assert_eq!(
        controls,
        [
            "job.pause console:admin1 henan-2024/draw",
            "job.run console:admin1 henan-2024/draw",
            "job.resume console:admin1 henan-2024/draw",
        ]
    );
    browser_logout(&mut b);

    // A division: its list holds only its own tasks; it schedules, inspects and publishes one.
    let tasks = db.json(&["task", "list", "--json"]);
    let tasks = tasks.as_array().expect("tasks");
    let of = |division: &str| -> Vec<&Value> {
        tasks.iter().filter(|t| t["division"] == division).collect()
    };
    let hazchem = of("hazchem");
    let noncoal = of("noncoal");
    let mine = hazchem[0]["id"].as_str().expect("id").to_string();
    let later = hazchem[1]["id"].as_str().expect("id").to_string();
    let theirs = noncoal[0]["id"].as_str().expect("id").to_string();
    browser_login(&mut b, &base, "div1");
    b.goto(&format!("{base}/tasks"));
    let listed = task_ids(&mut b);
    assert_eq!(
        listed.len(),
        hazchem.len(),
        "{}",
        b.eval("document.body.innerHTML")
    );
    assert!(
        listed.iter().all(|id| id.contains("-hazchem-")),
        "{listed:?}"
    );
    b.goto(&format!("{base}/tasks/{mine}"));
    for (form_id, fill) in [
        ("schedule", format!("f.date.value = '{today}'")),
        (
            "complete",
            format!("f.date.value = '{today}'; f.outcome.value = 'issues-found'"),
        ),
        ("publish", format!("f.date.value = '{today}'")),
    ] {
        submit(
            &mut b,
            &format!("const f = document.querySelector('#{form_id}'); {fill}; f.submit()"),
        );
        let error = b.eval("document.querySelector('#error')?.textContent ?? ''");
        assert_eq!(error, "", "{form_id}");
    }
    assert_eq!(
        b.eval("document.querySelector('#status').textContent"),
        "已公示"
    );
    // A later date for another task: its bureau is told (函告).
    // Three working days ahead: the 函告's day (3 working days before) is today.
    let mut in_a_week = today;
    for _ in 0..3 {
        in_a_week += chrono::Duration::days(1);
        while chrono::Datelike::weekday(&in_a_week).number_from_monday() > 5 {
            in_a_week += chrono::Duration::days(1);
        }
    }
    b.goto(&format!("{base}/tasks/{later}"));
    submit(
        &mut b,
        &format!(
            "const f = document.querySelector('#schedule'); f.date.value = '{in_a_week}'; \
             f.submit()"
        ),
    );
    let error = b.eval("document.querySelector('#error')?.textContent ?? ''");
    assert_eq!(error, "", "schedule {in_a_week}");
    // The view of what is overdue or due within five working days: by each task's next
    // deadline (five working days lie within 5 to 9 calendar days here: no holidays).
    b.goto(&format!("{base}/tasks?view=soon"));
    let soon = task_ids(&mut b);
    let listed = db.json(&["task", "list", "--division", "hazchem", "--json"]);
    for t in listed.as_array().expect("tasks") {
        let (id, due) = (t["id"].as_str().unwrap_or(""), t["next_due"].as_str());
        let days = due
            .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .map(|d| (d - today).num_days());
        match days {
            Some(n) if n <= 5 => assert!(
                soon.iter().any(|s| s == id),
                "{id} due in {n} days: {soon:?}"
            ),
            Some(n) if n > 9 => assert!(!soon.iter().any(|s| s == id), "{id} due in {n} days"),
            None => assert!(!soon.iter().any(|s| s == id), "{id} owes nothing"),
            _ => {}
        }
    }
    browser_logout(&mut b);
    // On the public site, and in the task's record and the audit chain under the account.
    let results = db
        .path()
        .join(format!("public/{year}/henan-2024/results.json"));
    let published = std::fs::read_to_string(&results).expect("results.json");
    assert!(published.contains(&mine), "{published}");
    let shown = db.json(&["task", "show", &mine, "--json"]);
    let actors: Vec<&str> = shown["recorded"]
        .as_array()
        .expect("facts")
        .iter()
        .filter_map(|f| f["actor"].as_str())
        .collect();
    assert_eq!(
        actors.iter().filter(|a| **a == "console:div1").count(),
        3,
        "{actors:?}"
    );
    let audited = db.query_strings("SELECT actor FROM audit_log WHERE actor = 'console:div1'");
    assert_eq!(audited.len(), 4, "{audited:?}");

    // The bureau of that task's municipal unit acknowledges the 函告 once it was sent.
    let unit = tasks
        .iter()
        .find(|t| t["id"] == later.as_str())
        .and_then(|t| t["city"].as_str())
        .map(|c| c[..4].to_string())
        .expect("city");
    add_user(db, &config, "bureau1", "bureau", Some(&unit));
    browser_login(&mut b, &base, "bureau1");
    let mut ack = None;
    wait_for("the 函告 sent", Duration::from_secs(60), || {
        b.goto(&format!("{base}/letters"));
        ack = b
            .eval("document.querySelector('#letters button')?.id ?? null")
            .as_str()
            .map(String::from);
        ack.is_some()
    });
    let ack = ack.expect("a letter to acknowledge");
    submit(&mut b, &format!("document.querySelector('#{ack}').click()"));
    b.wait_for("document.body.textContent.includes('已签收')", 30);
    browser_logout(&mut b);

    let mine_city = tasks
        .iter()
        .find(|t| t["id"] == mine.as_str())
        .and_then(|t| t["city"].as_str())
        .unwrap_or("");
    security(db, &addr, (&mine, &theirs), mine_city.starts_with(&unit));
    assert_eq!(db.json(&["audit", "verify", "--json"])["ok"], true);
}

on_both_backends!(a_year_in_the_console, production);

fn browser_login(b: &mut Browser, base: &str, login: &str) {
    b.goto(&format!("{base}/login"));
    b.eval(&format!(
        "document.querySelector('#login').value = '{login}'; \
         document.querySelector('#password').value = '{}'; \
         document.querySelector('#submit').click(); true",
        password(login)
    ));
    b.wait_for(
        "document.readyState === 'complete' && !location.pathname.startsWith('/login')",
        30,
    );
}

/// Runs `js` (which submits a form) and waits for the page it leads to.
fn submit(b: &mut Browser, js: &str) {
    b.eval(&format!("window.__suijiLeaving = true; {js}; true"));
    b.wait_for(
        "!window.__suijiLeaving && document.readyState === 'complete'",
        30,
    );
}

fn browser_logout(b: &mut Browser) {
    b.eval("document.querySelector('form[action=\"/logout\"] button').click(); true");
    b.wait_for(
        "location.pathname === '/login' && document.readyState === 'complete'",
        30,
    );
}

/// Everything a hostile user tries over HTTP.
fn security(db: &TestDb, addr: &str, (mine, theirs): (&str, &str), bureau_sees_mine: bool) {
    // Without a session: the login page, for every page and action.
    let get = [
        "/",
        "/tasks",
        &format!("/tasks/{mine}"),
        "/letters",
        "/admin",
        "/admin/jobs",
        "/admin/jobs/confirm?job=nightly&action=pause",
        "/admin/plans",
        "/admin/eligibility",
    ];
    for path in get {
        let r = request(addr, "GET", path, None, None);
        assert_eq!(
            (r.status, r.header("location")),
            (303, Some("/login")),
            "GET {path}"
        );
    }
    let post = [
        format!("/tasks/{mine}"),
        "/letters/1/ack".into(),
        "/admin/users".into(),
        "/admin/seed".into(),
        "/admin/jobs".into(),
        "/admin/eligibility".into(),
        "/logout".into(),
    ];
    for path in &post {
        let r = request(addr, "POST", path, None, Some("csrf=x"));
        assert_eq!(
            (r.status, r.header("location")),
            (303, Some("/login")),
            "POST {path}"
        );
    }
    // Every page says no script may run and no frame may hold it.
    let r = request(addr, "GET", "/login", None, None);
    assert!(
        r.header("content-security-policy")
            .is_some_and(|c| c.contains("default-src 'none'")),
        "{:?}",
        r.headers
    );
    // Cookies: HttpOnly and SameSite=Strict (Secure when behind the TLS proxy, off here).
    for c in r.set_cookies() {
        assert!(
            c.contains("HttpOnly") && c.contains("SameSite=Strict"),
            "{c}"
        );
    }
    // A login with the pre-login token missing or wrong is refused.
    let pre = r.cookie("suiji_login").expect("pre");
    let body = form(&[
        ("csrf", "wrong"),
        ("login", "div1"),
        ("password", &password("div1")),
    ]);
    let refused = request(
        addr,
        "POST",
        "/login",
        Some(&format!("suiji_login={pre}")),
        Some(&body),
    );
    assert_eq!(refused.status, 403);

    // A session id planted before the login is worthless after it (a new one is issued).
    let planted = "suiji_session=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let csrf = r.input("csrf").expect("csrf");
    let both = format!("{planted}; suiji_login={pre}");
    let ok = request(
        addr,
        "POST",
        "/login",
        Some(&both),
        Some(&form(&[
            ("csrf", &csrf),
            ("login", "div1"),
            ("password", &password("div1")),
        ])),
    );
    assert_eq!(ok.status, 303);
    let issued = ok.cookie("suiji_session").expect("a new session");
    assert!(!planted.ends_with(&issued));
    assert_eq!(
        request(addr, "GET", "/tasks", Some(planted), None).status,
        303
    );
    let cookie = ok
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("suiji_session"))
        .expect("cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );

    let (div1, div1_csrf) = login(addr, "div1");
    let (noncoal, noncoal_csrf) = login(addr, "noncoal1");
    let (aud, aud_csrf) = login(addr, "aud1");
    let (bureau, bureau_csrf) = login(addr, "bureau1");
    let (admin, admin_csrf) = login(addr, "admin1");

    // CSRF: a POST without the token, or with another session's, is refused.
    let schedule = |csrf: &str| {
        form(&[
            ("csrf", csrf),
            ("action", "schedule"),
            ("date", "2099-01-01"),
        ])
    };
    let path = format!("/tasks/{mine}");
    for csrf in ["", "0000", &noncoal_csrf] {
        let r = request(addr, "POST", &path, Some(&div1), Some(&schedule(csrf)));
        assert_eq!(r.status, 403, "csrf {csrf:?}: {}", r.body);
    }
    let r = request(
        addr,
        "POST",
        &path,
        Some(&div1),
        Some("action=schedule&date=2099-01-01"),
    );
    assert_eq!(r.status, 403);
    // The rules' refusal, in the page's language: the task was published, its date is only
    // corrected.
    let r = request(
        addr,
        "POST",
        &path,
        Some(&div1),
        Some(&schedule(&div1_csrf)),
    );
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        r.body
            .contains("不能排期：任务已公示：计划检查日期只能通过更正修改"),
        "{}",
        r.body
    );

    // IDOR: another division's task, by URL, read or written: as if it did not exist.
    let r = request(addr, "GET", &path, Some(&noncoal), None);
    assert_eq!(r.status, 404, "{}", r.body);
    let r = request(addr, "GET", &path, Some(&bureau), None);
    assert_eq!(r.status, if bureau_sees_mine { 200 } else { 404 });
    for (who, csrf) in [(&noncoal, &noncoal_csrf), (&bureau, &bureau_csrf)] {
        let w = request(addr, "POST", &path, Some(who), Some(&schedule(csrf)));
        assert!(matches!(w.status, 403 | 404), "{}: {}", w.status, w.body);
    }
    let r = request(addr, "GET", &format!("/tasks/{theirs}"), Some(&div1), None);
    assert_eq!(r.status, 404);
    let r = request(addr, "GET", "/tasks/no-such-task", Some(&div1), None);
    assert_eq!(r.status, 404);
    // The auditor reads everything and changes nothing.
    assert_eq!(request(addr, "GET", &path, Some(&aud), None).status, 200);
    assert_eq!(request(addr, "GET", "/admin", Some(&aud), None).status, 200);
    let w = request(addr, "POST", &path, Some(&aud), Some(&schedule(&aud_csrf)));
    assert_eq!(w.status, 403);
    let add = |csrf: &str| {
        form(&[
            ("csrf", csrf),
            ("op", "add"),
            ("login", "x1"),
            ("name", "x"),
            ("role", "admin"),
        ])
    };
    for (who, csrf) in [
        (&aud, &aud_csrf),
        (&div1, &div1_csrf),
        (&bureau, &bureau_csrf),
    ] {
        let r = request(addr, "POST", "/admin/users", Some(who), Some(&add(csrf)));
        assert_eq!(r.status, 403, "{}", r.body);
        let r = request(
            addr,
            "POST",
            "/admin/seed",
            Some(who),
            Some(&format!("csrf={csrf}&digits=1")),
        );
        assert_eq!(r.status, 403);
        let pause = form(&[
            ("csrf", csrf),
            ("job", "nightly"),
            ("action", "pause"),
            ("reason", "x"),
            ("confirm", "yes"),
        ]);
        let r = request(addr, "POST", "/admin/jobs", Some(who), Some(&pause));
        assert_eq!(r.status, 403, "{}", r.body);
        let r = request(
            addr,
            "GET",
            "/admin/jobs/confirm?job=nightly&action=pause",
            Some(who),
            None,
        );
        assert_eq!(r.status, 403);
    }
    // An admin's control needs the CSRF token and the confirmation; a job or slot that does
    // not exist, a slot not open to run, a pause of a paused job are refused.
    let ask = |csrf: &str, fields: &[(&str, &str)]| {
        let mut all = vec![
            ("csrf", csrf),
            ("reason", "<script>alert('job')</script>"),
            ("confirm", "yes"),
        ];
        all.extend_from_slice(fields);
        request(addr, "POST", "/admin/jobs", Some(&admin), Some(&form(&all)))
    };
    let nightly = [("job", "nightly"), ("action", "pause")];
    assert_eq!(ask("", &nightly).status, 403);
    assert_eq!(ask(&aud_csrf, &nightly).status, 403);
    let unconfirmed = form(&[
        ("csrf", &admin_csrf),
        ("job", "nightly"),
        ("action", "pause"),
        ("reason", "x"),
    ]);
    let r = request(
        addr,
        "POST",
        "/admin/jobs",
        Some(&admin),
        Some(&unconfirmed),
    );
    assert_eq!(r.status, 422, "{}", r.body);
    for bad in [
        vec![("job", "rm -rf"), ("action", "pause")],
        vec![
            ("job", "draw"),
            ("plan", "no-such-plan"),
            ("action", "pause"),
        ],
        vec![
            ("job", "nightly"),
            ("plan", "henan-2024"),
            ("action", "pause"),
        ],
        vec![
            ("job", "draw"),
            ("plan", "henan-2024"),
            ("action", "run"),
            ("slot", "2099-01-01T00:00:00+08:00"),
        ],
        vec![
            ("job", "draw"),
            ("plan", "henan-2024"),
            ("action", "resume"),
        ],
    ] {
        let r = ask(&admin_csrf, &bad);
        assert_eq!(r.status, 422, "{bad:?}: {}", r.body);
    }
    assert_eq!(ask(&admin_csrf, &nightly).status, 200);
    let again = ask(&admin_csrf, &nightly);
    assert!(
        again.status == 422 && again.body.contains("已于") && again.body.contains("暂停"),
        "{}",
        again.body
    );
    let resume = [("job", "nightly"), ("action", "resume")];
    assert_eq!(ask(&admin_csrf, &resume).status, 200);
    assert_eq!(
        request(addr, "GET", "/admin/jobs", Some(&aud), None).status,
        200
    );
    // The eligibility audit: the auditor reads it (a recorded read); nobody else but an admin.
    let year = chrono::Datelike::year(&chrono::Utc::now());
    let plan = format!("henan-2024/{year}");
    let look = |who: &str, csrf: &str| {
        request(
            addr,
            "POST",
            "/admin/eligibility",
            Some(who),
            Some(&form(&[("csrf", csrf), ("plan", &plan)])),
        )
    };
    let r = look(&aud, &aud_csrf);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("记录与名录公开的哈希值一致"), "{}", r.body);
    let reads = db.query_strings(
        "SELECT actor FROM audit_log WHERE action = 'eligibility.read' AND actor = 'console:aud1'",
    );
    assert_eq!(reads.len(), 1, "{reads:?}");
    assert_eq!(look(&aud, "").status, 403);
    assert_eq!(look(&div1, &div1_csrf).status, 403);
    assert_eq!(look(&bureau, &bureau_csrf).status, 403);
    assert_eq!(
        request(addr, "GET", "/admin/eligibility", Some(&div1), None).status,
        403
    );
    // Pages of other roles.
    for (who, page, status) in [
        (&div1, "/admin", 403),
        (&div1, "/admin/jobs", 403),
        (&div1, "/admin/plans", 403),
        (&bureau, "/admin/jobs", 403),
        (&div1, "/letters", 403),
        (&bureau, "/admin", 403),
        (&noncoal, "/letters", 403),
    ] {
        assert_eq!(
            request(addr, "GET", page, Some(who), None).status,
            status,
            "{page}"
        );
    }
    // The plans the daemon runs, checked now: admins and auditors only.
    let plans = request(addr, "GET", "/admin/plans", Some(&aud), None);
    assert_eq!(plans.status, 200);
    assert!(plans.body.contains("检查通过"), "{}", plans.body);
    assert_eq!(
        request(addr, "GET", "/admin/plans", Some(&div1), None).status,
        403
    );
    // The outbox: admins and auditors read it; only an admin puts a notice back in line.
    assert_eq!(
        request(addr, "GET", "/admin/outbox", Some(&aud), None).status,
        200
    );
    assert_eq!(
        request(
            addr,
            "GET",
            "/admin/outbox?status=failed",
            Some(&admin),
            None
        )
        .status,
        200
    );
    assert_eq!(
        request(addr, "GET", "/admin/outbox", Some(&div1), None).status,
        403
    );
    let retry = |who: &str, csrf: &str| {
        request(
            addr,
            "POST",
            "/admin/outbox/1/retry",
            Some(who),
            Some(&format!("csrf={csrf}")),
        )
        .status
    };
    assert_eq!(retry(&aud, &aud_csrf), 403);
    assert_eq!(retry(&bureau, &bureau_csrf), 403);
    assert_eq!(retry(&admin, "wrong"), 403);
    // A division cannot acknowledge a bureau's letter.
    let r = request(
        addr,
        "POST",
        "/letters/1/ack",
        Some(&div1),
        Some(&format!("csrf={div1_csrf}")),
    );
    assert_eq!(r.status, 422);

    // Hostile text: from the registry (every entity's name), from a form (a correction's
    // reason), from an account's name: escaped on every page.
    let r = request(
        addr,
        "POST",
        &path,
        Some(&div1),
        Some(&form(&[
            ("csrf", &div1_csrf),
            ("action", "correct"),
            ("field", "url"),
            ("value", "https://example.gov.cn/r"),
            ("reason", "<script>alert('reason')</script>"),
        ])),
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let r = request(
        addr,
        "POST",
        "/admin/users",
        Some(&admin),
        Some(&form(&[
            ("csrf", &admin_csrf),
            ("op", "add"),
            ("login", "evil1"),
            ("name", "<script>alert('name')</script>"),
            ("role", "auditor"),
        ])),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    for (who, page) in [
        (&div1, "/tasks".to_string()),
        (&div1, path.clone()),
        (&admin, "/admin".to_string()),
        (&admin, "/admin/jobs".to_string()),
        (&admin, "/admin/plans".to_string()),
        (&admin, "/letters".to_string()),
        (&bureau, "/letters".to_string()),
    ] {
        let r = request(addr, "GET", &page, Some(who), None);
        assert_eq!(r.status, 200, "{page}");
        assert!(!r.body.contains("<script>"), "{page}: {}", r.body);
        assert!(!r.body.contains("<img src=x"), "{page}");
    }
    let task_page = request(addr, "GET", &path, Some(&div1), None);
    assert!(
        task_page
            .body
            .contains("&lt;img src=x onerror=alert(1)&gt;")
    );

    // Attachments: a photo by its division, stored by digest, audited; what is not a PDF,
    // JPEG or PNG by its bytes is refused, whatever its name; another division never sees it.
    let png = [
        &[0x89u8, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A][..],
        b"rest of a photo",
    ]
    .concat();
    let files = format!("{path}/files");
    let up = |who: &str, csrf: &str, name: &str, bytes: &[u8]| {
        http::post_bytes(
            addr,
            &files,
            who,
            http::multipart(&[("csrf", csrf)], (name, bytes)),
        )
    };
    let r = up(&div1, &div1_csrf, "../现场照片.png", &png);
    assert_eq!(r.status, 303, "{}", r.body);
    let r = up(
        &div1,
        &div1_csrf,
        "笔录.pdf",
        b"<html><script>alert(1)</script>",
    );
    assert_eq!(r.status, 422, "{}", r.body);
    let r = up(&div1, "wrong", "x.png", &png);
    assert_eq!(r.status, 403);
    let r = up(&noncoal, &noncoal_csrf, "x.png", &png);
    assert_eq!(r.status, 404);
    let r = up(&aud, &aud_csrf, "x.png", &png);
    assert_eq!(r.status, 403);
    let big = [png.clone(), vec![0u8; 11 * 1024 * 1024]].concat();
    let r = up(&div1, &div1_csrf, "big.png", &big);
    assert!(matches!(r.status, 0 | 413), "{}: {}", r.status, r.body);
    let page = request(addr, "GET", &path, Some(&div1), None);
    assert!(page.body.contains("现场照片.png"), "{}", page.body);
    // Attribute values come escaped (`/` as `&#x2f;`), as browsers read them.
    let body = page.body.replace("&#x2f;", "/");
    assert_eq!(body.matches("/files/").count(), 1, "one file listed");
    let at = body.find(&format!("{path}/files/")).expect("link");
    let link: String = body[at..].chars().take_while(|c| *c != '"').collect();
    let sha = link.rsplit('/').next().unwrap_or("").to_string();
    let got = request(addr, "GET", &link, Some(&aud), None);
    assert_eq!(got.status, 200);
    assert!(
        got.header("content-disposition")
            .is_some_and(|d| d.starts_with("attachment"))
    );
    assert_eq!(
        request(addr, "GET", &link, Some(&noncoal), None).status,
        404
    );
    assert_eq!(
        request(
            addr,
            "GET",
            &format!("{path}/files/..%2F..%2Fsuiji.db"),
            Some(&div1),
            None
        )
        .status,
        404
    );
    let audited = db.query_strings(
        "SELECT detail FROM audit_log WHERE action = 'task.attach' AND actor = 'console:div1'",
    );
    assert_eq!(audited.len(), 1, "{audited:?}");
    assert!(audited[0].contains(&sha), "{audited:?}");

    // Logout everywhere ends every session of the account.
    let (second, _) = login(addr, "div1");
    let r = request(
        addr,
        "POST",
        "/logout",
        Some(&div1),
        Some(&format!("csrf={div1_csrf}&everywhere=1")),
    );
    assert_eq!(r.status, 303);
    for c in [&div1, &second] {
        assert_eq!(request(addr, "GET", "/tasks", Some(c), None).status, 303);
    }

    // 20 wrong passwords: the account is throttled, even for its right password.
    let statuses: Vec<u16> = (0..20)
        .map(|_| attempt(addr, "noncoal1", "wrong password!").status)
        .collect();
    assert_eq!(statuses[0], 401);
    assert!(statuses.contains(&429), "{statuses:?}");
    let r = attempt(addr, "noncoal1", &password("noncoal1"));
    assert_eq!(r.status, 429, "throttled even with the right password");
}

/// The path and query of an absolute `http://HOST:PORT/...` URL.
fn path_of(url: &str) -> &str {
    let rest = url.strip_prefix("http://").expect("http URL");
    &rest[rest.find('/').expect("a path")..]
}

/// Single sign-on against a loopback OpenID Connect provider: the login page offers it; a
/// person whose subject an admin linked signs in and gets a session like a password's; an
/// unlinked subject is told its identifier; a replayed callback, a callback without this
/// browser's state cookie, and ID tokens for another client, another sign-in or out of date
/// are refused; a disabled account stays out.
fn single_sign_on(db: &TestDb) {
    common::import_registry(db, &repo("examples/henan"));
    let (plan, _, layer) = common::live_plan(db, 3600);
    let (port, idp_port) = (free_port(), free_port());
    let addr = format!("127.0.0.1:{port}");
    let idp = format!("127.0.0.1:{idp_port}");
    let python = std::env::var("VERIFY_PYTHON").unwrap_or_else(|_| "python3".into());
    let _provider = Daemon(
        std::process::Command::new(python)
            .arg(repo("tools/oidc_provider.py"))
            .args([&idp_port.to_string(), "suiji-console", "s3cret:/&"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("provider"),
    );
    let secret = db.path().join("oidc-secret");
    std::fs::write(&secret, "s3cret:/&\n").expect("secret");
    let config = db.path().join("console.toml");
    std::fs::write(
        &config,
        format!(
            "{layer}[console]\nlisten = \"{addr}\"\nbehind_tls_proxy = false\n\
             [console.oidc]\nissuer = \"http://{idp}\"\nclient_id = \"suiji-console\"\n\
             client_secret_file = \"{}\"\nredirect_url = \"http://{addr}/login/sso/callback\"\n",
            secret.display()
        ),
    )
    .expect("config");
    let config = config.display().to_string();
    for (login, role) in [
        ("aud1", "auditor"),
        ("aud2", "auditor"),
        ("gone1", "auditor"),
    ] {
        add_user(db, &config, login, role, None);
    }
    let cli = |args: &[&str]| {
        let mut all = vec!["--db", &db.url, "--config", &config];
        all.extend_from_slice(args);
        db.bare().args(&all).output().expect("suiji")
    };
    common::assert_ok(&cli(&["user", "link", "aud1", "alice"]), &["user", "link"]);
    let taken = cli(&["user", "link", "aud2", "alice"]);
    assert_eq!(taken.status.code(), Some(2));
    assert!(
        common::stderr(&taken).contains("already"),
        "{}",
        common::stderr(&taken)
    );
    common::assert_ok(&cli(&["user", "link", "gone1", "carol"]), &["user", "link"]);
    common::assert_ok(&cli(&["user", "disable", "gone1"]), &["user", "disable"]);
    let _daemon = serve(db, &config, &plan);
    wait_for(
        "the console and the provider",
        Duration::from_secs(30),
        || {
            std::net::TcpStream::connect(&addr).is_ok()
                && std::net::TcpStream::connect(&idp).is_ok()
        },
    );
    let page = request(&addr, "GET", "/login", None, None);
    assert!(page.body.contains("href=\"/login/sso\""), "{}", page.body);
    let doctor: Value =
        serde_json::from_slice(&cli(&["doctor", "--json"]).stdout).expect("doctor --json");
    let said = doctor["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == "sso"))
        .cloned()
        .expect("an sso check");
    assert_eq!(said["level"], "ok", "{said}");

    // One sign-in up to the provider's redirect back: the callback's path and the state
    // cookie the console set.
    let to_provider = |user: &str| -> (String, String) {
        let r = request(&addr, "GET", "/login/sso", None, None);
        assert_eq!(r.status, 303, "{}", r.body);
        let state = r.cookie("suiji_sso").expect("state cookie");
        assert!(
            r.set_cookies().iter().any(|c| c.starts_with("suiji_sso=")
                && c.contains("HttpOnly")
                && c.contains("SameSite=Lax")),
            "{:?}",
            r.set_cookies()
        );
        let at = r.header("location").expect("to the provider").to_string();
        assert!(at.starts_with(&format!("http://{idp}/authorize?")), "{at}");
        let back = request(
            &idp,
            "GET",
            &format!("{}&login_hint={user}", path_of(&at)),
            None,
            None,
        );
        assert_eq!(back.status, 302, "{}", back.body);
        let callback = back.header("location").expect("back").to_string();
        (path_of(&callback).to_string(), format!("suiji_sso={state}"))
    };
    let (callback, state) = to_provider("alice");
    let signed_in = request(&addr, "GET", &callback, Some(&state), None);
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    let session = signed_in.cookie("suiji_session").expect("a session");
    let cookie = format!("suiji_session={session}");
    let tasks = request(&addr, "GET", "/tasks", Some(&cookie), None);
    assert_eq!(tasks.status, 200);
    assert!(tasks.body.contains("aud1"), "the account's page");
    let replayed = request(&addr, "GET", &callback, Some(&state), None);
    assert_eq!(replayed.status, 403, "a replay: {}", replayed.body);
    assert!(replayed.cookie("suiji_session").is_none());

    let (callback, _) = to_provider("alice");
    let no_cookie = request(&addr, "GET", &callback, None, None);
    assert_eq!(no_cookie.status, 403);
    assert!(
        no_cookie.body.contains("不是从本浏览器发起"),
        "{}",
        no_cookie.body
    );
    let (callback, _) = to_provider("alice");
    let (_, other_state) = to_provider("alice");
    let crossed = request(&addr, "GET", &callback, Some(&other_state), None);
    assert_eq!(crossed.status, 403, "another sign-in's state");

    let (callback, state) = to_provider("bob");
    let unlinked = request(&addr, "GET", &callback, Some(&state), None);
    assert_eq!(unlinked.status, 403);
    assert!(unlinked.body.contains("标识 bob"), "{}", unlinked.body);
    for user in ["wrong-aud", "wrong-nonce", "expired", "carol"] {
        let (callback, state) = to_provider(user);
        let r = request(&addr, "GET", &callback, Some(&state), None);
        assert_eq!(r.status, 403, "{user}: {}", r.body);
        assert!(r.cookie("suiji_session").is_none(), "{user}");
    }
    let linked = db.query_strings(
        "SELECT subject || ' ' || detail FROM audit_log WHERE action = 'account.sso' ORDER BY seq",
    );
    assert_eq!(linked.len(), 2, "{linked:?}");
}

on_both_backends!(single_sign_on, production);
