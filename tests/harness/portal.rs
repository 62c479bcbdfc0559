//! A logged-in browser on one portal, and the broker's common steps there.

use reqwest::{Client, Response, StatusCode};

use crate::TestApp;
use crate::browser::{get_page, location, post_form, set_password_via_link};

/// A logged-in browser on one portal, with helpers for the broker's common steps.
#[derive(Clone)]
pub struct PortalSession {
    pub client: Client,
    /// `http://<slug>.localhost:<port>`
    pub origin: String,
    /// The portal's tenant, as the sign-up answered.
    pub slug: String,
    pub tenant_id: String,
}

impl PortalSession {
    /// The same browser (and its cookies) on `app`, e.g. after a restart changed the port.
    pub fn on(&self, app: &TestApp) -> PortalSession {
        PortalSession { origin: app.url(&self.slug, ""), ..self.clone() }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }

    pub async fn page(&self, path: &str) -> (StatusCode, String) {
        get_page(&self.client, &self.url(path)).await
    }

    /// GETs `form_path` for its CSRF token, then POSTs `fields` to `action_path`.
    pub async fn submit(&self, form_path: &str, action_path: &str, fields: &[(&str, &str)]) -> Response {
        let (status, html) = self.page(form_path).await;
        assert_eq!(status, StatusCode::OK, "form page {form_path}");
        post_form(&self.client, &self.url(action_path), &html, fields).await
    }

    /// Creates a customer through the form; returns its id.
    pub async fn create_customer(&self, first: &str, last: &str, email: &str) -> String {
        let created = self
            .submit(
                "/makler/kunden/neu",
                "/makler/kunden/neu",
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
        assert_eq!(created.status(), StatusCode::SEE_OTHER, "create customer");
        location(&created).rsplit('/').next().expect("id").to_owned()
    }

    /// Adds a contract for the Produkt with this label; returns nothing, the
    /// contract shows on the customer's page.
    pub async fn create_contract(
        &self,
        customer_id: &str,
        produkt: &str,
        policy_number: &str,
        premium: &str,
        frequency: &str,
    ) {
        let form_path = format!("/makler/kunden/{customer_id}/vertraege/neu");
        let (_, html) = self.page(&form_path).await;
        let produkt_id = option_value(&html, produkt);
        let saved = post_form(
            &self.client,
            &self.url(&form_path),
            &html,
            &[
                ("produkt_id", produkt_id.as_str()),
                ("insurer", "Allianz"),
                ("policy_number", policy_number),
                ("premium", premium),
                ("payment_frequency", frequency),
                ("start_date", "2025-01-01"),
                ("status", "active"),
            ],
        )
        .await;
        assert_eq!(
            saved.status(),
            StatusCode::SEE_OTHER,
            "create contract: {}",
            saved.text().await.unwrap_or_default()
        );
    }

    /// Invites a customer and lets them set a password; returns their session.
    pub async fn invite(&self, app: &TestApp, customer_id: &str, email: &str, password: &str) -> PortalSession {
        let page = format!("/makler/kunden/{customer_id}");
        let invited = self.submit(&page, &format!("{page}/einladen"), &[]).await;
        assert_eq!(invited.status(), StatusCode::SEE_OTHER, "invite");
        let customer = app.client();
        set_password_via_link(&customer, &app.last_mail_to(email).password_link(), password).await;
        PortalSession { client: customer, ..self.clone() }
    }
}

/// The value of the `<option>` with this label.
pub fn option_value(html: &str, label: &str) -> String {
    let re =
        regex_lite::Regex::new(&format!(r#"<option value="([0-9a-f]+)"[^>]*>{}</option>"#, regex_lite::escape(label)))
            .expect("regex");
    re.captures(html).unwrap_or_else(|| panic!("no option {label}")).get(1).expect("group").as_str().to_owned()
}
