//! The needs analysis (Handlungsbedarf): from what a customer tells about
//! their situation and the contracts the broker keeps for them, which
//! recommended lines are covered, missing or worth a review. Which line is
//! recommended when, and what the customer reads about it, are the broker's rules.

use chrono::{Datelike, NaiveDate};

use crate::contracts::{Contract, ContractStatus};
use crate::db::{Db, new_id, now};
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

    fn applies_to(self, profile: &Profile) -> bool {
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

macro_rules! choice {
    ($name:ident { $($variant:ident = $key:literal : $label:literal),* $(,)? }) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name { $($variant),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $key),* }
            }

            pub fn parse(text: &str) -> Option<$name> {
                match text { $($key => Some($name::$variant),)* _ => None }
            }

            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),* }
            }
        }
    };
}

choice!(Household { Single = "single": "allein", Couple = "couple": "mit Partner/in", Family = "family": "als Familie" });
choice!(Employment {
    Employed = "employed": "angestellt",
    SelfEmployed = "self_employed": "selbstständig",
    CivilServant = "civil_servant": "verbeamtet",
    Student = "student": "in Ausbildung oder Studium",
    Retired = "retired": "im Ruhestand",
    NotWorking = "not_working": "derzeit ohne Erwerbstätigkeit",
});
choice!(Housing { Tenant = "tenant": "zur Miete", Owner = "owner": "im Eigentum" });

/// What a customer told about their situation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub household: Household,
    pub children: i64,
    pub employment: Employment,
    pub housing: Housing,
    pub has_car: bool,
    pub has_pet: bool,
}

/// The profile form as submitted.
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(default)]
pub struct ProfileForm {
    pub household: String,
    pub children: String,
    pub employment: String,
    pub housing: String,
    pub has_car: String,
    pub has_pet: String,
}

impl ProfileForm {
    pub fn of(profile: &Profile) -> ProfileForm {
        ProfileForm {
            household: profile.household.as_str().into(),
            children: profile.children.to_string(),
            employment: profile.employment.as_str().into(),
            housing: profile.housing.as_str().into(),
            has_car: if profile.has_car { "1" } else { "0" }.into(),
            has_pet: if profile.has_pet { "1" } else { "0" }.into(),
        }
    }
}

impl Profile {
    pub fn parse(form: &ProfileForm) -> Result<Profile, FieldErrors> {
        let mut errors = FieldErrors::default();
        let household = Household::parse(&form.household);
        if household.is_none() {
            errors.add("household", "Bitte wählen Sie, wie Sie leben.");
        }
        let children = form.children.trim().parse::<i64>().ok().filter(|n| (0..=20).contains(n));
        if children.is_none() {
            errors.add("children", "Bitte geben Sie eine Zahl zwischen 0 und 20 an.");
        }
        let employment = Employment::parse(&form.employment);
        if employment.is_none() {
            errors.add("employment", "Bitte wählen Sie Ihre berufliche Situation.");
        }
        let housing = Housing::parse(&form.housing);
        if housing.is_none() {
            errors.add("housing", "Bitte wählen Sie, wie Sie wohnen.");
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Profile {
            household: household.expect("checked"),
            children: children.expect("checked"),
            employment: employment.expect("checked"),
            housing: housing.expect("checked"),
            has_car: form.has_car == "1",
            has_pet: form.has_pet == "1",
        })
    }
}

pub async fn profile(db: &Db, customer_id: &str) -> Result<Option<Profile>, sqlx::Error> {
    let row: Option<(String, i64, String, String, i64, i64)> = sqlx::query_as(
        "SELECT household, children, employment, housing, has_car, has_pet FROM customer_profiles WHERE customer_id = $1",
    )
    .bind(customer_id)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.map(|(household, children, employment, housing, has_car, has_pet)| Profile {
        household: Household::parse(&household).unwrap_or(Household::Single),
        children,
        employment: Employment::parse(&employment).unwrap_or(Employment::Employed),
        housing: Housing::parse(&housing).unwrap_or(Housing::Tenant),
        has_car: has_car != 0,
        has_pet: has_pet != 0,
    }))
}

pub async fn save_profile(db: &Db, customer_id: &str, profile: &Profile) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO customer_profiles (customer_id, household, children, employment, housing, has_car, has_pet, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (customer_id) DO UPDATE SET household = excluded.household, children = excluded.children, \
           employment = excluded.employment, housing = excluded.housing, has_car = excluded.has_car, \
           has_pet = excluded.has_pet, updated_at = excluded.updated_at",
    )
    .bind(customer_id)
    .bind(profile.household.as_str())
    .bind(profile.children)
    .bind(profile.employment.as_str())
    .bind(profile.housing.as_str())
    .bind(i64::from(profile.has_car))
    .bind(i64::from(profile.has_pet))
    .bind(now())
    .execute(db.pool())
    .await?;
    Ok(())
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

/// The default rules, by Sparte name of the default catalog.
const DEFAULT_RULES: &[(&str, Situation, &str, Option<i64>)] = &[
    (
        "Haftpflicht",
        Situation::Always,
        "Wer einem anderen schadet, haftet mit seinem ganzen Vermögen, ein Leben lang. Eine Privathaftpflicht kostet wenig und gehört zu den wichtigsten Versicherungen überhaupt.",
        Some(5),
    ),
    (
        "Arbeitskraftabsicherung",
        Situation::Earning,
        "Ihre Arbeitskraft ist Ihr größtes Kapital. Jeder Vierte wird vor der Rente berufsunfähig; die gesetzliche Absicherung reicht dann meist nicht.",
        None,
    ),
    (
        "Hinterbliebenenvorsorge",
        Situation::Partner,
        "Wenn Ihnen etwas zustößt, sollen Partner und Kinder ihren Alltag weiter bezahlen können, auch einen laufenden Kredit.",
        None,
    ),
    (
        "Hinterbliebenenvorsorge",
        Situation::Children,
        "Kinder brauchen Sicherheit, bis sie auf eigenen Beinen stehen. Eine Risikolebensversicherung sorgt dafür zu kleinem Beitrag.",
        None,
    ),
    (
        "Altersvorsorge",
        Situation::Always,
        "Die gesetzliche Rente deckt nur einen Teil Ihres heutigen Einkommens. Je früher Sie vorsorgen, desto weniger müssen Sie monatlich zurücklegen.",
        Some(5),
    ),
    (
        "Verbundene Hausrat",
        Situation::Always,
        "Alles, was Sie bei einem Umzug mitnehmen würden, ist bei Einbruch, Feuer oder Leitungswasser schnell verloren.",
        Some(5),
    ),
    (
        "Verbundene Wohngebäude",
        Situation::Owner,
        "Für Eigentümer unverzichtbar: Feuer, Sturm oder ein Wasserschaden am Haus können die Existenz kosten. Denken Sie auch an Elementarschäden.",
        Some(5),
    ),
    (
        "Kraftfahrt",
        Situation::Car,
        "Die Kfz-Haftpflicht ist Pflicht; ob Teil- oder Vollkasko sinnvoll ist, hängt von Alter und Wert Ihres Fahrzeugs ab.",
        Some(3),
    ),
    (
        "Rechtsschutz",
        Situation::Always,
        "Ein Streit mit Vermieter, Arbeitgeber oder nach einem Unfall kann teuer werden. Rechtsschutz übernimmt Anwalts- und Gerichtskosten.",
        None,
    ),
    (
        "Kranken",
        Situation::SelfEmployed,
        "Als Selbstständige(r) zahlt Ihnen niemand das Einkommen weiter, wenn Sie krank sind: ein Krankentagegeld schließt diese Lücke.",
        None,
    ),
    (
        "Unfall",
        Situation::Children,
        "Kinder sind in der Freizeit nicht gesetzlich unfallversichert. Eine Unfallversicherung hilft, wenn nach einem Unfall etwas zurückbleibt.",
        None,
    ),
    (
        "Tierkranken",
        Situation::Pet,
        "Eine Operation beim Tierarzt kostet schnell mehrere tausend Euro. Für Hunde ist außerdem eine Tierhalterhaftpflicht wichtig.",
        None,
    ),
];

/// Seeds the default rules once per portal (a flag in `settings` remembers it,
/// so a broker who deletes every rule does not get them back). Runs at every
/// start too, so portals made before the analysis existed get the rules.
pub async fn seed_default_rules(db: &Db) -> Result<(), sqlx::Error> {
    let mut tx = db.pool().begin().await?;
    let seeded: Option<String> = sqlx::query_scalar("SELECT value FROM settings WHERE key = 'analysis_rules_seeded'")
        .fetch_optional(&mut *tx)
        .await?;
    let catalog_size: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sparten").fetch_one(&mut *tx).await?;
    // Before the catalog exists there is nothing to point at; try again later.
    if seeded.is_some() || catalog_size == 0 {
        return Ok(());
    }
    for (position, (sparte, situation, text, review)) in DEFAULT_RULES.iter().enumerate() {
        let sparte_id: Option<String> =
            sqlx::query_scalar("SELECT id FROM sparten WHERE name = $1").bind(*sparte).fetch_optional(&mut *tx).await?;
        let Some(sparte_id) = sparte_id else { continue };
        sqlx::query(
            "INSERT INTO analysis_rules (id, sparte_id, situation, text, review_after_years, position) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(new_id())
        .bind(sparte_id)
        .bind(situation.as_str())
        .bind(*text)
        .bind(*review)
        .bind(position as i64)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query("INSERT INTO settings (key, value) VALUES ('analysis_rules_seeded', '1')").execute(&mut *tx).await?;
    tx.commit().await
}

/// Where a recommended line stands for a customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coverage {
    Covered,
    Missing,
    Review,
}

impl Coverage {
    pub fn as_str(self) -> &'static str {
        match self {
            Coverage::Covered => "covered",
            Coverage::Missing => "missing",
            Coverage::Review => "review",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Coverage::Covered => "abgesichert",
            Coverage::Missing => "fehlt",
            Coverage::Review => "prüfen",
        }
    }
}

/// One line of a customer's analysis.
#[derive(Debug, Clone)]
pub struct Finding {
    pub sparte_name: String,
    pub coverage: Coverage,
    /// Why, in the broker's words.
    pub text: String,
    /// The contract to review, for a `Review`.
    pub contract_id: Option<String>,
}

/// Applies the rules to a profile and contracts. A Sparte recommended by several
/// rules appears once, with the first applicable rule's text.
pub fn analyse(profile: &Profile, rules: &[Rule], contracts: &[Contract], today: NaiveDate) -> Vec<Finding> {
    let mut findings: Vec<Finding> = Vec::new();
    for rule in rules.iter().filter(|r| r.situation.applies_to(profile)) {
        if findings.iter().any(|f| f.sparte_name == rule.sparte_name) {
            continue;
        }
        let in_sparte: Vec<&Contract> = contracts
            .iter()
            .filter(|c| c.sparte_id == rule.sparte_id && c.status != ContractStatus::Cancelled)
            .collect();
        let active = in_sparte.iter().find(|c| c.status == ContractStatus::Active);
        let (coverage, contract_id) = match (active, in_sparte.first()) {
            (Some(contract), _) => {
                let outdated = rule.review_after_years.is_some_and(|years| {
                    let age = today.year()
                        - contract.start_date.year()
                        - i32::from(
                            (today.month(), today.day()) < (contract.start_date.month(), contract.start_date.day()),
                        );
                    i64::from(age) >= years
                });
                if outdated { (Coverage::Review, Some(contract.id.clone())) } else { (Coverage::Covered, None) }
            }
            // Only dormant contracts: there is something, but it needs a look.
            (None, Some(dormant)) => (Coverage::Review, Some(dormant.id.clone())),
            (None, None) => (Coverage::Missing, None),
        };
        findings.push(Finding {
            sparte_name: rule.sparte_name.clone(),
            coverage,
            text: rule.text.clone(),
            contract_id,
        });
    }
    // What needs action first.
    findings.sort_by_key(|f| match f.coverage {
        Coverage::Missing => 0,
        Coverage::Review => 1,
        Coverage::Covered => 2,
    });
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contracts::PaymentFrequency;
    use crate::values::Cents;

    fn rule(sparte: &str, situation: Situation, review: Option<i64>) -> Rule {
        Rule {
            id: sparte.into(),
            sparte_id: sparte.into(),
            sparte_name: sparte.into(),
            situation,
            text: format!("{sparte} text"),
            review_after_years: review,
        }
    }

    fn contract(sparte: &str, start: &str, status: ContractStatus) -> Contract {
        Contract {
            id: format!("{sparte}-contract"),
            customer_id: "c".into(),
            sparte_id: sparte.into(),
            sparte_name: sparte.into(),
            sparte_description: String::new(),
            produkt_id: None,
            produkt_name: None,
            produkt_description: None,
            insurer: "X".into(),
            policy_number: "1".into(),
            premium: Cents(100),
            frequency: PaymentFrequency::Monthly,
            start_date: NaiveDate::parse_from_str(start, "%Y-%m-%d").unwrap(),
            end_date: None,
            main_due_date: None,
            status,
            notes: String::new(),
        }
    }

    #[test]
    fn findings_follow_situation_and_contracts() {
        let profile = Profile {
            household: Household::Family,
            children: 2,
            employment: Employment::Employed,
            housing: Housing::Tenant,
            has_car: false,
            has_pet: false,
        };
        let rules = vec![
            rule("Haftpflicht", Situation::Always, Some(5)),
            rule("Hausrat", Situation::Always, Some(5)),
            rule("Wohngebäude", Situation::Owner, None),
            rule("BU", Situation::Earning, None),
            rule("Leben", Situation::Partner, None),
            rule("Leben", Situation::Children, None),
            rule("Kfz", Situation::Car, None),
        ];
        let contracts = vec![
            contract("Haftpflicht", "2024-06-01", ContractStatus::Active),
            contract("Hausrat", "2015-01-01", ContractStatus::Active),
            contract("BU", "2020-01-01", ContractStatus::Dormant),
        ];
        let today = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
        let findings = analyse(&profile, &rules, &contracts, today);
        let by_name = |name: &str| findings.iter().find(|f| f.sparte_name == name).map(|f| f.coverage);
        assert_eq!(by_name("Haftpflicht"), Some(Coverage::Covered));
        assert_eq!(by_name("Hausrat"), Some(Coverage::Review), "older than five years");
        assert_eq!(by_name("BU"), Some(Coverage::Review), "only a dormant contract");
        assert_eq!(by_name("Leben"), Some(Coverage::Missing));
        assert_eq!(findings.iter().filter(|f| f.sparte_name == "Leben").count(), 1, "once per Sparte");
        assert_eq!(by_name("Wohngebäude"), None, "tenants need no building insurance");
        assert_eq!(by_name("Kfz"), None);
        assert_eq!(findings[0].coverage, Coverage::Missing, "what needs action comes first");
    }

    #[test]
    fn profile_form_is_checked() {
        let errors = Profile::parse(&ProfileForm { children: "-1".into(), ..Default::default() }).unwrap_err();
        for field in ["household", "children", "employment", "housing"] {
            assert!(errors.get(field).is_some(), "{field}");
        }
        let profile = Profile::parse(&ProfileForm {
            household: "couple".into(),
            children: "0".into(),
            employment: "self_employed".into(),
            housing: "owner".into(),
            has_car: "1".into(),
            has_pet: "".into(),
        })
        .unwrap();
        assert!(profile.has_car && !profile.has_pet);
        assert_eq!(ProfileForm::of(&profile).employment, "self_employed");
    }
}
