//! The documents of an issued invoice or credit note (PDF/A-3 with Factur-X,
//! XRechnung) and sending them by e-mail.

use anyhow::Context;
use tenant_app::calendar::format_date;
use tenant_app::mail::{Attachment, Email};
use tenant_app::values::EmailAddress;

use super::{Invoice, Kind, find, lines};
use crate::billing::document::{
    Buyer, DocumentKind, InvoiceContent, InvoiceDocument, InvoiceLine, InvoiceReference, PaymentMeans, PaymentTerms,
    PostalAddress, ServicePeriod,
};
use crate::billing::einvoice::{self, Flavour};
use crate::billing::money::VatRate;
use crate::state::AppState;

/// The checked document of an issued invoice or credit note.
pub async fn document(app: &AppState, invoice: &Invoice) -> anyhow::Result<InvoiceDocument> {
    let number = invoice.number.clone().context("a draft has no document yet")?;
    let issue_date = invoice.issue_date.context("issued without a date")?;
    let due_date = invoice.due_date.unwrap_or(issue_date);
    let kind = match (&invoice.kind, &invoice.corrects) {
        (Kind::CreditNote, Some(corrected)) => {
            let original = find(&app.db, corrected).await?.context("the corrected invoice")?;
            DocumentKind::CreditNote {
                corrects: InvoiceReference {
                    number: original.number.context("the corrected invoice has a number")?,
                    issue_date: original.issue_date.context("the corrected invoice has a date")?,
                },
            }
        }
        _ => DocumentKind::Invoice,
    };
    let payment_text = match kind {
        DocumentKind::Invoice if invoice.prepaid.0 > 0 && invoice.prepaid >= invoice.gross => {
            format!(
                "Der Betrag ist mit Ihrem Guthaben von {} vollständig verrechnet; es ist nichts zu zahlen.",
                invoice.prepaid
            )
        }
        DocumentKind::Invoice if invoice.prepaid.0 > 0 => format!(
            "Ihr Guthaben von {} ist verrechnet. Zahlbar sind {} ohne Abzug bis zum {} auf das unten genannte Konto; \
             bitte geben Sie die Rechnungsnummer {number} an.",
            invoice.prepaid,
            invoice.due_amount(),
            format_date(&due_date)
        ),
        DocumentKind::Invoice => format!(
            "Zahlbar ohne Abzug bis zum {} auf das unten genannte Konto; bitte geben Sie die Rechnungsnummer {number} an.",
            format_date(&due_date)
        ),
        DocumentKind::CreditNote { .. } => "Der Betrag wird mit offenen Rechnungen verrechnet oder erstattet.".into(),
    };
    let content = InvoiceContent {
        kind,
        number,
        issue_date,
        period: ServicePeriod { start: invoice.period_start, end: invoice.period_end },
        buyer_reference: Some(invoice.buyer.customer_number.clone()),
        seller: app.config.billing.seller().map_err(anyhow::Error::msg)?,
        buyer: Buyer {
            name: invoice.buyer.name.clone(),
            address: PostalAddress {
                street: invoice.buyer.street.clone(),
                postcode: invoice.buyer.postcode.clone(),
                city: invoice.buyer.city.clone(),
                country: "DE".into(),
            },
            email: EmailAddress::parse(&invoice.buyer.email).map_err(|m| anyhow::anyhow!("buyer e-mail: {m}"))?,
            vat_id: None,
        },
        lines: lines(&app.db, &invoice.id)
            .await?
            .into_iter()
            .map(|line| InvoiceLine {
                description: line.description,
                quantity: line.quantity,
                unit: line.unit,
                unit_price: line.unit_price,
                vat_rate: VatRate::STANDARD,
            })
            .collect(),
        notes: invoice.notes.clone(),
        payment: PaymentTerms { due_date, text: payment_text, means: PaymentMeans::CreditTransfer },
        prepaid: invoice.prepaid,
    };
    Ok(InvoiceDocument::new(content)?)
}

pub async fn pdf(app: &AppState, invoice: &Invoice) -> anyhow::Result<Vec<u8>> {
    let document = document(app, invoice).await?;
    let created = chrono::DateTime::from_timestamp(invoice.created_at, 0).unwrap_or_default();
    Ok(crate::billing::pdf::invoice_pdf(&document, created))
}

pub async fn xrechnung(app: &AppState, invoice: &Invoice) -> anyhow::Result<Vec<u8>> {
    let document = document(app, invoice).await?;
    Ok(einvoice::cii_xml(&document, Flavour::XRechnung)?)
}

/// E-mails every issued invoice and credit note that has not gone out yet,
/// with the PDF (Factur-X) and the XRechnung XML attached. Marked sent only
/// after the mail server took it, so a crash sends again rather than never.
pub async fn send_unsent(app: &AppState) -> anyhow::Result<usize> {
    let ids: Vec<String> =
        sqlx::query_scalar("SELECT id FROM invoices WHERE status = 'issued' AND emailed_at IS NULL ORDER BY number")
            .fetch_all(app.db.pool())
            .await?;
    let mut sent = 0;
    for id in ids {
        let invoice = find(&app.db, &id).await?.context("invoice vanished")?;
        let stem = invoice.file_stem();
        let attachments = vec![
            Attachment {
                filename: format!("{stem}.pdf"),
                content_type: "application/pdf",
                content: pdf(app, &invoice).await?,
            },
            Attachment {
                filename: format!("{stem}-XRechnung.xml"),
                content_type: "application/xml",
                content: xrechnung(app, &invoice).await?,
            },
        ];
        let label = invoice.kind.label();
        let number = invoice.number.as_deref().unwrap_or_default();
        let body = format!(
            "Guten Tag,\n\nanbei erhalten Sie Ihre {label} {number} über {gross} (brutto) für den Zeitraum \
             {start} bis {end}.\n\nDie {label} liegt als PDF bei (mit eingebetteter E-Rechnung nach ZUGFeRD/Factur-X) \
             und zusätzlich als XRechnung. Alle Rechnungen finden Sie auch im Bereich „Abrechnung“ Ihres Portals.\n\n\
             Ihr {operator}-Team\n",
            gross = invoice.gross,
            start = format_date(&invoice.period_start),
            end = format_date(&invoice.period_end),
            operator = app.config.operator_name,
        );
        let email = Email {
            to: invoice.buyer.email.clone(),
            sender_name: app.config.operator_name.clone(),
            from_address: None,
            subject: format!("Ihre {label} {number}"),
            body,
        };
        app.mailer.send_with_attachments(email, attachments).await?;
        sqlx::query("UPDATE invoices SET emailed_at = $1 WHERE id = $2")
            .bind(app.clock.timestamp())
            .bind(&invoice.id)
            .execute(app.db.pool())
            .await?;
        sent += 1;
    }
    Ok(sent)
}
