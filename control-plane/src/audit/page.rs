//! The console's audit log page: every action, newest first, filtered by action.

use axum::Extension;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use tenant_app::calendar::berlin_time;
use tenant_app::security::csrf::CsrfToken;
use tenant_app::web::{PageError, render};

use crate::operators::console::{ConsoleLayout, ConsoleOperator};
use crate::state::AppState;

/// Entries per page.
const AUDIT_PAGE_SIZE: u32 = 50;

#[derive(Deserialize)]
struct AuditQuery {
    #[serde(default)]
    action: String,
    #[serde(default)]
    page: String,
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/protokoll", get(audit_page))
}

#[derive(askama::Template)]
#[template(path = "audit/templates/audit.html")]
struct AuditPage {
    layout: ConsoleLayout,
    /// When, who, what (label), which subject.
    entries: Vec<(String, super::Entry, &'static str)>,
    actions: Vec<(String, &'static str)>,
    action: String,
    page: u32,
    more: bool,
}

/// What an action in the audit log means, in German; unknown ones show as written.
fn action_label(action: &str) -> &'static str {
    match action {
        "login" => "Anmeldung",
        "set_password" => "Passwort gesetzt",
        "create_api_token" => "API-Token erzeugt",
        "revoke_api_token" => "API-Token widerrufen",
        "retry_provisioning" => "Einrichtung wiederholt",
        "suspend_tenant" => "Portal gesperrt",
        "resume_tenant" => "Portal freigegeben",
        "record_payment" => "Zahlung erfasst",
        "credit_note" => "Gutschrift ausgestellt",
        "signup" => "Testphase begonnen",
        "price_list" => "Preisliste erfasst",
        "order_placed" => "Tarif bestellt",
        "order_confirmed" => "Bestellung bestätigt",
        "order_rejected" => "Bestellung abgelehnt",
        "plan_changed" => "Tarif gewechselt",
        "trial_extended" => "Testphase verlängert",
        "delete_lapsed_trial" => "Abgelaufene Testphase gelöscht",
        "dunning" => "Mahnstufe erreicht",
        "resume_after_payment" => "Nach Zahlung freigegeben",
        "payment_failed" => "Einzug fehlgeschlagen",
        "payment_intent" => "Einzug angestoßen",
        "stripe_customer" => "Stripe-Kunde angelegt",
        "payment_method_removed" => "Zahlungsart entfernt",
        _ => "",
    }
}

async fn audit_page(
    State(app): State<AppState>,
    ConsoleOperator(operator): ConsoleOperator,
    Extension(csrf): Extension<CsrfToken>,
    Query(query): Query<AuditQuery>,
) -> Result<Response, PageError> {
    let page = query.page.parse::<u32>().unwrap_or(1).clamp(1, 100_000);
    let action = query.action.trim().to_owned();
    let filter = Some(action.as_str()).filter(|a| !a.is_empty());
    let (entries, more) = super::page(&app.db, filter, page, AUDIT_PAGE_SIZE).await?;
    let entries = entries
        .into_iter()
        .map(|entry| {
            let label = action_label(&entry.action);
            (berlin_time(entry.at), entry, label)
        })
        .collect();
    let actions = super::actions(&app.db).await?.into_iter().map(|a| {
        let label = action_label(&a);
        (a, label)
    });
    render(&AuditPage {
        layout: ConsoleLayout::new(&app, &csrf, Some(&operator)),
        entries,
        actions: actions.collect(),
        action,
        page,
        more,
    })
}
