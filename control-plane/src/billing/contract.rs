//! The software usage contract with the data processing agreement (AVV),
//! filled in with the broker's data from the operator's template and printed
//! as a PDF/A for the broker to sign (docs/billing.md, "Ordering").

use anyhow::Context;

use tenant_app::calendar::{berlin_date, format_date};
use tenant_app::plans::Plan;

use super::money::Cents;
use super::orders::Order;
use super::prices;
use crate::config::Pricing;
use crate::pdfa::layout::{Document, Flow, Frame, PAGE_HEIGHT, PAGE_WIDTH, TextStyle, mm};
use crate::pdfa::{self, FontStyle};
use crate::state::AppState;
use crate::tenants::Tenant;
/// What the plan costs, in the contract's words.
pub fn plan_terms(plan: Plan, pricing: &Pricing) -> String {
    match plan {
        Plan::PayPerUse => format!(
            "Monatliche Grundgebühr {} zuzüglich {} je Kontakt und Monat; abgerechnet wird die höchste Kontaktzahl im Monat.",
            Cents(pricing.pay_per_use_base_cents),
            Cents(pricing.pay_per_use_contact_cents)
        ),
        Plan::PremiumStarter => {
            format!("Monatlich {} für bis zu 100 Kontakte und 1 GB Speicher.", Cents(pricing.premium_starter_cents))
        }
        Plan::Premium => {
            format!("Monatlich {} für bis zu 1.000 Kontakte und 25 GB Speicher.", Cents(pricing.premium_cents))
        }
        Plan::Trial => String::new(),
    }
}

/// The usage contract with the data processing annex, filled in, as PDF/A.
/// The template is `billing.contract_template` (a text file: `# ` and `## `
/// start headings, blank lines separate paragraphs, `{name}` placeholders).
pub async fn contract_pdf(app: &AppState, tenant: &Tenant, order: &Order) -> anyhow::Result<Vec<u8>> {
    let template = match &app.config.billing.contract_template {
        Some(path) => tokio::fs::read_to_string(path).await.with_context(|| format!("reading {}", path.display()))?,
        None => include_str!("../../assets/contract-template.txt").to_owned(),
    };
    let month = prices::month_of(app.clock.berlin_today());
    let pricing = prices::for_period(&app.db, &month).await?;
    let settings = &app.config.billing;
    let whitelabel_terms = if order.whitelabel {
        format!(
            "Zusätzlich gebucht ist das Whitelabel-Paket (eigener Name, eigene Domain, keine Nennung des Anbieters gegenüber \
             Kunden): einmalig {}, monatlich {}.",
            Cents(pricing.whitelabel_setup_cents),
            Cents(pricing.whitelabel_monthly_cents)
        )
    } else {
        String::new()
    };
    let created = chrono::DateTime::from_timestamp(order.created_at, 0).unwrap_or_default();
    let values = [
        ("order_number", order.number()),
        ("date", format_date(&berlin_date(created))),
        ("operator_name", settings.seller_name.clone()),
        (
            "operator_address",
            format!("{}, {} {}", settings.seller_street, settings.seller_postcode, settings.seller_city),
        ),
        (
            "broker_name",
            tenant
                .company
                .clone()
                .filter(|c| !c.is_empty())
                .map_or(tenant.name.clone(), |c| format!("{c}, vertreten durch {}", tenant.name)),
        ),
        ("broker_address", format!("{}, {} {}", tenant.street, tenant.postal_code, tenant.city)),
        ("broker_email", tenant.email.clone()),
        ("portal_name", tenant.display_name().to_owned()),
        ("portal_url", app.hosts.tenant_url(&tenant.slug)),
        ("plan", order.plan.label().to_owned()),
        ("plan_terms", plan_terms(order.plan, &pricing)),
        ("whitelabel_terms", whitelabel_terms),
        ("setup_fee", Cents(pricing.setup_fee_cents).to_string()),
        ("payment_days", settings.payment_days.to_string()),
    ];
    let text = fill(&template, &values);
    Ok(render_text_document(
        &text,
        &format!("Softwarenutzungsvertrag {}", order.number()),
        &settings.seller_name,
        created,
    ))
}

/// Fills `{name}` placeholders in one pass: a value is inserted as one line of
/// text, never read again, so what a broker typed cannot become a heading, a
/// paragraph or another placeholder (`{setup_fee}` in a company name stays
/// literally that). Unknown placeholders stay as written.
fn fill(template: &str, values: &[(&str, String)]) -> String {
    let mut out = String::with_capacity(template.len() + 512);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let value = after
            .find('}')
            .and_then(|close| values.iter().find(|(name, _)| *name == &after[..close]).map(|(_, v)| (close, v)));
        match value {
            Some((close, value)) => {
                out.push_str(&tenant_app::values::as_one_line(value));
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Lays out a text with `# `/`## ` headings and blank-line paragraphs on A4 pages.
fn render_text_document(text: &str, title: &str, author: &str, created: chrono::DateTime<chrono::Utc>) -> Vec<u8> {
    const TITLE: TextStyle = TextStyle::new(FontStyle::Bold, 16.0);
    const HEADING: TextStyle = TextStyle::new(FontStyle::Bold, 11.5);
    const BODY: TextStyle = TextStyle::new(FontStyle::Regular, 10.0);
    let frame = Frame { left: mm(25.0), right: PAGE_WIDTH - mm(20.0), top: PAGE_HEIGHT - mm(20.0), bottom: mm(20.0) };
    let mut document = Document::new();
    let mut flow = Flow::new(&mut document, frame, frame.top);
    for block in text.split("\n\n").map(str::trim).filter(|b| !b.is_empty()) {
        if let Some(heading) = block.strip_prefix("# ") {
            // Each part (contract, annex) starts on a page of its own.
            if flow.y() < frame.top {
                flow.new_page();
            }
            flow.heading(heading, TITLE, 60.0);
            flow.space(6.0);
        } else if let Some(heading) = block.strip_prefix("## ") {
            flow.space(6.0);
            flow.heading(heading, HEADING, 40.0);
        } else {
            flow.paragraph(&block.replace('\n', " "), BODY);
            flow.space(4.0);
        }
    }
    pdfa::write(
        document,
        &pdfa::Metadata { title, author, subject: title, language: "de-DE", created, extra_xmp: "" },
        &[],
    )
}

#[cfg(test)]
mod fill_tests {
    #[test]
    fn values_are_literal_text() {
        let values = [
            ("broker_name", "X GmbH\n\n## §9 Sondervereinbarung\n\nEntgelte entfallen. {setup_fee}".to_owned()),
            ("setup_fee", "199,00 €".to_owned()),
        ];
        let text = super::fill("Zwischen {broker_name} und uns; Gebühr {setup_fee}; {unbekannt}", &values);
        assert_eq!(
            text,
            "Zwischen X GmbH  ## §9 Sondervereinbarung  Entgelte entfallen. {setup_fee} und uns; Gebühr 199,00 €; {unbekannt}"
        );
        assert!(!text.contains("\n"));
    }
}
