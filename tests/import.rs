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
        before["audit_log"], 6,
        "5 imports + the division vocabulary"
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
    changed[1] = "改名后的公司".into();
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
    let r = import(db, "entities", &dir.join("entities-gbk.csv"));
    assert_eq!(r["outcome"]["updated"], 1, "the original name comes back");
    assert_eq!(r["outcome"]["unchanged"], 299);
    assert_eq!(counts(db)["history"], 2);

    // The audit chain: intact, then edited behind suiji's back.
    let v = db.json(&["audit", "verify", "--json"]);
    assert_eq!(v["ok"], true);
    let rows = v["rows"].as_u64().expect("rows");
    assert_eq!(rows, 8);
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
        "UPDATE audit_log SET detail = replace(detail, '300', '301') WHERE seq = 4",
    ]);
    let out = db.suiji(&["audit", "verify", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["ok"], false);
    assert_eq!(v["first_broken"]["seq"], 4);
    let out = db.suiji(&["audit", "verify"]);
    assert!(common::stdout(&out).contains("BROKEN at row 4"));
}

on_both_backends!(registry_import);

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
