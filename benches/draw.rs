//! The draw's ticket-and-select core over a large stratum: `cargo bench --bench draw
//! [-- CANDIDATES]` (default 1,000,000, quota 20, single-threaded). Prints the core's time, the
//! time of SHA-256 alone over the same inputs (the floor), their ratio, and, when Python with
//! `consistent-sampler` is at hand (VERIFY_PYTHON, default python3), the same selection there.

use std::hint::black_box;
use std::time::{Duration, Instant};

use suiji::draw::ticket::Ticketer;
use suiji::draw::{self, Manifest, ManifestStratum};

fn ids(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("9141010{i:010}X")).collect()
}

fn median(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    (v[0].as_secs_f64(), v[v.len() / 2].as_secs_f64())
}

mod support;

fn main() -> anyhow::Result<()> {
    let n = support::size_arg(1_000_000)?;
    let candidates = ids(n);
    let manifest = Manifest {
        strata: vec![ManifestStratum {
            task: "t".into(),
            stratum: "t".into(),
            label: None,
            quota: 20,
            ratio: None,
            candidates: candidates.clone(),
        }],
        ..serde_json::from_slice(&std::fs::read("tests/golden/manifest.json")?)?
    };
    let seed = draw::seed(
        draw::SPEC,
        &"0".repeat(64),
        suiji::plan::SeedKind::Manual,
        "03071218253109",
    );
    let t = Ticketer::new(&seed);

    let mut hashing = Vec::new();
    let mut core = Vec::new();
    for _ in 0..5 {
        let t0 = Instant::now();
        let mut acc = 0u8;
        for id in &candidates {
            acc ^= t.digest(id)[0];
        }
        black_box(acc);
        hashing.push(t0.elapsed());
        let t1 = Instant::now();
        let result = draw::select(&manifest, &t).map_err(|e| anyhow::anyhow!("{e}"))?;
        black_box(&result);
        core.push(t1.elapsed());
    }
    let (hmin, hmed) = median(hashing);
    let (cmin, cmed) = median(core);
    println!("{n} candidates, quota 20 (+20 alternates), one thread");
    println!(
        "SHA-256 alone (tickets' hashes)     min {:>7.1} ms  median {:>7.1} ms",
        hmin * 1e3,
        hmed * 1e3
    );
    println!(
        "ticket-and-select core              min {:>7.1} ms  median {:>7.1} ms",
        cmin * 1e3,
        cmed * 1e3
    );
    println!("ratio core / hashing (median)       {:.2}", cmed / hmed);

    let python = std::env::var("VERIFY_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = format!(
        "import time\nfrom consistent_sampler import sampler\n\
         ids = ['9141010%010dX' % i for i in range({n})]\n\
         t = time.perf_counter()\n\
         sel = list(sampler(ids, '{seed}', take=40, output='id'))\n\
         print('%.3f' % (time.perf_counter() - t))\n"
    );
    match std::process::Command::new(&python)
        .args(["-c", &script])
        .output()
    {
        Ok(o) if o.status.success() => {
            let secs: f64 = String::from_utf8_lossy(&o.stdout)
                .trim()
                .parse()
                .unwrap_or(f64::NAN);
            println!(
                "Python consistent-sampler 1.0.10    {:>7.1} ms  ({:.0}x the core)",
                secs * 1e3,
                secs / cmed
            );
        }
        _ => println!("Python consistent-sampler not available ({python}): not compared"),
    }
    Ok(())
}
