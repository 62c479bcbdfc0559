//! Dunning, run daily: a payment reminder when an invoice is
//! `billing.dunning_first_days` overdue, a second at `dunning_second_days`,
//! and at `dunning_suspend_days` the portal is suspended (maintenance page)
//! until the money is in. Paying resumes the portal by itself: when a payment
//! settles an invoice, and on every run for tenants whose overdue invoices
//! are all paid.
//!
//! Each step is claimed on the invoice (`dunning_level`) before its e-mail
//! goes out and released if sending fails, so a run that repeats sends
//! nothing twice.

use anyhow::Context;
use chrono::NaiveDate;
use tenant_app::calendar::format_date;
use tenant_app::mail::Email;

use super::invoices::{self, Invoice, Kind};
use crate::state::AppState;
use crate::tenants;

/// The start of the suspension reason dunning writes, so that it lifts only
/// its own suspensions.
pub const SUSPENSION_REASON: &str = "Zahlungsverzug";

const FIRST_REMINDER: i64 = 1;
const SECOND_REMINDER: i64 = 2;
const SUSPENDED: i64 = 3;

async fn overdue(app: &AppState, today: NaiveDate) -> anyhow::Result<Vec<Invoice>> {
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM invoices WHERE kind = 'invoice' AND status = 'issued' AND paid_at IS NULL AND due_date < $1 \
         ORDER BY due_date, number",
    )
    .bind(today.to_string())
    .fetch_all(app.db.pool())
    .await?;
    let mut found = Vec::new();
    for id in ids {
        found.extend(invoices::find(&app.db, &id).await?);
    }
    Ok(found)
}

pub async fn run(app: &AppState) -> anyhow::Result<String> {
    let today = app.clock.berlin_today();
    let settings = &app.config.billing;
    let (mut reminded, mut suspended) = (0, 0);
    for invoice in overdue(app, today).await? {
        let Some(due) = invoice.due_date else { continue };
        let days = (today - due).num_days();
        let number = invoice.number.clone().unwrap_or_default();
        if days >= i64::from(settings.dunning_suspend_days) {
            if claim(app, &invoice, SUSPENDED).await? {
                let reason = format!("{SUSPENSION_REASON}: Rechnung {number} ist seit {days} Tagen fällig.");
                crate::provisioning::suspend_with_own_notice(app, &invoice.tenant_id, &reason).await?;
                notify(app, &invoice, SUSPENDED, suspension_mail(app, &invoice, days)).await?;
                suspended += 1;
            }
        } else if days >= i64::from(settings.dunning_second_days) {
            if claim(app, &invoice, SECOND_REMINDER).await? {
                notify(app, &invoice, SECOND_REMINDER, reminder_mail(app, &invoice, days, true)).await?;
                reminded += 1;
            }
        } else if days >= i64::from(settings.dunning_first_days) && claim(app, &invoice, FIRST_REMINDER).await? {
            notify(app, &invoice, FIRST_REMINDER, reminder_mail(app, &invoice, days, false)).await?;
            reminded += 1;
        }
    }
    let resumed = resume_paid_up(app).await?;
    Ok(format!("{reminded} reminders, {suspended} suspended, {resumed} resumed"))
}

async fn claim(app: &AppState, invoice: &Invoice, level: i64) -> Result<bool, sqlx::Error> {
    let claimed = sqlx::query("UPDATE invoices SET dunning_level = $1 WHERE id = $2 AND dunning_level < $1")
        .bind(level)
        .bind(&invoice.id)
        .execute(app.db.pool())
        .await?;
    Ok(claimed.rows_affected() == 1)
}

/// Sends a dunning e-mail; on failure the step is released for the next run.
async fn notify(app: &AppState, invoice: &Invoice, level: i64, mail: Email) -> anyhow::Result<()> {
    if let Err(err) = app.mailer.send(mail).await {
        sqlx::query("UPDATE invoices SET dunning_level = $1 WHERE id = $2 AND dunning_level = $3")
            .bind(invoice.dunning_level)
            .bind(&invoice.id)
            .bind(level)
            .execute(app.db.pool())
            .await?;
        return Err(err).context("sending a dunning e-mail");
    }
    app.audit("system", "dunning", &format!("invoice:{} level {level}", invoice.id)).await?;
    Ok(())
}

fn mail(app: &AppState, invoice: &Invoice, subject: String, body: String) -> Email {
    let seller = &app.config.billing;
    Email {
        to: invoice.buyer.email.clone(),
        sender_name: app.config.operator_name.clone(),
        from_address: None,
        subject,
        body: format!(
            "Guten Tag,\n\n{body}\n\nBitte überweisen Sie {open} auf das Konto {holder}, IBAN {iban}, \
             unter Angabe der Rechnungsnummer {number}. Hat sich Ihre Zahlung mit dieser E-Mail gekreuzt, \
             betrachten Sie sie bitte als gegenstandslos.\n\nIhr {operator}-Team\n",
            open = invoice.open_amount(),
            holder = seller.bank_account_holder,
            iban = seller.iban,
            number = invoice.number.as_deref().unwrap_or_default(),
            operator = app.config.operator_name,
        ),
    }
}

fn reminder_mail(app: &AppState, invoice: &Invoice, days: i64, second: bool) -> Email {
    let number = invoice.number.as_deref().unwrap_or_default();
    let due = invoice.due_date.as_ref().map(format_date).unwrap_or_default();
    let (subject, text) = if second {
        (
            format!("2. Zahlungserinnerung: Rechnung {number}"),
            format!(
                "unsere Rechnung {number} war am {due} fällig und ist seit {days} Tagen offen. Wir bitten Sie \
                 dringend um Zahlung. Ohne Zahlungseingang müssen wir Ihr Portal am {}. Tag nach Fälligkeit sperren.",
                app.config.billing.dunning_suspend_days
            ),
        )
    } else {
        (
            format!("Zahlungserinnerung: Rechnung {number}"),
            format!("sicher haben Sie es nur übersehen: unsere Rechnung {number} war am {due} fällig."),
        )
    };
    mail(app, invoice, subject, text)
}

fn suspension_mail(app: &AppState, invoice: &Invoice, days: i64) -> Email {
    let number = invoice.number.as_deref().unwrap_or_default();
    mail(
        app,
        invoice,
        format!("Ihr Portal ist gesperrt: Rechnung {number} ist offen"),
        format!(
            "unsere Rechnung {number} ist seit {days} Tagen fällig. Wir haben Ihr Portal deshalb gesperrt; Ihre \
             Daten bleiben erhalten. Sobald die Zahlung eingegangen ist, geben wir das Portal automatisch wieder frei."
        ),
    )
}

/// Lifts dunning suspensions of tenants with no unpaid invoice at the
/// suspension step any more. Returns how many were resumed.
pub async fn resume_paid_up(app: &AppState) -> anyhow::Result<usize> {
    let suspended = tenants::suspended_for(&app.db, SUSPENSION_REASON).await?;
    let mut resumed = 0;
    for tenant_id in suspended {
        if resume_if_paid_up(app, &tenant_id).await? {
            resumed += 1;
        }
    }
    Ok(resumed)
}

/// Lifts one tenant's dunning suspension once nothing at the suspension step
/// is owed any more; `true` if it was lifted.
async fn resume_if_paid_up(app: &AppState, tenant_id: &str) -> anyhow::Result<bool> {
    let Some(tenant) = tenants::find(&app.db, tenant_id).await? else { return Ok(false) };
    let suspended_by_dunning =
        tenant.suspended_reason.as_deref().is_some_and(|reason| reason.starts_with(SUSPENSION_REASON));
    if tenant.suspended_at.is_none() || !suspended_by_dunning {
        return Ok(false);
    }
    let still_owed: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM invoices WHERE tenant_id = $1 AND kind = 'invoice' AND paid_at IS NULL \
         AND dunning_level >= $2",
    )
    .bind(&tenant.id)
    .bind(SUSPENDED)
    .fetch_one(app.db.pool())
    .await?;
    if still_owed > 0 {
        return Ok(false);
    }
    crate::provisioning::resume(app, &tenant.id).await?;
    app.audit("system", "resume_after_payment", &format!("tenant:{}", tenant.id)).await?;
    Ok(true)
}

/// After a payment settled `invoice`: resume its tenant if dunning suspended it
/// and nothing else is owed.
pub async fn after_payment(app: &AppState, invoice: &Invoice) -> anyhow::Result<()> {
    if invoice.kind == Kind::Invoice && invoice.is_paid() {
        resume_if_paid_up(app, &invoice.tenant_id).await?;
    }
    Ok(())
}
