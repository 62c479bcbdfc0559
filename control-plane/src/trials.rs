//! A trial's life, run daily by the scheduler on the Berlin calendar:
//!
//! - 7 days and 1 day before the end, a reminder e-mail;
//! - at the end, without an order, the portal locks: the broker sees a "trial
//!   ended" page offering to order or extend, customers a neutral notice;
//! - after `trial_grace_days`, the instance and all its data are deleted and
//!   the broker gets a final e-mail. Nobody has to cancel anything.
//!
//! The trial end is stored as the Berlin midnight after the last day. Each
//! mail is claimed in the tenant row before it is sent (and the claim undone
//! if sending fails), so a job that runs twice sends nothing twice.

use anyhow::Context;
use chrono::NaiveDate;
use tenant_app::calendar::format_date;
use tenant_app::mail::Email;

use crate::state::AppState;
use crate::tenants::{self, Tenant, TenantStatus};

/// `trial_reminders` values: which notice has gone out for the current end.
const REMINDED_7_DAYS: i64 = 1;
const REMINDED_1_DAY: i64 = 2;
const ENDED_NOTICE: i64 = 3;

/// The day after the trial's last day, on the Berlin calendar.
fn end_date(trial_ends_at: i64) -> NaiveDate {
    tenant_app::calendar::berlin_date_of(trial_ends_at).unwrap_or_default()
}

/// One pass over every trial tenant; returns what it did.
pub async fn run_lifecycle(app: &AppState) -> anyhow::Result<String> {
    let now = app.clock.timestamp();
    let today = app.clock.berlin_today();
    let (mut reminded, mut locked, mut deleted) = (0, 0, 0);
    for tenant in trial_tenants(app).await? {
        let Some(ends_at) = tenant.trial_ends_at else { continue };
        let end = end_date(ends_at);
        if today >= end + chrono::Days::new(app.config.trial_grace_days as u64) {
            delete(app, &tenant).await.with_context(|| format!("deleting tenant {}", tenant.slug))?;
            deleted += 1;
        } else if now >= ends_at {
            // The portal learns from its entitlements that the trial is over.
            crate::provisioning::apply_record(app, &tenant.id).await?;
            if notify(app, &tenant, ENDED_NOTICE, ended_mail(app, &tenant)).await? {
                locked += 1;
            }
        } else if today + chrono::Days::new(1) >= end {
            reminded += i32::from(notify(app, &tenant, REMINDED_1_DAY, reminder_mail(app, &tenant, 1)).await?);
        } else if today + chrono::Days::new(7) >= end {
            reminded += i32::from(notify(app, &tenant, REMINDED_7_DAYS, reminder_mail(app, &tenant, 7)).await?);
        }
    }
    Ok(format!("{reminded} reminders, {locked} trials ended, {deleted} deleted"))
}

async fn trial_tenants(app: &AppState) -> Result<Vec<Tenant>, sqlx::Error> {
    Ok(tenants::list(&app.db)
        .await?
        .into_iter()
        .filter(|t| t.plan == "trial" && t.deleted_at.is_none() && t.status != TenantStatus::Deleted)
        .collect())
}

/// Sends `mail` unless this notice (or a later one) already went out for the
/// current trial end. Returns whether it sent.
async fn notify(app: &AppState, tenant: &Tenant, level: i64, mail: Email) -> anyhow::Result<bool> {
    if !tenants::trial::claim_trial_notice(&app.db, &tenant.id, level).await? {
        return Ok(false);
    }
    if let Err(err) = app.mailer.send(mail).await {
        tenants::trial::release_trial_notice(&app.db, &tenant.id, level, tenant.trial_reminders).await?;
        return Err(err).context("sending a trial notice");
    }
    tenants::record_event(&app.db, &tenant.id, "trial_notice", &format!("Hinweis {level} versandt")).await?;
    Ok(true)
}

fn last_day(tenant: &Tenant) -> String {
    tenant.trial_ends_at.map(tenant_app::calendar::last_day_before).unwrap_or_default()
}

fn mail(app: &AppState, tenant: &Tenant, subject: String, body: String) -> Email {
    Email {
        to: tenant.email.clone(),
        sender_name: app.config.operator_name.clone(),
        from_address: None,
        subject,
        body: format!("Guten Tag {},\n\n{body}\n\nIhr {}-Team\n", tenant.name, app.config.operator_name),
    }
}

fn reminder_mail(app: &AppState, tenant: &Tenant, days: u32) -> Email {
    let when = if days == 1 { "morgen".to_owned() } else { format!("in {days} Tagen") };
    mail(
        app,
        tenant,
        format!("Ihre Testphase endet {when}"),
        format!(
            "Ihre kostenlose Testphase für „{display}“ endet {when}: Ihr letzter Testtag ist der {last}.\n\n\
             Um das Portal weiter zu nutzen, bestellen Sie einen Tarif im Bereich „Abrechnung“ Ihres Portals:\n\
             {portal}/makler/abrechnung\n\n\
             Ohne Bestellung wird das Portal nach der Testphase gesperrt und {grace} Tage später mit allen Daten \
             gelöscht. Sie müssen nichts kündigen.",
            display = tenant.display_name(),
            last = last_day(tenant),
            portal = app.hosts.tenant_url(&tenant.slug),
            grace = app.config.trial_grace_days,
        ),
    )
}

fn ended_mail(app: &AppState, tenant: &Tenant) -> Email {
    let deletion = tenant
        .trial_ends_at
        .map(|end| end_date(end) + chrono::Days::new(app.config.trial_grace_days as u64))
        .map(|day| format_date(&day))
        .unwrap_or_default();
    mail(
        app,
        tenant,
        "Ihre Testphase ist beendet".into(),
        format!(
            "Ihre Testphase für „{display}“ ist beendet. Ihre Kunden sehen bis auf Weiteres einen neutralen Hinweis.\n\n\
             Ihre Daten bleiben bis zum {deletion} erhalten. Bis dahin können Sie einen Tarif bestellen oder die \
             Testphase verlängern:\n{portal}/makler/abrechnung\n\n\
             Ohne Bestellung wird das Portal am {deletion} mit allen Daten gelöscht.",
            display = tenant.display_name(),
            portal = app.hosts.tenant_url(&tenant.slug),
        ),
    )
}

/// Removes a lapsed trial for good: the instance, the database (and role),
/// the documents, then marks the record deleted and tells the broker.
pub async fn delete(app: &AppState, tenant: &Tenant) -> anyhow::Result<()> {
    app.provisioner.remove(&tenant.id, &tenant.slug).await.context("removing the instance")?;
    app.tenant_dbs.drop(&tenant.id).await.context("dropping the database")?;
    // With PostgreSQL the documents still live under the data directory.
    let files = app.tenants_dir.join(&tenant.id);
    match tokio::fs::remove_dir_all(&files).await {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => return Err(err).context("removing documents"),
        _ => {}
    }
    let now = app.clock.timestamp();
    tenants::trial::mark_deleted(&app.db, &tenant.id, now).await?;
    tenants::record_event(&app.db, &tenant.id, "deleted", "Testphase abgelaufen: Portal und Daten gelöscht.").await?;
    app.audit("system", "delete_lapsed_trial", &format!("tenant:{}", tenant.id)).await?;
    let farewell = mail(
        app,
        tenant,
        "Ihr Portal wurde gelöscht".into(),
        format!(
            "Ihre Testphase für „{}“ ist seit über {} Tagen beendet, ohne dass ein Tarif bestellt wurde. \
             Wie angekündigt haben wir das Portal und alle darin gespeicherten Daten heute gelöscht.\n\n\
             Möchten Sie später wieder starten, können Sie jederzeit eine neue Testphase beginnen.",
            tenant.display_name(),
            app.config.trial_grace_days,
        ),
    );
    if let Err(err) = app.mailer.send(farewell).await {
        // The deletion stands; a lost farewell is logged, not retried.
        tracing::error!(tenant_id = %tenant.id, error = %err, "could not send the deletion e-mail");
    }
    Ok(())
}
