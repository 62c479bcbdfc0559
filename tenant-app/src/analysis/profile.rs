//! What a customer tells about their situation: household, children, work,
//! housing, car and pet. Parsed from the profile form, kept one row per customer.

use crate::db::{Db, now};
use crate::web::FieldErrors;

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

#[cfg(test)]
mod tests {
    use super::*;

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
