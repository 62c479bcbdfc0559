//! The billing area's own login, `/makler/abrechnung/anmelden`: while a
//! portal is suspended its login page is down with the rest of it, yet the
//! broker must still be able to pay. The password is checked against the
//! tenant's database, with the portal's throttle, and the session made is the
//! portal's own, so it opens the whole portal again once it is resumed.

use axum::Extension;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tenant_app::security::csrf::{CsrfForm, CsrfToken};
use tenant_app::security::passwords;
use tenant_app::security::sessions::{self, SESSION_COOKIE, cookie_value};
use tenant_app::security::throttle::{Action, SecondFactor};
use tenant_app::users::Role;
use tenant_app::web::{ClientAddress, PageError, render_with_status, with_retry_after};

use super::broker::{Billing, PREFIX, with_tenant_db};

pub const LOGIN_PATH: &str = "/makler/abrechnung/anmelden";

#[derive(askama::Template)]
#[template(path = "billing/templates/login.html")]
struct LoginPage {
    brand: String,
    broker: String,
    csrf: String,
    email: String,
    error: Option<String>,
}

fn login_page(
    billing: &Billing,
    csrf: &CsrfToken,
    status: StatusCode,
    email: String,
    error: Option<String>,
) -> Response {
    let page = LoginPage {
        brand: billing.tenant.display_name().to_owned(),
        broker: String::new(),
        csrf: csrf.as_str().to_owned(),
        email,
        error,
    };
    render_with_status(status, &page).unwrap_or_else(IntoResponse::into_response)
}

pub(super) async fn show(State(billing): State<Billing>, Extension(csrf): Extension<CsrfToken>) -> Response {
    login_page(&billing, &csrf, StatusCode::OK, String::new(), None)
}

#[derive(Deserialize)]
pub(super) struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

enum Outcome {
    Throttled(i64),
    Busy,
    Refused,
    LoggedIn(String),
}

pub(super) async fn submit(
    State(billing): State<Billing>,
    Extension(csrf): Extension<CsrfToken>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<LoginForm>,
) -> Result<Response, PageError> {
    let email = form.email.trim().to_lowercase();
    let old_session = cookie_value(&headers, SESSION_COOKIE);
    let throttle = billing.app.throttle;
    let gate = billing.app.passwords.clone();
    let (account, password) = (email.clone(), form.password);
    let outcome = with_tenant_db(&billing.app, &billing.tenant, |db| async move {
        // The portal's own login counts in the same rows.
        if let Err(throttled) = throttle.attempt(&db, Action::Login, &account, &address, SecondFactor::None).await? {
            return Ok(Outcome::Throttled(throttled.retry_after_secs));
        }
        // Only the broker pays: a customer's password opens nothing here.
        let user = tenant_app::users::find_by_email(&db, &account)
            .await?
            .filter(|user| !user.disabled && user.role == Role::Broker);
        let stored_hash = user.as_ref().and_then(|user| user.password_hash.as_deref());
        let Ok(verified) = gate.verify(&password, stored_hash).await else {
            return Ok(Outcome::Busy);
        };
        let Some(user) = user.filter(|_| verified) else {
            return Ok(Outcome::Refused);
        };
        throttle.succeeded(&db, Action::Login, &account, &address).await?;
        if let Some(old) = old_session {
            sessions::revoke(&db, &old).await?;
        }
        tracing::info!(user_id = %user.id, "login to the billing area");
        Ok(Outcome::LoggedIn(sessions::create(&db, &user.id).await?))
    })
    .await
    .map_err(PageError::Internal)?;
    Ok(match outcome {
        Outcome::Throttled(seconds) => {
            let minutes = (seconds + 59) / 60;
            let message =
                format!("Zu viele fehlgeschlagene Anmeldungen. Bitte versuchen Sie es in {minutes} Minuten erneut.");
            let page = login_page(&billing, &csrf, StatusCode::TOO_MANY_REQUESTS, email, Some(message));
            with_retry_after(page, seconds)
        }
        Outcome::Busy => return Err(passwords::Busy.into()),
        Outcome::Refused => login_page(
            &billing,
            &csrf,
            StatusCode::UNAUTHORIZED,
            email,
            Some("E-Mail-Adresse oder Passwort ist falsch.".into()),
        ),
        Outcome::LoggedIn(token) => {
            let mut response = Redirect::to(PREFIX).into_response();
            let cookie = sessions::session_cookie(token, billing.app.hosts.secure());
            if let Ok(value) = axum::http::HeaderValue::from_str(&cookie.to_string()) {
                response.headers_mut().append(axum::http::header::SET_COOKIE, value);
            }
            response
        }
    })
}
