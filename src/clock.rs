//! Time. The law counts Beijing days, so every timestamp and every "today" is Asia/Shanghai,
//! whatever zone the host runs in. The clock is a trait so the core can be tested at any date.

use chrono::{DateTime, NaiveDate};
use chrono_tz::Asia::Shanghai;
use chrono_tz::Tz;

pub trait Clock: Send + Sync {
    /// The time things happen at: deadlines, facts and freeze times follow it. Real, or a
    /// replayed day (`--today`), or the simulated time of a rehearsal.
    fn now(&self) -> DateTime<Tz>;
    fn today(&self) -> NaiveDate {
        self.now().date_naive()
    }
    /// The real time, whatever `now` says: the audit log always records when a row was really
    /// written, so a replay or a rehearsal can never pass for the real thing.
    fn wall(&self) -> DateTime<Tz> {
        SystemClock.now()
    }
    /// Whether `now` is the real time (manifests frozen on another clock say so).
    fn is_real(&self) -> bool {
        false
    }
}

/// The host's clock, read in Asia/Shanghai.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Tz> {
        chrono::Utc::now().with_timezone(&Shanghai)
    }
    fn is_real(&self) -> bool {
        true
    }
}

/// A clock stopped at one instant: it stands in for the real clock in tests, so its `wall` is
/// the same instant.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub DateTime<Tz>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Tz> {
        self.0
    }
    fn wall(&self) -> DateTime<Tz> {
        self.0
    }
    fn is_real(&self) -> bool {
        true
    }
}

/// The host's clock moved to another day (`--today`): for recording events after the fact and
/// replaying a year. The time of day stays real (so facts keep their order) unless one is
/// given; the audit log records the real time. Never later than the real today (checked
/// where it is built).
#[derive(Debug, Clone, Copy)]
pub struct AsOf {
    pub day: NaiveDate,
    pub time: Option<chrono::NaiveTime>,
}

impl AsOf {
    pub fn day(day: NaiveDate) -> AsOf {
        AsOf { day, time: None }
    }
}

impl Clock for AsOf {
    fn now(&self) -> DateTime<Tz> {
        let real = SystemClock.now();
        self.day
            .and_time(self.time.unwrap_or(real.time()))
            .and_local_timezone(Shanghai)
            .earliest()
            .unwrap_or(real)
    }
    fn today(&self) -> NaiveDate {
        self.day
    }
    fn is_real(&self) -> bool {
        self.time.is_none() && self.day == SystemClock.today()
    }
}

/// A simulated clock that only moves when told: the daemon's rehearsal (`serve --until`) runs
/// the year on it.
#[derive(Debug, Clone)]
pub struct SimClock(std::sync::Arc<std::sync::Mutex<DateTime<Tz>>>);

impl SimClock {
    pub fn new(start: DateTime<Tz>) -> SimClock {
        SimClock(std::sync::Arc::new(std::sync::Mutex::new(start)))
    }
    /// Moves to `t` (never backwards).
    pub fn advance_to(&self, t: DateTime<Tz>) {
        let mut now = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if t > *now {
            *now = t;
        }
    }
}

impl Clock for SimClock {
    fn now(&self) -> DateTime<Tz> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Parses a time written in a plan or on the command line: RFC 3339 with an offset, or
/// `YYYY-MM-DD HH:MM[:SS]` read in Asia/Shanghai. Always returned at +08:00.
pub fn parse_time(s: &str) -> Option<DateTime<chrono::FixedOffset>> {
    let s = s.trim();
    let t = match DateTime::parse_from_rfc3339(s) {
        Ok(t) => t.with_timezone(&Shanghai),
        Err(_) => {
            let naive = [
                "%Y-%m-%d %H:%M:%S",
                "%Y-%m-%d %H:%M",
                "%Y-%m-%dT%H:%M:%S",
                "%Y-%m-%dT%H:%M",
            ]
            .iter()
            .find_map(|f| chrono::NaiveDateTime::parse_from_str(s, f).ok())?;
            naive.and_local_timezone(Shanghai).earliest()?
        }
    };
    Some(t.fixed_offset())
}

/// RFC 3339 with the +08:00 offset, the form every stored timestamp takes.
pub fn stamp(t: DateTime<Tz>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, false)
}

/// The same form, for a time held with a fixed offset.
pub fn stamp_fixed(t: DateTime<chrono::FixedOffset>) -> String {
    stamp(t.with_timezone(&Shanghai))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn beijing_date_whatever_the_utc_date() {
        // 2024-12-31 20:00 UTC is already 2025-01-01 in Beijing.
        let utc = chrono::Utc
            .with_ymd_and_hms(2024, 12, 31, 20, 0, 0)
            .single();
        let clock = FixedClock(utc.map(|t| t.with_timezone(&Shanghai)).expect("valid"));
        assert_eq!(
            clock.today(),
            NaiveDate::from_ymd_opt(2025, 1, 1).expect("valid")
        );
        assert!(stamp(clock.now()).ends_with("+08:00"));
    }
}
