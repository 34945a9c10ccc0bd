//! Plan-level checks: what a script can only be judged on once it is a whole plan set against
//! the registry. Quotas that pools cannot fill (counting what earlier strata may take), sectors
//! and 清单 items no task covers (全覆盖), teams the officer pool cannot staff under the recusal
//! rules and caps, holiday data the window needs. Pure: a plan and a context in, findings out.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Datelike;

use serde::Serialize;

use super::{Context, Finding};
use crate::plan::{Location, Plan, Stratum};
use crate::registry::{Officer, OfficerStatus, RiskLevel, Snapshot};

/// The evaluated plan as `rules show` prints it and `rules diff` compares it.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub id: String,
    pub year: i32,
    pub title: String,
    pub window: crate::plan::Window,
    /// The quotas added up, ratios evaluated on the registry as it stands.
    pub total_quota: u32,
    pub stated_total: Option<u32>,
    pub source: crate::plan::Source,
    pub seed: crate::plan::SeedSource,
    pub frequency: crate::plan::Frequency,
    /// Entities the other plans of the year have drawn: left out of this plan's pools, or, with
    /// `frequency.revisit`, drawn again.
    pub drawn_elsewhere: usize,
    /// Each yearly cap and how many entities of the pools it leaves out today.
    pub caps: Vec<CapSummary>,
    pub teams: crate::plan::TeamRules,
    pub deadlines: crate::plan::Deadlines,
    pub schedules: Vec<ScheduleSummary>,
    pub tasks: Vec<TaskSummary>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CapSummary {
    pub label: String,
    pub cap: u32,
    /// Entities of the plan's pools with `cap` inspections or more this year.
    pub excluded: usize,
}

/// What each yearly cap of `plan` leaves out of its pools on the registry as it stands.
pub fn caps(plan: &Plan, snapshot: &crate::registry::Snapshot) -> Vec<CapSummary> {
    let capped = plan.capped_in_pools(snapshot);
    plan.frequency
        .caps
        .iter()
        .enumerate()
        .map(|(i, c)| CapSummary {
            label: c.label.clone(),
            cap: c.cap,
            excluded: capped.values().filter(|x| x.rule == i).count(),
        })
        .collect()
}

#[derive(Debug, Clone, Serialize)]
pub struct ScheduleSummary {
    pub name: String,
    pub cron: String,
    pub next_run: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TaskSummary {
    pub id: String,
    pub name: String,
    pub division: String,
    pub division_label: String,
    pub quota: u32,
    pub pool_size: usize,
    pub pool_by_risk: BTreeMap<RiskLevel, u32>,
    pub pool: crate::plan::Filter,
    pub strata: Vec<StratumSummary>,
    pub joint: Option<crate::plan::Joint>,
    pub team_size: u32,
    pub items: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StratumSummary {
    pub id: String,
    pub label: String,
    pub quota: u32,
    /// Where `quota` is a share of `pool_size`: the ratio (`30%` with its bounds).
    pub ratio: Option<crate::plan::Ratio>,
    pub pool_size: usize,
    pub by_risk: BTreeMap<RiskLevel, u32>,
}

pub fn summary(
    plan: &Plan,
    strata: &[Stratum],
    ctx: &Context,
    now: chrono::DateTime<chrono_tz::Tz>,
) -> Summary {
    let vocab = &ctx.vocab;
    let tasks = plan
        .tasks
        .iter()
        .map(|t| {
            let own: Vec<&Stratum> = strata.iter().filter(|s| s.task == t.id).collect();
            let members: BTreeSet<u32> =
                own.iter().flat_map(|s| s.members.iter().copied()).collect();
            TaskSummary {
                id: t.id.clone(),
                name: t.name.clone(),
                division: t.division.clone(),
                division_label: vocab
                    .division(&t.division)
                    .map(|d| d.label.clone())
                    .unwrap_or_default(),
                quota: crate::plan::task_quota(strata, &t.id),
                pool_size: members.len(),
                pool_by_risk: union_by_risk(&own),
                pool: t.pool.clone(),
                strata: own
                    .iter()
                    .map(|s| StratumSummary {
                        id: s.id.clone(),
                        label: s.label.clone(),
                        quota: s.quota,
                        ratio: s.ratio,
                        pool_size: s.pool_size(),
                        by_risk: s.by_risk.clone(),
                    })
                    .collect(),
                joint: t.joint.clone(),
                team_size: t.team_size,
                items: t.items.clone(),
            }
        })
        .collect();
    Summary {
        id: plan.id.clone(),
        year: plan.year,
        title: plan.title.clone(),
        window: plan.window,
        total_quota: crate::plan::total(strata),
        stated_total: plan.total_quota,
        source: plan.source.clone(),
        seed: plan.seed.clone(),
        frequency: plan.frequency.clone(),
        drawn_elsewhere: plan
            .drawn_elsewhere(&ctx.snapshot)
            .map(|(_, uscc)| uscc)
            .collect::<BTreeSet<_>>()
            .len(),
        caps: caps(plan, &ctx.snapshot),
        teams: plan.teams.clone(),
        deadlines: plan.deadlines.clone(),
        schedules: plan
            .schedules
            .all()
            .iter()
            .map(|(name, expr)| ScheduleSummary {
                name: name.to_string(),
                cron: expr.to_string(),
                next_run: super::next_run(expr, now).map(crate::clock::stamp),
            })
            .collect(),
        tasks,
    }
}

/// Risk counts of a task's whole pool. A split part filters the task's pool by risk level only,
/// so for each level a part holds either all of the pool's entities of that level or none: the
/// largest count per level is the pool's.
fn union_by_risk(own: &[&Stratum]) -> BTreeMap<RiskLevel, u32> {
    let mut out: BTreeMap<RiskLevel, u32> = BTreeMap::new();
    for s in own {
        for (&r, &n) in &s.by_risk {
            let e = out.entry(r).or_insert(0);
            *e = (*e).max(n);
        }
    }
    out
}

/// Size of the intersection of two ascending index lists.
fn overlap(a: &[u32], b: &[u32]) -> usize {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    n
}

/// The freeze must be able to happen before the seed is public and the draw after it: in the
/// year the seed becomes public (usually the plan's, sometimes the one before), the freeze
/// schedule first fires before `available_at` and the draw schedule at or after it; and the
/// seed is public before the window ends.
fn seed_timing(plan: &Plan, out: &mut Vec<Finding>) {
    let file = plan.source.file.as_str();
    let shanghai = chrono_tz::Asia::Shanghai;
    let available = plan.seed.available_at.with_timezone(&shanghai);
    let year = available.year();
    let Some(start) = chrono::NaiveDate::from_ymd_opt(year, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .and_then(|t| t.and_local_timezone(shanghai).earliest())
    else {
        return;
    };
    let fmt = |t: Option<chrono::DateTime<chrono_tz::Tz>>| {
        t.map_or("never".to_string(), |t| {
            t.format("%Y-%m-%d %H:%M:%S").to_string()
        })
    };
    let freeze = super::next_run(&plan.schedules.freeze, start);
    if freeze.is_none_or(|f| f >= available) {
        out.push(Finding::error(
            file,
            plan.at,
            format!(
                "the freeze schedule first fires in {} at {}, not before the seed becomes public ({}): the manifest could not be frozen in time",
                plan.year,
                fmt(freeze),
                fmt(Some(available))
            ),
        ));
    }
    let draw = super::next_run(&plan.schedules.draw, start);
    if draw.is_none_or(|d| d < available) {
        out.push(Finding::error(
            file,
            plan.at,
            format!(
                "the draw schedule first fires in {} at {}, before the seed becomes public ({}): schedule it after",
                plan.year,
                fmt(draw),
                fmt(Some(available))
            ),
        ));
    }
    // A lottery announces results only on its draw days: digits of another day never come.
    if let Some(game) = plan
        .seed
        .game
        .as_deref()
        .and_then(crate::draw::lottery::game)
        && !game.days.contains(&available.weekday())
    {
        out.push(Finding::warning(
            file,
            plan.at,
            format!(
                "the seed is public on {} ({:?}), a day {} does not draw on (it draws on {:?}): \
                 check the lottery day",
                available.date_naive(),
                available.weekday(),
                game.name,
                game.days
            ),
        ));
    }
    if available.date_naive() > plan.window.end {
        out.push(Finding::error(
            file,
            plan.at,
            format!(
                "the seed becomes public on {}, after the window ends ({})",
                available.date_naive(),
                plan.window.end
            ),
        ));
    }
}

/// Everything wrong with (errors) or worth knowing about (warnings) a plan.
pub fn check(plan: &Plan, strata: &[Stratum], ctx: &Context) -> Vec<Finding> {
    let file = plan.source.file.as_str();
    let mut out = Vec::new();
    let at_plan = plan.at;
    let task_at = |id: &str| plan.task(id).map(|t| t.at).unwrap_or(at_plan);

    // Holiday data: the window's years are required; the next year's only warned about, since
    // the State Council publishes it in November.
    if let Err(e) = ctx.calendar.covers(plan.window.start, plan.window.end) {
        out.push(Finding::error(file, at_plan, e.to_string()));
    } else if let Err(e) = ctx.calendar.year(plan.window.end.year() + 1) {
        out.push(Finding::warning(
            file,
            at_plan,
            format!("deadlines falling after the window cannot be computed yet: {e}"),
        ));
    }
    for key in &plan.schedules.ignored {
        out.push(Finding::warning(
            file,
            at_plan,
            format!(
                "schedules.{key} is ignored: the nightly check and the monthly report are the \
                 department's, over every plan's tasks, and run on the configuration's \
                 [daemon] {key}; remove it from the script"
            ),
        ));
    }
    if plan.window.start.year() != plan.year {
        out.push(Finding::warning(
            file,
            at_plan,
            format!(
                "the window starts in {}, not in the plan's year {}",
                plan.window.start.year(),
                plan.year
            ),
        ));
    }

    seed_timing(plan, &mut out);

    match (plan.fixed_total(), plan.total_quota) {
        (Some(total), Some(stated)) if stated != total => out.push(Finding::error(
            file,
            at_plan,
            format!("the tasks' quotas add up to {total} but the plan states a total of {stated}"),
        )),
        (None, Some(stated)) => out.push(Finding::error(
            file,
            at_plan,
            format!(
                "the plan states a total of {stated}, but a ratio's quota is known only from \
                 its pool at the freeze: drop `total`"
            ),
        )),
        _ => {}
    }

    // Quotas against pools, in draw order: a stratum may lose to earlier strata up to their
    // quota of the entities the two share (each entity is drawn at most once a year).
    for (i, s) in strata.iter().enumerate() {
        let what = if s.id == s.task {
            format!("task `{}`", s.task)
        } else {
            format!("task `{}` stratum `{}`", s.task, s.id)
        };
        let size = s.pool_size();
        if size < s.quota as usize {
            out.push(Finding::error(
                file,
                task_at(&s.task),
                format!(
                    "{what} quota {} but its pool has {size} eligible entities",
                    s.quota
                ),
            ));
            continue;
        }
        let mut taken = 0usize;
        let mut by = Vec::new();
        for earlier in &strata[..i] {
            let shared = overlap(&s.members, &earlier.members);
            if shared > 0 {
                taken += shared.min(earlier.quota as usize);
                by.push(earlier.id.clone());
            }
        }
        let available = size - taken.min(size);
        if available < s.quota as usize {
            out.push(Finding::error(
                file,
                task_at(&s.task),
                format!(
                    "{what} quota {} may not be met: its pool has {size} eligible entities but \
                     earlier strata ({}) may take {taken} of them",
                    s.quota,
                    by.join(", ")
                ),
            ));
        } else if available < 2 * s.quota as usize {
            out.push(Finding::warning(
                file,
                task_at(&s.task),
                format!(
                    "{what}: only {available} candidates for {} selections and as many alternates",
                    s.quota
                ),
            ));
        }
    }

    // 全覆盖: every in-scope sector is drawn from by some task.
    for sector in &plan.scope {
        let covered = plan
            .tasks
            .iter()
            .any(|t| t.pool.sectors.is_empty() || t.pool.sectors.contains(sector));
        if !covered {
            let label = ctx
                .vocab
                .sector(sector)
                .map(|s| s.label.as_str())
                .unwrap_or(sector);
            out.push(Finding::error(
                file,
                at_plan,
                format!(
                    "sector `{sector}` ({label}) is in the plan's scope but no task draws from it"
                ),
            ));
        }
    }

    // 清单: tasks cite known items, and every item is covered.
    let known: BTreeSet<&str> = ctx.snapshot.items.iter().map(|i| i.code.as_str()).collect();
    if known.is_empty() {
        out.push(Finding::warning(
            file,
            at_plan,
            "no 清单 items are imported: item coverage was not checked",
        ));
    } else {
        for t in &plan.tasks {
            if t.items.is_empty() {
                out.push(Finding::error(
                    file,
                    t.at,
                    format!(
                        "task `{}` covers no 清单 item: every inspection must cite its items",
                        t.id
                    ),
                ));
            }
            for code in &t.items {
                if !known.contains(code.as_str()) {
                    out.push(Finding::error(
                        file,
                        t.at,
                        format!("task `{}`: unknown 清单 item `{code}`", t.id),
                    ));
                }
            }
        }
        // A round of several plans a year covers its share; the year's plans, the whole 清单.
        let uncovered: Vec<String> = ctx
            .snapshot
            .items
            .iter()
            .filter(|item| !plan.tasks.iter().any(|t| t.items.contains(&item.code)))
            .map(|item| format!("`{}` ({})", item.code, item.name))
            .collect();
        match &plan.partial {
            None => out.extend(uncovered.iter().map(|item| {
                Finding::error(
                    file,
                    at_plan,
                    format!(
                        "清单 item {item} is covered by no task (a plan that is one round of \
                         its year says so with `partial: \"reason\"`)"
                    ),
                )
            })),
            Some(reason) if !uncovered.is_empty() => out.push(Finding::warning(
                file,
                at_plan,
                format!(
                    "清单 items left to the year's other plans ({reason}): {}",
                    uncovered.join(", ")
                ),
            )),
            Some(_) => {}
        }
    }

    staffing(plan, strata, ctx, &mut out);

    if plan.seed.kind == crate::plan::SeedKind::Os {
        out.push(Finding::warning(
            file,
            at_plan,
            "seed kind \"os\": unattended, but weaker than a public ceremony because nobody \
             outside saw the seed made",
        ));
    }
    out
}

fn eligible<'a>(plan: &Plan, snapshot: &'a Snapshot) -> impl Iterator<Item = &'a Officer> {
    let start = plan.window.start;
    let need_valid = plan.teams.require_valid_certificate;
    snapshot.officers.iter().filter(move |o| {
        o.status == OfficerStatus::Active
            && (!need_valid || o.valid_until.is_none_or(|d| d >= start))
    })
}

/// Can the officer pool staff every team? Counts slots against the per-officer cap, and, under
/// the home-city rule, checks every city the task's pool reaches.
fn staffing(plan: &Plan, strata: &[Stratum], ctx: &Context, out: &mut Vec<Finding>) {
    let file = plan.source.file.as_str();
    let department = ctx.vocab.department().code.clone();
    let cap = plan.teams.cap_per_officer as usize;
    let officers: Vec<&Officer> = eligible(plan, &ctx.snapshot).collect();
    let label = |d: &str| {
        ctx.vocab
            .division(d)
            .map(|x| x.label.clone())
            .unwrap_or_else(|| d.to_string())
    };
    let city_name = |c: &str| ctx.vocab.unit(c).map(|u| u.name).unwrap_or("?");

    // Per division: cadre slots and member slots over all its tasks.
    let mut by_division: BTreeMap<&str, (usize, usize, Location)> = BTreeMap::new();
    for t in &plan.tasks {
        let e = by_division.entry(&t.division).or_insert((0, 0, t.at));
        let quota = crate::plan::task_quota(strata, &t.id) as usize;
        e.0 += quota;
        e.1 += quota * t.team_size as usize;
    }
    for (division, (teams, seats, at)) in by_division {
        let own: Vec<&&Officer> = officers
            .iter()
            .filter(|o| o.agency == department && o.division.as_deref() == Some(division))
            .collect();
        let cadres = own.iter().filter(|o| o.cadre).count();
        if cadres * cap < teams {
            out.push(Finding::error(
                file,
                at,
                format!(
                    "{} has {cadres} eligible 处级 cadres; at most {cap} inspections each covers {} \
                     of the {teams} its tasks need",
                    label(division),
                    cadres * cap
                ),
            ));
        }
        if own.len() * cap < seats {
            out.push(Finding::error(
                file,
                at,
                format!(
                    "{} has {} eligible officers; at most {cap} inspections each fills {} of the \
                     {seats} team seats its tasks need",
                    label(division),
                    own.len(),
                    own.len() * cap
                ),
            ));
        }
    }

    // Joint tasks: partner seats.
    let mut by_partner: BTreeMap<&str, (usize, Location)> = BTreeMap::new();
    for t in &plan.tasks {
        if let Some(j) = &t.joint {
            let e = by_partner.entry(&j.agency).or_insert((0, t.at));
            e.0 += crate::plan::task_quota(strata, &t.id) as usize * j.members as usize;
        }
    }
    for (agency, (seats, at)) in by_partner {
        let n = officers.iter().filter(|o| o.agency == agency).count();
        if n * cap < seats {
            let name = ctx
                .vocab
                .agency(agency)
                .map(|a| a.label.clone())
                .unwrap_or_default();
            out.push(Finding::error(
                file,
                at,
                format!(
                    "{name} has {n} eligible officers; at most {cap} inspections each fills {} of \
                     the {seats} partner seats joint tasks need",
                    n * cap
                ),
            ));
        }
    }

    // Each task: someone must be able to go to every city in its pool.
    for t in &plan.tasks {
        let cities: BTreeSet<&str> = strata
            .iter()
            .filter(|s| s.task == t.id)
            .flat_map(|s| s.members.iter())
            .map(|&i| ctx.snapshot.entities.city(i))
            .collect();
        let own: Vec<&Officer> = officers
            .iter()
            .copied()
            .filter(|o| {
                o.agency == department && o.division.as_deref() == Some(t.division.as_str())
            })
            .collect();
        let partners: Vec<&Officer> = match &t.joint {
            Some(j) => officers
                .iter()
                .copied()
                .filter(|o| o.agency == j.agency)
                .collect(),
            None => Vec::new(),
        };
        let check_city = |city: Option<&str>| -> Option<String> {
            let away = |o: &&Officer| {
                !plan.teams.recusal.home_city || city.is_none() || o.home_city.as_deref() != city
            };
            let cadres = own.iter().filter(|o| o.cadre && away(o)).count();
            let members = own.iter().filter(|o| away(o)).count();
            let where_ = city
                .map(|c| format!(" for entities in {}", city_name(c)))
                .unwrap_or_default();
            if cadres == 0 {
                return Some(format!(
                    "no eligible 处级 cadre of {}{where_}",
                    label(&t.division)
                ));
            }
            if members < t.team_size as usize {
                return Some(format!(
                    "{} has {members} eligible officers{where_}, fewer than the team size {}",
                    label(&t.division),
                    t.team_size
                ));
            }
            if let Some(j) = &t.joint {
                let p = partners.iter().filter(|o| away(o)).count();
                if p < j.members as usize {
                    return Some(format!(
                        "only {p} eligible partner officers{where_}, fewer than the {} a joint team needs",
                        j.members
                    ));
                }
            }
            None
        };
        let problems: Vec<String> = if plan.teams.recusal.home_city {
            cities.iter().filter_map(|c| check_city(Some(c))).collect()
        } else {
            check_city(None).into_iter().collect()
        };
        for p in problems {
            let rule = if plan.teams.recusal.home_city {
                " under the home-city recusal rule"
            } else {
                ""
            };
            out.push(Finding::error(
                file,
                t.at,
                format!("task `{}` cannot be staffed: {p}{rule}", t.id),
            ));
        }
    }
}
