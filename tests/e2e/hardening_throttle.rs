//! Attack 2 (issue 12): login throttling that holds. Parallel guesses are
//! counted before their password is checked, so no more than the limit are
//! checked; a stranger's failures never lock the owner out; the set-password
//! form is throttled the same way.

use ordo_tests::attacks::log_in_at;
use ordo_tests::{Backend, TestApp, both_backends, log_in, post_form};
use reqwest::StatusCode;

both_backends!(parallel_guesses_are_counted_before_checking, strangers_cannot_lock_the_owner_out);

const PASSWORD: &str = "richtiges passwort";

async fn parallel_guesses_are_counted_before_checking(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (slug, _broker) = app.broker("Muster Makler", "erika@example.de", PASSWORD).await;
    let portal = app.url(&slug, "");
    let operator_email = "ops@example.de";
    app.operator(operator_email).await;
    let admin = app.url("admin", "");

    for (origin, account) in [(portal.clone(), "erika@example.de"), (admin.clone(), operator_email)] {
        // 30 browsers of one attacker, each with its page and token, fire at once.
        let mut prepared = Vec::new();
        for _ in 0..30 {
            let client = app.client();
            let (_, html) = ordo_tests::get_page(&client, &format!("{origin}/anmelden")).await;
            prepared.push((client, html));
        }
        let attempts = prepared.into_iter().map(|(client, html)| {
            let url = format!("{origin}/anmelden");
            async move {
                post_form(&client, &url, &html, &[("email", account), ("password", "falsches passwort")]).await.status()
            }
        });
        let handles: Vec<_> = attempts.map(tokio::spawn).collect();
        let mut statuses = Vec::new();
        for handle in handles {
            statuses.push(handle.await.unwrap());
        }
        let checked = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
        let refused = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
        assert_eq!((checked, refused), (5, 25), "{origin}: {statuses:?}");
        // The refusal says when to come back.
        let again = log_in(&app.client(), &origin, account, "falsches passwort").await;
        assert_eq!(again.status(), StatusCode::TOO_MANY_REQUESTS);
        let retry: i64 = again.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!(retry > 0 && retry <= 15 * 60, "{retry}");
    }
    app.stop().await;
}

async fn strangers_cannot_lock_the_owner_out(backend: Backend) {
    // Behind a proxy, as in production: the owner's address is the forwarded one.
    let app = TestApp::spawn_with(backend, &[("trust_proxy", "true")]).await;
    let (slug, _broker) = app.broker("Muster Makler", "erika@example.de", PASSWORD).await;
    let portal = app.url(&slug, "");
    let stranger = app.client();
    for _ in 0..5 {
        assert_eq!(
            log_in(&stranger, &portal, "erika@example.de", "falsches passwort").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        log_in(&stranger, &portal, "erika@example.de", PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the stranger's own address is blocked, even with the right password"
    );
    // The owner, from another address and a fresh browser, gets in (after a short delay).
    let owner = app.client();
    let started = std::time::Instant::now();
    let (_, html) = ordo_tests::get_page(&owner, &format!("{portal}/anmelden")).await;
    let logged_in = owner
        .post(format!("{portal}/anmelden"))
        .header("x-forwarded-for", "203.0.113.7")
        .form(&[
            ("_csrf", ordo_tests::hidden_field(&html, "_csrf").as_str()),
            ("email", "erika@example.de"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(logged_in.status(), StatusCode::SEE_OTHER, "the owner is locked out");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));

    // The billing area's login counts in the same place.
    let billing =
        log_in_at(&stranger, &portal, "/makler/abrechnung/anmelden", "erika@example.de", "falsches passwort").await;
    assert_eq!(billing.status(), StatusCode::TOO_MANY_REQUESTS);

    // The set-password form: repeated submissions from one address are cut off too.
    let guesser = app.client();
    let (_, html) = ordo_tests::get_page(&guesser, &format!("{portal}/anmelden")).await;
    let mut statuses = Vec::new();
    for _ in 0..7 {
        let response = post_form(
            &guesser,
            &format!("{portal}/passwort-setzen"),
            &html,
            &[("token", "geraten"), ("password", "neues passwort 1"), ("password_confirm", "neues passwort 1")],
        )
        .await;
        statuses.push(response.status());
    }
    assert_eq!(statuses[..5], [StatusCode::NOT_FOUND; 5], "{statuses:?}");
    assert_eq!(statuses[5..], [StatusCode::TOO_MANY_REQUESTS; 2], "{statuses:?}");
    app.stop().await;
}
