//! Registry import (一单两库): a file becomes typed records, or a list of every problem in it.
//!
//! `parse` is pure: it takes the table, the vocabulary and the keys already known to the store,
//! and either returns all records or all problems. Writing is the store's job and happens only
//! when there is no problem at all (all-or-nothing).

mod cfb;
mod problem;
mod stream;
pub mod table;

use std::borrow::Cow;
use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use serde::Serialize;

use crate::lifecycle::{Event, Outcome};
use crate::registry::{
    Bureau, Conflict, Entity, EntityStatus, Item, Officer, OfficerStatus, OutsideInspection,
    RiskLevel, parse_yes_no,
};
use crate::uscc::Uscc;
use crate::vocab::{AgencyRole, Vocabulary};
pub use problem::Problem;
pub use table::{Row, Table};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Entities,
    Officers,
    Conflicts,
    Items,
    Bureaus,
    /// Inspections done outside suiji, counted by yearly caps.
    Inspections,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Bureaus,
        Kind::Items,
        Kind::Entities,
        Kind::Officers,
        Kind::Conflicts,
        Kind::Inspections,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Entities => "entities",
            Kind::Officers => "officers",
            Kind::Conflicts => "conflicts",
            Kind::Items => "items",
            Kind::Bureaus => "bureaus",
            Kind::Inspections => "inspections",
        }
    }

    fn columns(self) -> &'static [Column] {
        match self {
            Kind::Entities => ENTITY_COLUMNS,
            Kind::Officers => OFFICER_COLUMNS,
            Kind::Conflicts => CONFLICT_COLUMNS,
            Kind::Items => ITEM_COLUMNS,
            Kind::Bureaus => BUREAU_COLUMNS,
            Kind::Inspections => INSPECTION_COLUMNS,
        }
    }
}

/// A column of an import format: its field, the headers that name it (the national systems'
/// Chinese header first, then English aliases), whether it must be present, and the longest
/// value it takes (in characters).
struct Column {
    field: &'static str,
    headers: &'static [&'static str],
    required: bool,
    max: usize,
}

const fn col(
    field: &'static str,
    headers: &'static [&'static str],
    required: bool,
    max: usize,
) -> Column {
    Column {
        field,
        headers,
        required,
        max,
    }
}

// Longest values, generous for what the national systems export and small enough that a stray
// paste (a document in one cell) is refused instead of stored, drawn from and published.
/// Keys and codes: USCC, certificate numbers, item and task codes.
const CODE: usize = 64;
/// Names of entities, officers, bureaus and items.
const NAME: usize = 200;
/// Words looked up in the vocabulary, dates, yes/no, statuses.
const WORD: usize = 100;
/// An e-mail address (RFC 5321's longest path).
const EMAIL: usize = 254;
/// Free text: a conflict's reason, an item's object, body, method and frequency, lists.
const TEXT: usize = 1000;
/// An item's legal basis, which cites several regulations.
const LONG_TEXT: usize = 4000;
/// The address of a published result.
const URL: usize = 2000;

const ENTITY_COLUMNS: &[Column] = &[
    col("uscc", &["统一社会信用代码", "uscc"], true, CODE),
    col("name", &["单位名称", "企业名称", "name"], true, NAME),
    col("sector", &["行业类别", "行业", "sector"], true, WORD),
    col("city", &["所在地市", "地市", "city"], true, WORD),
    col("county", &["所在县区", "县区", "county"], false, WORD),
    col("risk", &["风险等级", "risk"], true, WORD),
    col("scale", &["规模", "企业规模", "scale"], false, WORD),
    col("status", &["状态", "经营状态", "status"], false, WORD),
    col("tags", &["标签", "tags"], false, TEXT),
];

const OFFICER_COLUMNS: &[Column] = &[
    col("id", &["执法证号", "id"], true, CODE),
    col("name", &["姓名", "name"], true, NAME),
    col("agency", &["所属单位", "agency"], true, NAME),
    col("division", &["处室", "division"], false, NAME),
    col("cadre", &["是否处级", "cadre"], false, WORD),
    col("home_city", &["常驻地市", "home_city"], false, WORD),
    col("expertise", &["专长", "expertise"], false, TEXT),
    col("status", &["状态", "status"], false, WORD),
    col(
        "valid_until",
        &["证件有效期至", "有效期至", "valid_until"],
        false,
        WORD,
    ),
    col("email", &["邮箱", "电子邮箱", "email"], false, EMAIL),
];

const CONFLICT_COLUMNS: &[Column] = &[
    col("officer_id", &["执法证号", "officer_id", "id"], true, CODE),
    col("uscc", &["统一社会信用代码", "uscc"], true, CODE),
    col("reason", &["原因", "回避原因", "reason"], true, TEXT),
];

const INSPECTION_COLUMNS: &[Column] = &[
    col("uscc", &["统一社会信用代码", "uscc"], true, CODE),
    col(
        "inspected_on",
        &["检查日期", "date", "inspected_on"],
        true,
        WORD,
    ),
    col("kind", &["检查类型", "检查方式", "kind"], true, NAME),
    col("body", &["检查主体", "检查单位", "body"], true, NAME),
    col("reference", &["文书编号", "reference"], false, CODE),
];

const ITEM_COLUMNS: &[Column] = &[
    col("code", &["事项编号", "code"], true, CODE),
    col("name", &["事项名称", "name"], true, NAME),
    col("basis", &["抽查依据", "basis"], true, LONG_TEXT),
    col("object", &["抽查对象", "object"], true, TEXT),
    col("body", &["抽查主体", "body"], true, TEXT),
    col("method", &["抽查方式", "method"], true, TEXT),
    col("frequency", &["抽查频次", "frequency"], true, TEXT),
];

const BUREAU_COLUMNS: &[Column] = &[
    col("unit", &["地市", "city", "unit"], true, WORD),
    col("name", &["名称", "name"], true, NAME),
    col("email", &["邮箱", "电子邮箱", "email"], true, EMAIL),
];

/// Validated records of one kind.
#[derive(Debug, Clone)]
pub enum Records {
    Entities(Vec<Entity>),
    Officers(Vec<Officer>),
    Conflicts(Vec<Conflict>),
    Items(Vec<Item>),
    Bureaus(Vec<Bureau>),
    Inspections(Vec<OutsideInspection>),
}

impl Records {
    pub fn len(&self) -> usize {
        match self {
            Records::Entities(v) => v.len(),
            Records::Officers(v) => v.len(),
            Records::Conflicts(v) => v.len(),
            Records::Items(v) => v.len(),
            Records::Bureaus(v) => v.len(),
            Records::Inspections(v) => v.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What rows may refer to besides the same file: keys already in the store (conflicts and
/// inspections name officers and entities), and today (an inspection done outside suiji took
/// place on or before it).
#[derive(Debug, Default, Clone)]
pub struct Known {
    pub officers: HashSet<String>,
    pub entities: HashSet<String>,
    pub today: Option<chrono::NaiveDate>,
}

/// What a successful parse found besides the records.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Notes {
    /// Columns present in the file that this format does not use (e.g. 序号).
    pub ignored_columns: Vec<String>,
}

/// The pure half of an import, for a whole table at once: every row checked, every problem
/// reported, and all records or none.
pub fn parse(
    kind: Kind,
    mut table: Table,
    vocab: &Vocabulary,
    known: &Known,
) -> Result<(Records, Notes), Vec<Problem>> {
    let mut parser = Parser::new(kind, &table, Cow::Borrowed(vocab), Cow::Borrowed(known))?;
    let rows = table.next_rows(usize::MAX, &mut parser.problems);
    let records = parser.chunk(&table, rows);
    parser.finish().map(|notes| (records, notes))
}

/// The pure half of an import, a chunk of rows at a time, so that a large file is checked and
/// written as it is read, never held whole. It keeps only what spans chunks: the problems so
/// far and a digest of every key, to find duplicates. It borrows its vocabulary and known keys,
/// or owns them to be sent to a thread of its own.
pub struct Parser<'a> {
    kind: Kind,
    map: ColumnMap,
    notes: Notes,
    vocab: Cow<'a, Vocabulary>,
    known: Cow<'a, Known>,
    /// The first row of every key, by the key's digest (16 bytes of its SHA-256): two different
    /// keys sharing one is as likely as a SHA-256 collision, and would refuse the file as a
    /// duplicate, never merge two rows.
    keys: HashMap<KeyDigest, u64>,
    problems: Vec<Problem>,
}

impl<'a> Parser<'a> {
    /// Maps the table's header to the kind's columns; a missing or doubled column refuses the
    /// file before any row is read.
    pub fn new(
        kind: Kind,
        table: &Table,
        vocab: Cow<'a, Vocabulary>,
        known: Cow<'a, Known>,
    ) -> Result<Parser<'a>, Vec<Problem>> {
        let (map, notes) = map_columns(kind.columns(), kind.name(), table)?;
        Ok(Parser {
            kind,
            map,
            notes,
            vocab,
            known,
            keys: HashMap::new(),
            problems: Vec::new(),
        })
    }

    /// Where the table's own problems go while rows are read.
    pub fn problems(&mut self) -> &mut Vec<Problem> {
        &mut self.problems
    }

    /// Makes room for the keys of `rows` rows in all, when they can be told beforehand.
    pub fn expect_rows(&mut self, rows: usize) {
        self.keys.reserve(rows.saturating_sub(self.keys.len()));
    }

    /// True once any problem is known: the file will be refused, and nothing of it need be
    /// written.
    pub fn refused(&self) -> bool {
        !self.problems.is_empty()
    }

    /// The good records of a chunk of rows, less keys already seen in this file.
    pub fn chunk(&mut self, table: &Table, rows: Vec<Row>) -> Records {
        match self.kind {
            Kind::Entities => Records::Entities(self.rows(table, rows, entity)),
            Kind::Officers => Records::Officers(self.rows(table, rows, officer)),
            Kind::Conflicts => Records::Conflicts(self.rows(table, rows, conflict)),
            Kind::Items => Records::Items(self.rows(table, rows, item)),
            Kind::Bureaus => Records::Bureaus(self.rows(table, rows, bureau)),
            Kind::Inspections => Records::Inspections(self.rows(table, rows, inspection)),
        }
    }

    /// What was noticed besides the records, or every problem found, sorted by row.
    pub fn finish(mut self) -> Result<Notes, Vec<Problem>> {
        if self.problems.is_empty() {
            Ok(self.notes)
        } else {
            self.problems.sort_by_key(Problem::row);
            Err(self.problems)
        }
    }

    /// Parses a chunk's rows on all cores (rows are independent), then finds duplicate keys in
    /// file order.
    fn rows<T: Send>(
        &mut self,
        table: &Table,
        mut all: Vec<Row>,
        parse_row: RowParser<T>,
    ) -> Vec<T> {
        let count = all.len();
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let per_thread = count.div_ceil(threads).max(1024);
        // Each thread owns its share of the rows and drops every row once it is parsed.
        let mut shares = Vec::new();
        while all.len() > per_thread {
            shares.push(all.split_off(all.len() - per_thread));
        }
        shares.push(all);
        shares.reverse();
        let (map, vocab, known) = (&self.map, &*self.vocab, &*self.known);
        let parsed: Vec<ParsedChunk<T>> = std::thread::scope(|scope| {
            let workers: Vec<_> = shares
                .into_iter()
                .map(|share| {
                    scope.spawn(move || {
                        let mut problems = Vec::new();
                        let mut out = Vec::with_capacity(share.len());
                        for row in share {
                            let mut cells = Cells::new(table, &row, map, &mut problems);
                            if let Some((key, field, record)) = parse_row(&mut cells, vocab, known)
                            {
                                out.push((row.number, key_digest(&key), key, field, record));
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
        let mut records = Vec::with_capacity(count);
        for (out, chunk_problems) in parsed {
            self.problems.extend(chunk_problems);
            for (number, digest, key, field, record) in out {
                match self.keys.entry(digest) {
                    Entry::Occupied(first) => {
                        let column = self.map.get(field).map_or("", |m| m.header.as_str());
                        self.problems.push(Problem::new(
                            &table.file,
                            number,
                            column,
                            &key,
                            &format!("duplicate of row {}", first.get()),
                        ));
                    }
                    Entry::Vacant(slot) => {
                        slot.insert(number);
                        records.push(record);
                    }
                }
            }
        }
        records
    }
}

/// The first 16 bytes of a key's SHA-256, as two words: aligned to 8 bytes, not 16 like a
/// `u128`, so an entry of the map takes 24 bytes instead of 32 (ten million keys are a
/// province's registry). The map keeps its keyed hasher: a file's author chooses the keys, and
/// could choose many digests that land in one bucket if the digest were its own hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct KeyDigest([u64; 2]);

fn key_digest(key: &str) -> KeyDigest {
    use sha2::Digest;
    let hash = sha2::Sha256::digest(key.as_bytes());
    let word = |i: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&hash[i..i + 8]);
        u64::from_le_bytes(w)
    };
    KeyDigest([word(0), word(8)])
}

type RowParser<T> = fn(&mut Cells, &Vocabulary, &Known) -> Parsed<T>;

/// A thread's share: (row number, key digest, key, key field, record) per good row, and its
/// problems.
type ParsedChunk<T> = (Vec<(u64, KeyDigest, String, &'static str, T)>, Vec<Problem>);

/// A column of the format found in the file.
struct Mapped {
    field: &'static str,
    /// Its position in the row.
    index: usize,
    /// Its header as written in the file.
    header: String,
    max: usize,
}

/// The format's columns found in the file, in the file's order (so that a row's problems come
/// out in the order a person reads them).
#[derive(Default)]
struct ColumnMap(Vec<Mapped>);

impl ColumnMap {
    fn get(&self, field: &str) -> Option<&Mapped> {
        self.0.iter().find(|m| m.field == field)
    }
}

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
    let mut map = ColumnMap::default();
    let mut problems = Vec::new();
    let mut notes = Notes::default();
    for (i, header) in table.headers().iter().enumerate() {
        let h = normalise_header(header);
        if h.is_empty() {
            continue;
        }
        match columns
            .iter()
            .find(|c| c.headers.iter().any(|name| name.to_lowercase() == h))
        {
            Some(c) => match map.get(c.field) {
                Some(first) => problems.push(Problem::new(
                    &table.file,
                    table.header_row,
                    header,
                    "",
                    &format!(
                        "column appears twice (also as `{}`)",
                        crate::text::quote(&first.header)
                    ),
                )),
                None => map.0.push(Mapped {
                    field: c.field,
                    index: i,
                    header: header.clone(),
                    max: c.max,
                }),
            },
            None => notes.ignored_columns.push(crate::text::quote(header)),
        }
    }
    for c in columns {
        if c.required && map.get(c.field).is_none() {
            problems.push(Problem::new(
                &table.file,
                table.header_row,
                c.headers[0],
                "",
                &format!(
                    "required column missing for {what} (accepted headers: {})",
                    c.headers.join(", ")
                ),
            ));
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
    /// Fields already refused for their length, which read as absent from then on so that one
    /// value gets one problem.
    too_long: Vec<&'static str>,
}

impl<'a> Cells<'a> {
    /// Starts reading a row by checking the length of every field the format takes, so that no
    /// kind of import (and no field a row parser forgets or skips) can let an over-long value in.
    fn new(
        table: &'a Table,
        row: &'a Row,
        map: &'a ColumnMap,
        problems: &'a mut Vec<Problem>,
    ) -> Cells<'a> {
        let mut too_long = Vec::new();
        for m in &map.0 {
            let value = row.cells.get(m.index).map_or("", String::as_str);
            let n = value.chars().count();
            if n > m.max {
                problems.push(Problem::new(
                    &table.file,
                    row.number,
                    &m.header,
                    value,
                    &format!("longer than {} characters ({n})", m.max),
                ));
                too_long.push(m.field);
            }
        }
        Cells {
            table,
            row,
            map,
            problems,
            too_long,
        }
    }

    fn get(&self, field: &str) -> &'a str {
        if self.too_long.contains(&field) {
            return "";
        }
        let (map, row) = (self.map, self.row);
        map.get(field)
            .and_then(|m| row.cells.get(m.index))
            .map_or("", String::as_str)
    }

    fn header(&self, field: &str) -> String {
        self.map
            .get(field)
            .map_or_else(|| field.to_string(), |m| m.header.clone())
    }

    fn problem(&mut self, field: &str, value: &str, reason: &str) {
        let column = self.header(field);
        self.problems.push(Problem::new(
            &self.table.file,
            self.row.number,
            &column,
            value,
            reason,
        ));
    }

    /// A name (of an entity, an officer, a bureau): required, and free of letters that pass
    /// for Latin ones (`text::name_problem`).
    fn name(&mut self, field: &str) -> Option<String> {
        let v = self.required(field)?;
        match crate::text::name_problem(&v) {
            Some(reason) => {
                self.problem(field, &v, &reason);
                None
            }
            None => Some(v),
        }
    }

    /// An officer's 执法证号: full-width characters folded, then of the configured form.
    fn officer_id(&mut self, field: &str, mask: &str) -> Option<String> {
        let raw = self.required(field)?;
        let id = crate::text::fold_width(&raw);
        if crate::text::fits_mask(&id, mask) {
            Some(id)
        } else {
            self.problem(
                field,
                &raw,
                &format!(
                    "not a 执法证号 of the configured form `{mask}` (`#` a digit, `A` a capital \
                     letter; see [registry] officer_id)"
                ),
            );
            None
        }
    }

    /// A non-empty value, or a problem (none when the value was refused for its length).
    fn required(&mut self, field: &str) -> Option<String> {
        let v = self.get(field).to_string();
        if v.is_empty() {
            if !self.too_long.contains(&field) {
                self.problem(field, "", "required value is empty");
            }
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
    let name = c.name("name");
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
    let id = c.officer_id("id", &vocab.officer_id);
    let name = c.name("name");
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
    let officer_id = c.required("officer_id").and_then(|raw| {
        // Typed in full width, the same officer.
        let id = crate::text::fold_width(&raw);
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
    let name = c.name("name");
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

fn inspection(c: &mut Cells, _: &Vocabulary, known: &Known) -> Parsed<OutsideInspection> {
    let uscc = c.uscc("uscc").and_then(|u| {
        let found = known.entities.contains(&u).then(|| u.clone());
        c.lookup("uscc", &u, found, "entity: import the entities first")
    });
    let inspected_on = c.required("inspected_on").and_then(|s| {
        let found = parse_date(&s);
        let day = c.lookup("inspected_on", &s, found, "date (use YYYY-MM-DD)")?;
        if known.today.is_some_and(|t| day > t) {
            c.problem(
                "inspected_on",
                &s,
                "is after today: only an inspection that has taken place counts",
            );
            return None;
        }
        Some(day)
    });
    let kind = c.required("kind");
    let body = c.required("body");
    let record = OutsideInspection {
        uscc: uscc?,
        inspected_on: inspected_on?,
        kind: kind?,
        body: body?,
        reference: c.optional("reference"),
    };
    Some((
        format!(
            "{} / {} / {} / {}",
            record.uscc, record.inspected_on, record.kind, record.body
        ),
        "uscc",
        record,
    ))
}

const OUTCOME_COLUMNS: &[Column] = &[
    col("task", &["任务编号", "task", "id"], true, CODE),
    col(
        "planned",
        &["计划检查日期", "检查日期", "planned"],
        false,
        WORD,
    ),
    col("completed", &["完成日期", "completed"], false, WORD),
    col("outcome", &["检查结果", "outcome"], false, WORD),
    col(
        "published",
        &["结果公示日期", "公示日期", "published"],
        false,
        WORD,
    ),
    col("url", &["公示网址", "url"], false, URL),
    col(
        "penalty_decided",
        &["处罚决定日期", "penalty_decision_date"],
        false,
        WORD,
    ),
    col(
        "penalty_published",
        &["处罚公示日期", "penalty_published"],
        false,
        WORD,
    ),
    col("referred", &["移送日期", "referred"], false, WORD),
];

/// One row of a task-outcome file: the task and the events it reports, in the order they
/// happen, each with the column and value it came from (for messages).
#[derive(Debug, Clone)]
pub struct OutcomeRow {
    pub row: u64,
    pub task: String,
    /// The task column's header as written in the file.
    pub task_column: String,
    /// `None` when the row's own values have problems (already reported): its task can still be
    /// looked up, its events cannot be checked.
    pub events: Option<Vec<(Event, String, String)>>,
}

/// Parses a file of inspection outcomes (what divisions send back). Pure, like `parse`, but it
/// returns what it could parse together with every problem: whether the task exists and the
/// events fit it is checked later, against the store, for every row that names a task, so that
/// one pass reports everything wrong with the file.
pub fn parse_outcomes(table: &mut Table) -> (Vec<OutcomeRow>, Vec<Problem>) {
    let map = match map_columns(OUTCOME_COLUMNS, "task outcomes", table) {
        Ok((map, _)) => map,
        Err(problems) => return (Vec::new(), problems),
    };
    let mut problems = Vec::new();
    let mut out = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    let rows = table.next_rows(usize::MAX, &mut problems);
    for row in &rows {
        let mut c = Cells::new(table, row, &map, &mut problems);
        let Some(task) = c.required("task") else {
            continue;
        };
        if let Some(first) = seen.insert(task.clone(), row.number) {
            c.problem("task", &task, &format!("duplicate of row {first}"));
            continue;
        }
        let task_column = c.header("task");
        let events = outcome_events(&mut c);
        out.push(OutcomeRow {
            row: row.number,
            task,
            task_column,
            events,
        });
    }
    (out, problems)
}

/// The events one outcome row reports, or `None` after recording its problems.
fn outcome_events(c: &mut Cells) -> Option<Vec<(Event, String, String)>> {
    let date = |c: &mut Cells, field: &str| -> Option<Option<NaiveDate>> {
        match c.optional(field) {
            None => Some(None),
            Some(v) => {
                let found = parse_date(&v).map(Some);
                c.lookup(field, &v, found, "date (use YYYY-MM-DD)")
            }
        }
    };
    let planned = date(c, "planned");
    let completed = date(c, "completed");
    let decided = date(c, "penalty_decided");
    let published = date(c, "published");
    let penalty_published = date(c, "penalty_published");
    let referred = date(c, "referred");
    let outcome = match c.optional("outcome") {
        None => Some(None),
        Some(v) => {
            let found = Outcome::parse(&v).map(Some);
            c.lookup("outcome", &v, found, "outcome (无问题/发现问题/行政处罚)")
        }
    };
    let (planned, completed, decided, published, penalty_published, referred, outcome) = (
        planned?,
        completed?,
        decided?,
        published?,
        penalty_published?,
        referred?,
        outcome?,
    );
    let mut events = Vec::new();
    let mut push = |c: &Cells, field: &str, e: Event| {
        events.push((e, c.header(field), c.get(field).to_string()));
    };
    if let Some(d) = planned {
        push(c, "planned", Event::Schedule(d));
    }
    match (completed, outcome) {
        (Some(d), Some(o)) => push(c, "completed", Event::Complete(d, o)),
        (Some(_), None) => {
            c.problem("outcome", "", "required when 完成日期 is given");
            return None;
        }
        (None, Some(o)) => {
            c.problem("outcome", o.code(), "given without 完成日期");
            return None;
        }
        (None, None) => {}
    }
    if let Some(d) = decided {
        push(c, "penalty_decided", Event::PenaltyDecided(d));
    }
    if let Some(d) = published {
        push(c, "published", Event::Publish(d, c.optional("url")));
    }
    if let Some(d) = penalty_published {
        push(c, "penalty_published", Event::PenaltyPublished(d));
    }
    if let Some(d) = referred {
        push(c, "referred", Event::Refer(d));
    }
    if events.is_empty() {
        let task = c.get("task");
        c.problem("task", task, "the row reports nothing");
        return None;
    }
    Some(events)
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
        Table::new(
            "t.csv".into(),
            "UTF-8",
            1,
            headers.iter().map(|s| s.to_string()).collect(),
            rows.iter()
                .enumerate()
                .map(|(i, r)| Row {
                    number: i as u64 + 2,
                    cells: r.iter().map(|s| s.to_string()).collect(),
                })
                .collect(),
        )
        .expect("a valid table")
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
        let t = || {
            table(
                ENTITY_HEADERS,
                &[&[
                    "91350100M000100Y43",
                    "甲化工",
                    "化工",
                    "郑州市",
                    "较大",
                    "1",
                ]],
            )
        };
        let (records, notes) = parse(Kind::Entities, t(), &vocab(), &Known::default()).expect("ok");
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
        let t = || {
            table(
                ENTITY_HEADERS,
                &[
                    &["91350100M000100Y44", "甲", "化工", "郑州", "较大", ""],
                    &["91350100M000100Y43", "乙", "huagong", "武汉", "中等", ""],
                    &["91350100M000100Y43", "丙", "化工", "郑州", "低", ""],
                    &["91350100M000100Y43", "丁", "化工", "郑州", "低", ""],
                ],
            )
        };
        let problems = parse(Kind::Entities, t(), &vocab(), &Known::default()).expect_err("bad");
        let brief: Vec<(u64, &str, &str)> = problems
            .iter()
            .map(|p| (p.row(), p.column(), p.value()))
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
            problems[0].reason().contains("expected `3`"),
            "{}",
            problems[0]
        );
        assert_eq!(problems[4].reason(), "duplicate of row 4");
    }

    #[test]
    fn missing_column_is_one_clear_problem() {
        let t = || table(&["uscc", "name"], &[&["x", "y"]]);
        let problems = parse(Kind::Entities, t(), &vocab(), &Known::default()).expect_err("bad");
        assert!(problems.iter().all(|p| p.row() == 1));
        assert!(problems.iter().any(|p| p.column() == "行业类别"));
    }

    #[test]
    fn over_long_values_get_one_problem_each() {
        let long_name = "甲".repeat(NAME + 1);
        let long_code = "9".repeat(CODE + 1);
        let t = || {
            table(
                ENTITY_HEADERS,
                &[
                    &[&long_code, &long_name, "化工", "郑州市", "较大", ""],
                    &[
                        "91350100M000100Y43",
                        &"乙".repeat(NAME),
                        "化工",
                        "郑州市",
                        "较大",
                        "",
                    ],
                ],
            )
        };
        let problems = parse(Kind::Entities, t(), &vocab(), &Known::default()).expect_err("bad");
        let brief: Vec<(u64, &str, &str)> = problems
            .iter()
            .map(|p| (p.row(), p.column(), p.reason()))
            .collect();
        assert_eq!(
            brief,
            vec![
                (2, "统一社会信用代码", "longer than 64 characters (65)"),
                (2, "单位名称", "longer than 200 characters (201)"),
            ]
        );
        assert!(problems[1].value().ends_with("… (201 characters)"));
        // Every import kind, outcome files too, goes through the same check.
        let mut t = table(
            &["任务编号", "结果公示日期", "公示网址"],
            &[&["t-1", "2024-11-14", &"u".repeat(URL + 1)]],
        );
        let (rows, problems) = parse_outcomes(&mut t);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].column(), "公示网址");
        assert_eq!(rows.len(), 1, "the task can still be looked up");
    }

    #[test]
    fn outcome_rows_with_problems_still_name_their_task() {
        let mut t = table(
            &["任务编号", "计划检查日期", "完成日期", "检查结果"],
            &[
                &["t-1", "2024-13-01", "", ""],
                &["t-2", "2024-11-11", "2024-11-12", "无问题"],
                &["t-3", "", "", ""],
                &["t-2", "2024-11-11", "", ""],
            ],
        );
        let (rows, problems) = parse_outcomes(&mut t);
        let parsed: Vec<(&str, bool)> = rows
            .iter()
            .map(|r| (r.task.as_str(), r.events.is_some()))
            .collect();
        assert_eq!(parsed, vec![("t-1", false), ("t-2", true), ("t-3", false)]);
        let reasons: Vec<(u64, &str)> = problems.iter().map(|p| (p.row(), p.reason())).collect();
        assert_eq!(
            reasons,
            vec![
                (2, "unknown date (use YYYY-MM-DD)"),
                (4, "the row reports nothing"),
                (5, "duplicate of row 3"),
            ]
        );
        assert_eq!(rows[1].task_column, "任务编号");
    }

    /// An inspection done outside suiji took place: one dated after today is refused, naming
    /// its row, column and value (a typo of the year would otherwise count against a cap).
    #[test]
    fn outside_inspections_are_of_the_past() {
        let t = || {
            table(
                &["统一社会信用代码", "检查日期", "检查类型", "检查主体"],
                &[
                    &[
                        "91350100M000100Y43",
                        "2024-03-12",
                        "重点检查",
                        "省应急管理厅",
                    ],
                    &[
                        "91350100M000100Y43",
                        "2042-03-12",
                        "重点检查",
                        "省应急管理厅",
                    ],
                ],
            )
        };
        let known = Known {
            entities: ["91350100M000100Y43".to_string()].into(),
            today: chrono::NaiveDate::from_ymd_opt(2024, 6, 1),
            ..Known::default()
        };
        let problems = parse(Kind::Inspections, t(), &vocab(), &known).expect_err("future");
        let said: Vec<(u64, &str, &str)> = problems
            .iter()
            .map(|p| (p.row(), p.value(), p.reason()))
            .collect();
        assert_eq!(
            said,
            [(
                3,
                "2042-03-12",
                "is after today: only an inspection that has taken place counts"
            )]
        );
    }

    #[test]
    fn conflicts_must_point_at_known_keys() {
        let t = || {
            table(
                &["执法证号", "统一社会信用代码", "原因"],
                &[&["E1", "91350100M000100Y43", "亲属任职"]],
            )
        };
        let problems = parse(Kind::Conflicts, t(), &vocab(), &Known::default()).expect_err("bad");
        assert_eq!(problems.len(), 2);
        let known = Known {
            officers: ["E1".to_string()].into(),
            entities: ["91350100M000100Y43".to_string()].into(),
            today: None,
        };
        assert!(parse(Kind::Conflicts, t(), &vocab(), &known).is_ok());
    }

    #[test]
    fn officers_and_dates() {
        let t = || {
            table(
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
                        "41000001001",
                        "张三",
                        "河南省应急管理厅",
                        "危化处",
                        "是",
                        "2026年6月30日",
                    ],
                    &["41000001002", "李四", "河南省市场监督管理局", "", "否", ""],
                    &["41000001003", "王五", "河南省应急管理厅", "", "否", ""],
                ],
            )
        };
        let problems = parse(Kind::Officers, t(), &vocab(), &Known::default()).expect_err("bad");
        assert_eq!(problems.len(), 1);
        assert_eq!((problems[0].row(), problems[0].column()), (4, "处室"));
        assert_eq!(
            parse_date("2025/6/30"),
            NaiveDate::from_ymd_opt(2025, 6, 30)
        );
    }

    /// Look-alikes never become a second officer or pass for a Latin name: a 执法证号 typed in
    /// full width is the same officer, the letter O for 0 is refused by the configured form,
    /// and a Cyrillic letter in a name is refused with the character named.
    #[test]
    fn look_alikes_are_folded_or_refused() {
        let t = |id: &str, name: &str| {
            table(
                &["执法证号", "姓名", "所属单位"],
                &[&[id, name, "河南省市场监督管理局"]],
            )
        };
        let ok = parse(
            Kind::Officers,
            t("４１０００００１００７", "王五"),
            &vocab(),
            &Known::default(),
        )
        .expect("folded");
        let (Records::Officers(o), _) = ok else {
            panic!("officers");
        };
        assert_eq!(o[0].id, "41000001007");
        let refused = |id: &str, name: &str| {
            parse(Kind::Officers, t(id, name), &vocab(), &Known::default())
                .expect_err("refused")
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        };
        let o_for_0 = refused("41OOOOO1007", "王五");
        assert!(
            o_for_0.contains("configured form `###########`"),
            "{o_for_0}"
        );
        let cyrillic = refused("41000001007", "А́ВС化工");
        assert!(
            cyrillic.contains(
                "character 1 (U+0410 (Cyrillic)) is a letter that passes for a Latin one"
            ),
            "{cyrillic}"
        );
        assert!(refused("41000001007", "ΑΒΓ").contains("Greek"));
    }
}
