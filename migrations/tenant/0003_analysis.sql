-- The needs analysis: what a customer tells about their situation, and the
-- broker's rules for which Sparten that situation calls for.

CREATE TABLE customer_profiles (
    customer_id TEXT PRIMARY KEY REFERENCES customers (id),
    -- single | couple | family
    household   TEXT NOT NULL,
    children    BIGINT NOT NULL DEFAULT 0,
    -- employed | self_employed | civil_servant | student | retired | not_working
    employment  TEXT NOT NULL,
    -- owner | tenant
    housing     TEXT NOT NULL,
    -- flags, 0 or 1
    has_car     BIGINT NOT NULL DEFAULT 0,
    has_pet     BIGINT NOT NULL DEFAULT 0,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE analysis_rules (
    id                 TEXT PRIMARY KEY,
    sparte_id          TEXT NOT NULL REFERENCES sparten (id),
    -- the situation that calls for the Sparte: always | earning | self_employed |
    -- partner | children | owner | tenant | car | pet
    situation          TEXT NOT NULL,
    -- what the customer reads, in the broker's words
    text               TEXT NOT NULL,
    -- a covering contract older than this many years is worth a review
    review_after_years BIGINT,
    position           BIGINT NOT NULL
);
