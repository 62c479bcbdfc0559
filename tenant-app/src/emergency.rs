//! The emergency folder (Notfallordner): the customer's own space for what
//! matters when they cannot act themselves, a trusted person who can ask for
//! access, a waiting period in which the customer can refuse, and a log of
//! every step that the customer can read.

use crate::db::{Db, new_id, now};
use crate::security::tokens::{random_token, token_hash};
use crate::values::EmailAddress;
use crate::web::FieldErrors;

/// The sections of the folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    PowerOfAttorney,
    LivingWill,
    CareDirective,
    Will,
    DigitalAccounts,
    EmergencyContacts,
    Instructions,
}

impl Section {
    pub const ALL: [Section; 7] = [
        Section::EmergencyContacts,
        Section::Instructions,
        Section::PowerOfAttorney,
        Section::LivingWill,
        Section::CareDirective,
        Section::Will,
        Section::DigitalAccounts,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Section::PowerOfAttorney => "vorsorgevollmacht",
            Section::LivingWill => "patientenverfuegung",
            Section::CareDirective => "betreuungsverfuegung",
            Section::Will => "testament",
            Section::DigitalAccounts => "digitale-konten",
            Section::EmergencyContacts => "notfallkontakte",
            Section::Instructions => "anleitung",
        }
    }

    pub fn parse(text: &str) -> Option<Section> {
        Section::ALL.into_iter().find(|s| s.as_str() == text)
    }

    pub fn title(self) -> &'static str {
        match self {
            Section::PowerOfAttorney => "Vorsorgevollmacht",
            Section::LivingWill => "Patientenverfügung",
            Section::CareDirective => "Betreuungsverfügung",
            Section::Will => "Testament",
            Section::DigitalAccounts => "Digitale Konten",
            Section::EmergencyContacts => "Notfallkontakte",
            Section::Instructions => "Anleitung für Bevollmächtigte",
        }
    }

    /// What belongs here, as a hint for the customer.
    pub fn hint(self) -> &'static str {
        match self {
            Section::PowerOfAttorney => "Wer darf für Sie entscheiden, und wo liegt das Original der Vollmacht?",
            Section::LivingWill => "Welche Behandlung wünschen Sie, welche nicht? Wo liegt die Verfügung?",
            Section::CareDirective => "Wen soll das Gericht als Betreuer bestellen, falls es nötig wird?",
            Section::Will => "Gibt es ein Testament, und wo wird es verwahrt (z. B. beim Amtsgericht)?",
            Section::DigitalAccounts => {
                "E-Mail, Bank, soziale Netzwerke: welche Konten gibt es, und was soll mit ihnen geschehen? Bitte keine Passwörter hier speichern, sondern wo sie zu finden sind."
            }
            Section::EmergencyContacts => {
                "Wer soll im Notfall sofort angerufen werden? Hausarzt, Angehörige, Arbeitgeber."
            }
            Section::Instructions => "Was soll Ihre Vertrauensperson Schritt für Schritt tun?",
        }
    }
}

pub const NOTES_MAX_CHARS: usize = 10_000;

/// The notes of every section of a customer's folder.
pub async fn notes(db: &Db, customer_id: &str) -> Result<Vec<(Section, String)>, sqlx::Error> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT section, notes FROM emergency_notes WHERE customer_id = $1")
            .bind(customer_id)
            .fetch_all(db.pool())
            .await?;
    Ok(Section::ALL
        .into_iter()
        .map(|section| {
            let text = rows.iter().find(|(s, _)| s == section.as_str()).map(|(_, n)| n.clone()).unwrap_or_default();
            (section, text)
        })
        .collect())
}

pub async fn save_notes(db: &Db, customer_id: &str, section: Section, notes: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO emergency_notes (customer_id, section, notes, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (customer_id, section) DO UPDATE SET notes = excluded.notes, updated_at = excluded.updated_at",
    )
    .bind(customer_id)
    .bind(section.as_str())
    .bind(notes)
    .bind(now())
    .execute(db.pool())
    .await?;
    Ok(())
}

/// The person the customer trusts with their folder in an emergency.
#[derive(Debug, Clone)]
pub struct TrustedPerson {
    pub customer_id: String,
    pub name: String,
    pub email: String,
    pub waiting_days: i64,
}

pub const DEFAULT_WAITING_DAYS: i64 = 7;

#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(default)]
pub struct TrustedPersonForm {
    pub name: String,
    pub email: String,
    pub waiting_days: String,
}

/// A valid trusted person.
#[derive(Debug, Clone)]
pub struct NewTrustedPerson {
    pub name: String,
    pub email: EmailAddress,
    pub waiting_days: i64,
}

impl NewTrustedPerson {
    pub fn parse(form: &TrustedPersonForm) -> Result<NewTrustedPerson, FieldErrors> {
        let mut errors = FieldErrors::default();
        let name = crate::values::required_line(&form.name, 120).map_err(|m| errors.add("name", m)).unwrap_or_default();
        let email = EmailAddress::parse(&form.email).map_err(|m| errors.add("email", m)).ok();
        let waiting_days = match form.waiting_days.trim() {
            "" => Some(DEFAULT_WAITING_DAYS),
            days => days.parse::<i64>().ok().filter(|d| (1..=60).contains(d)),
        };
        if waiting_days.is_none() {
            errors.add("waiting_days", "Bitte eine Wartezeit von 1 bis 60 Tagen angeben.");
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(NewTrustedPerson { name, email: email.expect("checked"), waiting_days: waiting_days.expect("checked") })
    }
}

pub async fn trusted_person(db: &Db, customer_id: &str) -> Result<Option<TrustedPerson>, sqlx::Error> {
    let row: Option<(String, String, i64)> =
        sqlx::query_as("SELECT name, email, waiting_days FROM trusted_persons WHERE customer_id = $1")
            .bind(customer_id)
            .fetch_optional(db.pool())
            .await?;
    Ok(row.map(|(name, email, waiting_days)| TrustedPerson {
        customer_id: customer_id.to_owned(),
        name,
        email,
        waiting_days,
    }))
}

/// Names (or replaces) the trusted person. Returns the token of their link;
/// any earlier link and any open request end here.
pub async fn set_trusted_person(db: &Db, customer_id: &str, person: &NewTrustedPerson) -> Result<String, sqlx::Error> {
    let token = random_token();
    let now = now();
    let mut tx = db.pool().begin().await?;
    sqlx::query("UPDATE emergency_requests SET closed_at = $1 WHERE customer_id = $2 AND closed_at IS NULL")
        .bind(now)
        .bind(customer_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO trusted_persons (customer_id, name, email, waiting_days, token_hash, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (customer_id) DO UPDATE SET name = excluded.name, email = excluded.email, \
           waiting_days = excluded.waiting_days, token_hash = excluded.token_hash, created_at = excluded.created_at",
    )
    .bind(customer_id)
    .bind(&person.name)
    .bind(person.email.as_str())
    .bind(person.waiting_days)
    .bind(token_hash(&token))
    .bind(now)
    .execute(&mut *tx)
    .await?;
    log_in_tx(&mut tx, customer_id, "trusted_person_named", &format!("{} <{}>", person.name, person.email)).await?;
    tx.commit().await?;
    Ok(token)
}

pub async fn remove_trusted_person(db: &Db, customer_id: &str) -> Result<(), sqlx::Error> {
    let now = now();
    let mut tx = db.pool().begin().await?;
    sqlx::query("UPDATE emergency_requests SET closed_at = $1 WHERE customer_id = $2 AND closed_at IS NULL")
        .bind(now)
        .bind(customer_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM trusted_persons WHERE customer_id = $1").bind(customer_id).execute(&mut *tx).await?;
    log_in_tx(&mut tx, customer_id, "trusted_person_removed", "").await?;
    tx.commit().await
}

/// The trusted person a link token belongs to.
pub async fn trusted_person_by_token(db: &Db, token: &str) -> Result<Option<TrustedPerson>, sqlx::Error> {
    let row: Option<(String, String, String, i64)> =
        sqlx::query_as("SELECT customer_id, name, email, waiting_days FROM trusted_persons WHERE token_hash = $1")
            .bind(token_hash(token))
            .fetch_optional(db.pool())
            .await?;
    Ok(row.map(|(customer_id, name, email, waiting_days)| TrustedPerson { customer_id, name, email, waiting_days }))
}

/// A request for access and where it stands.
#[derive(Debug, Clone)]
pub struct Request {
    pub id: String,
    pub requested_at: i64,
    pub grant_at: i64,
    pub refused_at: Option<i64>,
    pub granted_at: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestState {
    /// Waiting: the customer can still refuse.
    Waiting,
    Refused,
    /// The waiting period passed without refusal: read-only access.
    Granted,
}

impl Request {
    pub fn state(&self, now: i64) -> RequestState {
        if self.refused_at.is_some() {
            RequestState::Refused
        } else if now >= self.grant_at {
            RequestState::Granted
        } else {
            RequestState::Waiting
        }
    }
}

type RequestRow = (String, i64, i64, Option<i64>, Option<i64>);

/// The newest request that belongs to the current trusted person.
pub async fn current_request(db: &Db, customer_id: &str) -> Result<Option<Request>, sqlx::Error> {
    let row: Option<RequestRow> = sqlx::query_as(
        "SELECT id, requested_at, grant_at, refused_at, granted_at FROM emergency_requests \
         WHERE customer_id = $1 AND closed_at IS NULL ORDER BY requested_at DESC, id DESC LIMIT 1",
    )
    .bind(customer_id)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.map(|(id, requested_at, grant_at, refused_at, granted_at)| Request {
        id,
        requested_at,
        grant_at,
        refused_at,
        granted_at,
    }))
}

/// Records a request for access; access starts after the waiting period.
pub async fn request_access(db: &Db, person: &TrustedPerson) -> Result<Request, sqlx::Error> {
    let now = now();
    let request = Request {
        id: new_id(),
        requested_at: now,
        grant_at: now + person.waiting_days * 24 * 3600,
        refused_at: None,
        granted_at: None,
    };
    let mut tx = db.pool().begin().await?;
    sqlx::query("INSERT INTO emergency_requests (id, customer_id, requested_at, grant_at) VALUES ($1, $2, $3, $4)")
        .bind(&request.id)
        .bind(&person.customer_id)
        .bind(request.requested_at)
        .bind(request.grant_at)
        .execute(&mut *tx)
        .await?;
    log_in_tx(&mut tx, &person.customer_id, "access_requested", &person.name).await?;
    tx.commit().await?;
    Ok(request)
}

/// The customer refuses a waiting request. Returns false if there was none.
pub async fn refuse(db: &Db, customer_id: &str) -> Result<bool, sqlx::Error> {
    let now = now();
    let mut tx = db.pool().begin().await?;
    let refused = sqlx::query(
        "UPDATE emergency_requests SET refused_at = $1 \
         WHERE customer_id = $2 AND closed_at IS NULL AND refused_at IS NULL AND grant_at > $3",
    )
    .bind(now)
    .bind(customer_id)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if refused > 0 {
        log_in_tx(&mut tx, customer_id, "access_refused", "").await?;
    }
    tx.commit().await?;
    Ok(refused > 0)
}

/// The customer ends access that was granted (the emergency is over).
pub async fn end_access(db: &Db, customer_id: &str) -> Result<(), sqlx::Error> {
    let now = now();
    let mut tx = db.pool().begin().await?;
    sqlx::query("UPDATE emergency_requests SET closed_at = $1 WHERE customer_id = $2 AND closed_at IS NULL")
        .bind(now)
        .bind(customer_id)
        .execute(&mut *tx)
        .await?;
    log_in_tx(&mut tx, customer_id, "access_ended", "").await?;
    tx.commit().await
}

/// Notes that the trusted person opened the folder (the first time: access granted).
pub async fn record_view(db: &Db, customer_id: &str, request: &Request, what: &str) -> Result<(), sqlx::Error> {
    let mut tx = db.pool().begin().await?;
    if request.granted_at.is_none() {
        sqlx::query("UPDATE emergency_requests SET granted_at = $1 WHERE id = $2")
            .bind(now())
            .bind(&request.id)
            .execute(&mut *tx)
            .await?;
        log_in_tx(&mut tx, customer_id, "access_granted", "").await?;
    }
    log_in_tx(&mut tx, customer_id, "folder_viewed", what).await?;
    tx.commit().await
}

/// Appends to the customer's log.
pub async fn log(db: &Db, customer_id: &str, event: &str, detail: &str) -> Result<(), sqlx::Error> {
    let mut tx = db.pool().begin().await?;
    log_in_tx(&mut tx, customer_id, event, detail).await?;
    tx.commit().await
}

async fn log_in_tx(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    customer_id: &str,
    event: &str,
    detail: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO emergency_log (id, customer_id, at, event, detail) VALUES ($1, $2, $3, $4, $5)")
        .bind(new_id())
        .bind(customer_id)
        .bind(now())
        .bind(event)
        .bind(detail)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// One line of the log, for the customer.
#[derive(Debug, Clone)]
pub struct LogEntry {
    pub at: i64,
    pub event: String,
    pub detail: String,
}

impl LogEntry {
    /// What happened, in German (the page translates it).
    pub fn event_label(&self) -> &'static str {
        match self.event.as_str() {
            "trusted_person_named" => "Vertrauensperson benannt",
            "trusted_person_removed" => "Vertrauensperson entfernt",
            "invitation_sent" => "Vertrauensperson per E-Mail informiert",
            "access_requested" => "Notfallzugang angefordert",
            "customer_notified" => "Sie wurden per E-Mail benachrichtigt",
            "access_refused" => "Sie haben den Zugang abgelehnt",
            "access_granted" => "Zugang nach Ablauf der Wartezeit freigegeben",
            "folder_viewed" => "Notfallordner angesehen",
            "access_ended" => "Sie haben den Zugang beendet",
            _ => "Eintrag",
        }
    }
}

pub async fn log_entries(db: &Db, customer_id: &str) -> Result<Vec<LogEntry>, sqlx::Error> {
    let rows: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT at, event, detail FROM emergency_log WHERE customer_id = $1 ORDER BY at DESC, id DESC LIMIT 200",
    )
    .bind(customer_id)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(|(at, event, detail)| LogEntry { at, event, detail }).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_wait_then_grant_unless_refused() {
        let request = Request { id: "r".into(), requested_at: 0, grant_at: 100, refused_at: None, granted_at: None };
        assert_eq!(request.state(99), RequestState::Waiting);
        assert_eq!(request.state(100), RequestState::Granted);
        let refused = Request { refused_at: Some(50), ..request };
        assert_eq!(refused.state(1000), RequestState::Refused);
    }

    #[test]
    fn trusted_person_form_is_checked() {
        let person = NewTrustedPerson::parse(&TrustedPersonForm {
            name: "Eva".into(),
            email: "eva@example.de".into(),
            waiting_days: "".into(),
        })
        .unwrap();
        assert_eq!(person.waiting_days, DEFAULT_WAITING_DAYS);
        let errors = NewTrustedPerson::parse(&TrustedPersonForm {
            name: "".into(),
            email: "x".into(),
            waiting_days: "0".into(),
        })
        .unwrap_err();
        for field in ["name", "email", "waiting_days"] {
            assert!(errors.get(field).is_some(), "{field}");
        }
    }
}
