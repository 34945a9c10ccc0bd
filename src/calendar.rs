//! Working days (工作日): Monday to Friday, minus the State Council's statutory holidays, plus
//! the weekend days its yearly notice makes working days (调休).
//!
//! The data cannot be computed: it is published each year, and kept as one TOML file per year
//! under `rules/calendar/`. The shipped years are compiled in; files in the configured folder
//! add years or replace a shipped one. A date in a year with no data is an error that names the
//! year: never a silent weekends-only guess, which would put deadlines on holidays.
//!
//! Counting convention (行政处罚法 Art. 85 and common practice): the day of the event does not
//! count; a period of N working days ends at the end of the N-th working day after it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

/// The shipped years, as (file name, text).
pub const SHIPPED: &[(&str, &str)] = &[
    ("2021.toml", include_str!("../rules/calendar/2021.toml")),
    ("2022.toml", include_str!("../rules/calendar/2022.toml")),
    ("2023.toml", include_str!("../rules/calendar/2023.toml")),
    ("2024.toml", include_str!("../rules/calendar/2024.toml")),
    ("2025.toml", include_str!("../rules/calendar/2025.toml")),
    ("2026.toml", include_str!("../rules/calendar/2026.toml")),
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error(
        "no holiday data for {year}: add rules/calendar/{year}.toml from the State Council's \
         notice on {year}'s holidays (国务院办公厅关于{year}年部分节假日安排的通知)"
    )]
    NoData { year: i32 },
    #[error("{file}: {message}")]
    Invalid { file: String, message: String },
}

/// One year's arrangement, as its file says.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct YearFile {
    year: i32,
    notice: String,
    #[serde(default)]
    url: String,
    holidays: Vec<String>,
    workdays: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Year {
    pub year: i32,
    pub notice: String,
    pub url: String,
    pub source: String,
    pub holidays: BTreeSet<NaiveDate>,
    pub workdays: BTreeSet<NaiveDate>,
}

#[derive(Debug, Clone, Default)]
pub struct Calendar {
    years: BTreeMap<i32, Year>,
}

fn is_weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

fn parse_year(file: &str, text: &str) -> Result<Year, CalendarError> {
    let invalid = |message: String| CalendarError::Invalid {
        file: file.to_string(),
        message,
    };
    let raw: YearFile = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
    let date = |s: &str| {
        NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
            .map_err(|_| invalid(format!("`{s}` is not a date (YYYY-MM-DD)")))
    };
    let mut holidays = BTreeSet::new();
    for entry in &raw.holidays {
        let (from, to) = match entry.split_once("..") {
            Some((a, b)) => (date(a)?, date(b)?),
            None => (date(entry)?, date(entry)?),
        };
        if to < from || (to - from).num_days() > 31 {
            return Err(invalid(format!(
                "holiday range `{entry}` is reversed or too long"
            )));
        }
        let mut d = from;
        while d <= to {
            holidays.insert(d);
            d += Duration::days(1);
        }
    }
    let mut workdays = BTreeSet::new();
    for entry in &raw.workdays {
        let d = date(entry)?;
        if !is_weekend(d) {
            return Err(invalid(format!(
                "working day `{entry}` is a {}: only weekend days need listing as 调休 working days",
                d.weekday()
            )));
        }
        if holidays.contains(&d) {
            return Err(invalid(format!(
                "`{entry}` is listed both as a holiday and a working day"
            )));
        }
        workdays.insert(d);
    }
    if let Some(d) = holidays
        .iter()
        .chain(&workdays)
        .find(|d| d.year() != raw.year)
    {
        return Err(invalid(format!(
            "{d} is outside the file's year {}",
            raw.year
        )));
    }
    Ok(Year {
        year: raw.year,
        notice: raw.notice,
        url: raw.url,
        source: file.to_string(),
        holidays,
        workdays,
    })
}

impl Calendar {
    /// The shipped years only.
    pub fn shipped() -> Result<Calendar, CalendarError> {
        let mut c = Calendar::default();
        for (name, text) in SHIPPED {
            c.add(parse_year(
                &format!("rules/calendar/{name} (shipped)"),
                text,
            )?);
        }
        Ok(c)
    }

    /// The shipped years, then every `*.toml` in `dir` (a year there replaces the shipped one).
    /// A missing folder is not an error: the shipped years remain.
    pub fn load(dir: &Path) -> Result<Calendar, CalendarError> {
        let mut c = Calendar::shipped()?;
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Ok(c);
        };
        let mut files: Vec<_> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        for path in files {
            let name = path.display().to_string();
            let text = std::fs::read_to_string(&path).map_err(|e| CalendarError::Invalid {
                file: name.clone(),
                message: e.to_string(),
            })?;
            c.add(parse_year(&name, &text)?);
        }
        Ok(c)
    }

    fn add(&mut self, year: Year) {
        self.years.insert(year.year, year);
    }

    pub fn years(&self) -> impl Iterator<Item = &Year> {
        self.years.values()
    }

    pub fn year(&self, year: i32) -> Result<&Year, CalendarError> {
        self.years.get(&year).ok_or(CalendarError::NoData { year })
    }

    pub fn is_working_day(&self, d: NaiveDate) -> Result<bool, CalendarError> {
        let y = self.year(d.year())?;
        Ok(if y.workdays.contains(&d) {
            true
        } else {
            !is_weekend(d) && !y.holidays.contains(&d)
        })
    }

    /// The date on which a period of `n` working days after `event` ends; with a negative `n`,
    /// the `|n|`-th working day before it. The event day itself never counts; `n = 0` is the
    /// event day.
    pub fn add_working_days(&self, event: NaiveDate, n: i64) -> Result<NaiveDate, CalendarError> {
        let step = Duration::days(n.signum());
        let mut d = event;
        let mut left = n.abs();
        while left > 0 {
            d += step;
            if self.is_working_day(d)? {
                left -= 1;
            }
        }
        Ok(d)
    }

    /// Working days in `(from, to]`: how many working days `to` lies after `from` (0 if not after).
    pub fn working_days_between(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<i64, CalendarError> {
        let mut n = 0;
        let mut d = from;
        while d < to {
            d += Duration::days(1);
            if self.is_working_day(d)? {
                n += 1;
            }
        }
        Ok(n)
    }

    /// Checks that every day from `from` to `to` has data; names the first year without.
    pub fn covers(&self, from: NaiveDate, to: NaiveDate) -> Result<(), CalendarError> {
        for year in from.year()..=to.year() {
            self.year(year)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    fn cal() -> Calendar {
        Calendar::shipped().expect("shipped calendar")
    }

    #[test]
    fn mid_autumn_2024_results_deadline() {
        // Completed Friday 13 Sep; Sat 14 is a working day, 15–17 off.
        assert_eq!(
            cal().add_working_days(d("2024-09-13"), 5),
            Ok(d("2024-09-23"))
        );
    }

    #[test]
    fn national_day_2024_penalty_deadline() {
        // Decided Friday 27 Sep; Sun 29 works, 1–7 Oct off, Sat 12 Oct works.
        assert_eq!(
            cal().add_working_days(d("2024-09-27"), 7),
            Ok(d("2024-10-12"))
        );
    }

    #[test]
    fn counting_backwards_and_between() {
        let c = cal();
        // Three working days before Tuesday 8 Oct 2024: 30 Sep, 29 Sep (a working Sunday),
        // then Friday 27 Sep.
        assert_eq!(c.add_working_days(d("2024-10-08"), -3), Ok(d("2024-09-27")));
        assert_eq!(
            c.working_days_between(d("2024-09-13"), d("2024-09-23")),
            Ok(5)
        );
        assert_eq!(
            c.working_days_between(d("2024-09-23"), d("2024-09-13")),
            Ok(0)
        );
    }

    #[test]
    fn spring_festival_2026() {
        let c = cal();
        assert_eq!(c.is_working_day(d("2026-02-14")), Ok(true), "Saturday 调休");
        assert_eq!(c.is_working_day(d("2026-02-16")), Ok(false));
        assert_eq!(c.is_working_day(d("2026-02-24")), Ok(true));
    }

    #[test]
    fn missing_year_is_refused_by_name() {
        let e = cal()
            .add_working_days(d("2026-12-28"), 5)
            .expect_err("2027 has no data");
        assert_eq!(e, CalendarError::NoData { year: 2027 });
        assert!(e.to_string().contains("rules/calendar/2027.toml"));
    }

    #[test]
    fn bad_files_are_explained() {
        let e = parse_year(
            "x.toml",
            "year = 2027\nnotice = \"n\"\nholidays = []\nworkdays = [\"2027-01-05\"]\n",
        )
        .expect_err("a Tuesday is not 调休");
        assert!(e.to_string().contains("x.toml"), "{e}");
        let e = parse_year(
            "x.toml",
            "year = 2027\nnotice = \"n\"\nholidays = [\"2026-10-01\"]\nworkdays = []\n",
        )
        .expect_err("wrong year");
        assert!(e.to_string().contains("outside"), "{e}");
    }

    #[test]
    fn shipped_counts_match_the_notices() {
        let c = cal();
        let count = |y| {
            let y = c.year(y).expect("year");
            (y.holidays.len(), y.workdays.len())
        };
        assert_eq!(count(2024), (1 + 8 + 3 + 5 + 1 + 3 + 7, 8));
        assert_eq!(count(2025), (1 + 8 + 3 + 5 + 3 + 8, 5));
        assert_eq!(count(2026), (3 + 9 + 3 + 5 + 3 + 3 + 7, 6));
    }
}
