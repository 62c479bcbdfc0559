//! The console's frame for every area's pages: who is logged in, and the
//! layout values the console's base template needs.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use tenant_app::security::csrf::CsrfToken;
use tenant_app::security::sessions::{self, SESSION_COOKIE, cookie_value};
use tenant_app::web::PageError;

use super::{self as operators, Operator};
use crate::state::AppState;

/// A logged-in operator.
pub struct ConsoleOperator(pub Operator);

impl FromRequestParts<AppState> for ConsoleOperator {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Self::Rejection> {
        let token = cookie_value(&parts.headers, SESSION_COOKIE).ok_or(PageError::LoginRequired)?;
        let operator_id = sessions::lookup(&app.db, &token).await?.ok_or(PageError::LoginRequired)?;
        let operator = operators::find(&app.db, &operator_id).await?.ok_or(PageError::LoginRequired)?;
        Ok(ConsoleOperator(operator))
    }
}

pub struct ConsoleLayout {
    pub product: String,
    pub csrf: String,
    pub operator: Option<String>,
}

impl ConsoleLayout {
    pub fn new(app: &AppState, csrf: &CsrfToken, operator: Option<&Operator>) -> ConsoleLayout {
        ConsoleLayout {
            product: app.config.operator_name.clone(),
            csrf: csrf.as_str().to_owned(),
            operator: operator.map(|o| o.email.clone()),
        }
    }
}
