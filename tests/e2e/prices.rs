//! A price change applies to later periods only: the month in progress is
//! still billed at the prices announced for it, and issued invoices keep theirs.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::Berlin;
use control_plane::billing::money::Cents;
use control_plane::billing::{invoices, prices, subscriptions};
use control_plane::tenants;
use ordo_tests::{Backend, TestApp, both_backends};
use tenant_app::plans::Plan;

both_backends!(new_prices_apply_from_the_next_month);

fn berlin(day: &str, hour: u32) -> DateTime<Utc> {
    let day: NaiveDate = day.parse().unwrap();
    Berlin.from_local_datetime(&day.and_hms_opt(hour, 0, 0).unwrap()).single().unwrap().with_timezone(&Utc)
}

async fn new_prices_apply_from_the_next_month(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.clock.set(berlin("2026-10-20", 9));
    app.sign_up("Paul Premium", Some("Premium Makler"), "paul@example.de").await;
    let tenant = tenants::find_by_slug(&app.state.db, "premium-makler").await.unwrap().unwrap();
    sqlx::query("UPDATE tenants SET plan = 'premium' WHERE id = $1")
        .bind(&tenant.id)
        .execute(app.state.db.pool())
        .await
        .unwrap();
    subscriptions::start(&app.state.db, &tenant.id, Plan::Premium, false, "2026-10-01".parse().unwrap(), 0)
        .await
        .unwrap();

    // On 20 November the operator raises PREMIUM to 249,00 € (a restart with the new setting).
    app.clock.set(berlin("2026-11-20", 9));
    let app = app.restart_with(&[("pricing.premium_cents", "24900")]).await;
    assert_eq!(prices::for_period(&app.state.db, "2026-11").await.unwrap().premium_cents, 19_900);
    assert_eq!(prices::for_period(&app.state.db, "2026-12").await.unwrap().premium_cents, 24_900);
    let logged: Vec<String> =
        sqlx::query_scalar("SELECT subject FROM audit_log WHERE action = 'price_list' ORDER BY id")
            .fetch_all(app.state.db.pool())
            .await
            .unwrap();
    assert_eq!(logged, ["valid from 2000-01", "valid from 2026-12"], "the first prices and the change are logged");

    // November is billed at November's price, December at December's.
    app.run_jobs_at(berlin("2026-12-01", 7)).await;
    app.run_jobs_at(berlin("2027-01-01", 7)).await;
    let mut list = invoices::for_tenant(&app.state.db, &tenant.id).await.unwrap();
    list.sort_by_key(|i| i.period_start);
    let nets: Vec<(NaiveDate, Cents)> = list.iter().map(|i| (i.period_start, i.net)).collect();
    assert_eq!(nets, [("2026-11-01".parse().unwrap(), Cents(19_900)), ("2026-12-01".parse().unwrap(), Cents(24_900))]);
    // A restart with the same prices records nothing new.
    let app = app.restart().await;
    let lists: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM price_lists").fetch_one(app.state.db.pool()).await.unwrap();
    assert_eq!(lists, 2);
    app.stop().await;
}
