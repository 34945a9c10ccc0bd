//! Signing in through single sign-on (`console.oidc`): `/login/sso` sends the browser to the
//! provider with a new sign-in's state, kept in a cookie the provider's redirect back brings
//! (SameSite=Lax: a top-level GET from the provider's site); `/login/sso/callback` checks the
//! state against it, then `ops::sso::finish` trades the code for the account's session.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::pages::login_form;
use super::{Console, cookie};
use crate::ops::{self, OpsError};

const STATE: &str = "suiji_sso";

/// The provider cannot be reached or answers amiss: logged, and the password login offered.
fn unavailable(c: &Console, e: &OpsError) -> Response {
    tracing::error!("single sign-on: {e}");
    login_form(
        c,
        StatusCode::BAD_GATEWAY,
        Some("统一身份认证暂时无法使用，请稍后再试或用密码登录。"),
    )
}

pub(super) async fn begin(State(c): State<Console>) -> Response {
    match ops::sso::begin(&c.ctx("console")).await {
        Ok((url, state)) => {
            let mut r = Redirect::to(&url).into_response();
            r.headers_mut().append(
                header::SET_COOKIE,
                c.cookie_for(STATE, &state, Some(600), "Lax"),
            );
            r
        }
        Err(e) => unavailable(&c, &e),
    }
}

#[derive(serde::Deserialize)]
pub(super) struct Answer {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

pub(super) async fn callback(
    State(c): State<Console>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(a): Query<Answer>,
) -> Response {
    let kept = cookie(&headers, STATE);
    let ours =
        matches!((&kept, &a.state), (Some(k), Some(s)) if crate::accounts::same_secret(k, s));
    if !ours {
        return c.message(
            StatusCode::FORBIDDEN,
            "请求被拒绝",
            "登录请求不是从本浏览器发起的，或已失效：请重新登录。",
        );
    }
    let (Some(state), Some(code), None) = (&a.state, &a.code, &a.error) else {
        return login_form(
            &c,
            StatusCode::UNAUTHORIZED,
            Some("统一身份认证未完成登录。"),
        );
    };
    let address = c.address(peer, &headers);
    let done = ops::sso::finish(&c.ctx("console"), (state, code), &address).await;
    let mut r = match done {
        Ok(Ok(opened)) => {
            tracing::info!(login = %opened.account.login, %address, "console login (single sign-on)");
            let mut r = Redirect::to("/").into_response();
            r.headers_mut().append(
                header::SET_COOKIE,
                c.cookie(c.cookie_name(), &opened.token, None),
            );
            r
        }
        Ok(Err(ops::sso::Unlinked::Subject(s))) => login_form(
            &c,
            StatusCode::FORBIDDEN,
            Some(&format!(
                "该统一身份认证账号（标识 {s}）尚未关联本系统账号：请联系系统管理员。"
            )),
        ),
        Err(OpsError::Invalid(m)) => {
            tracing::warn!(%address, "single sign-on refused: {m}");
            login_form(
                &c,
                StatusCode::FORBIDDEN,
                Some("统一身份认证登录未通过校验或已失效：请重新登录。"),
            )
        }
        Err(e) => unavailable(&c, &e),
    };
    r.headers_mut()
        .append(header::SET_COOKIE, c.cookie_for(STATE, "", Some(0), "Lax"));
    r
}
