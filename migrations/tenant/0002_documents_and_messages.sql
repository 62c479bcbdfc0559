-- Documents (PDFs and images) of customers and contracts, and the customer's
-- messages to the broker with their photos. File contents live in the
-- tenant's document store; the database keeps what is needed to find and show them.

CREATE TABLE message_threads (
    id          TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers (id),
    -- bank_details | contract_question | claim | missing_contract | other
    category    TEXT NOT NULL,
    contract_id TEXT REFERENCES contracts (id),
    -- new | in_progress | done
    status      TEXT NOT NULL DEFAULT 'new',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX message_threads_customer ON message_threads (customer_id, updated_at);
CREATE INDEX message_threads_status ON message_threads (status, updated_at);

CREATE TABLE messages (
    id          TEXT PRIMARY KEY,
    thread_id   TEXT NOT NULL REFERENCES message_threads (id),
    author_id   TEXT NOT NULL REFERENCES users (id),
    -- broker | customer
    author_role TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX messages_thread ON messages (thread_id, created_at);

CREATE TABLE documents (
    id                  TEXT PRIMARY KEY,
    customer_id         TEXT NOT NULL REFERENCES customers (id),
    contract_id         TEXT REFERENCES contracts (id),
    message_id          TEXT REFERENCES messages (id),
    -- the name shown to people, cleaned of any path; never used to store the file
    file_name           TEXT NOT NULL,
    -- determined from the content, not from the name
    content_type        TEXT NOT NULL,
    size_bytes          BIGINT NOT NULL,
    -- a flag, 0 or 1 (sqlx's Any driver has no portable boolean)
    visible_to_customer BIGINT NOT NULL DEFAULT 0,
    uploaded_by         TEXT NOT NULL REFERENCES users (id),
    created_at          BIGINT NOT NULL
);
CREATE INDEX documents_customer ON documents (customer_id, created_at);
CREATE INDEX documents_contract ON documents (contract_id);
CREATE INDEX documents_message ON documents (message_id);
