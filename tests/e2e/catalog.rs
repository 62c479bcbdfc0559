//! The broker's catalog: add, rename, describe, reorder and delete Sparten and
//! Produkte, with deletion refused while contracts use an entry.

use ordo_tests::{Backend, TestApp, both_backends, location};
use reqwest::StatusCode;

both_backends!(broker_edits_the_catalog);

fn sparte_id(html: &str, name: &str) -> String {
    let re = regex_lite::Regex::new(&format!(
        r#"href="/makler/katalog/sparten/([0-9a-f]+)">{}</a>"#,
        regex_lite::escape(name)
    ))
    .unwrap();
    re.captures(html).unwrap_or_else(|| panic!("no Sparte {name}")).get(1).unwrap().as_str().to_owned()
}

fn produkt_id(html: &str, name: &str) -> String {
    let re = regex_lite::Regex::new(&format!(
        r#"href="/makler/katalog/produkte/([0-9a-f]+)">{}</a>"#,
        regex_lite::escape(name)
    ))
    .unwrap();
    re.captures(html).unwrap_or_else(|| panic!("no Produkt {name}")).get(1).unwrap().as_str().to_owned()
}

async fn broker_edits_the_catalog(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let broker = app.broker_session("Muster Makler", "erika@example.de").await;

    // The default catalog is GDV-aligned and has the pension and emergency lines.
    let (status, catalog) = broker.page("/makler/katalog").await;
    assert_eq!(status, StatusCode::OK);
    for name in ["Haftpflicht", "Kraftfahrt", "Hinterbliebenenvorsorge", "Arbeitskraftabsicherung", "Tierkranken"] {
        assert!(catalog.contains(&format!(">{name}</a>")), "{name}");
    }
    assert!(catalog.contains("GDV 040"));

    // A new Sparte needs a name; with one it is created and offered for contracts.
    let invalid = broker.submit("/makler/katalog", "/makler/katalog", &[("name", " "), ("description", "x")]).await;
    assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(invalid.text().await.unwrap().contains("id=\"new-name-error\""));
    let created = broker
        .submit(
            "/makler/katalog",
            "/makler/katalog",
            &[("name", "Cyber"), ("description", "Schützt vor Online-Betrug.")],
        )
        .await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let cyber = location(&created).split('/').nth(4).unwrap().split('?').next().unwrap().to_owned();
    let added = broker
        .submit(
            &format!("/makler/katalog/sparten/{cyber}"),
            &format!("/makler/katalog/sparten/{cyber}/produkte"),
            &[("name", "Cyberversicherung privat"), ("description", "Hilft nach Identitätsdiebstahl.")],
        )
        .await;
    assert_eq!(added.status(), StatusCode::SEE_OTHER);

    // A customer with a contract in Haftpflicht.
    let max = broker.create_customer("Max", "Mustermann", "max@example.de").await;
    broker.create_contract(&max, "Privathaftpflicht", "PH-1", "5,00", "monthly").await;
    broker.create_contract(&max, "Cyberversicherung privat", "CY-1", "3,00", "monthly").await;
    let customer = broker.invite(&app, &max, "max@example.de", "kunden passwort 1").await;

    // The broker rewrites a description; the customer reads the new text.
    let (_, catalog) = broker.page("/makler/katalog").await;
    let haftpflicht = sparte_id(&catalog, "Haftpflicht");
    let (_, sparte) = broker.page(&format!("/makler/katalog/sparten/{haftpflicht}")).await;
    let privat = produkt_id(&sparte, "Privathaftpflicht");
    let renamed = broker
        .submit(
            &format!("/makler/katalog/produkte/{privat}"),
            &format!("/makler/katalog/produkte/{privat}"),
            &[("name", "Private Haftpflicht"), ("description", "Zahlt, wenn Ihnen ein Missgeschick passiert.")],
        )
        .await;
    assert_eq!(renamed.status(), StatusCode::SEE_OTHER);
    let (_, folder) = customer.page("/ordner").await;
    assert!(folder.contains("Private Haftpflicht"));
    let contract = regex_lite::Regex::new(r#"/ordner/vertraege/([0-9a-f]+)"#).unwrap();
    let first_contract = contract.captures(&folder).unwrap().get(1).unwrap().as_str().to_owned();
    let (_, detail) = customer.page(&format!("/ordner/vertraege/{first_contract}")).await;
    assert!(detail.contains("Zahlt, wenn Ihnen ein Missgeschick passiert."));

    // Reordering: Cyber moves up past Sonstige and shows first of the two for the customer.
    let (_, folder) = customer.page("/ordner").await;
    assert!(folder.find("Haftpflicht").unwrap() < folder.find("Cyber").unwrap());
    for _ in 0..20 {
        broker
            .submit("/makler/katalog", &format!("/makler/katalog/sparten/{cyber}/verschieben"), &[("richtung", "hoch")])
            .await;
    }
    let (_, catalog) = broker.page("/makler/katalog").await;
    let first = catalog.find("/makler/katalog/sparten/").unwrap();
    assert!(catalog[first..].starts_with(&format!("/makler/katalog/sparten/{cyber}")), "Cyber is first");
    let (_, folder) = customer.page("/ordner").await;
    assert!(folder.find("Cyber").unwrap() < folder.find("Haftpflicht").unwrap(), "customer sees the new order");

    // Deleting what contracts use is refused with a message, and nothing is lost.
    let refused = broker
        .submit(
            &format!("/makler/katalog/sparten/{haftpflicht}"),
            &format!("/makler/katalog/sparten/{haftpflicht}/loeschen"),
            &[],
        )
        .await;
    let target = location(&refused);
    assert!(target.contains("hinweis=in-benutzung"), "{target}");
    let (_, page) = broker.page(&target).await;
    assert!(page.contains("Löschen nicht möglich: 1 Vertrag"), "{page}");
    let refused = broker
        .submit(
            &format!("/makler/katalog/produkte/{privat}"),
            &format!("/makler/katalog/produkte/{privat}/loeschen"),
            &[],
        )
        .await;
    assert!(location(&refused).contains("in-benutzung"));
    let (_, folder) = customer.page("/ordner").await;
    assert!(folder.contains("PH-1"));

    // Unused entries go: a Produkt, then a whole Sparte with its Produkte.
    let (_, sparte) = broker.page(&format!("/makler/katalog/sparten/{haftpflicht}")).await;
    let tier = produkt_id(&sparte, "Tierhalterhaftpflicht");
    let deleted = broker
        .submit(&format!("/makler/katalog/produkte/{tier}"), &format!("/makler/katalog/produkte/{tier}/loeschen"), &[])
        .await;
    assert!(location(&deleted).contains("hinweis=geloescht"));
    let (_, sparte) = broker.page(&format!("/makler/katalog/sparten/{haftpflicht}")).await;
    assert!(!sparte.contains("Tierhalterhaftpflicht"));
    let (_, catalog) = broker.page("/makler/katalog").await;
    let transport = sparte_id(&catalog, "Transport");
    let deleted = broker
        .submit(
            &format!("/makler/katalog/sparten/{transport}"),
            &format!("/makler/katalog/sparten/{transport}/loeschen"),
            &[],
        )
        .await;
    assert_eq!(location(&deleted), "/makler/katalog?hinweis=geloescht");
    let (_, catalog) = broker.page("/makler/katalog").await;
    assert!(!catalog.contains(">Transport</a>"));

    // Customers cannot touch the catalog.
    assert_eq!(customer.page("/makler/katalog").await.0, StatusCode::FORBIDDEN);
    app.stop().await;
}
