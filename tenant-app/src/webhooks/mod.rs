//! Webhooks into the broker's management program (MVP).
//!
//! The owner registers endpoints and picks events; the domain functions
//! (messages, users, documents, contracts) write each event into an outbox in
//! the transaction of its cause ([`emit`]), whichever surface called them (the
//! portal's pages or the tenant API). One worker per portal ([`spawn_worker`])
//! sends each event to each endpoint, signed ([`signature`]), only to public
//! addresses ([`guard`]), retrying with backoff, and disables an endpoint that
//! has failed for three days ([`delivery`]). The owner reads the log and
//! redelivers by hand ([`log`]); the pages are `portal::webhooks`.
//!
//! The emergency folder never emits anything: what a customer keeps there is
//! not the broker's business, nor the management program's.

pub mod delivery;
pub mod endpoints;
mod events;
pub mod guard;
pub mod log;
mod send;
pub mod signature;
mod worker;

pub use delivery::Host;
pub use endpoints::{Endpoint, EndpointUrl, NewEndpoint};
pub use events::{Emitted, emit, payload, wanted};
pub use worker::spawn_worker;

/// What an endpoint can subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    /// A customer wrote: a new thread or a reply in one; with the category, so
    /// that a claim report (Schadenmeldung) is recognisable.
    MessageCreated,
    /// The broker's office answered a customer.
    MessageReplied,
    /// A customer accepted the invitation and set a password.
    CustomerActivated,
    /// A customer uploaded a document (a photo to a message); never one of the
    /// emergency folder.
    DocumentUploaded,
    ContractCreated,
    ContractUpdated,
}

impl EventType {
    pub const ALL: [EventType; 6] = [
        EventType::MessageCreated,
        EventType::MessageReplied,
        EventType::CustomerActivated,
        EventType::DocumentUploaded,
        EventType::ContractCreated,
        EventType::ContractUpdated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::MessageCreated => "message.created",
            EventType::MessageReplied => "message.replied",
            EventType::CustomerActivated => "customer.activated",
            EventType::DocumentUploaded => "document.uploaded",
            EventType::ContractCreated => "contract.created",
            EventType::ContractUpdated => "contract.updated",
        }
    }

    pub fn parse(text: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|e| e.as_str() == text)
    }

    /// What the owner reads when choosing events.
    pub fn label(self) -> &'static str {
        match self {
            EventType::MessageCreated => "Ein Kunde schreibt (mit Kategorie, z. B. Schadenmeldung)",
            EventType::MessageReplied => "Ihr Büro antwortet einem Kunden",
            EventType::CustomerActivated => "Ein Kunde aktiviert seinen Zugang",
            EventType::DocumentUploaded => "Ein Kunde lädt ein Dokument hoch",
            EventType::ContractCreated => "Ein Vertrag wird angelegt",
            EventType::ContractUpdated => "Ein Vertrag wird geändert",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_round_trip() {
        for event in EventType::ALL {
            assert_eq!(EventType::parse(event.as_str()), Some(event));
        }
        assert_eq!(EventType::parse("emergency.updated"), None);
    }
}
