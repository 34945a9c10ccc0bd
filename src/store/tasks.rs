//! Inspection tasks after the draw: reading them, applying lifecycle changes (each one write
//! transaction with its audit row), and the overdue query the nightly check runs.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::Serialize;
use sqlx::Row;

use super::{Store, StoreError, Tx};
use crate::clock::{Clock, stamp, stamp_fixed};
use crate::lifecycle::{Due, Event, Facts, Obligation, Outcome, Status};
use crate::plan::{Deadlines, Window};

#[derive(Debug, Clone, Serialize)]
pub struct TaskRow {
    pub id: String,
    pub draw_id: i64,
    pub plan_id: String,
    pub year: i64,
    pub task_rule: String,
    pub stratum: String,
    pub position: i64,
    pub uscc: String,
    pub entity_name: String,
    pub city: String,
    pub division: String,
    pub cadre: String,
    pub members: Vec<String>,
    pub partners: Vec<String>,
    pub items: Vec<String>,
    pub facts: Facts,
    pub deadlines: BTreeMap<Obligation, NaiveDate>,
    /// Obligations whose deadline waits for a year's holiday data (see `lifecycle::Due`).
    #[serde(rename = "pending_deadlines")]
    pub pending: BTreeSet<Obligation>,
    pub next_due: Option<NaiveDate>,
    pub replaced_by: Option<String>,
    pub replace_reason: Option<String>,
    /// The deadline rules of the task's draw (the plan's, frozen at the draw).
    #[serde(skip)]
    pub rules: Deadlines,
    /// When the task was recorded (its draw's time).
    pub created_at: String,
}

/// Filters for listing tasks; all optional.
#[derive(Debug, Default, Clone)]
pub struct TaskFilter {
    pub status: Option<String>,
    pub division: Option<String>,
    /// Only tasks with a deadline still owed before this day.
    pub due_before: Option<NaiveDate>,
    pub draw_id: Option<i64>,
    /// Only tasks in this municipal unit (a 4-digit unit takes its counties' 6-digit codes).
    pub unit: Option<String>,
    /// Only tasks with a deadline waiting for a year's holiday data.
    pub pending: bool,
    pub page: Option<Page>,
}

/// A slice of a listing: at most `limit` rows after skipping `offset`.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub limit: u32,
    pub offset: u64,
}

/// A filter value on its way to its placeholder.
enum Bound {
    Text(String),
    Int(i64),
}

impl TaskFilter {
    /// The filter's `AND …` conditions, with `$n` placeholders in order, and their values.
    fn condition(&self) -> (String, Vec<Bound>) {
        let mut sql = String::new();
        let mut values = Vec::new();
        // Closed tasks have no next_due (kept so by every write), so the range alone selects
        // open tasks: a status condition here made SQLite pick the status index and scan.
        if let Some(d) = self.due_before {
            values.push(Bound::Text(d.to_string()));
            sql.push_str(&format!(" AND t.next_due < ${}", values.len()));
        }
        if let Some(s) = &self.status {
            values.push(Bound::Text(s.clone()));
            sql.push_str(&format!(" AND t.status = ${}", values.len()));
        }
        if let Some(d) = &self.division {
            values.push(Bound::Text(d.clone()));
            sql.push_str(&format!(" AND t.division = ${}", values.len()));
        }
        if let Some(d) = self.draw_id {
            values.push(Bound::Int(d));
            sql.push_str(&format!(" AND t.draw_id = ${}", values.len()));
        }
        if let Some(u) = &self.unit {
            values.push(Bound::Text(u.clone()));
            let exact = values.len();
            let digits = u.len() == 4 && u.bytes().all(|b| b.is_ascii_digit());
            values.push(Bound::Text(if digits {
                format!("{u}__")
            } else {
                u.clone()
            }));
            sql.push_str(&format!(
                " AND (t.city = ${exact} OR t.city LIKE ${})",
                values.len()
            ));
        }
        if self.pending {
            values.push(Bound::Text("%\"pending\"%".into()));
            sql.push_str(&format!(" AND t.deadlines LIKE ${}", values.len()));
        }
        (sql, values)
    }

    fn bind<'q>(
        mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
        values: Vec<Bound>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
        for v in values {
            q = match v {
                Bound::Text(t) => q.bind(t),
                Bound::Int(i) => q.bind(i),
            };
        }
        q
    }
}

const COLUMNS: &str = "t.id, t.draw_id, t.plan_id, t.year, t.task_rule, t.stratum, t.position, \
     t.uscc, t.entity_name, t.city, t.division, t.cadre, t.members, t.partners, t.items, \
     t.status, t.drawn_on, t.window_start, t.window_end, t.planned_date, t.completed_date, \
     t.outcome, t.published_date, t.published_url, t.penalty_decision_date, \
     t.penalty_published_date, t.referred_date, t.deadlines, t.next_due, t.replaced_by, \
     t.replace_reason, d.deadline_rules, t.scheduled_on, t.archived_on, t.replaced_on, \
     t.voided_on, t.created_at";

const FROM: &str = "FROM tasks t JOIN draws d ON d.id = t.draw_id";

fn corrupt(what: &str, v: &str) -> StoreError {
    StoreError::Corrupt(format!("task {what} `{v}`"))
}

fn date(v: Option<String>) -> Result<Option<NaiveDate>, StoreError> {
    v.map(|s| NaiveDate::parse_from_str(&s, "%Y-%m-%d").map_err(|_| corrupt("date", &s)))
        .transpose()
}

fn req_date(v: String) -> Result<NaiveDate, StoreError> {
    date(Some(v)).and_then(|d| d.ok_or_else(|| corrupt("date", "")))
}

fn json<T: serde::de::DeserializeOwned>(v: &str) -> Result<T, StoreError> {
    serde_json::from_str(v).map_err(|e| StoreError::Corrupt(format!("task JSON `{v}`: {e}")))
}

fn row(r: &sqlx::any::AnyRow) -> Result<TaskRow, StoreError> {
    let status: String = r.try_get(15)?;
    let outcome: Option<String> = r.try_get(21)?;
    let due = parse_deadlines(&r.try_get::<String, _>(27)?)?;
    Ok(TaskRow {
        id: r.try_get(0)?,
        draw_id: r.try_get(1)?,
        plan_id: r.try_get(2)?,
        year: r.try_get(3)?,
        task_rule: r.try_get(4)?,
        stratum: r.try_get(5)?,
        position: r.try_get(6)?,
        uscc: r.try_get(7)?,
        entity_name: r.try_get(8)?,
        city: r.try_get(9)?,
        division: r.try_get(10)?,
        cadre: r.try_get(11)?,
        members: json(&r.try_get::<String, _>(12)?)?,
        partners: json(&r.try_get::<String, _>(13)?)?,
        items: json(&r.try_get::<String, _>(14)?)?,
        facts: Facts {
            status: Status::parse(&status).ok_or_else(|| corrupt("status", &status))?,
            drawn_on: req_date(r.try_get(16)?)?,
            window: Window {
                start: req_date(r.try_get(17)?)?,
                end: req_date(r.try_get(18)?)?,
            },
            planned: date(r.try_get(19)?)?,
            scheduled_on: date(r.try_get(32)?)?,
            archived_on: date(r.try_get(33)?)?,
            replaced_on: date(r.try_get(34)?)?,
            voided_on: date(r.try_get(35)?)?,
            completed: date(r.try_get(20)?)?,
            outcome: match outcome {
                Some(o) => Some(Outcome::parse(&o).ok_or_else(|| corrupt("outcome", &o))?),
                None => None,
            },
            published: date(r.try_get(22)?)?,
            published_url: r.try_get(23)?,
            penalty_decided: date(r.try_get(24)?)?,
            penalty_published: date(r.try_get(25)?)?,
            referred: date(r.try_get(26)?)?,
        },
        deadlines: due.dates,
        pending: due.pending,
        next_due: date(r.try_get(28)?)?,
        replaced_by: r.try_get(29)?,
        replace_reason: r.try_get(30)?,
        rules: json(&r.try_get::<String, _>(31)?)?,
        created_at: r.try_get(36)?,
    })
}

/// The `deadlines` column: each obligation's date, or "pending" while its year has no holiday
/// data (rows written before pending deadlines existed hold dates only, and read the same); and
/// beside it `publish_due`, the publication date alone (NULL while pending or not owed), which
/// today's report compares with `published_date` from an index without parsing JSON. Every
/// write of the one writes the other.
pub(super) fn deadline_columns(d: &Due) -> (String, Option<String>) {
    let mut m: BTreeMap<Obligation, String> =
        d.dates.iter().map(|(o, d)| (*o, d.to_string())).collect();
    for o in &d.pending {
        m.insert(*o, PENDING.to_string());
    }
    let json = serde_json::to_string(&m).unwrap_or_else(|_| "{}".into());
    (
        json,
        d.dates.get(&Obligation::Publish).map(|d| d.to_string()),
    )
}

const PENDING: &str = "pending";

fn parse_deadlines(text: &str) -> Result<Due, StoreError> {
    let m: BTreeMap<Obligation, String> = json(text)?;
    let mut due = Due::default();
    for (o, v) in m {
        if v == PENDING {
            due.pending.insert(o);
        } else {
            due.dates.insert(o, req_date(v)?);
        }
    }
    Ok(due)
}

impl TaskRow {
    /// Its deadlines as `lifecycle` computes them.
    pub fn due(&self) -> Due {
        Due {
            dates: self.deadlines.clone(),
            pending: self.pending.clone(),
        }
    }
}

/// A lifecycle change computed from the current row: the fact to record and the task's new
/// state, deadlines and earliest owed deadline.
pub struct Change {
    pub facts: Facts,
    pub deadlines: Due,
    pub next_due: Option<NaiveDate>,
    pub event: Event,
    /// The day the fact takes effect (`lifecycle::effective`, judged on the facts before it).
    pub effective: NaiveDate,
}

/// What a past day's report needs of a task to fold its facts: where it starts and whose
/// rules it follows (its draw's, see [`Store::draw_deadline_rules`]), nothing else.
#[derive(Debug, Clone)]
pub struct TaskStart {
    pub id: String,
    pub draw_id: i64,
    pub division: String,
    pub drawn_on: NaiveDate,
    pub window: Window,
    pub created_at: String,
}

/// One recorded fact, as `task show` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct FactRecord {
    pub id: i64,
    pub task_id: String,
    /// The day it took effect.
    pub effective: NaiveDate,
    /// When it was recorded (the clock it was recorded on).
    pub recorded_at: String,
    pub actor: String,
    pub event: Event,
}

fn fact_row(r: &sqlx::any::AnyRow) -> Result<FactRecord, StoreError> {
    Ok(FactRecord {
        id: r.try_get(0)?,
        task_id: r.try_get(1)?,
        effective: req_date(r.try_get(2)?)?,
        recorded_at: r.try_get(3)?,
        actor: r.try_get(4)?,
        event: json(&r.try_get::<String, _>(5)?)?,
    })
}

async fn task_in<'e>(
    ex: impl sqlx::Executor<'e, Database = sqlx::Any>,
    id: &str,
) -> Result<Option<TaskRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} {FROM} WHERE t.id = $1");
    super::fetch_record(ex, sql, vec![super::Val::Text(id.into())], row).await
}

/// A task that must exist (for changing it).
async fn existing_task<'e>(
    ex: impl sqlx::Executor<'e, Database = sqlx::Any>,
    id: &str,
) -> Result<TaskRow, StoreError> {
    task_in(ex, id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("no task `{id}`")))
}

/// When a fact is recorded: now, which may be an earlier `--today` (facts are entered after the
/// event), but never a moment a monthly report has already been issued past. A month's report
/// reads the facts recorded by its end, so a fact slipped in behind it would change a report
/// already sent; entered at the real time it shows in `report --revised` instead.
async fn record_time(tx: &mut Tx, clock: &dyn Clock) -> Result<String, StoreError> {
    let now = stamp(clock.now());
    let issued: Option<String> =
        sqlx::query("SELECT max(slot) FROM job_runs WHERE job = 'report' AND status = 'done'")
            .fetch_one(&mut **tx)
            .await?
            .try_get(0)?;
    if let Some(slot) = issued {
        let at = chrono::DateTime::parse_from_rfc3339(&slot)
            .map_err(|_| StoreError::Corrupt(format!("job slot `{slot}`")))?;
        if now < stamp_fixed(at) {
            return Err(StoreError::Refused(format!(
                "the monthly report was issued at {} and reads the facts recorded before it: a \
                 fact cannot be recorded as of {now}. Enter it without --today (it counts from \
                 its own date and shows in `report --revised`)",
                stamp_fixed(at)
            )));
        }
    }
    Ok(now)
}

/// Records a fact and writes the task's new state, deadlines and next due date.
pub(super) async fn write_change(
    tx: &mut Tx,
    id: &str,
    c: &Change,
    clock: &dyn Clock,
    actor: &str,
) -> Result<(), StoreError> {
    let f = &c.facts;
    let s = |d: Option<NaiveDate>| d.map(|d| d.to_string());
    let (deadlines, publish_due) = deadline_columns(&c.deadlines);
    let event = serde_json::to_string(&c.event).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let recorded = record_time(tx, clock).await?;
    sqlx::query(
        "INSERT INTO task_facts (task_id, kind, effective, recorded_at, actor, event) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(c.event.name())
    .bind(c.effective.to_string())
    .bind(recorded)
    .bind(actor)
    .bind(event)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "UPDATE tasks SET status = $1, planned_date = $2, completed_date = $3, outcome = $4, \
         published_date = $5, published_url = $6, penalty_decision_date = $7, \
         penalty_published_date = $8, referred_date = $9, deadlines = $10, next_due = $11, \
         scheduled_on = $12, archived_on = $13, replaced_on = $14, voided_on = $15, \
         publish_due = $16 WHERE id = $17",
    )
    .bind(f.status.code())
    .bind(s(f.planned))
    .bind(s(f.completed))
    .bind(f.outcome.map(|o| o.code().to_string()))
    .bind(s(f.published))
    .bind(f.published_url.clone())
    .bind(s(f.penalty_decided))
    .bind(s(f.penalty_published))
    .bind(s(f.referred))
    .bind(deadlines)
    .bind(s(c.next_due))
    .bind(s(f.scheduled_on))
    .bind(s(f.archived_on))
    .bind(s(f.replaced_on))
    .bind(s(f.voided_on))
    .bind(publish_due)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Every task of a draw, in draw order (inside a write transaction).
pub(super) async fn tasks_of_draw(tx: &mut Tx, draw_id: i64) -> Result<Vec<TaskRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} {FROM} WHERE t.draw_id = $1 ORDER BY t.position");
    super::fetch_records(&mut **tx, sql, vec![super::Val::Int(draw_id)], row).await
}

/// One task's part of a batch: the facts it was validated against, and the changes to record
/// in order (one per event of the row).
pub struct BatchChange {
    pub id: String,
    pub expected: Facts,
    pub changes: Vec<Change>,
    pub detail: serde_json::Value,
}

impl Store {
    /// Applies a validated batch (e.g. outcomes a division sends back) in one transaction with
    /// the notices it causes (a 函告 for a date planned inside its notice period): all or
    /// nothing. A task that changed since it was validated refuses the whole batch.
    pub async fn update_tasks(
        &self,
        batch: &[BatchChange],
        notices: &[crate::notify::Notice],
        clock: &dyn Clock,
        actor: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        for b in batch {
            let current = existing_task(&mut *tx, &b.id).await?;
            if current.facts != b.expected {
                return Err(StoreError::Refused(format!(
                    "task {} changed while the batch was being checked; nothing was written",
                    b.id
                )));
            }
            for c in &b.changes {
                write_change(&mut tx, &b.id, c, clock, actor).await?;
            }
            Store::audit(&mut tx, clock, actor, "task.import", &b.id, &b.detail).await?;
        }
        let now = stamp(clock.now());
        super::outbox::insert_notices(&mut tx, notices, &now, &now).await?;
        self.commit(tx).await?;
        Ok(())
    }

    pub async fn task(&self, id: &str) -> Result<Option<TaskRow>, StoreError> {
        task_in(&self.pool, id).await
    }

    /// A task's recorded facts, in the order they were recorded.
    pub async fn facts(&self, task_id: &str) -> Result<Vec<FactRecord>, StoreError> {
        super::fetch_records(
            &self.pool,
            "SELECT id, task_id, effective, recorded_at, actor, event FROM task_facts \
             WHERE task_id = $1 ORDER BY id"
                .into(),
            vec![super::Val::Text(task_id.into())],
            fact_row,
        )
        .await
    }

    /// Every fact recorded up to `recorded_by` (a `clock::stamp`), in task and recording
    /// order: what the system knew at that moment; with `tasks`, only for task ids in that
    /// inclusive range.
    pub async fn facts_known_by(
        &self,
        recorded_by: &str,
        tasks: Option<(&str, &str)>,
    ) -> Result<Vec<FactRecord>, StoreError> {
        use super::Packed::{Json, Plain};
        let mut rest = String::from("FROM task_facts WHERE recorded_at <= $1");
        let mut values = vec![super::Val::Text(recorded_by.into())];
        if let Some((first, last)) = tasks {
            rest.push_str(" AND task_id >= $2 AND task_id <= $3");
            values.push(super::Val::Text(first.into()));
            values.push(super::Val::Text(last.into()));
        }
        let rows: Vec<(i64, String, NaiveDate, String, String, Event)> = super::fetch_packed(
            self,
            &[
                Plain("id"),
                Plain("task_id"),
                Plain("effective"),
                Plain("recorded_at"),
                Plain("actor"),
                Json("event"),
            ],
            &rest,
            values,
        )
        .await?;
        let mut facts: Vec<FactRecord> = rows
            .into_iter()
            .map(
                |(id, task_id, effective, recorded_at, actor, event)| FactRecord {
                    id,
                    task_id,
                    effective,
                    recorded_at,
                    actor,
                    event,
                },
            )
            .collect();
        facts.sort_unstable_by(|a, b| (&a.task_id, a.id).cmp(&(&b.task_id, b.id)));
        Ok(facts)
    }

    /// Up to `limit` tasks' starts in id order, after `after`: keyset pages for walking every
    /// task with six columns read instead of the row's thirty-seven.
    pub async fn task_starts(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<TaskStart>, StoreError> {
        use super::Packed::Plain;
        let rows: Vec<(String, i64, String, NaiveDate, NaiveDate, NaiveDate, String)> =
            super::fetch_packed(
                self,
                &[
                    Plain("id"),
                    Plain("draw_id"),
                    Plain("division"),
                    Plain("drawn_on"),
                    Plain("window_start"),
                    Plain("window_end"),
                    Plain("created_at"),
                ],
                &format!("FROM tasks WHERE id > $1 ORDER BY id LIMIT {limit}"),
                vec![super::Val::Text(after.unwrap_or("").into())],
            )
            .await?;
        let mut starts: Vec<TaskStart> = rows
            .into_iter()
            .map(
                |(id, draw_id, division, drawn_on, start, end, created_at)| TaskStart {
                    id,
                    draw_id,
                    division,
                    drawn_on,
                    window: Window { start, end },
                    created_at,
                },
            )
            .collect();
        // The aggregate's order is the database's to choose; the page's is by id.
        starts.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        Ok(starts)
    }

    /// Each draw's deadline rules (the plan's, frozen at the draw), by draw id.
    pub async fn draw_deadline_rules(&self) -> Result<BTreeMap<i64, Deadlines>, StoreError> {
        let rows = super::fetch_records(
            &self.pool,
            "SELECT id, deadline_rules FROM draws".into(),
            vec![],
            |r| Ok((r.try_get::<i64, _>(0)?, r.try_get::<String, _>(1)?)),
        )
        .await?;
        rows.iter()
            .map(|(id, rules)| Ok((*id, json(rules)?)))
            .collect()
    }

    /// Tasks in draw order. With `due_before`, only open tasks whose earliest owed deadline is
    /// before that day: a range scan of the `next_due` index, whatever the number of tasks.
    /// With `page`, only that slice of the order.
    pub async fn tasks(&self, filter: &TaskFilter) -> Result<Vec<TaskRow>, StoreError> {
        let (mut sql, values) = filter.condition();
        sql.insert_str(0, &format!("SELECT {COLUMNS} {FROM} WHERE 1 = 1"));
        sql.push_str(if filter.due_before.is_some() {
            " ORDER BY t.next_due, t.id"
        } else {
            " ORDER BY t.draw_id, t.position"
        });
        if let Some(page) = filter.page {
            sql.push_str(&format!(" LIMIT {} OFFSET {}", page.limit, page.offset));
        }
        TaskFilter::bind(sqlx::query(sqlx::AssertSqlSafe(sql)), values)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(row)
            .collect()
    }

    /// How many tasks `filter` selects, pages aside; with `up_to`, counting stops past that
    /// many (a million-task count on every page view would cost more than the page).
    pub async fn task_count(
        &self,
        filter: &TaskFilter,
        up_to: Option<u64>,
    ) -> Result<i64, StoreError> {
        let (mut sql, values) = filter.condition();
        sql.insert_str(0, "SELECT 1 FROM tasks t WHERE 1 = 1");
        if let Some(n) = up_to {
            sql.push_str(&format!(" LIMIT {}", n.saturating_add(1)));
        }
        sql.insert_str(0, "SELECT count(*) FROM (");
        sql.push_str(") AS counted");
        Ok(
            TaskFilter::bind(sqlx::query(sqlx::AssertSqlSafe(sql)), values)
                .fetch_one(&self.pool)
                .await?
                .try_get(0)?,
        )
    }

    /// Applies a lifecycle change: reads the task under the writer lock, lets `change` decide,
    /// records the fact, writes the new state, the audit row (`detail`) and the notices the
    /// change calls for, all in one transaction.
    pub async fn update_task<F>(
        &self,
        id: &str,
        clock: &dyn Clock,
        actor: &str,
        hold: &super::outbox::Hold,
        change: F,
    ) -> Result<TaskRow, StoreError>
    where
        F: FnOnce(
            &TaskRow,
        )
            -> Result<(Change, serde_json::Value, Vec<crate::notify::Notice>), String>,
    {
        let mut tx = self.begin_write().await?;
        let current = existing_task(&mut *tx, id).await?;
        let (c, detail, notices) = change(&current).map_err(StoreError::Refused)?;
        write_change(&mut tx, id, &c, clock, actor).await?;
        let now = stamp(clock.now());
        for held in &hold.withdraw {
            super::outbox::withdraw(&mut tx, *held, &now).await?;
        }
        let until = stamp(clock.now() + hold.hold);
        super::outbox::insert_notices(&mut tx, &notices, &now, &until).await?;
        Store::audit(
            &mut tx,
            clock,
            actor,
            &format!("task.{}", c.event.name()),
            id,
            &detail,
        )
        .await?;
        self.commit(tx).await?;
        Ok(TaskRow {
            facts: c.facts,
            deadlines: c.deadlines.dates,
            pending: c.deadlines.pending,
            next_due: c.next_due,
            ..current
        })
    }

    /// The progress report's counts per division as the tasks stand now, aggregated by the
    /// database: the same numbers `lifecycle::report` folds from the facts when the day is
    /// today and every fact is known (a task's row is the fold of its facts), without reading
    /// a single task into memory. A publication deadline still pending counts neither way.
    pub async fn division_counts(
        &self,
        day: NaiveDate,
    ) -> Result<Vec<crate::lifecycle::DivisionReport>, StoreError> {
        // Read from the covering index `tasks_report` alone (migration 0007), in its order:
        // counting values and filtered rows per (division, status) is a fraction of the work of
        // a CASE per count per row. A NULL `publish_due` (pending, or not owed) compares
        // neither way.
        let rows = sqlx::query(
            "SELECT division, status, COUNT(*), COUNT(planned_date), COUNT(completed_date), \
             COUNT(*) FILTER (WHERE published_date <= publish_due), \
             COUNT(*) FILTER (WHERE published_date > publish_due), \
             COUNT(penalty_decision_date), COUNT(referred_date), \
             COUNT(*) FILTER (WHERE next_due < $1) \
             FROM tasks WHERE drawn_on <= $1 AND status <> 'voided' \
             GROUP BY division, status",
        )
        .bind(day.to_string())
        .fetch_all(&self.pool)
        .await?;
        let mut out: BTreeMap<String, crate::lifecycle::DivisionReport> = BTreeMap::new();
        for r in &rows {
            let n = |i: usize| -> Result<u32, StoreError> {
                let v: i64 = r.try_get(i)?;
                u32::try_from(v).map_err(|_| StoreError::Corrupt(format!("count {v}")))
            };
            let division: String = r.try_get(0)?;
            let status: String = r.try_get(1)?;
            let d =
                out.entry(division.clone())
                    .or_insert_with(|| crate::lifecycle::DivisionReport {
                        division,
                        ..Default::default()
                    });
            if status == Status::Replaced.code() {
                d.replaced += n(2)?;
                continue;
            }
            d.drawn += n(2)?;
            d.scheduled += n(3)?;
            d.completed += n(4)?;
            d.published_on_time += n(5)?;
            d.published_late += n(6)?;
            d.penalties += n(7)?;
            d.referrals += n(8)?;
            d.overdue += n(9)?;
        }
        Ok(out.into_values().collect())
    }

    /// Writes deadlines computed anew for a task (derived from its facts, not a fact: holiday
    /// data for a pending year was added), with an audit row. Only a row whose deadlines are
    /// still those it was computed from is written.
    pub async fn refresh_deadlines(
        &self,
        id: &str,
        before: &Due,
        after: &Due,
        next_due: Option<NaiveDate>,
        clock: &dyn Clock,
        actor: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let current = existing_task(&mut *tx, id).await?;
        if current.due() != *before {
            return Ok(false);
        }
        let s = |d: Option<NaiveDate>| d.map(|d| d.to_string());
        let (deadlines, publish_due) = deadline_columns(after);
        sqlx::query(
            "UPDATE tasks SET deadlines = $1, next_due = $2, publish_due = $3 WHERE id = $4",
        )
        .bind(deadlines)
        .bind(s(next_due))
        .bind(publish_due)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let detail = serde_json::json!({ "before": before, "after": after });
        Store::audit(&mut tx, clock, actor, "task.deadlines", id, &detail).await?;
        self.commit(tx).await?;
        Ok(true)
    }

    /// Replaces a task whose entity turned out closed or unreachable by a new task for the next
    /// alternate, in one transaction with its audit row. `new` is computed from the draw's tasks
    /// as they were read; `expected_tasks` is how many the draw had then, so a replacement made
    /// meanwhile by another process refuses this one instead of doubling an officer's load.
    pub async fn replace_task(
        &self,
        old_id: &str,
        new: &super::NewTask,
        reason: &str,
        expected_tasks: usize,
        clock: &dyn Clock,
        actor: &str,
    ) -> Result<TaskRow, StoreError> {
        let mut tx = self.begin_write().await?;
        let old = existing_task(&mut *tx, old_id).await?;
        if !matches!(old.facts.status, Status::Drawn | Status::Scheduled) {
            return Err(StoreError::Refused(format!(
                "task {old_id} is {}: only a task not yet inspected can be replaced",
                old.facts.status.code()
            )));
        }
        let siblings = tasks_of_draw(&mut tx, old.draw_id).await?;
        if siblings.len() != expected_tasks {
            return Err(StoreError::Refused(
                "the draw's tasks changed while the replacement was being formed (another \
                 replacement?); nothing was written: run it again"
                    .into(),
            ));
        }
        let event = Event::Replace {
            by: new.id.clone(),
            reason: reason.to_string(),
        };
        let change = Change {
            facts: crate::lifecycle::effect(&old.facts, &event, clock.today()),
            deadlines: old.due(),
            next_due: None,
            effective: clock.today(),
            event,
        };
        write_change(&mut tx, old_id, &change, clock, actor).await?;
        sqlx::query("UPDATE tasks SET replaced_by = $1, replace_reason = $2 WHERE id = $3")
            .bind(&new.id)
            .bind(reason)
            .bind(old_id)
            .execute(&mut *tx)
            .await?;
        let at = stamp(clock.now());
        let last = siblings.iter().map(|t| t.position).max().unwrap_or(0);
        super::draws::insert_tasks(
            &mut tx,
            self.backend,
            old.draw_id,
            (&old.plan_id, old.year),
            std::slice::from_ref(new),
            old.facts.window,
            (&at, actor),
            last + 1,
        )
        .await?;
        let detail = serde_json::json!({
            "replaced": old_id, "replaced_entity": old.uscc, "by": new.id,
            "entity": new.uscc, "team": new.members, "partners": new.partners, "reason": reason,
        });
        Store::audit(&mut tx, clock, actor, "task.replace", old_id, &detail).await?;
        self.commit(tx).await?;
        Ok(old)
    }

    /// What past tasks say for the frequency and recusal rules: each entity's latest inspection
    /// date, and each year's (officer, entity) pairs. Only an inspection that took place counts
    /// (a completion is recorded), whatever became of its draw afterwards: a task planned but
    /// never inspected, or replaced before it was, does not protect its entity from next year's
    /// draw, and its officers never met the entity.
    #[allow(clippy::type_complexity)]
    pub(super) async fn inspection_history<'e>(
        ex: impl sqlx::Executor<'e, Database = sqlx::Any>,
    ) -> Result<
        (
            std::collections::HashMap<String, NaiveDate>,
            std::collections::HashMap<i64, std::collections::HashSet<(String, String)>>,
            std::collections::HashMap<i32, std::collections::HashMap<String, u32>>,
        ),
        StoreError,
    > {
        let rows = sqlx::query(
            "SELECT uscc, year, members, partners, completed_date FROM tasks \
             WHERE completed_date IS NOT NULL",
        )
        .fetch_all(ex)
        .await?;
        let mut last = std::collections::HashMap::new();
        let mut counts: std::collections::HashMap<i32, std::collections::HashMap<String, u32>> =
            std::collections::HashMap::new();
        let mut pairs: std::collections::HashMap<i64, std::collections::HashSet<(String, String)>> =
            std::collections::HashMap::new();
        for r in rows {
            let uscc: String = r.try_get(0)?;
            let year: i64 = r.try_get(1)?;
            let members: Vec<String> = json(&r.try_get::<String, _>(2)?)?;
            let partners: Vec<String> = json(&r.try_get::<String, _>(3)?)?;
            let inspected = date(r.try_get(4)?)?;
            if let Some(d) = inspected {
                crate::registry::count_inspection(&mut counts, uscc.clone(), d);
                let e = last.entry(uscc.clone()).or_insert(d);
                if d > *e {
                    *e = d;
                }
            }
            let set = pairs.entry(year).or_default();
            for o in members.into_iter().chain(partners) {
                set.insert((o, uscc.clone()));
            }
        }
        Ok((last, pairs, counts))
    }

    /// (plan, USCC) of the tasks of every official draw that stands, by year.
    pub(super) async fn drawn_by_year<'e>(
        ex: impl sqlx::Executor<'e, Database = sqlx::Any>,
    ) -> Result<std::collections::HashMap<i64, Vec<(String, String)>>, StoreError> {
        let rows = sqlx::query(
            "SELECT t.year, t.plan_id, t.uscc FROM tasks t JOIN draws d ON d.id = t.draw_id \
             WHERE d.status = 'official' ORDER BY t.year, t.plan_id, t.uscc",
        )
        .fetch_all(ex)
        .await?;
        let mut out: std::collections::HashMap<i64, Vec<(String, String)>> =
            std::collections::HashMap::new();
        for r in rows {
            out.entry(r.try_get(0)?)
                .or_default()
                .push((r.try_get(1)?, r.try_get(2)?));
        }
        Ok(out)
    }
}
