//! Logging in and out, setting a password from an e-mail link, and the
//! extractors that tell who is asking.

use axum::Extension;
use axum::extract::{FromRequestParts, OptionalFromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::portal::Portal;
use crate::portal::layout::Layout;
use crate::security::csrf::{CsrfForm, CsrfToken};
use crate::security::passwords::NewPassword;
use crate::security::sessions::{self, SESSION_COOKIE, cookie_value};
use crate::security::throttle::{Action, SecondFactor};
use crate::security::tokens::token_hash;
use crate::users::{self, Role};
use crate::web::{ClientAddress, PageError, render, render_with_status, with_retry_after};

/// Whoever holds a live session in this portal.
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub customer_id: Option<String>,
}

impl SessionUser {
    pub fn is_broker(&self) -> bool {
        self.role == Role::Broker
    }
}

async fn session_user(parts: &Parts, portal: &Portal) -> Result<Option<SessionUser>, PageError> {
    let Some(token) = cookie_value(&parts.headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let hash = token_hash(&token);
    let now = crate::db::now();
    if let Some(cached) = portal.cache().session(&hash) {
        return Ok(cached.filter(|(_, expires_at)| *expires_at > now).map(|(user, _)| user));
    }
    // One query for session and user: every page asks this.
    let generation = portal.cache().generation();
    let found = users::find_by_session(portal.db(), &hash).await?;
    let found = found.map(|(user, expires_at)| {
        let user = SessionUser {
            id: user.id,
            name: user.name,
            email: user.email,
            role: user.role,
            customer_id: user.customer_id,
        };
        (user, expires_at)
    });
    portal.cache().store_session(hash, generation, found.clone());
    Ok(found.map(|(user, _)| user))
}

impl FromRequestParts<Portal> for SessionUser {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, portal: &Portal) -> Result<Self, Self::Rejection> {
        session_user(parts, portal).await?.ok_or(PageError::LoginRequired)
    }
}

impl OptionalFromRequestParts<Portal> for SessionUser {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, portal: &Portal) -> Result<Option<Self>, Self::Rejection> {
        session_user(parts, portal).await
    }
}

/// A logged-in broker (or staff member).
pub struct BrokerUser(pub SessionUser);

impl FromRequestParts<Portal> for BrokerUser {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, portal: &Portal) -> Result<Self, Self::Rejection> {
        let user = <SessionUser as FromRequestParts<Portal>>::from_request_parts(parts, portal).await?;
        if user.is_broker() { Ok(BrokerUser(user)) } else { Err(PageError::Forbidden) }
    }
}

/// A logged-in customer, with the id of their customer record.
pub struct CustomerUser {
    pub user: SessionUser,
    pub customer_id: String,
}

impl FromRequestParts<Portal> for CustomerUser {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, portal: &Portal) -> Result<Self, Self::Rejection> {
        let user = <SessionUser as FromRequestParts<Portal>>::from_request_parts(parts, portal).await?;
        match (user.role, user.customer_id.clone()) {
            (Role::Customer, Some(customer_id)) => Ok(CustomerUser { user, customer_id }),
            _ => Err(PageError::Forbidden),
        }
    }
}

#[derive(askama::Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    email: String,
    error: Option<String>,
    notice: Option<&'static str>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LoginQuery {
    passwort: Option<String>,
}

pub async fn login_page(
    State(portal): State<Portal>,
    Extension(csrf): Extension<CsrfToken>,
    Query(query): Query<LoginQuery>,
) -> Result<Response, PageError> {
    let notice = query.passwort.map(|_| "Ihr Passwort wurde gespeichert. Bitte melden Sie sich an.");
    render(&LoginPage { layout: Layout::new(&portal, &csrf, None), email: String::new(), error: None, notice })
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

pub async fn login(
    State(portal): State<Portal>,
    Extension(csrf): Extension<CsrfToken>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<LoginForm>,
) -> Result<Response, PageError> {
    let email = form.email.trim().to_lowercase();
    let failed = |status: StatusCode, message: String| {
        render_with_status(
            status,
            &LoginPage {
                layout: Layout::new(&portal, &csrf, None),
                email: email.clone(),
                error: Some(message),
                notice: None,
            },
        )
    };
    let attempt = portal.throttle().attempt(portal.db(), Action::Login, &email, &address, SecondFactor::None).await?;
    if let Err(throttled) = attempt {
        let minutes = throttled.minutes();
        let message = match crate::i18n::Lang::current() {
            crate::i18n::Lang::De => {
                format!("Zu viele fehlgeschlagene Anmeldungen. Bitte versuchen Sie es in {minutes} Minuten erneut.")
            }
            crate::i18n::Lang::En => format!("Too many failed sign-ins. Please try again in {minutes} minutes."),
        };
        return Ok(with_retry_after(failed(StatusCode::TOO_MANY_REQUESTS, message)?, throttled.retry_after_secs));
    }
    let user = users::find_by_email(portal.db(), &email).await?.filter(|user| !user.disabled);
    let stored_hash = user.as_ref().and_then(|user| user.password_hash.as_deref());
    let verified = portal.settings().passwords.verify(&form.password, stored_hash).await?;
    let Some(user) = user.filter(|_| verified) else {
        return failed(StatusCode::UNAUTHORIZED, "E-Mail-Adresse oder Passwort ist falsch.".into());
    };
    portal.throttle().succeeded(portal.db(), Action::Login, &email, &address).await?;
    // A new session id at every login: a session fixed before login is useless.
    if let Some(old) = cookie_value(&headers, SESSION_COOKIE) {
        sessions::revoke(portal.db(), &old).await?;
    }
    let token = sessions::create(portal.db(), &user.id).await?;
    tracing::info!(user_id = %user.id, role = user.role.as_str(), "login");
    Ok(with_cookie(
        Redirect::to("/").into_response(),
        sessions::session_cookie(token, portal.settings().secure_cookies()),
    ))
}

fn with_cookie(mut response: Response, cookie: cookie::Cookie<'static>) -> Response {
    if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

#[derive(Deserialize)]
pub struct EmptyForm {}

pub async fn logout(
    State(portal): State<Portal>,
    headers: HeaderMap,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    if let Some(token) = cookie_value(&headers, SESSION_COOKIE) {
        sessions::revoke(portal.db(), &token).await?;
    }
    Ok(with_cookie(
        Redirect::to("/anmelden").into_response(),
        sessions::clear_session_cookie(portal.settings().secure_cookies()),
    ))
}

#[derive(askama::Template)]
#[template(path = "set_password.html")]
struct SetPasswordPage {
    layout: Layout,
    token: String,
    email: String,
    error: Option<String>,
}

#[derive(askama::Template)]
#[template(path = "link_invalid.html")]
struct LinkInvalidPage {
    layout: Layout,
}

#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

pub async fn set_password_page(
    State(portal): State<Portal>,
    Extension(csrf): Extension<CsrfToken>,
    Query(query): Query<TokenQuery>,
) -> Result<Response, PageError> {
    let layout = Layout::new(&portal, &csrf, None);
    match users::peek_link(portal.db(), &query.token).await? {
        Some(user) => render(&SetPasswordPage { layout, token: query.token, email: user.email, error: None }),
        None => render_with_status(StatusCode::NOT_FOUND, &LinkInvalidPage { layout }),
    }
}

#[derive(Deserialize)]
pub struct SetPasswordForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
}

pub async fn set_password(
    State(portal): State<Portal>,
    Extension(csrf): Extension<CsrfToken>,
    ClientAddress(address): ClientAddress,
    CsrfForm(form): CsrfForm<SetPasswordForm>,
) -> Result<Response, PageError> {
    let layout = Layout::new(&portal, &csrf, None);
    // Counted per link (its hash: the link itself is a secret) and address, like a login.
    let link = token_hash(&form.token);
    let attempt =
        portal.throttle().attempt(portal.db(), Action::SetPassword, &link, &address, SecondFactor::None).await?;
    if let Err(throttled) = attempt {
        let text = format!("Zu viele Versuche. Bitte versuchen Sie es in {} Minuten erneut.", throttled.minutes());
        let page = crate::web::plain_page(StatusCode::TOO_MANY_REQUESTS, &text);
        return Ok(with_retry_after(page, throttled.retry_after_secs));
    }
    let Some(user) = users::peek_link(portal.db(), &form.token).await? else {
        return render_with_status(StatusCode::NOT_FOUND, &LinkInvalidPage { layout });
    };
    let password = match NewPassword::parse(&form.password, &form.password_confirm) {
        Ok(password) => password,
        Err(message) => {
            return render_with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &SetPasswordPage { layout, token: form.token, email: user.email, error: Some(message.into()) },
            );
        }
    };
    let hash = portal.settings().passwords.hash(password).await?;
    let Some(user) = users::redeem_link_with_password(portal.db(), &form.token, &hash).await? else {
        return render_with_status(StatusCode::NOT_FOUND, &LinkInvalidPage { layout });
    };
    tracing::info!(user_id = %user.id, "password set from e-mail link");
    let token = sessions::create(portal.db(), &user.id).await?;
    Ok(with_cookie(
        Redirect::to("/").into_response(),
        sessions::session_cookie(token, portal.settings().secure_cookies()),
    ))
}
