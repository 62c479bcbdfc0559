-- Prices by the month they apply from (YYYY-MM): a change applies to later
-- periods only, and every period is billed at the prices valid for it.
CREATE TABLE price_lists (
    valid_from TEXT PRIMARY KEY,
    prices     TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Which plan (and whether the whitelabel add-on) a tenant had from which
-- Berlin day; ends_on is exclusive, NULL while it runs.
CREATE TABLE subscriptions (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    plan       TEXT NOT NULL,
    whitelabel BIGINT NOT NULL,
    starts_on  TEXT NOT NULL,
    ends_on    TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX subscriptions_tenant ON subscriptions (tenant_id, starts_on);

-- Amounts owed besides the monthly fees (setup fees, trial extensions,
-- prorations), until an invoice takes them up (invoice_id).
CREATE TABLE charges (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    description  TEXT NOT NULL,
    quantity     BIGINT NOT NULL,
    unit         TEXT NOT NULL,
    unit_cents   BIGINT NOT NULL,
    service_date TEXT NOT NULL,
    invoice_id   TEXT,
    created_at   BIGINT NOT NULL
);
CREATE INDEX charges_open ON charges (tenant_id, invoice_id);

-- Invoices and credit notes. A draft has no number; finalising gives it the
-- next number of its year, and from then on nothing in it changes.
CREATE TABLE invoices (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id),
    kind          TEXT NOT NULL,
    -- monthly:<tenant>:<YYYY-MM> for the monthly run, so it makes each invoice once
    run_key       TEXT UNIQUE,
    number        TEXT UNIQUE,
    status        TEXT NOT NULL,
    issue_date    TEXT,
    due_date      TEXT,
    period_start  TEXT NOT NULL,
    period_end    TEXT NOT NULL,
    net_cents     BIGINT NOT NULL,
    vat_cents     BIGINT NOT NULL,
    gross_cents   BIGINT NOT NULL,
    -- a credit note's invoice
    corrects      TEXT REFERENCES invoices (id),
    -- the recipient as it was when the invoice was made (JSON)
    buyer         TEXT NOT NULL,
    notes         TEXT NOT NULL,
    paid_cents    BIGINT NOT NULL DEFAULT 0,
    paid_at       BIGINT,
    dunning_level BIGINT NOT NULL DEFAULT 0,
    emailed_at    BIGINT,
    created_at    BIGINT NOT NULL
);
CREATE INDEX invoices_tenant ON invoices (tenant_id, created_at);
CREATE INDEX invoices_status ON invoices (status, issue_date);

CREATE TABLE invoice_lines (
    invoice_id  TEXT NOT NULL REFERENCES invoices (id),
    position    BIGINT NOT NULL,
    description TEXT NOT NULL,
    quantity    BIGINT NOT NULL,
    unit        TEXT NOT NULL,
    unit_cents  BIGINT NOT NULL,
    PRIMARY KEY (invoice_id, position)
);

-- The last number given out per year: finalising increments it in the same
-- transaction that numbers the invoice, so numbers have no gaps.
CREATE TABLE invoice_numbers (
    year        BIGINT PRIMARY KEY,
    last_number BIGINT NOT NULL
);

CREATE TABLE payments (
    id           TEXT PRIMARY KEY,
    invoice_id   TEXT NOT NULL REFERENCES invoices (id),
    amount_cents BIGINT NOT NULL,
    method       TEXT NOT NULL,
    reference    TEXT NOT NULL,
    received_on  TEXT NOT NULL,
    recorded_by  TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    UNIQUE (method, reference)
);
