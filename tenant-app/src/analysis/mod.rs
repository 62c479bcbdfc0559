//! The needs analysis (Handlungsbedarf): from what a customer tells about
//! their situation and the contracts the broker keeps for them, which
//! recommended lines are covered, missing or worth a review. Which line is
//! recommended when, and what the customer reads about it, are the broker's rules.
//!
//! `profile` is what the customer tells, `rules` what the broker recommends to
//! whom, `defaults` the rules a new portal starts with, and `evaluation` brings
//! the three together with the customer's contracts.

mod defaults;
mod evaluation;
mod profile;
mod rules;

pub use defaults::seed_default_rules;
pub use evaluation::{Coverage, Finding, analyse};
pub use profile::{Employment, Household, Housing, Profile, ProfileForm, profile, save_profile};
pub use rules::{NewRule, Rule, RuleForm, Situation, add_rule, delete_rule, rules, update_rule};
