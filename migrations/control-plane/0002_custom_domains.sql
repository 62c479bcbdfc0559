-- Brokers' own domains for their portals (whitelabel). A domain is served only
-- while `verified` is 1: its TXT record `_ordo-challenge.<domain>` held `token`
-- and it pointed (CNAME) at the tenant's portal host. Portable SQL.

CREATE TABLE custom_domains (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants (id),
    -- lowercase ASCII, no trailing dot; one tenant at a time
    domain          TEXT NOT NULL UNIQUE,
    -- random, new for every claim: the TXT record's expected value
    token           TEXT NOT NULL,
    -- 1 while the portal answers on the domain
    verified        BIGINT NOT NULL DEFAULT 0,
    -- what the last check found wrong (German, shown to the broker); NULL if it passed
    problem         TEXT,
    -- failed checks in a row; a verified domain is unrouted after domain_check_tolerance of them
    failed_checks   BIGINT NOT NULL DEFAULT 0,
    last_checked_at BIGINT,
    verified_at     BIGINT,
    created_at      BIGINT NOT NULL
);
CREATE INDEX custom_domains_tenant ON custom_domains (tenant_id);
