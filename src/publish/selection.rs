//! The selection downloads checked against the draw they show (spec section 10): what a
//! visitor reads on the plan page must be what `draw-N.json` and its manifest say, not what a
//! database said when the pages were built. Pure: files in, a finding out.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::draw::{DrawDoc, Manifest, OfficerDecl};

/// The columns of `selection.json` and `selection.csv`, in order.
pub const COLUMNS: [&str; 11] = [
    "任务编号",
    "来源",
    "抽查任务",
    "分层",
    "抽取顺位",
    "检查对象",
    "统一社会信用代码",
    "所在地",
    "执法人员（姓名/执法证号）",
    "联合部门人员（姓名/执法证号）",
    "状态",
];

type Row = BTreeMap<String, String>;

fn rows_of_json(bytes: &[u8]) -> Result<Vec<Row>, String> {
    let rows: Vec<Row> = serde_json::from_slice(bytes)
        .map_err(|e| format!("selection.json is not a list of rows of text: {e}"))?;
    for (i, r) in rows.iter().enumerate() {
        let keys: Vec<&str> = r.keys().map(String::as_str).collect();
        let mut want = COLUMNS.to_vec();
        want.sort_unstable();
        if keys != want {
            return Err(format!(
                "selection.json row {}: its columns are not {COLUMNS:?}",
                i + 1
            ));
        }
    }
    Ok(rows)
}

fn rows_of_csv(bytes: &[u8]) -> Result<Vec<Row>, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "selection.csv is not UTF-8".to_string())?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| format!("selection.csv: {e}"))?
        .iter()
        .map(str::to_string)
        .collect();
    if headers != COLUMNS {
        return Err(format!("selection.csv: its header is not {COLUMNS:?}"));
    }
    reader
        .records()
        .enumerate()
        .map(|(i, r)| {
            let r = r.map_err(|e| format!("selection.csv line {}: {e}", i + 2))?;
            Ok(headers
                .iter()
                .cloned()
                .zip(r.iter().map(unguarded))
                .collect())
        })
        .collect()
}

/// A CSV cell as the JSON holds it: `sheet` writes a cell that a spreadsheet would take for a
/// formula (beginning with `=`, `+`, `-`, `@`, tab or CR) behind a `'`.
fn unguarded(cell: &str) -> String {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(crate::sheet::FORMULA) => rest.to_string(),
        _ => cell.to_string(),
    }
}

/// Officers as the downloads write them: `name（id）`, joined by `、`.
pub fn written(people: &[(&str, &str)]) -> String {
    people
        .iter()
        .map(|(id, name)| format!("{name}（{id}）"))
        .collect::<Vec<_>>()
        .join("、")
}

/// The officer ids a cell names, in order.
fn ids_in(cell: &str) -> Vec<&str> {
    if cell.is_empty() {
        return Vec::new();
    }
    cell.split("）、")
        .map(|p| {
            let p = p.strip_suffix('）').unwrap_or(p);
            p.rsplit_once('（').map_or(p, |(_, id)| id)
        })
        .collect()
}

/// Checks the folder's selection downloads against the standing draw (spec section 10).
/// `in_force` is the manifest in force; `standing`, the standing draw's bytes and file name
/// (drawn from `in_force`). Only a v3 history's downloads are checked (a v1/v2 manifest names
/// nobody); a v3 folder with pages must have both downloads.
pub fn check(
    read: &dyn Fn(&str) -> Option<Vec<u8>>,
    in_force: Option<&[u8]>,
    standing: Option<(&[u8], &str)>,
) -> Result<Option<String>, String> {
    let Some(manifest_bytes) = in_force else {
        return Ok(None);
    };
    let manifest: Manifest = serde_json::from_slice(manifest_bytes).map_err(|e| e.to_string())?;
    if !crate::draw::publishes_eligibility(&manifest.spec) {
        return Ok(None);
    }
    let Some(json) = read("selection.json") else {
        if read("plan.html").is_some() {
            return Err("selection.json is missing, yet the folder has its pages".into());
        }
        return Ok(None);
    };
    let rows = rows_of_json(&json)?;
    let csv = read("selection.csv").ok_or("selection.csv is missing beside selection.json")?;
    if rows_of_csv(&csv)? != rows {
        return Err("selection.csv does not hold the rows of selection.json".into());
    }
    if rows
        .windows(2)
        .any(|w| w[0]["任务编号"] >= w[1]["任务编号"])
    {
        return Err("selection.json: rows are not in ascending 任务编号 order".into());
    }
    let mut places = HashSet::new();
    if let Some(r) = rows.iter().find(|r| !places.insert(r["抽取顺位"].as_str())) {
        return Err(format!(
            "selection.json: 抽取顺位 {} is shown twice",
            r["抽取顺位"]
        ));
    }
    let Some((draw_bytes, file)) = standing else {
        if rows.is_empty() {
            return Ok(Some(
                "selection: no draw stands, and no row is shown".into(),
            ));
        }
        return Err(format!(
            "selection.json shows {} rows, but no draw stands",
            rows.len()
        ));
    };
    let doc: DrawDoc = serde_json::from_slice(draw_bytes).map_err(|e| e.to_string())?;
    let officers: HashMap<&str, &str> = manifest
        .officers
        .iter()
        .filter_map(|o| match o {
            OfficerDecl::Public(p) => Some((p.id.as_str(), p.name.as_str())),
            OfficerDecl::Full(_) => None,
        })
        .collect();
    let entities = manifest
        .entities
        .as_ref()
        .ok_or("the manifest has no entities")?;
    let recused = manifest.recusals();
    let task_name = |task: &str| {
        manifest
            .tasks
            .iter()
            .find(|t| t.task == task)
            .map_or("", |t| t.name.as_str())
    };
    let named = |ids: &[String]| -> Vec<(String, String)> {
        ids.iter()
            .map(|id| {
                (
                    id.clone(),
                    officers.get(id.as_str()).copied().unwrap_or("").to_string(),
                )
            })
            .collect()
    };
    let as_pairs = |v: &[(String, String)]| -> String {
        written(
            &v.iter()
                .map(|(a, b)| (a.as_str(), b.as_str()))
                .collect::<Vec<_>>(),
        )
    };
    let mut seen: HashSet<usize> = HashSet::new();
    let mut replacements: BTreeMap<&str, Vec<(i64, &str)>> = BTreeMap::new();
    for (i, r) in rows.iter().enumerate() {
        let at = |what: String| format!("selection.json row {} ({}): {what}", i + 1, r["任务编号"]);
        let uscc = r["统一社会信用代码"].as_str();
        let position: i64 = r["抽取顺位"]
            .parse()
            .map_err(|_| at(format!("抽取顺位 `{}` is not a number", r["抽取顺位"])))?;
        let entity = entities
            .get(uscc)
            .ok_or_else(|| at(format!("{uscc} is not a candidate of the manifest")))?;
        if (r["检查对象"].as_str(), r["所在地"].as_str())
            != (entity.name.as_str(), entity.city.as_str())
        {
            return Err(at(format!(
                "shows {uscc} as {}（{}）, the manifest names it {}（{}）",
                r["检查对象"], r["所在地"], entity.name, entity.city
            )));
        }
        match r["来源"].as_str() {
            "抽取" => {
                let team = usize::try_from(position)
                    .ok()
                    .and_then(|p| p.checked_sub(1))
                    .and_then(|p| doc.teams.get(p).map(|t| (p, t)));
                let Some((p, team)) = team else {
                    return Err(at(format!("{file} has no team at place {position}")));
                };
                if !seen.insert(p) {
                    return Err(at(format!("place {position} of {file} is shown twice")));
                }
                let expected = [
                    ("统一社会信用代码", team.entity.clone()),
                    ("分层", team.stratum.clone()),
                    ("抽查任务", task_name(&team.task).to_string()),
                    ("执法人员（姓名/执法证号）", as_pairs(&named(&team.members))),
                    (
                        "联合部门人员（姓名/执法证号）",
                        as_pairs(&named(&team.partners)),
                    ),
                ];
                for (column, want) in expected {
                    if r[column] != want {
                        return Err(at(format!(
                            "{column} is `{}`, {file} place {position} says `{want}`",
                            crate::text::quote(&r[column])
                        )));
                    }
                }
            }
            "替补" => {
                let stratum = doc
                    .strata
                    .iter()
                    .find(|s| s.stratum == r["分层"])
                    .ok_or_else(|| at(format!("{file} has no stratum `{}`", r["分层"])))?;
                if r["抽查任务"] != task_name(&stratum.task) {
                    return Err(at(format!(
                        "抽查任务 is not stratum {}'s task",
                        stratum.stratum
                    )));
                }
                let cells = [
                    &r["执法人员（姓名/执法证号）"],
                    &r["联合部门人员（姓名/执法证号）"],
                ];
                for id in cells.iter().flat_map(|c| ids_in(c)) {
                    let Some(name) = officers.get(id) else {
                        return Err(at(format!(
                            "officer {id} is not an eligible officer of the manifest"
                        )));
                    };
                    if !cells.iter().any(|c| c.contains(&format!("{name}（{id}）"))) {
                        return Err(at(format!(
                            "officer {id} is not shown by the manifest's name {name}"
                        )));
                    }
                    if recused.get(uscc).is_some_and(|v| v.iter().any(|o| o == id)) {
                        return Err(at(format!("officer {id} is recused from {uscc}")));
                    }
                }
                replacements
                    .entry(stratum.stratum.as_str())
                    .or_default()
                    .push((position, uscc));
            }
            other => {
                return Err(at(format!(
                    "来源 `{}` is neither 抽取 nor 替补",
                    crate::text::quote(other)
                )));
            }
        }
    }
    if seen.len() != doc.teams.len() {
        let missing = (0..doc.teams.len())
            .find(|p| !seen.contains(p))
            .unwrap_or(0);
        return Err(format!(
            "selection.json shows {} of the {} teams of {file}: place {} ({}) is missing",
            seen.len(),
            doc.teams.len(),
            missing + 1,
            doc.teams.get(missing).map_or("", |t| t.entity.as_str())
        ));
    }
    let mut replaced = 0;
    for (stratum, mut used) in replacements {
        used.sort();
        let alternates = doc
            .strata
            .iter()
            .find(|s| s.stratum == stratum)
            .map(|s| s.alternates.as_slice())
            .unwrap_or_default();
        for (k, (_, uscc)) in used.iter().enumerate() {
            if alternates.get(k).map(|p| p.id.as_str()) != Some(*uscc) {
                return Err(format!(
                    "selection.json: replacement {} of stratum {stratum} is {uscc}, but its \
                     alternate number {} in {file} is {}",
                    k + 1,
                    k + 1,
                    alternates.get(k).map_or("(none)", |p| p.id.as_str())
                ));
            }
            replaced += 1;
        }
    }
    Ok(Some(format!(
        "selection: {} rows match {file} ({} drawn, {replaced} replacements)",
        rows.len(),
        doc.teams.len()
    )))
}
