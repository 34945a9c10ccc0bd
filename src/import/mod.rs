//! Registry import (一单两库): a file becomes typed records, or a list of every problem in it.
//!
//! `parse` is pure: it takes the table, the vocabulary and the keys already known to the store,
//! and either returns all records or all problems. Writing is the store's job and happens only
//! when there is no problem at all (all-or-nothing).

pub mod table;

use std::collections::{HashMap, HashSet};
use std::fmt;

use chrono::NaiveDate;
use serde::Serialize;

use crate::lifecycle::{Event, Outcome};
use crate::registry::{
    Bureau, Conflict, Entity, EntityStatus, Item, Officer, OfficerStatus, RiskLevel, parse_yes_no,
};
use crate::uscc::Uscc;
use crate::vocab::{AgencyRole, Vocabulary};
pub use table::{Row, Table};

/// One thing wrong with an input file, located so a person can find and fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub file: String,
    /// Line (CSV) or row (spreadsheet); 0 when the problem is the whole file.
    pub row: u64,
    /// The column header as written in the file.
    pub column: String,
    pub value: String,
    pub reason: String,
}

impl Problem {
    pub fn file(file: &str, reason: &str) -> Problem {
        Problem {
            file: file.to_string(),
            row: 0,
            column: String::new(),
            value: String::new(),
            reason: reason.to_string(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if self.row > 0 {
            write!(f, ": row {}", self.row)?;
        }
        if !self.column.is_empty() {
            write!(f, ", column {}", self.column)?;
        }
        if !self.value.is_empty() {
            write!(f, ", value \"{}\"", self.value)?;
        }
        write!(f, ": {}", self.reason)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Entities,
    Officers,
    Conflicts,
    Items,
    Bureaus,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Bureaus,
        Kind::Items,
        Kind::Entities,
        Kind::Officers,
        Kind::Conflicts,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Entities => "entities",
            Kind::Officers => "officers",
            Kind::Conflicts => "conflicts",
            Kind::Items => "items",
            Kind::Bureaus => "bureaus",
        }
    }

    fn columns(self) -> &'static [Column] {
        match self {
            Kind::Entities => ENTITY_COLUMNS,
            Kind::Officers => OFFICER_COLUMNS,
            Kind::Conflicts => CONFLICT_COLUMNS,
            Kind::Items => ITEM_COLUMNS,
            Kind::Bureaus => BUREAU_COLUMNS,
        }
    }
}

/// A column of an import format: its field, the headers that name it (the national systems'
/// Chinese header first, then English aliases), and whether it must be present.
struct Column {
    field: &'static str,
    headers: &'static [&'static str],
    required: bool,
}

const fn col(field: &'static str, headers: &'static [&'static str], required: bool) -> Column {
    Column {
        field,
        headers,
        required,
    }
}

const ENTITY_COLUMNS: &[Column] = &[
    col("uscc", &["统一社会信用代码", "uscc"], true),
    col("name", &["单位名称", "企业名称", "name"], true),
    col("sector", &["行业类别", "行业", "sector"], true),
    col("city", &["所在地市", "地市", "city"], true),
    col("county", &["所在县区", "县区", "county"], false),
    col("risk", &["风险等级", "risk"], true),
    col("scale", &["规模", "企业规模", "scale"], false),
    col("status", &["状态", "经营状态", "status"], false),
    col("tags", &["标签", "tags"], false),
];

const OFFICER_COLUMNS: &[Column] = &[
    col("id", &["执法证号", "id"], true),
    col("name", &["姓名", "name"], true),
    col("agency", &["所属单位", "agency"], true),
    col("division", &["处室", "division"], false),
    col("cadre", &["是否处级", "cadre"], false),
    col("home_city", &["常驻地市", "home_city"], false),
    col("expertise", &["专长", "expertise"], false),
    col("status", &["状态", "status"], false),
    col(
        "valid_until",
        &["证件有效期至", "有效期至", "valid_until"],
        false,
    ),
    col("email", &["邮箱", "电子邮箱", "email"], false),
];

const CONFLICT_COLUMNS: &[Column] = &[
    col("officer_id", &["执法证号", "officer_id", "id"], true),
    col("uscc", &["统一社会信用代码", "uscc"], true),
    col("reason", &["原因", "回避原因", "reason"], true),
];

const ITEM_COLUMNS: &[Column] = &[
    col("code", &["事项编号", "code"], true),
    col("name", &["事项名称", "name"], true),
    col("basis", &["抽查依据", "basis"], true),
    col("object", &["抽查对象", "object"], true),
    col("body", &["抽查主体", "body"], true),
    col("method", &["抽查方式", "method"], true),
    col("frequency", &["抽查频次", "frequency"], true),
];

const BUREAU_COLUMNS: &[Column] = &[
    col("unit", &["地市", "city", "unit"], true),
    col("name", &["名称", "name"], true),
    col("email", &["邮箱", "电子邮箱", "email"], true),
];

/// Validated records of one kind.
#[derive(Debug, Clone)]
pub enum Records {
    Entities(Vec<Entity>),
    Officers(Vec<Officer>),
    Conflicts(Vec<Conflict>),
    Items(Vec<Item>),
    Bureaus(Vec<Bureau>),
}

impl Records {
    pub fn len(&self) -> usize {
        match self {
            Records::Entities(v) => v.len(),
            Records::Officers(v) => v.len(),
            Records::Conflicts(v) => v.len(),
            Records::Items(v) => v.len(),
            Records::Bureaus(v) => v.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Keys already in the store that conflicts may refer to, besides those in the same file.
#[derive(Debug, Default, Clone)]
pub struct Known {
    pub officers: HashSet<String>,
    pub entities: HashSet<String>,
}

/// What a successful parse found besides the records.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Notes {
    /// Columns present in the file that this format does not use (e.g. 序号).
    pub ignored_columns: Vec<String>,
}

/// The pure half of an import: every row checked, every problem reported.
pub fn parse(
    kind: Kind,
    table: &Table,
    vocab: &Vocabulary,
    known: &Known,
) -> Result<(Records, Notes), Vec<Problem>> {
    let (map, notes) = map_columns(kind.columns(), kind.name(), table)?;
    let (records, problems) = match kind {
        Kind::Entities => rows(table, &map, vocab, known, entity, Records::Entities),
        Kind::Officers => rows(table, &map, vocab, known, officer, Records::Officers),
        Kind::Conflicts => rows(table, &map, vocab, known, conflict, Records::Conflicts),
        Kind::Items => rows(table, &map, vocab, known, item, Records::Items),
        Kind::Bureaus => rows(table, &map, vocab, known, bureau, Records::Bureaus),
    };
    if problems.is_empty() {
        Ok((records, notes))
    } else {
        Err(problems)
    }
}

type RowParser<T> = fn(&mut Cells, &Vocabulary, &Known) -> Parsed<T>;

/// A thread's share: (row number, key, key field, record) per good row, and its problems.
type ParsedChunk<T> = (Vec<(u64, String, &'static str, T)>, Vec<Problem>);

/// Parses every row, on all cores (rows are independent), then finds duplicate keys in file
/// order. Problems come out sorted by row.
fn rows<T: Send>(
    table: &Table,
    map: &ColumnMap,
    vocab: &Vocabulary,
    known: &Known,
    parse_row: RowParser<T>,
    wrap: fn(Vec<T>) -> Records,
) -> (Records, Vec<Problem>) {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per_thread = table.rows.len().div_ceil(threads).max(1024);
    let parsed: Vec<ParsedChunk<T>> = std::thread::scope(|scope| {
        let workers: Vec<_> = table
            .rows
            .chunks(per_thread)
            .map(|chunk| {
                scope.spawn(move || {
                    let mut problems = Vec::new();
                    let mut out = Vec::with_capacity(chunk.len());
                    for row in chunk {
                        let mut cells = Cells {
                            table,
                            row,
                            map,
                            problems: &mut problems,
                        };
                        if let Some((key, field, record)) = parse_row(&mut cells, vocab, known) {
                            out.push((row.number, key, field, record));
                        }
                    }
                    (out, problems)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    let mut problems = Vec::new();
    let mut records = Vec::with_capacity(table.rows.len());
    let mut keys: HashMap<String, u64> = HashMap::with_capacity(table.rows.len());
    for (out, chunk_problems) in parsed {
        problems.extend(chunk_problems);
        for (number, key, field, record) in out {
            if let Some(first) = keys.insert(key.clone(), number) {
                let column = map.get(field).map(|(_, h)| h.clone()).unwrap_or_default();
                problems.push(Problem {
                    file: table.file.clone(),
                    row: number,
                    column,
                    value: key,
                    reason: format!("duplicate of row {first}"),
                });
            } else {
                records.push(record);
            }
        }
    }
    problems.sort_by_key(|p| p.row);
    (wrap(records), problems)
}

/// Column positions by field name.
type ColumnMap = HashMap<&'static str, (usize, String)>;

fn normalise_header(h: &str) -> String {
    h.trim()
        .trim_matches(|c| c == '*' || c == '＊')
        .trim()
        .to_lowercase()
}

fn map_columns(
    columns: &[Column],
    what: &str,
    table: &Table,
) -> Result<(ColumnMap, Notes), Vec<Problem>> {
    let mut map = ColumnMap::new();
    let mut problems = Vec::new();
    let mut notes = Notes::default();
    for (i, header) in table.headers.iter().enumerate() {
        let h = normalise_header(header);
        if h.is_empty() {
            continue;
        }
        match columns
            .iter()
            .find(|c| c.headers.iter().any(|name| name.to_lowercase() == h))
        {
            Some(c) => {
                if let Some((_, first)) = map.insert(c.field, (i, header.clone())) {
                    problems.push(Problem {
                        file: table.file.clone(),
                        row: table.header_row,
                        column: header.clone(),
                        value: String::new(),
                        reason: format!("column appears twice (also as `{first}`)"),
                    });
                }
            }
            None => notes.ignored_columns.push(header.clone()),
        }
    }
    for c in columns {
        if c.required && !map.contains_key(c.field) {
            problems.push(Problem {
                file: table.file.clone(),
                row: table.header_row,
                column: c.headers[0].to_string(),
                value: String::new(),
                reason: format!(
                    "required column missing for {what} (accepted headers: {})",
                    c.headers.join(", ")
                ),
            });
        }
    }
    if problems.is_empty() {
        Ok((map, notes))
    } else {
        Err(problems)
    }
}

/// One row being read: fetches fields by name and records problems against the right cell.
struct Cells<'a> {
    table: &'a Table,
    row: &'a Row,
    map: &'a ColumnMap,
    problems: &'a mut Vec<Problem>,
}

impl Cells<'_> {
    fn get(&self, field: &str) -> &str {
        self.map
            .get(field)
            .and_then(|(i, _)| self.row.cells.get(*i))
            .map(String::as_str)
            .unwrap_or("")
    }

    fn header(&self, field: &str) -> String {
        self.map
            .get(field)
            .map(|(_, h)| h.clone())
            .unwrap_or_else(|| field.to_string())
    }

    fn problem(&mut self, field: &str, value: &str, reason: &str) {
        let column = self.header(field);
        self.problems.push(Problem {
            file: self.table.file.clone(),
            row: self.row.number,
            column,
            value: value.to_string(),
            reason: reason.to_string(),
        });
    }

    /// A non-empty value, or a problem.
    fn required(&mut self, field: &str) -> Option<String> {
        let v = self.get(field).to_string();
        if v.is_empty() {
            self.problem(field, "", "required value is empty");
            None
        } else {
            Some(v)
        }
    }

    fn optional(&self, field: &str) -> Option<String> {
        Some(self.get(field).to_string()).filter(|v| !v.is_empty())
    }

    /// Looks a value up; an unknown value is a problem that lists what is accepted.
    fn lookup<T>(&mut self, field: &str, value: &str, found: Option<T>, what: &str) -> Option<T> {
        if found.is_none() {
            self.problem(field, value, &format!("unknown {what}"));
        }
        found
    }

    fn uscc(&mut self, field: &str) -> Option<String> {
        let raw = self.required(field)?;
        match Uscc::parse(&raw) {
            Ok(u) => Some(u.into_string()),
            Err(e) => {
                self.problem(field, &raw, &format!("invalid 统一社会信用代码: {e}"));
                None
            }
        }
    }

    fn list(&self, field: &str) -> Vec<String> {
        self.get(field)
            .split([';', '；', '、', '|'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect()
    }
}

type Parsed<T> = Option<(String, &'static str, T)>;

fn entity(c: &mut Cells, vocab: &Vocabulary, _: &Known) -> Parsed<Entity> {
    let uscc = c.uscc("uscc");
    let name = c.required("name");
    let sector = c.required("sector").and_then(|s| {
        let found = vocab.sector(&s).map(|x| x.code.clone());
        c.lookup(
            "sector",
            &s,
            found,
            "sector (行业类别); see [[sectors]] in the configuration",
        )
    });
    let city = c.required("city").and_then(|s| {
        let found = vocab.unit(&s).map(|u| u.code.to_string());
        c.lookup(
            "city",
            &s,
            found,
            "municipal unit: not one of Henan's 18 (+ 航空港区)",
        )
    });
    let risk = c.required("risk").and_then(|s| {
        let found = RiskLevel::parse(&s);
        c.lookup(
            "risk",
            &s,
            found,
            "risk level (重大/较大/一般/低 or red/orange/yellow/blue)",
        )
    });
    let status_raw = c.get("status").to_string();
    let status = c.lookup(
        "status",
        &status_raw,
        EntityStatus::parse(&status_raw),
        "status (正常/停产/注销...)",
    );
    let record = Entity {
        uscc: uscc?,
        name: name?,
        sector: sector?,
        city: city?,
        county: c.optional("county"),
        risk: risk?,
        scale: c.optional("scale"),
        status: status?,
        tags: c.list("tags"),
    };
    Some((record.uscc.clone(), "uscc", record))
}

fn officer(c: &mut Cells, vocab: &Vocabulary, _: &Known) -> Parsed<Officer> {
    let id = c.required("id");
    let name = c.required("name");
    let agency = c.required("agency").and_then(|s| {
        let found = vocab.agency(&s).map(|a| (a.code.clone(), a.role));
        c.lookup(
            "agency",
            &s,
            found,
            "agency (所属单位); see [[agencies]] in the configuration",
        )
    });
    let division = match c.optional("division") {
        Some(s) => {
            let found = vocab.division(&s).map(|d| Some(d.code.clone()));
            c.lookup(
                "division",
                &s,
                found,
                "division (处室); see [[divisions]] in the configuration",
            )
        }
        None => match &agency {
            Some((_, AgencyRole::Department)) => {
                c.problem(
                    "division",
                    "",
                    "required for the department's own officers (partner officers may leave it empty)",
                );
                None
            }
            _ => Some(None),
        },
    };
    let cadre_raw = c.get("cadre").to_string();
    let cadre = c.lookup(
        "cadre",
        &cadre_raw,
        parse_yes_no(&cadre_raw),
        "是否处级 value (是/否)",
    );
    let home_city = match c.optional("home_city") {
        Some(s) => {
            let found = vocab.unit(&s).map(|u| Some(u.code.to_string()));
            c.lookup(
                "home_city",
                &s,
                found,
                "municipal unit: not one of Henan's 18 (+ 航空港区)",
            )
        }
        None => Some(None),
    };
    let status_raw = c.get("status").to_string();
    let status = c.lookup(
        "status",
        &status_raw,
        OfficerStatus::parse(&status_raw),
        "status (在岗/离岗...)",
    );
    let valid_until = match c.optional("valid_until") {
        Some(s) => {
            let found = parse_date(&s).map(Some);
            c.lookup("valid_until", &s, found, "date (use YYYY-MM-DD)")
        }
        None => Some(None),
    };
    let email = match c.optional("email") {
        Some(e) => {
            let found = e.parse::<lettre::Address>().ok().map(|_| Some(e.clone()));
            c.lookup("email", &e, found, "e-mail address syntax")
        }
        None => Some(None),
    };
    let record = Officer {
        id: id?,
        name: name?,
        agency: agency?.0,
        division: division?,
        cadre: cadre?,
        home_city: home_city?,
        expertise: c.list("expertise"),
        status: status?,
        valid_until: valid_until?,
        email: email?,
    };
    Some((record.id.clone(), "id", record))
}

fn conflict(c: &mut Cells, _: &Vocabulary, known: &Known) -> Parsed<Conflict> {
    let officer_id = c.required("officer_id").and_then(|id| {
        let found = known.officers.contains(&id).then(|| id.clone());
        c.lookup(
            "officer_id",
            &id,
            found,
            "officer: import the officers first",
        )
    });
    let uscc = c.uscc("uscc").and_then(|u| {
        let found = known.entities.contains(&u).then(|| u.clone());
        c.lookup("uscc", &u, found, "entity: import the entities first")
    });
    let reason = c.required("reason");
    let record = Conflict {
        officer_id: officer_id?,
        uscc: uscc?,
        reason: reason?,
    };
    Some((
        format!("{} / {}", record.officer_id, record.uscc),
        "uscc",
        record,
    ))
}

fn item(c: &mut Cells, _: &Vocabulary, _: &Known) -> Parsed<Item> {
    let mut field = |f| c.required(f);
    let record = (
        field("code"),
        field("name"),
        field("basis"),
        field("object"),
        field("body"),
        field("method"),
        field("frequency"),
    );
    let record = Item {
        code: record.0?,
        name: record.1?,
        basis: record.2?,
        object: record.3?,
        body: record.4?,
        method: record.5?,
        frequency: record.6?,
    };
    Some((record.code.clone(), "code", record))
}

fn bureau(c: &mut Cells, vocab: &Vocabulary, _: &Known) -> Parsed<Bureau> {
    let unit = c.required("unit").and_then(|s| {
        let found = vocab.unit(&s).map(|u| u.code.to_string());
        c.lookup(
            "unit",
            &s,
            found,
            "municipal unit: not one of Henan's 18 (+ 航空港区)",
        )
    });
    let name = c.required("name");
    let email = c.required("email").and_then(|e| {
        let found = e.parse::<lettre::Address>().ok().map(|_| e.clone());
        c.lookup("email", &e, found, "e-mail address syntax")
    });
    let record = Bureau {
        unit: unit?,
        name: name?,
        email: email?,
    };
    Some((record.unit.clone(), "unit", record))
}

const OUTCOME_COLUMNS: &[Column] = &[
    col("task", &["任务编号", "task", "id"], true),
    col("planned", &["计划检查日期", "检查日期", "planned"], false),
    col("completed", &["完成日期", "completed"], false),
    col("outcome", &["检查结果", "outcome"], false),
    col(
        "published",
        &["结果公示日期", "公示日期", "published"],
        false,
    ),
    col("url", &["公示网址", "url"], false),
    col(
        "penalty_decided",
        &["处罚决定日期", "penalty_decision_date"],
        false,
    ),
    col(
        "penalty_published",
        &["处罚公示日期", "penalty_published"],
        false,
    ),
    col("referred", &["移送日期", "referred"], false),
];

/// One row of a task-outcome file: the task and the events it reports, in the order they
/// happen, each with the column and value it came from (for messages).
#[derive(Debug, Clone)]
pub struct OutcomeRow {
    pub row: u64,
    pub task: String,
    pub events: Vec<(Event, String, String)>,
}

/// Parses a file of inspection outcomes (what divisions send back). Pure, like `parse`: every
/// row checked, every problem reported; whether the events fit each task is checked later,
/// against the store.
pub fn parse_outcomes(table: &Table) -> Result<Vec<OutcomeRow>, Vec<Problem>> {
    let (map, _) = map_columns(OUTCOME_COLUMNS, "task outcomes", table)?;
    let mut problems = Vec::new();
    let mut out = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    for row in &table.rows {
        let mut c = Cells {
            table,
            row,
            map: &map,
            problems: &mut problems,
        };
        let Some(task) = c.required("task") else {
            continue;
        };
        if let Some(first) = seen.insert(task.clone(), row.number) {
            c.problem("task", &task, &format!("duplicate of row {first}"));
            continue;
        }
        let date = |c: &mut Cells, field: &str| -> Option<Option<NaiveDate>> {
            match c.optional(field) {
                None => Some(None),
                Some(v) => {
                    let found = parse_date(&v).map(Some);
                    c.lookup(field, &v, found, "date (use YYYY-MM-DD)")
                }
            }
        };
        let planned = date(&mut c, "planned");
        let completed = date(&mut c, "completed");
        let decided = date(&mut c, "penalty_decided");
        let published = date(&mut c, "published");
        let penalty_published = date(&mut c, "penalty_published");
        let referred = date(&mut c, "referred");
        let outcome = match c.optional("outcome") {
            None => Some(None),
            Some(v) => {
                let found = Outcome::parse(&v).map(Some);
                c.lookup("outcome", &v, found, "outcome (无问题/发现问题/行政处罚)")
            }
        };
        let (
            Some(planned),
            Some(completed),
            Some(decided),
            Some(published),
            Some(penalty_published),
            Some(referred),
            Some(outcome),
        ) = (
            planned,
            completed,
            decided,
            published,
            penalty_published,
            referred,
            outcome,
        )
        else {
            continue;
        };
        let mut events = Vec::new();
        let mut push = |c: &Cells, field: &str, e: Event| {
            events.push((e, c.header(field), c.get(field).to_string()));
        };
        if let Some(d) = planned {
            push(&c, "planned", Event::Schedule(d));
        }
        match (completed, outcome) {
            (Some(d), Some(o)) => push(&c, "completed", Event::Complete(d, o)),
            (Some(_), None) => {
                c.problem("outcome", "", "required when 完成日期 is given");
                continue;
            }
            (None, Some(o)) => {
                c.problem("outcome", o.code(), "given without 完成日期");
                continue;
            }
            (None, None) => {}
        }
        if let Some(d) = decided {
            push(&c, "penalty_decided", Event::PenaltyDecided(d));
        }
        if let Some(d) = published {
            push(&c, "published", Event::Publish(d, c.optional("url")));
        }
        if let Some(d) = penalty_published {
            push(&c, "penalty_published", Event::PenaltyPublished(d));
        }
        if let Some(d) = referred {
            push(&c, "referred", Event::Refer(d));
        }
        if events.is_empty() {
            c.problem("task", &task, "the row reports nothing");
            continue;
        }
        out.push(OutcomeRow {
            row: row.number,
            task,
            events,
        });
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// Dates as registries write them: 2025-06-30, 2025/6/30, 2025.06.30, 2025年6月30日.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let normalised: String = s
        .trim()
        .trim_end_matches('日')
        .chars()
        .map(|c| match c {
            '/' | '.' | '年' | '月' => '-',
            c => c,
        })
        .collect();
    NaiveDate::parse_from_str(&normalised, "%Y-%m-%d").ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    fn vocab() -> Vocabulary {
        Settings::shipped()
            .and_then(|s| s.vocabulary())
            .expect("shipped vocabulary")
    }

    fn table(headers: &[&str], rows: &[&[&str]]) -> Table {
        Table {
            file: "t.csv".into(),
            headers: headers.iter().map(|s| s.to_string()).collect(),
            header_row: 1,
            rows: rows
                .iter()
                .enumerate()
                .map(|(i, r)| Row {
                    number: i as u64 + 2,
                    cells: r.iter().map(|s| s.to_string()).collect(),
                })
                .collect(),
            encoding: "UTF-8",
        }
    }

    const ENTITY_HEADERS: &[&str] = &[
        "统一社会信用代码",
        "单位名称",
        "行业类别",
        "所在地市",
        "风险等级",
        "序号",
    ];

    #[test]
    fn entities_parse_to_codes() {
        let t = table(
            ENTITY_HEADERS,
            &[&[
                "91350100M000100Y43",
                "甲化工",
                "化工",
                "郑州市",
                "较大",
                "1",
            ]],
        );
        let (records, notes) = parse(Kind::Entities, &t, &vocab(), &Known::default()).expect("ok");
        let Records::Entities(e) = records else {
            panic!("entities expected")
        };
        assert_eq!(e[0].sector, "chemical");
        assert_eq!(e[0].city, "4101");
        assert_eq!(e[0].risk, RiskLevel::Orange);
        assert_eq!(e[0].status, EntityStatus::Active);
        assert_eq!(notes.ignored_columns, vec!["序号".to_string()]);
    }

    #[test]
    fn every_problem_is_reported_with_its_place() {
        let t = table(
            ENTITY_HEADERS,
            &[
                &["91350100M000100Y44", "甲", "化工", "郑州", "较大", ""],
                &["91350100M000100Y43", "乙", "huagong", "武汉", "中等", ""],
                &["91350100M000100Y43", "丙", "化工", "郑州", "低", ""],
                &["91350100M000100Y43", "丁", "化工", "郑州", "低", ""],
            ],
        );
        let problems = parse(Kind::Entities, &t, &vocab(), &Known::default()).expect_err("bad");
        let brief: Vec<(u64, &str, &str)> = problems
            .iter()
            .map(|p| (p.row, p.column.as_str(), p.value.as_str()))
            .collect();
        assert_eq!(
            brief,
            vec![
                (2, "统一社会信用代码", "91350100M000100Y44"),
                (3, "行业类别", "huagong"),
                (3, "所在地市", "武汉"),
                (3, "风险等级", "中等"),
                (5, "统一社会信用代码", "91350100M000100Y43"),
            ]
        );
        assert!(
            problems[0].reason.contains("expected `3`"),
            "{}",
            problems[0]
        );
        assert_eq!(problems[4].reason, "duplicate of row 4");
    }

    #[test]
    fn missing_column_is_one_clear_problem() {
        let t = table(&["uscc", "name"], &[&["x", "y"]]);
        let problems = parse(Kind::Entities, &t, &vocab(), &Known::default()).expect_err("bad");
        assert!(problems.iter().all(|p| p.row == 1));
        assert!(problems.iter().any(|p| p.column == "行业类别"));
    }

    #[test]
    fn conflicts_must_point_at_known_keys() {
        let t = table(
            &["执法证号", "统一社会信用代码", "原因"],
            &[&["E1", "91350100M000100Y43", "亲属任职"]],
        );
        let problems = parse(Kind::Conflicts, &t, &vocab(), &Known::default()).expect_err("bad");
        assert_eq!(problems.len(), 2);
        let known = Known {
            officers: ["E1".to_string()].into(),
            entities: ["91350100M000100Y43".to_string()].into(),
        };
        assert!(parse(Kind::Conflicts, &t, &vocab(), &known).is_ok());
    }

    #[test]
    fn officers_and_dates() {
        let t = table(
            &[
                "执法证号",
                "姓名",
                "所属单位",
                "处室",
                "是否处级",
                "证件有效期至",
            ],
            &[
                &[
                    "41001",
                    "张三",
                    "河南省应急管理厅",
                    "危化处",
                    "是",
                    "2026年6月30日",
                ],
                &["41002", "李四", "河南省市场监督管理局", "", "否", ""],
                &["41003", "王五", "河南省应急管理厅", "", "否", ""],
            ],
        );
        let problems = parse(Kind::Officers, &t, &vocab(), &Known::default()).expect_err("bad");
        assert_eq!(problems.len(), 1);
        assert_eq!((problems[0].row, problems[0].column.as_str()), (4, "处室"));
        assert_eq!(
            parse_date("2025/6/30"),
            NaiveDate::from_ymd_opt(2025, 6, 30)
        );
    }
}
