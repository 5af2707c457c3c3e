-- The small SQL functions that the rules call for every row they look at (a billed status, a
-- held status, where an order's log starts, an order's number, a field of an entry's hashed
-- content) had their search_path pinned by 013's sweep, as every function had. PostgreSQL does
-- not inline a function that has a SET clause: each call then ran the function's own query,
-- parsed and planned again at every call (an order check at commit made three such calls, an
-- entry's hash twenty-two, a trigger's WHEN clause one for each row updated).
--
-- Written with a standard body (RETURN ...), a function is parsed once, when it is created:
-- its operators and functions are bound then, whatever search_path a caller has later, so it
-- needs no pinned path and is inlined into the query that calls it. The bodies are the same
-- expressions as before (the entries' hashes do not change: tests/ledger/test_chain.py).
-- A later migration that sweeps every function's path again must leave these out.

CREATE OR REPLACE FUNCTION order_status_billed(status text) RETURNS boolean
LANGUAGE sql IMMUTABLE
RETURN status IN ('ACCEPTED', 'DISPATCHED', 'DELIVERED', 'COMPLETED');

CREATE OR REPLACE FUNCTION order_status_holds_stock(status text) RETURNS boolean
LANGUAGE sql IMMUTABLE
RETURN status IN ('ACCEPTED');

CREATE OR REPLACE FUNCTION order_origin_status(source text) RETURNS text
LANGUAGE sql IMMUTABLE
RETURN CASE WHEN source = 'import' THEN 'DELIVERED' ELSE 'DRAFT' END;

CREATE OR REPLACE FUNCTION padded_number(prefix text, n bigint) RETURNS text
LANGUAGE sql IMMUTABLE
RETURN prefix || lpad(n::text, GREATEST(6, length(n::text)), '0');

-- STABLE, not IMMUTABLE as before: convert_to is STABLE, and PostgreSQL inlines no function
-- whose body is less immutable than the function says.
CREATE OR REPLACE FUNCTION ledger_entry_field(value bytea) RETURNS bytea
LANGUAGE sql STABLE
RETURN CASE WHEN value IS NULL THEN '\x2d2c'::bytea
            ELSE convert_to(octet_length(value)::text || ':', 'UTF8') || value
                 || '\x2c'::bytea END;

CREATE OR REPLACE FUNCTION ledger_entry_content(e ledger_entries, retailer_id bigint,
                                                vendor_id bigint) RETURNS bytea
LANGUAGE sql STABLE
RETURN ledger_entry_field(convert_to('khaacho-entry-v1', 'UTF8'))
    || ledger_entry_field(convert_to(e.id::text, 'UTF8'))
    || ledger_entry_field(convert_to(e.account_id::text, 'UTF8'))
    || ledger_entry_field(convert_to(retailer_id::text, 'UTF8'))
    || ledger_entry_field(convert_to(vendor_id::text, 'UTF8'))
    || ledger_entry_field(convert_to(e.account_version::text, 'UTF8'))
    || ledger_entry_field(convert_to(e.kind, 'UTF8'))
    || ledger_entry_field(convert_to(e.amount_paisa::text, 'UTF8'))
    || ledger_entry_field(convert_to(e.balance_after_paisa::text, 'UTF8'))
    || ledger_entry_field(convert_to(e.order_id::text, 'UTF8'))
    || ledger_entry_field(convert_to(e.payment_id::text, 'UTF8'))
    || ledger_entry_field(convert_to(e.reverses_entry_id::text, 'UTF8'))
    || ledger_entry_field(convert_to(e.actor_id::text, 'UTF8'))
    || ledger_entry_field(convert_to(e.stated_by::text, 'UTF8'))
    || ledger_entry_field(convert_to(e.acknowledged_by::text, 'UTF8'))
    || ledger_entry_field(convert_to(e.source, 'UTF8'))
    || ledger_entry_field(convert_to(
           ((extract(epoch FROM e.happened_at) * 1000000)::bigint)::text, 'UTF8'))
    || ledger_entry_field(convert_to(
           ((extract(epoch FROM e.created_at) * 1000000)::bigint)::text, 'UTF8'))
    || ledger_entry_field(convert_to(e.reason, 'UTF8'))
    || ledger_entry_field(convert_to(e.idempotency_key, 'UTF8'))
    || ledger_entry_field(e.request_hash)
    || ledger_entry_field(e.prev_hash);
