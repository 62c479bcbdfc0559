//! Stripe's webhook events: the signature checked before anything is read,
//! each event handled once however often it arrives (docs/security.md).
//!
//! The `Stripe-Signature` header is `t=<unix seconds>,v1=<hex>[,v1=<hex>…]`;
//! `v1` is HMAC-SHA256 with the endpoint's secret over `<t>.<raw body>`. Stripe
//! sends several `v1` while a secret is being rolled. An event whose timestamp
//! is more than five minutes from our clock is refused, so a captured request
//! cannot be sent again later; within those minutes, the event id makes a
//! second delivery a no-op.

use anyhow::Context;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

use super::{Stripe, adopt_setup};
use crate::billing::invoices;
use crate::billing::money::Cents;
use crate::billing::refusal::{Refusal, shown};
use crate::billing::settlement::{self, NewPayment};
use crate::state::AppState;

/// How far an event's timestamp may be from our clock, in seconds.
pub const TOLERANCE_SECS: i64 = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the Stripe-Signature header is missing")]
    Missing,
    #[error("the Stripe-Signature header is malformed")]
    Malformed,
    #[error("no signature matches")]
    Mismatch,
    #[error("the event is older than five minutes or from the future")]
    OutsideTolerance,
}

/// The header value Stripe would send for `payload` at `timestamp`.
pub fn sign(secret: &str, timestamp: i64, payload: &[u8]) -> String {
    format!("t={timestamp},v1={}", hex::encode(mac(secret, timestamp, payload).finalize().into_bytes()))
}

fn mac(secret: &str, timestamp: i64, payload: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    mac
}

/// Checks `header` against `payload`: some `v1` must be the HMAC (compared in
/// constant time), and the timestamp within [`TOLERANCE_SECS`] of `now`.
pub fn verify(header: Option<&str>, payload: &[u8], secret: &str, now: i64) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = Some(value.parse::<i64>().map_err(|_| SignatureError::Malformed)?),
            Some(("v1", value)) => signatures.push(value),
            // v0 (test-mode legacy scheme) and future schemes are ignored.
            Some(_) => {}
            None => return Err(SignatureError::Malformed),
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    let expected = mac(secret, timestamp, payload);
    let matches = signatures
        .iter()
        .filter_map(|signature| hex::decode(signature).ok())
        .any(|signature| expected.clone().verify_slice(&signature).is_ok());
    if !matches {
        return Err(SignatureError::Mismatch);
    }
    if (now - timestamp).abs() > TOLERANCE_SECS {
        return Err(SignatureError::OutsideTolerance);
    }
    Ok(())
}

/// The parts of an event read here.
#[derive(Debug, Deserialize)]
pub struct Event {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub data: EventData,
}

#[derive(Debug, Deserialize)]
pub struct EventData {
    pub object: serde_json::Value,
}

#[derive(Debug, Deserialize)]
struct PaymentIntent {
    id: String,
    amount: i64,
    #[serde(default)]
    amount_received: Option<i64>,
    currency: String,
    #[serde(default)]
    metadata: std::collections::HashMap<String, String>,
    #[serde(default)]
    last_payment_error: Option<LastPaymentError>,
}

#[derive(Debug, Deserialize)]
struct LastPaymentError {
    #[serde(default)]
    message: Option<String>,
}

#[derive(Debug, Deserialize)]
struct SetupIntent {
    id: String,
}

/// What became of an event.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Handled,
    /// Seen before: nothing done again.
    Duplicate,
    /// Not an event we act on, or not about one of our objects.
    Ignored,
}

/// Handles a verified event once: its id is recorded before acting, and the
/// record removed again if acting fails, so Stripe's retry tries once more.
pub async fn handle(app: &AppState, stripe: &Stripe, event: Event) -> anyhow::Result<Outcome> {
    let inserted = sqlx::query(
        "INSERT INTO stripe_events (id, type, received_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING",
    )
    .bind(&event.id)
    .bind(&event.kind)
    .bind(app.clock.timestamp())
    .execute(app.db.pool())
    .await?;
    if inserted.rows_affected() == 0 {
        return Ok(Outcome::Duplicate);
    }
    let result = act(app, stripe, &event).await;
    if result.is_err() {
        sqlx::query("DELETE FROM stripe_events WHERE id = $1").bind(&event.id).execute(app.db.pool()).await?;
    }
    result
}

async fn act(app: &AppState, stripe: &Stripe, event: &Event) -> anyhow::Result<Outcome> {
    match event.kind.as_str() {
        "payment_intent.succeeded" => {
            let intent: PaymentIntent = serde_json::from_value(event.data.object.clone())?;
            let Some(invoice_id) = invoice_of(app, &intent).await? else { return Ok(Outcome::Ignored) };
            anyhow::ensure!(intent.currency.eq_ignore_ascii_case("eur"), "a payment in {}", intent.currency);
            let amount = Cents(intent.amount_received.unwrap_or(intent.amount));
            let payment = NewPayment {
                amount,
                method: "stripe",
                reference: &intent.id,
                received_on: app.clock.berlin_today(),
                // The money has arrived: what the invoice no longer owed is the broker's credit.
                overpayment: true,
                actor: "stripe",
            };
            match shown(settlement::record_payment(app, &invoice_id, &payment).await)? {
                // Recorded before (the same PaymentIntent): nothing more to do.
                Ok(_) | Err(Refusal::DuplicateReference) => {}
                Err(refusal) => anyhow::bail!("payment {} not recorded: {refusal}", intent.id),
            }
            set_status(app, &invoice_id, &intent.id, "succeeded", None).await?;
            Ok(Outcome::Handled)
        }
        "payment_intent.payment_failed" => {
            let intent: PaymentIntent = serde_json::from_value(event.data.object.clone())?;
            let Some(invoice_id) = invoice_of(app, &intent).await? else { return Ok(Outcome::Ignored) };
            let message = intent.last_payment_error.and_then(|error| error.message);
            // Reported once: a card declined at once was reported when the PaymentIntent was made.
            if set_status(app, &invoice_id, &intent.id, "failed", message.as_deref()).await? {
                super::report_failure(app, &invoice_id, &intent.id, message.as_deref()).await?;
            }
            Ok(Outcome::Handled)
        }
        "payment_intent.processing" => {
            let intent: PaymentIntent = serde_json::from_value(event.data.object.clone())?;
            let Some(invoice_id) = invoice_of(app, &intent).await? else { return Ok(Outcome::Ignored) };
            set_status(app, &invoice_id, &intent.id, "processing", None).await?;
            Ok(Outcome::Handled)
        }
        "setup_intent.succeeded" => {
            let intent: SetupIntent = serde_json::from_value(event.data.object.clone())?;
            // The SetupIntent is read back from Stripe: the payment method's type and last digits.
            match adopt_setup(app, stripe, &intent.id).await? {
                Some(_) => Ok(Outcome::Handled),
                None => Ok(Outcome::Ignored),
            }
        }
        _ => Ok(Outcome::Ignored),
    }
}

/// Our invoice a PaymentIntent collects: the one we created it for, or the
/// one its metadata names (a PaymentIntent made by hand in the dashboard).
async fn invoice_of(app: &AppState, intent: &PaymentIntent) -> anyhow::Result<Option<String>> {
    let known: Option<String> =
        sqlx::query_scalar("SELECT invoice_id FROM stripe_payments WHERE payment_intent_id = $1")
            .bind(&intent.id)
            .fetch_optional(app.db.pool())
            .await?;
    if known.is_some() {
        return Ok(known);
    }
    let Some(invoice_id) = intent.metadata.get("invoice_id") else { return Ok(None) };
    Ok(invoices::find(&app.db, invoice_id).await?.map(|invoice| invoice.id))
}

/// Stores the collection's status; returns whether it changed.
async fn set_status(
    app: &AppState,
    invoice_id: &str,
    payment_intent_id: &str,
    status: &str,
    failure: Option<&str>,
) -> anyhow::Result<bool> {
    let now = app.clock.timestamp();
    let mut tx = app.db.pool().begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO stripe_payments (invoice_id, payment_intent_id, status, failure_message, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (invoice_id) DO NOTHING",
    )
    .bind(invoice_id)
    .bind(payment_intent_id)
    .bind(status)
    .bind(failure)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    // A late `processing` never overwrites a final outcome.
    let updated = sqlx::query(
        "UPDATE stripe_payments SET status = $1, failure_message = $2, updated_at = $3 \
         WHERE invoice_id = $4 AND payment_intent_id = $5 AND status <> $1 \
           AND NOT ($1 = 'processing' AND status IN ('succeeded', 'failed'))",
    )
    .bind(status)
    .bind(failure)
    .bind(now)
    .bind(invoice_id)
    .bind(payment_intent_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await.context("storing the payment status")?;
    Ok(inserted.rows_affected() + updated.rows_affected() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";
    const NOW: i64 = 1_800_000_000;
    const BODY: &[u8] = br#"{"id":"evt_1","type":"payment_intent.succeeded"}"#;

    #[test]
    fn a_signature_made_with_the_secret_is_accepted() {
        let header = sign(SECRET, NOW, BODY);
        assert_eq!(verify(Some(&header), BODY, SECRET, NOW), Ok(()));
        assert_eq!(verify(Some(&header), BODY, SECRET, NOW + TOLERANCE_SECS), Ok(()));
        // During a secret roll Stripe signs with both; one match is enough.
        let rolled = format!("{},v1={},v0=ignored", sign(SECRET, NOW, BODY), "00".repeat(32));
        assert_eq!(verify(Some(&rolled), BODY, SECRET, NOW), Ok(()));
    }

    #[test]
    fn forged_tampered_missing_and_old_signatures_are_refused() {
        let header = sign(SECRET, NOW, BODY);
        assert_eq!(verify(None, BODY, SECRET, NOW), Err(SignatureError::Missing));
        assert_eq!(verify(Some(&sign("whsec_other", NOW, BODY)), BODY, SECRET, NOW), Err(SignatureError::Mismatch));
        let tampered = br#"{"id":"evt_1","type":"payment_intent.succeeded" }"#;
        assert_eq!(verify(Some(&header), tampered, SECRET, NOW), Err(SignatureError::Mismatch));
        // The timestamp is signed: moving it forward breaks the signature.
        let moved = header.replace(&format!("t={NOW}"), &format!("t={}", NOW + 600));
        assert_eq!(verify(Some(&moved), BODY, SECRET, NOW + 600), Err(SignatureError::Mismatch));
        assert_eq!(
            verify(Some(&header), BODY, SECRET, NOW + TOLERANCE_SECS + 1),
            Err(SignatureError::OutsideTolerance)
        );
        assert_eq!(
            verify(Some(&header), BODY, SECRET, NOW - TOLERANCE_SECS - 1),
            Err(SignatureError::OutsideTolerance)
        );
        for malformed in ["", "t=abc,v1=00", "v1=00", &format!("t={NOW}"), "garbage"] {
            assert_eq!(verify(Some(malformed), BODY, SECRET, NOW), Err(SignatureError::Malformed), "{malformed}");
        }
        assert_eq!(verify(Some(&format!("t={NOW},v1=zz")), BODY, SECRET, NOW), Err(SignatureError::Mismatch));
    }
}
