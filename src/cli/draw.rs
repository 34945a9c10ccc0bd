//! `freeze`, `draw` and `verify`: printing what the draw operations did.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use serde::Serialize;

use super::table::{Align, Table};
use super::{Invalid, Output, print_json};
use suiji::draw::DrawDoc;
use suiji::ops::Ctx;
use suiji::ops::draw::SeedInput;
use suiji::ops::plan::Script;
use suiji::publish::Verified;

fn paths(p: &[PathBuf]) -> Vec<String> {
    p.iter().map(|p| p.display().to_string()).collect()
}

pub(super) async fn freeze(
    ctx: &Ctx<'_>,
    plan: Option<&Path>,
    reason: Option<&str>,
    out: Output,
) -> Result<ExitCode> {
    let frozen = suiji::ops::draw::freeze(ctx, Script::File(plan), reason).await?;
    let m = &frozen.manifest;
    if out == Output::Json {
        #[derive(Serialize)]
        struct Report<'a> {
            plan: &'a str,
            year: i64,
            seq: i64,
            digest: &'a str,
            frozen_at: &'a str,
            available_at: Option<&'a str>,
            already_frozen: bool,
            seed_source: &'a suiji::draw::SeedDeclaration,
            strata: Vec<(String, u32, usize)>,
            published: Vec<String>,
        }
        return print_json(&Report {
            plan: &frozen.record.plan_id,
            year: frozen.record.year,
            seq: frozen.record.seq,
            digest: &frozen.record.digest,
            frozen_at: &frozen.record.frozen_at,
            available_at: frozen.record.available_at.as_deref(),
            already_frozen: frozen.already,
            seed_source: &m.seed_source,
            strata: m
                .strata
                .iter()
                .map(|s| (s.stratum.clone(), s.quota, s.candidates.len()))
                .collect(),
            published: paths(&frozen.published),
        })
        .map(|_| ExitCode::SUCCESS);
    }
    let r = &frozen.record;
    println!(
        "{} plan {} ({}) as manifest #{} at {}: digest {}",
        if frozen.already {
            "already frozen:"
        } else {
            "frozen:"
        },
        r.plan_id,
        r.year,
        r.seq,
        r.frozen_at,
        r.digest
    );
    let mut t = Table::new(&[
        ("stratum", Align::Left),
        ("quota", Align::Right),
        ("candidates", Align::Right),
    ])
    .indent(2);
    for s in &m.strata {
        t.row([
            s.stratum.clone(),
            s.quota.to_string(),
            s.candidates.len().to_string(),
        ]);
    }
    t.print();
    println!(
        "seed ({}): {}; public from {}",
        m.seed_source.kind.name(),
        m.seed_source.source,
        r.available_at.as_deref().unwrap_or("-")
    );
    if let Some(b) = &m.seed_source.beacon {
        println!(
            "  drand quicknet round {} (published at {})",
            b.round,
            suiji::beacon::round_time_text(b.round)
        );
    }
    for p in &frozen.published {
        println!("published {}", p.display());
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
struct DrawReport<'a> {
    plan: &'a str,
    year: i64,
    official: bool,
    seq: Option<i64>,
    digest: String,
    manifest_digest: &'a str,
    seed_source: &'a suiji::draw::SeedValue,
    seed: &'a str,
    tasks: usize,
    files: Vec<String>,
}

fn print_draw(report: &DrawReport, doc: &DrawDoc, out: Output) -> Result<ExitCode> {
    if out == Output::Json {
        return print_json(report).map(|_| ExitCode::SUCCESS);
    }
    println!(
        "{} draw of {} ({}): {} tasks",
        if report.official {
            "official"
        } else {
            "dry-run"
        },
        report.plan,
        report.year,
        report.tasks
    );
    let s = report.seed_source;
    println!(
        "seed: {} `{}`{} -> {}",
        s.kind.name(),
        s.value,
        s.round
            .map(|r| format!(" (drand round {r})"))
            .unwrap_or_default(),
        report.seed
    );
    println!(
        "manifest digest {}; draw digest {}",
        report.manifest_digest, report.digest
    );
    for f in &report.files {
        println!("wrote {f}");
    }
    let mut t = Table::new(&[
        ("stratum", Align::Left),
        ("entity", Align::Left),
        ("cadre", Align::Left),
        ("members", Align::Left),
        ("partners", Align::Left),
    ])
    .indent(2);
    let list = |v: &[String]| {
        if v.is_empty() {
            "-".to_string()
        } else {
            v.join(",")
        }
    };
    for team in &doc.teams {
        t.row([
            team.stratum.clone(),
            team.entity.clone(),
            team.cadre.clone(),
            list(team.members.get(1..).unwrap_or_default()),
            list(&team.partners),
        ]);
    }
    t.print();
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn official(
    ctx: &Ctx<'_>,
    plan: Option<&Path>,
    input: SeedInput,
    out: Output,
) -> Result<ExitCode> {
    let drawn = suiji::ops::draw::draw_official(ctx, Script::File(plan), input).await?;
    let r = &drawn.record;
    let report = DrawReport {
        plan: &r.plan_id,
        year: r.year,
        official: true,
        seq: Some(r.seq),
        digest: r.digest.clone(),
        manifest_digest: &r.manifest_digest,
        seed_source: &drawn.doc.seed_source,
        seed: &drawn.doc.seed,
        tasks: drawn.tasks,
        files: paths(&drawn.published),
    };
    print_draw(&report, &drawn.doc, out)
}

pub(super) async fn dry_run(
    ctx: &Ctx<'_>,
    plan: Option<&Path>,
    value: Option<String>,
    out: Option<PathBuf>,
    mode: Output,
) -> Result<ExitCode> {
    let (Some(value), Some(out)) = (value, out) else {
        return Err(Invalid("a dry run needs --seed-value DIGITS and --out DIR".into()).into());
    };
    let run = suiji::ops::draw::dry_run(ctx, Script::File(plan), &value, &out).await?;
    let digest = suiji::audit::sha256_hex(&suiji::draw::canonical(&run.doc)?);
    let report = DrawReport {
        plan: &run.plan_id,
        year: run.year,
        official: false,
        seq: None,
        digest,
        manifest_digest: &run.manifest_digest,
        seed_source: &run.doc.seed_source,
        seed: &run.doc.seed,
        tasks: run.doc.teams.len(),
        files: paths(&run.files),
    };
    print_draw(&report, &run.doc, mode)
}

pub(super) async fn publish(
    ctx: &Ctx<'_>,
    year: Option<i64>,
    out: Option<&Path>,
    output: Output,
) -> Result<ExitCode> {
    let done = suiji::ops::site::publish(ctx, year, out).await?;
    if output == Output::Json {
        print_json(&done)?;
        return Ok(ExitCode::SUCCESS);
    }
    for p in &done.plans {
        println!(
            "{}/{}/{}: {} (tasks {}, published results {}){}",
            done.out.display(),
            p.year,
            p.plan,
            p.title,
            p.tasks,
            p.results,
            if p.rehearsal { " [rehearsal]" } else { "" }
        );
    }
    println!(
        "{} file(s) written; open {}",
        done.written,
        done.out.join("index.html").display()
    );
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn void(
    ctx: &Ctx<'_>,
    plan: Option<&Path>,
    reason: Option<&str>,
    force: bool,
    out: Output,
) -> Result<ExitCode> {
    let (record, published) =
        suiji::ops::draw::void(ctx, Script::File(plan), reason.unwrap_or_default(), force).await?;
    if out == Output::Json {
        return print_json(
            &serde_json::json!({ "voided": record, "published": paths(&published) }),
        )
        .map(|_| ExitCode::SUCCESS);
    }
    println!(
        "voided the official draw #{} of {} ({}) made at {} (digest {}){}: {}",
        record.seq,
        record.plan_id,
        record.year,
        record.drawn_at,
        record.digest,
        if force { ", forced" } else { "" },
        reason.unwrap_or_default()
    );
    for p in &published {
        println!("published {}", p.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints what an auditor learns from an eligibility record that matches its manifest.
fn print_eligibility(what: &str, a: &suiji::draw::eligibility::Audit) {
    use suiji::text::shown;
    println!("{what}: matches the hash its manifest published");
    println!(
        "  {} officers in the registry at the freeze, {} eligible",
        a.officers, a.eligible
    );
    for (id, why) in &a.not_eligible {
        println!("  not eligible: {} ({})", shown(id), shown(why));
    }
    let mut by_reason: std::collections::BTreeMap<&str, usize> = Default::default();
    for (_, _, why) in &a.recusals {
        for w in why {
            *by_reason.entry(w).or_insert(0) += 1;
        }
    }
    let reasons: Vec<String> = by_reason.iter().map(|(w, n)| format!("{w} {n}")).collect();
    println!(
        "  {} recusals (officer × entity): {}",
        a.recusals.len(),
        if reasons.is_empty() {
            "none".to_string()
        } else {
            reasons.join(", ")
        }
    );
}

/// `suiji audit eligibility`: the stored record checked, optionally written out for an
/// outside auditor (readable by its owner only).
pub(super) async fn eligibility(
    ctx: &Ctx<'_>,
    plan: &str,
    year: Option<i64>,
    manifest: Option<i64>,
    export: Option<&Path>,
    out: Output,
) -> Result<ExitCode> {
    let e = suiji::ops::draw::eligibility(ctx, plan, year, manifest, export.is_some()).await?;
    if let Some(path) = export {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)
            .map_err(|err| Invalid(format!("{}: cannot write: {err}", path.display())))?;
        // `mode` applies only to a file it creates: one already there is made private too.
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))
            .and_then(|()| f.write_all(e.record.as_bytes()))
            .map_err(|err| Invalid(format!("{}: cannot write: {err}", path.display())))?;
    }
    if out == Output::Json {
        print_json(&e)?;
    } else {
        let what = format!(
            "the eligibility record of {} of {} ({})",
            e.manifest, e.plan, e.year
        );
        print_eligibility(&what, &e.audit);
        if let Some(path) = export {
            println!(
                "written to {} (mode 0600): personal data, hand it to the auditor only",
                path.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The manifest in `dir` whose published eligibility hash is `record`'s, checked against it.
fn eligibility_of(
    dir: &Path,
    record: &Path,
) -> std::result::Result<(String, suiji::draw::eligibility::Audit), String> {
    let bytes = std::fs::read(record).map_err(|e| format!("{}: {e}", record.display()))?;
    let hash = suiji::audit::sha256_hex(&bytes);
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("manifest") && n.ends_with(".json"))
        .collect();
    names.sort();
    for name in names {
        let Ok(m) = serde_json::from_slice::<suiji::draw::Manifest>(
            &std::fs::read(dir.join(&name)).unwrap_or_default(),
        ) else {
            continue;
        };
        if m.eligibility.as_ref().is_some_and(|c| c.sha256 == hash) {
            return suiji::draw::eligibility::audit(&m, &bytes).map(|a| (name, a));
        }
    }
    Err(format!(
        "{}: no manifest in {} commits to this record (it hashes to {hash})",
        record.display(),
        dir.display()
    ))
}

/// What `suiji verify` checks besides the folder itself.
pub(super) struct Also<'a> {
    pub eligibility: Option<&'a Path>,
    pub since: Option<&'a Path>,
    pub witnesses: &'a [PathBuf],
    pub tsa_ca: Option<&'a Path>,
}

/// The checks of a history against what others kept of it: an older copy, witnesses'
/// receipts. Each is a line of the report, or the reason it failed.
fn kept_copies(dir: &Path, also: &Also<'_>) -> Vec<(String, std::result::Result<String, String>)> {
    let mut out = Vec::new();
    if also.since.is_none() && also.witnesses.is_empty() {
        return out;
    }
    let read = |p: &Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let index = read(&dir.join("index.json"));
    if let Some(old) = also.since {
        let file = if old.is_dir() {
            old.join("index.json")
        } else {
            old.to_path_buf()
        };
        let r = index
            .clone()
            .and_then(|i| suiji::publish::witness::check_extends(&i, &read(&file)?));
        out.push((format!("the older copy {}", file.display()), r));
    }
    for w in also.witnesses {
        let r = index
            .clone()
            .and_then(|i| suiji::publish::witness::check_receipt(&i, &read(w)?));
        out.push((format!("witness receipt {}", w.display()), r));
    }
    out
}

pub(super) fn verify(dir: &Path, also: &Also<'_>, out: Output) -> Result<ExitCode> {
    if !dir.is_dir() {
        return Err(Invalid(format!("{}: not a folder", dir.display())).into());
    }
    let ca = match also.tsa_ca {
        Some(f) => Some(
            std::fs::read(f).map_err(|e| Invalid(format!("{}: cannot read: {e}", f.display())))?,
        ),
        None => None,
    };
    let result = suiji::publish::verify_dir_with(dir, ca.as_deref());
    let eligibility = also.eligibility.map(|r| eligibility_of(dir, r));
    let kept = kept_copies(dir, also);
    if out == Output::Json {
        print_json(&serde_json::json!({
            "verified": result.is_ok(),
            "report": result.as_ref().ok(),
            "difference": result.as_ref().err(),
            "eligibility": eligibility.as_ref().map(|e| e.as_ref().map(|(m, a)| (m, a))),
            "kept": kept.iter().map(|(what, r)| serde_json::json!({
                "what": what, "ok": r.is_ok(), "finding": r.as_ref().unwrap_or_else(|e| e),
            })).collect::<Vec<_>>(),
        }))?;
    } else {
        match &result {
            Ok(Verified::History(h)) => {
                println!(
                    "  the history of plan {} ({}), as its index.json states",
                    h.plan, h.year
                );
                let rehearsal = h.store == suiji::store::Mode::Rehearsal;
                if rehearsal {
                    println!(
                        "  REHEARSAL (演练): published by a rehearsal store; it proves nothing \
                         about real timing or a real draw"
                    );
                }
                for e in &h.entries {
                    println!(
                        "  {:>2}. {:<9} {:<16} {}",
                        e.n,
                        format!("{:?}", e.event).to_lowercase(),
                        e.file.as_deref().unwrap_or(""),
                        e.note
                    );
                }
                for s in &h.simulated {
                    println!(
                        "  NOTE: {s} was frozen on a replayed or rehearsed clock: it does not \
                         prove the manifest existed before its seed"
                    );
                }
                if let Some(s) = &h.selection {
                    println!("  {s}");
                }
                for t in &h.timestamps {
                    println!("  {t}");
                }
                if let Some(a) = &h.audit_head {
                    println!(
                        "  audit chain head published: row {} hash {}",
                        a.seq, a.hash
                    );
                }
                println!(
                    "verified: the whole history of {} ({}), {} events{}",
                    h.plan,
                    h.year,
                    h.entries.len(),
                    if rehearsal { ", a rehearsal" } else { "" }
                );
            }
            Ok(Verified::Pair(t)) => {
                println!(
                    "  spec {}; frozen at {}; seed public from {}",
                    t.spec,
                    t.frozen_at.as_deref().unwrap_or("(not recorded: v1)"),
                    t.available_at.as_deref().unwrap_or("(not recorded: v1)")
                );
                if t.simulated {
                    println!(
                        "  NOTE: frozen on a replayed or rehearsed clock: it does not prove the \
                         manifest existed before its seed"
                    );
                }
                println!("verified");
            }
            Err(d) => println!("NOT verified: {d}"),
        }
        match &eligibility {
            Some(Ok((m, a))) => print_eligibility(&format!("the eligibility record of {m}"), a),
            Some(Err(e)) => println!("eligibility record NOT verified: {e}"),
            None => {}
        }
        for (what, r) in &kept {
            match r {
                Ok(finding) => println!("{what}: {finding}"),
                Err(e) => println!("{what}: NOT verified: {e}"),
            }
        }
    }
    let eligible = eligibility.as_ref().is_none_or(|e| e.is_ok());
    let extended = kept.iter().all(|(_, r)| r.is_ok());
    Ok(if result.is_ok() && eligible && extended {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
