//! 一公开: the public disclosure site, end to end. A year's draw and results on a registry full
//! of hostile names, published with `suiji publish`, served over loopback HTTP and opened in
//! headless Chromium: content, filters and search, "verify in your browser" on the real draw
//! and on one with an altered ticket, the golden vectors, and a 1,000,000-candidate draw, each
//! compared with `suiji verify` and `tools/verify_draw.py`. Screenshots are kept in
//! `target/site-screenshots/`.

mod common;

use std::path::{Path, PathBuf};

use common::browser::{Browser, serve};
use common::{TestDb, assert_ok, on, refused, repo};
use serde_json::{Value, json};

const XSS: &str = "<img src=x onerror=alert(1)>";
const FORMULA: &str = "=HYPERLINK(\"http://evil.example/\",\"点我\")";

fn shots() -> PathBuf {
    let target =
        std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| repo("target").display().to_string());
    Path::new(&target).join("site-screenshots")
}

/// The demo registry with every fourth entity's name a script and the next one's a formula.
fn hostile_registry(to: &Path) -> PathBuf {
    common::copy_dir(&repo("examples/henan"), to);
    let text = std::fs::read_to_string(to.join("entities.csv")).expect("entities");
    let mut lines: Vec<String> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let mut cells: Vec<String> = line.split(',').map(str::to_string).collect();
        if i > 0 && i % 4 == 1 {
            cells[1] = format!("{XSS}{}", cells[1]);
        } else if i > 0 && i % 4 == 2 {
            cells[1] = format!("\"{}{}\"", FORMULA.replace('"', "\"\""), cells[1]);
        }
        lines.push(cells.join(","));
    }
    std::fs::write(to.join("entities.csv"), lines.join("\n") + "\n").expect("write");
    to.to_path_buf()
}

/// A task whose entity's name starts with `prefix` and with none of `avoid`. Which entities are
/// drawn changes from run to run (the freeze's time of day is real), so a plain task must be
/// picked by its name, not by not being one of the others: a second script-named entity would
/// match the page's search for the script.
fn task_with(tasks: &[Value], prefix: &str, avoid: &[&str]) -> String {
    tasks
        .iter()
        .find(|t| {
            let name = t["entity_name"].as_str().unwrap_or("");
            name.starts_with(prefix) && !avoid.iter().any(|a| name.starts_with(a))
        })
        .map(|t| t["id"].as_str().unwrap_or("").to_string())
        .unwrap_or_else(|| panic!("no drawn entity named {prefix}…"))
}

fn result(db: &TestDb, id: &str, day: &str, outcome: &str, published: &str) {
    on(db, "2024-05-20", &["task", "schedule", id, "--date", day]);
    on(
        db,
        day,
        &["task", "complete", id, "--date", day, "--outcome", outcome],
    );
    let url = format!("https://yjglt.henan.gov.cn/sjsgk/{id}.html");
    on(
        db,
        published,
        &["task", "publish", id, "--date", published, "--url", &url],
    );
}

fn site_story(db: &TestDb) {
    let reg = hostile_registry(&db.path().join("registry"));
    db.json(&[
        "demo",
        "run",
        "--import-only",
        "--dir",
        reg.to_str().expect("utf-8"),
        "--json",
    ]);
    common::freeze_and_draw(db);
    let tasks = db.json(&["task", "list", "--json"]);
    let tasks = tasks.as_array().expect("tasks").clone();
    let xss = task_with(&tasks, XSS, &[]);
    let formula = task_with(&tasks, "=HYPERLINK(", &[]);
    let plain = task_with(&tasks, "", &[XSS, "=HYPERLINK("]);

    // Results: on time, late with a penalty, and one corrected.
    result(db, &xss, "2024-06-03", "no-issues", "2024-06-05");
    result(db, &formula, "2024-06-04", "penalty", "2024-06-20");
    on(
        db,
        "2024-06-14",
        &["task", "penalty", &formula, "--decision-date", "2024-06-14"],
    );
    on(
        db,
        "2024-06-18",
        &[
            "task",
            "penalty-published",
            &formula,
            "--date",
            "2024-06-18",
        ],
    );
    result(db, &plain, "2024-06-05", "no-issues", "2024-06-07");
    on(
        db,
        "2024-06-11",
        &[
            "task",
            "correct",
            &plain,
            "--field",
            "outcome",
            "--value",
            "issues-found",
            "--reason",
            "复核发现隐患",
        ],
    );
    // Only web links are ever published.
    let msg = refused(
        db,
        "2024-06-11",
        &[
            "task",
            "correct",
            &plain,
            "--field",
            "url",
            "--value",
            "javascript:alert(1)",
            "--reason",
            "x",
        ],
    );
    assert!(msg.contains("http"), "{msg}");

    // The recording commands kept the site current; `publish` rebuilds it and changes nothing.
    let public = db.path().join("public");
    let folder = public.join("2024/henan-2024");
    let before =
        std::fs::read(folder.join("results.json")).expect("results.json written by the events");
    let p = on(db, "2024-06-20", &["publish"]);
    assert_eq!(p["plans"][0]["results"], 3, "{p}");
    assert_eq!(p["plans"][0]["tasks"], 74);
    assert_eq!(
        std::fs::read(folder.join("results.json")).expect("json"),
        before
    );
    let bad = refused(db, "2024-06-20", &["publish", "--year", "2019"]);
    assert!(bad.contains("2019") && bad.contains("2024"), "{bad}");

    // Downloads: CSV with a BOM and formulas quoted away; XLSX cells as text; JSON.
    let csv = std::fs::read(folder.join("results.csv")).expect("csv");
    assert!(csv.starts_with(&[0xEF, 0xBB, 0xBF]));
    let csv = String::from_utf8(csv).expect("utf-8");
    assert!(csv.contains("'=HYPERLINK("), "{csv}");
    assert!(
        !csv.lines().any(|l| l.starts_with("=") || l.contains(",=")),
        "{csv}"
    );
    assert!(csv.contains(XSS));
    for stem in ["items", "plan", "selection", "results", "pool", "officers"] {
        xlsx_cells_are_typed(&folder.join(format!("{stem}.xlsx")));
        let json: Value = serde_json::from_slice(
            &std::fs::read(folder.join(format!("{stem}.json"))).expect("json"),
        )
        .expect("valid json");
        assert!(
            json.as_array().is_some_and(|a| !a.is_empty()),
            "{stem}.json"
        );
    }
    let rows: Value =
        serde_json::from_slice(&std::fs::read(folder.join("results.json")).expect("json"))
            .expect("json");
    let late = rows
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["任务编号"] == json!(formula))
        .expect("late row");
    assert_eq!(late["是否按期"], "否");
    assert_eq!(late["处罚公示日期"], "2024-06-18");
    let officers = late["执法人员（姓名/执法证号）"]
        .as_str()
        .expect("officers");
    assert!(officers.contains("（41000001"), "{officers}");
    let corrected = rows
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["任务编号"] == json!(plain))
        .expect("row");
    assert_eq!(corrected["检查结果"], "发现问题，责令整改");
    assert!(
        corrected["备注"]
            .as_str()
            .unwrap_or("")
            .contains("复核发现隐患")
    );

    // Every page escapes: the hostile name is text wherever it appears.
    let mut pages = vec![public.join("index.html")];
    for e in std::fs::read_dir(&folder).expect("folder").flatten() {
        if e.path().extension().is_some_and(|x| x == "html") {
            pages.push(e.path());
        }
    }
    for e in std::fs::read_dir(folder.join("results"))
        .expect("results")
        .flatten()
    {
        pages.push(e.path());
    }
    for p in &pages {
        let html = std::fs::read_to_string(p).expect("page");
        assert!(
            !html.contains("<img src=x"),
            "{} holds a live tag",
            p.display()
        );
    }
    assert!(
        std::fs::read_to_string(folder.join("plan.html"))
            .expect("plan")
            .contains("&lt;img src=x onerror=alert(1)&gt;")
    );

    // The published folder, pages and all, still verifies from its files alone.
    let out = db.suiji(&["verify", folder.to_str().expect("utf-8")]);
    assert_ok(&out, &["verify"]);
    common::python_accepts(&folder);

    if db.backend == common::Backend::Sqlite {
        in_the_browser(&public, &folder, &xss, &formula);
    }
}

/// No cell is a formula; counts are number cells and days date cells, every other cell text:
/// as calamine reads the file, and as openpyxl (a client that shares nothing with the writer)
/// reads it.
fn xlsx_cells_are_typed(path: &Path) {
    use calamine::{Data, Reader, Xlsx, open_workbook};
    use suiji::sheet::{DATE_COLUMNS, NUMBER_COLUMNS};
    let mut book: Xlsx<_> = open_workbook(path).expect("xlsx");
    let sheet = book.sheet_names()[0].clone();
    let formulas = book.worksheet_formula(&sheet).expect("formulas");
    assert!(
        formulas.used_cells().all(|(_, _, f)| f.is_empty()),
        "{} holds a formula",
        path.display()
    );
    let range = book.worksheet_range(&sheet).expect("cells");
    let headers: Vec<String> = range
        .rows()
        .next()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .unwrap_or_default();
    for (r, c, cell) in range.used_cells() {
        let header = headers.get(c).map(String::as_str).unwrap_or("");
        let ok = match cell {
            Data::String(_) => {
                r == 0
                    || !(NUMBER_COLUMNS.contains(&header) || DATE_COLUMNS.contains(&header))
                    || cell.to_string().is_empty()
            }
            Data::Float(_) | Data::Int(_) => r > 0 && NUMBER_COLUMNS.contains(&header),
            Data::DateTime(_) => r > 0 && DATE_COLUMNS.contains(&header),
            _ => false,
        };
        assert!(ok, "{} row {r} column {header}: {cell:?}", path.display());
    }
    let Some(python) = common::python() else {
        return;
    };
    let script = "import json, sys, openpyxl\n\
        ws = openpyxl.load_workbook(sys.argv[1]).active\n\
        rows = list(ws.iter_rows(values_only=True))\n\
        kinds = {}\n\
        for row in rows[1:]:\n\
        \x20   for h, v in zip(rows[0], row):\n\
        \x20       if v is not None: kinds.setdefault(h, set()).add(type(v).__name__)\n\
        print(json.dumps({h: sorted(k) for h, k in kinds.items()}, ensure_ascii=False))\n";
    let out = std::process::Command::new(python)
        .args(["-c", script])
        .arg(path)
        .output()
        .expect("openpyxl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let kinds: std::collections::BTreeMap<String, Vec<String>> =
        serde_json::from_slice(&out.stdout).expect("json");
    for (header, types) in &kinds {
        let want = if NUMBER_COLUMNS.contains(&header.as_str()) {
            vec!["int"]
        } else if DATE_COLUMNS.contains(&header.as_str()) {
            vec!["datetime"]
        } else {
            vec!["str"]
        };
        assert_eq!(
            types,
            &want,
            "{}: openpyxl reads {header} as {types:?}",
            path.display()
        );
    }
}

/// The rendered page's text, and the two ways a hostile name could have become markup.
fn clean(b: &mut Browser, page: &str) -> String {
    assert_eq!(
        b.eval("window.__alerts.length"),
        json!(0),
        "{page}: a script ran"
    );
    assert_eq!(
        b.eval("document.querySelectorAll('img[src=\"x\"]').length"),
        json!(0),
        "{page}"
    );
    b.eval("document.body.innerText")
        .as_str()
        .unwrap_or("")
        .to_string()
}

fn in_the_browser(public: &Path, folder: &Path, xss_task: &str, formula_task: &str) {
    let (xss, formula) = (XSS, FORMULA);
    let Some(mut b) = Browser::launch() else {
        return;
    };
    // A copy with one ticket altered, and the golden vectors, served beside the real site.
    let tampered = public.join("tampered");
    common::copy_dir(folder, &tampered);
    let altered = alter_ticket(&tampered.join("draw-1.json"));
    for (name, from) in [
        ("v1", "tests/golden"),
        ("v2", "tests/golden/v2"),
        ("drand", "tests/golden/drand"),
        ("v3", "tests/golden/v3"),
        ("v4", "tests/golden/v4"),
        ("v5", "tests/golden/v5"),
    ] {
        let to = public.join("golden").join(name);
        std::fs::create_dir_all(&to).expect("mkdir");
        for f in ["manifest.json", "draw.json"] {
            std::fs::copy(repo(from).join(f), to.join(f)).expect("copy golden");
        }
    }
    let base = serve(public);
    let site = format!("{base}/2024/henan-2024");
    let shots = shots();

    b.goto(&format!("{base}/index.html"));
    let text = clean(&mut b, "front page");
    assert!(text.contains("河南省应急管理厅2024年度"), "{text}");
    b.screenshot(&shots.join("00-front.png"));

    for (n, page) in ["index", "items", "plan", "results", "verify", "directory"]
        .iter()
        .enumerate()
    {
        b.goto(&format!("{site}/{page}.html"));
        let text = clean(&mut b, page);
        match *page {
            "items" => assert!(text.contains("HNYJ-01") && text.contains("安全生产法")),
            "plan" => {
                assert!(
                    text.contains(xss),
                    "plan: the hostile name is not shown as text"
                );
                assert!(text.contains("2024-05-16 21:15"), "plan: available_at");
                assert!(
                    text.contains("manifest-1.json")
                        && text.contains("2570")
                        && text.contains("只计一次")
                );
            }
            "results" => assert!(text.contains(xss) && text.contains(formula)),
            "verify" => assert!(text.contains("03071218253109") && text.contains("suiji verify")),
            "directory" => {
                assert!(
                    text.contains("检查对象名录库（2570 家，不重复计）"),
                    "{text}"
                );
                assert!(text.contains("执法检查人员名录库（") && text.contains("41000001"));
                assert!(
                    text.contains(xss),
                    "directory: the hostile name is not shown as text"
                );
            }
            _ => assert!(text.contains("已公示结果")),
        }
        b.screenshot(&shots.join(format!("{:02}-{page}.png", n + 1)));
    }

    // Every page on a phone (375 px) and a desktop (1280 px): none is wider than its screen
    // (wide tables scroll inside their own box), each is kept as a screenshot, and axe-core
    // finds no serious or critical accessibility violation in it.
    for (width, height) in [(375, 812), (1280, 900)] {
        b.viewport(width, height);
        let pages = ["index", "items", "plan", "results", "verify", "directory"]
            .iter()
            .map(|p| (format!("{site}/{p}.html"), format!("{p}-{width}")))
            .chain([
                (format!("{base}/index.html"), format!("front-{width}")),
                (
                    format!("{site}/results/{formula_task}.html"),
                    format!("result-{width}"),
                ),
            ]);
        for (url, name) in pages {
            b.goto(&url);
            let wide = b.eval("document.documentElement.scrollWidth");
            assert!(
                wide.as_u64().is_some_and(|w| w <= u64::from(width)),
                "{name}: {wide} px wide on a {width} px screen"
            );
            b.screenshot(&shots.join(format!("w-{name}.png")));
            if let Some(found) = b.accessibility() {
                assert!(
                    found.is_empty(),
                    "{name}: axe-core finds serious or critical violations:\n{}",
                    found.join("\n")
                );
            }
        }
    }
    b.viewport(1200, 900);

    // Results: filters and search, then the late result's own page.
    b.goto(&format!("{site}/results.html"));
    let visible =
        "Array.from(document.querySelectorAll('#results tbody tr')).filter(r => !r.hidden).length";
    assert_eq!(b.eval(visible), json!(3));
    b.eval("(s => { s.value = '行政处罚'; s.dispatchEvent(new Event('change')); })(document.getElementById('f-outcome'))");
    assert_eq!(b.eval(visible), json!(1));
    b.screenshot(&shots.join("10-results-filtered.png"));
    b.eval("(s => { s.value = ''; s.dispatchEvent(new Event('change')); })(document.getElementById('f-outcome'))");
    b.eval(&format!(
        "(s => {{ s.value = {}; s.dispatchEvent(new Event('input')); }})(document.getElementById('f-search'))",
        json!(xss)
    ));
    assert_eq!(b.eval(visible), json!(1));
    // The same task's number typed in full-width characters (ｈｅｎａｎ－２０２４…) finds it:
    // the search folds what it compares (NFKC).
    let wide: String = xss_task
        .chars()
        .map(|c| match c {
            '!'..='~' => char::from_u32(c as u32 + 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect();
    b.eval(&format!(
        "(s => {{ s.value = {}; s.dispatchEvent(new Event('input')); }})(document.getElementById('f-search'))",
        json!(wide)
    ));
    assert_eq!(b.eval(visible), json!(1), "full-width {wide}");
    b.eval("(s => { s.value = '没有这个单位'; s.dispatchEvent(new Event('input')); })(document.getElementById('f-search'))");
    assert_eq!(b.eval(visible), json!(0));
    assert_eq!(
        b.eval("document.getElementById('f-empty').hidden"),
        json!(false)
    );
    b.viewport(390, 844);
    b.goto(&format!("{site}/results.html"));
    b.screenshot(&shots.join("11-results-phone.png"));
    b.viewport(1200, 900);
    b.goto(&format!("{site}/results/{formula_task}.html"));
    let text = clean(&mut b, "result page");
    assert!(
        text.contains("超过期限") && text.contains("2024-06-20"),
        "{text}"
    );
    assert!(text.contains(formula));
    b.screenshot(&shots.join("12-result-late.png"));
    b.goto(&format!("{site}/results/{xss_task}.html"));
    let text = clean(&mut b, "result page");
    assert!(text.contains("符合期限") && text.contains(xss), "{text}");

    // Verify in the browser: the real draw agrees everywhere.
    b.goto(&format!("{site}/verify.html"));
    let report = verify_click(&mut b);
    assert_eq!(report["ok"], json!(true), "{report}");
    assert_eq!(report["strata"].as_array().map(Vec::len), Some(8));
    assert!(
        report["strata"]
            .as_array()
            .expect("rows")
            .iter()
            .all(|r| r["ok"] == json!(true))
    );
    // Candidates counted once, whatever the strata they are in.
    let output = b.eval("document.getElementById('verify-output').innerText");
    assert!(
        output
            .as_str()
            .unwrap_or("")
            .contains("候选对象：2570 个（各分层相加 2834 个次"),
        "{output}"
    );
    b.screenshot(&shots.join("20-verify-ok.png"));

    // One altered ticket: the stratum that holds it is named, the others agree.
    b.goto(&format!("{base}/tampered/verify.html"));
    let report = verify_click(&mut b);
    assert_eq!(report["ok"], json!(false), "{report}");
    for r in report["strata"].as_array().expect("rows") {
        assert_eq!(r["ok"], json!(r["stratum"] != json!(altered)), "{report}");
    }
    let summary = b.eval("document.getElementById('verify-summary').innerText");
    assert!(
        summary.as_str().unwrap_or("").contains(&altered),
        "{summary}"
    );
    b.screenshot(&shots.join("21-verify-altered.png"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_suiji"))
        .args(["verify", tampered.to_str().expect("utf-8")])
        .output()
        .expect("suiji verify");
    assert_eq!(
        out.status.code(),
        Some(1),
        "suiji verify accepted the altered draw"
    );
    common::python_rejects(&tampered);

    // The golden vectors: the browser agrees with suiji and the Python verifier (which the
    // draw tests run on the same files).
    for name in ["v1", "v2", "drand", "v3", "v4", "v5"] {
        let r = b.eval(&format!(
            "Promise.all(['manifest.json', 'draw.json'].map(f => fetch('{base}/golden/{name}/' + f).then(r => r.arrayBuffer()).then(b => new Uint8Array(b))))
               .then(([m, d]) => SuijiVerify.verify(m, d)).then(r => ({{ ok: r.ok }}))"
        ));
        assert_eq!(r["ok"], json!(true), "golden {name}: {r}");
    }
    // A v4 quota that is not what its published ratio gives is refused, naming the stratum.
    let r = b.eval(&format!(
        "Promise.all(['manifest.json', 'draw.json'].map(f => fetch('{base}/golden/v4/' + f).then(r => r.text())))
           .then(([m, d]) => {{ m = JSON.parse(m); m.strata[7].quota = 13;
              const enc = s => new TextEncoder().encode(s);
              return SuijiVerify.verify(enc(JSON.stringify(m)), enc(d)); }})
           .then(r => ({{ ok: r.ok, error: r.problems.join(' ') }}))"
    ));
    assert_eq!(r["ok"], json!(false), "a tampered v4 quota: {r}");
    assert!(
        r["error"].as_str().is_some_and(|e| e.contains("training")),
        "{r}"
    );
}

/// Clicks the official draw's button and returns what the page shows.
fn verify_click(b: &mut Browser) -> Value {
    b.eval("document.querySelector('.verify-button[data-draw=\"draw-1.json\"]').click()");
    b.wait_for("document.querySelector('#verify-summary[data-ok]')", 120);
    b.eval(
        "({ ok: document.getElementById('verify-summary').dataset.ok === 'true',
            strata: Array.from(document.querySelectorAll('tr[data-stratum]'))
              .map(r => ({ stratum: r.dataset.stratum, ok: r.dataset.ok === 'true' })) })",
    )
}

/// Changes the last digit of one selected entity's ticket; returns its stratum.
fn alter_ticket(path: &Path) -> String {
    let mut d: Value = serde_json::from_slice(&std::fs::read(path).expect("draw")).expect("json");
    let s = &mut d["strata"][2];
    let stratum = s["stratum"].as_str().expect("stratum").to_string();
    let t = s["selected"][0]["ticket"]
        .as_str()
        .expect("ticket")
        .to_string();
    let last = t.chars().last().expect("digit");
    let changed = format!(
        "{}{}",
        &t[..t.len() - 1],
        if last == '1' { '2' } else { '1' }
    );
    s["selected"][0]["ticket"] = json!(changed);
    std::fs::write(path, suiji::draw::canonical(&d).expect("canonical")).expect("write");
    stratum
}

on_both_backends!(site_story);

/// A 1,000,000-candidate stratum: the browser, `suiji verify` and the Python verifier agree.
/// (How long each takes is measured by `cargo bench --bench verify`, not here.)
#[test]
fn a_million_candidates_verify_in_the_browser() {
    let Some(mut b) = Browser::launch() else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let (manifest, draw) = common::big::million_candidate_draw();
    std::fs::write(dir.path().join("manifest.json"), &manifest).expect("write");
    std::fs::write(dir.path().join("draw.json"), &draw).expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_suiji"))
        .args(["verify", dir.path().to_str().expect("utf-8")])
        .output()
        .expect("suiji verify");
    assert_ok(&out, &["verify", "1M"]);
    common::python_accepts(dir.path());
    std::fs::write(
        dir.path().join("index.html"),
        "<!doctype html><meta charset=utf-8><script src=verify.js></script>",
    )
    .expect("page");
    std::fs::copy(
        repo("src/publish/assets/verify.js"),
        dir.path().join("verify.js"),
    )
    .expect("js");
    let base = serve(dir.path());
    b.goto(&format!("{base}/index.html"));
    let r = b.eval(
        "Promise.all(['manifest.json', 'draw.json'].map(f => fetch(f).then(r => r.arrayBuffer()).then(b => new Uint8Array(b))))
           .then(([m, d]) => SuijiVerify.verify(m, d)).then(r => ({ ok: r.ok, candidates: r.candidates }))",
    );
    assert_eq!(r["ok"], json!(true), "{r}");
    assert!(r["candidates"].as_u64().unwrap_or(0) >= 1_000_000, "{r}");
}

/// The history test vectors (`tools/history_cases.py`: a redraw from the voided draw's own
/// manifest, a reused seed or drand round, a manifest frozen with a seed already public, events
/// out of time order, a simulated manifest in a production history, a rehearsal's history, a
/// missing or unknown `store`, tampered, unlisted and renumbered files): `suiji verify`,
/// `tools/verify_draw.py` and the browser's verifier accept and refuse the same ones.
#[test]
fn history_vectors_in_every_verifier() {
    let python = std::env::var("VERIFY_PYTHON").unwrap_or_else(|_| "python3".into());
    let dir = tempfile::tempdir().expect("dir");
    let cases = dir.path().join("cases");
    let built = std::process::Command::new(&python)
        .arg(repo("tools/history_cases.py"))
        .arg(&cases)
        .output()
        .expect("python");
    if !built.status.success() {
        assert!(
            std::env::var("REQUIRE_PYTHON_VERIFIER").is_err(),
            "tools/history_cases.py: {}",
            String::from_utf8_lossy(&built.stderr)
        );
        eprintln!("SKIPPED: history vectors ({python} lacks consistent_sampler)");
        return;
    }
    let expected: std::collections::BTreeMap<String, bool> =
        serde_json::from_slice(&std::fs::read(cases.join("cases.json")).expect("cases.json"))
            .expect("cases");
    assert!(expected.len() >= 20 && expected.values().any(|ok| *ok));
    for (name, ok) in &expected {
        let folder = cases.join(name);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_suiji"))
            .arg("verify")
            .arg(&folder)
            .output()
            .expect("suiji verify");
        assert_eq!(
            out.status.success(),
            *ok,
            "suiji verify on {name}: {}",
            common::stdout(&out)
        );
        if *ok {
            common::python_accepts(&folder);
        } else {
            common::python_rejects(&folder);
        }
    }
    let Some(mut b) = Browser::launch() else {
        return;
    };
    std::fs::write(
        cases.join("index.html"),
        "<!doctype html><meta charset=utf-8><body><script src=verify.js></script>",
    )
    .expect("page");
    std::fs::copy(
        repo("src/publish/assets/verify.js"),
        cases.join("verify.js"),
    )
    .expect("js");
    let base = serve(&cases);
    b.goto(&format!("{base}/index.html"));
    for (name, ok) in &expected {
        let r = b.eval(&format!(
            "(() => {{ const c = document.createElement('div'); document.body.appendChild(c);
               return SuijiVerify.runHistory(c, '{name}/index.json')
                 .then(r => ({{ ok: r.ok, state: r.state, problems: r.problems }})); }})()"
        ));
        assert_eq!(r["ok"], json!(ok), "the browser on {name}: {r}");
        if !ok {
            assert_eq!(r["state"], json!("differs"), "the browser on {name}: {r}");
        }
    }
}

/// Opens a folder's verify page, runs "验证全部公示历史" and returns the verdict's state
/// (`ok`, `differs` or `unchecked`: a file that could not be downloaded) and its text.
fn history_verdict(b: &mut Browser, page: &str) -> (String, String) {
    b.goto(page);
    b.eval("document.getElementById('verify-history').click()");
    b.wait_for(
        "document.querySelector('#history-verdict[data-state]')",
        120,
    );
    let v = b.eval(
        "({ state: document.getElementById('history-verdict').dataset.state,
            text: document.getElementById('history-verdict').innerText })",
    );
    (
        v["state"].as_str().unwrap_or("").to_string(),
        v["text"].as_str().unwrap_or("").to_string(),
    )
}

/// The browser's column of the tamper table: every tamper is a mismatch (red 不一致) or, for a
/// file that is gone, "未能验证" (never a false 不一致), as is a page opened from disk, where the
/// browser may not download anything.
#[test]
fn every_tamper_in_the_browser() {
    let Some(db) = TestDb::new(common::Backend::Sqlite) else {
        return;
    };
    let Some(mut b) = Browser::launch() else {
        return;
    };
    let (folder, other) = common::tamper::two_plans(&db);
    let root = db.path().join("served");
    common::copy_dir(&folder, &root.join("real/2024/henan-2024"));
    let tampers = common::tamper::tampers();
    for (i, (_, tamper)) in tampers.iter().enumerate() {
        let copy = root.join(format!("t{i}/2024/henan-2024"));
        common::copy_dir(&folder, &copy);
        tamper(&copy, &other);
    }
    common::copy_dir(&other, &root.join("moved/2024/henan-2024"));
    let base = serve(&root);
    let (state, text) =
        history_verdict(&mut b, &format!("{base}/real/2024/henan-2024/verify.html"));
    assert_eq!(state, "ok", "{text}");
    assert!(text.contains("74"), "{text}");
    let mut table = Vec::new();
    let cases = tampers
        .iter()
        .enumerate()
        .map(|(i, (name, _))| (*name, format!("t{i}")))
        .chain([(
            "another plan's whole folder in its place",
            "moved".to_string(),
        )]);
    for (name, dir) in cases {
        let (state, text) =
            history_verdict(&mut b, &format!("{base}/{dir}/2024/henan-2024/verify.html"));
        let expected = if name == "delete a manifest" {
            "unchecked"
        } else {
            "differs"
        };
        assert_eq!(state, expected, "the browser on `{name}`: {text}");
        table.push(format!(
            "| {name} | {state}: {} |",
            text.lines().next().unwrap_or("")
        ));
    }
    let page = format!(
        "file://{}",
        root.join("real/2024/henan-2024/verify.html").display()
    );
    let (state, text) = history_verdict(&mut b, &page);
    assert_eq!(state, "unchecked", "opened from disk: {text}");
    assert!(
        text.contains("未能验证") && !text.contains("不一致"),
        "{text}"
    );
    eprintln!("{}", table.join("\n"));
}
