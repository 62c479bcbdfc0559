//! From trial to plan: the broker orders a plan (and optionally whitelabel),
//! downloads the usage contract with the data processing agreement as a PDF,
//! uploads the signed scan, and the operator confirms. The plan starts on the
//! confirmation day, the setup fees are invoiced at once, and the portal gets
//! its new limits. Later plan changes take effect the same day and are
//! prorated by the monthly run; a downgrade is refused while usage exceeds the
//! target plan's limits. A trial can be extended by 30 days for a fee, also
//! invoiced at once. The operator can also put a tenant on a plan directly
//! (`set_by_operator`), with the same effects as a confirmed order.

use anyhow::Context;
use base64::Engine;
use chrono::NaiveDate;
use sha2::{Digest, Sha256};
use tenant_app::calendar::{berlin_date, format_date};
use tenant_app::db::new_id;
use tenant_app::mail::Email;
use tenant_app::plans::Plan;
use tenant_app::usage::Usage;

use super::charges::{self, add_charge};
use super::invoices::LineKind;
use super::money::Cents;
use super::prices;
use super::refusal::{Outcome, Refusal};
use super::subscriptions;
use crate::state::AppState;
use crate::tenants::{self, Tenant};

/// The plans a broker can order.
pub const ORDERABLE: [Plan; 3] = [Plan::PayPerUse, Plan::PremiumStarter, Plan::Premium];

/// Signed scans larger than this are refused.
pub const MAX_SCAN_BYTES: usize = 10 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    AwaitingSignature,
    Signed,
    Confirmed,
    Rejected,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::AwaitingSignature => "awaiting_signature",
            OrderStatus::Signed => "signed",
            OrderStatus::Confirmed => "confirmed",
            OrderStatus::Rejected => "rejected",
        }
    }

    fn parse(text: &str) -> OrderStatus {
        match text {
            "signed" => OrderStatus::Signed,
            "confirmed" => OrderStatus::Confirmed,
            "rejected" => OrderStatus::Rejected,
            _ => OrderStatus::AwaitingSignature,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            OrderStatus::AwaitingSignature => "wartet auf den unterschriebenen Vertrag",
            OrderStatus::Signed => "unterschrieben, wird geprüft",
            OrderStatus::Confirmed => "bestätigt",
            OrderStatus::Rejected => "abgelehnt",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Order {
    pub id: String,
    pub tenant_id: String,
    pub plan: Plan,
    pub whitelabel: bool,
    pub status: OrderStatus,
    pub contract_sha256: String,
    pub signed_name: Option<String>,
    pub signed_at: Option<i64>,
    pub decided_at: Option<i64>,
    pub decided_by: Option<String>,
    pub reason: Option<String>,
    pub created_at: i64,
}

impl Order {
    /// The short number printed on the contract.
    pub fn number(&self) -> String {
        format!("B-{}", &self.id[self.id.len().saturating_sub(8)..]).to_uppercase()
    }

    pub fn is_open(&self) -> bool {
        matches!(self.status, OrderStatus::AwaitingSignature | OrderStatus::Signed)
    }
}

type Row = (
    String,
    String,
    String,
    i64,
    String,
    String,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<String>,
    i64,
);

const COLUMNS: &str = "id, tenant_id, plan, whitelabel, status, contract_sha256, signed_name, signed_at, decided_at, \
                       decided_by, reason, created_at";

fn from_row(row: Row) -> Order {
    let (
        id,
        tenant_id,
        plan,
        whitelabel,
        status,
        contract_sha256,
        signed_name,
        signed_at,
        decided_at,
        decided_by,
        reason,
        created_at,
    ) = row;
    Order {
        id,
        tenant_id,
        plan: Plan::parse(&plan).unwrap_or(Plan::PayPerUse),
        whitelabel: whitelabel != 0,
        status: OrderStatus::parse(&status),
        contract_sha256,
        signed_name,
        signed_at,
        decided_at,
        decided_by,
        reason,
        created_at,
    }
}

pub async fn find(app: &AppState, id: &str) -> anyhow::Result<Option<Order>> {
    let row: Option<Row> = sqlx::query_as(&format!("SELECT {COLUMNS} FROM orders WHERE id = $1"))
        .bind(id)
        .fetch_optional(app.db.pool())
        .await?;
    Ok(row.map(from_row))
}

/// The tenant's orders, newest first.
pub async fn for_tenant(app: &AppState, tenant_id: &str) -> anyhow::Result<Vec<Order>> {
    let rows: Vec<Row> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM orders WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC"))
            .bind(tenant_id)
            .fetch_all(app.db.pool())
            .await?;
    Ok(rows.into_iter().map(from_row).collect())
}

/// Orders waiting for the operator (signed) or the broker (unsigned), oldest first.
pub async fn open(app: &AppState) -> anyhow::Result<Vec<Order>> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM orders WHERE status IN ('awaiting_signature', 'signed') ORDER BY created_at, id"
    ))
    .fetch_all(app.db.pool())
    .await?;
    Ok(rows.into_iter().map(from_row).collect())
}

/// The signed scan: file name, content type, bytes.
pub async fn signed_scan(app: &AppState, id: &str) -> anyhow::Result<Option<(String, String, Vec<u8>)>> {
    let row: Option<(Option<String>, Option<String>, Option<String>)> =
        sqlx::query_as("SELECT signed_name, signed_type, signed_data FROM orders WHERE id = $1")
            .bind(id)
            .fetch_optional(app.db.pool())
            .await?;
    let Some((Some(name), Some(content_type), Some(data))) = row else { return Ok(None) };
    Ok(Some((name, content_type, base64::engine::general_purpose::STANDARD.decode(data)?)))
}

/// A new order; an open one is replaced (the broker chose again).
pub async fn place(app: &AppState, tenant: &Tenant, plan: Plan, whitelabel: bool) -> anyhow::Result<Order> {
    anyhow::ensure!(ORDERABLE.contains(&plan), "not an orderable plan");
    let now = app.clock.timestamp();
    let id = new_id();
    let mut order = Order {
        id: id.clone(),
        tenant_id: tenant.id.clone(),
        plan,
        whitelabel,
        status: OrderStatus::AwaitingSignature,
        contract_sha256: String::new(),
        signed_name: None,
        signed_at: None,
        decided_at: None,
        decided_by: None,
        reason: None,
        created_at: now,
    };
    let contract = super::contract::contract_pdf(app, tenant, &order).await?;
    order.contract_sha256 = hex::encode(Sha256::digest(&contract));
    let mut tx = app.db.pool().begin().await?;
    sqlx::query(
        "UPDATE orders SET status = 'rejected', reason = 'durch eine neue Bestellung ersetzt', decided_at = $1 \
         WHERE tenant_id = $2 AND status IN ('awaiting_signature', 'signed')",
    )
    .bind(now)
    .bind(&tenant.id)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO orders (id, tenant_id, plan, whitelabel, status, contract_sha256, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(&tenant.id)
    .bind(plan.as_str())
    .bind(i64::from(whitelabel))
    .bind(OrderStatus::AwaitingSignature.as_str())
    .bind(&order.contract_sha256)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    app.audit(&tenant.email, "order_placed", &format!("tenant:{} order:{id} {}", tenant.id, plan.as_str())).await?;
    Ok(order)
}

/// What a signed scan may be, by its first bytes (not by what the browser says).
pub fn scan_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else {
        None
    }
}

/// Stores the signed scan; the order then waits for the operator.
pub async fn attach_signed(app: &AppState, order: &Order, name: &str, bytes: &[u8]) -> Outcome<()> {
    if !order.is_open() {
        return Err(Refusal::OrderClosed.into());
    }
    if bytes.is_empty() {
        return Err(Refusal::ScanMissing.into());
    }
    if bytes.len() > MAX_SCAN_BYTES {
        return Err(Refusal::ScanTooLarge.into());
    }
    let Some(content_type) = scan_type(bytes) else {
        return Err(Refusal::ScanType.into());
    };
    let name: String = name.chars().filter(|c| !c.is_control() && *c != '/' && *c != '\\').take(120).collect();
    let name = if name.trim().is_empty() { "vertrag-unterschrieben".to_owned() } else { name };
    sqlx::query(
        "UPDATE orders SET status = 'signed', signed_name = $1, signed_type = $2, signed_data = $3, signed_at = $4 \
         WHERE id = $5 AND status IN ('awaiting_signature', 'signed')",
    )
    .bind(&name)
    .bind(content_type)
    .bind(base64::engine::general_purpose::STANDARD.encode(bytes))
    .bind(app.clock.timestamp())
    .bind(&order.id)
    .execute(app.db.pool())
    .await?;
    Ok(())
}

/// The operator accepts a signed order: the plan starts today (Berlin), the
/// setup fees are invoiced at once, the portal gets its limits, the broker is
/// told. Returns the setup invoice's id.
pub async fn confirm(app: &AppState, order: &Order, operator: &str) -> anyhow::Result<Option<String>> {
    anyhow::ensure!(order.status == OrderStatus::Signed, "only a signed order can be confirmed");
    let tenant = tenants::find(&app.db, &order.tenant_id).await?.context("the order's tenant")?;
    let decided = sqlx::query(
        "UPDATE orders SET status = 'confirmed', decided_at = $1, decided_by = $2 WHERE id = $3 AND status = 'signed'",
    )
    .bind(app.clock.timestamp())
    .bind(operator)
    .bind(&order.id)
    .execute(app.db.pool())
    .await?;
    anyhow::ensure!(decided.rows_affected() == 1, "the order was decided meanwhile");
    app.audit(operator, "order_confirmed", &format!("tenant:{} order:{} {}", tenant.id, order.id, order.plan.as_str()))
        .await?;
    start_plan(app, &tenant, order.plan, order.whitelabel).await
}

/// A plan that starts today because the operator confirmed it (an order, or
/// a contract that came by post): the subscription, the setup fees invoiced
/// at once (the setup fee only coming from the trial, the whitelabel setup
/// only when whitelabel is new), the portal brought to its plan, the broker
/// told. Returns the setup invoice's id.
async fn start_plan(app: &AppState, tenant: &Tenant, plan: Plan, whitelabel: bool) -> anyhow::Result<Option<String>> {
    let today = app.clock.berlin_today();
    let now = app.clock.timestamp();
    let pricing = prices::for_period(&app.db, &prices::month_of(today)).await?;
    let current = subscriptions::current(&app.db, &tenant.id).await?.filter(|s| s.plan != Plan::Trial);
    subscriptions::start(&app.db, &tenant.id, plan, whitelabel, today, now).await?;
    if current.is_none() {
        let fee = Cents(pricing.setup_fee_cents);
        let description = format!("Einrichtungsgebühr {}", plan.label());
        add_charge(&app.db, &tenant.id, LineKind::Setup, &description, fee, today, now).await?;
    }
    if whitelabel && !current.as_ref().is_some_and(|c| c.whitelabel) && !tenant.whitelabel {
        let fee = Cents(pricing.whitelabel_setup_cents);
        add_charge(&app.db, &tenant.id, LineKind::WhitelabelSetup, "Einrichtung Whitelabel", fee, today, now).await?;
    }
    set_plan(app, tenant, plan, whitelabel).await?;
    let invoice = charges::invoice_now(app, &tenant.id).await?;
    let setup = if invoice.is_some() {
        "Die Einrichtungsgebühr stellen wir Ihnen mit gesonderter Rechnung in Rechnung, die Sie mit dieser \
         Nachricht per E-Mail erhalten; die monatlichen Beträge folgen mit der Monatsrechnung."
    } else {
        "Die monatlichen Beträge stellen wir mit der Monatsrechnung in Rechnung."
    };
    app.mailer
        .send(Email {
            to: tenant.email.clone(),
            sender_name: app.config.operator_name.clone(),
            from_address: None,
            subject: format!("Ihr Tarif {} ist aktiv", plan.label()),
            body: format!(
                "Guten Tag {},\n\nwir haben Ihren Vertrag erhalten und Ihren Tarif freigeschaltet. \
                 Ihr Tarif {} gilt ab heute, dem {}; Ihr Portal ist freigeschaltet.\n\n{setup}\n\nIhr {}-Team\n",
                tenant.name,
                plan.label(),
                format_date(&today),
                app.config.operator_name
            ),
        })
        .await?;
    Ok(invoice)
}

/// What the operator asked for when putting a tenant on a plan directly.
#[derive(Debug, Clone)]
pub struct OperatorPlan {
    pub plan: Plan,
    pub whitelabel: bool,
    /// Why, e.g. "Vertrag per Post am 3.11. erhalten"; in the audit log.
    pub reason: String,
}

/// The operator puts a tenant on a plan (for example when the signed paper
/// contract arrived by post): the effects of a confirmed order. Open orders
/// of the tenant are closed. Returns the setup invoice's id, if one was made.
pub async fn set_by_operator(
    app: &AppState,
    tenant: &Tenant,
    wanted: &OperatorPlan,
    operator: &str,
) -> Outcome<Option<String>> {
    if tenant.status == tenants::TenantStatus::Deleted {
        return Err(Refusal::TenantDeleted.into());
    }
    if !ORDERABLE.contains(&wanted.plan) {
        return Err(anyhow::anyhow!("not an orderable plan").into());
    }
    let current = subscriptions::current(&app.db, &tenant.id).await?.filter(|s| s.plan != Plan::Trial);
    if current.as_ref().is_some_and(|c| c.plan == wanted.plan && c.whitelabel == wanted.whitelabel) {
        return Err(Refusal::SamePlan.into());
    }
    if current.is_some() {
        let usage = crate::usage::measure(app, tenant).await?;
        if let Some(problem) = exceeds(wanted.plan, usage) {
            return Err(Refusal::OverLimit(problem).into());
        }
    }
    sqlx::query(
        "UPDATE orders SET status = 'rejected', reason = 'Tarif vom Betreiber gesetzt', decided_at = $1, \
           decided_by = $2 WHERE tenant_id = $3 AND status IN ('awaiting_signature', 'signed')",
    )
    .bind(app.clock.timestamp())
    .bind(operator)
    .bind(&tenant.id)
    .execute(app.db.pool())
    .await?;
    app.audit(
        operator,
        "plan_set",
        &format!(
            "tenant:{} {}{} ab {}. Grund: {}",
            tenant.id,
            wanted.plan.label(),
            if wanted.whitelabel { " mit Whitelabel" } else { "" },
            format_date(&app.clock.berlin_today()),
            wanted.reason
        ),
    )
    .await?;
    Ok(start_plan(app, tenant, wanted.plan, wanted.whitelabel).await?)
}

pub async fn reject(app: &AppState, order: &Order, operator: &str, reason: &str) -> anyhow::Result<()> {
    anyhow::ensure!(order.is_open(), "the order was decided already");
    sqlx::query("UPDATE orders SET status = 'rejected', decided_at = $1, decided_by = $2, reason = $3 WHERE id = $4")
        .bind(app.clock.timestamp())
        .bind(operator)
        .bind(reason)
        .bind(&order.id)
        .execute(app.db.pool())
        .await?;
    app.audit(operator, "order_rejected", &format!("order:{} {reason}", order.id)).await?;
    Ok(())
}

/// Records the plan on the tenant and brings its portal to it.
async fn set_plan(app: &AppState, tenant: &Tenant, plan: Plan, whitelabel: bool) -> anyhow::Result<()> {
    tenants::trial::set_plan(&app.db, &tenant.id, plan, whitelabel, app.clock.timestamp()).await?;
    crate::provisioning::apply_record(app, &tenant.id).await
}

/// Why `usage` does not fit `plan`, if it does not.
pub fn exceeds(plan: Plan, usage: Usage) -> Option<String> {
    let limits = plan.limits();
    if limits.max_contacts.is_some_and(|max| usage.contacts > max) {
        return Some(format!(
            "Ihr Portal hat {} Kontakte; der Tarif {} erlaubt höchstens {}. Bitte archivieren Sie zuerst Kontakte.",
            usage.contacts,
            plan.label(),
            limits.max_contacts.unwrap_or_default()
        ));
    }
    if limits.max_stored_bytes.is_some_and(|max| usage.stored_bytes > max) {
        return Some(format!(
            "Ihre Dokumente belegen mehr Speicher, als der Tarif {} erlaubt. Bitte löschen Sie zuerst Dokumente.",
            plan.label()
        ));
    }
    None
}

/// A broker with a paid plan switches plans (or the whitelabel add-on) from
/// today; the monthly run prorates both parts of the month.
pub async fn change_plan(app: &AppState, tenant: &Tenant, plan: Plan, whitelabel: bool) -> Outcome<()> {
    let Some(current) = subscriptions::current(&app.db, &tenant.id).await? else {
        return Err(Refusal::NoPlanYet.into());
    };
    if current.plan == plan && current.whitelabel == whitelabel {
        return Err(Refusal::SamePlan.into());
    }
    if !ORDERABLE.contains(&plan) {
        return Err(anyhow::anyhow!("not an orderable plan").into());
    }
    let usage = crate::usage::measure(app, tenant).await?;
    if let Some(problem) = exceeds(plan, usage) {
        return Err(Refusal::OverLimit(problem).into());
    }
    let today = app.clock.berlin_today();
    let now = app.clock.timestamp();
    subscriptions::start(&app.db, &tenant.id, plan, whitelabel, today, now).await?;
    if whitelabel && !current.whitelabel {
        let pricing = prices::for_period(&app.db, &prices::month_of(today)).await?;
        let fee = Cents(pricing.whitelabel_setup_cents);
        add_charge(&app.db, &tenant.id, LineKind::WhitelabelSetup, "Einrichtung Whitelabel", fee, today, now).await?;
    }
    set_plan(app, tenant, plan, whitelabel).await?;
    charges::invoice_now(app, &tenant.id).await?;
    app.audit(
        &tenant.email,
        "plan_changed",
        &format!("tenant:{} {} whitelabel={whitelabel}", tenant.id, plan.as_str()),
    )
    .await?;
    Ok(())
}

/// Another 30-day trial phase, charged at the extension price. A trial that
/// has ended starts again today; one still running is lengthened.
pub async fn extend_trial(app: &AppState, tenant: &Tenant) -> Outcome<NaiveDate> {
    if tenant.plan != "trial" {
        return Err(Refusal::HasPlan.into());
    }
    if tenant.trial_extensions >= app.config.trial_extensions_allowed {
        return Err(Refusal::NoMoreExtensions.into());
    }
    let now = app.clock.timestamp();
    let from = tenant.trial_ends_at.filter(|end| *end > now).unwrap_or(now);
    let new_end = if from == now {
        crate::tenants::signup::trial_end(now, app.config.trial_days)
    } else {
        crate::tenants::signup::trial_end(from - 1, app.config.trial_days)
    };
    let today = app.clock.berlin_today();
    let pricing = prices::for_period(&app.db, &prices::month_of(today)).await?;
    if !tenants::trial::extend_trial(&app.db, &tenant.id, new_end, tenant.trial_extensions, now).await? {
        return Err(Refusal::ExtendedMeanwhile.into());
    }
    let last_day = tenant_app::calendar::last_day_before(new_end);
    add_charge(
        &app.db,
        &tenant.id,
        LineKind::TrialExtension,
        &format!("Verlängerung der Testphase um {} Tage (bis {last_day})", app.config.trial_days),
        Cents(pricing.trial_extension_cents),
        today,
        now,
    )
    .await?;
    app.audit(&tenant.email, "trial_extended", &format!("tenant:{} until {last_day}", tenant.id)).await?;
    crate::provisioning::apply_record(app, &tenant.id).await?;
    charges::invoice_now(app, &tenant.id).await?;
    Ok(chrono::DateTime::from_timestamp(new_end - 1, 0).map(berlin_date).unwrap_or(today))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_downgrade_must_fit_the_target_plan() {
        let usage = |contacts, gib: i64| Usage { contacts, stored_bytes: gib * 1024 * 1024 * 1024 };
        assert_eq!(exceeds(Plan::PremiumStarter, usage(100, 1)), None);
        let over = exceeds(Plan::PremiumStarter, usage(101, 0)).unwrap();
        assert!(over.contains("101 Kontakte") && over.contains("höchstens 100"), "{over}");
        assert!(exceeds(Plan::PremiumStarter, usage(10, 2)).unwrap().contains("Speicher"));
        assert_eq!(exceeds(Plan::Premium, usage(1000, 25)), None);
        assert_eq!(exceeds(Plan::PayPerUse, usage(1_000_000, 500)), None, "Pay-per-Use has no ceiling");
    }

    #[test]
    fn scans_are_recognised_by_their_content() {
        assert_eq!(scan_type(b"%PDF-1.7 ..."), Some("application/pdf"));
        assert_eq!(scan_type(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(scan_type(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(scan_type(b"<html>%PDF-"), None);
        assert_eq!(scan_type(b""), None);
    }
}
