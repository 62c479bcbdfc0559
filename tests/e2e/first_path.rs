//! The first path a real user walks: a broker signs up, gets a portal, adds a
//! customer with a contract and invites them; the customer logs in and sees it.

use ordo_tests::{
    Backend, TestApp, both_backends, get_page, location, log_in, option_value, post_form, set_password_via_link,
};
use reqwest::StatusCode;

both_backends!(broker_and_customer_walk_the_first_path);

const BROKER_PASSWORD: &str = "makler passwort 2026";
const CUSTOMER_PASSWORD: &str = "kunden passwort 2026";

async fn broker_and_customer_walk_the_first_path(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    // Sign-up: the portal is ready at once, and a mail carries the set-password link.
    let created = app.sign_up("Erika Muster", Some("Muster Versicherungsmakler"), "Erika@Example.de").await;
    assert_eq!(created["status"], "ready");
    assert_eq!(created["slug"], "muster-versicherungsmakler");
    let slug = created["slug"].as_str().unwrap().to_owned();
    let portal = app.url(&slug, "");
    assert_eq!(created["portal_url"], portal.as_str());
    let mail = app.last_mail_to("erika@example.de");
    assert!(mail.subject.contains("bestätigen"), "subject: {}", mail.subject);
    let link = mail.password_link();
    assert!(link.starts_with(&format!("{portal}/passwort-setzen?token=")), "link: {link}");

    // The broker sets a password through the link and is logged in; the link is spent.
    let broker = app.client();
    let session_cookie = set_password_via_link(&broker, &link, BROKER_PASSWORD).await;
    assert!(session_cookie.contains("HttpOnly") && session_cookie.contains("SameSite=Lax"), "{session_cookie}");
    assert!(!session_cookie.to_lowercase().contains("domain="), "session cookies are host-only: {session_cookie}");
    assert_eq!(get_page(&broker, &link).await.0, StatusCode::NOT_FOUND);
    let home = broker.get(format!("{portal}/")).send().await.unwrap();
    assert_eq!(location(&home), "/makler/kunden");

    // Logging in again later with e-mail and password works.
    let fresh = app.client();
    let login = log_in(&fresh, &portal, "erika@example.de", BROKER_PASSWORD).await;
    assert_eq!(login.status(), StatusCode::SEE_OTHER);
    assert_eq!(get_page(&fresh, &format!("{portal}/makler/kunden")).await.0, StatusCode::OK);

    // A customer form with mistakes is answered field by field, keeping the input.
    let (_, form) = get_page(&broker, &format!("{portal}/makler/kunden/neu")).await;
    let invalid = post_form(
        &broker,
        &format!("{portal}/makler/kunden/neu"),
        &form,
        &[("first_name", "Max"), ("last_name", ""), ("email", "max@")],
    )
    .await;
    assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let invalid = invalid.text().await.unwrap();
    assert!(invalid.contains("id=\"last_name-error\""), "{invalid}");
    assert!(invalid.contains("id=\"email-error\""));
    assert!(invalid.contains("value=\"Max\""), "input is kept");

    // The broker creates the customer…
    let max = create_customer(&broker, &portal, "Max", "Mustermann", "max@example.de").await;
    // …and a contract, choosing Sparte and Produkt from the catalog.
    let (_, contract_form) = get_page(&broker, &format!("{portal}/makler/kunden/{max}/vertraege/neu")).await;
    let produkt = option_value(&contract_form, "Privathaftpflicht");
    let saved = post_form(
        &broker,
        &format!("{portal}/makler/kunden/{max}/vertraege/neu"),
        &contract_form,
        &[
            ("produkt_id", produkt.as_str()),
            ("insurer", "Allianz"),
            ("policy_number", "PH-123456"),
            ("premium", "7,50"),
            ("payment_frequency", "monthly"),
            ("start_date", "2025-01-01"),
            ("status", "active"),
        ],
    )
    .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let (_, customer_page) = get_page(&broker, &format!("{portal}/makler/kunden/{max}")).await;
    assert!(customer_page.contains("PH-123456") && customer_page.contains("90,00 €"), "yearly premium shown");

    // The broker invites the customer; the customer gets a link of their own.
    let (_, customer_page) = get_page(&broker, &format!("{portal}/makler/kunden/{max}")).await;
    let invited = post_form(&broker, &format!("{portal}/makler/kunden/{max}/einladen"), &customer_page, &[]).await;
    assert_eq!(invited.status(), StatusCode::SEE_OTHER);
    let invitation = app.last_mail_to("max@example.de");
    assert!(invitation.from.contains("Muster Versicherungsmakler"), "sent in the broker's name: {}", invitation.from);
    assert!(!invitation.body.contains("PH-123456"), "mails carry links, not contract data");

    // The customer sets a password, lands in their folder, and sees the contract under its Sparte.
    let customer = app.client();
    set_password_via_link(&customer, &invitation.password_link(), CUSTOMER_PASSWORD).await;
    let home = customer.get(format!("{portal}/")).send().await.unwrap();
    assert_eq!(location(&home), "/ordner");
    let (status, folder) = get_page(&customer, &format!("{portal}/ordner")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(folder.contains("Haftpflicht"), "Sparte heading");
    assert!(folder.contains("Privathaftpflicht") && folder.contains("PH-123456"));
    assert!(folder.contains("90,00 € im Jahr"), "yearly total per Sparte");
    let contract_id = contract_link(&folder);
    let (status, contract) = get_page(&customer, &format!("{portal}/ordner/vertraege/{contract_id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(contract.contains("Wofür brauche ich das?") && contract.contains("Allianz"));

    // A customer is no broker.
    assert_eq!(get_page(&customer, &format!("{portal}/makler/kunden")).await.0, StatusCode::FORBIDDEN);

    // A second customer never sees the first one's contract.
    let anna = create_customer(&broker, &portal, "Anna", "Andere", "anna@example.de").await;
    let (_, anna_page) = get_page(&broker, &format!("{portal}/makler/kunden/{anna}")).await;
    post_form(&broker, &format!("{portal}/makler/kunden/{anna}/einladen"), &anna_page, &[]).await;
    let anna_client = app.client();
    set_password_via_link(&anna_client, &app.last_mail_to("anna@example.de").password_link(), "anna passwort 2026")
        .await;
    let (status, anna_folder) = get_page(&anna_client, &format!("{portal}/ordner")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!anna_folder.contains("PH-123456"));
    assert_eq!(
        get_page(&anna_client, &format!("{portal}/ordner/vertraege/{contract_id}")).await.0,
        StatusCode::NOT_FOUND
    );

    // Another broker's portal: the first broker's session is worthless there,
    // and the first portal's customer cannot log in there.
    let (other_slug, _other_broker) = app.broker("Zweite Makler GmbH", "zweite@example.de", "zweites passwort 1").await;
    let other = app.url(&other_slug, "");
    let session_value = session_cookie.split(';').next().unwrap().to_owned();
    let stolen =
        app.client().get(format!("{other}/makler/kunden")).header("cookie", &session_value).send().await.unwrap();
    assert_eq!(stolen.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&stolen), "/anmelden");
    let wrong_portal = log_in(&app.client(), &other, "max@example.de", CUSTOMER_PASSWORD).await;
    assert_eq!(wrong_portal.status(), StatusCode::UNAUTHORIZED);
    // Contract ids of one portal mean nothing in another.
    let (_, other_broker_view) = get_page(&app.client(), &format!("{other}/ordner/vertraege/{contract_id}")).await;
    assert!(!other_broker_view.contains("PH-123456"));

    app.stop().await;
}

/// Creates a customer through the form; returns its id.
async fn create_customer(broker: &reqwest::Client, portal: &str, first: &str, last: &str, email: &str) -> String {
    let (_, form) = get_page(broker, &format!("{portal}/makler/kunden/neu")).await;
    let created = post_form(
        broker,
        &format!("{portal}/makler/kunden/neu"),
        &form,
        &[
            ("first_name", first),
            ("last_name", last),
            ("email", email),
            ("phone", "0171 1234567"),
            ("street", "Weg 2"),
            ("postal_code", "10117"),
            ("city", "Berlin"),
        ],
    )
    .await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    location(&created).rsplit('/').next().unwrap().to_owned()
}

fn contract_link(html: &str) -> String {
    let re = regex_lite::Regex::new(r#"/ordner/vertraege/([0-9a-f]+)"#).unwrap();
    re.captures(html).expect("a contract link").get(1).unwrap().as_str().to_owned()
}
