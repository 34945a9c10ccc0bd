//! Tables people open in Excel: CSV (UTF-8 with a BOM, so Excel reads Chinese correctly) and
//! XLSX. No cell is ever a formula: a value starting with `=`, `+`, `-`, `@`, a tab or a
//! carriage return is written as text. In XLSX, the columns that hold counts are number cells
//! and those that hold days are date cells, so people can sort and sum them; every other cell
//! is text (numbers such as 执法证号 or USCCs keep every digit).

/// What a spreadsheet takes for the start of a formula.
pub const FORMULA: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A cell as it is safe to hand to a spreadsheet: formula triggers are quoted away.
pub fn safe_cell(value: &str) -> std::borrow::Cow<'_, str> {
    if value.starts_with(FORMULA) {
        std::borrow::Cow::Owned(format!("'{value}"))
    } else {
        std::borrow::Cow::Borrowed(value)
    }
}

/// CSV bytes: a UTF-8 BOM, the header row, the rows; every cell quoted as needed and made safe.
pub fn csv(headers: &[&str], rows: &[Vec<String>]) -> Vec<u8> {
    let mut out = vec![0xEF, 0xBB, 0xBF];
    let mut w = csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::Necessary)
        .from_writer(Vec::new());
    let _ = w.write_record(headers.iter().map(|h| safe_cell(h).into_owned()));
    for r in rows {
        let _ = w.write_record(r.iter().map(|c| safe_cell(c).into_owned()));
    }
    if let Ok(bytes) = w.into_inner() {
        out.extend(bytes);
    }
    out
}

/// Headers of the columns that hold counts: number cells in XLSX.
pub const NUMBER_COLUMNS: [&str; 6] = [
    "序号",
    "检查人员人数",
    "对象库数量",
    "抽取数量",
    "抽取顺位",
    "检查组人数",
];

/// Headers of the columns that hold days (`YYYY-MM-DD`): date cells in XLSX.
pub const DATE_COLUMNS: [&str; 6] = [
    "检查日期",
    "公示日期",
    "公示期限",
    "处罚决定日期",
    "处罚公示日期",
    "计划检查日期",
];

/// XLSX bytes with one sheet: a bold header row; counts as numbers and days as dates in the
/// columns named above (a value that is not one stays text); every other cell text.
pub fn xlsx(
    sheet_name: &str,
    headers: &[&str],
    rows: &[Vec<String>],
) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name(sheet_name)?;
    let bold = rust_xlsxwriter::Format::new().set_bold();
    for (c, h) in headers.iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, *h, &bold)?;
    }
    let day = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
    for (i, r) in rows.iter().enumerate() {
        for (c, v) in r.iter().enumerate() {
            let (row, col) = (i as u32 + 1, c as u16);
            let header = headers.get(c).copied().unwrap_or("");
            let count = v.parse::<u32>().ok().filter(|n| n.to_string() == *v);
            let date = chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").ok();
            match (count, date) {
                (Some(n), _) if NUMBER_COLUMNS.contains(&header) => {
                    sheet.write_number(row, col, f64::from(n))?;
                }
                (_, Some(d)) if DATE_COLUMNS.contains(&header) => {
                    use chrono::Datelike;
                    let at = rust_xlsxwriter::ExcelDateTime::from_ymd(
                        u16::try_from(d.year()).unwrap_or(1900),
                        d.month() as u8,
                        d.day() as u8,
                    )?;
                    sheet.write_datetime_with_format(row, col, &at, &day)?;
                }
                // write_string stores text as text: "=HYPERLINK(...)" stays a string.
                _ => {
                    sheet.write_string(row, col, v.as_str())?;
                }
            }
        }
    }
    for c in 0..headers.len() {
        sheet.set_column_width(c as u16, 18)?;
    }
    book.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_stay_text() {
        assert_eq!(safe_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(safe_cell("-1"), "'-1");
        assert_eq!(safe_cell("郑州"), "郑州");
        let bytes = csv(&["名称"], &[vec!["=1+1".into()], vec!["a,b".into()]]);
        let text = String::from_utf8(bytes).expect("utf-8");
        assert_eq!(text, "\u{feff}名称\n'=1+1\n\"a,b\"\n");
        assert!(xlsx("表", &["名称"], &[vec!["=1+1".into()]]).is_ok());
    }
}
