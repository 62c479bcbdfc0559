-- Webhooks into the broker's management program: endpoints with the events they
-- want, an outbox of events written in the transaction of their cause, one
-- delivery per event and endpoint, and every attempt for the delivery log.

CREATE TABLE webhook_endpoints (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    url             TEXT NOT NULL,
    -- The signing secret, sealed with a key derived from the portal's secret:
    -- the portal needs it in clear to sign, so it cannot be a hash.
    secret_sealed   TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    created_by      TEXT NOT NULL,
    -- Set by hand or after three days of failures; deliveries then wait.
    disabled_at     BIGINT,
    disabled_reason TEXT,
    -- The first failed attempt since the last success (the portal's clock).
    failing_since   BIGINT,
    last_success_at BIGINT
);

CREATE TABLE webhook_subscriptions (
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_type  TEXT NOT NULL,
    PRIMARY KEY (endpoint_id, event_type)
);
CREATE INDEX webhook_subscriptions_type ON webhook_subscriptions (event_type);

-- The payload is kept as sent, so that every attempt signs the same bytes.
CREATE TABLE webhook_events (
    id         TEXT PRIMARY KEY,
    event_type TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    body       TEXT NOT NULL
);

CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,
    event_id         TEXT NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
    endpoint_id      TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    -- pending, delivered, failed (retries used up), skipped (plan without webhooks)
    status           TEXT NOT NULL,
    attempts         BIGINT NOT NULL DEFAULT 0,
    -- When the next attempt is due on the portal's clock; 0 is at once.
    due_at           BIGINT NOT NULL,
    first_attempt_at BIGINT,
    -- A worker's claim on the delivery while it sends (several replicas).
    claim            TEXT,
    claimed_until    BIGINT NOT NULL DEFAULT 0,
    -- The next attempt was asked for by hand.
    by_hand          BIGINT NOT NULL DEFAULT 0,
    last_status_code BIGINT,
    last_error       TEXT,
    created_at       BIGINT NOT NULL,
    finished_at      BIGINT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, due_at);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);
CREATE INDEX webhook_deliveries_claim ON webhook_deliveries (claim);

CREATE TABLE webhook_attempts (
    id               TEXT PRIMARY KEY,
    delivery_id      TEXT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    at               BIGINT NOT NULL,
    status_code      BIGINT,
    error            TEXT,
    duration_ms      BIGINT NOT NULL,
    by_hand          BIGINT NOT NULL DEFAULT 0,
    -- The start of the receiver's answer, at most 500 characters.
    response_excerpt TEXT
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, at);
