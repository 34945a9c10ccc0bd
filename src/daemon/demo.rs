//! The demo, the README's main job: the shipped Henan registry imported, then the plan's year
//! rehearsed by the daemon on a simulated clock (freeze, the digits of the public seed entered
//! when they are announced, the draw, every nightly check and monthly report) with the
//! divisions at work in it (`demo::people`: dates set and moved, inspections, results on time
//! and late, a penalty, a replacement, a task nobody did), then the published history
//! verified from its files alone.

use std::path::{Path, PathBuf};

use chrono::DateTime;
use chrono_tz::Tz;
use serde::Serialize;

use super::DaemonError;
use super::runner::{Ran, Runner};
use crate::clock::{Clock, SimClock};
use crate::demo::people::{self, Act};
use crate::import::Kind;
use crate::ops::import::{ImportReport, Progress, import_file};
use crate::ops::plan::Script;
use crate::ops::{Ctx, OpsError};
use crate::store::{StoreError, TaskFilter};

/// The digits the demo's public seed is announced as (the golden vector's).
pub const DEMO_SEED: &str = "03071218253109";

/// The witness the demo's receipts go to when the configuration names none.
const DEMO_WITNESS: &str = "驻厅纪检监察组（演示） <jijian@example.gov.cn>";

#[derive(Debug, Serialize)]
pub struct Demo {
    pub imports: Vec<ImportReport>,
    pub plan: Option<String>,
    pub timeline: Vec<Ran>,
    /// What the divisions recorded, in order.
    pub people: Vec<Acted>,
    pub draw_digest: Option<String>,
    pub published: Option<PathBuf>,
    pub verified: Option<bool>,
}

fn ops(e: OpsError) -> DaemonError {
    match e {
        OpsError::Invalid(m) | OpsError::NotYet(m) => DaemonError::Invalid(m),
        OpsError::Refused(r) => DaemonError::Invalid(r.en),
        e => DaemonError::Setup(e.to_string()),
    }
}

/// Imports the demo registry from `dir` (stopping at the first file with problems), then,
/// unless `import_only`, rehearses the plan's year up to `until` (by default the first report
/// after its window), with its simulated divisions at work when `people`, and verifies what
/// was published. Running it again changes nothing.
pub async fn run(
    ctx: &Ctx<'_>,
    (dir, plan_file): (&Path, &Path),
    import_only: bool,
    (until, people): (Option<DateTime<Tz>>, bool),
    progress: &dyn Progress,
) -> Result<Demo, DaemonError> {
    // A witness outside the department (the 纪检监察组), unless the configuration names its own:
    // the demo shows the receipts a department that has one sends. A rehearsal store's mail
    // only goes to files, so the address is never written to.
    let mut settings = ctx.settings.clone();
    if settings.notify.witnesses.is_empty() {
        settings.notify.witnesses.push(DEMO_WITNESS.into());
    }
    let ctx = &Ctx {
        settings: &settings,
        ..*ctx
    };
    let mut demo = Demo {
        imports: Vec::new(),
        plan: None,
        timeline: Vec::new(),
        people: Vec::new(),
        draw_digest: None,
        published: None,
        verified: None,
    };
    // The demo is a rehearsal: its store says so from its first record.
    crate::ops::rehearsal::init(ctx, crate::store::Mode::Rehearsal)
        .await
        .map_err(ops)?;
    for kind in Kind::ALL {
        let file = dir.join(format!("{}.csv", kind.name()));
        // The registry files are required; inspections done outside suiji, where there are any.
        if kind == Kind::Inspections && !file.exists() {
            continue;
        }
        let report = import_file(ctx, kind, &file, None, false, progress)
            .await
            .map_err(ops)?;
        let failed = !report.problems.is_empty();
        demo.imports.push(report);
        if failed {
            return Ok(demo);
        }
    }
    if import_only {
        return Ok(demo);
    }
    let script = Script::File(Some(plan_file));
    let (checked, _) = crate::ops::plan::checked(ctx, script).await.map_err(ops)?;
    let plan = &checked.plan;
    let year = i64::from(plan.year);
    demo.plan = Some(plan.id.clone());
    let available = plan
        .seed
        .available_at
        .with_timezone(&chrono_tz::Asia::Shanghai);
    let after_window = plan
        .window
        .end
        .succ_opt()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .and_then(|t| t.and_local_timezone(chrono_tz::Asia::Shanghai).earliest())
        .and_then(|t| crate::rules::next_run(&ctx.settings.daemon.report, t))
        .unwrap_or(available);
    let until = until.unwrap_or(after_window);
    // The digits are entered ten minutes after the draw's time, as an admin busy elsewhere
    // would: the draw waits for them, and the administrators are told so.
    let entered_at = crate::rules::next_run(&plan.schedules.draw, available)
        .map_or(available, |t| t + chrono::Duration::minutes(10))
        .max(available);
    // Up to that moment (or `until`, if sooner): the freeze, and the draw waiting.
    let before = (entered_at - chrono::Duration::seconds(1)).min(until);
    demo.timeline = super::rehearsal(
        ctx.store,
        ctx.settings,
        ctx.actor,
        &[plan_file.to_path_buf()],
        (before, &[]),
        people.then_some(&mut demo.people),
    )
    .await?;
    // The digits, entered as the admin would (if the rehearsal gets that far).
    let frozen = ctx.store.active_manifest(&plan.id, year).await?;
    let entered = match &frozen {
        Some(m) => ctx.store.seed_entry(m.id).await?,
        None => None,
    };
    let due = plan.seed.kind == crate::plan::SeedKind::Manual && until >= entered_at;
    if due && frozen.is_some() && entered.is_none() {
        let clock = SimClock::new(entered_at);
        let at = Ctx {
            clock: &clock,
            ..*ctx
        };
        crate::ops::draw::enter_seed(&at, script, DEMO_SEED)
            .await
            .map_err(ops)?;
    }
    demo.timeline.extend(
        super::rehearsal(
            ctx.store,
            ctx.settings,
            ctx.actor,
            &[plan_file.to_path_buf()],
            // The daemon looks at the waiting draw again `waiting_recheck_secs` later.
            (
                until,
                &[entered_at
                    + chrono::Duration::seconds(
                        i64::try_from(ctx.settings.daemon.waiting_recheck_secs).unwrap_or(60),
                    )],
            ),
            people.then_some(&mut demo.people),
        )
        .await?,
    );
    demo.draw_digest = ctx
        .store
        .official_draw(&plan.id, year)
        .await?
        .map(|d| d.digest);
    let dir = crate::publish::plan_dir(ctx.settings.public_dir(), year, &plan.id);
    demo.verified = Some(crate::publish::verify_dir(&dir).is_ok());
    demo.published = Some(dir);
    Ok(demo)
}

/// One act of the demo's divisions, as the demo reports it.
#[derive(Debug, Clone, Serialize)]
pub struct Acted {
    /// The day it was recorded on, on the rehearsal's clock.
    pub on: chrono::NaiveDate,
    pub task: String,
    pub division: String,
    /// The event's name (`schedule`, `complete`, `publish`, `penalty`, `penalty-published`,
    /// `replace`).
    pub act: &'static str,
    /// Why `ops` refused it, if it did: a flaw of the demo's people, which the demo's test
    /// requires never happens.
    pub refused: Option<String>,
}

/// The demo's divisions at work on `clock`'s day: what `demo::people` says they do, recorded
/// through `ops` in each division's name, as its clerk would with `suiji task`.
pub(super) async fn divisions(
    runner: &Runner<'_>,
    clock: &dyn Clock,
) -> Result<Vec<Acted>, StoreError> {
    let tasks = runner.store.tasks(&TaskFilter::default()).await?;
    if tasks.is_empty() {
        return Ok(Vec::new());
    }
    // Without holiday data nobody can tell working days: the divisions wait, as deadlines do.
    let Ok(cal) = crate::ops::plan::calendar(runner.settings) else {
        return Ok(Vec::new());
    };
    let labels = crate::ops::Labels::of(runner.settings).ok();
    let mut out = Vec::new();
    for deed in people::deeds(&tasks, clock.today(), &cal) {
        let division = labels
            .as_ref()
            .map_or_else(|| deed.division.clone(), |l| l.division(&deed.division));
        let actor = format!("{division}（演示）");
        let ctx = Ctx {
            store: runner.store,
            settings: runner.settings,
            clock,
            actor: &actor,
        };
        let (act, done) = match deed.act {
            Act::Event(e) => (
                e.name(),
                crate::ops::task::record_event(&ctx, &deed.task, e)
                    .await
                    .map(drop),
            ),
            Act::Replace(reason) => (
                "replace",
                crate::ops::task::replace(&ctx, &deed.task, &reason)
                    .await
                    .map(drop),
            ),
        };
        let refused = match done {
            Ok(()) => None,
            Err(OpsError::Store(e)) => return Err(e),
            Err(e) => {
                tracing::warn!(
                    task = deed.task,
                    act,
                    "the demo's division was refused: {e}"
                );
                Some(e.to_string())
            }
        };
        out.push(Acted {
            on: clock.today(),
            task: deed.task,
            division: deed.division,
            act,
            refused,
        });
    }
    Ok(out)
}
