//! The console's audit log page: every action, newest first, filtered by
//! action; tenants are named and documents linked instead of shown by id.

use std::collections::HashMap;

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

/// A piece of an entry's subject as the page shows it: text, or what an id
/// names (a tenant by its name, a document by its kind) with a link to it.
pub enum Part {
    Text(String),
    Link { href: String, label: String },
}

/// The subject's words, with `tenant:<id>`, `invoice:<id>`, `credit_note:<id>`
/// and `order:<id>` named instead of shown as ids.
async fn parts(app: &AppState, subject: &str, names: &mut HashMap<String, String>) -> Vec<Part> {
    fn push_text(parts: &mut Vec<Part>, text: &str) {
        match parts.last_mut() {
            Some(Part::Text(last)) => last.push_str(text),
            _ => parts.push(Part::Text(text.to_owned())),
        }
    }
    let mut parts = Vec::new();
    for (i, word) in subject.split(' ').enumerate() {
        if i > 0 {
            push_text(&mut parts, " ");
        }
        let Some((kind, id)) =
            word.split_once(':').filter(|(_, id)| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()))
        else {
            push_text(&mut parts, word);
            continue;
        };
        let (href, label) = match kind {
            "tenant" => {
                if !names.contains_key(id) {
                    let name = match crate::tenants::find(&app.db, id).await {
                        Ok(Some(tenant)) => tenant.display_name().to_owned(),
                        _ => "Mandant".to_owned(),
                    };
                    names.insert(id.to_owned(), name);
                }
                (format!("/mandanten/{id}"), names[id].clone())
            }
            "invoice" => (format!("/rechnungen/{id}"), "Rechnung".to_owned()),
            "credit_note" => (format!("/rechnungen/{id}"), "Gutschrift".to_owned()),
            "order" => ("/bestellungen".to_owned(), "Bestellung".to_owned()),
            _ => {
                push_text(&mut parts, word);
                continue;
            }
        };
        parts.push(Part::Link { href, label });
    }
    parts
}

#[derive(askama::Template)]
#[template(path = "audit/templates/audit.html")]
struct AuditPage {
    layout: ConsoleLayout,
    /// When, who, what (label), which subject.
    entries: Vec<(String, super::Entry, &'static str, Vec<Part>)>,
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
        "reverse_payment" => "Zahlung storniert",
        "balance_payout" => "Guthaben ausgezahlt",
        "plan_set" => "Tarif vom Betreiber gesetzt",
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
    let mut names = HashMap::new();
    let mut shown = Vec::with_capacity(entries.len());
    for entry in entries {
        let label = action_label(&entry.action);
        let subject = parts(&app, &entry.subject, &mut names).await;
        shown.push((berlin_time(entry.at), entry, label, subject));
    }
    let actions = super::actions(&app.db).await?.into_iter().map(|a| {
        let label = action_label(&a);
        (a, label)
    });
    render(&AuditPage {
        layout: ConsoleLayout::new(&app, &csrf, Some(&operator)),
        entries: shown,
        actions: actions.collect(),
        action,
        page,
        more,
    })
}
