//! Reading a registry file into rows of text: CSV (UTF-8, UTF-8 with BOM, UTF-16 with or without
//! BOM, or GBK/GB18030, detected from the bytes) and spreadsheets (`.xlsx`, `.xls`, `.ods`).
//! A file that is not what its name says (a workbook named `.csv`, text named `.xlsx`) is
//! refused with what it really is.
//!
//! A CSV file is streamed: checked whole first (its encoding, an unclosed quote), then its rows
//! read as they are asked for, a chunk at a time, so that an import of ten million rows holds
//! neither them nor the file's text (see `stream`). A spreadsheet's cells are read whole (its
//! reader builds them all anyway).
//!
//! Row numbers are the ones a person sees: the line in a text editor for CSV, the row in Excel.

use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use calamine::{Data, Reader};

use super::Problem;
use super::stream::{Breaks, Decoded, Origin, Quotes};
use crate::text;

/// A file's headers, and its rows as text as they are read. Every row handed out has passed
/// the same checks, whatever it was read from: no control character in any cell; and a file
/// without data rows is refused at its end rather than imported as nothing.
pub struct Table {
    /// The file as named by the user, for messages.
    pub file: String,
    pub header_row: u64,
    /// What the bytes were read as (`UTF-8`, `GB18030`, `xlsx`...), for the report.
    pub encoding: &'static str,
    headers: Vec<String>,
    source: Source,
    /// Data rows read so far (good or not), and whether the source has ended.
    seen: u64,
    ended: bool,
}

/// Where the rows come from.
enum Source {
    /// Rows already read (a spreadsheet's, or built in memory).
    Rows(std::vec::IntoIter<Row>),
    /// A CSV file's text, read on as rows are asked for.
    Csv(Box<CsvRows>),
}

#[derive(Debug, Clone)]
pub struct Row {
    pub number: u64,
    pub cells: Vec<String>,
}

impl Table {
    /// A table of rows already in memory. The header is checked here; the rows as they are
    /// read, like every reader's.
    pub fn new(
        file: String,
        encoding: &'static str,
        header_row: u64,
        headers: Vec<String>,
        rows: Vec<Row>,
    ) -> Result<Table, Vec<Problem>> {
        Table::with_source(
            file,
            encoding,
            header_row,
            headers,
            Source::Rows(rows.into_iter()),
        )
    }

    fn with_source(
        file: String,
        encoding: &'static str,
        header_row: u64,
        headers: Vec<String>,
        source: Source,
    ) -> Result<Table, Vec<Problem>> {
        let problems: Vec<Problem> = headers
            .iter()
            .enumerate()
            .filter_map(|(i, h)| {
                control_reason(h).map(|reason| {
                    Problem::new(
                        &file,
                        header_row,
                        &format!("{} (the header)", i + 1),
                        h,
                        &reason,
                    )
                })
            })
            .collect();
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Table {
            file,
            header_row,
            encoding,
            headers,
            source,
            seen: 0,
            ended: false,
        })
    }

    /// The SHA-256 of the CSV file the rows were read from, once they have all been read: an
    /// import compares it with the digest it recorded at the start, so that a file changed
    /// while it was read is never imported as something it never was. None for a spreadsheet
    /// (read whole when opened) and for rows built in memory.
    pub fn sha256(&self) -> Option<String> {
        match &self.source {
            Source::Csv(csv) => csv.reader.get_ref().decoded().digest(),
            Source::Rows(_) => None,
        }
    }

    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// The next rows, at most `max` of them; none once the file has ended. A row with a control
    /// character is not handed out: its problems go to `problems`, as does a CSV file that
    /// turns out malformed (which ends it) and a file that ends without any data row.
    pub fn next_rows(&mut self, max: usize, problems: &mut Vec<Problem>) -> Vec<Row> {
        let mut rows = Vec::new();
        while rows.len() < max && !self.ended {
            let next = match &mut self.source {
                Source::Rows(rows) => Ok(rows.next()),
                Source::Csv(csv) => csv.next_row(&self.file),
            };
            match next {
                Ok(Some(row)) => {
                    self.seen += 1;
                    if self.clean(&row, problems) {
                        rows.push(row);
                    }
                }
                Ok(None) => self.end(problems),
                Err(problem) => {
                    problems.push(problem);
                    self.ended = true;
                }
            }
        }
        rows
    }

    /// Every row left, or every problem found in them.
    pub fn all_rows(&mut self) -> Result<Vec<Row>, Vec<Problem>> {
        let mut problems = Vec::new();
        let rows = self.next_rows(usize::MAX, &mut problems);
        if problems.is_empty() {
            Ok(rows)
        } else {
            Err(problems)
        }
    }

    /// How far the reading has come, against where it ends: bytes of a CSV file, rows
    /// of a spreadsheet. For a progress bar.
    pub fn progress(&self) -> (u64, u64) {
        match &self.source {
            Source::Rows(rows) => (self.seen, self.seen + rows.len() as u64),
            Source::Csv(csv) => (csv.reader.get_ref().decoded().taken(), csv.len),
        }
    }

    fn end(&mut self, problems: &mut Vec<Problem>) {
        self.ended = true;
        if self.seen == 0 {
            problems.push(Problem::whole_file(
                &self.file,
                &format!(
                    "no data rows below the header (row {}): nothing to import; was the right \
                     file or sheet exported?",
                    self.header_row
                ),
            ));
        }
    }

    /// Checks a row's text, in one place for every kind of file and import: a control
    /// character (NUL, ESC, a line break inside a cell) is refused wherever it is.
    fn clean(&self, row: &Row, problems: &mut Vec<Problem>) -> bool {
        let before = problems.len();
        for (i, cell) in row.cells.iter().enumerate() {
            if let Some(reason) = control_reason(cell) {
                let column = match self.headers.get(i).filter(|h| !h.is_empty()) {
                    Some(h) => h.clone(),
                    None => format!("{} (no header)", i + 1),
                };
                problems.push(Problem::new(&self.file, row.number, &column, cell, &reason));
            }
        }
        problems.len() == before
    }
}

/// Why a cell cannot be taken, if it holds a control or an invisible character.
fn control_reason(cell: &str) -> Option<String> {
    let (at, c) = text::hidden_char(cell)?;
    Some(if c == '\n' || c == '\r' {
        format!(
            "character {at} is a line break inside the value: not allowed (in Excel, remove \
             the Alt+Enter break; in a CSV, check for a quote (\") that spans lines)"
        )
    } else if c.is_control() {
        format!("{}: not allowed in a value", text::hidden_reason(at, c))
    } else {
        format!(
            "{}: not allowed in a value (it changes how the text displays without showing \
             itself)",
            text::hidden_reason(at, c)
        )
    })
}

pub fn read(path: &Path, sheet: Option<&str>) -> Result<Table, Vec<Problem>> {
    let file = path.display().to_string();
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "xlsx" | "xlsm" | "xls" | "ods" => read_sheet(path, file, &ext, sheet),
        _ => {
            if sheet.is_some() {
                return Err(vec![Problem::whole_file(
                    &file,
                    "--sheet only applies to spreadsheet files",
                )]);
            }
            match std::fs::File::open(path) {
                Ok(f) => read_csv(file, Origin(Arc::new(f))),
                Err(e) => Err(cannot_read(&file, &e)),
            }
        }
    }
}

/// A spreadsheet format told by its first bytes, with the extension it should carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Spreadsheet {
    what: &'static str,
    ext: &'static str,
}

/// Spreadsheets are containers: XLSX and ODS are ZIP archives (ODS names its type in a
/// `mimetype` entry stored first), XLS an OLE compound file. Text never starts like either.
fn spreadsheet_magic(bytes: &[u8]) -> Option<Spreadsheet> {
    if bytes.starts_with(b"PK\x03\x04") {
        let ods = bytes
            .get(30..)
            .is_some_and(|b| b.starts_with(b"mimetypeapplication/vnd.oasis.opendocument"));
        return Some(if ods {
            Spreadsheet {
                what: "an OpenDocument spreadsheet",
                ext: "ods",
            }
        } else {
            Spreadsheet {
                what: "an Excel workbook",
                ext: "xlsx",
            }
        });
    }
    if bytes.starts_with(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1") {
        return Some(Spreadsheet {
            what: "a legacy Excel workbook",
            ext: "xls",
        });
    }
    None
}

/// UTF-16 without a byte-order mark, told by its zero bytes: a CSV is mostly digits, commas
/// and line breaks, whose UTF-16 code units have a zero high byte, while UTF-8 and GB18030
/// text has no zero byte at all. A stray NUL in UTF-8 text makes one or two such units, never
/// a tenth of them all on the same side.
fn utf16_without_bom(bytes: &[u8]) -> Option<(&'static encoding_rs::Encoding, &'static str)> {
    let sample = &bytes[..bytes.len().min(8192)];
    let (mut units, mut le, mut be) = (0usize, 0usize, 0usize);
    for pair in sample.chunks_exact(2) {
        units += 1;
        match (pair[0], pair[1]) {
            (0, 0) => {}
            (_, 0) => le += 1,
            (0, _) => be += 1,
            _ => {}
        }
    }
    if units >= 4 && le * 10 >= units && le > be * 8 {
        Some((encoding_rs::UTF_16LE, "UTF-16LE (no BOM)"))
    } else if units >= 4 && be * 10 >= units && be > le * 8 {
        Some((encoding_rs::UTF_16BE, "UTF-16BE (no BOM)"))
    } else {
        None
    }
}

fn cannot_read(file: &str, e: &std::io::Error) -> Vec<Problem> {
    vec![Problem::whole_file(file, &format!("cannot read: {e}"))]
}

/// How a CSV file's text is encoded: its byte-order mark, the decoder (none for UTF-8), and the
/// name the import report gives it.
#[derive(Clone, Copy)]
struct Encoding {
    /// The byte-order mark the text starts after.
    mark: &'static [u8],
    decoder: Option<&'static encoding_rs::Encoding>,
    name: &'static str,
}

impl Encoding {
    fn text(&self, origin: &Origin) -> Decoded {
        Decoded::new(origin.from(self.mark.len() as u64), self.decoder)
    }
}

/// What one pass over the whole text found: where its encoding failed (byte offset and line),
/// or else the line of a quote left open, if any.
type Scan = Result<Option<u64>, (u64, u64)>;

/// The separator the first line uses: Excel's "Unicode text" export is tab-separated, so a
/// header without commas but with tabs is one.
fn delimiter(text: Decoded) -> u8 {
    let (mut comma, mut tab) = (false, false);
    for b in std::io::BufReader::new(text).bytes() {
        match b {
            Ok(b'\n') | Err(_) => break,
            Ok(b',') => comma = true,
            Ok(b'\t') => tab = true,
            Ok(_) => {}
        }
    }
    if !comma && tab { b'\t' } else { b',' }
}

/// Reads the whole text once, checking its encoding and its quotes as it streams past.
fn scan(mut text: Decoded, delimiter: u8) -> std::io::Result<Scan> {
    let mut quotes = Quotes::new(delimiter);
    let mut block = vec![0; 1 << 16];
    loop {
        match text.read(&mut block) {
            Ok(0) => return Ok(Ok(quotes.unclosed())),
            Ok(n) => quotes.feed(&block[..n]),
            Err(e) => {
                return match text.bad_at() {
                    Some(at) => Ok(Err((at, quotes.line))),
                    None => Err(e),
                };
            }
        }
    }
}

/// Tells how the CSV text is encoded, the way Excel and the national systems write it (UTF-8
/// with or without BOM, UTF-16 with or without, else GBK/GB18030), and checks the whole text
/// in that encoding before any row is taken; returns it with the separator.
fn encoding(file: &str, origin: &Origin) -> Result<(Encoding, u8), Vec<Problem>> {
    let head = origin.head(8192).map_err(|e| cannot_read(file, &e))?;
    if let Some(s) = spreadsheet_magic(&head) {
        return Err(vec![Problem::whole_file(
            file,
            &format!(
                "this is {} (.{}), not a CSV text file: name it `.{}` and import that",
                s.what, s.ext, s.ext
            ),
        )]);
    }
    let utf8 = |mark, name| Encoding {
        mark,
        decoder: None,
        name,
    };
    let bom = head.starts_with(b"\xEF\xBB\xBF");
    let utf16 = [
        (&b"\xFF\xFE"[..], encoding_rs::UTF_16LE, "UTF-16LE"),
        (&b"\xFE\xFF"[..], encoding_rs::UTF_16BE, "UTF-16BE"),
    ]
    .into_iter()
    .filter(|_| !bom)
    .find_map(|(mark, enc, name)| head.starts_with(mark).then_some((mark, enc, name)))
    .or_else(|| {
        utf16_without_bom(&head)
            .filter(|_| !bom)
            .map(|(enc, name)| (&b""[..], enc, name))
    })
    .map(|(mark, enc, name)| Encoding {
        mark,
        decoder: Some(enc),
        name,
    });
    let first = match (utf16, bom) {
        (Some(e), _) => e,
        (None, true) => utf8(b"\xEF\xBB\xBF", "UTF-8 (BOM)"),
        (None, false) => utf8(b"", "UTF-8"),
    };
    let checked = |enc: Encoding| -> Result<(Scan, u8), Vec<Problem>> {
        let delimiter = delimiter(enc.text(origin));
        let scan = scan(enc.text(origin), delimiter).map_err(|e| cannot_read(file, &e))?;
        Ok((scan, delimiter))
    };
    let (scan, enc, delimiter) = match checked(first)? {
        (Err(_), _) if utf16.is_some() => {
            return Err(vec![Problem::whole_file(
                file,
                &format!(
                    "the file reads as {} but is not valid UTF-16: save it as UTF-8 CSV",
                    first.name
                ),
            )]);
        }
        (Err((at, line)), _) if bom => return Err(vec![invalid_bytes(file, line, at, "UTF-8")]),
        (Err((at, line)), _) => {
            let gb = Encoding {
                mark: b"",
                decoder: Some(encoding_rs::GB18030),
                name: "GB18030",
            };
            match checked(gb)? {
                (Err(_), _) => {
                    return Err(vec![invalid_bytes(file, line, at, "UTF-8 nor GBK/GB18030")]);
                }
                (scan, delimiter) => (scan, gb, delimiter),
            }
        }
        (scan, delimiter) => (scan, first, delimiter),
    };
    if let Ok(Some(line)) = scan {
        return Err(vec![Problem::new(
            file,
            line,
            "",
            "",
            &format!(
                "a quote (\") opens a value on line {line} and is never closed, so the rest of \
                 the file would read as that one value: close the quote or remove it"
            ),
        )]);
    }
    Ok((enc, delimiter))
}

fn invalid_bytes(file: &str, line: u64, offset: u64, what: &str) -> Problem {
    Problem::new(
        file,
        line,
        "",
        &format!("byte offset {offset}"),
        &format!("the file is neither {what}: save it as UTF-8 or GBK CSV"),
    )
}

/// A CSV file's text and the reader going through it.
struct CsvRows {
    reader: csv::Reader<Breaks>,
    record: csv::StringRecord,
    /// The file's length in bytes, its byte-order mark left out.
    len: u64,
}

impl CsvRows {
    /// The next record with a value in it, as trimmed cells; `None` at the end of the text.
    fn next_row(&mut self, file: &str) -> Result<Option<Row>, Problem> {
        loop {
            match self.reader.read_record(&mut self.record) {
                Err(e) => {
                    let breaks = self.reader.get_mut();
                    if let Some(at) = breaks.decoded().bad_at() {
                        // The whole text was checked before the first row was taken.
                        return Err(Problem::whole_file(
                            file,
                            &format!(
                                "the file changed while it was being imported: byte {at} of \
                                 its text no longer reads as it did when it was checked; \
                                 import it again once it is complete"
                            ),
                        ));
                    }
                    let line = e.position().map_or(0, |p| breaks.line_at(p.byte()));
                    return Err(Problem::new(
                        file,
                        line,
                        "",
                        "",
                        &format!("malformed CSV: {e}"),
                    ));
                }
                Ok(false) => return Ok(None),
                Ok(true) => {
                    if self.record.iter().all(|c| c.trim().is_empty()) {
                        continue;
                    }
                    let breaks = self.reader.get_mut();
                    let number = self
                        .record
                        .position()
                        .map_or(0, |p| breaks.line_at(p.byte()));
                    let cells = self.record.iter().map(|c| c.trim().to_string()).collect();
                    return Ok(Some(Row { number, cells }));
                }
            }
        }
    }
}

fn read_csv(file: String, origin: Origin) -> Result<Table, Vec<Problem>> {
    let (enc, delimiter) = encoding(&file, &origin)?;
    let len = origin
        .len()
        .map_err(|e| cannot_read(&file, &e))?
        .saturating_sub(enc.mark.len() as u64);
    let mut csv = Box::new(CsvRows {
        reader: csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .from_reader(Breaks::new(enc.text(&origin).hashed(enc.mark))),
        record: csv::StringRecord::new(),
        len,
    });
    let header = csv
        .next_row(&file)
        .map_err(|p| vec![p])?
        .ok_or_else(|| vec![Problem::whole_file(&file, "the file is empty")])?;
    Table::with_source(
        file,
        enc.name,
        header.number,
        header.cells,
        Source::Csv(csv),
    )
}

/// The columns a spreadsheet row may use: far more than any import format has, and few enough
/// that one value far to the right (column XFD, the 16,384th) cannot make every row it shares a
/// sheet with that wide.
pub const MAX_SHEET_COLUMNS: u32 = 1000;
/// The cells a sheet may make, the empty ones left of a value included (a row is as wide as its
/// rightmost value): ten million, a million entities' nine columns with room to spare. A sheet
/// is read as the cells that hold a value, so neither an inflated used range nor two values far
/// apart (A1 and XFD1048576) makes the reader allocate the whole rectangle between them.
pub const MAX_SHEET_CELLS: usize = 10_000_000;

fn read_sheet(
    path: &Path,
    file: String,
    ext: &str,
    sheet: Option<&str>,
) -> Result<Table, Vec<Problem>> {
    let one = |reason: &str| vec![Problem::whole_file(&file, reason)];
    if let Some(damage) = compound_damage(path) {
        return Err(one(&format!(
            "cannot open spreadsheet: the file is damaged ({damage}): open it in Excel and \
             save it again"
        )));
    }
    let mut book = calamine::open_workbook_auto(path).map_err(|e| {
        one(&format!(
            "cannot open spreadsheet: {e}{}",
            misnamed_spreadsheet(path, ext)
        ))
    })?;
    let names = book.sheet_names();
    let name = match sheet {
        Some(s) => names
            .iter()
            .find(|n| n.as_str() == s)
            .cloned()
            .ok_or_else(|| {
                one(&format!(
                    "no sheet named `{}` (sheets: {})",
                    text::quote(s),
                    names.join(", ")
                ))
            })?,
        None => names
            .first()
            .cloned()
            .ok_or_else(|| one("the workbook has no sheet"))?,
    };
    let cannot = |e: &dyn std::fmt::Display| one(&format!("cannot read sheet `{name}`: {e}"));
    let mut cells = SheetCells::default();
    if let calamine::Sheets::Xlsx(xlsx) = &mut book {
        // calamine's `worksheet_range` allocates the rectangle spanning every cell it saw; the
        // cell reader hands them over one by one.
        let mut reader = xlsx.worksheet_cells_reader(&name).map_err(|e| cannot(&e))?;
        while let Some(cell) = reader.next_cell().map_err(|e| cannot(&e))? {
            let (row, col) = cell.get_position();
            cells.push(
                &file,
                row,
                col,
                cell_text(&Data::from(cell.get_value().clone())),
            )?;
        }
    } else {
        // XLS (at most 65,536 × 256 cells) and ODS (repeats capped by calamine) ranges are
        // built when the workbook opens: they are bounded, only the used cells are read here.
        let range = book.worksheet_range(&name).map_err(|e| cannot(&e))?;
        let (first_row, first_col) = range.start().unwrap_or((0, 0));
        for (r, c, value) in range.used_cells() {
            // Both fit: the range's cells lie between its start and its end, both `u32`.
            let (row, col) = (first_row + r as u32, first_col + c as u32);
            cells.push(&file, row, col, cell_text(value))?;
        }
    }
    let (header_row, headers, rows) = cells
        .into_rows(&file)?
        .ok_or_else(|| one(&format!("sheet `{name}` is empty")))?;
    Table::new(file, "spreadsheet", header_row, headers, rows)
}

/// A sheet as the header row's number, the headers and the rows below.
type SheetRows = (u64, Vec<String>, Vec<Row>);

/// A sheet's values with their places (0-based row and column), as the reader found them.
#[derive(Default)]
struct SheetCells {
    cells: Vec<(u32, u32, String)>,
}

impl SheetCells {
    /// Takes a value (an empty one is no value), or refuses the sheet if it lies past the last
    /// column an import file may use.
    fn push(&mut self, file: &str, row: u32, col: u32, text: String) -> Result<(), Vec<Problem>> {
        if text.is_empty() {
            return Ok(());
        }
        if col >= MAX_SHEET_COLUMNS {
            return Err(vec![Problem::new(
                file,
                u64::from(row) + 1,
                "",
                &text,
                &format!(
                    "a value in column {}: an import file has at most {MAX_SHEET_COLUMNS} \
                     columns; delete what lies to the right of the table, or choose the right \
                     sheet",
                    u64::from(col) + 1
                ),
            )]);
        }
        self.cells.push((row, col, text));
        Ok(())
    }

    /// The first row with a value as the headers, and every later row with a value, each as
    /// wide as its rightmost value so that columns stay where Excel shows them. `None` for a
    /// sheet without values; refused if the rows would take more than [`MAX_SHEET_CELLS`].
    fn into_rows(mut self, file: &str) -> Result<Option<SheetRows>, Vec<Problem>> {
        // In place order; a place given twice keeps its last value, as calamine does.
        self.cells.reverse();
        self.cells.sort_by_key(|&(row, col, _)| (row, col));
        self.cells.dedup_by_key(|&mut (row, col, _)| (row, col));
        let mut budget = MAX_SHEET_CELLS;
        let mut rows: Vec<Row> = Vec::new();
        for (row, col, text) in self.cells {
            let number = u64::from(row) + 1;
            if rows.last().is_none_or(|r| r.number != number) {
                rows.push(Row {
                    number,
                    cells: Vec::new(),
                });
            }
            let Some(last) = rows.last_mut() else {
                continue;
            };
            let col = col as usize;
            let grow = (col + 1).saturating_sub(last.cells.len());
            budget = budget.checked_sub(grow).ok_or_else(|| {
                vec![Problem::new(
                    file,
                    number,
                    "",
                    "",
                    &format!(
                        "the sheet is too large to import: over {MAX_SHEET_CELLS} cells up to \
                         this row; split the file"
                    ),
                )]
            })?;
            last.cells.resize(col + 1, String::new());
            last.cells[col] = text;
        }
        let mut rows = rows.into_iter();
        Ok(rows
            .next()
            .map(|header| (header.number, header.cells, rows.collect())))
    }
}

/// What is wrong with a compound file (`.xls`, or an encrypted `.xlsx`) that calamine cannot
/// read safely; see `cfb.rs`. Other files are read by calamine's ZIP reader, which checks them.
fn compound_damage(path: &Path) -> Option<String> {
    let mut head = Vec::with_capacity(8);
    std::fs::File::open(path)
        .and_then(|f| f.take(8).read_to_end(&mut head))
        .ok()?;
    if !super::cfb::is_compound(&head) {
        return None;
    }
    super::cfb::damage(&std::fs::read(path).ok()?)
}

/// What a spreadsheet that would not open really is, when its first bytes say so: another
/// spreadsheet format under the wrong extension, or no spreadsheet at all.
fn misnamed_spreadsheet(path: &Path, ext: &str) -> String {
    let mut head = Vec::with_capacity(64);
    let read = std::fs::File::open(path).and_then(|f| f.take(64).read_to_end(&mut head));
    if read.is_err() {
        return String::new();
    }
    match spreadsheet_magic(&head) {
        Some(s) if s.ext != ext && !(s.ext == "xlsx" && ext == "xlsm") => format!(
            " (this is {} (.{}): name it `.{}` and import that)",
            s.what, s.ext, s.ext
        ),
        Some(_) => String::new(),
        None => " (this is not a spreadsheet at all; if it is CSV text, name it `.csv`)".into(),
    }
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

    /// Reads CSV bytes to their end: the table and every row, or every problem.
    fn read_csv_all(bytes: &[u8]) -> Result<(Table, Vec<Row>), Vec<Problem>> {
        let file = crate::import::stream::tests::temp_file(bytes);
        let mut t = read_csv("t.csv".into(), Origin(Arc::new(file)))?;
        let rows = t.all_rows()?;
        Ok((t, rows))
    }

    /// Reads a file to its end.
    fn read_all(path: &Path) -> Result<(Table, Vec<Row>), Vec<Problem>> {
        let mut t = read(path, None)?;
        let rows = t.all_rows()?;
        Ok((t, rows))
    }

    #[test]
    fn detects_encodings() {
        let text = "统一社会信用代码,单位名称\n91350100M000100Y43,测试\n";
        let (gbk, _, _) = encoding_rs::GBK.encode(text);
        let (table, rows) = read_csv_all(&gbk).expect("gbk");
        assert_eq!(table.encoding, "GB18030");
        assert_eq!(table.headers()[0], "统一社会信用代码");
        assert_eq!(rows[0].cells[1], "测试");
        assert_eq!(rows[0].number, 2);

        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(text.as_bytes());
        let (table, _) = read_csv_all(&bom).expect("bom");
        assert_eq!(table.headers()[0], "统一社会信用代码");
        assert_eq!(table.encoding, "UTF-8 (BOM)");
    }

    #[test]
    fn rejects_undecodable_bytes_with_line() {
        let bytes = b"a,b\n1,2\n\xFF\xFF\xFF,3\n";
        let p = read_csv_all(bytes).err().expect("garbage");
        assert_eq!(p[0].row(), 3);
    }

    #[test]
    fn quoted_newlines_keep_line_numbers() {
        let (_, rows) = read_csv_all(b"a,b\n\"x,y\",1\nz,2\n").expect("csv");
        assert_eq!(rows[0].cells[0], "x,y");
        assert_eq!(rows[1].number, 3);
        // A line break inside a value is refused, and the rows after it keep their lines.
        let p = read_csv_all(b"a,b\n\"x\ny\",1\nz,\x1b\n")
            .err()
            .expect("breaks");
        let at: Vec<(u64, &str)> = p.iter().map(|p| (p.row(), p.column())).collect();
        assert_eq!(at, vec![(2, "a"), (4, "b")]);
        assert!(p[0].reason().contains("line break"), "{}", p[0]);
        assert!(p[1].reason().contains("control character"), "{}", p[1]);
        assert_eq!(p[1].value(), "\\u{1b}");
    }

    #[test]
    fn blank_lines_and_windows_line_ends_keep_line_numbers() {
        for (text, expected) in [
            ("a,b\r\n1,2\r\n\r\n3,4\r\n", [2, 4]),
            ("a,b\n\n1,2\n\n\n3,4", [3, 6]),
        ] {
            let (_, rows) = read_csv_all(text.as_bytes()).expect("csv");
            let lines: Vec<u64> = rows.iter().map(|r| r.number).collect();
            assert_eq!(lines, expected, "{text:?}");
            assert_eq!(rows[1].cells[1], "4");
        }
    }

    #[test]
    fn large_files_keep_their_lines_and_encoding_across_blocks() {
        // Many 64 KiB blocks of CRLF rows, a blank line after every thousandth.
        let mut text = String::from("编号,名称\r\n");
        for i in 0..20_000 {
            text.push_str(&format!("{i},\"单位,{i}\"\r\n"));
            if i % 1000 == 999 {
                text.push_str("\r\n");
            }
        }
        let gbk = encoding_rs::GBK.encode(&text).0.into_owned();
        for (bytes, encoding) in [(text.as_bytes(), "UTF-8"), (&gbk[..], "GB18030")] {
            let (table, rows) = read_csv_all(bytes).expect("csv");
            assert_eq!(table.encoding, encoding);
            assert_eq!(rows.len(), 20_000);
            for i in [0, 998, 999, 1000, 15_000, 19_999] {
                assert_eq!(rows[i].number, 2 + i as u64 + i as u64 / 1000, "row {i}");
                assert_eq!(rows[i].cells[1], format!("单位,{i}"));
            }
        }
        // A byte no encoding allows, deep in the file, is named with its line.
        let mut bad = text.into_bytes();
        let at = bad
            .windows(7)
            .position(|w| w == b"\n15000,")
            .expect("row 15000")
            + 2;
        bad[at] = 0xFF;
        let p = read_csv_all(&bad).err().expect("refused");
        assert_eq!(p[0].row(), 15_000 + 2 + 15);
        assert_eq!(p[0].value(), format!("byte offset {at}"));
    }

    #[test]
    fn the_digest_is_of_the_bytes_the_rows_came_from() {
        let text = "统一社会信用代码,单位名称\n91350100M000100Y43,测试\n";
        let utf16: Vec<u8> = b"\xFF\xFE"
            .iter()
            .copied()
            .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        let bom = [&b"\xEF\xBB\xBF"[..], text.as_bytes()].concat();
        let gbk = encoding_rs::GBK.encode(text).0.into_owned();
        for bytes in [text.as_bytes(), &bom, &utf16, &gbk] {
            let (t, _) = read_csv_all(bytes).expect("csv");
            assert_eq!(t.sha256(), Some(crate::audit::sha256_hex(bytes)));
        }
        // The same open file rewritten in place after its checks, past the first block the
        // header was read in: the digest says so.
        use std::os::unix::fs::FileExt;
        let long: String = (0..10_000)
            .map(|i| format!("91350100M000100Y43,测试{i}\n"))
            .collect();
        let long = format!("{text}{long}");
        let file = crate::import::stream::tests::temp_file(long.as_bytes());
        let writer = file.try_clone().expect("a second handle");
        let mut t = read_csv("t.csv".into(), Origin(Arc::new(file))).expect("checked");
        writer
            .write_at(b"8", long.len() as u64 - 2)
            .expect("rewritten");
        let rows = t.all_rows().expect("rows");
        assert_eq!(rows.last().map(|r| r.cells[1].as_str()), Some("测试9998"));
        assert_ne!(t.sha256(), Some(crate::audit::sha256_hex(long.as_bytes())));
    }

    fn reasons(bytes: &[u8]) -> Vec<String> {
        read_csv_all(bytes)
            .err()
            .expect("refused")
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn control_characters_are_refused_in_every_cell() {
        let p = reasons(b"a,b,\n1,x\x00y,z\n2,ok,extra\x07\n");
        assert_eq!(
            p,
            vec![
                "t.csv: row 2, column b, value \"x\\u{0}y\": character 2 (\\u{0}) is a \
                 control character: not allowed in a value",
                "t.csv: row 3, column 3 (no header), value \"extra\\u{7}\": character 6 \
                 (\\u{7}) is a control character: not allowed in a value",
            ]
        );
        let p = reasons(b"a,b\x1b\n1,2\n");
        assert_eq!(
            p[0].split(':').nth(1),
            Some(" row 1, column 2 (the header), value \"b\\u{1b}\"")
        );
    }

    #[test]
    fn a_header_without_rows_is_refused() {
        let p = reasons(b"a,b\n,\n\n");
        assert_eq!(
            p,
            vec![
                "t.csv: no data rows below the header (row 1): nothing to import; was the \
                 right file or sheet exported?"
            ]
        );
    }

    #[test]
    fn an_unclosed_quote_is_named_where_it_opens() {
        let p = reasons(b"a,b\n1,2\n3,\"four\n5,6\n7,8\n");
        assert_eq!(p.len(), 1);
        assert!(
            p[0].starts_with(
                "t.csv: row 3: a quote (\") opens a value on line 3 and is never closed"
            ),
            "{}",
            p[0]
        );
        // Quotes that close, doubled quotes, and quotes inside a value are not unclosed.
        let unclosed_quote = |text: &str, delimiter: char| {
            let mut q = Quotes::new(delimiter as u8);
            q.feed(text.as_bytes());
            q.unclosed()
        };
        assert_eq!(unclosed_quote("a,\"b\"\"c\"\n5\"6,7\n", ','), None);
        assert_eq!(unclosed_quote("a\t\"b\n\n", '\t'), Some(1));
        assert_eq!(unclosed_quote("a,b\r\n\"c\"\"\r\n", ','), Some(2));
    }

    #[test]
    fn utf16_is_read_with_or_without_bom() {
        let text = "统一社会信用代码,单位名称\r\n91350100M000100Y43,测试\r\n";
        let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
        for (bytes, encoding) in [(le.clone(), "UTF-16LE (no BOM)"), (be, "UTF-16BE (no BOM)")] {
            let (t, rows) = read_csv_all(&bytes).expect("utf-16");
            assert_eq!(t.encoding, encoding);
            assert_eq!(t.headers()[1], "单位名称");
            assert_eq!(rows[0].cells[1], "测试");
        }
        let mut bom = b"\xFF\xFE".to_vec();
        bom.extend_from_slice(&le);
        assert_eq!(read_csv_all(&bom).expect("bom").0.encoding, "UTF-16LE");
        // A NUL in UTF-8 text is a control character, not a sign of UTF-16.
        let p = reasons("统一社会信用代码,单位名称\n91350100M000100Y43,测\u{0}试\n".as_bytes());
        assert!(p[0].contains("column 单位名称"), "{}", p[0]);
        // Half a code unit at the end.
        let mut odd = le;
        odd.push(b'x');
        assert!(reasons(&odd)[0].contains("not valid UTF-16"));
    }

    /// Writes a one-sheet workbook with values at (row, column) places, and reads it back.
    fn read_xlsx(values: &[(u32, u16, &str)]) -> Result<(Table, Vec<Row>), Vec<Problem>> {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        for &(row, col, value) in values {
            sheet.write_string(row, col, value).expect("cell");
        }
        let bytes = book.save_to_buffer().expect("xlsx");
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.xlsx");
        std::fs::write(&path, bytes).expect("write");
        read_all(&path)
    }

    /// Fuzzing finding (`cargo fuzz run table`): a workbook of 2 KB with one value in A1 and
    /// one in XFD1048576 made calamine's `worksheet_range` allocate the 17-billion-cell
    /// rectangle between them (over 500 GB: out of memory). Cells are now read one by one.
    #[test]
    fn far_apart_cells_are_refused_without_allocating_the_rectangle() {
        let p = read_xlsx(&[(0, 0, "a"), (1_048_575, 16_383, "b")])
            .err()
            .expect("refused");
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].row(), 1_048_576);
        assert!(
            p[0].reason()
                .starts_with("a value in column 16384: an import file has at most 1000 columns"),
            "{}",
            p[0]
        );
        // The last row and the last column allowed are read, each row as wide as its values.
        let (t, rows) =
            read_xlsx(&[(0, 0, "a"), (1_048_575, 999, "b"), (3, 1, "c")]).expect("read");
        let shape: Vec<(u64, usize)> = rows.iter().map(|r| (r.number, r.cells.len())).collect();
        assert_eq!(shape, vec![(4, 2), (1_048_576, 1000)]);
        assert_eq!(rows[1].cells[999], "b");
        assert_eq!(t.headers(), ["a"]);
    }

    /// Fuzzing finding (`cargo fuzz run table`): this compound file named `.xlsx` (5.6 KB) has
    /// a directory chain that loops; calamine followed it until a 2 GB allocation failed.
    #[test]
    fn a_compound_file_with_a_looping_chain_is_refused() {
        let bytes = include_bytes!("testdata/looping-directory-chain.xlsx");
        let dir = tempfile::tempdir().expect("tempdir");
        for name in ["t.xlsx", "t.xls"] {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).expect("write");
            let p = read(&path, None).err().expect("refused");
            assert!(
                p[0].reason().starts_with(
                    "cannot open spreadsheet: the file is damaged (the sector chain of the \
                     directory loops back on itself)"
                ),
                "{}",
                p[0]
            );
        }
    }

    /// Every spreadsheet format comes out as the same rows (the fuzzing seeds, written by
    /// other programs: XLS by xlwt, ODS and XLSX by hand, with a number, a boolean and a date).
    #[test]
    fn spreadsheets_read_as_their_cells() {
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, bytes) in [
            (
                "t.xlsx",
                &include_bytes!("../../fuzz/seeds/table/bureaus.xlsx")[..],
            ),
            (
                "t.ods",
                include_bytes!("../../fuzz/seeds/table/bureaus.ods"),
            ),
            (
                "t.xls",
                include_bytes!("../../fuzz/seeds/table/bureaus.xls"),
            ),
        ] {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).expect("write");
            let (t, rows) = read_all(&path).unwrap_or_else(|p| panic!("{name}: {p:?}"));
            assert_eq!(t.headers(), ["地市", "名称", "邮箱"], "{name}");
            assert_eq!(t.header_row, 1);
            assert_eq!(rows.len(), 6, "{name}");
            assert_eq!(
                rows[0].cells,
                ["郑州", "郑州市应急管理局", "yjj4101@example.gov.cn"],
                "{name}"
            );
            let last = &rows[5];
            assert_eq!(
                (last.number, last.cells[0].as_str()),
                (7, "41001"),
                "{name}"
            );
        }
    }

    #[test]
    fn sheet_cells_have_a_budget() {
        let mut cells = SheetCells::default();
        let rows = (MAX_SHEET_CELLS / MAX_SHEET_COLUMNS as usize) as u32 + 1;
        for row in 0..rows {
            cells
                .push("t.xlsx", row, MAX_SHEET_COLUMNS - 1, "x".into())
                .expect("within the columns");
        }
        let p = cells.into_rows("t.xlsx").expect_err("over budget");
        assert_eq!(p[0].row(), u64::from(rows));
        assert!(p[0].reason().contains("too large to import"), "{}", p[0]);
    }

    #[test]
    fn spreadsheets_named_csv_say_what_they_are() {
        let xlsx = reasons(b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00[Content_Types].xml");
        assert_eq!(
            xlsx,
            vec![
                "t.csv: this is an Excel workbook (.xlsx), not a CSV text file: name it \
                 `.xlsx` and import that"
            ]
        );
        let xls = reasons(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\x00\x00\x00\x00");
        assert!(
            xls[0].contains("a legacy Excel workbook (.xls)"),
            "{}",
            xls[0]
        );
        let mut ods = b"PK\x03\x04".to_vec();
        ods.resize(30, 0);
        ods.extend_from_slice(b"mimetypeapplication/vnd.oasis.opendocument.spreadsheet");
        assert!(reasons(&ods)[0].contains("(.ods)"));
    }
}
