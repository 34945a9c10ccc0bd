//! `rules check`, `rules show` and `rules diff`: the yearly plan script, evaluated against the
//! registry in the database.

use std::process::ExitCode;

use anyhow::Result;

use super::table::{Align, Table};
use super::{Invalid, RulesCommand, print_json};
use suiji::ops::Ctx;
use suiji::ops::plan::read_script;
use suiji::registry::RiskLevel;
use suiji::rules;

pub(super) async fn command(ctx: &Ctx<'_>, command: RulesCommand) -> Result<ExitCode> {
    let ops = ctx;
    let settings = ctx.settings;
    let clock = ctx.clock;
    let rc = suiji::ops::plan::context(ctx.store, settings).await?;
    let ctx = &rc;
    let default = || settings.rules.file.clone();
    match command {
        RulesCommand::Check { file, json } => {
            let (name, text) = read_script(&file.unwrap_or_else(default))?;
            let result = rules::load(&name, &text, ctx);
            let (plan, findings) = match &result {
                Ok(c) => (Some(&c.plan), &c.findings),
                Err(f) => (None, f),
            };
            if json {
                print_json(&serde_json::json!({
                    "ok": result.is_ok(),
                    "file": name,
                    "plan": plan.map(|p| &p.id),
                    "total_quota": plan.map(|p| suiji::plan::total(&p.strata(&ctx.snapshot))),
                    "caps": plan.map(|p| rules::check::caps(p, &ctx.snapshot)),
                    "findings": findings,
                }))?;
            } else {
                for f in findings {
                    eprintln!("{f}");
                }
                match &result {
                    Ok(c) => {
                        println!(
                            "{name}: ok: plan {} ({}), {} tasks, total quota {}, {} warning(s)",
                            c.plan.id,
                            c.plan.year,
                            c.plan.tasks.len(),
                            suiji::plan::total(&c.plan.strata(&ctx.snapshot)),
                            c.findings.len()
                        );
                        print_caps(&rules::check::caps(&c.plan, &ctx.snapshot), c.plan.year);
                    }
                    Err(f) => eprintln!(
                        "{name}: {} error(s); this script cannot be used",
                        f.iter()
                            .filter(|x| x.severity == rules::Severity::Error)
                            .count()
                    ),
                }
            }
            Ok(if result.is_ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            })
        }
        RulesCommand::Show { file, json } => {
            let (name, text) = read_script(&file.unwrap_or_else(default))?;
            let plan = rules::evaluate(&name, &text, ctx).map_err(|f| Invalid(f.to_string()))?;
            let strata = plan.strata(&ctx.snapshot);
            let findings = rules::check::check(&plan, &strata, ctx);
            let summary = rules::check::summary(&plan, &strata, ctx, clock.now());
            if json {
                let mut v = serde_json::to_value(&summary)?;
                v["findings"] = serde_json::to_value(&findings)?;
                print_json(&v)?;
            } else {
                print_summary(&summary);
                for f in &findings {
                    println!("{f}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        RulesCommand::Next {
            file,
            year,
            out,
            json,
        } => {
            let w = suiji::ops::plan::write_next(ctx, &file, year, out.as_deref())?;
            if json {
                print_json(&w)?;
                return Ok(ExitCode::SUCCESS);
            }
            println!(
                "{}: plan {} for {} written from {}",
                w.file.display(),
                w.next.id,
                w.next.year,
                file.display()
            );
            for (from, to) in &w.next.moved {
                println!("  {from} -> {to}");
            }
            println!("to decide before it is used:");
            for d in &w.next.decide {
                println!("  - {}", suiji::text::quote(d));
            }
            if w.ok {
                println!(
                    "its check passes on today's registry ({} warning(s)):",
                    w.findings.len()
                );
            } else {
                println!("its check does not pass yet: fix what follows before using it:");
            }
            for f in &w.findings {
                println!("  - {}", suiji::text::quote(&f.to_string()));
            }
            Ok(ExitCode::SUCCESS)
        }
        RulesCommand::Diff {
            old,
            new,
            lines,
            json,
        } => {
            let file = |p| suiji::ops::plan::Script::File(Some(p));
            let c = suiji::ops::plan::compare(ops, file(&old), file(&new)).await?;
            let (Some(changes), None) = (&c.changes, &c.problem) else {
                return Err(Invalid(c.problem.unwrap_or_default()).into());
            };
            if json {
                if lines {
                    print_json(&serde_json::json!({ "changes": changes, "lines": c.lines }))?;
                } else {
                    print_json(changes)?;
                }
                return Ok(ExitCode::SUCCESS);
            }
            if changes.is_empty() {
                println!("no differences in the evaluated plans");
            }
            let show = |v: &Option<serde_json::Value>| match v {
                Some(v) => v.to_string(),
                None => "(none)".into(),
            };
            for c in changes {
                println!("{}: {} -> {}", c.path, show(&c.old), show(&c.new));
            }
            if lines {
                for hunk in &c.lines {
                    let at = |l: Option<&suiji::rules::diff::Line>, old: bool| {
                        l.and_then(|l| if old { l.old } else { l.new }).unwrap_or(0)
                    };
                    println!(
                        "@@ -{} +{} @@",
                        at(hunk.iter().find(|l| l.old.is_some()), true),
                        at(hunk.iter().find(|l| l.new.is_some()), false)
                    );
                    for l in hunk {
                        let mark = match l.tag {
                            "removed" => '-',
                            "added" => '+',
                            _ => ' ',
                        };
                        println!("{mark}{}", suiji::text::shown(&l.text));
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn print_summary(s: &rules::check::Summary) {
    println!("{} ({}) {}", s.id, s.year, s.title);
    println!("script: {} (sha256 {})", s.source.file, s.source.sha256);
    println!(
        "window: {} .. {}   total quota: {}{}",
        s.window.start,
        s.window.end,
        s.total_quota,
        s.stated_total
            .map(|t| format!(" (plan states {t})"))
            .unwrap_or_default()
    );
    println!(
        "seed: {}: {} (public from {})",
        s.seed.kind.name(),
        s.seed.source,
        s.seed.available_at
    );
    let mut recusal = vec!["declared conflicts"];
    if s.teams.recusal.home_city {
        recusal.push("home city");
    }
    if s.teams.recusal.last_year {
        recusal.push("last year's officer");
    }
    println!(
        "teams: {} department members incl. the responsible cadre; at most {} inspections per officer; \
         certificates {}; recusal: {}",
        s.teams.size,
        s.teams.cap_per_officer,
        if s.teams.require_valid_certificate {
            "must be valid"
        } else {
            "not checked"
        },
        recusal.join(", ")
    );
    match (&s.frequency.revisit, s.drawn_elsewhere) {
        (_, 0) => {}
        (None, n) => println!(
            "left out: {n} entities the other plans of {} have drawn (at most once a year)",
            s.year
        ),
        (Some(why), n) => println!(
            "may draw again {n} entities the other plans of {} have drawn: {why}",
            s.year
        ),
    }
    print_caps(&s.caps, s.year);
    if s.frequency.lookback_months > 0 {
        println!(
            "look-back: entities inspected in the last {} months are left out",
            s.frequency.lookback_months
        );
    }
    let d = &s.deadlines;
    println!(
        "deadlines (working days): results {} after completion, penalties {} after decision, \
         函告 {} before inspecting, planned dates within {} of the draw, reminders {:?} before each",
        d.results, d.penalties, d.advance_notice, d.schedule_within, d.reminders
    );
    println!();
    let mut table = Table::new(&[
        ("task / stratum", Align::Left),
        ("quota", Align::Right),
        ("pool", Align::Right),
        ("red", Align::Right),
        ("orange", Align::Right),
        ("yellow", Align::Right),
        ("blue", Align::Right),
        ("team", Align::Left),
        ("items", Align::Left),
        ("division", Align::Left),
    ]);
    // One row's quota (with the ratio it came from), pool size and pool per risk level, as
    // the header above lays them out.
    let counts = |quota: u32,
                  ratio: Option<&suiji::plan::Ratio>,
                  pool: usize,
                  by_risk: &std::collections::BTreeMap<RiskLevel, u32>| {
        let n = |r| by_risk.get(&r).copied().unwrap_or(0).to_string();
        let quota = match ratio {
            Some(r) => {
                let bounds = [
                    (r.min > 0).then(|| format!(" ≥{}", r.min)),
                    r.max.map(|m| format!(" ≤{m}")),
                ];
                format!(
                    "{quota} = {}{}",
                    r.percent(),
                    bounds.into_iter().flatten().collect::<String>()
                )
            }
            None => quota.to_string(),
        };
        vec![
            quota,
            pool.to_string(),
            n(RiskLevel::Red),
            n(RiskLevel::Orange),
            n(RiskLevel::Yellow),
            n(RiskLevel::Blue),
        ]
    };
    for t in &s.tasks {
        let team = match &t.joint {
            Some(j) => format!("{} + {} partner", t.team_size, j.members),
            None => t.team_size.to_string(),
        };
        let whole = match t.strata.as_slice() {
            [one] => one.ratio.as_ref(),
            _ => None,
        };
        let mut row = vec![t.id.clone()];
        row.extend(counts(t.quota, whole, t.pool_size, &t.pool_by_risk));
        row.extend([team, t.items.join(","), t.division_label.clone()]);
        table.row(row);
        if t.strata.len() > 1 {
            for st in &t.strata {
                let mut row = vec![format!("  {} {}", st.id, st.label)];
                row.extend(counts(
                    st.quota,
                    st.ratio.as_ref(),
                    st.pool_size,
                    &st.by_risk,
                ));
                table.row(row);
            }
        }
    }
    table.print();
    if s.tasks
        .iter()
        .flat_map(|t| &t.strata)
        .any(|st| st.ratio.is_some())
    {
        println!(
            "a quota `N = 30%` is that ratio of its pool as the registry stands now, rounded up \
             within its bounds; the draw takes it of the pool at the freeze"
        );
    }
    println!("\nschedules (Asia/Shanghai):");
    let mut table = Table::new(&[
        ("job", Align::Left),
        ("cron", Align::Left),
        ("next", Align::Left),
    ])
    .indent(2);
    for sc in &s.schedules {
        table.row([
            sc.name.to_string(),
            sc.cron.clone(),
            sc.next_run.clone().unwrap_or_else(|| "never".into()),
        ]);
    }
    table.print();
}

/// One line per yearly cap: its class, the cap, and how many it leaves out today.
fn print_caps(caps: &[rules::check::CapSummary], year: i32) {
    for c in caps {
        println!(
            "yearly cap: {} at most {} inspection(s) in {year}: {} left out (at their cap already)",
            suiji::text::quote(&c.label),
            c.cap,
            suiji::text::count(c.excluded, "entity", "entities")
        );
    }
}
