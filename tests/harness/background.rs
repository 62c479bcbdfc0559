//! Running what the control plane does by itself (scheduled jobs, the monthly
//! run, domain checks, provisioning, Stripe collection, leases) at the moment a
//! scenario chooses. Background work has no interface to start it; each method
//! says what it stands for.

use chrono::{DateTime, NaiveDate, Utc};
use control_plane::billing::invoices;
use control_plane::billing::run::{self, RunReport};
use control_plane::scheduler::{self, Ran};
use control_plane::state::AppState;
use control_plane::tenants::TenantStatus;
use tenant_app::db::Db;

use crate::{Cents, StripeCollection, TestApp};

impl TestApp {
    /// Runs: moves the clock to `at` and runs the scheduled jobs due then, as
    /// the scheduler's next tick would (tests switch its own loop off).
    pub async fn run_jobs_at(&self, at: DateTime<Utc>) -> Vec<Ran> {
        self.clock.set(at);
        self.run_due_jobs().await
    }

    /// Runs: one scheduler tick now, without moving the clock.
    pub async fn run_due_jobs(&self) -> Vec<Ran> {
        scheduler::run_due(&self.state).await.expect("scheduled jobs")
    }

    /// Runs: the monthly invoice run for the month before `due`, directly, as a
    /// second replica or a rerun would; the scheduler runs it once per due time.
    pub async fn run_monthly_invoices(&self, due: DateTime<Utc>) -> RunReport {
        run::run_monthly(&self.state, due).await.expect("the monthly run")
    }

    /// Runs: only the drafting half of the monthly run for the month before
    /// `run_day`, as a run that crashed before numbering leaves it; returns how
    /// many drafts it wrote.
    pub async fn draft_monthly_invoices(&self, run_day: NaiveDate) -> usize {
        run::draft_period(&self.state, run::previous_month(run_day)).await.expect("drafting")
    }

    /// Runs: `finalisers` concurrent numbering passes, each taking at most
    /// `batch` drafts at a time until none is left, as several replicas'
    /// monthly runs would; returns how many drafts they issued together.
    pub async fn finalise_drafts_concurrently(&self, finalisers: usize, issue_date: NaiveDate, batch: i64) -> usize {
        let tasks = (0..finalisers).map(|_| {
            let db = self.state.db.clone();
            tokio::spawn(async move {
                let mut issued = 0;
                loop {
                    let numbered = invoices::finalise_drafts(&db, issue_date, 14, batch).await.expect("finalising");
                    issued += numbered;
                    if numbered == 0 {
                        return issued;
                    }
                }
            })
        });
        let mut total = 0;
        for task in tasks.collect::<Vec<_>>() {
            total += task.await.expect("finaliser");
        }
        total
    }

    /// Runs: records a payment directly, bypassing the console's check for a
    /// known reference, to show that recording the same payment twice counts
    /// it once (as a webhook delivered twice would). Returns whether the
    /// invoice is now paid in full.
    pub async fn record_payment_directly(
        &self,
        invoice_id: &str,
        amount: Cents,
        reference: &str,
        received_on: NaiveDate,
    ) -> bool {
        control_plane::billing::settlement::record_payment(
            &self.state,
            invoice_id,
            amount,
            "bank",
            reference,
            received_on,
            "ops@example.de",
        )
        .await
        .expect("recording the payment")
    }

    /// Runs: the periodic check of every domain of every ready tenant, once;
    /// it runs every `domain_check_interval_secs`.
    pub async fn check_domains(&self) {
        control_plane::domains::check_all(&self.state).await.expect("checking the domains");
    }

    /// Runs: provisioning of one tenant, as a start does for every unfinished
    /// one; returns the status it ends in.
    pub async fn provision(&self, tenant_id: &str) -> TenantStatus {
        control_plane::provisioning::provision(&self.state, tenant_id).await.expect("provisioning")
    }

    /// Runs: what deleting a tenant does to its instance and its database (and
    /// PostgreSQL role), without the rest of the trial lifecycle.
    pub async fn remove_tenant_instance_and_database(&self, tenant_id: &str) {
        let tenant = self.tenant_by_id(tenant_id).await;
        self.state.provisioner.remove(&tenant.id, &tenant.slug).await.expect("removing the instance");
        self.state.tenant_dbs.drop(&tenant.id).await.expect("dropping the database");
    }

    fn stripe(&self) -> std::sync::Arc<control_plane::billing::stripe::Stripe> {
        self.state.stripe.clone().expect("Stripe is configured")
    }

    /// Runs: makes (or finds) the tenant's Stripe Customer and returns its id.
    /// The payment setup does this on the way; calling it twice shows it is made once.
    pub async fn stripe_customer(&self, tenant_id: &str) -> String {
        let tenant = self.tenant_by_id(tenant_id).await;
        control_plane::billing::stripe::customer(&self.state, &self.stripe(), &tenant).await.expect("Stripe customer")
    }

    /// Runs: collects one issued invoice through Stripe, as the monthly run
    /// does after issuing it.
    pub async fn stripe_collect(&self, invoice_id: &str) -> Option<StripeCollection> {
        let invoice = self.invoice(invoice_id).await;
        control_plane::billing::stripe::collect(&self.state, &self.stripe(), &invoice).await.expect("collecting")
    }

    /// Runs: collects every open invoice that has no PaymentIntent yet, as the
    /// monthly run does at its end; returns how many PaymentIntents it made.
    pub async fn stripe_collect_open(&self) -> usize {
        control_plane::billing::stripe::collect_open(&self.state).await.expect("collecting the open invoices")
    }

    /// Runs: a second control-plane replica on the same database and clock,
    /// without a listener of its own; it runs background work only.
    pub async fn second_replica(&self) -> Replica {
        let state = control_plane::startup::build_with_clock(self.config.clone(), self.addr.port(), self.clock.clone())
            .await
            .expect("a second replica");
        Replica { state }
    }

    /// Runs: the leases in the control-plane database, as replicas take them.
    pub fn leases(&self) -> Leases {
        Leases { db: self.state.db.clone() }
    }
}

/// Another control-plane replica's process state (see [`TestApp::second_replica`]).
pub struct Replica {
    state: AppState,
}

impl Replica {
    /// One scheduler tick on this replica.
    pub async fn run_due_jobs(&self) -> Vec<Ran> {
        scheduler::run_due(&self.state).await.expect("scheduled jobs")
    }

    pub async fn stop(self) {
        self.state.db.close().await;
    }
}

/// The `leases` of the control-plane database; cloned into concurrent tasks.
#[derive(Clone)]
pub struct Leases {
    db: Db,
}

impl Leases {
    /// Takes or renews lease `name` for `holder` at `now` for `ttl_secs`; whether it got it.
    pub async fn try_acquire(&self, name: &str, holder: &str, now: i64, ttl_secs: i64) -> bool {
        control_plane::leases::try_acquire(&self.db, name, holder, now, ttl_secs).await.expect("acquiring")
    }

    /// Gives the lease up, if `holder` holds it.
    pub async fn release(&self, name: &str, holder: &str) {
        control_plane::leases::release(&self.db, name, holder).await.expect("releasing");
    }

    /// Who holds lease `name` (its last holder, also when the claim ran out).
    pub async fn holder(&self, name: &str) -> Option<String> {
        sqlx::query_scalar("SELECT holder FROM leases WHERE name = $1")
            .bind(name)
            .fetch_optional(self.db.pool())
            .await
            .expect("reading the lease")
    }
}
