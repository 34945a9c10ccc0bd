//! `serve --until DATE`: the daemon's year on a simulated clock. Every slot of the active plan
//! from the start of its year up to DATE is visited in time order and whatever is due then runs,
//! through the same runner and the same `job_runs` as the real-time daemon: running it twice
//! changes nothing, and a rehearsal killed at any moment resumes where it stopped.

use chrono::{DateTime, Duration};
use chrono_tz::Tz;

use super::runner::{Ran, Runner};
use crate::clock::{Clock, SimClock};
use crate::jobs;
use crate::ops::plan::Script;
use crate::plan::Plan;
use crate::store::StoreError;

/// Runs the plan's year up to `until` on `clock` (which must start before it); returns what ran.
pub async fn year(
    runner: &Runner<'_>,
    clock: &SimClock,
    plan: &Plan,
    script: Script<'_>,
    until: DateTime<Tz>,
) -> Result<Vec<Ran>, StoreError> {
    let Some(start) = jobs::plan_start(plan) else {
        return Ok(Vec::new());
    };
    let mut times: Vec<DateTime<Tz>> = jobs::slots(plan, start - Duration::seconds(1), until)
        .into_iter()
        .map(|s| s.at)
        .collect();
    times.dedup();
    let mut ran = Vec::new();
    for t in times {
        clock.advance_to(t);
        ran.extend(runner.reconcile(clock, plan, script).await?);
        runner.deliver(clock, plan).await?;
    }
    clock.advance_to(until);
    ran.extend(runner.reconcile(clock, plan, script).await?);
    runner.deliver(clock, plan).await?;
    Ok(ran)
}

/// Where a rehearsal starts: the beginning of the plan's schedule.
pub fn start(plan: &Plan) -> Option<DateTime<Tz>> {
    jobs::plan_start(plan)
}

/// A clock for a rehearsal, standing at the start of the plan's schedule.
pub fn clock(plan: &Plan) -> Option<SimClock> {
    start(plan).map(SimClock::new)
}

/// Whether `until` can be rehearsed: a rehearsal replays the past.
pub fn check_until(until: DateTime<Tz>, real: &dyn Clock) -> Result<(), String> {
    if until > real.wall() {
        return Err(format!(
            "--until {} is in the future: a rehearsal replays what the daemon would have done \
             up to now; the daemon itself (`suiji serve`) runs what is still to come",
            until.to_rfc3339()
        ));
    }
    Ok(())
}
