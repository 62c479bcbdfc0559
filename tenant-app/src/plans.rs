//! Plans and the limits they set on a portal. Prices are the control plane's
//! business; a portal only needs to know what it may hold.

/// A tenant's plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Plan {
    /// The 30-day trial: every feature, no limits.
    Trial,
    PayPerUse,
    PremiumStarter,
    Premium,
}

/// What a plan allows; `None` is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Limits {
    pub max_contacts: Option<i64>,
    pub max_stored_bytes: Option<i64>,
}

const GIB: i64 = 1024 * 1024 * 1024;

impl Plan {
    pub fn parse(text: &str) -> Option<Plan> {
        match text {
            "trial" => Some(Plan::Trial),
            "pay_per_use" => Some(Plan::PayPerUse),
            "premium_starter" => Some(Plan::PremiumStarter),
            "premium" => Some(Plan::Premium),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Trial => "trial",
            Plan::PayPerUse => "pay_per_use",
            Plan::PremiumStarter => "premium_starter",
            Plan::Premium => "premium",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Plan::Trial => "Testphase",
            Plan::PayPerUse => "Pay-per-Use",
            Plan::PremiumStarter => "PREMIUMstarter",
            Plan::Premium => "PREMIUM",
        }
    }

    pub fn limits(self) -> Limits {
        match self {
            Plan::Trial | Plan::PayPerUse => Limits { max_contacts: None, max_stored_bytes: None },
            Plan::PremiumStarter => Limits { max_contacts: Some(100), max_stored_bytes: Some(GIB) },
            Plan::Premium => Limits { max_contacts: Some(1000), max_stored_bytes: Some(25 * GIB) },
        }
    }

    /// Whether the plan includes integrations with other systems.
    pub fn integrations(self) -> bool {
        matches!(self, Plan::Trial | Plan::PremiumStarter | Plan::Premium)
    }

    /// What to tell someone who hit a limit of this plan.
    pub fn upgrade_hint(self) -> &'static str {
        match self {
            Plan::PremiumStarter => "Wechseln Sie in den Tarif PREMIUM (bis 1.000 Kontakte, 25 GB) oder Pay-per-Use.",
            Plan::Premium => "Wechseln Sie in den Tarif Pay-per-Use, der keine Obergrenze hat.",
            Plan::Trial | Plan::PayPerUse => "",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_follow_the_plans() {
        assert_eq!(Plan::PremiumStarter.limits().max_contacts, Some(100));
        assert_eq!(Plan::PremiumStarter.limits().max_stored_bytes, Some(1024 * 1024 * 1024));
        assert_eq!(Plan::Premium.limits().max_contacts, Some(1000));
        assert_eq!(Plan::Premium.limits().max_stored_bytes, Some(25 * 1024 * 1024 * 1024));
        assert_eq!(Plan::PayPerUse.limits().max_contacts, None);
        assert!(!Plan::PayPerUse.integrations());
        for plan in [Plan::Trial, Plan::PayPerUse, Plan::PremiumStarter, Plan::Premium] {
            assert_eq!(Plan::parse(plan.as_str()), Some(plan));
        }
    }
}
