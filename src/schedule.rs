//! Proposed inspection dates, when the plan asks the draw to propose them (`deadlines:
//! #{ propose_dates: true }`): working days inside the window and within `schedule_within`
//! of the draw, late enough for the 函告 to go out in time, each division's inspections spread
//! evenly over those days, and no officer in two inspections on one day. Pure and
//! deterministic: the same draw gives the same proposal.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;

use crate::calendar::{Calendar, CalendarError};
use crate::plan::{Deadlines, Window};

/// One task to place: its division and every officer on its team.
pub struct ToPlace<'a> {
    pub division: &'a str,
    pub officers: Vec<&'a str>,
}

/// The days a proposal may use: working days from the first one that leaves time for the 函告
/// (sent by the nightly check after the draw, `advance_notice` working days ahead) and is
/// inside the window, up to `schedule_within` working days after the draw (and inside the
/// window). Days of a year without holiday data are left out, never an error: the draw that
/// asks (its seed already public) must not fail for what `rules check` warned of; tasks
/// without a proposed day are scheduled by hand, their deadlines pending until the data comes.
pub fn days(
    drawn_on: NaiveDate,
    window: Window,
    rules: &Deadlines,
    cal: &Calendar,
) -> Result<Vec<NaiveDate>, CalendarError> {
    let known = |r: Result<NaiveDate, CalendarError>| match r {
        Ok(d) => Ok(Some(d)),
        Err(CalendarError::NoData { .. }) => Ok(None),
        Err(e) => Err(e),
    };
    let Some(notice) = known(cal.add_working_days(drawn_on, i64::from(rules.advance_notice) + 1))?
    else {
        return Ok(Vec::new());
    };
    let first = notice.max(window.start);
    let last = known(cal.add_working_days(drawn_on, i64::from(rules.schedule_within)))?
        .unwrap_or(window.end)
        .min(window.end);
    let mut out = Vec::new();
    let mut d = first;
    while d <= last {
        match cal.is_working_day(d) {
            Ok(true) => out.push(d),
            Ok(false) => {}
            Err(CalendarError::NoData { .. }) => break,
            Err(e) => return Err(e),
        }
        match d.succ_opt() {
            Some(n) => d = n,
            None => break,
        }
    }
    Ok(out)
}

/// A date for each task (in the order given), or `None` where no day keeps every officer to
/// one inspection a day. Division by division, the k-th of n tasks aims at the day k/n of the
/// way through, and takes the nearest free day to it (later first).
pub fn propose(tasks: &[ToPlace<'_>], days: &[NaiveDate]) -> Vec<Option<NaiveDate>> {
    let mut out = vec![None; tasks.len()];
    if days.is_empty() {
        return out;
    }
    let mut by_division: Vec<(&str, Vec<usize>)> = Vec::new();
    for (i, t) in tasks.iter().enumerate() {
        match by_division.iter_mut().find(|(d, _)| *d == t.division) {
            Some((_, v)) => v.push(i),
            None => by_division.push((t.division, vec![i])),
        }
    }
    let mut busy: HashMap<NaiveDate, HashSet<&str>> = HashMap::new();
    let n_days = days.len();
    for (_, members) in &by_division {
        let n = members.len();
        for (k, &i) in members.iter().enumerate() {
            let ideal = ((2 * k + 1) * n_days) / (2 * n);
            let free = |day: &NaiveDate, busy: &HashMap<NaiveDate, HashSet<&str>>| {
                busy.get(day)
                    .is_none_or(|b| tasks[i].officers.iter().all(|o| !b.contains(o)))
            };
            let found = (0..n_days).find_map(|step| {
                let later = ideal + step;
                let earlier = ideal.checked_sub(step);
                [Some(later), earlier]
                    .into_iter()
                    .flatten()
                    .filter(|&j| j < n_days)
                    .find(|&j| free(&days[j], &busy))
            });
            if let Some(j) = found {
                let day = days[j];
                busy.entry(day)
                    .or_default()
                    .extend(tasks[i].officers.iter().copied());
                out[i] = Some(day);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    fn rules() -> Deadlines {
        Deadlines {
            results: 5,
            penalties: 7,
            advance_notice: 3,
            schedule_within: 20,
            reminders: vec![2, 1],
            propose_dates: true,
        }
    }

    /// A draw late in the last year with holiday data proposes the days it knows and no more;
    /// one whose 函告 would fall in an unknown year proposes none. Neither fails.
    #[test]
    fn a_year_without_holiday_data_ends_the_proposal_not_the_draw() {
        let cal = Calendar::shipped().expect("calendar");
        assert!(
            cal.is_working_day(d("2027-01-04")).is_err(),
            "no 2027 data shipped"
        );
        let w = Window {
            start: d("2026-12-01"),
            end: d("2027-03-31"),
        };
        let known = days(d("2026-12-14"), w, &rules(), &cal).expect("days");
        assert_eq!(known.first(), Some(&d("2026-12-18")));
        assert_eq!(known.last(), Some(&d("2026-12-31")));
        let late = days(d("2026-12-30"), w, &rules(), &cal).expect("no error");
        assert!(late.is_empty());
    }

    #[test]
    fn days_leave_time_for_the_notice_and_end_with_schedule_within() {
        let cal = Calendar::shipped().expect("calendar");
        let w = Window {
            start: d("2024-05-20"),
            end: d("2024-12-31"),
        };
        let days = days(d("2024-05-16"), w, &rules(), &cal).expect("days");
        // The 函告 goes out the night after the draw (17 May), 3 working days ahead: 22 May.
        // 16 May + 20 working days = 14 June; 10 June is 端午.
        assert_eq!(days.first(), Some(&d("2024-05-22")));
        assert_eq!(days.last(), Some(&d("2024-06-14")));
        assert!(!days.contains(&d("2024-06-10")));
        assert!(days.iter().all(|x| cal.is_working_day(*x).unwrap_or(false)));
    }

    #[test]
    fn spread_evenly_and_no_officer_twice_a_day() {
        let days: Vec<NaiveDate> = (1..=10)
            .map(|i| d("2024-06-01") + chrono::Duration::days(i))
            .collect();
        // One division, five teams all sharing officer A: five different days, spread out.
        let tasks: Vec<ToPlace> = (0..5)
            .map(|i| ToPlace {
                division: "x",
                officers: vec!["A", if i % 2 == 0 { "B" } else { "C" }],
            })
            .collect();
        let p = propose(&tasks, &days);
        let got: Vec<NaiveDate> = p.iter().map(|x| x.expect("placed")).collect();
        let unique: HashSet<&NaiveDate> = got.iter().collect();
        assert_eq!(unique.len(), 5, "A is never in two places: {got:?}");
        assert_eq!(got[0], days[1]);
        assert_eq!(got[4], days[9]);
        // Eleven inspections for one officer over ten days cannot all be placed.
        let crowded: Vec<ToPlace> = (0..11)
            .map(|_| ToPlace {
                division: "x",
                officers: vec!["A"],
            })
            .collect();
        assert_eq!(
            propose(&crowded, &days)
                .iter()
                .filter(|x| x.is_none())
                .count(),
            1
        );
    }
}
