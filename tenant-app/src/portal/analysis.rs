//! The needs analysis: the customer describes their situation and sees where
//! action is needed; the broker keeps the rules and the texts.

use axum::Extension;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::analysis::{
    self, Employment, Finding, Household, Housing, NewRule, Profile, ProfileForm, Rule, RuleForm, Situation,
};
use crate::catalog::{self, Sparte};
use crate::contracts;
use crate::portal::Portal;
use crate::portal::auth::{BrokerUser, CustomerUser, EmptyForm, SessionUser};
use crate::portal::layout::Layout;
use crate::security::csrf::{CsrfForm, CsrfToken};
use crate::web::{FieldErrors, PageError, render_with_status};

pub fn routes() -> Router<Portal> {
    Router::new()
        .route("/ordner/analyse", get(customer_analysis).post(save_profile))
        .route("/makler/analyse", get(rules_page).post(add_rule))
        .route("/makler/analyse/regeln/{id}", get(rule_page).post(update_rule))
        .route("/makler/analyse/regeln/{id}/loeschen", post(delete_rule))
}

/// A customer's findings, or `None` while they have not described their situation.
pub(super) async fn findings_for(portal: &Portal, customer_id: &str) -> Result<Option<Vec<Finding>>, PageError> {
    let Some(profile) = analysis::profile(portal.db(), customer_id).await? else {
        return Ok(None);
    };
    let rules = analysis::rules(portal.db()).await?;
    let contracts = contracts::for_customer(portal.db(), customer_id).await?;
    let today = crate::calendar::berlin_date(chrono::Utc::now());
    Ok(Some(analysis::analyse(&profile, &rules, &contracts, today)))
}

#[derive(askama::Template)]
#[template(path = "customer/analysis.html")]
struct AnalysisPage {
    layout: Layout,
    form: ProfileForm,
    errors: FieldErrors,
    findings: Option<Vec<Finding>>,
    households: &'static [Household],
    employments: &'static [Employment],
    housings: &'static [Housing],
}

impl AnalysisPage {
    /// A message to the broker about a finding, with the text prepared.
    fn message_link(&self, finding: &Finding) -> String {
        let (category, text) = match &finding.contract_id {
            Some(_) => {
                ("contract_question", format!("Bitte prüfen Sie meinen Vertrag in der Sparte {}.", finding.sparte_name))
            }
            None => {
                ("other", format!("Ich interessiere mich für eine Absicherung in der Sparte {}.", finding.sparte_name))
            }
        };
        let encode = |v: &str| url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
        let contract = finding.contract_id.as_deref().map(|id| format!("&vertrag={id}")).unwrap_or_default();
        format!("/ordner/nachrichten/neu?kategorie={category}{contract}&text={}", encode(&text))
    }
}

async fn show_analysis(
    portal: &Portal,
    customer: &CustomerUser,
    csrf: &CsrfToken,
    form: Option<ProfileForm>,
    errors: FieldErrors,
) -> Result<Response, PageError> {
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let stored = analysis::profile(portal.db(), &customer.customer_id).await?;
    let form = form
        .or_else(|| stored.as_ref().map(ProfileForm::of))
        .unwrap_or_else(|| ProfileForm { children: "0".into(), ..Default::default() });
    render_with_status(
        status,
        &AnalysisPage {
            layout: Layout::new(portal, csrf, Some(&customer.user)),
            form,
            errors,
            findings: findings_for(portal, &customer.customer_id).await?,
            households: Household::ALL,
            employments: Employment::ALL,
            housings: Housing::ALL,
        },
    )
}

async fn customer_analysis(
    State(portal): State<Portal>,
    customer: CustomerUser,
    Extension(csrf): Extension<CsrfToken>,
) -> Result<Response, PageError> {
    show_analysis(&portal, &customer, &csrf, None, FieldErrors::default()).await
}

async fn save_profile(
    State(portal): State<Portal>,
    customer: CustomerUser,
    Extension(csrf): Extension<CsrfToken>,
    CsrfForm(form): CsrfForm<ProfileForm>,
) -> Result<Response, PageError> {
    match Profile::parse(&form) {
        Ok(profile) => {
            analysis::save_profile(portal.db(), &customer.customer_id, &profile).await?;
            Ok(Redirect::to("/ordner/analyse#ergebnis").into_response())
        }
        Err(errors) => show_analysis(&portal, &customer, &csrf, Some(form), errors).await,
    }
}

#[derive(askama::Template)]
#[template(path = "broker/analysis_rules.html")]
struct RulesPage {
    layout: Layout,
    rules: Vec<Rule>,
    sparten: Vec<Sparte>,
    situations: [Situation; 9],
    form: RuleForm,
    errors: FieldErrors,
}

async fn show_rules(
    portal: &Portal,
    user: &SessionUser,
    csrf: &CsrfToken,
    form: RuleForm,
    errors: FieldErrors,
) -> Result<Response, PageError> {
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    render_with_status(
        status,
        &RulesPage {
            layout: Layout::new(portal, csrf, Some(user)),
            rules: analysis::rules(portal.db()).await?,
            sparten: catalog::list(portal.db()).await?,
            situations: Situation::ALL,
            form,
            errors,
        },
    )
}

async fn rules_page(
    State(portal): State<Portal>,
    BrokerUser(user): BrokerUser,
    Extension(csrf): Extension<CsrfToken>,
) -> Result<Response, PageError> {
    show_rules(
        &portal,
        &user,
        &csrf,
        RuleForm { situation: "always".into(), ..Default::default() },
        FieldErrors::default(),
    )
    .await
}

/// Parses a rule and checks that its Sparte exists.
async fn parse_rule(portal: &Portal, form: &RuleForm) -> Result<Result<NewRule, FieldErrors>, PageError> {
    let rule = match NewRule::parse(form) {
        Ok(rule) => rule,
        Err(errors) => return Ok(Err(errors)),
    };
    if catalog::find_sparte(portal.db(), &rule.sparte_id).await?.is_none() {
        let mut errors = FieldErrors::default();
        errors.add("sparte_id", "Diese Sparte gibt es nicht mehr.");
        return Ok(Err(errors));
    }
    Ok(Ok(rule))
}

async fn add_rule(
    State(portal): State<Portal>,
    BrokerUser(user): BrokerUser,
    Extension(csrf): Extension<CsrfToken>,
    CsrfForm(form): CsrfForm<RuleForm>,
) -> Result<Response, PageError> {
    match parse_rule(&portal, &form).await? {
        Ok(rule) => {
            analysis::add_rule(portal.db(), &rule).await?;
            Ok(Redirect::to("/makler/analyse").into_response())
        }
        Err(errors) => show_rules(&portal, &user, &csrf, form, errors).await,
    }
}

#[derive(askama::Template)]
#[template(path = "broker/analysis_rule.html")]
struct RulePage {
    layout: Layout,
    rule_id: String,
    sparten: Vec<Sparte>,
    situations: [Situation; 9],
    form: RuleForm,
    errors: FieldErrors,
}

async fn show_rule(
    portal: &Portal,
    user: &SessionUser,
    csrf: &CsrfToken,
    rule_id: String,
    form: RuleForm,
    errors: FieldErrors,
) -> Result<Response, PageError> {
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    render_with_status(
        status,
        &RulePage {
            layout: Layout::new(portal, csrf, Some(user)),
            rule_id,
            sparten: catalog::list(portal.db()).await?,
            situations: Situation::ALL,
            form,
            errors,
        },
    )
}

async fn load_rule(portal: &Portal, id: &str) -> Result<Rule, PageError> {
    analysis::rules(portal.db()).await?.into_iter().find(|r| r.id == id).ok_or(PageError::NotFound)
}

async fn rule_page(
    State(portal): State<Portal>,
    BrokerUser(user): BrokerUser,
    Extension(csrf): Extension<CsrfToken>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let rule = load_rule(&portal, &id).await?;
    let form = RuleForm {
        sparte_id: rule.sparte_id,
        situation: rule.situation.as_str().into(),
        text: rule.text,
        review_after_years: rule.review_after_years.map(|y| y.to_string()).unwrap_or_default(),
    };
    show_rule(&portal, &user, &csrf, id, form, FieldErrors::default()).await
}

async fn update_rule(
    State(portal): State<Portal>,
    BrokerUser(user): BrokerUser,
    Extension(csrf): Extension<CsrfToken>,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<RuleForm>,
) -> Result<Response, PageError> {
    load_rule(&portal, &id).await?;
    match parse_rule(&portal, &form).await? {
        Ok(rule) => {
            analysis::update_rule(portal.db(), &id, &rule).await?;
            Ok(Redirect::to("/makler/analyse").into_response())
        }
        Err(errors) => show_rule(&portal, &user, &csrf, id, form, errors).await,
    }
}

async fn delete_rule(
    State(portal): State<Portal>,
    BrokerUser(_): BrokerUser,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    load_rule(&portal, &id).await?;
    analysis::delete_rule(portal.db(), &id).await?;
    Ok(Redirect::to("/makler/analyse").into_response())
}
