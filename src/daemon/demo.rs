//! The demo, the README's main job: the shipped Henan registry imported, then the plan's year
//! rehearsed by the daemon on a simulated clock (freeze, the digits of the public seed entered
//! when they are announced, the draw, every nightly check and monthly report), then the
//! published history verified from its files alone.

use std::path::{Path, PathBuf};

use chrono::DateTime;
use chrono_tz::Tz;
use serde::Serialize;

use super::DaemonError;
use super::runner::Ran;
use crate::clock::SimClock;
use crate::import::Kind;
use crate::ops::import::{ImportReport, Progress, import_file};
use crate::ops::plan::Script;
use crate::ops::{Ctx, OpsError};

/// The digits the demo's public seed is announced as (the golden vector's).
pub const DEMO_SEED: &str = "03071218253109";

#[derive(Debug, Serialize)]
pub struct Demo {
    pub imports: Vec<ImportReport>,
    pub plan: Option<String>,
    pub timeline: Vec<Ran>,
    pub draw_digest: Option<String>,
    pub published: Option<PathBuf>,
    pub verified: Option<bool>,
}

fn ops(e: OpsError) -> DaemonError {
    match e {
        OpsError::Invalid(m) | OpsError::NotYet(m) => DaemonError::Invalid(m),
        e => DaemonError::Setup(e.to_string()),
    }
}

/// Imports the demo registry from `dir` (stopping at the first file with problems), then,
/// unless `import_only`, rehearses the plan's year up to `until` (by default the first report
/// after its window) and verifies what was published. Running it again changes nothing.
pub async fn run(
    ctx: &Ctx<'_>,
    dir: &Path,
    plan_file: &Path,
    import_only: bool,
    until: Option<DateTime<Tz>>,
    progress: &dyn Progress,
) -> Result<Demo, DaemonError> {
    let mut demo = Demo {
        imports: Vec::new(),
        plan: None,
        timeline: Vec::new(),
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
    // Up to the moment the lottery is drawn: the freeze.
    let before = available - chrono::Duration::seconds(1);
    demo.timeline = super::rehearsal(
        ctx.store,
        ctx.settings,
        ctx.actor,
        &[plan_file.to_path_buf()],
        before,
    )
    .await?;
    // The digits, entered as the admin would once they are announced.
    let frozen = ctx.store.active_manifest(&plan.id, year).await?;
    let entered = match &frozen {
        Some(m) => ctx.store.seed_entry(m.id).await?,
        None => None,
    };
    if plan.seed.kind == crate::plan::SeedKind::Manual && frozen.is_some() && entered.is_none() {
        let clock = SimClock::new(available);
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
            until,
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
