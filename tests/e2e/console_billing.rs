//! The console's money pages: the invoice list with its filters, an invoice with
//! its documents, recording a payment and issuing a credit note through the
//! forms, the audit log, MRR, revenue and the trial funnel, and the tenant page's
//! plan, usage chart and invoices.

use chrono::{NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::Berlin;
use control_plane::billing::document::{ServicePeriod, Unit};
use control_plane::billing::invoices::{self, BuyerSnapshot, Draft, Kind, Line, LineKind};
use control_plane::billing::money::Cents;
use control_plane::billing::{charges, run, subscriptions};
use control_plane::tenants::{self, Tenant};
use ordo_tests::{Backend, TestApp, both_backends, get_page, location, post_form};
use reqwest::StatusCode;
use tenant_app::plans::Plan;
use tenant_app::usage::Usage;

both_backends!(the_operator_follows_the_money);

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn berlin(text: &str, hour: u32) -> chrono::DateTime<Utc> {
    Berlin.from_local_datetime(&day(text).and_hms_opt(hour, 0, 0).unwrap()).single().unwrap().with_timezone(&Utc)
}

async fn tenant(app: &TestApp, slug: &str) -> Tenant {
    tenants::find_by_slug(&app.state.db, slug).await.unwrap().unwrap()
}

/// Three brokers sign up in October 2026: Muster goes Pay-per-Use with
/// whitelabel, Premium books PREMIUM from 12 November, Probe stays on trial
/// and is deleted. The run on 1 December invoices November:
/// 2026-000001 Muster 268,00 € net / 318,92 € gross (due 15.12.),
/// 2026-000002 Premium 126,03 € net / 149,98 € gross.
async fn seed(app: &TestApp) -> (Tenant, Tenant) {
    app.clock.set(berlin("2026-10-02", 9));
    app.sign_up("Erika Muster", Some("Muster Makler"), "erika@example.de").await;
    app.sign_up("Paul Premium", Some("Premium Makler"), "paul@example.de").await;
    app.sign_up("Petra Probe", Some("Probe Makler"), "petra@example.de").await;
    let (muster, premium, probe) =
        (tenant(app, "muster-makler").await, tenant(app, "premium-makler").await, tenant(app, "probe-makler").await);
    let db = &app.state.db;
    subscriptions::start(db, &muster.id, Plan::PayPerUse, true, day("2026-10-20"), 0).await.unwrap();
    for (d, contacts) in [("2026-10-31", 90), ("2026-11-01", 40), ("2026-11-17", 42), ("2026-12-01", 99)] {
        control_plane::usage::record(db, &muster.id, day(d), Usage { contacts, stored_bytes: 0 }, 0).await.unwrap();
    }
    charges::add_charge(db, &muster.id, LineKind::Setup, "Einrichtungsgebühr", Cents(19_900), day("2026-10-20"), 0)
        .await
        .unwrap();
    subscriptions::start(db, &premium.id, Plan::Premium, false, day("2026-11-12"), 0).await.unwrap();
    subscriptions::start(db, &probe.id, Plan::Trial, false, day("2026-10-02"), 0).await.unwrap();
    sqlx::query("UPDATE tenants SET status = 'deleted' WHERE id = $1")
        .bind(&probe.id)
        .execute(db.pool())
        .await
        .unwrap();

    app.clock.set(berlin("2026-12-01", 4));
    let report = run::run_monthly(&app.state, berlin("2026-12-01", 4)).await.unwrap();
    assert_eq!(report.issued, 2);
    (muster, premium)
}

/// The invoice numbers listed on a page, in order.
fn numbers(html: &str) -> Vec<String> {
    let re = regex_lite::Regex::new(r#"<a href="/rechnungen/[^"]+">(\d{4}-\d{6}|Entwurf)</a>"#).unwrap();
    re.captures_iter(html).map(|c| c[1].to_owned()).collect()
}

async fn the_operator_follows_the_money(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (muster, premium) = seed(&app).await;
    let muster_invoice = invoices::for_tenant(&app.state.db, &muster.id).await.unwrap().remove(0);
    let premium_invoice = invoices::for_tenant(&app.state.db, &premium.id).await.unwrap().remove(0);
    // Both are past their due date (15 December).
    app.clock.set(berlin("2026-12-20", 10));
    let admin = app.url("admin", "");
    let operator = app.operator("ops@example.de").await;
    let list = |query: &str| {
        let (operator, url) = (operator.clone(), format!("{admin}/rechnungen{query}"));
        async move {
            let (status, html) = get_page(&operator, &url).await;
            assert_eq!(status, StatusCode::OK, "{html}");
            html
        }
    };

    // The list: newest first, with recipient, amounts and status; the console links to it.
    let all = list("").await;
    assert_eq!(numbers(&all), ["2026-000002", "2026-000001"]);
    assert!(all.contains("Muster Makler") && all.contains("Premium Makler"));
    assert!(all.contains("318,92 €") && all.contains("149,98 €") && all.contains("überfällig"), "{all}");
    assert!(all.contains("01.11.2026 – 30.11.2026") && all.contains("15.12.2026"));
    assert!(all.contains(r#"<a href="/rechnungen">Rechnungen</a>"#));
    assert_eq!(numbers(&list("?status=open").await), ["2026-000002", "2026-000001"]);
    assert_eq!(numbers(&list("?status=overdue").await), ["2026-000002", "2026-000001"]);
    assert!(numbers(&list("?status=paid").await).is_empty());
    assert!(numbers(&list("?status=draft").await).is_empty());
    assert_eq!(numbers(&list("?month=2026-12").await).len(), 2);
    assert!(numbers(&list("?month=2026-11").await).is_empty());
    assert_eq!(numbers(&list("?q=premium").await), ["2026-000002"]);
    assert_eq!(numbers(&list("?q=000001").await), ["2026-000001"]);
    let filtered = list("?status=overdue&month=2026-12&q=Muster").await;
    assert_eq!(numbers(&filtered), ["2026-000001"]);
    assert!(filtered.contains(r#"<option value="overdue" selected>"#) && filtered.contains(r#"value="Muster""#));

    // The detail page: lines and totals, and the documents to download.
    let detail_url = format!("{admin}/rechnungen/{}", muster_invoice.id);
    let (status, detail) = get_page(&operator, &detail_url).await;
    assert_eq!(status, StatusCode::OK);
    for expected in [
        "Rechnung 2026-000001",
        "Pay-per-Use Grundgebühr, November 2026",
        "Kontakte (höchster Stand im November 2026)",
        "42 Stück",
        "0,50 €",
        "21,00 €",
        "Einrichtungsgebühr",
        "268,00 €",
        "50,92 €",
        "318,92 €",
        "Noch keine Zahlung erfasst.",
    ] {
        assert!(detail.contains(expected), "{expected} missing: {detail}");
    }
    let pdf = operator.get(format!("{detail_url}/pdf")).send().await.unwrap();
    assert_eq!(pdf.status(), StatusCode::OK);
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    assert_eq!(pdf.headers()["content-disposition"], "attachment; filename=\"Rechnung-2026-000001.pdf\"");
    assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF-"));
    let xml = operator.get(format!("{detail_url}/xrechnung")).send().await.unwrap();
    assert_eq!(xml.status(), StatusCode::OK);
    assert_eq!(xml.headers()["content-type"], "application/xml");
    assert_eq!(xml.headers()["content-disposition"], "attachment; filename=\"Rechnung-2026-000001-XRechnung.xml\"");
    assert!(xml.text().await.unwrap().contains("<ram:GrandTotalAmount>318.92</ram:GrandTotalAmount>"));
    for path in ["", "/pdf", "/xrechnung"] {
        let anonymous = app.client().get(format!("{detail_url}{path}")).send().await.unwrap();
        assert_eq!(anonymous.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(location(&anonymous), "/anmelden");
    }
    assert_eq!(get_page(&operator, &format!("{admin}/rechnungen/nope")).await.0, StatusCode::NOT_FOUND);

    // Recording a payment: a bad amount is refused at the field, with the input kept.
    let payment_url = format!("{detail_url}/zahlung");
    let bad = post_form(
        &operator,
        &payment_url,
        &detail,
        &[("amount", "318,9x"), ("received_on", "2026-12-18"), ("reference", "Auszug 12/7 Zeile 3")],
    )
    .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let bad = bad.text().await.unwrap();
    assert!(
        bad.contains(
            r#"<p class="field-error" id="payment-amount-error">Bitte geben Sie einen Betrag wie 49,90 an.</p>"#
        ),
        "{bad}"
    );
    assert!(bad.contains(r#"value="318,9x""#) && bad.contains(r#"value="Auszug 12/7 Zeile 3""#));
    let future = post_form(
        &operator,
        &payment_url,
        &detail,
        &[("amount", "318,92"), ("received_on", "2026-12-21"), ("reference", "")],
    )
    .await;
    assert_eq!(future.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let future = future.text().await.unwrap();
    assert!(future.contains("Der Zahlungseingang kann nicht in der Zukunft liegen."), "{future}");
    assert!(future.contains(r#"id="payment-reference-error">Bitte füllen Sie dieses Feld aus."#));
    assert!(control_plane::billing::settlement::payments(&app.state.db, &muster_invoice.id).await.unwrap().is_empty());

    let good = post_form(
        &operator,
        &payment_url,
        &detail,
        &[("amount", "318,92"), ("received_on", "18.12.2026"), ("reference", "Auszug 12/7 Zeile 3")],
    )
    .await;
    assert_eq!(good.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&good), format!("/rechnungen/{}?erfasst=zahlung", muster_invoice.id));
    let (_, paid) = get_page(&operator, &format!("{admin}{}", location(&good))).await;
    assert!(
        paid.contains("Die Zahlung wurde erfasst.") && paid.contains(r#"<span class="status paid">bezahlt</span>"#)
    );
    let compact: String = paid.split('\n').map(str::trim).collect();
    assert!(
        compact.contains(
            "<td>18.12.2026</td><td class=\"num\">318,92 €</td><td>Auszug 12/7 Zeile 3</td><td>ops@example.de</td>"
        ),
        "{paid}"
    );
    assert!(!paid.contains("Zahlung erfassen</button>"), "nothing is open any more");
    assert!(invoices::find(&app.state.db, &muster_invoice.id).await.unwrap().unwrap().is_paid());
    assert_eq!(numbers(&list("?status=paid").await), ["2026-000001"]);
    assert_eq!(numbers(&list("?status=overdue").await), ["2026-000002"]);

    // The same bank line cannot pay a second invoice.
    let premium_url = format!("{admin}/rechnungen/{}", premium_invoice.id);
    let (_, premium_page) = get_page(&operator, &premium_url).await;
    let twice = post_form(
        &operator,
        &format!("{premium_url}/zahlung"),
        &premium_page,
        &[("amount", "149,98"), ("received_on", "2026-12-19"), ("reference", "Auszug 12/7 Zeile 3")],
    )
    .await;
    assert_eq!(twice.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(twice.text().await.unwrap().contains("Eine Zahlung mit dieser Referenz ist bereits erfasst."));

    // The audit log shows who recorded it.
    let (status, log) = get_page(&operator, &format!("{admin}/protokoll")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(log.contains("<td>ops@example.de</td><td>Zahlung erfasst</td>"), "{log}");
    assert!(
        log.contains("Rechnung 2026-000001: 318,92 € eingegangen am 18.12.2026 (bank Auszug 12/7 Zeile 3)"),
        "{log}"
    );
    assert!(log.contains(&format!(r#"<a href="/mandanten/{}">Muster Makler</a>"#, muster.id)), "names the tenant");
    assert!(!log.contains("tenant:") && !log.contains("invoice:"), "no raw ids: {log}");
    let (_, logins) = get_page(&operator, &format!("{admin}/protokoll?action=login")).await;
    assert!(logins.contains("Anmeldung") && !logins.contains("Zahlung erfasst</td>"), "{logins}");

    // A credit note: too much is refused at the amount, a missing reason at the reason.
    let credit_url = format!("{premium_url}/gutschrift");
    let too_much = post_form(
        &operator,
        &credit_url,
        &premium_page,
        &[("scope", "amount"), ("amount", "200,00"), ("reason", "Kulanz")],
    )
    .await;
    assert_eq!(too_much.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let too_much = too_much.text().await.unwrap();
    assert!(
        too_much.contains(r#"id="credit-amount-error">Höchstens 126,03 € (netto) können noch gutgeschrieben werden."#),
        "{too_much}"
    );
    assert!(too_much.contains(r#"value="200,00""#) && too_much.contains(r#"value="Kulanz""#));
    let no_reason =
        post_form(&operator, &credit_url, &premium_page, &[("scope", "amount"), ("amount", "10,00"), ("reason", " ")])
            .await;
    assert_eq!(no_reason.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(no_reason.text().await.unwrap().contains(r#"id="credit-reason-error">Bitte füllen Sie dieses Feld aus."#));
    assert_eq!(numbers(&list("").await).len(), 2, "nothing was issued");

    let credited = post_form(
        &operator,
        &credit_url,
        &premium_page,
        &[("scope", "amount"), ("amount", "10,00"), ("reason", "Kulanz wegen Ausfall")],
    )
    .await;
    assert_eq!(credited.status(), StatusCode::SEE_OTHER);
    let (_, credit_note) = get_page(&operator, &format!("{admin}{}", location(&credited))).await;
    assert!(credit_note.contains("Gutschrift 2026-000003") && credit_note.contains("Gutschrift wurde ausgestellt"));
    assert!(credit_note.contains(&format!(r#"Rechnung <a href="/rechnungen/{}">2026-000002</a>"#, premium_invoice.id)));
    assert!(
        credit_note.contains("Gutschrift zur Rechnung 2026-000002: Kulanz wegen Ausfall")
            && credit_note.contains("11,90 €")
    );
    let (_, premium_page) = get_page(&operator, &premium_url).await;
    assert!(
        premium_page.contains("Gutschrift 2026-000003</a>")
            && premium_page.contains("Noch gutschreibbar: 116,03 € netto")
    );
    assert_eq!(numbers(&list("").await), ["2026-000003", "2026-000002", "2026-000001"]);
    assert!(list("?status=credit_note").await.contains(r#"<span class="status credit_note">Gutschrift</span>"#));
    let (_, log) = get_page(&operator, &format!("{admin}/protokoll?action=credit_note")).await;
    assert!(
        log.contains("<td>ops@example.de</td><td>Gutschrift ausgestellt</td>") && log.contains("Kulanz wegen Ausfall")
    );
    assert!(app.mails().iter().any(|m| m.subject == "Ihre Gutschrift 2026-000003"));

    // A draft left by an interrupted run shows as such and has no documents yet.
    let lines = [Line {
        kind: LineKind::Other,
        description: "Nachberechnung".into(),
        quantity: 1,
        unit: Unit::Piece,
        unit_price: Cents(500),
    }];
    let buyer = BuyerSnapshot::of(&muster);
    let mut conn = app.state.db.pool().acquire().await.unwrap();
    let draft = Draft {
        tenant_id: &muster.id,
        kind: Kind::Invoice,
        run_key: None,
        period: ServicePeriod { start: day("2026-12-01"), end: day("2026-12-31") },
        buyer: &buyer,
        lines: &lines,
        notes: &[],
        corrects: None,
        prepaid: Cents(0),
    };
    let draft = invoices::insert_draft(&mut conn, &draft, app.state.clock.timestamp()).await.unwrap();
    drop(conn);
    let drafts = list("?status=draft").await;
    assert_eq!(numbers(&drafts), ["Entwurf"]);
    assert!(drafts.contains(r#"<span class="status draft">Entwurf</span>"#));
    let draft_pdf = operator.get(format!("{admin}/rechnungen/{draft}/pdf")).send().await.unwrap();
    assert_eq!(draft_pdf.status(), StatusCode::NOT_FOUND);

    // Revenue: MRR from the running plans, revenue by issue month, the funnel.
    let (status, revenue) = get_page(&operator, &format!("{admin}/umsatz")).await;
    assert_eq!(status, StatusCode::OK);
    // Muster: 19,00 base + 99 contacts (the latest count) × 0,50 + 29,00 whitelabel = 97,50; Premium 199,00;
    // Probe's trial is deleted and counts nothing.
    assert!(revenue.contains(r#"<p class="total-line">296,50 € netto</p>"#), "{revenue}");
    assert!(revenue.contains(r#"<td>Pay-per-Use</td><td class="num">1</td><td class="num">97,50 €</td>"#));
    assert!(revenue.contains(r#"<td>PREMIUM</td><td class="num">1</td><td class="num">199,00 €</td>"#));
    assert!(revenue.contains(r#"<td>Testphase</td><td class="num">0</td><td class="num">0,00 €</td>"#));
    // December: 268,00 + 126,03 invoiced, 10,00 credited; the draft does not count.
    assert!(revenue.contains(
        r#"<th scope="row">Dezember 2026</th><td class="num">394,03 €</td><td class="num">10,00 €</td><td class="num">384,03 €</td>"#
    ));
    assert!(revenue.contains(
        r#"<th scope="row">November 2026</th><td class="num">0,00 €</td><td class="num">0,00 €</td><td class="num">0,00 €</td>"#
    ));
    assert!(revenue.contains(r#"<th scope="row">Januar 2026</th>"#) && !revenue.contains("Dezember 2025"), "12 months");
    assert!(revenue.contains("<strong>384,03 €</strong>"));
    assert!(revenue.contains(r#"<svg class="chart""#) && revenue.contains("<title>12/26: 384,03 €</title>"));
    assert_eq!(revenue.matches("<rect").count(), 12);
    // October: three sign-ups, two paid plans, one deleted.
    assert!(revenue.contains(
        r#"<th scope="row">Oktober 2026</th><td class="num">3</td><td class="num">2</td><td class="num">1</td><td class="num">66,7 %</td>"#
    ), "{revenue}");
    assert!(revenue.contains(
        r#"<th scope="row">November 2026</th><td class="num">0</td><td class="num">0</td><td class="num">0</td><td class="num">–</td>"#
    ));

    // The tenant page: plan, usage chart with its table, and the invoices.
    let (status, page) = get_page(&operator, &format!("{admin}/mandanten/{}", muster.id)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Pay-per-Use mit Whitelabel seit 20.10.2026"), "{page}");
    assert!(page.contains(r#"<svg class="chart""#) && page.contains("Kontakte je Tag, letzte 90 Tage"));
    assert!(page.contains("<td>17.11.2026</td><td class=\"num\">42</td>") && page.contains(">99<"));
    assert!(page.contains(&format!(r#"<a href="/rechnungen/{}">2026-000001</a>"#, muster_invoice.id)));
    assert!(page.contains(r#"<span class="status paid">bezahlt</span>"#));
    app.stop().await;
}
