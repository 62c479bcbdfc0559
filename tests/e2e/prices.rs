//! A price change applies to later periods only: the month in progress is
//! still billed at the prices announced for it, and issued invoices keep theirs.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::Berlin;
use ordo_tests::{Backend, Cents, Plan, TestApp, both_backends};

both_backends!(new_prices_apply_from_the_next_month);

fn berlin(day: &str, hour: u32) -> DateTime<Utc> {
    let day: NaiveDate = day.parse().unwrap();
    Berlin.from_local_datetime(&day.and_hms_opt(hour, 0, 0).unwrap()).single().unwrap().with_timezone(&Utc)
}

async fn new_prices_apply_from_the_next_month(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.set_clock(berlin("2026-10-20", 9));
    let created = app.sign_up("Paul Premium", Some("Premium Makler"), "paul@example.de").await;
    let tenant_id = created["id"].as_str().unwrap();
    app.set_plan(tenant_id, Plan::Premium, false).await;
    app.start_subscription(tenant_id, Plan::Premium, false, "2026-10-01".parse().unwrap()).await;

    // On 20 November the operator raises PREMIUM to 249,00 € (a restart with the new setting).
    app.set_clock(berlin("2026-11-20", 9));
    let app = app.restart_with(&[("pricing.premium_cents", "24900")]).await;
    assert_eq!(app.prices_for("2026-11").await.premium_cents, 19_900);
    assert_eq!(app.prices_for("2026-12").await.premium_cents, 24_900);
    let logged: Vec<String> =
        app.audit_log().await.into_iter().filter(|e| e.action == "price_list").map(|e| e.subject).collect();
    assert_eq!(logged, ["valid from 2000-01", "valid from 2026-12"], "the first prices and the change are logged");

    // November is billed at November's price, December at December's.
    app.run_jobs_at(berlin("2026-12-01", 7)).await;
    app.run_jobs_at(berlin("2027-01-01", 7)).await;
    let mut list = app.invoices_of(tenant_id).await;
    list.sort_by_key(|i| i.period_start);
    let nets: Vec<(NaiveDate, Cents)> = list.iter().map(|i| (i.period_start, i.net)).collect();
    assert_eq!(nets, [("2026-11-01".parse().unwrap(), Cents(19_900)), ("2026-12-01".parse().unwrap(), Cents(24_900))]);
    // A restart with the same prices records nothing new.
    let app = app.restart().await;
    assert_eq!(app.price_list_count().await, 2);
    app.stop().await;
}
