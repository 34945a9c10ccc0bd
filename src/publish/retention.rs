//! How long a published result stays public (`public.retention_years`, and a natural person's
//! `public.retention_years_natural_person`), and which results are due to be taken down on a
//! day. Pure: the store records what this finds, once per task (spec section 7).

use chrono::NaiveDate;

use crate::store::{NewTakedown, TaskRow};

/// The retention rules, in years (0: for ever; a natural person's 0: as everyone's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub years: u32,
    pub natural_person_years: u32,
}

/// A 个体工商户: the 统一社会信用代码's registration authority 9 (工商) and kind 2.
pub fn natural_person(uscc: &str) -> bool {
    uscc.starts_with("92")
}

impl Retention {
    /// The years that apply to an object, and the rule's words.
    fn rule(&self, uscc: &str) -> Option<(u32, String)> {
        let person = natural_person(uscc) && self.natural_person_years > 0;
        let (years, key, who) = if person {
            (
                self.natural_person_years,
                "public.retention_years_natural_person",
                "个体工商户",
            )
        } else {
            (self.years, "public.retention_years", "")
        };
        (years > 0).then(|| (years, format!("{who}公示满{years}年（{key}）")))
    }
}

/// The results due to be taken down on `today`: published (a result or a penalty) and their
/// retention, counted from the last publication, run out on or before it. A task already
/// taken down is the store's to skip.
pub fn due(tasks: &[TaskRow], retention: Retention, today: NaiveDate) -> Vec<NewTakedown> {
    tasks
        .iter()
        .filter_map(|t| {
            let last = t.facts.published.max(t.facts.penalty_published)?;
            let (years, rule) = retention.rule(&t.uscc)?;
            let until = last.checked_add_months(chrono::Months::new(12 * years))?;
            (until <= today).then(|| NewTakedown {
                task_id: t.id.clone(),
                plan_id: t.plan_id.clone(),
                year: t.year,
                draw_id: t.draw_id,
                uscc: t.uscc.clone(),
                rule,
                due_on: until,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    #[test]
    fn years_count_from_the_last_publication_and_a_person_has_their_own() {
        let r = Retention {
            years: 5,
            natural_person_years: 2,
        };
        assert_eq!(r.rule("91410100MA0000000X").map(|x| x.0), Some(5));
        assert_eq!(r.rule("92410100MA0000000X").map(|x| x.0), Some(2));
        assert!(
            r.rule("92410100MA0000000X")
                .is_some_and(|x| x.1.starts_with("个体工商户公示满2年"))
        );
        let never = Retention {
            years: 0,
            natural_person_years: 0,
        };
        assert_eq!(never.rule("91410100MA0000000X"), None);
        // A person's 0 is everyone's rule.
        let same = Retention {
            years: 5,
            natural_person_years: 0,
        };
        assert_eq!(same.rule("92410100MA0000000X").map(|x| x.0), Some(5));
        // 29 February: five years on is 28 February.
        assert_eq!(
            d("2024-02-29").checked_add_months(chrono::Months::new(60)),
            Some(d("2029-02-28"))
        );
    }
}
