-- The tenant REST API: the keys scripts authenticate with, the answers to POST
-- requests sent with an Idempotency-Key (kept for 24 hours), and the insurer's
-- number on contracts (the GDV VU-Nr), which MVPs and GDV files carry.

ALTER TABLE contracts ADD COLUMN insurer_number TEXT NOT NULL DEFAULT '';

-- The API's lists page through contracts of one customer in id order.
CREATE INDEX contracts_customer_id ON contracts (customer_id, id);

CREATE TABLE api_keys (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    -- read | write
    scope           TEXT NOT NULL,
    -- the SHA-256 of the key; the key itself is shown once and never stored
    key_hash        TEXT NOT NULL UNIQUE,
    -- the key's first characters, so that the broker can tell keys apart
    prefix          TEXT NOT NULL,
    -- the user who made it, or `operator` when the operator made it
    created_by_id   TEXT NOT NULL,
    created_by_name TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    last_used_at    BIGINT,
    revoked_at      BIGINT
);

CREATE TABLE api_idempotency (
    key_id          TEXT NOT NULL REFERENCES api_keys (id),
    idempotency_key TEXT NOT NULL,
    -- SHA-256 of method, path and body: a reuse with another request is refused
    request_hash    TEXT NOT NULL,
    -- NULL while the first request is still being answered
    status          BIGINT,
    body            TEXT,
    location        TEXT,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (key_id, idempotency_key)
);
CREATE INDEX api_idempotency_created ON api_idempotency (created_at);
