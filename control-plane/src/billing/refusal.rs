//! Why billing refuses what a broker or an operator asked. A refusal is
//! shown to the person as its message (one German sentence each, here and
//! nowhere else); anything else that goes wrong is a failure, logged with its
//! cause and shown to nobody.

use super::money::Cents;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    // Orders and plans.
    #[error("Diese Bestellung ist bereits abgeschlossen.")]
    OrderClosed,
    #[error("Bitte wählen Sie die Datei mit dem unterschriebenen Vertrag.")]
    ScanMissing,
    #[error("Die Datei ist größer als 10 MB.")]
    ScanTooLarge,
    #[error("Bitte laden Sie den unterschriebenen Vertrag als PDF, JPEG oder PNG hoch.")]
    ScanType,
    #[error("Bitte bestellen Sie zuerst einen Tarif.")]
    NoPlanYet,
    #[error("Das ist bereits Ihr Tarif.")]
    SamePlan,
    /// The usage over the target plan's limits, as the limit check words it.
    #[error("{0}")]
    OverLimit(String),
    // Trial extensions.
    #[error("Ihr Portal hat bereits einen Tarif.")]
    HasPlan,
    #[error("Die Testphase kann nicht weiter verlängert werden. Bitte bestellen Sie einen Tarif.")]
    NoMoreExtensions,
    #[error("Die Testphase wurde gerade schon verlängert.")]
    ExtendedMeanwhile,
    // Credit notes.
    #[error("Nur ausgestellte Rechnungen können gutgeschrieben werden.")]
    NotCreditable,
    #[error("Zu dieser Rechnung gibt es schon eine Gutschrift; bitte einen Betrag angeben.")]
    PartlyCredited,
    #[error("Bitte einen Betrag über 0,00 € angeben.")]
    NotPositive,
    #[error("Höchstens {0} (netto) können noch gutgeschrieben werden.")]
    TooMuch(Cents),
    // Payments.
    /// The amount as typed could be read two ways (or not at all): the parser's message.
    #[error("{0}")]
    Amount(&'static str),
    #[error("Bitte entweder einen Betrag als Text oder in Cent angeben, nicht beides.")]
    TwoAmounts,
    #[error("Für diese Rechnung ist keine Zahlung offen.")]
    NoPaymentDue,
    #[error(
        "Die Zahlung übersteigt den offenen Betrag von {open} um {excess}. Bitte bestätigen Sie die Überzahlung; \
         der Überschuss wird dem Guthaben des Maklers gutgeschrieben."
    )]
    Overpayment { open: Cents, excess: Cents },
    #[error("Eine Zahlung mit dieser Referenz ist bereits erfasst.")]
    DuplicateReference,
    #[error("Der Zahlungseingang kann nicht in der Zukunft liegen.")]
    PaidInFuture,
    // Reversals (Storno) of payments booked in error.
    #[error("Diese Zahlung wurde bereits storniert.")]
    AlreadyReversed,
    #[error(
        "Der Überschuss dieser Zahlung ({0}) ist bereits verrechnet oder ausgezahlt; sie kann nicht mehr storniert werden."
    )]
    BalanceSpent(Cents),
    // The credit balance.
    #[error("Es besteht kein Guthaben, das ausgezahlt werden könnte.")]
    NoBalance,
    #[error("Das Guthaben beträgt nur {0}.")]
    BalanceTooLow(Cents),
    // Plans set by the operator.
    #[error("Dieser Mandant ist gelöscht.")]
    TenantDeleted,
    // The DATEV export.
    #[error("Der Zeitraum muss in einem Kalenderjahr liegen und darf nicht vor seinem Beginn enden.")]
    ExportPeriod,
}

impl Refusal {
    /// The form field (and the API's `errors` key) a refusal belongs to.
    pub fn field(&self) -> &'static str {
        match self {
            Refusal::ScanMissing | Refusal::ScanTooLarge | Refusal::ScanType => "vertrag",
            Refusal::NoPlanYet | Refusal::SamePlan | Refusal::OverLimit(_) | Refusal::TenantDeleted => "plan",
            Refusal::NotPositive
            | Refusal::TooMuch(_)
            | Refusal::PartlyCredited
            | Refusal::Amount(_)
            | Refusal::TwoAmounts
            | Refusal::NoPaymentDue
            | Refusal::BalanceTooLow(_)
            | Refusal::NoBalance => "amount",
            Refusal::Overpayment { .. } => "overpayment",
            Refusal::DuplicateReference => "reference",
            Refusal::PaidInFuture => "paid_on",
            Refusal::ExportPeriod => "from",
            Refusal::OrderClosed
            | Refusal::HasPlan
            | Refusal::NoMoreExtensions
            | Refusal::ExtendedMeanwhile
            | Refusal::NotCreditable
            | Refusal::AlreadyReversed
            | Refusal::BalanceSpent(_) => "",
        }
    }

    /// Whether the request conflicts with what is recorded (HTTP 409) rather
    /// than being wrong in itself (422).
    pub fn is_conflict(&self) -> bool {
        matches!(
            self,
            Refusal::DuplicateReference
                | Refusal::AlreadyReversed
                | Refusal::BalanceSpent(_)
                | Refusal::OrderClosed
                | Refusal::ExtendedMeanwhile
                | Refusal::NotCreditable
                | Refusal::NoPaymentDue
                | Refusal::TenantDeleted
        )
    }
}

/// A billing operation that may be refused.
#[derive(Debug, thiserror::Error)]
pub enum BillingError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// Logged with its cause; the person sees a generic error page.
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

impl From<sqlx::Error> for BillingError {
    fn from(err: sqlx::Error) -> Self {
        BillingError::Failed(err.into())
    }
}

pub type Outcome<T> = Result<T, BillingError>;

/// Splits an outcome into what the person is shown (done, or refused) and a
/// failure, which the caller's `?` logs and answers with a generic page.
pub fn shown<T>(outcome: Outcome<T>) -> anyhow::Result<Result<T, Refusal>> {
    match outcome {
        Ok(value) => Ok(Ok(value)),
        Err(BillingError::Refused(refusal)) => Ok(Err(refusal)),
        Err(BillingError::Failed(err)) => Err(err),
    }
}
