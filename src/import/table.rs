//! Reading a registry file into rows of text: CSV (UTF-8, UTF-8 with BOM, UTF-16 with BOM, or
//! GBK/GB18030, detected from the bytes) and spreadsheets (`.xlsx`, `.xls`, `.ods`).
//!
//! Row numbers are the ones a person sees: the line in a text editor for CSV, the row in Excel.

use std::path::Path;

use calamine::{Data, Reader};

use super::Problem;

#[derive(Debug, Clone)]
pub struct Table {
    /// The file as named by the user, for messages.
    pub file: String,
    pub headers: Vec<String>,
    pub header_row: u64,
    pub rows: Vec<Row>,
    /// What the bytes were read as (`UTF-8`, `GB18030`, `xlsx`...), for the report.
    pub encoding: &'static str,
}

#[derive(Debug, Clone)]
pub struct Row {
    pub number: u64,
    pub cells: Vec<String>,
}

pub fn read(path: &Path, sheet: Option<&str>) -> Result<Table, Problem> {
    let file = path.display().to_string();
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "xlsx" | "xlsm" | "xls" | "ods" => read_sheet(path, file, sheet),
        _ => {
            if sheet.is_some() {
                return Err(Problem::file(
                    &file,
                    "--sheet only applies to spreadsheet files",
                ));
            }
            let bytes = std::fs::read(path)
                .map_err(|e| Problem::file(&file, &format!("cannot read: {e}")))?;
            read_csv(file, &bytes)
        }
    }
}

/// Decodes CSV bytes the way Excel and the national systems write them.
fn decode(file: &str, bytes: &[u8]) -> Result<(String, &'static str), Problem> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return std::str::from_utf8(rest)
            .map(|s| (s.to_string(), "UTF-8 (BOM)"))
            .map_err(|e| invalid_bytes(file, rest, e.valid_up_to(), "UTF-8"));
    }
    for (bom, enc, name) in [
        (&b"\xFF\xFE"[..], encoding_rs::UTF_16LE, "UTF-16LE"),
        (&b"\xFE\xFF"[..], encoding_rs::UTF_16BE, "UTF-16BE"),
    ] {
        if let Some(rest) = bytes.strip_prefix(bom) {
            return enc
                .decode_without_bom_handling_and_without_replacement(rest)
                .map(|s| (s.into_owned(), name))
                .ok_or_else(|| Problem::file(file, &format!("invalid {name} text")));
        }
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok((s.to_string(), "UTF-8")),
        Err(_) => encoding_rs::GB18030
            .decode_without_bom_handling_and_without_replacement(bytes)
            .map(|s| (s.into_owned(), "GB18030"))
            .ok_or_else(|| {
                let valid = std::str::from_utf8(bytes)
                    .err()
                    .map(|e| e.valid_up_to())
                    .unwrap_or(0);
                invalid_bytes(file, bytes, valid, "UTF-8 nor GBK/GB18030")
            }),
    }
}

fn invalid_bytes(file: &str, bytes: &[u8], offset: usize, what: &str) -> Problem {
    let line = bytes[..offset].iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    Problem {
        file: file.to_string(),
        row: line,
        column: String::new(),
        value: format!("byte offset {offset}"),
        reason: format!("the file is neither {what}: save it as UTF-8 or GBK CSV"),
    }
}

fn read_csv(file: String, bytes: &[u8]) -> Result<Table, Problem> {
    let (text, encoding) = decode(&file, bytes)?;
    let first_line = text.lines().next().unwrap_or("");
    // Excel's "Unicode text" export is tab-separated; a header without commas but with tabs is one.
    let delimiter = if !first_line.contains(',') && first_line.contains('\t') {
        b'\t'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut headers = None;
    let mut header_row = 1;
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map(|p| p.line()).unwrap_or(0);
            Problem {
                file: file.clone(),
                row: line,
                column: String::new(),
                value: String::new(),
                reason: format!("malformed CSV: {e}"),
            }
        })?;
        let number = record.position().map(|p| p.line()).unwrap_or(0);
        let cells: Vec<String> = record.iter().map(|c| c.trim().to_string()).collect();
        if cells.iter().all(String::is_empty) {
            continue;
        }
        if headers.is_none() {
            headers = Some(cells);
            header_row = number;
        } else {
            rows.push(Row { number, cells });
        }
    }
    let headers = headers.ok_or_else(|| Problem::file(&file, "the file is empty"))?;
    Ok(Table {
        file,
        headers,
        header_row,
        rows,
        encoding,
    })
}

fn read_sheet(path: &Path, file: String, sheet: Option<&str>) -> Result<Table, Problem> {
    let mut book = calamine::open_workbook_auto(path)
        .map_err(|e| Problem::file(&file, &format!("cannot open spreadsheet: {e}")))?;
    let names = book.sheet_names();
    let name = match sheet {
        Some(s) => names
            .iter()
            .find(|n| n.as_str() == s)
            .cloned()
            .ok_or_else(|| {
                Problem::file(
                    &file,
                    &format!("no sheet named `{s}` (sheets: {})", names.join(", ")),
                )
            })?,
        None => names
            .first()
            .cloned()
            .ok_or_else(|| Problem::file(&file, "the workbook has no sheet"))?,
    };
    let range = book
        .worksheet_range(&name)
        .map_err(|e| Problem::file(&file, &format!("cannot read sheet `{name}`: {e}")))?;
    let first_row = u64::from(range.start().map(|(r, _)| r).unwrap_or(0));
    let first_col = range.start().map(|(_, c)| c as usize).unwrap_or(0);
    let mut headers = None;
    let mut header_row = 1;
    let mut rows = Vec::new();
    for (i, cells) in range.rows().enumerate() {
        let number = first_row + i as u64 + 1;
        // Keep columns where Excel puts them even when the used range starts to the right.
        let mut text = vec![String::new(); first_col];
        text.extend(cells.iter().map(cell_text));
        if text.iter().all(String::is_empty) {
            continue;
        }
        if headers.is_none() {
            headers = Some(text);
            header_row = number;
        } else {
            rows.push(Row {
                number,
                cells: text,
            });
        }
    }
    let headers =
        headers.ok_or_else(|| Problem::file(&file, &format!("sheet `{name}` is empty")))?;
    Ok(Table {
        file,
        headers,
        header_row,
        rows,
        encoding: "spreadsheet",
    })
}

/// A cell as the text a person sees: whole numbers without `.0` (certificate numbers are often
/// stored as numbers), dates as `YYYY-MM-DD`.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.trim().to_string(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => if *b { "是" } else { "否" }.to_string(),
        Data::DateTime(d) => d
            .as_datetime()
            .map(|dt| dt.date().format("%Y-%m-%d").to_string())
            .unwrap_or_else(|| d.to_string()),
        Data::Error(e) => format!("#ERROR {e:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_encodings() {
        let text = "统一社会信用代码,单位名称\n91350100M000100Y43,测试\n";
        let (gbk, _, _) = encoding_rs::GBK.encode(text);
        let table = read_csv("t.csv".into(), &gbk).expect("gbk");
        assert_eq!(table.encoding, "GB18030");
        assert_eq!(table.headers[0], "统一社会信用代码");
        assert_eq!(table.rows[0].cells[1], "测试");
        assert_eq!(table.rows[0].number, 2);

        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(text.as_bytes());
        let table = read_csv("t.csv".into(), &bom).expect("bom");
        assert_eq!(table.headers[0], "统一社会信用代码");
        assert_eq!(table.encoding, "UTF-8 (BOM)");
    }

    #[test]
    fn rejects_undecodable_bytes_with_line() {
        let bytes = b"a,b\n1,2\n\xFF\xFF\xFF,3\n";
        let p = read_csv("t.csv".into(), bytes).expect_err("garbage");
        assert_eq!(p.row, 3);
    }

    #[test]
    fn quoted_newlines_keep_line_numbers() {
        let t = read_csv("t.csv".into(), b"a,b\n\"x\ny\",1\nz,2\n").expect("csv");
        assert_eq!(t.rows[0].number, 2);
        assert_eq!(t.rows[1].number, 4);
    }
}
