//! Time. The law counts Beijing days, so every timestamp and every "today" is Asia/Shanghai,
//! whatever zone the host runs in. The clock is a trait so the core can be tested at any date.

use chrono::{DateTime, NaiveDate};
use chrono_tz::Asia::Shanghai;
use chrono_tz::Tz;

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Tz>;
    fn today(&self) -> NaiveDate {
        self.now().date_naive()
    }
}

/// The host's clock, read in Asia/Shanghai.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Tz> {
        chrono::Utc::now().with_timezone(&Shanghai)
    }
}

/// A clock stopped at one instant, for tests and replays.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub DateTime<Tz>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Tz> {
        self.0
    }
}

/// The host's clock, except that "today" is a given day: for recording events after the fact
/// and for replaying a year (`--today`). Timestamps in the audit log stay real.
#[derive(Debug, Clone, Copy)]
pub struct AsOf(pub NaiveDate);

impl Clock for AsOf {
    fn now(&self) -> DateTime<Tz> {
        SystemClock.now()
    }
    fn today(&self) -> NaiveDate {
        self.0
    }
}

/// RFC 3339 with the +08:00 offset, the form every stored timestamp takes.
pub fn stamp(t: DateTime<Tz>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, false)
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
