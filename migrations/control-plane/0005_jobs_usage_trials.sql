-- One row per scheduled job and due time: the replica whose INSERT succeeds
-- runs it (scheduler.rs). finished_at stays NULL while running or after a
-- failure (error says why); such a run is taken up again later.
CREATE TABLE job_runs (
    job         TEXT NOT NULL,
    due_at      BIGINT NOT NULL,
    holder      TEXT NOT NULL,
    started_at  BIGINT NOT NULL,
    finished_at BIGINT,
    error       TEXT,
    PRIMARY KEY (job, due_at)
);

-- Usage per tenant and Berlin day (YYYY-MM-DD), for billing and charts.
CREATE TABLE usage_snapshots (
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    day          TEXT NOT NULL,
    contacts     BIGINT NOT NULL,
    stored_bytes BIGINT NOT NULL,
    taken_at     BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, day)
);

-- Trial reminders sent for the current trial end: 0 none, 1 the 7-day, 2 the 1-day.
ALTER TABLE tenants ADD COLUMN trial_reminders BIGINT NOT NULL DEFAULT 0;
-- Paid 30-day extensions bought so far.
ALTER TABLE tenants ADD COLUMN trial_extensions BIGINT NOT NULL DEFAULT 0;
-- Set when the instance and its data were deleted; the row stays for invoices and the audit log.
ALTER TABLE tenants ADD COLUMN deleted_at BIGINT;
