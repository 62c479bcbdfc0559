-- Whether the tenant has the whitelabel add-on (with a paid plan).
ALTER TABLE tenants ADD COLUMN whitelabel BIGINT NOT NULL DEFAULT 0;

-- A broker's order of a plan: the contract to sign, the signed scan (base64,
-- so the table is the same on both databases), and the operator's decision.
-- awaiting_signature -> signed -> confirmed | rejected
CREATE TABLE orders (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants (id),
    plan           TEXT NOT NULL,
    whitelabel     BIGINT NOT NULL,
    status         TEXT NOT NULL,
    -- SHA-256 of the contract PDF handed out, so the signed scan can be matched to it
    contract_sha256 TEXT NOT NULL,
    signed_name    TEXT,
    signed_type    TEXT,
    signed_data    TEXT,
    signed_at      BIGINT,
    decided_at     BIGINT,
    decided_by     TEXT,
    reason         TEXT,
    created_at     BIGINT NOT NULL
);
CREATE INDEX orders_tenant ON orders (tenant_id, created_at);
CREATE INDEX orders_status ON orders (status);
