//! Observing stored facts that no page or API shows, or not exactly enough to
//! assert on. Each method says why; the SQL and module calls stay here.

use chrono::NaiveDate;
use control_plane::billing::invoices::{self, Filter, Invoice, Line};
use control_plane::billing::settlement::{self, Payment};
use control_plane::billing::{prices, stripe};
use control_plane::config::Pricing;
use control_plane::tenants::{self, Tenant, TenantEvent};
use control_plane::usage::Snapshot;
use secrecy::ExposeSecret;
use tenant_app::crypto::Key;

use crate::{AuditEntry, StripeCollection, TestApp};

impl TestApp {
    /// Observes: the stored tenant record. The operator API shows part of it
    /// (status, plan, suspension); not the provisioning step, the whitelabel
    /// flag, the deletion time or the sealed database password.
    pub async fn tenant_record(&self, tenant_id: &str) -> Tenant {
        self.tenant_by_id(tenant_id).await
    }

    /// Observes: a tenant's invoices and credit notes, newest first, with their
    /// amounts in cents. The console shows them formatted for people.
    pub async fn invoices_of(&self, tenant_id: &str) -> Vec<Invoice> {
        invoices::for_tenant(&self.state.db, tenant_id).await.expect("reading the invoices")
    }

    /// Observes: one invoice or credit note as stored (see [`TestApp::invoices_of`]).
    pub async fn invoice(&self, id: &str) -> Invoice {
        invoices::find(&self.state.db, id).await.expect("reading the invoice").expect("the invoice exists")
    }

    /// Observes: every invoice, draft and credit note of every tenant, newest
    /// first (see [`TestApp::invoices_of`]).
    pub async fn all_invoices(&self) -> Vec<Invoice> {
        invoices::list(&self.state.db, &Filter::default(), self.berlin_today()).await.expect("reading the invoices")
    }

    /// Observes: an invoice's lines with quantity and unit price in cents; the
    /// console and the PDF show them formatted in euro.
    pub async fn invoice_lines(&self, invoice_id: &str) -> Vec<Line> {
        invoices::lines(&self.state.db, invoice_id).await.expect("reading the lines")
    }

    /// Observes: the payments recorded for an invoice, with their method; the
    /// console lists them without it, amounts formatted in euro.
    pub async fn payments(&self, invoice_id: &str) -> Vec<Payment> {
        settlement::payments(&self.state.db, invoice_id).await.expect("reading the payments")
    }

    /// Observes: the Stripe collection of an invoice (PaymentIntent and status),
    /// if one was made. Pages show only a label for it.
    pub async fn stripe_collection(&self, invoice_id: &str) -> Option<StripeCollection> {
        stripe::collections(&self.state.db, &[invoice_id]).await.expect("reading the collections").remove(invoice_id)
    }

    /// Observes: the id of the payment method stored for the tenant's Stripe
    /// Customer. The billing page shows only its label.
    pub async fn stripe_payment_method(&self, tenant_id: &str) -> Option<String> {
        let account = stripe::account(&self.state.db, tenant_id).await.expect("reading the Stripe account");
        account.and_then(|account| account.payment_method).map(|method| method.id)
    }

    /// Observes: how many Stripe Customers are stored for the tenant; no page
    /// shows the link between a tenant and its Customer.
    pub async fn stripe_customer_count(&self, tenant_id: &str) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM stripe_customers WHERE tenant_id = $1")
            .bind(tenant_id)
            .fetch_one(self.state.db.pool())
            .await
            .expect("counting the Stripe customers")
    }

    /// Observes: the tenant's events with their kinds, newest first; the
    /// console's tenant page shows them as German texts.
    pub async fn tenant_events(&self, tenant_id: &str) -> Vec<TenantEvent> {
        tenants::events(&self.state.db, tenant_id).await.expect("reading the events")
    }

    /// Observes: the whole audit log in the order it was written, with the
    /// action names as stored. The console shows it newest first by the clock
    /// (which tests move), in pages, with German labels.
    pub async fn audit_log(&self) -> Vec<AuditEntry> {
        let rows: Vec<(i64, String, String, String)> =
            sqlx::query_as("SELECT at, actor, action, subject FROM audit_log ORDER BY id")
                .fetch_all(self.state.db.pool())
                .await
                .expect("reading the audit log");
        rows.into_iter().map(|(at, actor, action, subject)| AuditEntry { at, actor, action, subject }).collect()
    }

    /// Observes: the usage snapshot of one day, if one was taken. The console's
    /// chart shows contacts only, and only for the last 90 days.
    pub async fn usage_snapshot(&self, tenant_id: &str, day: NaiveDate) -> Option<Snapshot> {
        let snapshots =
            control_plane::usage::history(&self.state.db, tenant_id, day, day).await.expect("reading the usage");
        snapshots.into_iter().next()
    }

    /// Observes: the prices in force for a month (`YYYY-MM`). The pricing page
    /// shows only today's.
    pub async fn prices_for(&self, month: &str) -> Pricing {
        prices::for_period(&self.state.db, month).await.expect("reading the price list")
    }

    /// Observes: how many price lists are recorded; the price history shows nowhere.
    pub async fn price_list_count(&self) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM price_lists")
            .fetch_one(self.state.db.pool())
            .await
            .expect("counting the price lists")
    }

    /// Observes: the names of the portal's Sparten as stored. The catalog page
    /// needs the broker's login, and shows Produkte under the same words.
    pub async fn sparte_names(&self, slug: &str) -> Vec<String> {
        let sparten = tenant_app::catalog::list(&self.portal_db(slug)).await.expect("reading the catalog");
        sparten.into_iter().map(|sparte| sparte.name).collect()
    }

    /// Observes: the tenant's secret (its portal's session key). Only the
    /// control plane and the tenant's instance hold it; a standalone portal
    /// gets it from its deployment.
    pub async fn tenant_secret(&self, tenant_id: &str) -> Key {
        self.tenant_by_id(tenant_id).await.session_key(&self.state.master_key).expect("opening the session key")
    }

    /// Observes: the bearer token of the portal's internal API, derived from
    /// the tenant's secret (see [`TestApp::tenant_secret`]).
    pub async fn internal_token(&self, tenant_id: &str) -> String {
        tenant_app::portal::internal_token(&self.tenant_secret(tenant_id).await)
    }

    /// Observes: the URL, with the tenant's own role and password, that its
    /// instance opens its database with. Only the deployment carries it.
    pub async fn tenant_database_url(&self, tenant_id: &str) -> String {
        let tenant = self.tenant_by_id(tenant_id).await;
        let deployment =
            control_plane::provisioning::deployment_for(&self.state, &tenant).await.expect("the deployment");
        deployment.database_url.expose_secret().to_owned()
    }

    /// Observes: the name of the tenant's PostgreSQL database (and role).
    pub fn tenant_database_name(&self, tenant_id: &str) -> String {
        tenants::databases::database_name(tenant_id).expect("a tenant database name")
    }

    /// Observes: whether the PostgreSQL server has a database of this name
    /// (`false` on SQLite). Dropping databases shows in no interface.
    pub async fn postgres_database_exists(&self, name: &str) -> bool {
        self.postgres_count("SELECT COUNT(*) FROM pg_database WHERE datname = $1", name).await > 0
    }

    /// Observes: whether the PostgreSQL server has a login role of this name
    /// (`false` on SQLite).
    pub async fn postgres_role_exists(&self, name: &str) -> bool {
        self.postgres_count("SELECT COUNT(*) FROM pg_roles WHERE rolname = $1", name).await > 0
    }

    async fn postgres_count(&self, sql: &str, name: &str) -> i64 {
        if !matches!(self.backend, crate::Backend::Postgres(_)) {
            return 0;
        }
        sqlx::query_scalar(sql).bind(name).fetch_one(self.state.db.pool()).await.expect("asking PostgreSQL")
    }
}

/// Observes: opens a database by URL (as a tenant's instance would, with its
/// credentials) and runs a trivial query; the error says why it was refused.
pub async fn open_database(url: &str) -> Result<(), String> {
    let db = tenant_app::db::Db::connect(url, tenant_app::db::PoolSize::of(1)).await.map_err(|e| e.to_string())?;
    let outcome = sqlx::query("SELECT 1").execute(db.pool()).await.map(|_| ()).map_err(|e| e.to_string());
    db.close().await;
    outcome
}

/// Observes: how many customers the database at `url` holds, read with the
/// credentials in the URL (a tenant's own role).
pub async fn customers_in(url: &str) -> i64 {
    let db = tenant_app::db::Db::connect(url, tenant_app::db::PoolSize::of(1)).await.expect("connecting");
    let count = sqlx::query_scalar("SELECT COUNT(*) FROM customers").fetch_one(db.pool()).await.expect("counting");
    db.close().await;
    count
}
