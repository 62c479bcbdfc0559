//! Arranging what no interface can put in place. Each method says why it
//! reaches past the HTTP surface; the SQL and module calls stay here, so a
//! scenario never depends on how the control plane or a portal stores things.

use chrono::NaiveDate;
use control_plane::billing::document::{ServicePeriod, Unit};
use control_plane::billing::invoices::{self, BuyerSnapshot, Draft, Kind, Line};
use control_plane::billing::{run, subscriptions};
use control_plane::provisioning;
use control_plane::scheduler::Job;
use control_plane::tenants::signup::{NewTrial, TrialRequest, record_trial};
use control_plane::tenants::{self, ProvisionStep, Tenant, TenantStatus};
use tenant_app::customers::{CustomerForm, NewCustomer};
use tenant_app::db::Db;
use tenant_app::plans::Plan;
use tenant_app::usage::Usage;

use crate::{Cents, TestApp};

impl TestApp {
    /// The database of the running portal `slug`.
    pub(crate) fn portal_db(&self, slug: &str) -> Db {
        self.state.registry.get(slug).unwrap_or_else(|| panic!("portal {slug} runs")).portal.db().clone()
    }

    pub(crate) async fn tenant_by_id(&self, tenant_id: &str) -> Tenant {
        tenants::find(&self.state.db, tenant_id).await.expect("reading the tenant").expect("the tenant exists")
    }

    /// Arranges: records `plan` (with or without whitelabel) on the tenant and
    /// brings its running portal to it, as a confirmed order does. The operator
    /// API cannot set a plan, and an order needs a signed contract and the
    /// operator's confirmation, which also start a subscription and charge fees.
    pub async fn set_plan(&self, tenant_id: &str, plan: Plan, whitelabel: bool) {
        sqlx::query("UPDATE tenants SET plan = $1, whitelabel = $2, updated_at = $3 WHERE id = $4")
            .bind(plan.as_str())
            .bind(i64::from(whitelabel))
            .bind(self.timestamp())
            .bind(tenant_id)
            .execute(self.state.db.pool())
            .await
            .expect("setting the plan");
        let tenant = self.tenant_by_id(tenant_id).await;
        if tenant.status == TenantStatus::Ready {
            let deployment = provisioning::deployment_for(&self.state, &tenant).await.expect("deployment");
            self.state.provisioner.deploy(&deployment).await.expect("deploying the new plan");
        }
    }

    /// Arranges: a subscription to `plan` from `since`. A confirmed order starts
    /// one on the day of confirmation; billing scenarios need other days.
    pub async fn start_subscription(&self, tenant_id: &str, plan: Plan, whitelabel: bool, since: NaiveDate) {
        subscriptions::start(&self.state.db, tenant_id, plan, whitelabel, since, 0).await.expect("subscription");
    }

    /// Arranges: the usage snapshot of one day with chosen counts. The daily job
    /// records only what the portal holds at the moment it runs.
    pub async fn record_usage(&self, tenant_id: &str, day: NaiveDate, contacts: i64, stored_bytes: i64) {
        control_plane::usage::record(&self.state.db, tenant_id, day, Usage { contacts, stored_bytes }, 0)
            .await
            .expect("usage snapshot");
    }

    /// Arranges: a one-off charge billed with the next invoice. Only a confirmed
    /// order or a trial extension makes charges, and only dated today.
    pub async fn add_charge(&self, tenant_id: &str, description: &str, amount: Cents, service_date: NaiveDate) {
        run::add_charge(&self.state.db, tenant_id, description, amount, service_date, 0).await.expect("charge");
    }

    /// Arranges: the tenant is deleted. Through the trial lifecycle that takes a
    /// trial that ran out and thirty more days.
    pub async fn mark_deleted(&self, tenant_id: &str) {
        sqlx::query("UPDATE tenants SET status = 'deleted' WHERE id = $1")
            .bind(tenant_id)
            .execute(self.state.db.pool())
            .await
            .expect("marking the tenant deleted");
    }

    /// Arranges: a draft invoice for `period` with one line of one piece, as a
    /// monthly run interrupted before numbering leaves it; returns its id. No
    /// interface writes drafts.
    pub async fn insert_draft_invoice(
        &self,
        tenant_id: &str,
        period: (NaiveDate, NaiveDate),
        description: &str,
        unit_price: Cents,
    ) -> String {
        let tenant = self.tenant_by_id(tenant_id).await;
        let buyer = BuyerSnapshot::of(&tenant);
        let lines = [Line { description: description.into(), quantity: 1, unit: Unit::Piece, unit_price }];
        let draft = Draft {
            tenant_id,
            kind: Kind::Invoice,
            run_key: None,
            period: ServicePeriod { start: period.0, end: period.1 },
            buyer: &buyer,
            lines: &lines,
            notes: &[],
            corrects: None,
        };
        let mut conn = self.state.db.pool().acquire().await.expect("connection");
        invoices::insert_draft(&mut conn, &draft, self.timestamp()).await.expect("draft invoice")
    }

    /// Arranges: `count` customers named `K0 … K<count-1> <last_name>`, written
    /// straight into the portal's database (through the form each would be a
    /// request of its own); returns their ids in that order.
    pub async fn add_customers_directly(&self, slug: &str, last_name: &str, count: usize) -> Vec<String> {
        let db = self.portal_db(slug);
        let mut ids = Vec::with_capacity(count);
        for i in 0..count {
            let form = CustomerForm { first_name: format!("K{i}"), last_name: last_name.into(), ..Default::default() };
            let customer = NewCustomer::parse(&form).expect("a valid customer");
            ids.push(tenant_app::customers::create(&db, &customer).await.expect("customer"));
        }
        ids
    }

    /// Arranges: a document of `size_bytes` recorded for the customer, without
    /// its content, to fill the storage quota without uploading a gigabyte.
    pub async fn record_document_without_content(&self, slug: &str, customer_id: &str, size_bytes: i64) {
        sqlx::query(
            "INSERT INTO documents (id, customer_id, file_name, content_type, size_bytes, uploaded_by, created_at) \
             SELECT 'big', $1, 'archiv.pdf', 'application/pdf', $2, id, 0 FROM users WHERE role = 'broker'",
        )
        .bind(customer_id)
        .bind(size_bytes)
        .execute(self.portal_db(slug).pool())
        .await
        .expect("recording the document");
    }

    /// Arranges: every refused emergency request of the portal was refused
    /// `seconds` earlier. Portals go by the real clock, which tests cannot move.
    pub async fn age_emergency_refusals(&self, slug: &str, seconds: i64) {
        sqlx::query("UPDATE emergency_requests SET refused_at = refused_at - $1 WHERE refused_at IS NOT NULL")
            .bind(seconds)
            .execute(self.portal_db(slug).pool())
            .await
            .expect("ageing the refusals");
    }

    /// Arranges: every open emergency request of the portal is granted
    /// `seconds` earlier, as if that much of its waiting period had passed.
    /// Portals go by the real clock, which tests cannot move.
    pub async fn age_emergency_requests(&self, slug: &str, seconds: i64) {
        sqlx::query("UPDATE emergency_requests SET grant_at = grant_at - $1 WHERE refused_at IS NULL")
            .bind(seconds)
            .execute(self.portal_db(slug).pool())
            .await
            .expect("ageing the requests");
    }

    /// Arranges: a sign-up (Erika Muster, Muster Makler, `email`) whose process
    /// died after creating the tenant's database: recorded, database made, step
    /// `database`, nothing deployed. No interface stops provisioning half-way.
    pub async fn record_interrupted_sign_up(&self, email: &str) -> Tenant {
        let trial = NewTrial::parse(&TrialRequest {
            name: "Erika Muster".into(),
            company: Some("Muster Makler".into()),
            street: "Hauptstraße 1".into(),
            postal_code: "10115".into(),
            city: "Berlin".into(),
            phone: "030 1234567".into(),
            email: email.into(),
        })
        .expect("a valid trial");
        let tenant = record_trial(&self.state, &trial).await.expect("recording the trial");
        self.state.tenant_dbs.ensure(&tenant.id, None).await.expect("the tenant database");
        tenants::set_step(&self.state.db, &tenant.id, ProvisionStep::Database).await.expect("step");
        tenant
    }

    /// Arranges: a provisioned tenant back at `requested` with no step done, so
    /// that provisioning runs again from the start. The console retries only
    /// tenants whose provisioning failed.
    pub async fn reset_provisioning(&self, tenant_id: &str) {
        tenants::set_step(&self.state.db, tenant_id, ProvisionStep::None).await.expect("step");
        tenants::set_status(&self.state.db, tenant_id, TenantStatus::Requested, None).await.expect("status");
    }

    /// Arranges: the recorded runs of `job` ended with `error`, as when the
    /// database went away mid-run on some replica.
    pub async fn mark_job_runs_failed(&self, job: Job, error: &str) {
        sqlx::query("UPDATE job_runs SET finished_at = NULL, error = $1 WHERE job = $2")
            .bind(error)
            .bind(job.name())
            .execute(self.state.db.pool())
            .await
            .expect("failing the job runs");
    }

    /// Arranges: the recorded runs of `job` were claimed and never finished, as
    /// when the replica running them died.
    pub async fn mark_job_runs_abandoned(&self, job: Job) {
        sqlx::query("UPDATE job_runs SET finished_at = NULL, error = NULL WHERE job = $1")
            .bind(job.name())
            .execute(self.state.db.pool())
            .await
            .expect("abandoning the job runs");
    }
}
