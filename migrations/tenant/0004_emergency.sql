-- The emergency folder (Notfallordner): the customer's own notes and documents
-- per section, the trusted person who may ask for access, the requests, and a
-- log of every step that the customer can read. The broker sees none of it.

ALTER TABLE documents ADD COLUMN emergency_section TEXT;

CREATE TABLE emergency_notes (
    customer_id TEXT NOT NULL REFERENCES customers (id),
    section     TEXT NOT NULL,
    notes       TEXT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (customer_id, section)
);

CREATE TABLE trusted_persons (
    customer_id  TEXT PRIMARY KEY REFERENCES customers (id),
    name         TEXT NOT NULL,
    email        TEXT NOT NULL,
    waiting_days BIGINT NOT NULL,
    -- the SHA-256 of the token in the trusted person's link
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL
);

CREATE TABLE emergency_requests (
    id           TEXT PRIMARY KEY,
    customer_id  TEXT NOT NULL REFERENCES customers (id),
    requested_at BIGINT NOT NULL,
    -- access starts here unless the customer refuses before
    grant_at     BIGINT NOT NULL,
    refused_at   BIGINT,
    -- set when the folder was first opened after the waiting period
    granted_at   BIGINT,
    -- set when the trusted person was replaced or removed
    closed_at    BIGINT
);
CREATE INDEX emergency_requests_customer ON emergency_requests (customer_id, requested_at);

CREATE TABLE emergency_log (
    id          TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers (id),
    at          BIGINT NOT NULL,
    event       TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX emergency_log_customer ON emergency_log (customer_id, at);
