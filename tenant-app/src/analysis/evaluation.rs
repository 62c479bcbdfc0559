//! The evaluation: the broker's rules applied to a customer's profile and
//! contracts, each recommended Sparte covered, missing or worth a review.

use chrono::{Datelike, NaiveDate};

use super::profile::Profile;
use super::rules::Rule;
use crate::contracts::{Contract, ContractStatus};

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
    use crate::analysis::{Employment, Household, Housing, Situation};
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
            sparte_code: None,
            sparte_description: String::new(),
            produkt_id: None,
            produkt_name: None,
            produkt_description: None,
            insurer: "X".into(),
            insurer_number: String::new(),
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
}
