//! Payments through Stripe, when `stripe.secret_key` is set: a Customer per
//! tenant, a payment method (SEPA Direct Debit mandate or card) the broker sets
//! up through a SetupIntent, and a PaymentIntent per issued invoice, confirmed
//! off-session. Webhooks (`webhook.rs`) report the outcome. Without Stripe, or
//! without a payment method, brokers pay by bank transfer, as before.
//!
//! Requests are built with async-stripe's typed request builders and sent by its
//! client with an idempotency key derived from what they create. Responses are
//! read into the few fields used here (`Object`), so an answer that lacks
//! fields we do not read is not an error (docs/decisions.md).

pub mod webhook;

use std::collections::HashMap;

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};
use sqlx::Row;
use stripe::{IdempotencyKey, RequestStrategy, StripeRequest};
use stripe_core::customer::CreateCustomer;
use stripe_core::payment_intent::{CreatePaymentIntent, CreatePaymentIntentOffSession};
use stripe_core::setup_intent::{CreateSetupIntent, CreateSetupIntentUsage, RetrieveSetupIntent};
use tenant_app::db::Db;

use super::invoices::{self, Invoice, Kind};
use crate::config::StripeSettings;
use crate::state::AppState;
use crate::tenants::Tenant;

/// The configured Stripe account.
pub struct Stripe {
    client: stripe::Client,
    pub publishable_key: String,
    webhook_secret: SecretString,
    payment_method_types: Vec<String>,
}

impl Stripe {
    /// `None` when Stripe is not configured.
    pub fn from_settings(settings: &StripeSettings) -> anyhow::Result<Option<Stripe>> {
        let (Some(secret_key), Some(webhook_secret)) = (&settings.secret_key, &settings.webhook_secret) else {
            return Ok(None);
        };
        if !settings.enabled() {
            return Ok(None);
        }
        let client = stripe::ClientBuilder::new(secret_key.expose_secret())
            .url(settings.api_base.clone())
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .context("setting up the Stripe client")?;
        Ok(Some(Stripe {
            client,
            publishable_key: settings.publishable_key.clone(),
            webhook_secret: webhook_secret.clone(),
            payment_method_types: settings.payment_method_types.clone(),
        }))
    }

    pub(crate) fn webhook_secret(&self) -> &str {
        self.webhook_secret.expose_secret()
    }

    /// Sends `request` once with `key` as its idempotency key: a retry with
    /// the same key returns what the first attempt created.
    async fn send<R: StripeRequest>(&self, request: R, key: &str) -> anyhow::Result<Object> {
        self.send_raw(request, key).await.map_err(describe)
    }

    async fn send_raw<R: StripeRequest>(&self, request: R, key: &str) -> Result<Object, stripe::StripeError> {
        let key = IdempotencyKey::new(key).map_err(|err| stripe::StripeError::ClientError(err.to_string()))?;
        request
            .build()
            .customize::<Object>()
            .request_strategy(RequestStrategy::Idempotent(key))
            .send(&self.client)
            .await
    }
}

/// Stripe's error without the request (which may carry personal data).
fn describe(error: stripe::StripeError) -> anyhow::Error {
    match error {
        stripe::StripeError::Stripe(api, status) => {
            anyhow::anyhow!("Stripe answered {status}: {}", api.message.unwrap_or_default())
        }
        other => anyhow::anyhow!("Stripe: {other}"),
    }
}

/// The fields of a Stripe object this module reads: a Customer, SetupIntent
/// or PaymentIntent (with its payment method expanded where asked for).
#[derive(Debug, Default, miniserde::Deserialize)]
pub struct Object {
    pub id: String,
    pub status: Option<String>,
    pub client_secret: Option<String>,
    pub customer: Option<String>,
    pub last_payment_error: Option<PaymentError>,
}

#[derive(Debug, Default, miniserde::Deserialize)]
pub struct PaymentError {
    pub message: Option<String>,
}

/// A tenant's Stripe Customer and default payment method, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub customer_id: String,
    pub payment_method: Option<PaymentMethod>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentMethod {
    pub id: String,
    /// `sepa_debit` or `card`.
    pub kind: String,
    pub last4: Option<String>,
}

impl PaymentMethod {
    /// As the broker's billing page names it.
    pub fn label(&self) -> String {
        let kind = match self.kind.as_str() {
            "sepa_debit" => "SEPA-Lastschrift",
            "card" => "Kreditkarte",
            _ => "Stripe",
        };
        match &self.last4 {
            Some(last4) if self.kind == "sepa_debit" => format!("{kind} vom Konto mit IBAN-Endung {last4}"),
            Some(last4) => format!("{kind} mit Endung {last4}"),
            None => kind.to_owned(),
        }
    }
}

pub async fn account(db: &Db, tenant_id: &str) -> anyhow::Result<Option<Account>> {
    let row = sqlx::query(
        "SELECT customer_id, payment_method_id, payment_method_type, payment_method_last4 \
         FROM stripe_customers WHERE tenant_id = $1",
    )
    .bind(tenant_id)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let method: Option<String> = row.try_get(1)?;
    Ok(Some(Account {
        customer_id: row.try_get(0)?,
        payment_method: match method {
            Some(id) => Some(PaymentMethod {
                id,
                kind: row.try_get::<Option<String>, _>(2)?.unwrap_or_default(),
                last4: row.try_get(3)?,
            }),
            None => None,
        },
    }))
}

/// The tenant's Stripe Customer, created the first time. The idempotency key
/// is the tenant's, so concurrent or retried first calls make one Customer.
pub async fn customer(app: &AppState, stripe: &Stripe, tenant: &Tenant) -> anyhow::Result<String> {
    if let Some(account) = account(&app.db, &tenant.id).await? {
        return Ok(account.customer_id);
    }
    let metadata = HashMap::from([
        ("tenant_id".to_owned(), tenant.id.clone()),
        ("customer_number".to_owned(), format!("K-{}", tenant.slug)),
    ]);
    let request = CreateCustomer::new()
        .name(tenant.display_name())
        .email(tenant.email.clone())
        .preferred_locales(vec!["de".to_owned()])
        .metadata(metadata);
    let created = stripe.send(request, &format!("ordo-cus-{}", tenant.id)).await?;
    let now = app.clock.timestamp();
    sqlx::query(
        "INSERT INTO stripe_customers (tenant_id, customer_id, created_at, updated_at) VALUES ($1, $2, $3, $3) \
         ON CONFLICT (tenant_id) DO NOTHING",
    )
    .bind(&tenant.id)
    .bind(&created.id)
    .bind(now)
    .execute(app.db.pool())
    .await?;
    app.audit("stripe", "stripe_customer", &format!("tenant:{} {}", tenant.id, created.id)).await?;
    let stored = account(&app.db, &tenant.id).await?.context("the Stripe customer just stored")?;
    Ok(stored.customer_id)
}

/// What Stripe.js needs to collect a payment method for a SetupIntent.
pub struct Setup {
    pub setup_intent_id: String,
    pub client_secret: String,
}

/// A SetupIntent for the broker to set up a payment method for later,
/// off-session payments. `attempt` names this attempt (a double submit of the
/// same form gets the same SetupIntent).
pub async fn start_setup(app: &AppState, stripe: &Stripe, tenant: &Tenant, attempt: &str) -> anyhow::Result<Setup> {
    let customer = customer(app, stripe, tenant).await?;
    let mut request = CreateSetupIntent::new()
        .customer(customer)
        .usage(CreateSetupIntentUsage::OffSession)
        .metadata(HashMap::from([("tenant_id".to_owned(), tenant.id.clone())]));
    if !stripe.payment_method_types.is_empty() {
        let types = stripe.payment_method_types.iter().map(|t| t.parse().expect("validated")).collect::<Vec<_>>();
        request = request.allowed_payment_method_types(types);
    }
    let created = stripe.send(request, &format!("ordo-seti-{}-{attempt}", tenant.id)).await?;
    Ok(Setup {
        client_secret: created.client_secret.context("a SetupIntent has a client secret")?,
        setup_intent_id: created.id,
    })
}

/// The payment method of a SetupIntent as Stripe reports it.
#[derive(Debug, Default, miniserde::Deserialize)]
struct SetupIntentWithMethod {
    id: String,
    status: String,
    customer: Option<String>,
    payment_method: Option<ExpandedMethod>,
}

#[derive(Debug, Default, miniserde::Deserialize)]
struct ExpandedMethod {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    card: Option<Last4>,
    sepa_debit: Option<Last4>,
}

#[derive(Debug, Default, miniserde::Deserialize)]
struct Last4 {
    last4: Option<String>,
}

/// Makes the payment method of a succeeded SetupIntent the tenant's default,
/// reading the SetupIntent from Stripe (the return from Stripe.js and the
/// `setup_intent.succeeded` webhook both end here). Returns the tenant's id,
/// or `None` when the SetupIntent has not succeeded or is not one of ours.
pub async fn adopt_setup(app: &AppState, stripe: &Stripe, setup_intent_id: &str) -> anyhow::Result<Option<String>> {
    let intent: SetupIntentWithMethod = RetrieveSetupIntent::new(setup_intent_id)
        .expand(vec!["payment_method".to_owned()])
        .build()
        .customize()
        .send(&stripe.client)
        .await
        .map_err(describe)?;
    let (Some(customer), Some(method)) = (intent.customer, intent.payment_method) else { return Ok(None) };
    if intent.status != "succeeded" {
        return Ok(None);
    }
    let tenant_id: Option<String> = sqlx::query_scalar("SELECT tenant_id FROM stripe_customers WHERE customer_id = $1")
        .bind(&customer)
        .fetch_optional(app.db.pool())
        .await?;
    let Some(tenant_id) = tenant_id else { return Ok(None) };
    let last4 = method.sepa_debit.or(method.card).and_then(|details| details.last4);
    let changed = sqlx::query(
        "UPDATE stripe_customers SET payment_method_id = $1, payment_method_type = $2, payment_method_last4 = $3, \
           updated_at = $4 WHERE tenant_id = $5 AND (payment_method_id IS NULL OR payment_method_id <> $1)",
    )
    .bind(&method.id)
    .bind(&method.kind)
    .bind(last4)
    .bind(app.clock.timestamp())
    .bind(&tenant_id)
    .execute(app.db.pool())
    .await?;
    if changed.rows_affected() > 0 {
        app.audit(
            "stripe",
            "payment_method",
            &format!("tenant:{tenant_id} {} {} {}", intent.id, method.id, method.kind),
        )
        .await?;
    }
    Ok(Some(tenant_id))
}

/// Back to bank transfer: the tenant's invoices are no longer collected.
pub async fn forget_payment_method(app: &AppState, tenant_id: &str, actor: &str) -> anyhow::Result<()> {
    let changed = sqlx::query(
        "UPDATE stripe_customers SET payment_method_id = NULL, payment_method_type = NULL, \
           payment_method_last4 = NULL, updated_at = $1 WHERE tenant_id = $2 AND payment_method_id IS NOT NULL",
    )
    .bind(app.clock.timestamp())
    .bind(tenant_id)
    .execute(app.db.pool())
    .await?;
    if changed.rows_affected() > 0 {
        app.audit(actor, "payment_method_removed", &format!("tenant:{tenant_id}")).await?;
    }
    Ok(())
}

/// How an invoice is being collected through Stripe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collection {
    pub payment_intent_id: String,
    /// `processing`, `succeeded`, `failed` or `requires_action`.
    pub status: String,
    pub failure_message: Option<String>,
}

impl Collection {
    /// As the broker's and the operator's invoice lists show it.
    pub fn label(&self) -> String {
        match self.status.as_str() {
            "succeeded" => "per Stripe bezahlt".into(),
            "failed" => match &self.failure_message {
                Some(message) => format!("Einzug fehlgeschlagen: {message}"),
                None => "Einzug fehlgeschlagen".into(),
            },
            "requires_action" => "Zahlung wartet auf Bestätigung".into(),
            _ => "Einzug läuft".into(),
        }
    }
}

/// The Stripe collections of `invoice_ids`, by invoice.
pub async fn collections(db: &Db, invoice_ids: &[&str]) -> anyhow::Result<HashMap<String, Collection>> {
    if invoice_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let placeholders = (1..=invoice_ids.len()).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ");
    let sql = format!(
        "SELECT invoice_id, payment_intent_id, status, failure_message FROM stripe_payments \
         WHERE invoice_id IN ({placeholders})"
    );
    let mut query = sqlx::query_as::<_, (String, String, String, Option<String>)>(&sql);
    for id in invoice_ids {
        query = query.bind(*id);
    }
    Ok(query
        .fetch_all(db.pool())
        .await?
        .into_iter()
        .map(|(invoice_id, payment_intent_id, status, failure_message)| {
            (invoice_id, Collection { payment_intent_id, status, failure_message })
        })
        .collect())
}

/// Stripe's status of a PaymentIntent, as stored.
fn collection_status(stripe_status: Option<&str>) -> &'static str {
    match stripe_status {
        Some("succeeded") => "succeeded",
        Some("requires_payment_method" | "canceled") => "failed",
        Some("requires_action" | "requires_confirmation") => "requires_action",
        _ => "processing",
    }
}

/// Creates the PaymentIntent of one issued invoice, charged to the tenant's
/// default payment method off-session. The idempotency key is the invoice's:
/// one invoice, one PaymentIntent, however often this runs. Payment itself is
/// recorded when the `payment_intent.succeeded` webhook arrives.
pub async fn collect(app: &AppState, stripe: &Stripe, invoice: &Invoice) -> anyhow::Result<Option<Collection>> {
    anyhow::ensure!(invoice.issued && invoice.kind == Kind::Invoice, "only issued invoices are collected");
    if let Some(existing) = collections(&app.db, &[invoice.id.as_str()]).await?.remove(&invoice.id) {
        return Ok(Some(existing));
    }
    let Some(Account { customer_id, payment_method: Some(method) }) = account(&app.db, &invoice.tenant_id).await?
    else {
        return Ok(None);
    };
    let number = invoice.number.clone().unwrap_or_default();
    let metadata = HashMap::from([
        ("invoice_id".to_owned(), invoice.id.clone()),
        ("invoice_number".to_owned(), number),
        ("tenant_id".to_owned(), invoice.tenant_id.clone()),
    ]);
    let request = CreatePaymentIntent::new(invoice.open_amount().0, stripe_types::Currency::EUR)
        .customer(customer_id)
        .payment_method(method.id)
        .confirm(true)
        .off_session(CreatePaymentIntentOffSession::Bool(true))
        .metadata(metadata);
    let key = format!("ordo-pi-{}", invoice.id);
    let (status, payment_intent_id, failure) = match stripe.send_raw(request, &key).await {
        Ok(intent) => (
            collection_status(intent.status.as_deref()),
            intent.id,
            intent.last_payment_error.and_then(|error| error.message),
        ),
        // Declined at once (a card): Stripe made the PaymentIntent and says so in the error.
        Err(stripe::StripeError::Stripe(api, 402)) if api.payment_intent.is_some() => {
            let intent = api.payment_intent.expect("checked");
            ("failed", intent.id.to_string(), api.message)
        }
        Err(err) => return Err(describe(err).context(format!("collecting invoice {}", invoice.id))),
    };
    let now = app.clock.timestamp();
    sqlx::query(
        "INSERT INTO stripe_payments (invoice_id, payment_intent_id, status, failure_message, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (invoice_id) DO NOTHING",
    )
    .bind(&invoice.id)
    .bind(&payment_intent_id)
    .bind(status)
    .bind(&failure)
    .bind(now)
    .execute(app.db.pool())
    .await?;
    app.audit("stripe", "payment_intent", &format!("invoice:{} {payment_intent_id} {status}", invoice.id)).await?;
    if status == "failed" {
        report_failure(app, &invoice.id, &payment_intent_id, failure.as_deref()).await?;
    }
    Ok(collections(&app.db, &[invoice.id.as_str()]).await?.remove(&invoice.id))
}

/// A collection failed: the audit log and the tenant's events on the
/// operator's tenant page say so; the invoice stays open.
pub(crate) async fn report_failure(
    app: &AppState,
    invoice_id: &str,
    payment_intent_id: &str,
    message: Option<&str>,
) -> anyhow::Result<()> {
    let reason = message.unwrap_or("ohne Angabe");
    app.audit("stripe", "payment_failed", &format!("invoice:{invoice_id} {payment_intent_id} {reason}")).await?;
    if let Some(invoice) = invoices::find(&app.db, invoice_id).await? {
        let number = invoice.number.unwrap_or_default();
        let text = format!("Einzug der Rechnung {number} über {} fehlgeschlagen: {reason}", invoice.gross);
        crate::tenants::record_event(&app.db, &invoice.tenant_id, "payment_failed", &text).await?;
    }
    Ok(())
}

/// Collects every open invoice of a tenant with a payment method that has no
/// PaymentIntent yet. A failure is logged and the next invoice tried; the
/// next run tries again. Returns how many PaymentIntents were created.
pub async fn collect_open(app: &AppState) -> anyhow::Result<usize> {
    let Some(stripe) = app.stripe.clone() else { return Ok(0) };
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT i.id FROM invoices i JOIN stripe_customers c ON c.tenant_id = i.tenant_id \
         WHERE i.status = 'issued' AND i.kind = 'invoice' AND i.paid_at IS NULL AND i.gross_cents > i.paid_cents \
           AND c.payment_method_id IS NOT NULL \
           AND NOT EXISTS (SELECT 1 FROM stripe_payments p WHERE p.invoice_id = i.id) \
         ORDER BY i.number",
    )
    .fetch_all(app.db.pool())
    .await?;
    let mut created = 0;
    for id in ids {
        let Some(invoice) = invoices::find(&app.db, &id).await? else { continue };
        match collect(app, &stripe, &invoice).await {
            Ok(Some(_)) => created += 1,
            Ok(None) => {}
            Err(err) => tracing::warn!(invoice = %id, error = %format!("{err:#}"), "Stripe collection failed"),
        }
    }
    Ok(created)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payment_methods_and_collections_read_in_german() {
        let debit = PaymentMethod { id: "pm_1".into(), kind: "sepa_debit".into(), last4: Some("3000".into()) };
        assert_eq!(debit.label(), "SEPA-Lastschrift vom Konto mit IBAN-Endung 3000");
        let card = PaymentMethod { id: "pm_2".into(), kind: "card".into(), last4: Some("4242".into()) };
        assert_eq!(card.label(), "Kreditkarte mit Endung 4242");
        let failed = Collection {
            payment_intent_id: "pi_1".into(),
            status: "failed".into(),
            failure_message: Some("Konto gedeckt?".into()),
        };
        assert_eq!(failed.label(), "Einzug fehlgeschlagen: Konto gedeckt?");
        assert_eq!(collection_status(Some("requires_payment_method")), "failed");
        assert_eq!(collection_status(Some("processing")), "processing");
    }
}
