-- What is still owed on each bill, kept as allocations are posted and payments reversed (issue
-- 14; bench/history_bench.py). Every receivables read (the ageing page, dues, the admin's
-- overdue figure, a payment's allocation) summed each open bill's allocations again, so a page
-- read every open bill of the town and all their payments; a year of shops that never pay made
-- that 15,000 bills and 100 ms a view. This table holds one row per billed order with something
-- still owed: the amount, and the bill's parties and dates (fixed once billed: 013's guards),
-- so a read is one scan of the bills that owe.
--
-- A row is what the entries say, never what a service says: triggers on the three tables the
-- figure comes from recompute the bill's row from its order and its standing allocations
-- (bills_owing_refresh), and a guard refuses every other write, the owner's too. The ledger
-- check (ledger.check, kind bill_owing) recomputes every row from the allocations and compares.
-- Definitions the reads rely on, as ledger.payments.open_bills had them: billed is 013's
-- order_status_billed (ledger.lifecycle.BILLED_STATUSES; a test checks); owing is the total less
-- the allocations of payments not reversed; a bill owing nothing has no row.
CREATE TABLE bills_owing (
    order_id     bigint PRIMARY KEY REFERENCES orders (id),
    retailer_id  bigint NOT NULL,
    vendor_id    bigint NOT NULL,
    accepted_at  timestamptz NOT NULL,
    due_at       timestamptz NOT NULL,
    owing_paisa  bigint NOT NULL CHECK (owing_paisa > 0)
);
-- A shop's dues and a payment's allocation (an account's bills, oldest first); a vendor's
-- receivables; what is overdue town-wide. owing_paisa is in none, so a payment's update of it
-- stays a HOT update.
CREATE INDEX bills_owing_account ON bills_owing (retailer_id, vendor_id, accepted_at);
CREATE INDEX bills_owing_vendor ON bills_owing (vendor_id, retailer_id);
CREATE INDEX bills_owing_due ON bills_owing (due_at);

-- The order's row as its order and allocations say it should be, written or removed.
CREATE FUNCTION bills_owing_refresh(wanted bigint) RETURNS void
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    bill record;
BEGIN
    SELECT o.retailer_id, o.vendor_id, o.accepted_at, o.due_at,
           order_status_billed(o.status) AS billed,
           o.total_paisa - COALESCE((
               SELECT sum(pa.amount_paisa) FROM payment_allocations pa
               JOIN payments p ON p.id = pa.payment_id AND NOT p.reversed
               WHERE pa.order_id = o.id), 0) AS owing
    INTO bill FROM orders o WHERE o.id = wanted;
    IF bill.billed AND bill.owing > 0 THEN
        INSERT INTO bills_owing AS b (order_id, retailer_id, vendor_id, accepted_at, due_at,
                                      owing_paisa)
        VALUES (wanted, bill.retailer_id, bill.vendor_id, bill.accepted_at, bill.due_at,
                bill.owing)
        ON CONFLICT (order_id) DO UPDATE SET owing_paisa = EXCLUDED.owing_paisa
        WHERE b.owing_paisa <> EXCLUDED.owing_paisa;
    ELSE
        DELETE FROM bills_owing WHERE order_id = wanted;
    END IF;
END $$;

CREATE FUNCTION bills_owing_order() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM bills_owing_refresh(NEW.id);
    RETURN NULL;
END $$;

CREATE FUNCTION bills_owing_allocation() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM bills_owing_refresh(NEW.order_id);
    RETURN NULL;
END $$;

CREATE FUNCTION bills_owing_reversal() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM bills_owing_refresh(pa.order_id)
    FROM payment_allocations pa WHERE pa.payment_id = NEW.id ORDER BY pa.order_id;
    RETURN NULL;
END $$;

-- Only the triggers above write it: a statement of anyone's own (depth 1) is refused.
CREATE FUNCTION bills_owing_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    IF pg_trigger_depth() < 2 THEN
        RAISE EXCEPTION 'bills_owing: % refused: it is kept by the ledger''s triggers from '
            'orders and allocations', TG_OP USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$;

-- The triggers first: their locks hold writes to the three tables back until this commits, so
-- the fill below misses nothing a running build writes meanwhile. An order becomes or stops
-- being a bill only as its status moves (a bill's total, parties and dates are fixed by then:
-- 013), so moves between billed statuses are left alone: completing needs the bill paid off,
-- its row already gone. Imported bills are born billed (015).
CREATE TRIGGER bills_owing_order AFTER INSERT ON orders
    FOR EACH ROW WHEN (order_status_billed(NEW.status))
    EXECUTE FUNCTION bills_owing_order();
CREATE TRIGGER bills_owing_status AFTER UPDATE OF status ON orders
    FOR EACH ROW WHEN (order_status_billed(NEW.status) <> order_status_billed(OLD.status))
    EXECUTE FUNCTION bills_owing_order();
CREATE TRIGGER bills_owing_allocation AFTER INSERT ON payment_allocations
    FOR EACH ROW EXECUTE FUNCTION bills_owing_allocation();
CREATE TRIGGER bills_owing_reversal AFTER UPDATE OF reversed ON payments
    FOR EACH ROW WHEN (NEW.reversed AND NOT OLD.reversed)
    EXECUTE FUNCTION bills_owing_reversal();

INSERT INTO bills_owing (order_id, retailer_id, vendor_id, accepted_at, due_at, owing_paisa)
SELECT o.id, o.retailer_id, o.vendor_id, o.accepted_at, o.due_at,
       o.total_paisa - COALESCE(a.paid, 0)
FROM orders o
LEFT JOIN (SELECT pa.order_id, sum(pa.amount_paisa) AS paid
           FROM payment_allocations pa JOIN payments p ON p.id = pa.payment_id AND NOT p.reversed
           GROUP BY pa.order_id) a ON a.order_id = o.id
WHERE order_status_billed(o.status) AND o.total_paisa > COALESCE(a.paid, 0);

CREATE TRIGGER bills_owing_guard BEFORE INSERT OR UPDATE OR DELETE ON bills_owing
    FOR EACH ROW EXECUTE FUNCTION bills_owing_guard();
CREATE TRIGGER bills_owing_no_truncate BEFORE TRUNCATE ON bills_owing
    FOR EACH STATEMENT
    EXECUTE FUNCTION financial_refuse('bills_owing is kept by the ledger''s triggers');

-- A retailer's credit score read the shop's whole history on every view (every bill, every
-- allocation, every payment: ledger.score_data), so it grew with the shop's age. The score is
-- a pure function of those facts; most of them stop changing once a bill is paid off. This is
-- each retailer's record as of `as_of` (written with the analytics refresh's scores:
-- ledger.score_data.keep), in one statement's snapshot: the bills paid off by then (their facts
-- are final unless a payment is reversed), the ids of the others, the payments and reversals
-- counted by then, and each account's version then. A read at a later moment reads the kept
-- bills from here and only the rest live: the unsettled bills, and what the entries written
-- since (above the versions) name; a reversal since, or no row, reads it all as before. A row
-- is never wrong for being old, only slower; tests/ledger/test_score_facts.py compares both
-- readings.
CREATE TABLE score_facts (
    retailer_id  bigint PRIMARY KEY REFERENCES retailers (user_id),
    as_of        timestamptz NOT NULL,
    account_ids  bigint[] NOT NULL,        -- the retailer's accounts, and the version of each
    versions     bigint[] NOT NULL,
    bill_ids     bigint[] NOT NULL,        -- the bills paid off by as_of, oldest billed first
    vendor_ids   bigint[] NOT NULL,
    accepted     timestamptz[] NOT NULL,
    due          timestamptz[] NOT NULL,
    totals       bigint[] NOT NULL,
    paid_at      timestamptz[] NOT NULL,
    live_ids     bigint[] NOT NULL,        -- every other billed (or since cancelled) order
    payments     bigint NOT NULL,          -- received by as_of
    reversals    timestamptz[] NOT NULL    -- payment reversals posted by as_of, in order
);
