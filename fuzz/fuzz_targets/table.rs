//! The table reader on arbitrary bytes, read through the public `suiji::import::table::read`
//! (the function `suiji import` calls) under each name the reader tells formats by: `.csv`,
//! `.xlsx`, `.xls` and `.ods`. Spreadsheets are ZIP archives whose entries carry a CRC, which
//! mutated bytes almost never keep, so each input is also read as the worksheet XML of a valid
//! `.xlsx` and as the `content.xml` of a valid `.ods`. Reading must return a table or problems,
//! never panic, hang or allocate without bound; a table's rows keep what `Table` promises.
#![no_main]

use std::io::{Cursor, Write};
use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use suiji::import::table::{self, Table};
use zip::write::SimpleFileOptions;

/// A scratch folder of this process (in memory where /dev/shm exists).
fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let shm = PathBuf::from("/dev/shm");
        let base = if shm.is_dir() {
            shm
        } else {
            std::env::temp_dir()
        };
        let dir = base.join(format!("suiji-fuzz-table-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch folder");
        dir
    })
}

const XLSX_PARTS: &[(&str, &str)] = &[
    (
        "[Content_Types].xml",
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>"#,
    ),
    (
        "_rels/.rels",
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
    ),
    (
        "xl/workbook.xml",
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
    ),
    (
        "xl/_rels/workbook.xml.rels",
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>"#,
    ),
    (
        "xl/styles.xml",
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><cellXfs count="3"><xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/><xf numFmtId="49" applyNumberFormat="1"/></cellXfs></styleSheet>"#,
    ),
    (
        "xl/sharedStrings.xml",
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="20" uniqueCount="20"><si><t>地市</t></si><si><t>名称</t></si><si><t>邮箱</t></si><si><t>郑州</t></si><si><t>郑州市应急管理局</t></si><si><t>yjj4101@example.gov.cn</t></si><si><t>开封</t></si><si><t>开封市应急管理局</t></si><si><t>yjj4102@example.gov.cn</t></si><si><t>洛阳</t></si><si><t>洛阳市应急管理局</t></si><si><t>yjj4103@example.gov.cn</t></si><si><t>平顶山</t></si><si><t>平顶山市应急管理局</t></si><si><t>yjj4104@example.gov.cn</t></si><si><t>安阳</t></si><si><t>安阳市应急管理局</t></si><si><t>yjj4105@example.gov.cn</t></si><si><r><t>富</t></r><r><t>文本</t></r></si><si><t xml:space="preserve"> 空格 </t></si></sst>"#,
    ),
];

fn zip(parts: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let stored = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, bytes) in parts {
        zip.start_file(*name, stored).expect("zip entry");
        zip.write_all(bytes).expect("zip write");
    }
    zip.finish().expect("zip").into_inner()
}

fn check(result: Result<Table, Vec<suiji::import::Problem>>) -> bool {
    // A table read to its end: every row handed out is clean, and a refusal names a problem.
    let rows = result.and_then(|mut t| {
        let rows = t.all_rows()?;
        Ok((t.headers().to_vec(), rows))
    });
    match rows {
        Ok((headers, rows)) => {
            assert!(!rows.is_empty(), "a table read whole always has data rows");
            for cell in headers.iter().chain(rows.iter().flat_map(|r| &r.cells)) {
                assert!(
                    suiji::text::control_char(cell).is_none(),
                    "control character in {cell:?}"
                );
            }
            true
        }
        Err(problems) => {
            assert!(!problems.is_empty(), "a refusal names at least one problem");
            for p in &problems {
                // Problems quote at most a short prefix of what they are about.
                let shown = p.to_string();
                assert!(shown.len() < 4096, "problem of {} bytes", shown.len());
            }
            false
        }
    }
}

fn read(name: &str, bytes: &[u8], spreadsheet: bool) {
    let path = scratch().join(name);
    std::fs::write(&path, bytes).expect("write the input");
    if check(table::read(&path, None)) && spreadsheet {
        // A sheet chosen by name: one that exists, then one that does not.
        let _ = check(table::read(&path, Some("Sheet1")));
        let _ = check(table::read(&path, Some("没有这个表")));
    }
}

fuzz_target!(|data: &[u8]| {
    read("input.csv", data, false);
    for ext in ["xlsx", "xls", "ods"] {
        read(&format!("input.{ext}"), data, true);
    }
    // The input as the worksheet of a valid workbook, and as the content of a valid ODS.
    let mut parts: Vec<(&str, &[u8])> =
        XLSX_PARTS.iter().map(|(n, x)| (*n, x.as_bytes())).collect();
    parts.push(("xl/worksheets/sheet1.xml", data));
    read("sheet.xlsx", &zip(&parts), true);
    let ods = zip(&[
        (
            "mimetype",
            b"application/vnd.oasis.opendocument.spreadsheet",
        ),
        ("content.xml", data),
    ]);
    read("content.ods", &ods, true);
});
