//! The yearly plan as plain Rust values: what `rules` makes from a Rhai script and everything
//! else reads. Pure functions here turn a plan and a registry snapshot into draw strata (each
//! with its quota and eligible candidates); the draw, the checks and `rules show` all use them.

use std::collections::{BTreeMap, HashSet};

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::registry::{EntityStatus, RiskLevel, Snapshot};

/// Where something was written in the rule script (1-based).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub id: String,
    pub year: i32,
    pub title: String,
    pub window: Window,
    /// The total the plan text states (e.g. 74 in 2024), checked against the tasks' quotas.
    pub total_quota: Option<u32>,
    /// Sectors the plan covers: each must be in some task's pool (全覆盖).
    pub scope: Vec<String>,
    pub seed: SeedSource,
    pub frequency: Frequency,
    pub teams: TeamRules,
    pub deadlines: Deadlines,
    pub schedules: Schedules,
    pub tasks: Vec<TaskRule>,
    /// The script this plan came from.
    pub source: Source,
    pub at: Location,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub file: String,
    /// Lowercase hex SHA-256 of the script's bytes: the manifest commits to it.
    pub sha256: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SeedKind {
    /// Digits from a public ceremony (dice, lottery numbers of an announced date), typed in.
    Manual,
    /// 32 random bytes from the operating system: unattended, and weaker (nobody saw it made).
    Os,
    /// A round of the drand `quicknet` public beacon: unattended, and nobody can predict or
    /// choose it (see `beacon`).
    Drand,
}

impl SeedKind {
    pub fn name(self) -> &'static str {
        match self {
            SeedKind::Manual => "manual",
            SeedKind::Os => "os",
            SeedKind::Drand => "drand",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedSource {
    pub kind: SeedKind,
    /// Where the public digits will come from, announced with the manifest.
    pub source: String,
    /// When the randomness becomes public (the lottery's draw, the ceremony, the beacon round):
    /// freezing is refused from then on, the official draw before it.
    pub available_at: chrono::DateTime<chrono::FixedOffset>,
    /// A manual seed's lottery (`draw::lottery::GAMES`): its result's format is checked.
    pub game: Option<String>,
    /// Where the result will be announced.
    pub announcement: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Frequency {
    /// Entities inspected within this many months before the window starts are left out
    /// (0: off). Being drawn at most once a year across all tasks is not optional.
    pub lookback_months: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamRules {
    /// Department members per team, counting the responsible cadre; at least 2 by law.
    pub size: u32,
    pub recusal: Recusal,
    /// Most inspections one officer may be assigned in the draw (as cadre or member).
    pub cap_per_officer: u32,
    /// Skip officers whose certificate has expired by the window's start.
    pub require_valid_certificate: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recusal {
    /// Declared conflicts are always honoured; these add to them.
    pub home_city: bool,
    pub last_year: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadlines {
    /// Working days after completion to publish results (plan: 5).
    pub results: u32,
    /// Working days after a penalty decision to publish it (安全生产法 Art. 78: 7).
    pub penalties: u32,
    /// Working days before the planned inspection to send the 函告 to the municipal bureau.
    pub advance_notice: u32,
    /// Working days after the draw by which every inspection must have a planned date.
    pub schedule_within: u32,
    /// Reminders, in working days before each deadline.
    pub reminders: Vec<u32>,
    /// The draw proposes a planned date for every task (see `schedule`).
    #[serde(default)]
    pub propose_dates: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedules {
    /// Cron expressions with seconds (6 fields), Asia/Shanghai.
    pub freeze: String,
    pub draw: String,
    /// What an older script still says of the department's jobs (now scheduled by the
    /// configuration's `[daemon] nightly` and `report`): kept only to warn that it is ignored.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignored: Vec<String>,
}

impl Schedules {
    pub fn all(&self) -> [(&'static str, &str); 2] {
        [
            ("freeze", self.freeze.as_str()),
            ("draw", self.draw.as_str()),
        ]
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRule {
    pub id: String,
    pub name: String,
    /// Owning division code.
    pub division: String,
    pub quota: u32,
    pub pool: Filter,
    /// How the quota splits across risk levels; empty means one stratum for the whole pool.
    pub split: Vec<SplitPart>,
    pub joint: Option<Joint>,
    /// 清单 item codes this task's inspections cover.
    pub items: Vec<String>,
    /// Department members per team for this task (the plan's size unless overridden).
    pub team_size: u32,
    pub at: Location,
}

/// Which entities are eligible: every non-empty list must match.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Filter {
    pub sectors: Vec<String>,
    pub statuses: Vec<EntityStatus>,
    pub risks: Vec<RiskLevel>,
    pub cities: Vec<String>,
    /// At least one of these tags.
    pub tags_any: Vec<String>,
    /// None of these tags.
    pub tags_none: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitPart {
    pub name: String,
    /// Risk levels this part draws from (parts may overlap: a later part skips what an earlier
    /// one selected, so "at least 40% red/orange, the rest from everyone" is two parts).
    pub risks: Vec<RiskLevel>,
    /// Weight of this part; quotas are `quota × share / Σ shares`, largest remainder.
    pub share: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Joint {
    /// Partner agency code.
    pub agency: String,
    /// Partner members per team.
    pub members: u32,
}

impl Filter {
    pub fn matches(&self, e: &crate::registry::Entity) -> bool {
        (self.sectors.is_empty() || self.sectors.contains(&e.sector))
            && (self.statuses.is_empty() || self.statuses.contains(&e.status))
            && (self.risks.is_empty() || self.risks.contains(&e.risk))
            && (self.cities.is_empty() || self.cities.contains(&e.city))
            && (self.tags_any.is_empty() || e.tags.iter().any(|t| self.tags_any.contains(t)))
            && !e.tags.iter().any(|t| self.tags_none.contains(t))
    }
}

/// Splits `quota` by `shares` with the largest-remainder method (ties to the earlier part).
/// Integer arithmetic only, so everyone re-computing it gets the same numbers.
pub fn largest_remainder(quota: u32, shares: &[u32]) -> Vec<u32> {
    let total: u64 = shares.iter().map(|&s| u64::from(s)).sum();
    if total == 0 {
        return vec![0; shares.len()];
    }
    let q = u64::from(quota);
    let mut parts: Vec<u32> = shares
        .iter()
        .map(|&s| (q * u64::from(s) / total) as u32)
        .collect();
    let mut left = quota - parts.iter().sum::<u32>();
    let mut order: Vec<usize> = (0..shares.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(q * u64::from(shares[i]) % total));
    for i in order {
        if left == 0 {
            break;
        }
        parts[i] += 1;
        left -= 1;
    }
    parts
}

/// One unit of the draw: a task, or a task × split part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stratum {
    pub task: String,
    /// `task` or `task/part`.
    pub id: String,
    pub quota: u32,
    /// Indices into the snapshot's entities, ascending by USCC.
    #[serde(skip)]
    pub members: Vec<u32>,
    pub by_risk: BTreeMap<RiskLevel, u32>,
}

impl Stratum {
    pub fn pool_size(&self) -> usize {
        self.members.len()
    }
}

/// The first day of the look-back period: `months` before `start`, same day of month where
/// it exists, else the month's last day.
pub fn months_before(start: NaiveDate, months: u32) -> NaiveDate {
    let total = start.year() * 12 + start.month0() as i32 - months as i32;
    let (y, m) = (total.div_euclid(12), total.rem_euclid(12) as u32 + 1);
    (1..=start.day())
        .rev()
        .find_map(|d| NaiveDate::from_ymd_opt(y, m, d))
        .unwrap_or(start)
}

impl Plan {
    /// The draw strata in plan order, with their eligible candidates. Entities inspected within
    /// the look-back period are left out.
    pub fn strata(&self, snapshot: &Snapshot) -> Vec<Stratum> {
        let recent: HashSet<&str> = if self.frequency.lookback_months > 0 {
            let since = months_before(self.window.start, self.frequency.lookback_months);
            snapshot
                .last_inspected
                .iter()
                .filter(|(_, d)| **d >= since && **d < self.window.start)
                .map(|(u, _)| u.as_str())
                .collect()
        } else {
            HashSet::new()
        };
        let mut out = Vec::new();
        for task in &self.tasks {
            let entities = &snapshot.entities;
            let matcher = entities.matcher(&task.pool);
            let pool: Vec<u32> = (0..entities.len() as u32)
                .filter(|&i| matcher.matches(entities, i) && !recent.contains(entities.uscc(i)))
                .collect();
            let parts: Vec<(String, Vec<RiskLevel>, u32)> = if task.split.is_empty() {
                vec![(task.id.clone(), Vec::new(), task.quota)]
            } else {
                let shares: Vec<u32> = task.split.iter().map(|p| p.share).collect();
                task.split
                    .iter()
                    .zip(largest_remainder(task.quota, &shares))
                    .map(|(p, q)| (format!("{}/{}", task.id, p.name), p.risks.clone(), q))
                    .collect()
            };
            for (id, risks, quota) in parts {
                let members: Vec<u32> = pool
                    .iter()
                    .copied()
                    .filter(|&i| risks.is_empty() || risks.contains(&snapshot.entities.risk(i)))
                    .collect();
                let mut by_risk = BTreeMap::new();
                for &i in &members {
                    *by_risk.entry(snapshot.entities.risk(i)).or_insert(0) += 1;
                }
                out.push(Stratum {
                    task: task.id.clone(),
                    id,
                    quota,
                    members,
                    by_risk,
                });
            }
        }
        out
    }

    /// The tasks' quotas added up (saturating: a plan from a script cannot reach the limit).
    pub fn total_quota(&self) -> u32 {
        self.tasks
            .iter()
            .map(|t| t.quota)
            .fold(0, u32::saturating_add)
    }

    pub fn task(&self, id: &str) -> Option<&TaskRule> {
        self.tasks.iter().find(|t| t.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn largest_remainder_is_exact_and_fair() {
        assert_eq!(largest_remainder(5, &[40, 60]), vec![2, 3]);
        assert_eq!(largest_remainder(8, &[50, 50]), vec![4, 4]);
        assert_eq!(largest_remainder(7, &[1, 1, 1]), vec![3, 2, 2]);
        assert_eq!(largest_remainder(16, &[30, 30, 40]), vec![5, 5, 6]);
        for q in 0..50 {
            assert_eq!(largest_remainder(q, &[3, 5, 7]).iter().sum::<u32>(), q);
        }
    }

    #[test]
    fn lookback_months() {
        let d = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date");
        assert_eq!(months_before(d("2024-09-10"), 12), d("2023-09-10"));
        assert_eq!(months_before(d("2024-03-31"), 1), d("2024-02-29"));
        assert_eq!(months_before(d("2024-01-15"), 13), d("2022-12-15"));
    }
}
