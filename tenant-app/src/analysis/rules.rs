//! The broker's rules: which Sparte is recommended in which situation of life,
//! with the text the customer reads about it and when a contract is due for a review.

use super::profile::{Employment, Household, Housing, Profile};
use crate::db::{Db, new_id};
use crate::web::FieldErrors;

/// A situation in life that calls for a line of insurance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Situation {
    Always,
    Earning,
    SelfEmployed,
    Partner,
    Children,
    Owner,
    Tenant,
    Car,
    Pet,
}

impl Situation {
    pub const ALL: [Situation; 9] = [
        Situation::Always,
        Situation::Earning,
        Situation::SelfEmployed,
        Situation::Partner,
        Situation::Children,
        Situation::Owner,
        Situation::Tenant,
        Situation::Car,
        Situation::Pet,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Situation::Always => "always",
            Situation::Earning => "earning",
            Situation::SelfEmployed => "self_employed",
            Situation::Partner => "partner",
            Situation::Children => "children",
            Situation::Owner => "owner",
            Situation::Tenant => "tenant",
            Situation::Car => "car",
            Situation::Pet => "pet",
        }
    }

    pub fn parse(text: &str) -> Option<Situation> {
        Situation::ALL.into_iter().find(|s| s.as_str() == text)
    }

    pub fn label(self) -> &'static str {
        match self {
            Situation::Always => "für alle",
            Situation::Earning => "wer ein Einkommen hat",
            Situation::SelfEmployed => "Selbstständige",
            Situation::Partner => "mit Partner oder Familie",
            Situation::Children => "mit Kindern",
            Situation::Owner => "Eigentümer einer Immobilie",
            Situation::Tenant => "Mieter",
            Situation::Car => "mit Auto",
            Situation::Pet => "mit Haustier",
        }
    }

    pub(super) fn applies_to(self, profile: &Profile) -> bool {
        match self {
            Situation::Always => true,
            Situation::Earning => {
                matches!(profile.employment, Employment::Employed | Employment::SelfEmployed | Employment::CivilServant)
            }
            Situation::SelfEmployed => profile.employment == Employment::SelfEmployed,
            Situation::Partner => profile.household != Household::Single,
            Situation::Children => profile.children > 0,
            Situation::Owner => profile.housing == Housing::Owner,
            Situation::Tenant => profile.housing == Housing::Tenant,
            Situation::Car => profile.has_car,
            Situation::Pet => profile.has_pet,
        }
    }
}

/// One of the broker's rules.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub sparte_id: String,
    pub sparte_name: String,
    pub situation: Situation,
    pub text: String,
    pub review_after_years: Option<i64>,
}

/// The rule form as submitted.
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(default)]
pub struct RuleForm {
    pub sparte_id: String,
    pub situation: String,
    pub text: String,
    pub review_after_years: String,
}

/// A valid rule (its Sparte's existence is checked when it is saved).
#[derive(Debug, Clone)]
pub struct NewRule {
    pub sparte_id: String,
    pub situation: Situation,
    pub text: String,
    pub review_after_years: Option<i64>,
}

impl NewRule {
    pub fn parse(form: &RuleForm) -> Result<NewRule, FieldErrors> {
        let mut errors = FieldErrors::default();
        if form.sparte_id.trim().is_empty() {
            errors.add("sparte_id", "Bitte wählen Sie eine Sparte.");
        }
        let situation = Situation::parse(&form.situation);
        if situation.is_none() {
            errors.add("situation", "Bitte wählen Sie, für wen die Sparte empfohlen wird.");
        }
        let text =
            crate::values::required_text(&form.text, 2000).map_err(|m| errors.add("text", m)).unwrap_or_default();
        let review_after_years = match form.review_after_years.trim() {
            "" => None,
            years => match years.parse::<i64>() {
                Ok(n) if (1..=50).contains(&n) => Some(n),
                _ => {
                    errors.add("review_after_years", "Bitte eine Zahl von 1 bis 50, oder leer lassen.");
                    None
                }
            },
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(NewRule {
            sparte_id: form.sparte_id.trim().to_owned(),
            situation: situation.expect("checked"),
            text,
            review_after_years,
        })
    }
}

pub async fn rules(db: &Db) -> Result<Vec<Rule>, sqlx::Error> {
    let rows: Vec<(String, String, String, String, String, Option<i64>)> = sqlx::query_as(
        "SELECT r.id, r.sparte_id, s.name, r.situation, r.text, r.review_after_years \
         FROM analysis_rules r JOIN sparten s ON s.id = r.sparte_id ORDER BY r.position, s.position, r.id",
    )
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, sparte_id, sparte_name, situation, text, review_after_years)| Rule {
            id,
            sparte_id,
            sparte_name,
            situation: Situation::parse(&situation).unwrap_or(Situation::Always),
            text,
            review_after_years,
        })
        .collect())
}

pub async fn add_rule(db: &Db, rule: &NewRule) -> Result<String, sqlx::Error> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO analysis_rules (id, sparte_id, situation, text, review_after_years, position) \
         VALUES ($1, $2, $3, $4, $5, (SELECT COALESCE(MAX(position), -1) + 1 FROM analysis_rules))",
    )
    .bind(&id)
    .bind(&rule.sparte_id)
    .bind(rule.situation.as_str())
    .bind(&rule.text)
    .bind(rule.review_after_years)
    .execute(db.pool())
    .await?;
    Ok(id)
}

pub async fn update_rule(db: &Db, id: &str, rule: &NewRule) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE analysis_rules SET sparte_id = $1, situation = $2, text = $3, review_after_years = $4 WHERE id = $5",
    )
    .bind(&rule.sparte_id)
    .bind(rule.situation.as_str())
    .bind(&rule.text)
    .bind(rule.review_after_years)
    .bind(id)
    .execute(db.pool())
    .await?;
    Ok(result.rows_affected() == 1)
}

pub async fn delete_rule(db: &Db, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM analysis_rules WHERE id = $1").bind(id).execute(db.pool()).await?;
    Ok(())
}
