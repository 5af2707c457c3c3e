-- A year of a town's data (issue 14): what keeps every chat turn's work flat as history grows.
--
-- Order, draft and imported-bill numbers are at least six digits, and longer once the sequence
-- passes 999,999: `lpad(n, 6, '0')` cut the seventh digit off, so the millionth order would have
-- been refused as a duplicate of order 100,000 (a town at the seed scale gets there in ~100 days).
CREATE FUNCTION padded_number(prefix text, n bigint) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT prefix || lpad(n::text, GREATEST(6, length(n::text)), '0')
$$;
ALTER TABLE orders ALTER COLUMN number SET DEFAULT padded_number('KH-', nextval('order_number_seq'));

-- Indexes that keep each chat turn's reads to what the turn shows (bench/history_bench.py;
-- README "Benchmarks"), each found by EXPLAIN (ANALYZE, BUFFERS) on a synthetic town
-- (`khaacho demo --town`). Plain CREATE INDEX: when this ships no deployment holds more than
-- weeks of orders, so the brief lock is harmless; on a big live table it would be CREATE INDEX
-- CONCURRENTLY, outside a transaction.
--
-- A statement's period, and the balances at its edges (today's balance less what happened
-- since: ledger.statements, ledger.reports): the entries of an account in a time range, rather
-- than every entry the account ever had.
CREATE INDEX ledger_entries_account_time ON ledger_entries (account_id, happened_at);
-- A shop's open orders (status, dues, the credit position's unbilled part): a year of
-- completed orders was walked to find the few still open. The predicate is
-- ledger.lifecycle.OPEN_STATUSES (a test checks), which contains HELD_STATUSES and
-- UNBILLED_STATUSES, so the queries that name those use it too.
CREATE INDEX orders_retailer_open ON orders (retailer_id, created_at)
    WHERE status IN ('PENDING', 'VENDOR_ASSIGNED', 'ACCEPTED', 'DISPATCHED', 'DELIVERED');
-- What a vendor holds of a product: the stock guard (013's stock_check_settled, at the commit
-- of every accept, dispatch and cancel, once per line) summed every hold the product ever had,
-- released and taken ones too, by scanning all of stock_reservations. Only open holds.
CREATE INDEX stock_reservations_held ON stock_reservations (vendor_id, sku)
    WHERE state = 'RESERVED';
-- A statement line is "acknowledged" if the audit log says so: that was a scan of the whole
-- audit log for every line.
CREATE INDEX audit_log_acknowledged ON audit_log (subject) WHERE action = 'entry.acknowledge';

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

CREATE FUNCTION vendor_record_offer() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE FUNCTION vendor_record_order() RETURNS trigger LANGUAGE plpgsql AS $$
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

-- As 013 and 020 do: every function resolves names in this schema first, the temporary
-- schema last.
DO $$
DECLARE
    fn regprocedure;
BEGIN
    FOR fn IN
        SELECT p.oid::regprocedure FROM pg_proc p
        WHERE p.pronamespace = current_schema()::regnamespace AND p.prokind = 'f'
    LOOP
        EXECUTE format('ALTER FUNCTION %s SET search_path = %I, pg_temp', fn, current_schema());
    END LOOP;
END $$;
