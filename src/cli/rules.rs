//! `rules check`, `rules show` and `rules diff`: the yearly plan script, evaluated against the
//! registry in the database.

use std::process::ExitCode;

use anyhow::Result;

use super::{Invalid, RulesCommand, print_json};
use suiji::ops::Ctx;
use suiji::ops::plan::read_script;
use suiji::registry::RiskLevel;
use suiji::rules;

pub(super) async fn command(ctx: &Ctx<'_>, command: RulesCommand) -> Result<ExitCode> {
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
                    "total_quota": plan.map(|p| p.total_quota()),
                    "findings": findings,
                }))?;
            } else {
                for f in findings {
                    eprintln!("{f}");
                }
                match &result {
                    Ok(c) => println!(
                        "{name}: ok: plan {} ({}), {} tasks, total quota {}, {} warning(s)",
                        c.plan.id,
                        c.plan.year,
                        c.plan.tasks.len(),
                        c.plan.total_quota(),
                        c.findings.len()
                    ),
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
            let summary = rules::check::summary(&plan, &strata, &ctx.vocab, clock.now());
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
        RulesCommand::Diff { old, new, json } => {
            let mut summaries = Vec::new();
            for path in [&old, &new] {
                let (name, text) = read_script(path)?;
                let plan =
                    rules::evaluate(&name, &text, ctx).map_err(|f| Invalid(f.to_string()))?;
                let strata = plan.strata(&ctx.snapshot);
                summaries.push(rules::check::summary(
                    &plan,
                    &strata,
                    &ctx.vocab,
                    clock.now(),
                ));
            }
            let changes = rules::diff::diff(&summaries[0], &summaries[1]);
            if json {
                print_json(&changes)?;
            } else {
                if changes.is_empty() {
                    println!("no differences");
                }
                let show = |v: &Option<serde_json::Value>| match v {
                    Some(v) => v.to_string(),
                    None => "(none)".into(),
                };
                for c in &changes {
                    println!("{}: {} -> {}", c.path, show(&c.old), show(&c.new));
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
    println!(
        "\n{:<22} {:>5} {:>7} {:>5} {:>6} {:>6} {:>5}  {:<14} {:<28} division",
        "task / stratum", "quota", "pool", "red", "orange", "yellow", "blue", "team", "items"
    );
    // One row's quota, pool size and pool per risk level, as the header above lays them out.
    let counts = |quota: u32, pool: usize, by_risk: &std::collections::BTreeMap<RiskLevel, u32>| {
        let n = |r| by_risk.get(&r).copied().unwrap_or(0);
        format!(
            "{quota:>5} {pool:>7} {:>5} {:>6} {:>6} {:>5}",
            n(RiskLevel::Red),
            n(RiskLevel::Orange),
            n(RiskLevel::Yellow),
            n(RiskLevel::Blue)
        )
    };
    for t in &s.tasks {
        let team = match &t.joint {
            Some(j) => format!("{} + {} partner", t.team_size, j.members),
            None => t.team_size.to_string(),
        };
        println!(
            "{:<22} {}  {team:<14} {:<28} {}",
            t.id,
            counts(t.quota, t.pool_size, &t.pool_by_risk),
            t.items.join(","),
            t.division_label
        );
        if t.strata.len() > 1 {
            for st in &t.strata {
                println!(
                    "  {:<20} {}",
                    st.id,
                    counts(st.quota, st.pool_size, &st.by_risk)
                );
            }
        }
    }
    println!("\nschedules (Asia/Shanghai):");
    for sc in &s.schedules {
        println!(
            "  {:<8} {:<16} next {}",
            sc.name,
            sc.cron,
            sc.next_run.as_deref().unwrap_or("never")
        );
    }
}
