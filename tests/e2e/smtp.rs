//! Mail over real SMTP: with `ORDO_TEST_SMTP_URL` (an SMTP server) and
//! `ORDO_TEST_MAILDEV_URL` (maildev's web API) set, the sign-up mail is sent over
//! SMTP and its link works. `.ci/run` starts maildev for this.

use ordo_tests::{Backend, TestApp, require_or_skip, set_password_via_link};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_mail_is_delivered_over_smtp() {
    let Some(smtp_url) = require_or_skip("SMTP delivery", "ORDO_TEST_SMTP_URL") else { return };
    let Some(maildev) = require_or_skip("SMTP delivery", "ORDO_TEST_MAILDEV_URL") else { return };
    let app = TestApp::spawn_with(Backend::Sqlite, &[("smtp_url", smtp_url.as_str())]).await;
    let email = format!("smtp-{}@example.de", app.addr.port());
    app.sign_up("Erika Muster", Some("SMTP Makler"), &email).await;
    assert!(app.mails().is_empty(), "no mail files when SMTP is configured");

    let http = reqwest::Client::new();
    let mut delivered: Option<Value> = None;
    for _ in 0..100 {
        let inbox: Value = http.get(format!("{maildev}/email")).send().await.unwrap().json().await.unwrap();
        delivered = inbox.as_array().unwrap().iter().find(|m| m["to"][0]["address"] == email.as_str()).cloned();
        if delivered.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let mail = delivered.expect("mail arrived at the SMTP server");
    assert!(mail["subject"].as_str().unwrap().contains("bestätigen"));
    let text = mail["text"].as_str().unwrap();
    let link = regex_lite::Regex::new(r"https?://\S+/passwort-setzen\?token=\S+").unwrap().find(text).unwrap().as_str();
    set_password_via_link(&app.client(), link, "smtp passwort 123").await;
    app.stop().await;
}
