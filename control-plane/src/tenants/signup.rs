//! Trial sign-up: from a prospective broker's details to a recorded tenant.

use serde::Deserialize;
use tenant_app::crypto::Key;
use tenant_app::db::{is_unique_violation, new_id};
use tenant_app::values::{EmailAddress, optional_text, required_text};
use tenant_app::web::FieldErrors;

use crate::slug::Slug;
use crate::state::AppState;
use crate::tenants::{self, ProvisionStep, Tenant, TenantStatus};

/// The sign-up as submitted, from the form or the JSON API.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct TrialRequest {
    pub name: String,
    pub company: Option<String>,
    pub street: String,
    pub postal_code: String,
    pub city: String,
    pub phone: String,
    pub email: String,
}

/// A valid sign-up.
#[derive(Debug, Clone)]
pub struct NewTrial {
    pub name: String,
    pub company: Option<String>,
    pub street: String,
    pub postal_code: String,
    pub city: String,
    pub phone: String,
    pub email: EmailAddress,
}

impl NewTrial {
    pub fn parse(request: &TrialRequest) -> Result<NewTrial, FieldErrors> {
        let mut errors = FieldErrors::default();
        let mut text = |field: &'static str, result: Result<String, &'static str>| {
            result.map_err(|message| errors.add(field, message)).unwrap_or_default()
        };
        let name = text("name", required_text(&request.name, 120));
        let company = text("company", optional_text(request.company.as_deref().unwrap_or(""), 160));
        let street = text("street", required_text(&request.street, 160));
        let postal_code = text("postal_code", required_text(&request.postal_code, 10));
        let city = text("city", required_text(&request.city, 100));
        let phone = text("phone", required_text(&request.phone, 40));
        let postal_code_ok = postal_code.len() == 5 && postal_code.bytes().all(|b| b.is_ascii_digit());
        if !postal_code.is_empty() && !postal_code_ok {
            errors.add("postal_code", "Bitte geben Sie eine fünfstellige Postleitzahl an.");
        }
        let phone_digits = phone.chars().filter(char::is_ascii_digit).count();
        let phone_chars_ok = phone.chars().all(|c| c.is_ascii_digit() || " +-/()".contains(c));
        if !phone.is_empty() && (phone_digits < 6 || !phone_chars_ok) {
            errors.add("phone", "Bitte geben Sie eine Telefonnummer wie 030 1234567 an.");
        }
        let email = EmailAddress::parse(&request.email).map_err(|message| errors.add("email", message)).ok();
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(NewTrial {
            name,
            company: Some(company).filter(|c| !c.is_empty()),
            street,
            postal_code,
            city,
            phone,
            email: email.expect("checked"),
        })
    }

    fn slug_source(&self) -> &str {
        self.company.as_deref().unwrap_or(&self.name)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SignupError {
    #[error("this e-mail address already has a portal")]
    EmailTaken,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("no free slug for this name")]
    NoSlug,
    #[error("too many sign-ups from this address")]
    TooMany,
}

/// The instant a trial that starts now ends: midnight, Europe/Berlin, after the
/// trial's last day (a trial begun on 1 March with 30 days ends at the start of 31 March).
pub fn trial_end(start: i64, days: i64) -> i64 {
    tenant_app::calendar::days_later_at_midnight(start, days)
}

/// Records a new trial tenant in state `requested`, with its own keys and a
/// free slug. Provisioning is a separate step.
pub async fn record_trial(app: &AppState, trial: &NewTrial) -> Result<Tenant, SignupError> {
    let taken: Option<String> = sqlx::query_scalar("SELECT id FROM tenants WHERE email = $1")
        .bind(trial.email.as_str())
        .fetch_optional(app.db.pool())
        .await?;
    if taken.is_some() {
        return Err(SignupError::EmailTaken);
    }
    let tenant_key = Key::generate();
    let session_key = Key::generate();
    let id = new_id();
    let now = app.clock.timestamp();
    for slug in Slug::candidates(trial.slug_source()).take(100) {
        let inserted = sqlx::query(
            "INSERT INTO tenants (id, slug, name, company, street, postal_code, city, phone, email, status, provision_step, \
               plan, trial_ends_at, wrapped_key, session_key_enc, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
        )
        .bind(&id)
        .bind(slug.as_str())
        .bind(&trial.name)
        .bind(&trial.company)
        .bind(&trial.street)
        .bind(&trial.postal_code)
        .bind(&trial.city)
        .bind(&trial.phone)
        .bind(trial.email.as_str())
        .bind(TenantStatus::Requested.as_str())
        .bind(ProvisionStep::None.as_str())
        .bind("trial")
        .bind(trial_end(now, app.config.trial_days))
        .bind(app.master_key.wrap(&tenant_key))
        .bind(tenant_key.seal(session_key.to_base64().as_bytes()))
        .bind(now)
        .bind(now)
        .execute(app.db.pool())
        .await;
        match inserted {
            Ok(_) => {
                tenants::assign_customer_number(&app.db, &id).await?;
                tenants::record_event(&app.db, &id, "requested", "Testzugang beantragt.").await?;
                app.audit(trial.email.as_str(), "signup", &format!("tenant:{id} {}", slug.as_str())).await?;
                return tenants::find(&app.db, &id).await?.ok_or(SignupError::Database(sqlx::Error::RowNotFound));
            }
            Err(err) if is_unique_violation(&err) => {
                let taken: Option<String> = sqlx::query_scalar("SELECT id FROM tenants WHERE email = $1")
                    .bind(trial.email.as_str())
                    .fetch_optional(app.db.pool())
                    .await?;
                if taken.is_some() {
                    return Err(SignupError::EmailTaken);
                }
                // The slug was taken: try the next candidate.
            }
            Err(err) => return Err(err.into()),
        }
    }
    Err(SignupError::NoSlug)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> TrialRequest {
        TrialRequest {
            name: "Erika Muster".into(),
            company: Some("Muster Versicherungsmakler".into()),
            street: "Hauptstr. 1".into(),
            postal_code: "10115".into(),
            city: "Berlin".into(),
            phone: "030 1234567".into(),
            email: "Erika@Example.de".into(),
        }
    }

    #[test]
    fn a_complete_request_parses() {
        let trial = NewTrial::parse(&request()).unwrap();
        assert_eq!(trial.email.as_str(), "erika@example.de");
        assert_eq!(trial.slug_source(), "Muster Versicherungsmakler");
        let trial = NewTrial::parse(&TrialRequest { company: Some(" ".into()), ..request() }).unwrap();
        assert_eq!(trial.company, None);
        assert_eq!(trial.slug_source(), "Erika Muster");
    }

    #[test]
    fn every_bad_field_is_reported() {
        let errors = NewTrial::parse(&TrialRequest {
            name: "".into(),
            postal_code: "1011".into(),
            phone: "abc".into(),
            email: "nope".into(),
            ..request()
        })
        .unwrap_err();
        for field in ["name", "postal_code", "phone", "email"] {
            assert!(errors.get(field).is_some(), "{field}");
        }
        assert!(errors.get("city").is_none());
    }
}
