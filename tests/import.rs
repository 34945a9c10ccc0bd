//! Registry import, end to end through the real binary, on SQLite and on PostgreSQL:
//! encodings and spreadsheets, all-or-nothing rejection, history on re-import, and the audit
//! chain catching an edit made behind suiji's back.

mod common;

use std::path::Path;

use common::{Backend, TestDb, generate, stderr};
use serde_json::Value;

fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).expect("csv");
    let headers = r
        .headers()
        .expect("headers")
        .iter()
        .map(String::from)
        .collect();
    let rows = r
        .records()
        .map(|rec| rec.expect("record").iter().map(String::from).collect())
        .collect();
    (headers, rows)
}

fn write_csv(path: &Path, headers: &[String], rows: &[Vec<String>]) {
    let mut w = csv::Writer::from_path(path).expect("csv");
    w.write_record(headers).expect("write");
    for r in rows {
        w.write_record(r).expect("write");
    }
    w.flush().expect("flush");
}

/// The officers file as Excel would hold it: certificate numbers typed as numbers, validity
/// as real date cells.
fn officers_xlsx(src: &Path, dest: &Path) -> usize {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let (headers, rows) = read_csv(src);
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("执法人员").expect("sheet name");
    let date = Format::new().set_num_format("yyyy-mm-dd");
    for (c, h) in headers.iter().enumerate() {
        sheet.write_string(0, c as u16, h).expect("cell");
    }
    for (r, row) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        for (c, v) in row.iter().enumerate() {
            let c = c as u16;
            match headers[c as usize].as_str() {
                "执法证号" => sheet.write_number(r, c, v.parse::<f64>().expect("numeric id")),
                "证件有效期至" if !v.is_empty() => {
                    let d = chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").expect("date");
                    use chrono::Datelike;
                    let dt =
                        ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)
                            .expect("excel date");
                    sheet.write_datetime_with_format(r, c, &dt, &date)
                }
                _ => sheet.write_string(r, c, v),
            }
            .expect("cell");
        }
    }
    book.save(dest).expect("save xlsx");
    rows.len()
}

fn import(db: &TestDb, kind: &str, file: &Path) -> Value {
    db.json(&["import", kind, file.to_str().expect("utf-8"), "--json"])
}

fn counts(db: &TestDb) -> Value {
    db.json(&["stats", "--json"])
}

fn registry_import(db: &TestDb) {
    let src = generate(db, 300, &db.path().join("generated"));
    let dir = db.path();

    // Bureaus: UTF-8 with a BOM, as Excel's "CSV UTF-8" writes it.
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend(std::fs::read(src.join("bureaus.csv")).expect("read"));
    std::fs::write(dir.join("bureaus-bom.csv"), bom).expect("write");
    let r = import(db, "bureaus", &dir.join("bureaus-bom.csv"));
    assert_eq!(r["encoding"], "UTF-8 (BOM)");
    assert_eq!(r["outcome"]["inserted"], 18);

    let r = import(db, "items", &src.join("items.csv"));
    assert_eq!(r["outcome"]["inserted"], 12);

    // Entities: GBK, what Excel on a Chinese Windows saves as "CSV".
    let text = std::fs::read_to_string(src.join("entities.csv")).expect("read");
    let (gbk, _, lossy) = encoding_rs::GBK.encode(&text);
    assert!(!lossy, "demo data must be representable in GBK");
    std::fs::write(dir.join("entities-gbk.csv"), &gbk).expect("write");
    let r = import(db, "entities", &dir.join("entities-gbk.csv"));
    assert_eq!(r["encoding"], "GB18030");
    assert_eq!(r["outcome"]["inserted"], 300);

    // Officers: XLSX with numeric ids and date cells.
    let officers = officers_xlsx(&src.join("officers.csv"), &dir.join("officers.xlsx"));
    let r = import(db, "officers", &dir.join("officers.xlsx"));
    assert_eq!(r["outcome"]["inserted"], officers);

    let (_, conflict_rows) = read_csv(&src.join("conflicts.csv"));
    let r = import(db, "conflicts", &src.join("conflicts.csv"));
    assert_eq!(r["outcome"]["inserted"], conflict_rows.len());

    let before = counts(db);
    assert_eq!(before["entities"], 300);
    assert_eq!(before["officers"], officers);
    assert_eq!(before["conflicts"], conflict_rows.len());
    assert_eq!(before["items"], 12);
    assert_eq!(before["bureaus"], 18);
    assert_eq!(
        before["audit_log"], 7,
        "the store's creation, 5 imports and the division vocabulary"
    );

    // A bad file: a wrong check character, an unknown city, a duplicate row, and one
    // valid change that must not be written either.
    let (headers, rows) = read_csv(&src.join("entities.csv"));
    let mut bad_uscc = rows[0].clone();
    let last = bad_uscc[0].pop().expect("non-empty");
    bad_uscc[0].push(if last == '0' { '1' } else { '0' });
    let mut bad_city = rows[1].clone();
    bad_city[3] = "武汉市".into();
    let mut changed = rows[2].clone();
    // What JSON and CSV escape must come through the bulk path unchanged.
    changed[1] = "改名后的\"公司\"\\分部\\u0041 😀".into();
    let bad_rows = vec![
        bad_uscc.clone(),
        bad_city,
        changed.clone(),
        rows[3].clone(),
        rows[3].clone(),
    ];
    write_csv(&dir.join("bad.csv"), &headers, &bad_rows);
    let bad = dir.join("bad.csv");
    let out = db.suiji(&["import", "entities", bad.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("bad.csv: row 2, column 统一社会信用代码"),
        "{err}"
    );
    assert!(err.contains(&bad_uscc[0]), "{err}");
    assert!(
        err.contains("row 3, column 所在地市, value \"武汉市\""),
        "{err}"
    );
    assert!(
        err.contains("row 6, column 统一社会信用代码") && err.contains("duplicate of row 5"),
        "{err}"
    );
    assert!(err.contains("nothing was imported"), "{err}");
    let out = db.suiji(&["import", "entities", bad.to_str().expect("utf-8"), "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let report: Value = serde_json::from_slice(&out.stdout).expect("json report");
    let rows_named: Vec<u64> = report["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .map(|p| p["row"].as_u64().expect("row"))
        .collect();
    assert_eq!(rows_named, vec![2, 3, 6]);
    assert_eq!(counts(db), before, "a rejected file changes nothing");

    // A dry run of a valid change writes nothing either.
    write_csv(
        &dir.join("change.csv"),
        &headers,
        std::slice::from_ref(&changed),
    );
    let change = dir.join("change.csv");
    let r = db.json(&[
        "import",
        "entities",
        change.to_str().expect("utf-8"),
        "--dry-run",
        "--json",
    ]);
    assert_eq!(r["ok"], true);
    assert_eq!(r["outcome"], Value::Null);
    assert_eq!(counts(db), before);

    // Re-import is an upsert that keeps the replaced version.
    let r = import(db, "entities", &change);
    assert_eq!(
        (
            r["outcome"]["updated"].as_u64(),
            r["outcome"]["inserted"].as_u64()
        ),
        (Some(1), Some(0))
    );
    let after = counts(db);
    assert_eq!(after["entities"], 300);
    assert_eq!(after["history"], 1);
    let stored = db.query_strings(&format!(
        "SELECT name FROM entities WHERE uscc = '{}'",
        changed[0]
    ));
    assert_eq!(stored, vec![changed[1].clone()]);
    let r = import(db, "entities", &dir.join("entities-gbk.csv"));
    assert_eq!(r["outcome"]["updated"], 1, "the original name comes back");
    assert_eq!(r["outcome"]["unchanged"], 299);
    assert_eq!(counts(db)["history"], 2);

    // The database finds the changes itself (set-based, NULL-safe): a county emptied and then
    // given back is two changes, and the history keeps the version each replaced. On
    // PostgreSQL, rows a crashed import left in the staging table do not leak into the next.
    let mut emptied = rows.clone();
    emptied[5][4] = String::new();
    write_csv(&dir.join("emptied.csv"), &headers, &emptied);
    let r = import(db, "entities", &dir.join("emptied.csv"));
    assert_eq!(
        (&r["outcome"]["updated"], &r["outcome"]["unchanged"]),
        (&Value::from(1), &Value::from(299))
    );
    if db.backend == Backend::Postgres {
        db.sql(&[&format!(
            "INSERT INTO stage_entities (uscc, name, sector, city, county, risk, scale, status, tags) \
             SELECT uscc, 'leaked', sector, city, county, risk, scale, status, tags FROM entities \
             WHERE uscc = '{}'",
            rows[7][0]
        )]);
    }
    let r = import(db, "entities", &dir.join("entities-gbk.csv"));
    assert_eq!(r["outcome"]["updated"], 1, "the county comes back");
    let old = db.query_strings("SELECT old FROM history ORDER BY id");
    assert_eq!(old.len(), 4);
    assert!(old[2].contains(&rows[5][4]), "{}", old[2]);
    assert!(old[3].contains("\"county\":null"), "{}", old[3]);
    let names = db.query_strings(&format!(
        "SELECT name FROM entities WHERE uscc = '{}'",
        rows[7][0]
    ));
    assert_eq!(names, vec![rows[7][1].clone()]);

    // The audit chain: intact, then edited behind suiji's back.
    let v = db.json(&["audit", "verify", "--json"]);
    assert_eq!(v["ok"], true);
    let rows = v["rows"].as_u64().expect("rows");
    assert_eq!(rows, 11, "the store's creation and ten imports");
    let blocked = std::panic::catch_unwind(|| {
        db.sql(&["UPDATE audit_log SET actor = 'mallory' WHERE seq = 3"])
    });
    assert!(blocked.is_err(), "the append-only trigger refuses edits");
    let disable = match db.backend {
        Backend::Sqlite => "DROP TRIGGER audit_log_no_update",
        Backend::Postgres => "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change",
    };
    db.sql(&[
        disable,
        "UPDATE audit_log SET detail = replace(detail, '300', '301') WHERE seq = 5",
    ]);
    let out = db.suiji(&["audit", "verify", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["ok"], false);
    assert_eq!(v["first_broken"]["seq"], 5);
    let out = db.suiji(&["audit", "verify"]);
    assert!(common::stdout(&out).contains("BROKEN at row 5"));
}

on_both_backends!(registry_import);

/// A file larger than one chunk (10,000 rows) is read, checked and staged a chunk at a time in
/// one transaction: a problem in its last chunk still leaves nothing of the earlier ones
/// written, and every chunk's rows count.
fn chunked_import(db: &TestDb) {
    let src = generate(db, 25_000, &db.path().join("generated"));
    let r = import(db, "entities", &src.join("entities.csv"));
    assert_eq!(r["rows"], 25_000);
    assert_eq!(r["outcome"]["inserted"], 25_000);
    let before = counts(db);

    // A change in the second chunk and, in the third, a duplicate of a row of the first.
    let (headers, mut rows) = read_csv(&src.join("entities.csv"));
    rows[12_345][1] = "第二块里改名的公司".into();
    rows.push(rows[7].clone());
    let file = db.path().join("chunks.csv");
    write_csv(&file, &headers, &rows);
    let (err, report) = refused_import(db, "entities", &file);
    assert!(
        err.contains("row 25002, column 统一社会信用代码") && err.contains("duplicate of row 9"),
        "{err}"
    );
    assert_eq!(report["problems"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        counts(db),
        before,
        "nothing of the earlier chunks is written"
    );
    let name = format!(
        "SELECT name FROM entities WHERE uscc = '{}'",
        rows[12_345][0]
    );
    assert_ne!(
        db.query_strings(&name),
        vec!["第二块里改名的公司".to_string()]
    );

    rows.pop();
    write_csv(&file, &headers, &rows);
    let r = import(db, "entities", &file);
    assert_eq!(
        (
            &r["rows"],
            &r["outcome"]["updated"],
            &r["outcome"]["unchanged"]
        ),
        (&Value::from(25_000), &Value::from(1), &Value::from(24_999))
    );
    assert_eq!(
        db.query_strings(&name),
        vec!["第二块里改名的公司".to_string()]
    );
}

on_both_backends!(chunked_import);

/// Settings: unknown keys are named, env and `--db` override, secrets stay out of output.
#[test]
fn configuration_layers() {
    let db = TestDb::new(Backend::Sqlite).expect("sqlite");
    let bad = db.path().join("bad.toml");
    std::fs::write(&bad, "[database]\nurll = \"sqlite://x.db\"\n").expect("write");
    let out = db.suiji(&["--config", bad.to_str().expect("utf-8"), "stats"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown field `urll`"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("database"), "{}", stderr(&out));

    let out = db.suiji_env(&["stats"], &[("SUIJI_SMTP__PASWORD", "x")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("SUIJI_SMTP__PASWORD"),
        "{}",
        stderr(&out)
    );

    // The database URL from the environment, when --db is not given.
    let env_db = db.path().join("from-env.db");
    let out = db
        .bare()
        .env(
            "SUIJI_DATABASE__URL",
            format!("sqlite://{}", env_db.display()),
        )
        .env("SUIJI_SMTP__PASSWORD", "hunter2-secret")
        .env("RUST_LOG", "trace")
        .args(["stats", "--json"])
        .output()
        .expect("run");
    // A read never creates a database: the refusal names the file the env var points at.
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(&format!("no database at {}", env_db.display())),
        "{}",
        stderr(&out)
    );
    assert!(!env_db.exists(), "stats created a database");
    let all = format!("{}{}", common::stdout(&out), stderr(&out));
    assert!(
        !all.contains("hunter2-secret"),
        "a secret reached the output"
    );

    let out = db
        .bare()
        .args(["--db", "mysql://somewhere/db", "stats"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unsupported database URL"));

    let out = db.suiji(&["import", "entities"]);
    assert_eq!(out.status.code(), Some(2), "usage errors exit 2");
}

/// Runs an import that must be refused (exit 2), as text and as `--json`; returns stderr and
/// the JSON report, after checking that neither repeats more than a short part of the file.
fn refused_import(db: &TestDb, kind: &str, file: &Path) -> (String, Value) {
    let path = file.to_str().expect("utf-8");
    let out = db.suiji(&["import", kind, path]);
    let err = stderr(&out);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{kind} {path} was not refused:\n{err}"
    );
    assert!(err.len() < 4000, "{} bytes on stderr", err.len());
    assert!(
        !err.contains(['\u{0}', '\u{1b}', '\u{7}', '\u{8}']),
        "a control character reached stderr: {err:?}"
    );
    let out = db.suiji(&["import", kind, path, "--json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        out.stdout.len() < 4000,
        "{} bytes of JSON",
        out.stdout.len()
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("json report");
    assert_eq!(report["ok"], false);
    (err, report)
}

/// A demo file's header line and its first data lines.
fn demo_lines(kind: &str, rows: usize) -> Vec<String> {
    let text = std::fs::read_to_string(common::repo(&format!("examples/henan/{kind}.csv")))
        .expect("demo file");
    text.lines().take(rows + 1).map(String::from).collect()
}

/// Writes lines as Excel does on Windows (CRLF), which must not shift any row number.
fn write_lines(path: &Path, lines: &[String]) -> std::path::PathBuf {
    std::fs::write(path, lines.join("\r\n") + "\r\n").expect("write");
    path.to_path_buf()
}

const KINDS: [&str; 5] = ["entities", "officers", "conflicts", "items", "bureaus"];

/// Files that must be refused whole, each with the real cause named (file, row, column and a
/// short, escaped quote of the value), and nothing written.
fn refused_files(db: &TestDb) {
    let dir = db.path();

    // An empty database (a dry run creates it and writes nothing into it): reads need one.
    let items = common::repo("examples/henan/items.csv");
    let out = db.suiji(&[
        "import",
        "items",
        items.to_str().expect("utf-8"),
        "--dry-run",
    ]);
    common::assert_ok(&out, &["import", "--dry-run"]);

    // 1. A header without data rows, for every kind: refused, and nothing at all is written
    // (not an import record, not an audit row, not even the division vocabulary).
    let fresh = counts(db);
    for kind in KINDS {
        let f = write_lines(
            &dir.join(format!("{kind}-header-only.csv")),
            &demo_lines(kind, 0),
        );
        let (err, report) = refused_import(db, kind, &f);
        let expected = format!(
            "{}: no data rows below the header (row 1): nothing to import",
            f.display()
        );
        assert!(err.contains(&expected), "{err}");
        assert!(err.contains("nothing was imported"), "{err}");
        assert_eq!(report["problems"].as_array().map(Vec::len), Some(1));
    }
    let xlsx = dir.join("officers-header-only.xlsx");
    {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        for (c, h) in demo_lines("officers", 0)[0].split(',').enumerate() {
            sheet.write_string(0, c as u16, h).expect("cell");
        }
        book.save(&xlsx).expect("save");
    }
    let (err, _) = refused_import(db, "officers", &xlsx);
    assert!(
        err.contains("no data rows below the header (row 1)"),
        "{err}"
    );
    assert_eq!(counts(db), fresh);
    assert_eq!(fresh["audit_log"], 1, "only the store's creation");

    // UTF-16 is read whether or not it starts with a byte-order mark: without one (bureaus,
    // comma-separated), and as Excel's "Unicode text" (BOM, tab-separated).
    let bureaus = demo_lines("bureaus", 100).join("\r\n") + "\r\n";
    let le: Vec<u8> = bureaus.encode_utf16().flat_map(u16::to_le_bytes).collect();
    std::fs::write(dir.join("bureaus-utf16.csv"), &le).expect("write");
    let r = import(db, "bureaus", &dir.join("bureaus-utf16.csv"));
    assert_eq!(r["encoding"], "UTF-16LE (no BOM)");
    assert_eq!(r["outcome"]["inserted"], 18);
    let items = demo_lines("items", 100).join("\r\n").replace(',', "\t") + "\r\n";
    let mut bom = b"\xFF\xFE".to_vec();
    bom.extend(items.encode_utf16().flat_map(u16::to_le_bytes));
    std::fs::write(dir.join("items.txt"), &bom).expect("write");
    let r = import(db, "items", &dir.join("items.txt"));
    assert_eq!(r["encoding"], "UTF-16LE");

    let before = counts(db);

    // 2. A megabyte in a cell is quoted as a short prefix, in text and JSON alike, whatever
    // the problem (here: too long, and an unknown sector under the length limit).
    let mut lines = demo_lines("entities", 3);
    let megabyte = "x".repeat(1 << 20);
    let cells = |line: &str| -> Vec<String> { line.split(',').map(String::from).collect() };
    let mut row = cells(&lines[1]);
    row[0] = megabyte.clone();
    lines[1] = row.join(",");
    let mut row = cells(&lines[2]);
    row[1] = megabyte.clone();
    lines[2] = row.join(",");
    let mut row = cells(&lines[3]);
    row[2] = "y".repeat(90);
    lines[3] = row.join(",");
    let f = write_lines(&dir.join("megabyte.csv"), &lines);
    let (err, report) = refused_import(db, "entities", &f);
    let x60 = "x".repeat(60);
    assert!(
        err.contains(&format!(
            "row 2, column 统一社会信用代码, value \"{x60}… (1048576 characters)\": longer \
             than 64 characters (1048576)"
        )),
        "{err}"
    );
    assert!(
        err.contains("row 3, column 单位名称") && err.contains("longer than 200 characters"),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "row 4, column 行业类别, value \"{}… (90 characters)\": unknown sector",
            "y".repeat(60)
        )),
        "{err}"
    );
    assert_eq!(
        report["problems"][0]["value"],
        format!("{x60}… (1048576 characters)")
    );

    // 3. The real cause, said: a full-width USCC, an unclosed quote, a workbook named .csv
    // (XLSX and legacy XLS), and text named .xlsx.
    let mut lines = demo_lines("entities", 1);
    let mut row = cells(&lines[1]);
    let half = row[0].chars().next().expect("a character");
    let full: String = row[0]
        .chars()
        .map(|c| char::from_u32(u32::from(c) + 0xFEE0).expect("full-width form"))
        .collect();
    let first = full.chars().next().expect("a character");
    row[0] = full.clone();
    lines[1] = row.join(",");
    let f = write_lines(&dir.join("full-width.csv"), &lines);
    let (err, _) = refused_import(db, "entities", &f);
    assert!(
        err.contains(&format!(
            "row 2, column 统一社会信用代码, value \"{full}\": invalid 统一社会信用代码: \
             character 1 `{first}` is a full-width character: type it half-width (`{half}`)"
        )),
        "{err}"
    );

    let mut lines = demo_lines("entities", 4);
    let mut row = cells(&lines[2]);
    row[1] = format!("\"{}", row[1]);
    lines[2] = row.join(",");
    let f = write_lines(&dir.join("unclosed.csv"), &lines);
    let (err, report) = refused_import(db, "entities", &f);
    assert!(
        err.contains(&format!(
            "{}: row 3: a quote (\") opens a value on line 3 and is never closed",
            f.display()
        )),
        "{err}"
    );
    assert!(!err.contains("required value is empty"), "{err}");
    assert_eq!(report["problems"].as_array().map(Vec::len), Some(1));

    let workbook = dir.join("officers-workbook.csv");
    officers_xlsx(&common::repo("examples/henan/officers.csv"), &workbook);
    let (err, _) = refused_import(db, "officers", &workbook);
    assert!(
        err.contains(&format!(
            "{}: this is an Excel workbook (.xlsx), not a CSV text file: name it `.xlsx`",
            workbook.display()
        )),
        "{err}"
    );
    let mut ole = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1".to_vec();
    ole.resize(4096, 0);
    std::fs::write(dir.join("legacy.csv"), &ole).expect("write");
    let (err, _) = refused_import(db, "officers", &dir.join("legacy.csv"));
    assert!(
        err.contains("this is a legacy Excel workbook (.xls), not a CSV text file: name it `.xls`"),
        "{err}"
    );
    std::fs::copy(
        common::repo("examples/henan/bureaus.csv"),
        dir.join("bureaus.xlsx"),
    )
    .expect("copy");
    let (err, _) = refused_import(db, "bureaus", &dir.join("bureaus.xlsx"));
    assert!(
        err.contains("this is not a spreadsheet at all; if it is CSV text, name it `.csv`"),
        "{err}"
    );

    // 4. Control characters in any cell of any kind, and a megabyte-long name, are refused
    // with file, row, column and the value escaped.
    let injected = [
        ("entities", 1, "单位名称", '\u{0}'),
        ("officers", 1, "姓名", '\u{1b}'),
        ("conflicts", 2, "原因", '\u{7}'),
        ("items", 2, "抽查依据", '\u{1b}'),
        ("bureaus", 1, "名称", '\u{8}'),
    ];
    for (kind, column, header, c) in injected {
        let mut lines = demo_lines(kind, 2);
        let mut row = cells(&lines[2]);
        let original = row[column].clone();
        let mut chars = original.chars();
        let first = chars.next().expect("a value");
        row[column] = format!("{first}{c}{}", chars.as_str());
        lines[2] = row.join(",");
        let f = write_lines(&dir.join(format!("{kind}-control.csv")), &lines);
        let (err, report) = refused_import(db, kind, &f);
        let escaped = c.escape_default().to_string();
        assert!(
            err.contains(&format!(
                "{}: row 3, column {header}, value \"{}",
                f.display(),
                row[column].replace(c, &escaped)
            )) && err.contains(&format!(
                "character 2 ({escaped}) is a control character: not allowed in a value"
            )),
            "{kind}: {err}"
        );
        // Other rows are still checked (a conflict may name an officer not imported here),
        // so the control character is one problem among the file's.
        let problems = report["problems"].as_array().expect("problems");
        assert!(
            problems
                .iter()
                .any(|p| p["row"] == 3 && p["column"] == header && p["value"] != original),
            "{kind}: {problems:?}"
        );
    }
    let mut lines = demo_lines("officers", 1);
    let mut row = cells(&lines[1]);
    row[1] = "张".repeat(1 << 20);
    lines[1] = row.join(",");
    let f = write_lines(&dir.join("officers-long-name.csv"), &lines);
    let (err, _) = refused_import(db, "officers", &f);
    assert!(
        err.contains("row 2, column 姓名") && err.contains("longer than 200 characters (1048576)"),
        "{err}"
    );

    assert_eq!(counts(db), before, "no refused file wrote anything");
}

on_both_backends!(refused_files);

/// An outcome file is checked whole in one pass: values that do not parse, unknown tasks and
/// events a task refuses are all reported together, and nothing is written.
fn outcome_problems_in_one_pass(db: &TestDb) {
    common::load_demo(db);
    common::freeze_and_draw(db);
    let id = |n: usize| format!("henan-2024-noncoal-{n:03}");
    let header = "任务编号,计划检查日期,完成日期,检查结果";
    let lines = [
        header.to_string(),
        format!("{},2024-11-31,,", id(1)),
        "henan-2024-nope-001,2024-11-12,,".to_string(),
        format!("{},2024-11-16,,", id(2)),
        "henan-2024-nope-002,2024-13-01,,".to_string(),
        format!("{},2024-11-18,,", id(3)),
    ];
    let f = write_lines(&db.path().join("outcomes.csv"), &lines);
    let file = f.to_str().expect("utf-8");
    let msg = common::refused(db, "2024-11-15", &["task", "import", file]);
    for expected in [
        "row 2, column 计划检查日期, value \"2024-11-31\": unknown date (use YYYY-MM-DD)",
        "row 3, column 任务编号, value \"henan-2024-nope-001\": no such task",
        "row 4, column 计划检查日期, value \"2024-11-16\":",
        "row 5, column 计划检查日期, value \"2024-13-01\": unknown date",
        "row 5, column 任务编号, value \"henan-2024-nope-002\": no such task",
        "5 problem(s); nothing was written",
    ] {
        assert!(msg.contains(expected), "missing `{expected}` in:\n{msg}");
    }
    assert!(msg.contains("not a working day"), "{msg}");
    let out = db.suiji(&["--today", "2024-11-15", "task", "import", file, "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let r: Value = serde_json::from_slice(&out.stdout).expect("json");
    let rows: Vec<u64> = r["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .map(|p| p["row"].as_u64().expect("row"))
        .collect();
    assert_eq!(rows, vec![2, 3, 4, 5, 5]);
    assert_eq!(
        db.json(&["task", "show", &id(3), "--json"])["facts"]["planned"],
        Value::Null,
        "the valid row is not written either"
    );

    let f = write_lines(&db.path().join("outcomes-empty.csv"), &[header.to_string()]);
    let msg = common::refused(
        db,
        "2024-11-15",
        &["task", "import", f.to_str().expect("utf-8")],
    );
    assert!(
        msg.contains("no data rows below the header (row 1): nothing to import"),
        "{msg}"
    );

    // Once the file is right, it goes in.
    let f = write_lines(
        &db.path().join("outcomes-fixed.csv"),
        &[header.to_string(), format!("{},2024-11-18,,", id(3))],
    );
    let r = common::on(
        db,
        "2024-11-15",
        &["task", "import", f.to_str().expect("utf-8")],
    );
    assert_eq!(r["tasks"], 1);
}

on_both_backends!(outcome_problems_in_one_pass);

/// Text that cannot spoof: a bidi control or a zero-width character in any cell, and a
/// Cyrillic letter in a name, are refused with file, row, column and the character named; a
/// 执法证号 typed in full width is the officer already known, never a second one, and one that
/// only looks like a number (the letter O for 0) is refused; what reaches the database behind
/// suiji's back is shown escaped at the terminal.
#[test]
fn text_that_cannot_spoof() {
    let Some(db) = TestDb::new(common::Backend::Sqlite) else {
        return;
    };
    common::load_demo(&db);
    let dir = db.path().join("spoof");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let cells = |line: &str| -> Vec<String> { line.split(',').map(String::from).collect() };
    let officer = |id: &str, name: &str| {
        let mut lines = demo_lines("officers", 1);
        let mut row = cells(&lines[1]);
        row[0] = id.to_string();
        row[1] = name.to_string();
        lines[1] = row.join(",");
        lines
    };
    let cases = [
        (
            officer("41000001007", "梁嘉怡\u{202e}"),
            "column 姓名",
            "character 4 (U+202E (a bidi control)) is an invisible character",
        ),
        (
            officer("4100000\u{200b}1007", "梁嘉怡"),
            "column 执法证号",
            "character 8 (U+200B (zero-width space)) is an invisible character",
        ),
        (
            officer("41OOOOO1007", "梁嘉怡"),
            "column 执法证号",
            "not a 执法证号 of the configured form `###########`",
        ),
    ];
    for (i, (lines, column, reason)) in cases.into_iter().enumerate() {
        let f = write_lines(&dir.join(format!("officers-{i}.csv")), &lines);
        let (err, _) = refused_import(&db, "officers", &f);
        assert!(err.contains(&format!("row 2, {column}")), "{err}");
        assert!(err.contains(reason), "{err}");
        assert!(
            !err.contains('\u{202e}') && !err.contains('\u{200b}'),
            "{err:?}"
        );
    }
    let mut lines = demo_lines("entities", 1);
    let mut row = cells(&lines[1]);
    row[1] = "А́ВС化工有限公司".into();
    lines[1] = row.join(",");
    let f = write_lines(&dir.join("entities.csv"), &lines);
    let (err, _) = refused_import(&db, "entities", &f);
    assert!(
        err.contains("row 2, column 单位名称") && err.contains("U+0410 (Cyrillic)"),
        "{err}"
    );
    // Full width: the same officer, unchanged.
    let f = write_lines(
        &dir.join("full-width.csv"),
        &officer("４１０００００１００７", "梁嘉怡"),
    );
    let report = import(&db, "officers", &f);
    assert_eq!(
        (
            &report["outcome"]["inserted"],
            &report["outcome"]["unchanged"]
        ),
        (&Value::from(0), &Value::from(1)),
        "{report}"
    );
    // Behind suiji's back: the terminal shows the character escaped.
    common::freeze_and_draw_at(&db, "2024-05-13 09:00");
    db.sql(&[
        "UPDATE tasks SET entity_name = entity_name || char(8238) || '1234' \
         WHERE id = 'henan-2024-noncoal-001'",
    ]);
    let out = db.suiji(&["task", "list", "--division", "noncoal"]);
    let text = common::stdout(&out);
    assert!(text.contains("\\u{202e}1234"), "{text}");
    assert!(!text.contains('\u{202e}'), "{text:?}");
    let text = common::stdout(&db.suiji(&["task", "show", "henan-2024-noncoal-001"]));
    assert!(text.contains("\\u{202e}1234"), "{text}");
    assert!(!text.contains('\u{202e}'), "{text:?}");
}
