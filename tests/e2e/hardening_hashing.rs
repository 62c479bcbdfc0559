//! Attack 3 (issue 12): password hashing is bounded. With one check allowed at
//! once and no time to wait, a burst of logins gets 503 with `Retry-After`
//! for all but what the bound lets through; after the burst, logins work.

use ordo_tests::{Backend, TestApp, both_backends, log_in, post_form};
use reqwest::StatusCode;

both_backends!(a_burst_of_logins_is_bounded);

async fn a_burst_of_logins_is_bounded(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("password_checks", "1"), ("password_wait_secs", "0")]).await;
    let (slug, _broker) = app.broker("Muster Makler", "erika@example.de", "richtiges passwort").await;
    let portal = app.url(&slug, "");
    // Twenty browsers, each for another account, so that the throttle stays out of it.
    let mut prepared = Vec::new();
    for i in 0..20 {
        let client = app.client();
        let (_, html) = ordo_tests::get_page(&client, &format!("{portal}/anmelden")).await;
        prepared.push((client, html, format!("kunde{i}@example.de")));
    }
    let handles: Vec<_> = prepared
        .into_iter()
        .map(|(client, html, email)| {
            let url = format!("{portal}/anmelden");
            tokio::spawn(async move {
                let response =
                    post_form(&client, &url, &html, &[("email", email.as_str()), ("password", "irgendein passwort")])
                        .await;
                let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
                (response.status(), retry_after)
            })
        })
        .collect();
    let mut answers = Vec::new();
    for handle in handles {
        answers.push(handle.await.unwrap());
    }
    let checked = answers.iter().filter(|(s, _)| *s == StatusCode::UNAUTHORIZED).count();
    let busy: Vec<_> = answers.iter().filter(|(s, _)| *s == StatusCode::SERVICE_UNAVAILABLE).collect();
    assert!(checked >= 1 && !busy.is_empty(), "{answers:?}");
    assert_eq!(checked + busy.len(), 20, "{answers:?}");
    assert!(busy.iter().all(|(_, retry)| retry.as_deref().is_some_and(|r| r.parse::<u64>().is_ok())), "{answers:?}");
    // After the burst the owner logs in.
    let owner = log_in(&app.client(), &portal, "erika@example.de", "richtiges passwort").await;
    assert_eq!(owner.status(), StatusCode::SEE_OTHER);
    app.stop().await;
}
