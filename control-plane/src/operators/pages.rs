//! The operator's own pages in the console: login (password or one-time
//! link), logout, API tokens and the account.

use axum::Extension;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tenant_app::calendar::berlin_time;
use tenant_app::security::csrf::{CsrfForm, CsrfToken};
use tenant_app::security::passwords::NewPassword;
use tenant_app::security::sessions::{self, SESSION_COOKIE, cookie_value};
use tenant_app::security::throttle::{Action, SecondFactor};
use tenant_app::web::{ClientAddress, PageError, render, render_with_status, with_retry_after};

use super::console::{ConsoleLayout, ConsoleOperator};
use super::{self as operators, ApiTokenInfo, Operator};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/anmelden", get(login_page).post(login))
        .route("/anmelden/link", get(login_link))
        .route("/abmelden", post(logout))
        .route("/tokens", get(tokens_page).post(create_token))
        .route("/tokens/{id}/widerrufen", post(revoke_token))
        .route("/konto", get(account_page).post(set_password))
}

#[derive(Deserialize)]
struct EmptyForm {}

fn with_cookie(mut response: Response, cookie: cookie::Cookie<'static>) -> Response {
    if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

#[derive(askama::Template)]
#[template(path = "operators/templates/login.html")]
struct LoginPage {
    layout: ConsoleLayout,
    email: String,
    error: Option<String>,
}

async fn login_page(State(app): State<AppState>, Extension(csrf): Extension<CsrfToken>) -> Result<Response, PageError> {
    render(&LoginPage { layout: ConsoleLayout::new(&app, &csrf, None), email: String::new(), error: None })
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

async fn login(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<LoginForm>,
) -> Result<Response, PageError> {
    let email = form.email.trim().to_lowercase();
    let failed = |status: StatusCode, message: String| {
        render_with_status(
            status,
            &LoginPage { layout: ConsoleLayout::new(&app, &csrf, None), email: email.clone(), error: Some(message) },
        )
    };
    let attempt = app.throttle.attempt(&app.db, Action::Login, &email, &address, SecondFactor::None).await?;
    if let Err(throttled) = attempt {
        let minutes = throttled.minutes();
        let page = failed(
            StatusCode::TOO_MANY_REQUESTS,
            format!("Zu viele Fehlversuche. Bitte in {minutes} Minuten erneut versuchen."),
        )?;
        return Ok(with_retry_after(page, throttled.retry_after_secs));
    }
    let operator = operators::find_by_email(&app.db, &email).await?;
    let stored_hash = operator.as_ref().and_then(|o| o.password_hash.as_deref());
    let verified = app.passwords.verify(&form.password, stored_hash).await?;
    let Some(operator) = operator.filter(|_| verified) else {
        return failed(StatusCode::UNAUTHORIZED, "E-Mail-Adresse oder Passwort ist falsch.".into());
    };
    app.throttle.succeeded(&app.db, Action::Login, &email, &address).await?;
    start_session(&app, &operator, &headers).await
}

/// A fresh session id at every login.
async fn start_session(app: &AppState, operator: &Operator, headers: &HeaderMap) -> Result<Response, PageError> {
    if let Some(old) = cookie_value(headers, SESSION_COOKIE) {
        sessions::revoke(&app.db, &old).await?;
    }
    let token = sessions::create(&app.db, &operator.id).await?;
    app.audit(&operator.email, "login", "console").await?;
    Ok(with_cookie(Redirect::to("/").into_response(), sessions::session_cookie(token, app.hosts.secure())))
}

#[derive(Deserialize)]
struct LinkQuery {
    #[serde(default)]
    token: String,
}

async fn login_link(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<LinkQuery>,
) -> Result<Response, PageError> {
    match operators::redeem_login_link(&app.db, &query.token).await? {
        Some(operator) => start_session(&app, &operator, &headers).await,
        None => Ok(tenant_app::web::plain_page(
            StatusCode::NOT_FOUND,
            "Dieser Anmeldelink ist abgelaufen oder wurde bereits benutzt. Erzeugen Sie mit `control-plane operator create` einen neuen.",
        )),
    }
}

async fn logout(
    State(app): State<AppState>,
    headers: HeaderMap,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    if let Some(token) = cookie_value(&headers, SESSION_COOKIE) {
        sessions::revoke(&app.db, &token).await?;
    }
    Ok(with_cookie(Redirect::to("/anmelden").into_response(), sessions::clear_session_cookie(app.hosts.secure())))
}

#[derive(askama::Template)]
#[template(path = "operators/templates/tokens.html")]
struct TokensPage {
    layout: ConsoleLayout,
    tokens: Vec<(ApiTokenInfo, String, String)>,
    new_token: Option<String>,
    error: Option<&'static str>,
}

async fn show_tokens(
    app: &AppState,
    operator: &Operator,
    csrf: &CsrfToken,
    new_token: Option<String>,
    error: Option<&'static str>,
) -> Result<Response, PageError> {
    let tokens = operators::list_api_tokens(&app.db, &operator.id)
        .await?
        .into_iter()
        .map(|t| {
            let created = berlin_time(t.created_at);
            let used = t.last_used_at.map(berlin_time).unwrap_or_else(|| "nie".into());
            (t, created, used)
        })
        .collect();
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    render_with_status(
        status,
        &TokensPage { layout: ConsoleLayout::new(app, csrf, Some(operator)), tokens, new_token, error },
    )
}

async fn tokens_page(
    State(app): State<AppState>,
    ConsoleOperator(operator): ConsoleOperator,
    Extension(csrf): Extension<CsrfToken>,
) -> Result<Response, PageError> {
    show_tokens(&app, &operator, &csrf, None, None).await
}

#[derive(Deserialize)]
struct TokenForm {
    #[serde(default)]
    name: String,
}

async fn create_token(
    State(app): State<AppState>,
    ConsoleOperator(operator): ConsoleOperator,
    Extension(csrf): Extension<CsrfToken>,
    CsrfForm(form): CsrfForm<TokenForm>,
) -> Result<Response, PageError> {
    let name = match tenant_app::values::required_text(&form.name, 100) {
        Ok(name) => name,
        Err(message) => return show_tokens(&app, &operator, &csrf, None, Some(message)).await,
    };
    let token = operators::create_api_token(&app.db, &operator.id, &name).await?;
    app.audit(&operator.email, "create_api_token", &name).await?;
    show_tokens(&app, &operator, &csrf, Some(token), None).await
}

async fn revoke_token(
    State(app): State<AppState>,
    ConsoleOperator(operator): ConsoleOperator,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    if !operators::revoke_api_token(&app.db, &operator.id, &id).await? {
        return Err(PageError::NotFound);
    }
    app.audit(&operator.email, "revoke_api_token", &id).await?;
    Ok(Redirect::to("/tokens").into_response())
}

#[derive(askama::Template)]
#[template(path = "operators/templates/account.html")]
struct AccountPage {
    layout: ConsoleLayout,
    error: Option<&'static str>,
    saved: bool,
}

async fn account_page(
    State(app): State<AppState>,
    ConsoleOperator(operator): ConsoleOperator,
    Extension(csrf): Extension<CsrfToken>,
) -> Result<Response, PageError> {
    render(&AccountPage { layout: ConsoleLayout::new(&app, &csrf, Some(&operator)), error: None, saved: false })
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
}

async fn set_password(
    State(app): State<AppState>,
    ConsoleOperator(operator): ConsoleOperator,
    Extension(csrf): Extension<CsrfToken>,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> Result<Response, PageError> {
    let layout = ConsoleLayout::new(&app, &csrf, Some(&operator));
    match NewPassword::parse(&form.password, &form.password_confirm) {
        Ok(password) => {
            operators::set_password(&app.db, &operator.id, &app.passwords.hash(password).await?).await?;
            app.audit(&operator.email, "set_password", "console").await?;
            render(&AccountPage { layout, error: None, saved: true })
        }
        Err(message) => render_with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &AccountPage { layout, error: Some(message), saved: false },
        ),
    }
}
