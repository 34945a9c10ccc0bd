//! The year's steps over a large registry, each run as the real binary so that its own time and
//! peak memory are measured alone: `cargo bench --bench scale [-- ENTITIES]` (default
//! 1,000,000; run it at 100,000 too to see the growth). On SQLite and on PostgreSQL
//! (`TEST_POSTGRES_URL`, `skip` to leave it out): import of the generated registry (fresh, then
//! the unchanged file again), `rules check`, `freeze`, `draw --dry-run`, the official draw,
//! `verify` of the published folder and `publish`; then the draw's digest, which must be the
//! same on both databases. Beside the imports, the databases' own bulk loaders of the same
//! rows (`sqlite3 .import`, `psql \copy`); the draw core's anchor (PyPI consistent-sampler)
//! is in the `draw` bench, and `overdue` times the nightly check and the report over a
//! million tasks beside a SQL GROUP BY.

use std::path::Path;
use std::process::Command;

mod support;

const SUIJI: &str = env!("CARGO_BIN_EXE_suiji");

fn step(dir: &Path, url: &str, args: &[&str]) -> anyhow::Result<support::Measured> {
    let m = support::measure(
        Command::new(SUIJI)
            .current_dir(dir)
            .env("TZ", "UTC")
            .args(["--db", url])
            .args(args),
    )?;
    anyhow::ensure!(m.ok, "suiji {args:?} failed:\n{}", m.stderr);
    Ok(m)
}

fn row(label: &str, m: &support::Measured, n: usize) {
    println!(
        "  {label:<28} {:>8.2} s  {:>9.0} rows/s  peak {:>7.1} MiB",
        m.seconds,
        n as f64 / m.seconds,
        m.peak_mib
    );
}

fn year(dir: &Path, url: &str, generated: &Path, n: usize, label: &str) -> anyhow::Result<String> {
    println!("{label}, {n} entities:");
    let g = |f: &str| generated.join(f).display().to_string();
    for kind in ["items", "officers", "bureaus"] {
        step(dir, url, &["import", kind, &g(&format!("{kind}.csv"))])?;
    }
    row(
        "import entities (fresh)",
        &step(dir, url, &["import", "entities", &g("entities.csv")])?,
        n,
    );
    row(
        "import entities (unchanged)",
        &step(dir, url, &["import", "entities", &g("entities.csv")])?,
        n,
    );
    let anchor = if url.starts_with("sqlite:") {
        (
            "anchor: sqlite3 .import",
            support::anchor_sqlite(dir, &generated.join("entities.csv"))?,
        )
    } else {
        (
            "anchor: psql \\copy",
            support::anchor_psql(url, &generated.join("entities.csv"))?,
        )
    };
    anyhow::ensure!(anchor.1.ok, "{}: {}", anchor.0, anchor.1.stderr);
    row(anchor.0, &anchor.1, n);
    step(dir, url, &["import", "conflicts", &g("conflicts.csv")])?;
    let plan = "rules/henan-2024.rhai";
    row(
        "rules check",
        &step(dir, url, &["rules", "check", plan])?,
        n,
    );
    row(
        "freeze",
        &step(
            dir,
            url,
            &["--today", "2024-05-13 09:00", "freeze", "--plan", plan],
        )?,
        n,
    );
    let dry = dir.join(format!("dry-{label}"));
    row(
        "draw --dry-run",
        &step(
            dir,
            url,
            &[
                "--today",
                "2024-05-16 22:00",
                "draw",
                "--plan",
                plan,
                "--dry-run",
                "--seed-value",
                "03071218253109",
                "--out",
                &dry.display().to_string(),
            ],
        )?,
        n,
    );
    // The dry run's draw, byte for byte, to compare across versions (the record kept in the
    // scale issue's note) and across databases.
    let bytes = std::fs::read(dry.join("draw.json"))?;
    println!(
        "  dry-run draw.json sha256 {}",
        suiji::audit::sha256_hex(&bytes)
    );
    let drawn = step(
        dir,
        url,
        &[
            "--today",
            "2024-05-16 21:30",
            "draw",
            "--plan",
            plan,
            "--official",
            "--seed-value",
            "03071218253109",
            "--json",
        ],
    )?;
    row("draw --official", &drawn, n);
    let folder = dir.join(format!("public-{label}"));
    row(
        "publish (site + history)",
        &step(
            dir,
            url,
            &["publish", "--out", &folder.display().to_string()],
        )?,
        n,
    );
    row(
        "verify (whole history)",
        &step(
            dir,
            url,
            &[
                "verify",
                &folder.join("2024/henan-2024").display().to_string(),
            ],
        )?,
        n,
    );
    let digest: serde_json::Value = serde_json::from_str(&drawn.stdout)?;
    Ok(digest["digest"].as_str().unwrap_or("").to_string())
}

/// A working folder of its own per database (the published folders are append-only), with the
/// shipped rules.
fn workdir(base: &Path, label: &str) -> anyhow::Result<std::path::PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = base.join(label);
    for e in walk(&root.join("rules"))? {
        let to = dir.join(e.strip_prefix(root)?);
        std::fs::create_dir_all(to.parent().unwrap_or(&dir))?;
        std::fs::copy(&e, to)?;
    }
    Ok(dir)
}

fn main() -> anyhow::Result<()> {
    let n = support::size_arg(1_000_000)?;
    let base = tempfile::tempdir()?;
    let generated = base.path().join("gen");
    let made = support::measure(Command::new(SUIJI).args([
        "demo",
        "generate",
        "--entities",
        &n.to_string(),
        "--seed",
        "1",
        "--out",
        &generated.display().to_string(),
    ]))?;
    anyhow::ensure!(made.ok, "generate: {}", made.stderr);
    println!("generated {n} entities in {:.1} s", made.seconds);
    let dir = workdir(base.path(), "SQLite")?;
    let url = format!("sqlite://{}", dir.join("scale.db").display());
    let sqlite = year(&dir, &url, &generated, n, "SQLite")?;
    let rt = tokio::runtime::Runtime::new()?;
    let dir = workdir(base.path(), "PostgreSQL")?;
    let (d, g, want) = (&dir, &generated, &sqlite);
    rt.block_on(support::with_postgres("scale", |url| async move {
        let pg = year(d, &url, g, n, "PostgreSQL")?;
        anyhow::ensure!(pg == *want, "the draws differ: {want} vs {pg}");
        println!("PostgreSQL's official draw is the same as SQLite's");
        Ok(())
    }))?;
    println!("official draw digest {sqlite}");
    Ok(())
}

fn walk(dir: &Path) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        if p.is_dir() {
            out.extend(walk(&p)?);
        } else {
            out.push(p);
        }
    }
    Ok(out)
}
