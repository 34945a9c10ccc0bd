//! The plans page: each plan the daemon runs, checked now against the registry as it stands
//! (findings, strata with their quotas and pools, the plan as evaluated), and the rule file
//! on disk compared with the script the daemon runs (what changed in the plan and line by
//! line): an admin editing next year's file sees what the daemon will take up, or why not.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use minijinja::context;

use super::Console;
use super::pages::{me, overseer};
use crate::ops::{self, OpsError};

pub(super) async fn plans(State(c): State<Console>, headers: HeaderMap) -> Response {
    let who = page!(c.who(&headers).await);
    page!(overseer(&c, &who));
    let ctx = c.ctx("console");
    let running = c.0.daemon.running.borrow().clone();
    let mut out = Vec::new();
    for (file, text) in &running {
        let on_disk = ops::plan::Script::File(Some(file));
        let sha256 = on_disk
            .read(&c.0.settings)
            .ok()
            .map(|(_, text)| crate::attachment::digest(text.as_bytes()));
        let (ok, findings, strata, evaluated) = match ops::plan::checked(&ctx, on_disk).await {
            Ok((checked, _)) => (
                true,
                checked
                    .findings
                    .iter()
                    .map(|f| f.to_string())
                    .collect::<Vec<_>>(),
                checked
                    .strata
                    .iter()
                    .map(|s| {
                        serde_json::json!({
                            "id": s.id, "label": s.label, "quota": s.quota, "pool": s.pool_size(),
                        })
                    })
                    .collect::<Vec<_>>(),
                serde_json::to_string_pretty(&checked.plan).unwrap_or_default(),
            ),
            Err(OpsError::Invalid(m)) => (false, vec![m], Vec::new(), String::new()),
            Err(e) => return c.failed(&e),
        };
        let name = file.display().to_string();
        let running_script = ops::plan::Script::Text { name: &name, text };
        let shown =
            |v: &Option<serde_json::Value>| v.as_ref().map_or("—".into(), |v| v.to_string());
        let running_sha256 = crate::attachment::digest(text.as_bytes());
        // The same text needs no second evaluation of both scripts: nothing differs.
        let same = sha256.as_deref() == Some(running_sha256.as_str());
        let compared = if same {
            None
        } else {
            match ops::plan::compare(&ctx, running_script, on_disk).await {
                Ok(cmp) => Some(serde_json::json!({
                    "lines": cmp.lines,
                    "problem": cmp.problem,
                    "changes": cmp.changes.map(|all| all
                        .iter()
                        .map(|ch| serde_json::json!({
                            "path": ch.path, "old": shown(&ch.old), "new": shown(&ch.new),
                        }))
                        .collect::<Vec<_>>()),
                })),
                // The file cannot be read: the findings say so.
                Err(OpsError::Invalid(_)) => None,
                Err(e) => return c.failed(&e),
            }
        };
        out.push(serde_json::json!({
            "file": name, "ok": ok, "findings": findings, "strata": strata,
            "evaluated": evaluated, "sha256": sha256,
            "running_sha256": running_sha256,
            "compared": compared,
        }));
    }
    c.render(
        StatusCode::OK,
        "plans.html",
        context! { me => me(&who), plans => out },
    )
}
