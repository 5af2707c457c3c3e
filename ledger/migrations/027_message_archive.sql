-- Message retention (issue 14): inbound and outbound message rows older than
-- MESSAGE_RETENTION_DAYS move, in batches, into archive tables of the same shape
-- (ledger/message_archive.py; the job "archive old messages" and `khaacho messages archive`).
-- The hot tables stay the size of the retention window, so the inbox's and the sender's
-- indexes, and every scan of them, do not grow with history. The ledger is not touched: orders,
-- entries and payments name messages only by text keys (request_key, confirm_key), never by a
-- foreign key, and are kept forever.
--
-- A message still in flight never moves: an unhandled inbound message, an outbound one that is
-- pending or being sent, or an inbound one a remaining outbox row still answers (the foreign key
-- outbox.inbound_id). The archives have no foreign keys: what they point at may move or go.
-- A test checks each archive has its table's columns, in order, plus archived_at: a migration
-- adding a column to inbound_messages or outbox adds it here too.
CREATE TABLE inbound_messages_archive (LIKE inbound_messages INCLUDING DEFAULTS);
ALTER TABLE inbound_messages_archive
    ADD PRIMARY KEY (id),
    ADD COLUMN archived_at timestamptz NOT NULL DEFAULT now();
CREATE TABLE outbox_archive (LIKE outbox INCLUDING DEFAULTS);
ALTER TABLE outbox_archive
    ADD PRIMARY KEY (id),
    ADD COLUMN archived_at timestamptz NOT NULL DEFAULT now();
-- The archive keeps the sequences' defaults out of it: ids come from the rows moved.
ALTER TABLE inbound_messages_archive ALTER COLUMN id DROP DEFAULT;
ALTER TABLE outbox_archive ALTER COLUMN id DROP DEFAULT;

-- What the archiver walks (oldest first) and the foreign key's check on each inbound row it
-- removes (without this index, every delete scans the whole outbox). Plain CREATE INDEX: these
-- tables are small when this ships (no deployment holds a year of messages yet); on a big live
-- table this would be CREATE INDEX CONCURRENTLY outside a transaction.
CREATE INDEX inbound_received ON inbound_messages (received_at);
CREATE INDEX outbox_created ON outbox (created_at);
CREATE INDEX outbox_inbound ON outbox (inbound_id) WHERE inbound_id IS NOT NULL;
-- And for the documents only archived messages named (deleted with them).
CREATE INDEX outbox_document ON outbox (document_id) WHERE document_id IS NOT NULL;
