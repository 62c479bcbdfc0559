//! Payments through Stripe. Webhooks: a valid signature is accepted; a forged
//! one (wrong secret), a tampered payload, a missing header and an old
//! timestamp are refused with 400; an event delivered twice pays once. Against
//! localstripe (`ORDO_TEST_LOCALSTRIPE_URL`, started by `.ci/run`): a Customer
//! once per tenant, a card set up through a SetupIntent from the broker's
//! billing page, a PaymentIntent per invoice after the monthly run, and the
//! invoice paid when localstripe's signed `payment_intent.succeeded` arrives;
//! a SEPA debit that bounces and a card declined at once, both recorded as
//! failed from localstripe's webhooks and not charged again.

use std::time::Duration;

use control_plane::billing::invoices::{self, Invoice, LineKind};
use control_plane::billing::money::Cents;
use control_plane::billing::{charges, run, stripe};
use control_plane::clock::Clock;
use control_plane::tenants;
use hmac::{Hmac, Mac};
use ordo_tests::{Backend, PortalSession, TestApp, both_backends, localstripe_url};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Sha256;

both_backends!(webhooks_are_verified_and_each_event_handled_once, stripe_flows_against_localstripe);

const WEBHOOK_SECRET: &str = "whsec_ordo_e2e_secret";

/// Signed as Stripe documents it, independently of the code under test.
fn signature(secret: &str, timestamp: i64, payload: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.{payload}").as_bytes());
    format!("t={timestamp},v1={}", hex::encode(mac.finalize().into_bytes()))
}

async fn deliver(app: &TestApp, payload: &str, signature: Option<String>) -> (StatusCode, Value) {
    let mut request = app
        .client()
        .post(app.url("", "/webhooks/stripe"))
        .header("content-type", "application/json; charset=utf-8")
        .body(payload.to_owned());
    if let Some(signature) = signature {
        request = request.header("stripe-signature", signature);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    if status == StatusCode::BAD_REQUEST {
        assert_eq!(response.headers()["content-type"], "application/problem+json");
    }
    (status, response.json().await.unwrap_or(Value::Null))
}

fn payment_intent_event(
    event_id: &str,
    kind: &str,
    intent_id: &str,
    invoice: &Invoice,
    failure: Option<&str>,
) -> String {
    json!({
        "id": event_id,
        "object": "event",
        "type": kind,
        "created": 1_800_000_000,
        "livemode": false,
        "data": { "object": {
            "id": intent_id,
            "object": "payment_intent",
            "amount": invoice.gross.0,
            "amount_received": if failure.is_none() { invoice.gross.0 } else { 0 },
            "currency": "eur",
            "status": if failure.is_none() { "succeeded" } else { "requires_payment_method" },
            "metadata": { "invoice_id": invoice.id },
            "last_payment_error": failure.map(|message| json!({ "code": "debit_not_authorized", "message": message })),
        }}
    })
    .to_string()
}

async fn stripe_payments(app: &TestApp, invoice_id: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM payments WHERE invoice_id = $1 AND method = 'stripe'")
        .bind(invoice_id)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap()
}

/// One issued invoice for the broker's tenant: a charge dated last month, then the monthly run.
async fn invoice_for(app: &TestApp, slug: &str) -> (Invoice, run::RunReport) {
    let tenant = tenants::find_by_slug(&app.state.db, slug).await.unwrap().unwrap();
    let today = app.clock.berlin_today();
    let last_month = run::previous_month(today);
    let setup = "Einrichtungsgebühr";
    charges::add_charge(&app.state.db, &tenant.id, LineKind::Setup, setup, Cents(19_900), last_month.start, 0)
        .await
        .unwrap();
    let report = run::run_monthly(&app.state, app.clock.now()).await.unwrap();
    let invoice = invoices::for_tenant(&app.state.db, &tenant.id).await.unwrap().remove(0);
    assert!(invoice.issued && !invoice.is_paid());
    (invoice, report)
}

fn stripe_settings<'a>(api_base: &'a str, types: &'a str) -> [(&'a str, &'a str); 5] {
    [
        ("stripe.secret_key", "sk_test_ordo_e2e"),
        ("stripe.publishable_key", "pk_test_ordo_e2e"),
        ("stripe.webhook_secret", WEBHOOK_SECRET),
        ("stripe.api_base", api_base),
        ("stripe.payment_method_types", types),
    ]
}

async fn webhooks_are_verified_and_each_event_handled_once(backend: Backend) {
    // Payment events need no request to Stripe: the API address is never called.
    let app = TestApp::spawn_with(backend, &stripe_settings("http://127.0.0.1:9/", r#"["sepa_debit","card"]"#)).await;
    let first = app.broker_session("Erste Makler", "erste@example.de").await;
    let second = app.broker_session("Zweite Makler", "zweite@example.de").await;
    let (invoice, _) = invoice_for(&app, "erste-makler").await;
    let (other, _) = invoice_for(&app, "zweite-makler").await;
    let now = app.clock.timestamp();

    // Forged, tampered, unsigned and stale deliveries change nothing.
    let paid = payment_intent_event("evt_paid_1", "payment_intent.succeeded", "pi_ordo_1", &invoice, None);
    let (status, problem) = deliver(&app, &paid, Some(signature("whsec_someone_else", now, &paid))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(problem["title"], "Invalid signature");
    let tampered = paid.replace(&invoice.gross.0.to_string(), "1");
    assert_eq!(deliver(&app, &tampered, Some(signature(WEBHOOK_SECRET, now, &paid))).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(deliver(&app, &paid, None).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(deliver(&app, &paid, Some("t=1,v1=nothex".into())).await.0, StatusCode::BAD_REQUEST);
    let (status, problem) = deliver(&app, &paid, Some(signature(WEBHOOK_SECRET, now - 301, &paid))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(problem["detail"].as_str().unwrap().contains("five minutes"), "{problem}");
    assert_eq!(stripe_payments(&app, &invoice.id).await, 0);

    // The genuine event pays the invoice.
    let genuine = signature(WEBHOOK_SECRET, now - 60, &paid);
    let (status, body) = deliver(&app, &paid, Some(genuine.clone())).await;
    assert_eq!((status, body["outcome"].as_str()), (StatusCode::OK, Some("handled")), "{body}");
    let after = invoices::find(&app.state.db, &invoice.id).await.unwrap().unwrap();
    assert!(after.is_paid());
    assert_eq!(after.paid, invoice.gross);

    // Delivered again (Stripe retries; an attacker replays within the window): once.
    let (status, body) = deliver(&app, &paid, Some(genuine.clone())).await;
    assert_eq!((status, body["outcome"].as_str()), (StatusCode::OK, Some("duplicate")));
    let (status, body) = deliver(&app, &paid, Some(signature(WEBHOOK_SECRET, now, &paid))).await;
    assert_eq!((status, body["outcome"].as_str()), (StatusCode::OK, Some("duplicate")));
    // Another event about the same PaymentIntent: still one payment.
    let again = payment_intent_event("evt_paid_2", "payment_intent.succeeded", "pi_ordo_1", &invoice, None);
    assert_eq!(deliver(&app, &again, Some(signature(WEBHOOK_SECRET, now, &again))).await.0, StatusCode::OK);
    assert_eq!(stripe_payments(&app, &invoice.id).await, 1);
    assert_eq!(invoices::find(&app.state.db, &invoice.id).await.unwrap().unwrap().paid, invoice.gross);
    // The captured delivery, replayed later: refused before anything is read.
    app.clock.advance(chrono::Duration::minutes(6));
    let (status, problem) = deliver(&app, &paid, Some(genuine)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");

    // A failed direct debit: recorded for the operator and shown to the broker.
    let now = app.clock.timestamp();
    let reason = "Die Bank hat die Lastschrift abgelehnt.";
    let failed =
        payment_intent_event("evt_failed_1", "payment_intent.payment_failed", "pi_ordo_2", &other, Some(reason));
    let (status, body) = deliver(&app, &failed, Some(signature(WEBHOOK_SECRET, now, &failed))).await;
    assert_eq!((status, body["outcome"].as_str()), (StatusCode::OK, Some("handled")));
    let collection = stripe::collections(&app.state.db, &[other.id.as_str()]).await.unwrap().remove(&other.id).unwrap();
    assert_eq!((collection.status.as_str(), collection.payment_intent_id.as_str()), ("failed", "pi_ordo_2"));
    let audited: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'payment_failed' AND subject LIKE $1")
            .bind(format!("invoice:{}%", other.id))
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
    assert_eq!(audited, 1);
    assert!(!invoices::find(&app.state.db, &other.id).await.unwrap().unwrap().is_paid());
    let (_, page) = second.page("/makler/abrechnung").await;
    assert!(page.contains(&format!("Einzug fehlgeschlagen: {reason}")), "{page}");
    assert!(page.contains("Lastschrift oder Karte hinterlegen"));
    let (_, page) = first.page("/makler/abrechnung").await;
    assert!(page.contains(">bezahlt<"));

    // Events we do not act on are acknowledged, so Stripe stops sending them.
    let other_kind = json!({"id": "evt_x", "type": "customer.created", "data": {"object": {}}}).to_string();
    let (status, body) = deliver(&app, &other_kind, Some(signature(WEBHOOK_SECRET, now, &other_kind))).await;
    assert_eq!((status, body["outcome"].as_str()), (StatusCode::OK, Some("ignored")));
    app.stop().await;
}

/// localstripe's API with the secret key, as a Stripe client or Stripe.js would call it.
async fn localstripe(base: &str, path: &str, form: &[(&str, &str)]) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{base}v1/{path}"))
        .basic_auth("sk_test_ordo_e2e", Some(""))
        .form(form)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{path}: {}", response.status());
    response.json().await.unwrap()
}

async fn localstripe_get(base: &str, path: &str) -> Value {
    let response = reqwest::Client::new()
        .get(format!("{base}v1/{path}"))
        .basic_auth("sk_test_ordo_e2e", Some(""))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{path}: {}", response.status());
    response.json().await.unwrap()
}

/// The broker's way to a payment method: the SetupIntent from the billing page,
/// what Stripe.js does with the details (a PaymentMethod, then confirming the
/// SetupIntent), and the return to our page, which reads the SetupIntent from
/// Stripe. Returns the SetupIntent, the PaymentMethod and the page shown.
async fn set_up(broker: &PortalSession, base: &str, details: &[(&str, &str)]) -> (String, String, String) {
    let setup = broker.submit("/makler/abrechnung", "/makler/abrechnung/zahlungsart", &[]).await;
    assert_eq!(setup.status(), StatusCode::OK);
    let csp = setup.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("script-src 'self' https://js.stripe.com") && csp.contains("frame-ancestors 'none'"), "{csp}");
    let html = setup.text().await.unwrap();
    let client_secret = data_attribute(&html, "data-client-secret");
    assert_eq!(data_attribute(&html, "data-publishable-key"), "pk_test_ordo_e2e");
    let setup_intent = client_secret.split("_secret_").next().unwrap().to_owned();
    assert!(setup_intent.starts_with("seti_"), "{client_secret}");
    let method = localstripe(base, "payment_methods", details).await["id"].as_str().unwrap().to_owned();
    let confirmed =
        localstripe(base, &format!("setup_intents/{setup_intent}/confirm"), &[("payment_method", &method)]).await;
    assert_eq!(confirmed["status"], "succeeded");
    let (status, page) =
        broker.page(&format!("/makler/abrechnung/zahlungsart/fertig?setup_intent={setup_intent}")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    (setup_intent, method, page)
}

fn data_attribute(html: &str, name: &str) -> String {
    let start = html.find(&format!("{name}=\"")).unwrap_or_else(|| panic!("no {name} in {html}")) + name.len() + 2;
    html[start..].split('"').next().unwrap().to_owned()
}

async fn stripe_flows_against_localstripe(backend: Backend) {
    let Some(base) = localstripe_url() else {
        eprintln!("skipped: set ORDO_TEST_LOCALSTRIPE_URL to a running localstripe (.ci/run starts one)");
        return;
    };
    // localstripe predates `allowed_payment_method_types`: leave the choice to the account (docs/billing.md).
    let app = TestApp::spawn_with(backend, &stripe_settings(&base, "[]")).await;
    let stripe_account = app.state.stripe.clone().expect("Stripe is configured");
    // localstripe signs its events with this secret and posts them to us.
    let hook = format!("ordo-{}", uuid::Uuid::new_v4().simple());
    let registered = reqwest::Client::new()
        .post(format!("{base}_config/webhooks/{hook}"))
        .form(&[("url", app.url("", "/webhooks/stripe").as_str()), ("secret", WEBHOOK_SECRET)])
        .send()
        .await
        .unwrap();
    assert!(registered.status().is_success());

    let broker: PortalSession = app.broker_session("Stripe Makler", "kasse@example.de").await;
    let tenant = tenants::find_by_slug(&app.state.db, "stripe-makler").await.unwrap().unwrap();

    // One Customer per tenant: asking again returns the stored one.
    let customer = stripe::customer(&app.state, &stripe_account, &tenant).await.unwrap();
    assert!(customer.starts_with("cus_"), "{customer}");
    assert_eq!(stripe::customer(&app.state, &stripe_account, &tenant).await.unwrap(), customer);
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM stripe_customers WHERE tenant_id = $1")
        .bind(&tenant.id)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(stored, 1);
    let seen = localstripe_get(&base, &format!("customers/{customer}")).await;
    assert_eq!(
        (seen["metadata"]["tenant_id"].as_str(), seen["email"].as_str()),
        (Some(tenant.id.as_str()), Some("kasse@example.de"))
    );

    // The broker sets up a card: a SetupIntent for Stripe.js, on a page whose policy allows it.
    let overview = broker.client.get(broker.url("/makler/abrechnung")).send().await.unwrap();
    let strict = overview.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(!strict.contains("stripe.com"), "only the payment method page loads Stripe.js: {strict}");
    assert!(overview.text().await.unwrap().contains("Sie zahlen per Überweisung"));
    let card = [
        ("type", "card"),
        ("card[number]", "4242424242424242"),
        ("card[exp_month]", "12"),
        ("card[exp_year]", "2031"),
        ("card[cvc]", "123"),
    ];
    let (setup_intent, method, page) = set_up(&broker, &base, &card).await;
    assert!(
        page.contains("Ihre Zahlungsart ist gespeichert") && page.contains("Kreditkarte mit Endung 4242"),
        "{page}"
    );
    let account = stripe::account(&app.state.db, &tenant.id).await.unwrap().unwrap();
    assert_eq!(account.payment_method.as_ref().map(|m| m.id.as_str()), Some(method.as_str()));
    // The same from the `setup_intent.succeeded` webhook (localstripe does not send it): no change, no error.
    let event =
        json!({"id": "evt_setup_1", "type": "setup_intent.succeeded", "data": {"object": {"id": setup_intent}}})
            .to_string();
    let (status, body) = deliver(&app, &event, Some(signature(WEBHOOK_SECRET, app.clock.timestamp(), &event))).await;
    assert_eq!((status, body["outcome"].as_str()), (StatusCode::OK, Some("handled")), "{body}");

    // The monthly run issues the invoice and collects it with a PaymentIntent, once.
    let (invoice, report) = invoice_for(&app, "stripe-makler").await;
    assert_eq!(report.collected, 1);
    let collection =
        stripe::collections(&app.state.db, &[invoice.id.as_str()]).await.unwrap().remove(&invoice.id).unwrap();
    assert!(collection.payment_intent_id.starts_with("pi_"));
    let intent = localstripe_get(&base, &format!("payment_intents/{}", collection.payment_intent_id)).await;
    assert_eq!((intent["amount"].as_i64(), intent["currency"].as_str()), (Some(invoice.gross.0), Some("eur")));
    assert_eq!(
        (intent["customer"].as_str(), intent["payment_method"].as_str()),
        (Some(customer.as_str()), Some(method.as_str()))
    );
    assert_eq!(intent["metadata"]["invoice_id"].as_str(), Some(invoice.id.as_str()));
    let again = stripe::collect(&app.state, &stripe_account, &invoice).await.unwrap().unwrap();
    assert_eq!(again.payment_intent_id, collection.payment_intent_id, "one PaymentIntent per invoice");
    assert_eq!(stripe::collect_open(&app.state).await.unwrap(), 0);

    // localstripe reports the success as a signed webhook: the invoice is paid.
    let mut paid = None;
    for _ in 0..100 {
        let now = invoices::find(&app.state.db, &invoice.id).await.unwrap().unwrap();
        if now.is_paid() {
            paid = Some(now);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let paid = paid.expect("localstripe's payment_intent.succeeded marks the invoice paid");
    assert_eq!(paid.paid, invoice.gross);
    let reference: String =
        sqlx::query_scalar("SELECT reference FROM payments WHERE invoice_id = $1 AND method = 'stripe'")
            .bind(&invoice.id)
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
    assert_eq!(reference, collection.payment_intent_id);
    let (_, page) = broker.page("/makler/abrechnung").await;
    assert!(page.contains(">bezahlt<") && page.contains("Kreditkarte mit Endung 4242"), "{page}");

    // A SEPA Direct Debit that bounces: localstripe declines this IBAN after the
    // debit started (days, at a bank), reported by a signed webhook.
    let debtor = app.broker_session("Lastschrift Makler", "lastschrift@example.de").await;
    let sepa = [
        ("type", "sepa_debit"),
        ("sepa_debit[iban]", "DE62370400440532013001"),
        ("billing_details[name]", "Lena Lastschrift"),
        ("billing_details[email]", "lastschrift@example.de"),
    ];
    let (_, _, page) = set_up(&debtor, &base, &sepa).await;
    assert!(page.contains("SEPA-Lastschrift vom Konto mit IBAN-Endung 3001"), "{page}");
    let (bounced, report) = invoice_for(&app, "lastschrift-makler").await;
    assert_eq!(report.collected, 1);
    let mut status = String::new();
    for _ in 0..100 {
        let collection = stripe::collections(&app.state.db, &[bounced.id.as_str()]).await.unwrap();
        status = collection[&bounced.id].status.clone();
        if status == "failed" {
            break;
        }
        assert_eq!(status, "processing", "a debit is under way until the bank answers");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, "failed", "localstripe's payment_intent.payment_failed is recorded");
    assert!(!invoices::find(&app.state.db, &bounced.id).await.unwrap().unwrap().is_paid());
    let debtor_tenant = tenants::find_by_slug(&app.state.db, "lastschrift-makler").await.unwrap().unwrap();
    let events: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM tenant_events WHERE tenant_id = $1 AND kind = 'payment_failed'")
            .bind(&debtor_tenant.id)
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
    assert_eq!(events, 1, "the operator sees it on the tenant's page, once");
    let (_, page) = debtor.page("/makler/abrechnung").await;
    assert!(page.contains("Einzug fehlgeschlagen"), "{page}");

    // A card declined at once: the run goes on, the webhook records the failure,
    // and the next run does not charge the card again.
    let declined = app.broker_session("Karte Makler", "karte@example.de").await;
    let card = [
        ("type", "card"),
        ("card[number]", "4000000000000341"),
        ("card[exp_month]", "12"),
        ("card[exp_year]", "2031"),
        ("card[cvc]", "123"),
    ];
    set_up(&declined, &base, &card).await;
    let (refused, report) = invoice_for(&app, "karte-makler").await;
    assert_eq!(report.collected, 0, "the PaymentIntent was refused");
    let mut recorded = None;
    for _ in 0..100 {
        recorded = stripe::collections(&app.state.db, &[refused.id.as_str()]).await.unwrap().remove(&refused.id);
        if recorded.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(recorded.expect("the failure arrives as a webhook").status, "failed");
    assert_eq!(stripe::collect_open(&app.state).await.unwrap(), 0);
    let (_, page) = declined.page("/makler/abrechnung").await;
    assert!(page.contains("Einzug fehlgeschlagen"), "{page}");
    app.stop().await;
}
