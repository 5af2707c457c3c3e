-- Documents the bot sends (a statement's PDF): the bytes are written with the outbox row that
-- sends them, in the same transaction; the sender uploads them to WhatsApp (media upload) and
-- then sends the document message that names the media id. WhatsApp keeps uploaded media for
-- 30 days, so the id is remembered for retries of the same message.
CREATE TABLE outbox_documents (
    id          bigserial PRIMARY KEY,
    filename    text NOT NULL CHECK (length(filename) BETWEEN 1 AND 240),
    mime_type   text NOT NULL CHECK (mime_type IN ('application/pdf', 'text/csv')),
    content     bytea NOT NULL CHECK (octet_length(content) BETWEEN 1 AND 16 * 1024 * 1024),
    media_id    text,                     -- set once uploaded
    uploaded_at timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((media_id IS NULL) = (uploaded_at IS NULL))
);

ALTER TABLE outbox ADD COLUMN document_id bigint REFERENCES outbox_documents (id);
