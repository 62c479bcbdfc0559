-- Money exactly right (docs/billing.md): short customer numbers, overpayments
-- and the credit balance, payments reversed instead of deleted, and the credit
-- balance used on an invoice.

-- Short, stable customer numbers (printed K-000123): one sequence over all
-- tenants, handed out from `counters` in the transaction that uses the number.
-- Existing tenants are numbered in the order they signed up.
ALTER TABLE tenants ADD COLUMN customer_number BIGINT;
UPDATE tenants SET customer_number = (
    SELECT COUNT(*) FROM tenants AS earlier
    WHERE earlier.created_at < tenants.created_at
       OR (earlier.created_at = tenants.created_at AND earlier.id <= tenants.id)
);
CREATE UNIQUE INDEX tenants_customer_number ON tenants (customer_number);

CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) SELECT 'customer_number', COALESCE(MAX(customer_number), 0) FROM tenants;

-- The part of a payment above what its invoice still owed, recorded only when
-- the operator confirmed the overpayment: it went to the tenant's credit balance.
ALTER TABLE payments ADD COLUMN excess_cents BIGINT NOT NULL DEFAULT 0;

-- A payment booked in error is reversed (Storno) with a reason, once; the
-- payment row stays.
CREATE TABLE payment_reversals (
    id          TEXT PRIMARY KEY,
    payment_id  TEXT NOT NULL UNIQUE REFERENCES payments (id),
    reason      TEXT NOT NULL,
    reversed_on TEXT NOT NULL,
    reversed_by TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

-- What the operator owes a tenant: overpayments and credit notes on paid
-- invoices add to it, using it on an invoice or paying it out takes from it.
-- `credit_balances` is what is available (changed with conditional updates,
-- so it never goes below zero), `balance_entries` how it came about; both are
-- written in one transaction.
CREATE TABLE credit_balances (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants (id),
    cents     BIGINT NOT NULL
);
CREATE TABLE balance_entries (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    -- positive: owed to the tenant from now on; negative: used or paid out
    amount_cents BIGINT NOT NULL,
    -- overpayment | credit_note | applied | payout | reversal
    kind         TEXT NOT NULL,
    payment_id   TEXT REFERENCES payments (id),
    invoice_id   TEXT REFERENCES invoices (id),
    reference    TEXT NOT NULL,
    booked_on    TEXT NOT NULL,
    recorded_by  TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX balance_entries_tenant ON balance_entries (tenant_id, created_at);
CREATE INDEX balance_entries_day ON balance_entries (booked_on);

-- Credit balance used on an invoice when it was made (EN 16931 BT-113, paid
-- amount): the invoice owes gross - prepaid - payments - credit notes.
ALTER TABLE invoices ADD COLUMN prepaid_cents BIGINT NOT NULL DEFAULT 0;

-- The API lists invoices by tenant and by issue date.
CREATE INDEX invoices_tenant_issued ON invoices (tenant_id, issue_date);
CREATE INDEX payments_received ON payments (received_on);

-- What each line and charge bills (plan, contacts, whitelabel, setup,
-- whitelabel_setup, trial_extension, other): the DATEV export books each kind
-- to its own revenue account. Lines written before are classified by the
-- descriptions the control plane gave them.
ALTER TABLE invoice_lines ADD COLUMN kind TEXT NOT NULL DEFAULT 'other';
ALTER TABLE charges ADD COLUMN kind TEXT NOT NULL DEFAULT 'other';
UPDATE invoice_lines SET kind = 'plan'
    WHERE description LIKE 'Pay-per-Use Grundgebühr%' OR description LIKE 'PREMIUMstarter,%' OR description LIKE 'PREMIUM,%';
UPDATE invoice_lines SET kind = 'contacts'
    WHERE description LIKE 'Kontakte (%' OR description LIKE '% Kontakte (höchster Stand)%';
UPDATE invoice_lines SET kind = 'whitelabel' WHERE description LIKE 'Whitelabel,%';
UPDATE invoice_lines SET kind = 'setup' WHERE description LIKE 'Einrichtungsgebühr%';
UPDATE invoice_lines SET kind = 'whitelabel_setup' WHERE description LIKE 'Einrichtung Whitelabel%';
UPDATE invoice_lines SET kind = 'trial_extension' WHERE description LIKE 'Verlängerung der Testphase%';
UPDATE charges SET kind = 'setup' WHERE description LIKE 'Einrichtungsgebühr%';
UPDATE charges SET kind = 'whitelabel_setup' WHERE description LIKE 'Einrichtung Whitelabel%';
UPDATE charges SET kind = 'trial_extension' WHERE description LIKE 'Verlängerung der Testphase%';
