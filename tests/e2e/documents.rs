//! Documents: upload checked by content, per customer and per contract, shared
//! with the customer or not, downloaded as attachments, deleted.

use ordo_tests::{Backend, PortalSession, TestApp, both_backends, hidden_field};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};

both_backends!(documents_are_checked_shared_and_isolated);

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";
const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0xFF, 0xD9];
const PNG: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D, b'I', b'H', b'D', b'R'];

fn part(name: &str, bytes: &[u8], mime: &str) -> Part {
    Part::bytes(bytes.to_vec()).file_name(name.to_owned()).mime_str(mime).unwrap()
}

async fn upload(broker: &PortalSession, customer: &str, form: Form) -> (StatusCode, String) {
    let response = broker
        .client
        .post(broker.url(&format!("/makler/kunden/{customer}/dokumente")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.text().await.unwrap())
}

fn document_id(html: &str, file_name: &str) -> String {
    let re = regex_lite::Regex::new(&format!(r#"/dokumente/([0-9a-f]+)">{}"#, regex_lite::escape(file_name))).unwrap();
    re.captures(html).unwrap_or_else(|| panic!("no document {file_name}")).get(1).unwrap().as_str().to_owned()
}

async fn documents_are_checked_shared_and_isolated(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("max_upload_mib", "1")]).await;
    let broker = app.broker_session("Muster Makler", "erika@example.de").await;
    let max = broker.create_customer("Max", "Mustermann", "max@example.de").await;
    broker.create_contract(&max, "Hausratversicherung", "HR-1", "9,90", "monthly").await;
    let (_, page) = broker.page(&format!("/makler/kunden/{max}")).await;
    let csrf = hidden_field(&page, "_csrf");
    let contract = ordo_tests::option_value(&page, "Verbundene Hausrat · HR-1");

    // Without the CSRF token nothing is stored.
    let (status, _) = upload(&broker, &max, Form::new().part("files", part("a.pdf", PDF, "application/pdf"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // One request with good and hostile files: the good ones are kept, each bad one is named.
    let big = [PDF, &vec![b'x'; 1024 * 1024 + 10]].concat();
    let form = Form::new()
        .text("_csrf", csrf.clone())
        .text("visible", "1")
        .part("files", part("../../etc/Police 2024.pdf", PDF, "application/pdf"))
        .part("files", part("Schaden.jpg", JPEG, "image/jpeg"))
        .part("files", part("boese.jpg", b"<script>alert(1)</script>", "image/jpeg"))
        .part(
            "files",
            part(
                "bild.svg",
                b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>",
                "image/svg+xml",
            ),
        );
    let (status, html) = upload(&broker, &max, form).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("2 Dokument(e) gespeichert"), "{html}");
    assert!(html.contains("boese.jpg") && html.contains("bild.svg"), "refusals name the files");
    // A file past the limit ends the upload at once (tests/e2e/uploads.rs times it).
    let form = Form::new().text("_csrf", csrf.clone()).part("files", part("riesig.pdf", &big, "application/pdf"));
    let (status, html) = upload(&broker, &max, form).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(html.contains("riesig.pdf") && html.contains("zu groß"), "{html}");
    assert!(
        html.contains("&#62;Police 2024.pdf") || html.contains(">Police 2024.pdf"),
        "the path is stripped from the name"
    );
    assert!(!html.contains("etc/Police"));

    // A contract document, and one the customer must not see.
    let form = Form::new()
        .text("_csrf", csrf.clone())
        .text("contract_id", contract.clone())
        .text("visible", "1")
        .part("files", part("Versicherungsschein.pdf", PDF, "application/pdf"));
    assert_eq!(upload(&broker, &max, form).await.0, StatusCode::OK);
    let form = Form::new().text("_csrf", csrf.clone()).part("files", part("intern.png", PNG, "image/png"));
    let (status, html) = upload(&broker, &max, form).await;
    assert_eq!(status, StatusCode::OK);
    let internal = document_id(&html, "intern.png");
    let policy = document_id(&html, "Police 2024.pdf");
    let photo = document_id(&html, "Schaden.jpg");
    let certificate = document_id(&html, "Versicherungsschein.pdf");

    // Downloads are attachments with the type found in the content.
    let download = broker.client.get(broker.url(&format!("/makler/dokumente/{photo}"))).send().await.unwrap();
    assert_eq!(download.status(), StatusCode::OK);
    assert_eq!(download.headers()["content-type"], "image/jpeg");
    let disposition = download.headers()["content-disposition"].to_str().unwrap().to_owned();
    assert!(disposition.starts_with("attachment;") && disposition.contains("Schaden.jpg"), "{disposition}");
    assert_eq!(download.headers()["x-content-type-options"], "nosniff");
    assert_eq!(download.bytes().await.unwrap().as_ref(), JPEG);

    // The customer sees what is shared: general documents in the folder, the
    // contract's on the contract page; the hidden one not at all.
    let customer = broker.invite(&app, &max, "max@example.de", "kunden passwort 1").await;
    let (_, folder) = customer.page("/ordner").await;
    assert!(folder.contains("Police 2024.pdf") && folder.contains("Schaden.jpg"));
    assert!(!folder.contains("intern.png") && !folder.contains("Versicherungsschein.pdf"));
    let contract_page =
        regex_lite::Regex::new(r#"/ordner/vertraege/([0-9a-f]+)"#).unwrap().captures(&folder).unwrap()[1].to_owned();
    let (_, detail) = customer.page(&format!("/ordner/vertraege/{contract_page}")).await;
    assert!(detail.contains("Versicherungsschein.pdf") && !detail.contains("Police 2024.pdf"));
    assert_eq!(customer.page(&format!("/ordner/dokumente/{certificate}")).await.0, StatusCode::OK);
    assert_eq!(customer.page(&format!("/ordner/dokumente/{internal}")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(customer.page(&format!("/makler/dokumente/{internal}")).await.0, StatusCode::FORBIDDEN);

    // Sharing it later makes it visible.
    broker
        .submit(
            &format!("/makler/kunden/{max}"),
            &format!("/makler/dokumente/{internal}/sichtbarkeit"),
            &[("visible", "1")],
        )
        .await;
    assert_eq!(customer.page(&format!("/ordner/dokumente/{internal}")).await.0, StatusCode::OK);

    // Another customer of the same broker sees none of it.
    let anna = broker.create_customer("Anna", "Andere", "anna@example.de").await;
    let other = broker.invite(&app, &anna, "anna@example.de", "anna passwort 1").await;
    assert_eq!(other.page(&format!("/ordner/dokumente/{policy}")).await.0, StatusCode::NOT_FOUND);
    let (_, other_folder) = other.page("/ordner").await;
    assert!(!other_folder.contains("Police 2024.pdf"));

    // Customers cannot upload.
    let (_, own) = customer.page("/ordner").await;
    let form =
        Form::new().text("_csrf", hidden_field(&own, "_csrf")).part("files", part("x.pdf", PDF, "application/pdf"));
    let response = customer
        .client
        .post(customer.url(&format!("/makler/kunden/{max}/dokumente")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // Deleting removes the record and the file.
    broker.submit(&format!("/makler/kunden/{max}"), &format!("/makler/dokumente/{policy}/loeschen"), &[]).await;
    assert_eq!(broker.page(&format!("/makler/dokumente/{policy}")).await.0, StatusCode::NOT_FOUND);
    let files = walk(&app.data_dir().join("tenants"));
    assert!(!files.iter().any(|f| f.ends_with(&policy)), "file removed");
    assert!(files.iter().any(|f| f.ends_with(&photo)), "others kept");
    app.stop().await;
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(walk(&path));
            } else {
                out.push(path.display().to_string());
            }
        }
    }
    out
}
