//! `serve --until DATE`: the daemon's year on a simulated clock. Every slot of the active plans
//! from the start of their year, and of the department's jobs from their start, up to DATE is
//! visited in time order and whatever is due then runs,
//! through the same runner and the same `job_runs` as the real-time daemon: running it twice
//! changes nothing, and a rehearsal killed at any moment resumes where it stopped.

use chrono::{DateTime, Duration};
use chrono_tz::Tz;

use super::runner::{Ran, Runner};
use crate::clock::{Clock, SimClock};
use crate::jobs::{self, Jobs};
use crate::ops::plan::Script;
use crate::plan::Plan;
use crate::store::StoreError;

/// Runs the plans' year up to `until` on a simulated clock, with the department's jobs from
/// their start (an earlier plan's tasks are watched on every night, whatever plans are active
/// now); returns what ran.
pub async fn year(
    runner: &Runner<'_>,
    plans: &[(&Plan, Script<'_>)],
    until: DateTime<Tz>,
) -> Result<Vec<Ran>, StoreError> {
    // The department's jobs start when something is first recorded (the draw, on this very
    // clock): they are looked up again at every step.
    let department = crate::ops::jobs::department(runner.store, runner.settings).await?;
    let Some(start) = plans
        .iter()
        .filter_map(|(p, _)| jobs::plan_start(p))
        .chain(department.as_ref().map(|d| d.start))
        .min()
    else {
        return Ok(Vec::new());
    };
    let clock = &SimClock::new(start);
    let mut ran = Vec::new();
    let mut at = start - Duration::seconds(1);
    loop {
        let department = crate::ops::jobs::department(runner.store, runner.settings).await?;
        let jobs = Jobs::new(plans.iter().map(|(p, _)| *p).collect(), department.as_ref());
        let next = jobs.next_any(at).filter(|t| *t <= until);
        clock.advance_to(next.unwrap_or(until));
        ran.extend(runner.reconcile(clock, plans, department.as_ref()).await?);
        runner.deliver(clock).await?;
        match next {
            Some(t) => at = t,
            None => {
                // The pages as of the last day rehearsed: what is overdue then says so.
                runner.publish(clock, None).await?;
                return Ok(ran);
            }
        }
    }
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
