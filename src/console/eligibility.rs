//! The eligibility audit (issue 19's record) for auditors and admins: which officers a plan's
//! manifest left out and why, and every recusal, from the private record the department
//! keeps, checked against the hash the manifest published. Each look is a deliberate POST and
//! is recorded in the audit chain as a read of personal data, as `suiji audit eligibility`'s.

use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use minijinja::context;

use super::Console;
use super::pages::{Fields, me, overseer};
use crate::ops;

/// A recusal's reason as the page says it.
fn reason(r: &str) -> &str {
    match r {
        "declared conflict" => "申报的利害关系",
        "home city" => "原籍/居住地回避",
        "inspected it last year" => "上年度检查过该对象",
        other => other,
    }
}

async fn page(
    c: &Console,
    who: &super::Who,
    code: StatusCode,
    shown: minijinja::Value,
) -> Response {
    let ctx = c.ctx("console");
    let status = page!(ops::status::status(&ctx).await.map_err(|e| c.failed(&e)));
    let plans: Vec<serde_json::Value> = status
        .plans
        .iter()
        .filter(|p| p.manifest.is_some())
        .map(|p| serde_json::json!({ "id": p.id, "year": p.year }))
        .collect();
    c.render(
        code,
        "eligibility.html",
        context! { me => me(who), plans, shown },
    )
}

pub(super) async fn form(State(c): State<Console>, headers: HeaderMap) -> Response {
    let who = page!(c.who(&headers).await);
    page!(overseer(&c, &who));
    page(&c, &who, StatusCode::OK, minijinja::Value::UNDEFINED).await
}

pub(super) async fn read(
    State(c): State<Console>,
    headers: HeaderMap,
    Form(f): Fields,
) -> Response {
    let who = page!(c.who(&headers).await);
    page!(c.csrf(&who, f.get("csrf")));
    page!(overseer(&c, &who));
    let (plan, year) = match f.get("plan").and_then(|p| p.rsplit_once('/')) {
        Some((id, y)) => (id.to_string(), y.parse::<i64>().ok()),
        None => (String::new(), None),
    };
    let actor = who.account.actor();
    let shown = match ops::draw::eligibility(&c.ctx(&actor), &plan, year, None, false).await {
        Ok(e) => context! {
            plan => e.plan, year => e.year, manifest => e.manifest,
            officers => e.audit.officers, eligible => e.audit.eligible,
            not_eligible => e.audit.not_eligible
                .iter()
                .map(|(o, why)| context! { officer => o, why => reason(why) })
                .collect::<Vec<_>>(),
            recusals => e.audit.recusals
                .iter()
                .map(|(o, entity, why)| context! {
                    officer => o, entity => entity,
                    why => why.iter().map(|w| reason(w)).collect::<Vec<_>>().join("、"),
                })
                .collect::<Vec<_>>(),
        },
        Err(e) => match e.refusal() {
            Some(m) => context! { error => m },
            None => return c.failed(&e),
        },
    };
    page(&c, &who, StatusCode::OK, shown).await
}
