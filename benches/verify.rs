//! The three verifiers of a published draw on a 1,000,000-candidate stratum (the golden v2
//! inputs with the trade pool grown, sealed into a v3 manifest that names every candidate): `cargo bench --bench verify`. Prints the time of
//! `suiji verify`'s core (in process), of `tools/verify_draw.py` (VERIFY_PYTHON, default
//! python3, when consistent-sampler is installed) and of the in-browser verifier in headless
//! Chromium (CHROMIUM, default chromium), each run three times, and checks that all agree.

#[path = "../tests/common/big.rs"]
mod big;
#[path = "../tests/common/browser.rs"]
mod browser;

use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let t = Instant::now();
    let (manifest, draw) = big::million_candidate_draw();
    println!(
        "1,000,000-candidate draw built in {:.1} s (manifest {:.1} MB, draw {} kB)",
        t.elapsed().as_secs_f64(),
        manifest.len() as f64 / 1e6,
        draw.len() / 1000
    );
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("manifest.json"), &manifest)?;
    std::fs::write(dir.path().join("draw.json"), &draw)?;

    let mut rust = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        suiji::draw::verify(&manifest, &draw).map_err(|e| anyhow::anyhow!(e))?;
        rust.push(t.elapsed().as_secs_f64());
    }
    println!("suiji verify (core, one thread):  {}", figures(&rust));

    let python = std::env::var("VERIFY_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tools/verify_draw.py");
    let mut py = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let out = std::process::Command::new(&python)
            .arg(script)
            .arg(dir.path())
            .output()?;
        if !out.status.success() {
            println!(
                "tools/verify_draw.py: not run ({})",
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .last()
                    .unwrap_or("")
            );
            break;
        }
        py.push(t.elapsed().as_secs_f64());
    }
    if !py.is_empty() {
        println!("tools/verify_draw.py:             {}", figures(&py));
    }

    let Some(mut b) = browser::Browser::launch() else {
        println!("browser: chromium not installed");
        return Ok(());
    };
    std::fs::write(
        dir.path().join("index.html"),
        "<!doctype html><meta charset=utf-8><script src=verify.js></script>",
    )?;
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/src/publish/assets/verify.js"),
        dir.path().join("verify.js"),
    )?;
    let base = browser::serve(dir.path());
    b.goto(&format!("{base}/index.html"));
    b.eval(
        "Promise.all(['manifest.json', 'draw.json'].map(f => fetch(f).then(r => r.arrayBuffer()).then(b => new Uint8Array(b))))
           .then(([m, d]) => { window.files = [m, d]; return true; })",
    );
    let mut web = Vec::new();
    for _ in 0..3 {
        let r = b.eval(
            "(async () => { const t = performance.now(); const r = await SuijiVerify.verify(files[0], files[1]);
               return { ok: r.ok, seconds: (performance.now() - t) / 1000 }; })()",
        );
        anyhow::ensure!(
            r["ok"] == serde_json::json!(true),
            "the browser disagrees: {r}"
        );
        web.push(r["seconds"].as_f64().unwrap_or(f64::NAN));
    }
    println!("browser (WebCrypto + BigInt):     {}", figures(&web));
    Ok(())
}

fn figures(v: &[f64]) -> String {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    format!("min {:.2} s, median {:.2} s", s[0], s[s.len() / 2])
}
