//! iCalendar (RFC 5545) events for inspections: one VEVENT per inspection, in Asia/Shanghai
//! (a VTIMEZONE is included: +08:00, no daylight saving), text escaped and lines folded.

use chrono::NaiveDate;

/// One inspection as an event.
pub struct Event<'a> {
    pub uid: &'a str,
    /// How many times the event was published before (a rescheduled inspection): calendars
    /// replace an event by one with the same UID and a higher SEQUENCE.
    pub sequence: usize,
    pub day: NaiveDate,
    pub summary: &'a str,
    pub description: &'a str,
    pub location: &'a str,
}

/// Escapes a TEXT value: backslash, semicolon, comma and line breaks.
fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Folds a content line at 75 octets without splitting a UTF-8 character.
fn fold(line: &str, out: &mut String) {
    let mut used = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if used + n > 75 {
            out.push_str("\r\n ");
            used = 1;
        }
        out.push(c);
        used += n;
    }
    out.push_str("\r\n");
}

/// A calendar of all-working-day events (09:00–17:00 Beijing time) stamped at `stamp`
/// (`YYYYMMDDTHHMMSSZ`).
pub fn calendar(events: &[Event<'_>], stamp: &str) -> String {
    let mut out = String::new();
    for l in [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//suiji//inspections//ZH",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VTIMEZONE",
        "TZID:Asia/Shanghai",
        "BEGIN:STANDARD",
        "DTSTART:19700101T000000",
        "TZOFFSETFROM:+0800",
        "TZOFFSETTO:+0800",
        "TZNAME:CST",
        "END:STANDARD",
        "END:VTIMEZONE",
    ] {
        fold(l, &mut out);
    }
    for e in events {
        let day = e.day.format("%Y%m%d");
        fold("BEGIN:VEVENT", &mut out);
        fold(&format!("UID:{}", text(e.uid)), &mut out);
        fold(&format!("DTSTAMP:{stamp}"), &mut out);
        fold(&format!("SEQUENCE:{}", e.sequence), &mut out);
        fold(
            &format!("DTSTART;TZID=Asia/Shanghai:{day}T090000"),
            &mut out,
        );
        fold(&format!("DTEND;TZID=Asia/Shanghai:{day}T170000"), &mut out);
        fold(&format!("SUMMARY:{}", text(e.summary)), &mut out);
        fold(&format!("DESCRIPTION:{}", text(e.description)), &mut out);
        fold(&format!("LOCATION:{}", text(e.location)), &mut out);
        fold("END:VEVENT", &mut out);
    }
    fold("END:VCALENDAR", &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_and_folded() {
        let day = NaiveDate::from_ymd_opt(2024, 6, 10).expect("date");
        let long = "河南省某某化工有限公司".repeat(5);
        let cal = calendar(
            &[Event {
                uid: "t-1@suiji",
                sequence: 2,
                day,
                summary: &format!("检查：{long}"),
                description: "a,b;c\\d\ne",
                location: "郑州",
            }],
            "20240601T000000Z",
        );
        assert!(cal.contains("DTSTART;TZID=Asia/Shanghai:20240610T090000\r\n"));
        assert!(cal.contains("SEQUENCE:2\r\n"));
        assert!(cal.contains("DESCRIPTION:a\\,b\\;c\\\\d\\ne\r\n"));
        assert!(cal.lines().all(|l| l.len() <= 75), "folded at 75 octets");
        assert!(cal.contains("\r\n "), "a long summary is folded");
        // Unfolding gives the summary back whole.
        let unfolded = cal.replace("\r\n ", "");
        assert!(unfolded.contains(&long));
    }
}
