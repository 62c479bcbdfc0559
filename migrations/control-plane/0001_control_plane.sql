-- The control plane's own database: operators, tenants and their provisioning
-- state. Portable SQL: it runs unchanged on SQLite and PostgreSQL.

CREATE TABLE operators (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT,
    created_at    BIGINT NOT NULL
);

-- One-time login links (`control-plane operator create`); only a hash is kept.
CREATE TABLE operator_login_links (
    token_hash  TEXT PRIMARY KEY,
    operator_id TEXT NOT NULL REFERENCES operators (id),
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT
);

-- Bearer tokens for the operator API; only a hash is kept.
CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    operator_id  TEXT NOT NULL REFERENCES operators (id),
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
);

CREATE TABLE sessions (
    id_hash    TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE login_throttle (
    key             TEXT PRIMARY KEY,
    failures        BIGINT NOT NULL,
    window_start_at BIGINT NOT NULL
);

CREATE TABLE tenants (
    id              TEXT PRIMARY KEY,
    slug            TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    company         TEXT,
    street          TEXT NOT NULL,
    postal_code     TEXT NOT NULL,
    city            TEXT NOT NULL,
    phone           TEXT NOT NULL,
    email           TEXT NOT NULL UNIQUE,
    -- requested -> provisioning -> ready, or failed (status_reason says why)
    status          TEXT NOT NULL,
    status_reason   TEXT,
    -- the last provisioning step that completed; provisioning resumes after it
    provision_step  TEXT NOT NULL DEFAULT 'none',
    plan            TEXT NOT NULL,
    trial_ends_at   BIGINT,
    -- per-tenant key (base64), wrapped with the operator's master key
    wrapped_key     TEXT NOT NULL,
    -- secrets sealed with the tenant key
    db_password_enc TEXT,
    session_key_enc TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX tenants_status ON tenants (status);

-- What happened to a tenant, for the operator: provisioning steps, failures.
CREATE TABLE tenant_events (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    at         BIGINT NOT NULL,
    kind       TEXT NOT NULL,
    message    TEXT NOT NULL
);
CREATE INDEX tenant_events_tenant ON tenant_events (tenant_id, at);

CREATE TABLE audit_log (
    id      TEXT PRIMARY KEY,
    at      BIGINT NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail  TEXT NOT NULL DEFAULT ''
);
