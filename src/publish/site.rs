//! The public disclosure site (一公开): static pages a department copies onto its portal, built
//! from values alone. [`PlanSite::build`] turns the plan's published documents and its tasks'
//! facts into what the pages say; [`render`] turns that into files. No IO here: `ops::site`
//! reads the store and writes the files.
//!
//! Everything a page shows goes through minijinja's HTML auto-escaping; the spreadsheets go
//! through `sheet` (formula triggers quoted away). Officers appear by name and certificate
//! number only; the result columns are the ones `public.result_fields` allows.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::lifecycle::{Event, Field, Obligation, Outcome};
use crate::publish::drawn::Source;
use crate::publish::{EventKind, Index};
use crate::registry::Item;
use crate::store::{AuditHead, DrawRecord, FactRecord, ManifestRecord, TaskRow};

/// A result column that `public.result_fields` may publish (the entity's name and the task
/// number always are).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResultField {
    Uscc,
    Division,
    City,
    Items,
    Inspected,
    Outcome,
    Published,
    Deadline,
    Penalty,
    Officers,
    Url,
}

impl ResultField {
    pub const ALL: [ResultField; 11] = [
        ResultField::Uscc,
        ResultField::Division,
        ResultField::City,
        ResultField::Items,
        ResultField::Inspected,
        ResultField::Outcome,
        ResultField::Published,
        ResultField::Deadline,
        ResultField::Penalty,
        ResultField::Officers,
        ResultField::Url,
    ];

    fn key(self) -> &'static str {
        match self {
            ResultField::Uscc => "uscc",
            ResultField::Division => "division",
            ResultField::City => "city",
            ResultField::Items => "items",
            ResultField::Inspected => "inspected",
            ResultField::Outcome => "outcome",
            ResultField::Published => "published",
            ResultField::Deadline => "deadline",
            ResultField::Penalty => "penalty",
            ResultField::Officers => "officers",
            ResultField::Url => "url",
        }
    }
}

pub fn outcome_label(o: Outcome) -> &'static str {
    match o {
        Outcome::NoIssues => "未发现问题",
        Outcome::IssuesFound => "发现问题，责令整改",
        Outcome::Penalty => "行政处罚",
    }
}

/// Names the site needs that the published documents hold only as codes.
pub struct Names<'a> {
    pub department: &'a str,
    pub division: &'a dyn Fn(&str) -> String,
    pub agency: &'a dyn Fn(&str) -> String,
    pub city: &'a dyn Fn(&str) -> String,
    /// Officer certificate number → name.
    pub officers: &'a HashMap<String, String>,
    /// Where a drand round can be looked up: `{relay}/{chain}/public/{round}`.
    pub beacon_relay: &'a str,
}

/// Everything the store holds about one plan and year, as values.
pub struct Inputs<'a> {
    pub plan_id: &'a str,
    pub year: i64,
    pub manifests: &'a [ManifestRecord],
    pub draws: &'a [DrawRecord],
    pub index: &'a Index,
    pub tasks: &'a [TaskRow],
    /// Every fact of the plan's tasks, oldest first.
    pub facts: &'a [FactRecord],
    pub items: &'a [Item],
    pub fields: &'a [ResultField],
    pub generated_at: &'a str,
    /// The day the pages speak of (what is overdue on it), and the calendar that counts how
    /// late in working days.
    pub today: NaiveDate,
    pub calendar: &'a crate::calendar::Calendar,
}

#[derive(Debug, Clone, Serialize)]
pub struct Officer {
    pub name: String,
    pub certificate: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Stratum {
    pub id: String,
    /// What a reader calls it: `不分层` for a task drawn whole, the split part's label (v4), or
    /// else its code.
    pub label: String,
    /// The label is a code (`noncoal/high`, before v4), shown as such.
    pub coded: bool,
    pub candidates: usize,
    pub quota: usize,
    /// Where the quota is a share of the pool: `30%`, with its bounds.
    pub ratio: Option<String>,
}

/// A stratum's name for readers (see [`Stratum::label`]); whether it is only a code.
fn stratum_label(task: &str, stratum: &str, label: Option<&str>) -> (String, bool) {
    match label {
        _ if stratum == task => ("不分层".into(), false),
        Some(l) => (l.to_string(), false),
        None => (stratum.to_string(), true),
    }
}

/// A ratio as the plan page states it: `30%`, `2%（至少 1 家）`, `5%（至多 20 家）`.
fn ratio_text(r: &crate::plan::Ratio) -> String {
    let bounds: Vec<String> = [
        (r.min > 0).then(|| format!("至少 {} 家", r.min)),
        r.max.map(|m| format!("至多 {m} 家")),
    ]
    .into_iter()
    .flatten()
    .collect();
    if bounds.is_empty() {
        r.percent()
    } else {
        format!("{}（{}）", r.percent(), bounds.join("，"))
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PlanTask {
    pub id: String,
    pub name: String,
    pub division: String,
    pub items: String,
    pub team_size: u64,
    pub partner: Option<String>,
    pub strata: Vec<Stratum>,
    pub candidates: usize,
    pub quota: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct HistoryRow {
    pub n: usize,
    pub event: &'static str,
    pub at: String,
    pub file: Option<String>,
    pub sha256: Option<String>,
    pub detail: String,
}

/// A draw as the verify page offers it.
#[derive(Debug, Clone, Serialize)]
pub struct DrawInfo {
    pub file: String,
    pub manifest: String,
    pub digest: String,
    pub drawn_at: String,
    pub official: bool,
    pub void_reason: Option<String>,
    pub seed: String,
    pub seed_kind: String,
    pub seed_value: String,
    pub beacon_round: Option<u64>,
    pub beacon_url: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Selected {
    pub task: String,
    /// 抽取 (a team of the draw) or 替补 (a later replacement by an alternate).
    pub source: &'static str,
    pub task_name: String,
    pub stratum: String,
    pub position: i64,
    pub entity: String,
    pub uscc: String,
    pub city: String,
    pub officers: Vec<Officer>,
    pub partners: Vec<Officer>,
    pub status: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ResultRow {
    pub task: String,
    pub entity: String,
    pub uscc: String,
    pub division: String,
    pub city: String,
    pub items: String,
    pub inspected: Option<NaiveDate>,
    pub outcome: &'static str,
    pub outcome_code: &'static str,
    pub published: NaiveDate,
    pub deadline: Option<NaiveDate>,
    pub deadline_days: u32,
    pub on_time: bool,
    pub penalty_decided: Option<NaiveDate>,
    pub penalty_published: Option<NaiveDate>,
    pub penalty_deadline: Option<NaiveDate>,
    pub penalty_days: u32,
    pub penalty_on_time: Option<bool>,
    pub officers: Vec<Officer>,
    pub url: Option<String>,
    /// Corrections, replacements and voids, as they were recorded.
    pub notes: Vec<String>,
    /// Its own page, relative to the plan's folder.
    pub page: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Seed {
    pub kind: String,
    pub source: String,
    /// The lottery whose result the digits are (v3).
    pub game: Option<String>,
    /// Where the result is announced (v3; http(s) only).
    pub announcement: Option<String>,
    pub available_at: Option<String>,
    pub beacon_round: Option<u64>,
    pub beacon_url: Option<String>,
}

/// A candidate in the object directory (检查对象名录库): in which task's stratum, as frozen.
#[derive(Debug, Clone, Serialize)]
pub struct PoolRow {
    pub task: String,
    pub stratum: String,
    pub name: String,
    pub uscc: String,
    pub city: String,
}

/// An officer in the officer directory (执法检查人员名录库): name, 执法证号 and unit only.
#[derive(Debug, Clone, Serialize)]
pub struct DirectoryOfficer {
    pub name: String,
    pub certificate: String,
    pub unit: String,
    pub cadre: bool,
}

/// The directories (一单两库) as the manifest in force froze them (v3 only: older manifests
/// name nobody).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Directories {
    pub available: bool,
    /// The object directory is listed only up to [`POOL_LISTED`] rows; beyond, the manifest's
    /// `entities` is the list.
    pub pool: Vec<PoolRow>,
    pub pool_total: usize,
    pub officers: Vec<DirectoryOfficer>,
}

/// How many candidates the object directory lists on its page and in its downloads.
pub const POOL_LISTED: usize = 50_000;

/// What the directories read of a v3 manifest, when its pool is small enough to list.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DirectoryView {
    spec: String,
    strata: Vec<DirectoryStratum>,
    entities: BTreeMap<String, crate::draw::EntityDecl>,
    officers: Vec<crate::draw::OfficerDecl>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DirectoryStratum {
    task: String,
    stratum: String,
    label: Option<String>,
    candidates: Vec<String>,
}

/// What the pages of one plan say.
#[derive(Debug, Clone, Serialize)]
pub struct PlanSite {
    pub department: String,
    pub plan_id: String,
    pub year: i64,
    pub title: String,
    pub window_start: String,
    pub window_end: String,
    /// Published by a rehearsal store: every page says 演练 on top.
    pub rehearsal: bool,
    pub generated_at: String,
    pub seed: Option<Seed>,
    pub manifest_file: Option<String>,
    pub manifest_digest: Option<String>,
    pub frozen_at: Option<String>,
    pub tasks: Vec<PlanTask>,
    pub history: Vec<HistoryRow>,
    pub draws: Vec<DrawInfo>,
    pub official: Option<DrawInfo>,
    pub selection: Vec<Selected>,
    pub items: Vec<Item>,
    pub results: Vec<ResultRow>,
    /// Results taken down when their retention ran out, as the history publishes them.
    pub taken_down: Vec<TakenDown>,
    /// Tasks of the official draw.
    pub task_count: usize,
    pub total_candidates: usize,
    /// `total_candidates` counts each entity once (v3), not once per stratum.
    pub distinct_candidates: bool,
    pub total_quota: usize,
    pub show: BTreeMap<&'static str, bool>,
    pub divisions: Vec<String>,
    pub cities: Vec<String>,
    pub outcomes: Vec<&'static str>,
    pub audit_head: Option<AuditHead>,
    pub directories: Directories,
}

/// What the pages read of a manifest. The candidates are only counted, never kept: read as
/// JSON values, a million-entity manifest would become a million strings on the heap.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ManifestView {
    simulated: bool,
    plan: Value,
    seed_source: Value,
    strata: Vec<StratumView>,
    tasks: Vec<Value>,
    /// v3: the candidates named, each once (a candidate of several strata is one entity).
    #[serde(deserialize_with = "count_map")]
    entities: usize,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct StratumView {
    task: String,
    stratum: String,
    label: Option<String>,
    ratio: Option<crate::plan::Ratio>,
    quota: usize,
    #[serde(deserialize_with = "count")]
    candidates: usize,
}

/// What the pages read of a draw document (its other parts list every pick).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DrawView {
    seed_source: Value,
}

/// The length of a JSON array, its elements skipped unread.
fn count<'de, D: serde::Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    struct Count;
    impl<'de> serde::de::Visitor<'de> for Count {
        type Value = usize;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an array")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<usize, A::Error> {
            let mut n = 0;
            while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {
                n += 1;
            }
            Ok(n)
        }
    }
    d.deserialize_seq(Count)
}

/// The number of members of a JSON object, their values skipped unread.
fn count_map<'de, D: serde::Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    struct Count;
    impl<'de> serde::de::Visitor<'de> for Count {
        type Value = usize;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<usize, A::Error> {
            let mut n = 0;
            while map
                .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                .is_some()
            {
                n += 1;
            }
            Ok(n)
        }
    }
    d.deserialize_map(Count)
}

fn str_at<'v>(v: &'v Value, path: &[&str]) -> Option<&'v str> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_str()
}

fn team(ids: &[String], names: &Names<'_>) -> Vec<Officer> {
    ids.iter()
        .map(|id| Officer {
            name: names.officers.get(id).cloned().unwrap_or_default(),
            certificate: id.clone(),
        })
        .collect()
}

fn people(v: &[(String, String)]) -> Vec<Officer> {
    v.iter()
        .map(|(certificate, name)| Officer {
            name: name.clone(),
            certificate: certificate.clone(),
        })
        .collect()
}

/// What a citizen reads of a task on `input.today`: its state, or that it is overdue, with
/// what and by how many working days.
fn status_on(t: &TaskRow, input: &Inputs<'_>) -> String {
    use crate::lifecycle::Obligation;
    let late = crate::lifecycle::overdue(&t.facts, &t.deadlines, input.today, input.calendar);
    let Some(first) = late.iter().min_by_key(|o| o.due) else {
        return t.facts.status.label().to_string();
    };
    let what = match first.obligation {
        Obligation::Schedule => "未按期安排检查",
        Obligation::Notice => "未按期函告属地",
        Obligation::Complete => "未在检查期内完成检查",
        Obligation::Publish => "未按期公示结果",
        Obligation::PenaltyPublish => "未按期公示处罚",
        Obligation::PenaltyDecision => "未按期作出处罚决定",
    };
    match first.working_days {
        Some(n) if n > 0 => format!("逾期（{what}，已逾 {n} 个工作日）"),
        _ => format!("逾期（{what}）"),
    }
}

fn field_label(f: &Field) -> &'static str {
    match f {
        Field::Planned(_) => "计划检查日期",
        Field::Completed(_) => "检查日期",
        Field::Outcome(_) => "检查结果",
        Field::Published(_) => "公示日期",
        Field::Url(_) => "公示链接",
        Field::PenaltyDecided(_) => "处罚决定日期",
        Field::PenaltyPublished(_) => "处罚公示日期",
        Field::Referred(_) => "移送日期",
    }
}

/// A task id as a file name: anything but ASCII letters, digits, `-` and `_` is hex-escaped, so
/// two ids never share a file and none leaves the folder.
fn file_stem(id: &str) -> String {
    let mut out = String::new();
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
            out.push(b as char);
        } else {
            out.push_str(&format!("~{b:02x}"));
        }
    }
    out
}

fn day(at: &str) -> &str {
    at.get(..10).unwrap_or(at)
}

impl PlanSite {
    /// The pages' content. A plan with no frozen manifest has nothing public yet (None).
    pub fn build(input: &Inputs<'_>, names: &Names<'_>) -> Option<PlanSite> {
        let current = input
            .manifests
            .iter()
            .rfind(|m| m.status == "active")
            .or(input.manifests.last())?;
        let manifest: ManifestView = serde_json::from_str(&current.content).ok()?;
        let seed = Some(&manifest.seed_source)
            .filter(|s| !s.is_null())
            .map(|s| {
                let round = s.pointer("/beacon/round").and_then(Value::as_u64);
                Seed {
                    kind: str_at(s, &["kind"]).unwrap_or_default().to_string(),
                    source: str_at(s, &["source"]).unwrap_or_default().to_string(),
                    game: str_at(s, &["game"]).map(str::to_string),
                    announcement: str_at(s, &["announcement"])
                        .filter(|u| crate::lifecycle::check_url(u).is_ok())
                        .map(str::to_string),
                    available_at: str_at(s, &["available_at"]).map(str::to_string),
                    beacon_round: round,
                    beacon_url: round.and_then(|r| beacon_url(s, r, names.beacon_relay)),
                }
            });
        let tasks = plan_tasks(&manifest, names);
        let manifest_files: HashMap<i64, String> = input
            .manifests
            .iter()
            .map(|m| (m.id, format!("manifest-{}.json", m.seq)))
            .collect();
        let draws: Vec<DrawInfo> = input
            .draws
            .iter()
            .map(|d| {
                // Only a draw of another manifest than the current one needs that one read.
                let source = if d.manifest_id == current.id {
                    manifest.seed_source.clone()
                } else {
                    input
                        .manifests
                        .iter()
                        .find(|m| m.id == d.manifest_id)
                        .and_then(|m| serde_json::from_str::<ManifestView>(&m.content).ok())
                        .map(|m| m.seed_source)
                        .unwrap_or(Value::Null)
                };
                draw_info(d, &manifest_files, &source, names)
            })
            .collect();
        let official = draws.iter().rfind(|d| d.official).cloned();
        let official_id = input
            .draws
            .iter()
            .rfind(|d| d.status == "official")
            .map(|d| d.id);
        let task_names: HashMap<&str, &str> = tasks
            .iter()
            .map(|t| (t.id.as_str(), t.name.as_str()))
            .collect();
        let drawn = super::drawn::tasks(
            input.manifests,
            input.draws,
            input.tasks,
            input.facts,
            &|id| names.officers.get(id).cloned().unwrap_or_default(),
            names.city,
        );
        let mut selection: Vec<Selected> = input
            .tasks
            .iter()
            .filter(|t| Some(t.draw_id) == official_id)
            .filter_map(|t| {
                let d = drawn.get(&t.id)?;
                Some(Selected {
                    task: t.id.clone(),
                    source: match d.source {
                        Source::Drawn => "抽取",
                        Source::Replacement => "替补",
                    },
                    task_name: task_names
                        .get(d.task.as_str())
                        .map_or_else(|| d.task.clone(), |n| n.to_string()),
                    stratum: d.stratum.clone(),
                    position: t.position,
                    entity: d.name.clone(),
                    uscc: d.uscc.clone(),
                    city: d.city.clone(),
                    officers: people(&d.members),
                    partners: people(&d.partners),
                    status: status_on(t, input),
                })
            })
            .collect();
        selection.sort_by(|a, b| a.task.cmp(&b.task));
        let taken = taken_down(input.index);
        let gone: BTreeSet<&str> = taken.iter().map(|t| t.task.as_str()).collect();
        let results: Vec<ResultRow> = results(input, names, &drawn)
            .into_iter()
            .filter(|r| !gone.contains(r.task.as_str()))
            .collect();
        let directories = directories(&current.content, manifest.entities, &task_names, names);
        let show = ResultField::ALL
            .iter()
            .map(|f| (f.key(), input.fields.contains(f)))
            .collect();
        let divisions: BTreeSet<String> = results.iter().map(|r| r.division.clone()).collect();
        let cities: BTreeSet<String> = results.iter().map(|r| r.city.clone()).collect();
        let outcomes: BTreeSet<&'static str> = results.iter().map(|r| r.outcome).collect();
        // Strata overlap (an entity may be a candidate of several tasks): a v3 manifest names
        // each candidate once, which is the count of distinct ones; older ones are summed.
        let distinct = manifest.entities > 0;
        let total_candidates = if distinct {
            manifest.entities
        } else {
            tasks.iter().map(|t| t.candidates).sum()
        };
        let total_quota = tasks.iter().map(|t| t.quota).sum();
        Some(PlanSite {
            department: names.department.to_string(),
            plan_id: input.plan_id.to_string(),
            year: input.year,
            title: str_at(&manifest.plan, &["title"])
                .unwrap_or(input.plan_id)
                .to_string(),
            window_start: str_at(&manifest.plan, &["window", "start"])
                .unwrap_or_default()
                .to_string(),
            window_end: str_at(&manifest.plan, &["window", "end"])
                .unwrap_or_default()
                .to_string(),
            rehearsal: input.index.store == crate::store::Mode::Rehearsal,
            generated_at: input.generated_at.to_string(),
            seed,
            manifest_file: manifest_files.get(&current.id).cloned(),
            manifest_digest: Some(current.digest.clone()),
            frozen_at: Some(current.frozen_at.clone()),
            tasks,
            history: history(input.index),
            draws,
            official,
            task_count: selection.len(),
            total_candidates,
            distinct_candidates: distinct,
            total_quota,
            selection,
            items: input.items.to_vec(),
            results,
            taken_down: taken,
            show,
            divisions: divisions.into_iter().collect(),
            cities: cities.into_iter().collect(),
            outcomes: outcomes.into_iter().collect(),
            audit_head: input.index.audit_head.clone(),
            directories,
        })
    }
}

/// The directories of the manifest in force: every candidate by task and stratum (up to
/// [`POOL_LISTED`]), every eligible officer by name, 执法证号 and unit.
fn directories(
    content: &str,
    distinct: usize,
    task_names: &HashMap<&str, &str>,
    names: &Names<'_>,
) -> Directories {
    if distinct == 0 || distinct > POOL_LISTED {
        return Directories {
            pool_total: distinct,
            ..Directories::default()
        };
    }
    let Ok(view) = serde_json::from_str::<DirectoryView>(content) else {
        return Directories::default();
    };
    if !crate::draw::publishes_eligibility(&view.spec) {
        return Directories::default();
    }
    let pool = view
        .strata
        .iter()
        .flat_map(|s| {
            s.candidates.iter().map(|u| {
                let e = view.entities.get(u);
                PoolRow {
                    task: task_names
                        .get(s.task.as_str())
                        .map_or_else(|| s.task.clone(), |n| n.to_string()),
                    stratum: stratum_label(&s.task, &s.stratum, s.label.as_deref()).0,
                    name: e.map(|e| e.name.clone()).unwrap_or_default(),
                    uscc: u.clone(),
                    city: e.map(|e| e.city.clone()).unwrap_or_default(),
                }
            })
        })
        .collect();
    let officers = view
        .officers
        .iter()
        .filter_map(|o| match o {
            crate::draw::OfficerDecl::Public(p) => Some(DirectoryOfficer {
                name: p.name.clone(),
                certificate: p.id.clone(),
                unit: match &p.division {
                    Some(d) => format!("{} {}", (names.agency)(&p.agency), (names.division)(d)),
                    None => (names.agency)(&p.agency),
                },
                cadre: p.cadre,
            }),
            crate::draw::OfficerDecl::Full(_) => None,
        })
        .collect();
    Directories {
        available: true,
        pool,
        pool_total: distinct,
        officers,
    }
}

fn beacon_url(source: &Value, round: u64, relay: &str) -> Option<String> {
    let chain = source.pointer("/beacon/chain_hash")?.as_str()?;
    let relay = relay.trim_end_matches('/');
    (relay.starts_with("https://") || relay.starts_with("http://"))
        .then(|| format!("{relay}/{chain}/public/{round}"))
}

fn plan_tasks(manifest: &ManifestView, names: &Names<'_>) -> Vec<PlanTask> {
    let list = |v: &Value, key: &str| -> Vec<String> {
        v.get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    manifest
        .tasks
        .iter()
        .map(|t| {
            let id = str_at(t, &["task"]).unwrap_or_default().to_string();
            let strata: Vec<Stratum> = manifest
                .strata
                .iter()
                .filter(|s| s.task == id)
                .map(|s| {
                    let (label, coded) = stratum_label(&s.task, &s.stratum, s.label.as_deref());
                    Stratum {
                        id: s.stratum.clone(),
                        label,
                        coded,
                        candidates: s.candidates,
                        quota: s.quota,
                        ratio: s.ratio.as_ref().map(ratio_text),
                    }
                })
                .collect();
            PlanTask {
                name: str_at(t, &["name"]).unwrap_or_default().to_string(),
                division: (names.division)(str_at(t, &["division"]).unwrap_or_default()),
                items: list(t, "items").join("、"),
                team_size: t.get("team_size").and_then(Value::as_u64).unwrap_or(0),
                partner: str_at(t, &["partner_agency"]).map(|a| (names.agency)(a)),
                candidates: strata.iter().map(|s| s.candidates).sum(),
                quota: strata.iter().map(|s| s.quota).sum(),
                strata,
                id,
            }
        })
        .collect()
}

fn draw_info(
    d: &DrawRecord,
    manifest_files: &HashMap<i64, String>,
    manifest_source: &Value,
    names: &Names<'_>,
) -> DrawInfo {
    let doc: DrawView = serde_json::from_str(&d.content).unwrap_or_default();
    let round = doc.seed_source.pointer("/round").and_then(Value::as_u64);
    DrawInfo {
        file: format!("draw-{}.json", d.seq),
        manifest: manifest_files
            .get(&d.manifest_id)
            .cloned()
            .unwrap_or_default(),
        digest: d.digest.clone(),
        drawn_at: d.drawn_at.clone(),
        official: d.status == "official",
        void_reason: d.void.as_ref().map(|v| v.reason.clone()),
        seed: d.seed.clone(),
        seed_kind: d.seed_kind.clone(),
        seed_value: d.seed_value.clone(),
        beacon_round: round,
        beacon_url: round.and_then(|r| beacon_url(manifest_source, r, names.beacon_relay)),
    }
}

fn history(index: &Index) -> Vec<HistoryRow> {
    index
        .entries
        .iter()
        .map(|e| {
            let (event, detail) = match e.event {
                EventKind::Freeze => (
                    "冻结抽取输入并公布",
                    format!(
                        "种子公布时间 {}",
                        e.available_at
                            .clone()
                            .map_or_else(|| "（未定）".to_string(), when)
                    ),
                ),
                EventKind::Refreeze => (
                    "重新冻结（取代此前的输入）",
                    e.reason.clone().unwrap_or_default(),
                ),
                EventKind::Draw => (
                    "正式抽取",
                    format!("依据 {}", e.manifest.as_deref().unwrap_or("")),
                ),
                EventKind::Void => (
                    "作废抽取结果",
                    format!(
                        "{}：{}",
                        e.draw.as_deref().unwrap_or(""),
                        e.reason.as_deref().unwrap_or("")
                    ),
                ),
                EventKind::Takedown => (
                    "公示期满撤下结果",
                    format!(
                        "任务 {} 的检查结果依据“{}”撤下",
                        e.task.as_deref().unwrap_or(""),
                        e.reason.as_deref().unwrap_or("")
                    ),
                ),
            };
            HistoryRow {
                n: e.n,
                event,
                at: e.at.clone(),
                file: e.file.clone(),
                sha256: e.sha256.clone(),
                detail,
            }
        })
        .collect()
}

/// A result taken down: which task, when, under which rule, and the history entry that says
/// so. Nothing of what the result said.
#[derive(Debug, Clone, Serialize)]
pub struct TakenDown {
    pub task: String,
    pub page: String,
    pub at: String,
    pub reason: String,
    pub n: usize,
}

/// The takedowns of a history (spec section 7): the pages follow what the verifiers check.
fn taken_down(index: &Index) -> Vec<TakenDown> {
    index
        .entries
        .iter()
        .filter(|e| e.event == EventKind::Takedown)
        .filter_map(|e| {
            let task = e.task.clone()?;
            Some(TakenDown {
                page: format!("results/{}.html", file_stem(&task)),
                task,
                at: e.at.clone(),
                reason: e.reason.clone().unwrap_or_default(),
                n: e.n,
            })
        })
        .collect()
}

/// Published results: every task whose result the department has published (a `publish`
/// fact), whatever became of it since, until a takedown the history publishes removes it (its
/// page then says when and under which rule); nothing leaves the page unseen.
fn results(
    input: &Inputs<'_>,
    names: &Names<'_>,
    drawn: &HashMap<String, super::drawn::Drawn>,
) -> Vec<ResultRow> {
    let mut by_task: HashMap<&str, Vec<&FactRecord>> = HashMap::new();
    for f in input.facts {
        by_task.entry(f.task_id.as_str()).or_default().push(f);
    }
    let mut rows: Vec<ResultRow> = input
        .tasks
        .iter()
        .filter_map(|t| {
            let f = &t.facts;
            let published = f.published?;
            let notes = by_task
                .get(t.id.as_str())
                .into_iter()
                .flatten()
                .filter_map(|r| match &r.event {
                    Event::Correct(field, reason) => Some(format!(
                        "{} 更正{}：{}",
                        day(&r.recorded_at),
                        field_label(field),
                        reason
                    )),
                    Event::Replace { reason, .. } => {
                        Some(format!("{} 由备选对象替补：{}", r.effective, reason))
                    }
                    Event::Void { reason, .. } => {
                        Some(format!("{} 所属抽取结果作废：{}", r.effective, reason))
                    }
                    // Recorded after the date it states: judged by the day it was recorded.
                    Event::Publish(d, _) if *d < r.effective => Some(format!(
                        "{} 录入结果公示（所报公示日期 {d}；期限以录入日期计）",
                        r.effective
                    )),
                    Event::PenaltyPublished(d) if *d < r.effective => Some(format!(
                        "{} 录入处罚公示（所报公示日期 {d}；期限以录入日期计）",
                        r.effective
                    )),
                    _ => None,
                })
                .collect();
            let deadline = t.deadlines.get(&Obligation::Publish).copied();
            let penalty_deadline = t.deadlines.get(&Obligation::PenaltyPublish).copied();
            // What the files say the task is; a task they do not back keeps its record's words.
            let (entity, uscc, city, officers) = match drawn.get(&t.id) {
                Some(d) => (
                    d.name.clone(),
                    d.uscc.clone(),
                    d.city.clone(),
                    people(&d.members),
                ),
                None => (
                    t.entity_name.clone(),
                    t.uscc.clone(),
                    (names.city)(&t.city),
                    team(&t.members, names),
                ),
            };
            Some(ResultRow {
                task: t.id.clone(),
                entity,
                uscc,
                division: (names.division)(&t.division),
                city,
                items: t.items.join("、"),
                inspected: f.completed,
                outcome: f.outcome.map_or("", outcome_label),
                outcome_code: f.outcome.map_or("", Outcome::code),
                published,
                deadline,
                deadline_days: t.rules.results,
                on_time: deadline.is_none_or(|d| published <= d),
                penalty_decided: f.penalty_decided,
                penalty_published: f.penalty_published,
                penalty_deadline,
                penalty_days: t.rules.penalties,
                penalty_on_time: f
                    .penalty_published
                    .map(|p| penalty_deadline.is_none_or(|d| p <= d)),
                officers,
                // Checked at entry too: only web links are ever published.
                url: f.published_url.clone().filter(|u| {
                    let u = u.to_ascii_lowercase();
                    u.starts_with("https://") || u.starts_with("http://")
                }),
                notes,
                page: format!("results/{}.html", file_stem(&t.id)),
            })
        })
        .collect();
    rows.sort_by(|a, b| a.task.cmp(&b.task));
    rows
}

/// Spreadsheet columns of the result list, as configured.
fn result_table(site: &PlanSite) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let on = |k: &str| site.show.get(k).copied().unwrap_or(false);
    let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    let mut headers = vec!["任务编号", "检查对象"];
    let cols: [(&str, &[&str]); 11] = [
        ("uscc", &["统一社会信用代码"]),
        ("division", &["承办处室"]),
        ("city", &["所在地"]),
        ("items", &["抽查事项"]),
        ("inspected", &["检查日期"]),
        ("outcome", &["检查结果"]),
        ("published", &["公示日期"]),
        ("deadline", &["公示期限", "是否按期"]),
        ("penalty", &["处罚决定日期", "处罚公示日期"]),
        ("officers", &["执法人员（姓名/执法证号）"]),
        ("url", &["公示链接"]),
    ];
    for (k, h) in cols {
        if on(k) {
            headers.extend_from_slice(h);
        }
    }
    headers.push("备注");
    let rows = site
        .results
        .iter()
        .map(|r| {
            let mut row = vec![r.task.clone(), r.entity.clone()];
            for (k, _) in cols {
                if !on(k) {
                    continue;
                }
                match k {
                    "uscc" => row.push(r.uscc.clone()),
                    "division" => row.push(r.division.clone()),
                    "city" => row.push(r.city.clone()),
                    "items" => row.push(r.items.clone()),
                    "inspected" => row.push(date(r.inspected)),
                    "outcome" => row.push(r.outcome.to_string()),
                    "published" => row.push(r.published.to_string()),
                    "deadline" => {
                        row.push(date(r.deadline));
                        row.push(if r.on_time { "是" } else { "否" }.into());
                    }
                    "penalty" => {
                        row.push(date(r.penalty_decided));
                        row.push(date(r.penalty_published));
                    }
                    "officers" => row.push(officers_cell(&r.officers)),
                    _ => row.push(r.url.clone().unwrap_or_default()),
                }
            }
            row.push(r.notes.join("；"));
            row
        })
        .collect();
    (headers, rows)
}

fn pool_table(site: &PlanSite) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let headers = vec!["抽查任务", "分层", "检查对象", "统一社会信用代码", "所在地"];
    let rows = site
        .directories
        .pool
        .iter()
        .map(|p| {
            vec![
                p.task.clone(),
                p.stratum.clone(),
                p.name.clone(),
                p.uscc.clone(),
                p.city.clone(),
            ]
        })
        .collect();
    (headers, rows)
}

fn officer_table(site: &PlanSite) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let headers = vec!["姓名", "执法证号", "单位", "处级干部"];
    let rows = site
        .directories
        .officers
        .iter()
        .map(|o| {
            vec![
                o.name.clone(),
                o.certificate.clone(),
                o.unit.clone(),
                if o.cadre { "是" } else { "" }.to_string(),
            ]
        })
        .collect();
    (headers, rows)
}

fn item_table(site: &PlanSite) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let headers = vec![
        "事项编号",
        "抽查事项",
        "抽查依据",
        "抽查对象",
        "检查主体",
        "抽查方式",
        "抽查频次",
    ];
    let rows = site
        .items
        .iter()
        .map(|i| {
            vec![
                i.code.clone(),
                i.name.clone(),
                i.basis.clone(),
                i.object.clone(),
                i.body.clone(),
                i.method.clone(),
                i.frequency.clone(),
            ]
        })
        .collect();
    (headers, rows)
}

fn plan_table(site: &PlanSite) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let headers = vec![
        "任务",
        "名称",
        "承办处室",
        "联合部门",
        "分层",
        "对象库数量",
        "抽取数量",
        "检查组人数",
        "抽查事项",
    ];
    let rows = site
        .tasks
        .iter()
        .flat_map(|t| {
            t.strata.iter().map(move |s| {
                vec![
                    t.id.clone(),
                    t.name.clone(),
                    t.division.clone(),
                    t.partner.clone().unwrap_or_default(),
                    s.id.clone(),
                    s.candidates.to_string(),
                    s.quota.to_string(),
                    t.team_size.to_string(),
                    t.items.clone(),
                ]
            })
        })
        .collect();
    (headers, rows)
}

/// Officers as every download writes them (see `selection::written`).
fn officers_cell(v: &[Officer]) -> String {
    let pairs: Vec<(&str, &str)> = v
        .iter()
        .map(|o| (o.certificate.as_str(), o.name.as_str()))
        .collect();
    super::selection::written(&pairs)
}

fn selection_table(site: &PlanSite) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let headers = super::selection::COLUMNS.to_vec();
    let rows = site
        .selection
        .iter()
        .map(|s| {
            vec![
                s.task.clone(),
                s.source.to_string(),
                s.task_name.clone(),
                s.stratum.clone(),
                s.position.to_string(),
                s.entity.clone(),
                s.uscc.clone(),
                s.city.clone(),
                officers_cell(&s.officers),
                officers_cell(&s.partners),
                s.status.to_string(),
            ]
        })
        .collect();
    (headers, rows)
}

#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    #[error("site template {0}: {1}")]
    Template(String, String),
    #[error("{0}: {1}")]
    Sheet(String, String),
}

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/site/base.html")),
    (
        "layout.html",
        include_str!("../../templates/site/layout.html"),
    ),
    ("home.html", include_str!("../../templates/site/home.html")),
    (
        "index.html",
        include_str!("../../templates/site/index.html"),
    ),
    (
        "items.html",
        include_str!("../../templates/site/items.html"),
    ),
    ("plan.html", include_str!("../../templates/site/plan.html")),
    (
        "results.html",
        include_str!("../../templates/site/results.html"),
    ),
    (
        "takedown.html",
        include_str!("../../templates/site/takedown.html"),
    ),
    (
        "result.html",
        include_str!("../../templates/site/result.html"),
    ),
    (
        "verify.html",
        include_str!("../../templates/site/verify.html"),
    ),
    (
        "directory.html",
        include_str!("../../templates/site/directory.html"),
    ),
];

const ASSETS: &[(&str, &str)] = &[
    ("site.css", include_str!("assets/site.css")),
    ("site.js", include_str!("assets/site.js")),
    ("verify.js", include_str!("assets/verify.js")),
    ("verify_draw.py", include_str!("../../tools/verify_draw.py")),
];

/// A recorded time as people read it: Beijing time to the minute ("2024-05-16 21:15").
fn when(at: String) -> String {
    chrono::DateTime::parse_from_rfc3339(&at).map_or(at, |t| {
        t.with_timezone(&chrono_tz::Asia::Shanghai)
            .format("%Y-%m-%d %H:%M")
            .to_string()
    })
}

fn environment() -> Result<minijinja::Environment<'static>, SiteError> {
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.add_filter("when", when);
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .map_err(|e| SiteError::Template(name.to_string(), e.to_string()))?;
    }
    Ok(env)
}

fn page(
    env: &minijinja::Environment<'_>,
    name: &str,
    ctx: minijinja::Value,
) -> Result<Vec<u8>, SiteError> {
    env.get_template(name)
        .and_then(|t| t.render(ctx))
        .map(String::into_bytes)
        .map_err(|e| SiteError::Template(name.to_string(), format!("{e:#}")))
}

/// Writes one table as CSV, XLSX and JSON (an array of objects keyed by the headers).
fn downloads(
    out: &mut Vec<(String, Vec<u8>)>,
    stem: &str,
    sheet: &str,
    (headers, rows): (Vec<&'static str>, Vec<Vec<String>>),
) -> Result<(), SiteError> {
    out.push((format!("{stem}.csv"), crate::sheet::csv(&headers, &rows)));
    let xlsx = crate::sheet::xlsx(sheet, &headers, &rows)
        .map_err(|e| SiteError::Sheet(format!("{stem}.xlsx"), e.to_string()))?;
    out.push((format!("{stem}.xlsx"), xlsx));
    let objects: Vec<serde_json::Map<String, Value>> = rows
        .iter()
        .map(|r| {
            headers
                .iter()
                .zip(r)
                .map(|(h, v)| (h.to_string(), Value::String(v.clone())))
                .collect()
        })
        .collect();
    let json = serde_json::to_vec_pretty(&objects)
        .map_err(|e| SiteError::Sheet(format!("{stem}.json"), e.to_string()))?;
    out.push((format!("{stem}.json"), json));
    Ok(())
}

/// The files of one plan's pages, relative to its public folder.
pub fn render(site: &PlanSite) -> Result<Vec<(String, Vec<u8>)>, SiteError> {
    let env = environment()?;
    let site_value = minijinja::Value::from_serialize(site);
    let mut out = Vec::new();
    for (name, current) in [
        ("index.html", "index"),
        ("items.html", "items"),
        ("plan.html", "plan"),
        ("results.html", "results"),
        ("verify.html", "verify"),
        ("directory.html", "directory"),
    ] {
        let ctx = minijinja::context! { site => site_value.clone(), page => current, root => "" };
        out.push((name.to_string(), page(&env, name, ctx)?));
    }
    for r in &site.results {
        let ctx = minijinja::context! {
            site => site_value.clone(),
            page => "results",
            root => "../",
            r => minijinja::Value::from_serialize(r),
        };
        out.push((r.page.clone(), page(&env, "result.html", ctx)?));
    }
    for t in &site.taken_down {
        let ctx = minijinja::context! {
            site => site_value.clone(),
            page => "results",
            root => "../",
            t => minijinja::Value::from_serialize(t),
        };
        out.push((t.page.clone(), page(&env, "takedown.html", ctx)?));
    }
    downloads(&mut out, "items", "抽查事项清单", item_table(site))?;
    downloads(&mut out, "plan", "抽查计划", plan_table(site))?;
    downloads(&mut out, "selection", "抽取结果", selection_table(site))?;
    downloads(&mut out, "results", "抽查结果", result_table(site))?;
    if site.directories.available {
        downloads(&mut out, "pool", "检查对象名录库", pool_table(site))?;
        downloads(
            &mut out,
            "officers",
            "执法检查人员名录库",
            officer_table(site),
        )?;
    }
    for (name, text) in ASSETS {
        out.push((name.to_string(), text.as_bytes().to_vec()));
    }
    Ok(out)
}

/// A row of the portal's front page.
#[derive(Debug, Clone, Serialize)]
pub struct Listed {
    pub year: i64,
    pub plan_id: String,
    pub title: String,
    pub results: usize,
    pub rehearsal: bool,
}

/// The front page listing every plan, newest year first, with its stylesheet.
pub fn render_home(
    department: &str,
    generated_at: &str,
    plans: &[Listed],
) -> Result<Vec<(String, Vec<u8>)>, SiteError> {
    let env = environment()?;
    let mut plans = plans.to_vec();
    plans.sort_by(|a, b| b.year.cmp(&a.year).then(a.plan_id.cmp(&b.plan_id)));
    let html = page(
        &env,
        "home.html",
        minijinja::context! { department, generated_at, plans, root => "" },
    )?;
    Ok(vec![
        ("index.html".into(), html),
        ("site.css".into(), ASSETS[0].1.as_bytes().to_vec()),
    ])
}

#[cfg(test)]
mod tests;
