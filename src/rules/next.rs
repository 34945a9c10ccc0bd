//! `rules next`: next year's script written from this year's. Dates move to the same weekday of
//! the same ISO week (a Thursday lottery stays a Thursday), the year boundaries (1 January,
//! 31 December) stay boundaries, the freeze and draw schedules follow their dates, and the plan's
//! id and title take the new year. What a machine cannot know is listed for the administrator
//! to decide. Pure: the caller checks the new text against the registry.

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use crate::plan::{Plan, SeedKind};

#[derive(Debug, Clone, Serialize)]
pub struct Next {
    pub id: String,
    pub year: i32,
    pub text: String,
    /// Every date moved, in the order the script states them.
    pub moved: Vec<(NaiveDate, NaiveDate)>,
    /// What the administrator must decide or confirm before the script is used.
    pub decide: Vec<String>,
}

/// The same weekday of the same ISO week in `year` (its last week when it has no 53rd); the
/// first and last days of a year stay the first and last.
pub fn same_weekday(d: NaiveDate, year: i32) -> NaiveDate {
    let shift = year - d.year();
    if (d.month(), d.day()) == (1, 1) || (d.month(), d.day()) == (12, 31) {
        return NaiveDate::from_ymd_opt(year, d.month(), d.day()).unwrap_or(d);
    }
    let iso = d.iso_week();
    let target = iso.year() + shift;
    (1..=iso.week())
        .rev()
        .find_map(|w| NaiveDate::from_isoywd_opt(target, w, d.weekday()))
        .unwrap_or(d)
}

fn weekday_zh(d: NaiveDate) -> &'static str {
    [
        "星期一",
        "星期二",
        "星期三",
        "星期四",
        "星期五",
        "星期六",
        "星期日",
    ][d.weekday().num_days_from_monday() as usize]
}

/// Rewrites `text` (the script `plan` came from) for `year`.
pub fn next(plan: &Plan, text: &str, year: i32) -> Result<Next, String> {
    // A plan carried further than a few years has every date, quota and rule to revisit: write
    // it from a nearer year's.
    if year <= plan.year || year > plan.year + 5 {
        return Err(format!(
            "--year {year}: the next plan's year must come after {} and within five years of it",
            plan.year
        ));
    }
    let shift = year - plan.year;
    let mut moved = Vec::new();
    let mut decide = Vec::new();
    // Dates of the plan's years (a seed announced in December of the year before included).
    let ours = |y: i32| (plan.year - 1..=plan.year + 1).contains(&y);
    let mut out = rewrite_dates(text, &mut |d| {
        if !ours(d.year()) {
            return None;
        }
        let to = same_weekday(d, d.year() + shift);
        moved.push((d, to));
        Some(to)
    });
    // The schedules follow the days they first fire on.
    for (name, cron, first) in [
        (
            "freeze",
            &plan.schedules.freeze,
            crate::jobs::freeze_slot(plan),
        ),
        ("draw", &plan.schedules.draw, crate::jobs::draw_slot(plan)),
    ] {
        let fields: Vec<&str> = cron.split_whitespace().collect();
        let plain = fields.len() == 6
            && fields[3].parse::<u32>().is_ok()
            && fields[4].parse::<u32>().is_ok();
        match first {
            Some(at) if plain => {
                let day = same_weekday(at.date_naive(), at.year() + shift);
                let new = format!(
                    "{} {} {} {} {} {}",
                    fields[0],
                    fields[1],
                    fields[2],
                    day.day(),
                    day.month(),
                    fields[5]
                );
                out = out.replacen(&format!("\"{cron}\""), &format!("\"{new}\""), 1);
            }
            _ => decide.push(format!(
                "schedules.{name} `{cron}` names no single day: set it for {year} by hand"
            )),
        }
    }
    out = out.replacen(&format!("year: {}", plan.year), &format!("year: {year}"), 1);
    let id = if plan.id.contains(&plan.year.to_string()) {
        plan.id.replace(&plan.year.to_string(), &year.to_string())
    } else {
        decide.push(format!(
            "the plan's id `{}` names no year: the new script keeps it, give it one of its own",
            plan.id
        ));
        plan.id.clone()
    };
    out = out.replacen(&format!("\"{}\"", plan.id), &format!("\"{id}\""), 1);
    out = out.replace(&format!("{}年", plan.year), &format!("{year}年"));

    let seed_day = same_weekday(
        plan.seed
            .available_at
            .with_timezone(&chrono_tz::Asia::Shanghai)
            .date_naive(),
        plan.seed.available_at.year() + shift,
    );
    match plan.seed.kind {
        SeedKind::Manual => {
            let game = plan.seed.game.as_deref();
            let held = game
                .and_then(crate::draw::lottery::game)
                .is_none_or(|g| g.days.contains(&seed_day.weekday()));
            decide.push(format!(
                "seed: the digits of {} on {seed_day} ({}){}: confirm the draw is held that day \
                 (lotteries pause over the Spring Festival) and that the announcement address \
                 still holds",
                game.unwrap_or("the public ceremony"),
                weekday_zh(seed_day),
                if held { "" } else { ", a day it does not draw" }
            ));
        }
        SeedKind::Drand => decide.push(format!(
            "seed: the drand round first at or after {seed_day}'s available_at: confirm the time"
        )),
        SeedKind::Os => {}
    }
    let start = same_weekday(plan.window.start, plan.window.start.year() + shift);
    let end = same_weekday(plan.window.end, plan.window.end.year() + shift);
    decide.push(format!(
        "window: {start} to {end} ({} to {}): confirm against {year}'s plan text",
        weekday_zh(start),
        weekday_zh(end)
    ));
    if plan.fixed_total().is_some() && plan.total_quota.is_some() {
        decide.push(
            "total and quotas: this year's numbers are kept; set next year's from its plan text"
                .into(),
        );
    }
    Ok(Next {
        id,
        year,
        text: out,
        moved,
        decide,
    })
}

/// Replaces every `YYYY-MM-DD` and `YYYY年M月D日` date in `text` for which `f` gives another.
fn rewrite_dates(text: &str, f: &mut dyn FnMut(NaiveDate) -> Option<NaiveDate>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some((at, len, date, chinese)) = find_date(rest) {
        out.push_str(&rest[..at]);
        let original = &rest[at..at + len];
        match f(date) {
            Some(to) if chinese => {
                out.push_str(&format!("{}年{}月{}日", to.year(), to.month(), to.day()))
            }
            Some(to) => out.push_str(&to.format("%Y-%m-%d").to_string()),
            None => out.push_str(original),
        }
        rest = &rest[at + len..];
    }
    out.push_str(rest);
    out
}

/// The first date in `s`: its byte offset and length, the date, and whether it is written the
/// Chinese way.
fn find_date(s: &str) -> Option<(usize, usize, NaiveDate, bool)> {
    let b = s.as_bytes();
    let digits = |i: usize, n: usize| {
        b.get(i..i + n)
            .is_some_and(|x| x.iter().all(u8::is_ascii_digit))
    };
    let mut i = 0;
    while i + 4 <= b.len() {
        if digits(i, 4) && (i == 0 || !b[i - 1].is_ascii_digit()) {
            let tail = &s[i + 4..];
            if tail.starts_with('-')
                && digits(i + 5, 2)
                && tail.get(3..4) == Some("-")
                && digits(i + 8, 2)
                && !b.get(i + 10).is_some_and(u8::is_ascii_digit)
                && let Ok(d) = NaiveDate::parse_from_str(&s[i..i + 10], "%Y-%m-%d")
            {
                return Some((i, 10, d, false));
            }
            if let Some(len) = chinese_date_len(tail)
                && let Ok(d) = NaiveDate::parse_from_str(&s[i..i + 4 + len], "%Y年%m月%d日")
            {
                return Some((i, 4 + len, d, true));
            }
        }
        i += 1;
        while i < b.len() && !s.is_char_boundary(i) {
            i += 1;
        }
    }
    None
}

/// The length of `年M月D日` at the start of `s` (month and day of one or two digits).
fn chinese_date_len(s: &str) -> Option<usize> {
    let s2 = s.strip_prefix('年')?;
    let m = s2.bytes().take_while(u8::is_ascii_digit).count();
    if !(1..=2).contains(&m) {
        return None;
    }
    let s3 = s2[m..].strip_prefix('月')?;
    let d = s3.bytes().take_while(u8::is_ascii_digit).count();
    if !(1..=2).contains(&d) {
        return None;
    }
    s3[d..].strip_prefix('日')?;
    Some('年'.len_utf8() + m + '月'.len_utf8() + d + '日'.len_utf8())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    #[test]
    fn the_same_weekday_of_the_same_week() {
        // 16 May 2024, a Thursday of week 20: 15 May 2025, the Thursday of week 20.
        assert_eq!(same_weekday(day("2024-05-16"), 2025), day("2025-05-15"));
        assert_eq!(same_weekday(day("2024-05-13"), 2025), day("2025-05-12"));
        assert_eq!(same_weekday(day("2024-12-31"), 2025), day("2025-12-31"));
        assert_eq!(same_weekday(day("2024-01-01"), 2026), day("2026-01-01"));
        // Week 53 of 2020 has no match in 2021: its last week.
        assert_eq!(
            same_weekday(day("2020-12-30"), 2021).weekday(),
            chrono::Weekday::Wed
        );
    }

    #[test]
    fn dates_are_found_both_ways() {
        let text =
            "a: \"2024-05-20\", b: \"2024年5月16日开奖\", c: 12024-05-20, d: 2024-05-16 21:15";
        let out = rewrite_dates(text, &mut |d| Some(same_weekday(d, d.year() + 1)));
        assert_eq!(
            out,
            "a: \"2025-05-19\", b: \"2025年5月15日开奖\", c: 12024-05-20, d: 2025-05-15 21:15"
        );
    }

    #[test]
    fn the_henan_plan_a_year_on() {
        let ctx = crate::rules::Context::demo(3000).expect("context");
        let text = include_str!("../../rules/henan-2024.rhai");
        let plan = crate::rules::evaluate("henan-2024.rhai", text, &ctx).expect("plan");
        let n = next(&plan, text, 2025).expect("next");
        assert_eq!(n.id, "henan-2025");
        let again = crate::rules::evaluate("henan-2025.rhai", &n.text, &ctx).expect("plan");
        assert_eq!(again.year, 2025);
        assert_eq!(again.window.start, day("2025-05-19"));
        assert_eq!(again.window.end, day("2025-12-31"));
        assert_eq!(again.schedules.freeze, "0 0 9 12 5 *");
        assert_eq!(again.schedules.draw, "0 30 21 15 5 *");
        assert!(
            again.seed.source.contains("2025年5月15日"),
            "{}",
            again.seed.source
        );
        assert!(again.title.contains("2025年度"), "{}", again.title);
        assert!(
            n.decide.iter().any(|d| d.contains("2025-05-15 (星期四)")),
            "{:?}",
            n.decide
        );
        assert!(next(&plan, text, 2024).is_err());
        assert!(next(&plan, text, 99_999).is_err());
    }
}
