-- A year of a town's data (issue 14): what keeps every chat turn's work flat as history grows,
-- and the archive that keeps the message tables the size of their retention window. Every index
-- this needs on the existing tables is in 027 (the part a deploy must build CONCURRENTLY).
--
-- Order, draft and imported-bill numbers are at least six digits, and longer once the sequence
-- passes 999,999: `lpad(n, 6, '0')` cut the seventh digit off, so the millionth order would have
-- been refused as a duplicate of order 100,000 (a town at the seed scale gets there in ~100 days).
CREATE FUNCTION padded_number(prefix text, n bigint) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT prefix || lpad(n::text, GREATEST(6, length(n::text)), '0')
$$;
ALTER TABLE orders ALTER COLUMN number SET DEFAULT padded_number('KH-', nextval('order_number_seq'));

-- Each vendor's record, kept as it happens: offers refused or left to expire, and orders
-- delivered. Ranking vendors for an order (ledger.ranking: every quote, confirmation and
-- re-offer) counted both from every offer and order the vendor ever had, for every vendor able
-- to fill the order: work that grew with the town's whole history on every draft. The counts
-- are the same (tests/ledger/test_vendor_record.py recomputes them); the outcomes are
-- ledger.ranking.FAILED_OUTCOMES, the statuses ledger.lifecycle.FULFILLED_STATUSES.
CREATE TABLE vendor_record (
    vendor_id  bigint PRIMARY KEY REFERENCES vendors (user_id),
    failures   bigint NOT NULL DEFAULT 0 CHECK (failures >= 0),
    fulfilled  bigint NOT NULL DEFAULT 0 CHECK (fulfilled >= 0)
);
INSERT INTO vendor_record (vendor_id, failures, fulfilled)
SELECT v.user_id,
       (SELECT count(*) FROM vendor_assignments va
        WHERE va.vendor_id = v.user_id AND va.outcome IN ('REJECTED', 'EXPIRED')),
       (SELECT count(*) FROM orders o
        WHERE o.vendor_id = v.user_id AND o.status IN ('DELIVERED', 'COMPLETED'))
FROM vendors v;

CREATE FUNCTION vendor_record_offer() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    IF NEW.outcome IN ('REJECTED', 'EXPIRED')
       AND (TG_OP = 'INSERT' OR OLD.outcome NOT IN ('REJECTED', 'EXPIRED')) THEN
        INSERT INTO vendor_record AS r (vendor_id, failures) VALUES (NEW.vendor_id, 1)
        ON CONFLICT (vendor_id) DO UPDATE SET failures = r.failures + 1;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER vendor_record_offer AFTER INSERT OR UPDATE OF outcome ON vendor_assignments
    FOR EACH ROW EXECUTE FUNCTION vendor_record_offer();

-- Once fulfilled an order stays so (DELIVERED -> COMPLETED only); an imported bill arrives so.
CREATE FUNCTION vendor_record_order() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    IF NEW.status IN ('DELIVERED', 'COMPLETED') AND NEW.vendor_id IS NOT NULL
       AND (TG_OP = 'INSERT' OR OLD.status NOT IN ('DELIVERED', 'COMPLETED')) THEN
        INSERT INTO vendor_record AS r (vendor_id, fulfilled) VALUES (NEW.vendor_id, 1)
        ON CONFLICT (vendor_id) DO UPDATE SET fulfilled = r.fulfilled + 1;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER vendor_record_order AFTER INSERT OR UPDATE OF status ON orders
    FOR EACH ROW EXECUTE FUNCTION vendor_record_order();

-- Message retention: inbound and outbound message rows older than MESSAGE_RETENTION_DAYS move,
-- in batches, into archive tables of the same shape (ledger/message_archive.py; the job
-- "archive old messages" and `khaacho messages archive`). The hot tables stay the size of the
-- retention window, so the inbox's and the sender's indexes, and every scan of them, do not grow
-- with history. The ledger is not touched: orders, entries and payments name messages only by
-- text keys (request_key, confirm_key), never by a foreign key, and are kept forever.
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
