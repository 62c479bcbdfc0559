-- The schema of one broker's portal database. Portable SQL: it runs unchanged on
-- SQLite and PostgreSQL (see docs/architecture.md, "One data layer").

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE sparten (
    id          TEXT PRIMARY KEY,
    gdv_code    TEXT,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    position    BIGINT NOT NULL
);

CREATE TABLE produkte (
    id          TEXT PRIMARY KEY,
    sparte_id   TEXT NOT NULL REFERENCES sparten (id),
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    position    BIGINT NOT NULL
);
CREATE INDEX produkte_sparte ON produkte (sparte_id, position);

CREATE TABLE households (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE customers (
    id           TEXT PRIMARY KEY,
    household_id TEXT REFERENCES households (id),
    first_name   TEXT NOT NULL,
    last_name    TEXT NOT NULL,
    email        TEXT,
    phone        TEXT NOT NULL DEFAULT '',
    birth_date   TEXT,
    street       TEXT NOT NULL DEFAULT '',
    postal_code  TEXT NOT NULL DEFAULT '',
    city         TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    archived_at  BIGINT
);
CREATE INDEX customers_name ON customers (last_name, first_name);

CREATE TABLE contracts (
    id                TEXT PRIMARY KEY,
    customer_id       TEXT NOT NULL REFERENCES customers (id),
    sparte_id         TEXT NOT NULL REFERENCES sparten (id),
    produkt_id        TEXT REFERENCES produkte (id),
    insurer           TEXT NOT NULL,
    policy_number     TEXT NOT NULL,
    premium_cents     BIGINT NOT NULL,
    payment_frequency TEXT NOT NULL,
    start_date        TEXT NOT NULL,
    end_date          TEXT,
    main_due_date     TEXT,
    status            TEXT NOT NULL DEFAULT 'active',
    notes             TEXT NOT NULL DEFAULT '',
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE INDEX contracts_customer ON contracts (customer_id);
CREATE INDEX contracts_policy ON contracts (policy_number);

-- People who log in: the broker and staff (role 'broker') and customers (role
-- 'customer', linked to their customer record).
CREATE TABLE users (
    id                TEXT PRIMARY KEY,
    email             TEXT NOT NULL UNIQUE,
    name              TEXT NOT NULL,
    role              TEXT NOT NULL,
    customer_id       TEXT UNIQUE REFERENCES customers (id),
    password_hash     TEXT,
    email_verified_at BIGINT,
    disabled_at       BIGINT,
    created_at        BIGINT NOT NULL
);

-- Single-use links sent by e-mail (set a password, accept an invitation).
-- Only a SHA-256 of the token is kept.
CREATE TABLE user_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id),
    purpose    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);

CREATE TABLE sessions (
    id_hash    TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE login_throttle (
    key             TEXT PRIMARY KEY,
    failures        BIGINT NOT NULL,
    window_start_at BIGINT NOT NULL
);
