-- The tenant's audit trail: who did what to which record of this portal.
-- Written by the portal (and its API and imports), read by the owner. Entries
-- name people by id and keep a display name as it was, so that a later
-- change of name does not rewrite history.

CREATE TABLE audit_trail (
    id         TEXT PRIMARY KEY,
    at         BIGINT NOT NULL,
    -- the user (broker, staff, customer) or `api:<key id>`, `system`
    actor_id   TEXT NOT NULL,
    actor_name TEXT NOT NULL,
    action     TEXT NOT NULL,
    -- `customer:<id>`, `contract:<id>`, `import:<id>`, …
    subject    TEXT NOT NULL,
    detail     TEXT NOT NULL
);

CREATE INDEX audit_trail_at ON audit_trail (at);
