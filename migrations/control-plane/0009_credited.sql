-- Gross amount of the credit notes that correct an invoice. What is still owed
-- is gross - paid - credited; paid_at marks the day nothing more was owed,
-- whether by payments, credit notes or both.
ALTER TABLE invoices ADD COLUMN credited_cents BIGINT NOT NULL DEFAULT 0;
