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
    /// Why this plan is one round of several in its year and need not cover every 清单 item
    /// (the year's other plans cover the rest); without it every item must be covered.
    pub partial: Option<String>,
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Frequency {
    /// Entities inspected within this many months before the window starts are left out
    /// (0: off). Being drawn at most once a year across all tasks is not optional.
    pub lookback_months: u32,
    /// Why this plan may draw entities another plan of its year has already drawn (a joint
    /// plan with another agency that re-visits, say); without it they are left out.
    pub revisit: Option<String>,
    /// Yearly caps on inspections per enterprise (国办发〔2024〕54号), in order: an entity takes
    /// the first rule it matches; one with as many inspections in the plan's year as its cap
    /// is left out of the pools. Empty: no caps.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub caps: Vec<CapRule>,
}

/// One yearly cap: the entities `filter` matches may be inspected at most `cap` times a year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapRule {
    /// What readers call the class (e.g. "重大风险" or "标准化一级").
    pub label: String,
    pub filter: Filter,
    pub cap: u32,
}

/// An entity a yearly cap leaves out: its cap and the inspections that reached it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capped {
    /// The rule (its place in `Frequency::caps`).
    pub rule: usize,
    pub cap: u32,
    pub inspections: u32,
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
    pub quota: Quota,
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

/// How many entities a task draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Quota {
    /// A number (`quota: 16`), divided across the split parts by their shares.
    Fixed(u32),
    /// A share of the task's pool at the freeze (`ratio: "30%"`); the task has no split.
    Ratio(Ratio),
    /// Each split part gives its own ratio of its own pool (Henan 2021: 30% of high-risk
    /// firms, 10% of medium-high ...).
    PerPart,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PartSize {
    /// Weight of this part in the task's fixed quota: `quota × share / Σ shares`, largest
    /// remainder.
    Share(u32),
    /// This part's own ratio of its pool (the task's quota is `Quota::PerPart`).
    Ratio(Ratio),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitPart {
    pub name: String,
    /// What the public pages call this part (e.g. `重大、较大风险`).
    pub label: String,
    /// Risk levels this part draws from (parts may overlap: a later part skips what an earlier
    /// one selected, so "at least 40% red/orange, the rest from everyone" is two parts).
    pub risks: Vec<RiskLevel>,
    pub size: PartSize,
}

/// A quota stated as a share of a pool, in basis points (1/100 of a percent), with optional
/// bounds: `quota = min(max, max(min, ⌈pool × basis_points / 10000⌉))` (spec section 1). Plans
/// say "抽查比例不低于 30%": rounding up never draws less than the stated share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ratio {
    pub basis_points: u32,
    pub min: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u32>,
}

impl Ratio {
    /// The quota for a pool of `pool` entities; integer arithmetic, so every verifier gets the
    /// same number.
    pub fn quota(&self, pool: usize) -> u32 {
        let share = (pool as u64 * u64::from(self.basis_points)).div_ceil(10_000);
        let q = u32::try_from(share).unwrap_or(u32::MAX).max(self.min);
        self.max.map_or(q, |m| q.min(m))
    }

    /// Parses a percentage as written in a plan: `"30%"`, `"2.5%"`, `"0.25%"` (above 0, at most
    /// 100, at most two decimals).
    pub fn parse_percent(s: &str) -> Result<u32, String> {
        let bad = || {
            format!(
                "`{s}` is not a percentage such as \"30%\" or \"2.5%\" (above 0, at most 100%, at \
                 most two decimals)"
            )
        };
        let digits = s.trim().strip_suffix('%').ok_or_else(bad)?;
        let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
        if whole.is_empty()
            || whole.len() > 3
            || frac.len() > 2
            || !whole
                .bytes()
                .chain(frac.bytes())
                .all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        let frac = format!("{frac:0<2}");
        let bp = whole.parse::<u32>().map_err(|_| bad())? * 100
            + frac.parse::<u32>().map_err(|_| bad())?;
        if bp == 0 || bp > 10_000 {
            return Err(bad());
        }
        Ok(bp)
    }

    /// The percentage as a plan writes it (`30%`, `2.5%`).
    pub fn percent(&self) -> String {
        let (whole, frac) = (self.basis_points / 100, self.basis_points % 100);
        match frac {
            0 => format!("{whole}%"),
            f if f % 10 == 0 => format!("{whole}.{}%", f / 10),
            f => format!("{whole}.{f:02}%"),
        }
    }
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

/// A stratum as the plan states it, before its pool is known.
struct Part<'a> {
    id: String,
    label: String,
    risks: &'a [RiskLevel],
    /// A number, or a ratio of the part's own pool.
    quota: Result<u32, Ratio>,
}

/// One unit of the draw: a task, or a task × split part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stratum {
    pub task: String,
    /// `task` or `task/part`.
    pub id: String,
    /// What the public pages call it: the task's name, or the split part's label.
    pub label: String,
    pub quota: u32,
    /// Where the quota is a share of the pool, the ratio it came from.
    pub ratio: Option<Ratio>,
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

/// What these strata draw in all (ratios evaluated on their pools).
pub fn total(strata: &[Stratum]) -> u32 {
    strata.iter().fold(0, |sum, s| sum.saturating_add(s.quota))
}

/// What `task` draws from these strata (a ratio's quota known only with its pool).
pub fn task_quota(strata: &[Stratum], task: &str) -> u32 {
    strata
        .iter()
        .filter(|s| s.task == task)
        .fold(0, |sum, s| sum.saturating_add(s.quota))
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
    /// the look-back period are left out, and so are those another plan of the same year has
    /// drawn (unless this plan names a reason to re-visit them).
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
        let mut recent = recent;
        let capped = self.capped(snapshot);
        recent.extend(capped.keys().copied());
        if self.frequency.revisit.is_none() {
            recent.extend(
                self.drawn_elsewhere(snapshot)
                    .map(|(_, uscc)| uscc.as_str()),
            );
        }
        let mut out = Vec::new();
        for task in &self.tasks {
            let entities = &snapshot.entities;
            let matcher = entities.matcher(&task.pool);
            let pool: Vec<u32> = (0..entities.len() as u32)
                .filter(|&i| matcher.matches(entities, i) && !recent.contains(entities.uscc(i)))
                .collect();
            let whole = |quota| Part {
                id: task.id.clone(),
                label: task.name.clone(),
                risks: &[],
                quota,
            };
            let parts: Vec<Part> = match (task.quota, task.split.as_slice()) {
                (Quota::Fixed(q), []) => vec![whole(Ok(q))],
                (Quota::Ratio(r), _) => vec![whole(Err(r))],
                (quota, split) => {
                    let shares: Vec<u32> = split
                        .iter()
                        .map(|p| match p.size {
                            PartSize::Share(s) => s,
                            PartSize::Ratio(_) => 0,
                        })
                        .collect();
                    let total = match quota {
                        Quota::Fixed(q) => q,
                        _ => 0,
                    };
                    split
                        .iter()
                        .zip(largest_remainder(total, &shares))
                        .map(|(p, q)| Part {
                            id: format!("{}/{}", task.id, p.name),
                            label: p.label.clone(),
                            risks: &p.risks,
                            quota: match p.size {
                                PartSize::Share(_) => Ok(q),
                                PartSize::Ratio(r) => Err(r),
                            },
                        })
                        .collect()
                }
            };
            for part in parts {
                let members: Vec<u32> = pool
                    .iter()
                    .copied()
                    .filter(|&i| {
                        part.risks.is_empty() || part.risks.contains(&snapshot.entities.risk(i))
                    })
                    .collect();
                let mut by_risk = BTreeMap::new();
                for &i in &members {
                    *by_risk.entry(snapshot.entities.risk(i)).or_insert(0) += 1;
                }
                out.push(Stratum {
                    task: task.id.clone(),
                    id: part.id,
                    label: part.label,
                    quota: part.quota.unwrap_or_else(|r| r.quota(members.len())),
                    ratio: part.quota.err(),
                    members,
                    by_risk,
                });
            }
        }
        out
    }

    /// The entities the yearly caps leave out: those with as many inspections in the plan's
    /// year as the cap of the first rule they match, by USCC (ascending).
    pub fn capped<'a>(&self, snapshot: &'a Snapshot) -> BTreeMap<&'a str, Capped> {
        let mut out = BTreeMap::new();
        let Some(counts) = snapshot.inspections.get(&self.year) else {
            return out;
        };
        if self.frequency.caps.is_empty() {
            return out;
        }
        let entities = &snapshot.entities;
        let matchers: Vec<_> = self
            .frequency
            .caps
            .iter()
            .map(|c| entities.matcher(&c.filter))
            .collect();
        for (uscc, &n) in counts {
            let Some(i) = entities.find(uscc) else {
                continue;
            };
            let Some(rule) = matchers.iter().position(|m| m.matches(entities, i)) else {
                continue;
            };
            let cap = self.frequency.caps[rule].cap;
            if n >= cap {
                out.insert(
                    entities.uscc(i),
                    Capped {
                        rule,
                        cap,
                        inspections: n,
                    },
                );
            }
        }
        out
    }

    /// The capped entities some task's pool holds: what the manifest lists (v5).
    pub fn capped_in_pools<'a>(&self, snapshot: &'a Snapshot) -> BTreeMap<&'a str, Capped> {
        let entities = &snapshot.entities;
        let pools: Vec<_> = self
            .tasks
            .iter()
            .map(|t| entities.matcher(&t.pool))
            .collect();
        self.capped(snapshot)
            .into_iter()
            .filter(|(uscc, _)| {
                entities
                    .find(uscc)
                    .is_some_and(|i| pools.iter().any(|m| m.matches(entities, i)))
            })
            .collect()
    }

    /// (plan, USCC) of the entities the other plans of this plan's year have drawn (official
    /// draws that stand).
    pub fn drawn_elsewhere<'a>(
        &'a self,
        snapshot: &'a Snapshot,
    ) -> impl Iterator<Item = &'a (String, String)> + 'a {
        snapshot
            .drawn
            .get(&i64::from(self.year))
            .into_iter()
            .flatten()
            .filter(move |(plan, _)| *plan != self.id)
    }

    /// The tasks' quotas added up (saturating: a plan from a script cannot reach the limit);
    /// `None` when a quota is a ratio, known only from the pool at the freeze.
    pub fn fixed_total(&self) -> Option<u32> {
        self.tasks.iter().try_fold(0u32, |sum, t| match t.quota {
            Quota::Fixed(q) => Some(sum.saturating_add(q)),
            _ => None,
        })
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

    /// Golden values of the rounding rule the verifiers re-compute (spec section 1).
    #[test]
    fn ratio_quotas_round_up_within_their_bounds() {
        let r = |percent: &str, min, max| Ratio {
            basis_points: Ratio::parse_percent(percent).expect("percent"),
            min,
            max,
        };
        assert_eq!(r("30%", 0, None).quota(17), 6); // 5.1 → 6
        assert_eq!(r("30%", 0, None).quota(10), 3); // exact
        assert_eq!(r("2%", 0, None).quota(0), 0);
        assert_eq!(r("2%", 1, None).quota(0), 1); // the bound wins; a shortfall then
        assert_eq!(r("1%", 2, None).quota(120), 2);
        assert_eq!(r("100%", 0, Some(20)).quota(350), 20);
        assert_eq!(r("0.25%", 0, None).quota(401), 2); // 1.0025 → 2
        assert_eq!(r("12.5%", 0, None).quota(8), 1);
        assert_eq!(r("100%", 0, None).quota(u32::MAX as usize + 5), u32::MAX);
        for (text, bp, shown) in [
            ("30%", 3000, "30%"),
            ("2.5%", 250, "2.5%"),
            ("0.25%", 25, "0.25%"),
            ("100%", 10_000, "100%"),
            (" 7.50% ", 750, "7.5%"),
        ] {
            assert_eq!(Ratio::parse_percent(text), Ok(bp), "{text}");
            assert_eq!(r(text, 0, None).percent(), shown);
        }
        for bad in [
            "30", "0%", "0.00%", "100.01%", "101%", "1.234%", "-5%", "%", ".5%", "3 0%", "３0%",
            "1e2%",
        ] {
            assert!(Ratio::parse_percent(bad).is_err(), "{bad}");
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
