-- khaacho: no-transaction
-- The indexes a year of data needs (issue 14; bench/history_bench.py, README "Benchmarks"),
-- each found by EXPLAIN (ANALYZE, BUFFERS) on a synthetic town (`khaacho demo --town`). All of
-- them, and nothing else, are here so that this migration can run without a transaction and
-- build each concurrently: orders, payments and replies go on while they are built, and a
-- failed build's invalid index is dropped before the rerun (docs/operations.md, Deploys).
--
-- A statement's period, and the balances at its edges (today's balance less what happened
-- since: ledger.statements, ledger.reports): the entries of an account in a time range, rather
-- than every entry the account ever had.
DROP INDEX CONCURRENTLY IF EXISTS ledger_entries_account_time;
CREATE INDEX CONCURRENTLY ledger_entries_account_time ON ledger_entries (account_id, happened_at);
-- A shop's open orders (status, dues, the credit position's unbilled part, a payment's
-- allocation): a year of completed orders was walked to find the few still open. The predicate
-- is ledger.lifecycle.OPEN_STATUSES (a test checks), which contains HELD_STATUSES,
-- OPEN_BILL_STATUSES and UNBILLED_STATUSES, so the queries that name those use it too.
DROP INDEX CONCURRENTLY IF EXISTS orders_retailer_open;
CREATE INDEX CONCURRENTLY orders_retailer_open ON orders (retailer_id, created_at)
    WHERE status IN ('PENDING', 'VENDOR_ASSIGNED', 'ACCEPTED', 'DISPATCHED', 'DELIVERED');
-- What a vendor holds of a product: the stock guard (013's stock_check_settled, at the commit
-- of every accept, dispatch and cancel, once per line) summed every hold the product ever had,
-- released and taken ones too, by scanning all of stock_reservations. Only open holds.
DROP INDEX CONCURRENTLY IF EXISTS stock_reservations_held;
CREATE INDEX CONCURRENTLY stock_reservations_held ON stock_reservations (vendor_id, sku)
    WHERE state = 'RESERVED';
-- A statement line is "acknowledged" if the audit log says so: that was a scan of the whole
-- audit log for every line.
DROP INDEX CONCURRENTLY IF EXISTS audit_log_acknowledged;
CREATE INDEX CONCURRENTLY audit_log_acknowledged ON audit_log (subject) WHERE action = 'entry.acknowledge';
-- Message retention (026): what the archiver walks, oldest first, and the foreign keys' checks
-- on each inbound row and document it removes (without these, every delete scans the outbox).
DROP INDEX CONCURRENTLY IF EXISTS inbound_received;
CREATE INDEX CONCURRENTLY inbound_received ON inbound_messages (received_at);
DROP INDEX CONCURRENTLY IF EXISTS outbox_created;
CREATE INDEX CONCURRENTLY outbox_created ON outbox (created_at);
DROP INDEX CONCURRENTLY IF EXISTS outbox_inbound;
CREATE INDEX CONCURRENTLY outbox_inbound ON outbox (inbound_id) WHERE inbound_id IS NOT NULL;
DROP INDEX CONCURRENTLY IF EXISTS outbox_document;
CREATE INDEX CONCURRENTLY outbox_document ON outbox (document_id) WHERE document_id IS NOT NULL;
