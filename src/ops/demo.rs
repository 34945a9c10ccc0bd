//! The demo: the shipped Henan registry imported, then the plan's freeze and official draw
//! made at the times its schedules name (on a simulated clock, so a past year can be shown;
//! its manifest says it was simulated), then verified from the published files.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::import::{ImportReport, Progress, import_file};
use super::{Ctx, OpsError, Result};
use crate::clock::SimClock;
use crate::import::Kind;

/// The manual seed the demo draws with: the digits of the 2024 demo's golden vector.
pub const DEMO_SEED: &str = "03071218253109";

#[derive(Debug, Serialize)]
pub struct Demo {
    pub imports: Vec<ImportReport>,
    pub plan: Option<String>,
    pub draw_digest: Option<String>,
    pub drawn_now: bool,
    pub published: Option<PathBuf>,
    pub verified: Option<bool>,
}

/// Imports the demo registry from `dir` (stopping at the first file with problems), then,
/// unless `import_only`, freezes and draws the plan once and verifies what was published.
pub async fn run(
    ctx: &Ctx<'_>,
    dir: &Path,
    plan_file: Option<&Path>,
    import_only: bool,
    progress: &dyn Progress,
) -> Result<Demo> {
    let mut demo = Demo {
        imports: Vec::new(),
        plan: None,
        draw_digest: None,
        drawn_now: false,
        published: None,
        verified: None,
    };
    for kind in Kind::ALL {
        let file = dir.join(format!("{}.csv", kind.name()));
        let report = import_file(ctx, kind, &file, None, false, progress).await?;
        let failed = !report.problems.is_empty();
        demo.imports.push(report);
        if failed {
            return Ok(demo);
        }
    }
    if import_only {
        return Ok(demo);
    }
    let (checked, _) = super::plan::checked(ctx, plan_file).await?;
    let plan = &checked.plan;
    let year = i64::from(plan.year);
    demo.plan = Some(plan.id.clone());
    if ctx.store.official_draw(&plan.id, year).await?.is_none() {
        // Freeze when the freeze schedule first fires in the plan's year (before the seed is
        // public), draw when the draw schedule first fires once it is.
        let available = plan
            .seed
            .available_at
            .with_timezone(&chrono_tz::Asia::Shanghai);
        let start = chrono::NaiveDate::from_ymd_opt(chrono::Datelike::year(&available), 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .and_then(|t| t.and_local_timezone(chrono_tz::Asia::Shanghai).earliest())
            .ok_or_else(|| OpsError::Internal("plan year".into()))?;
        let freeze_at = crate::rules::next_run(&plan.schedules.freeze, start)
            .filter(|t| *t < available)
            .unwrap_or(available - chrono::Duration::hours(1));
        let draw_at = crate::rules::next_run(
            &plan.schedules.draw,
            available - chrono::Duration::seconds(1),
        )
        .unwrap_or(available);
        let clock = SimClock::new(freeze_at);
        let sim = Ctx {
            clock: &clock,
            ..*ctx
        };
        if ctx.store.active_manifest(&plan.id, year).await?.is_none() {
            super::draw::freeze(&sim, plan_file, None).await?;
        }
        clock.advance_to(draw_at);
        let input = super::draw::SeedInput {
            value: Some(DEMO_SEED.to_string()),
            beacon_signature: None,
        };
        super::draw::draw_official(&sim, plan_file, input).await?;
        demo.drawn_now = true;
    }
    demo.draw_digest = ctx
        .store
        .official_draw(&plan.id, year)
        .await?
        .map(|d| d.digest);
    super::draw::publish_plan(ctx, &plan.id, year).await?;
    let dir = crate::publish::plan_dir(ctx.settings.public_dir(), year, &plan.id);
    demo.verified = Some(crate::publish::verify_dir(&dir).is_ok());
    demo.published = Some(dir);
    Ok(demo)
}
