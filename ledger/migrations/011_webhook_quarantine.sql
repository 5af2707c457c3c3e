-- What a signed webhook POST carried that could not be read: the whole body (not JSON, too deep,
-- the wrong shape) or one message or status in it (a lone surrogate, an id with a NUL, a sender
-- that is not a phone number). Kept exactly as it came, as bytes, because what PostgreSQL text
-- cannot hold is often the very reason; operators list it with `bot.quarantine.recent`.
CREATE TABLE webhook_quarantine (
    id           bigserial PRIMARY KEY,
    kind         text NOT NULL CHECK (kind IN ('body', 'message', 'status')),
    reason       text NOT NULL CHECK (length(reason) BETWEEN 1 AND 300),
    raw          bytea NOT NULL,
    digest       bytea NOT NULL UNIQUE,    -- sha256 of kind and raw: a redelivery is kept once
    received_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_quarantine_received ON webhook_quarantine (received_at);
