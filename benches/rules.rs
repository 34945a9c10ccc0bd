//! Plan evaluation over a large registry: `cargo bench --bench rules [-- ENTITIES]` (default
//! 1,000,000). Times the three parts of `rules check` separately — the Rhai script, the pools
//! (filters, look-back and risk splits over every entity), and the plan-level checks (pool
//! overlaps between strata, staffing, coverage) — over five runs, and prints min and median.

use std::sync::Arc;
use std::time::{Duration, Instant};

use suiji::calendar::Calendar;
use suiji::config::{Overrides, Settings};
use suiji::rules::{self, Context};

mod support;

fn main() -> anyhow::Result<()> {
    let n = support::size_arg(1_000_000)?;
    let settings = Settings::load(&Overrides::default())?;
    let vocab = settings.vocabulary()?;
    let t = Instant::now();
    let snapshot = suiji::demo::generate(n, 1, &vocab)
        .snapshot(&vocab)
        .map_err(|p| anyhow::anyhow!("{p}"))?;
    println!(
        "registry: {} entities, {} officers (generated and parsed in {:.2} s, not timed below)",
        snapshot.entities.len(),
        snapshot.officers.len(),
        t.elapsed().as_secs_f64()
    );
    let ctx = Context {
        snapshot: Arc::new(snapshot),
        vocab: Arc::new(vocab),
        calendar: Arc::new(Calendar::shipped()?),
    };
    let source = std::fs::read_to_string("rules/henan-2024.rhai")?;

    let mut script = Vec::new();
    let mut pools = Vec::new();
    let mut checks = Vec::new();
    let mut total = Vec::new();
    for _ in 0..5 {
        let t0 = Instant::now();
        let plan = rules::evaluate("rules/henan-2024.rhai", &source, &ctx)
            .map_err(|f| anyhow::anyhow!("{f}"))?;
        let t1 = Instant::now();
        let strata = plan.strata(&ctx.snapshot);
        let t2 = Instant::now();
        let findings = rules::check::check(&plan, &strata, &ctx);
        let t3 = Instant::now();
        anyhow::ensure!(
            findings
                .iter()
                .all(|f| f.severity != rules::Severity::Error),
            "the plan does not pass: {:?}",
            findings
        );
        script.push(t1 - t0);
        pools.push(t2 - t1);
        checks.push(t3 - t2);
        total.push(t3 - t0);
    }
    let report = |name: &str, v: &mut Vec<Duration>| {
        v.sort();
        println!(
            "{name:<28} min {:>8.1} ms   median {:>8.1} ms",
            v[0].as_secs_f64() * 1e3,
            v[v.len() / 2].as_secs_f64() * 1e3
        );
    };
    report("script (compile + run)", &mut script);
    report("pools (filters, splits)", &mut pools);
    report("checks (overlaps, staffing)", &mut checks);
    report("total rules check", &mut total);
    Ok(())
}
