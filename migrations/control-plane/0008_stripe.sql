-- Stripe, when configured (docs/billing.md, "Payments").

-- The Stripe Customer of a tenant, made once, and the payment method the
-- broker set up (a SEPA Direct Debit mandate or a card) that invoices are
-- collected from. No payment method: the broker pays by bank transfer.
CREATE TABLE stripe_customers (
    tenant_id           TEXT PRIMARY KEY REFERENCES tenants (id),
    customer_id         TEXT NOT NULL UNIQUE,
    payment_method_id   TEXT,
    -- sepa_debit | card
    payment_method_type TEXT,
    -- what the broker recognises it by: the last four digits of IBAN or card
    payment_method_last4 TEXT,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);

-- The PaymentIntent that collects an invoice: one per invoice.
-- processing -> succeeded | failed (requires_action: the card wants the broker)
CREATE TABLE stripe_payments (
    invoice_id        TEXT PRIMARY KEY REFERENCES invoices (id),
    payment_intent_id TEXT NOT NULL UNIQUE,
    status            TEXT NOT NULL,
    failure_message   TEXT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);

-- Every webhook event handled, so a redelivered or replayed event is handled once.
CREATE TABLE stripe_events (
    id          TEXT PRIMARY KEY,
    type        TEXT NOT NULL,
    received_at BIGINT NOT NULL
);
