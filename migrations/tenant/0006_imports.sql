-- File imports (GDV VU-Vermittler, CSV, Excel) and the fields of customers and
-- contracts that an insurer's or an MVP's data carries.

-- Anrede as in the GDV key (none, herr, frau, firma, herr_und_frau); a customer
-- with `firma` is a company. The customer number is the broker's own (0100 TD2);
-- the match key is name + birth date + postal code, normalised by the
-- application (Unicode case folding, which neither engine's LOWER does alike).
ALTER TABLE customers ADD COLUMN salutation TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN title TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN customer_number TEXT;
ALTER TABLE customers ADD COLUMN match_key TEXT;
CREATE UNIQUE INDEX customers_number ON customers (customer_number);
CREATE INDEX customers_match_key ON customers (match_key);

-- The insurer's number (VU-Nr, as in the file, trimmed) and the GDV Sparte code
-- a contract was delivered under: with the policy number, a contract's identity.
ALTER TABLE contracts ADD COLUMN insurer_number TEXT NOT NULL DEFAULT '';
ALTER TABLE contracts ADD COLUMN sparte_code TEXT;

-- An uploaded file, decoded to text (an Excel sheet as CSV), kept only until its
-- import has run or the upload has expired.
CREATE TABLE import_files (
    id         TEXT PRIMARY KEY,
    -- gdv | csv | xlsx
    format     TEXT NOT NULL,
    file_name  TEXT NOT NULL,
    content    TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- One import: a preview (dry_run 1) until the broker confirms it, then the run.
CREATE TABLE imports (
    id                  TEXT PRIMARY KEY,
    file_id             TEXT,
    format              TEXT NOT NULL,
    file_name           TEXT NOT NULL,
    -- the MVP or export a CSV/Excel file came from, as the broker named it
    source              TEXT NOT NULL DEFAULT '',
    -- CSV/Excel: the columns chosen for each field, JSON
    mapping             TEXT,
    dry_run             BIGINT NOT NULL,
    -- queued | running | done | failed
    status              TEXT NOT NULL,
    records             BIGINT NOT NULL DEFAULT 0,
    processed           BIGINT NOT NULL DEFAULT 0,
    -- the line up to which the file has been applied: a resumed run goes on here
    position            BIGINT NOT NULL DEFAULT 0,
    attempts            BIGINT NOT NULL DEFAULT 0,
    customers_created   BIGINT NOT NULL DEFAULT 0,
    customers_updated   BIGINT NOT NULL DEFAULT 0,
    customers_unchanged BIGINT NOT NULL DEFAULT 0,
    contracts_created   BIGINT NOT NULL DEFAULT 0,
    contracts_updated   BIGINT NOT NULL DEFAULT 0,
    contracts_unchanged BIGINT NOT NULL DEFAULT 0,
    problem_count       BIGINT NOT NULL DEFAULT 0,
    change_count        BIGINT NOT NULL DEFAULT 0,
    failure             TEXT,
    actor_id            TEXT NOT NULL,
    actor_name          TEXT NOT NULL,
    created_at          BIGINT NOT NULL,
    confirmed_at        BIGINT,
    started_at          BIGINT,
    finished_at         BIGINT,
    heartbeat_at        BIGINT
);
CREATE INDEX imports_status ON imports (status, created_at);
CREATE INDEX imports_created ON imports (created_at);

-- What a run found wrong (skipped records, warnings), by line and record type.
CREATE TABLE import_problems (
    import_id TEXT NOT NULL REFERENCES imports (id),
    seq       BIGINT NOT NULL,
    line      BIGINT NOT NULL,
    record    TEXT NOT NULL,
    message   TEXT NOT NULL,
    PRIMARY KEY (import_id, seq)
);

-- What a run changed in existing customers and contracts.
CREATE TABLE import_changes (
    import_id TEXT NOT NULL REFERENCES imports (id),
    seq       BIGINT NOT NULL,
    line      BIGINT NOT NULL,
    subject   TEXT NOT NULL,
    detail    TEXT NOT NULL,
    PRIMARY KEY (import_id, seq)
);

-- The mapping of columns to fields last used for a source, proposed next time.
CREATE TABLE import_mappings (
    source     TEXT PRIMARY KEY,
    mapping    TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
