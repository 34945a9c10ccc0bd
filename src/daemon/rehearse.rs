//! `serve --until DATE`: the daemon's year on a simulated clock. Every slot of the active plans
//! from the start of their year, and of the department's jobs from their start, up to DATE is
//! visited in time order and whatever is due then runs,
//! through the same runner and the same `job_runs` as the real-time daemon: running it twice
//! changes nothing, and a rehearsal killed at any moment resumes where it stopped.

use chrono::{DateTime, Duration};
use chrono_tz::Tz;

use super::demo::Acted;
use super::runner::{Ran, Runner};
use crate::clock::{Clock, SimClock};
use crate::jobs::{self, Jobs};
use crate::ops::plan::Script;
use crate::plan::Plan;
use crate::store::StoreError;

/// Runs the plans' year up to `until` on a simulated clock, with the department's jobs from
/// their start (an earlier plan's tasks are watched on every night, whatever plans are active
/// now); returns what ran. Whatever is due also runs at each moment of `also_at`. With
/// `people`, the demo's divisions also come to work at 10:00 every day and record what they
/// did (see `demo::people`), which goes into `people`.
pub async fn year(
    runner: &Runner<'_>,
    plans: &[(&Plan, Script<'_>)],
    (until, also_at): (DateTime<Tz>, &[DateTime<Tz>]),
    mut people: Option<&mut Vec<Acted>>,
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
        // Besides the slots, the moments the caller names (the demo's admin entering the
        // digits a draw waits for). A waiting run's every retry is not a step: a draw whose
        // digits never come would make a step of every minute of the year.
        let job = jobs
            .next_any(at)
            .into_iter()
            .chain(also_at.iter().copied().filter(|t| *t > at))
            .min()
            .filter(|t| *t <= until);
        let work = people
            .is_some()
            .then(|| office_hours_after(at))
            .flatten()
            .filter(|t| *t <= until);
        let next = job.into_iter().chain(work).min();
        clock.advance_to(next.unwrap_or(until));
        if let Some(acted) = people.as_deref_mut()
            && next.is_some()
            && next == work
        {
            acted.extend(super::demo::divisions(runner, clock).await?);
        }
        if next.is_none() || next == job {
            ran.extend(runner.reconcile(clock, plans, department.as_ref()).await?);
        }
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

/// The first 10:00 (Asia/Shanghai) after `at`: when the demo's divisions come to work.
fn office_hours_after(at: DateTime<Tz>) -> Option<DateTime<Tz>> {
    let day = at.date_naive();
    [day, day.succ_opt()?]
        .into_iter()
        .filter_map(|d| {
            d.and_hms_opt(10, 0, 0)?
                .and_local_timezone(at.timezone())
                .single()
        })
        .find(|t| *t > at)
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
