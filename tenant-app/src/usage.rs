//! What a portal uses (contacts, stored bytes) and whether the plan allows more.

use crate::db::Db;
use crate::plans::Plan;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Usage {
    pub contacts: i64,
    pub stored_bytes: i64,
}

pub async fn measure(db: &Db) -> Result<Usage, sqlx::Error> {
    Ok(Usage {
        contacts: crate::customers::contact_count(db).await?,
        stored_bytes: crate::documents::stored_bytes(db).await?,
    })
}

fn gigabytes(bytes: i64) -> String {
    let gib = bytes as f64 / (1024.0 * 1024.0 * 1024.0);
    if gib >= 1.0 { format!("{gib:.0} GB") } else { format!("{:.0} MB", bytes as f64 / (1024.0 * 1024.0)) }
}

/// `Err` with a sentence for the broker when one more contact exceeds the plan.
pub fn check_new_contact(plan: Plan, usage: Usage) -> Result<(), String> {
    match plan.limits().max_contacts {
        Some(max) if usage.contacts >= max => Err(format!(
            "Ihr Tarif {} umfasst bis zu {max} Kontakte, und alle sind belegt. Archivieren Sie Kunden, die Sie nicht mehr \
             betreuen, oder ändern Sie Ihren Tarif im Bereich Abrechnung. {}",
            plan.label(),
            plan.upgrade_hint()
        )),
        _ => Ok(()),
    }
}

/// `Err` with a sentence when storing `adding` more bytes exceeds the plan.
pub fn check_storage(plan: Plan, usage: Usage, adding: i64) -> Result<(), String> {
    match plan.limits().max_stored_bytes {
        Some(max) if usage.stored_bytes + adding > max => Err(format!(
            "Der Speicherplatz Ihres Tarifs {} ({}) reicht dafür nicht: belegt sind {}. Löschen Sie nicht mehr benötigte \
             Dokumente oder ändern Sie Ihren Tarif. {}",
            plan.label(),
            gigabytes(max),
            gigabytes(usage.stored_bytes),
            plan.upgrade_hint()
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_refuse_exactly_past_the_plan() {
        let at = |contacts, stored_bytes| Usage { contacts, stored_bytes };
        assert!(check_new_contact(Plan::PremiumStarter, at(99, 0)).is_ok());
        let refusal = check_new_contact(Plan::PremiumStarter, at(100, 0)).unwrap_err();
        assert!(refusal.contains("100 Kontakte") && refusal.contains("PREMIUM"));
        assert!(check_new_contact(Plan::PayPerUse, at(1_000_000, 0)).is_ok());
        let gib = 1024 * 1024 * 1024;
        assert!(check_storage(Plan::PremiumStarter, at(0, gib - 10), 10).is_ok());
        assert!(check_storage(Plan::PremiumStarter, at(0, gib - 10), 11).is_err());
        assert!(check_storage(Plan::Premium, at(0, 24 * gib), gib).is_ok());
        assert!(check_storage(Plan::Trial, at(0, 100 * gib), gib).is_ok());
    }
}
