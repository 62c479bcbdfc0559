//! One attempt: check the target, sign the stored body with a fresh timestamp,
//! POST it, and keep the status code and the start of the answer. Every request
//! has a timeout; the answer is read only up to a few kilobytes.

use std::time::Instant;

use reqwest::header::CONTENT_TYPE;
use url::Url;

use crate::webhooks::delivery::{Host, Job, Outcome};
use crate::webhooks::{endpoints, guard, signature};

/// The receiver's answer is read this far, and shown up to [`EXCERPT_CHARS`].
const EXCERPT_BYTES: usize = 4096;
const EXCERPT_CHARS: usize = 500;

pub async fn attempt(host: &dyn Host, job: &Job) -> Outcome {
    let started = Instant::now();
    let sent = send(host, job).await;
    let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    match sent {
        Ok((status, excerpt)) => Outcome {
            status_code: Some(status),
            error: (300..400)
                .contains(&status)
                .then(|| "Der Empfänger leitet weiter; Weiterleitungen werden nicht verfolgt.".to_owned()),
            excerpt,
            duration_ms,
        },
        Err(error) => Outcome { status_code: None, error: Some(error), excerpt: None, duration_ms },
    }
}

async fn send(host: &dyn Host, job: &Job) -> Result<(u16, Option<String>), String> {
    let policy = host.policy();
    let url = Url::parse(&job.url).map_err(|_| "Die Adresse ist ungültig.".to_owned())?;
    guard::check_target(&url, policy).map_err(|refusal| refusal.to_string())?;
    let secret = endpoints::open_secret(&host.secrets(), &job.secret_sealed).map_err(|err| {
        tracing::error!(endpoint = %job.endpoint_id, error = %err, "a webhook signing secret does not open");
        "Das Signaturgeheimnis ist nicht lesbar; bitte erzeugen Sie ein neues.".to_owned()
    })?;
    // The wall clock, not the portal's: receivers compare it with theirs.
    let timestamp = crate::db::now();
    let response = guard::client(policy)
        .post(url)
        .header(CONTENT_TYPE, "application/json")
        .header(signature::HEADER, signature::sign(&secret, timestamp, job.body.as_bytes()))
        .header("Ordo-Event", &job.event_type)
        .header("Ordo-Delivery", &job.delivery_id)
        .body(job.body.clone())
        .send()
        .await
        .map_err(|err| describe(&err))?;
    let status = response.status().as_u16();
    Ok((status, excerpt(response).await))
}

/// The start of the answer as text, for the log; the rest is never read.
async fn excerpt(mut response: reqwest::Response) -> Option<String> {
    let mut bytes = Vec::new();
    while bytes.len() < EXCERPT_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk[..chunk.len().min(EXCERPT_BYTES - bytes.len())]),
            Ok(None) | Err(_) => break,
        }
    }
    let text: String =
        String::from_utf8_lossy(&bytes).chars().filter(|c| !c.is_control() || *c == '\n').take(EXCERPT_CHARS).collect();
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// Why no answer came, in the owner's words.
fn describe(err: &reqwest::Error) -> String {
    if let Some(refusal) = guard::refusal_of(err) {
        return refusal.to_string();
    }
    if err.is_timeout() {
        return format!("Keine Antwort innerhalb von {} Sekunden.", guard::REQUEST_TIMEOUT.as_secs());
    }
    if err.is_connect() {
        return "Keine Verbindung zum Empfänger (Verbindungsaufbau oder TLS fehlgeschlagen).".into();
    }
    if err.is_builder() {
        return "Die Adresse ist ungültig.".into();
    }
    "Die Anfrage ist fehlgeschlagen.".into()
}
