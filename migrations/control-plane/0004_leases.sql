-- Work that must run on one control-plane replica at a time (the reconcile
-- loop, scheduled jobs) holds a lease: a row naming the holder and when its
-- claim runs out. A replica that dies loses the lease when it expires.
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
