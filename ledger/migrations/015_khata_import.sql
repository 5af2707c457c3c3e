-- A vendor's existing book (khata) comes in, and every entry says who stated it, who
-- acknowledged it, when it happened and where it came from.
--
--   ledger_entries  stated_by (who said it happened: the vendor who accepted an order or
--                   recorded a payment, the retailer who claims to have paid), acknowledged_by
--                   (the other side agreeing: the retailer who placed the order, the vendor who
--                   confirms a claim; NULL until someone does), happened_at (the business time:
--                   the bill's or receipt's date for imports, = created_at for live entries) and
--                   source ('live' or 'import'). All four are written with the entry and never
--                   change (entries are append-only), so an entry's content stays well-defined
--                   for the hash chains to come.
--   orders          an imported bill is an order too, so payments allocate to it, reminders and
--                   ageing see it and `khaacho check` checks it: source 'import', the vendor's
--                   bill number in `reference`, no lines, born DELIVERED (billed when it
--                   happened, due when the book says) and COMPLETED once paid, like any other.
--                   Its log starts at DELIVERED: it never was a draft here.
--   payments        source 'import' for receipts from a book; method 'other' is allowed.
--   khata_import_rows  one row per imported reference (vendor + reference is the idempotency
--                   key of an import), append-only: what each line of each book said.

-- ledger_entries -------------------------------------------------------------------------------

ALTER TABLE ledger_entries
    ADD COLUMN stated_by bigint REFERENCES users (id),
    ADD COLUMN acknowledged_by bigint REFERENCES users (id),
    ADD COLUMN happened_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN source text NOT NULL DEFAULT 'live' CHECK (source IN ('live', 'import')),
    ADD CONSTRAINT ledger_entries_acknowledged_by_other
        CHECK (acknowledged_by IS DISTINCT FROM stated_by OR acknowledged_by IS NULL),
    ADD CONSTRAINT ledger_entries_imports_are_bills_and_receipts
        CHECK (source = 'live' OR kind IN ('ORDER_CREDIT', 'PAYMENT_DEBIT'));

-- Entries written before this migration happened when they were written, stated by whoever
-- posted them. The append-only trigger is held off for this one backfill, inside the migration's
-- transaction, as the owner.
ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_no_update_delete;
UPDATE ledger_entries SET happened_at = created_at, stated_by = actor_id;
ALTER TABLE ledger_entries ENABLE TRIGGER ledger_entries_no_update_delete;

-- payments and orders --------------------------------------------------------------------------

ALTER TABLE payments
    ADD COLUMN source text NOT NULL DEFAULT 'live' CHECK (source IN ('live', 'import')),
    DROP CONSTRAINT payments_method_check,
    ADD CONSTRAINT payments_method_check
        CHECK (method IN ('cash', 'bank', 'esewa', 'khalti', 'fonepay', 'cheque', 'other'));

CREATE SEQUENCE import_bill_seq;
ALTER TABLE orders
    ADD COLUMN source text NOT NULL DEFAULT 'live' CHECK (source IN ('live', 'import')),
    ADD COLUMN reference text CHECK (length(reference) BETWEEN 1 AND 100),
    ADD CONSTRAINT orders_imported_have_a_reference CHECK ((source = 'import') = (reference IS NOT NULL));
CREATE UNIQUE INDEX orders_import_reference ON orders (vendor_id, reference)
    WHERE source = 'import';

-- Where an order's log starts: a live order is born a DRAFT, an imported bill DELIVERED.
CREATE FUNCTION order_origin_status(source text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN source = 'import' THEN 'DELIVERED' ELSE 'DRAFT' END
$$;

-- The imported rows ------------------------------------------------------------------------------

CREATE TABLE khata_import_rows (
    vendor_id     bigint NOT NULL REFERENCES vendors (user_id),
    reference     text NOT NULL CHECK (length(reference) BETWEEN 1 AND 100),
    run_id        bigint NOT NULL,       -- one import of one file
    line          integer NOT NULL CHECK (line > 0),
    retailer_id   bigint NOT NULL REFERENCES retailers (user_id),
    kind          text NOT NULL CHECK (kind IN ('sale', 'payment')),
    happened_on   date NOT NULL,
    amount_paisa  bigint NOT NULL CHECK (amount_paisa > 0),
    due_on        date,                  -- as the book gave it (a sale's; NULL: credit terms)
    method        text CHECK (method IN ('cash', 'bank', 'esewa', 'khalti', 'fonepay', 'cheque',
                                         'other')),
    imported_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (vendor_id, reference),
    CHECK ((kind = 'payment') = (method IS NOT NULL)),
    CHECK (kind = 'sale' OR due_on IS NULL),
    CHECK (due_on IS NULL OR due_on >= happened_on)
);
CREATE SEQUENCE khata_import_run_seq;
-- The posting pass reads one run's rows per account in the order they are posted.
CREATE INDEX khata_import_rows_run ON khata_import_rows (run_id, retailer_id, vendor_id,
                                                          happened_on);

CREATE TRIGGER khata_import_rows_append_only BEFORE UPDATE OR DELETE ON khata_import_rows
    FOR EACH STATEMENT EXECUTE FUNCTION financial_refuse('what a book said is kept as it was');
CREATE TRIGGER khata_import_rows_no_truncate BEFORE TRUNCATE ON khata_import_rows
    FOR EACH STATEMENT EXECUTE FUNCTION financial_refuse('what a book said is kept as it was');

-- The guards of 002 and 013, extended -----------------------------------------------------------

-- 002: new orders start as drafts (an imported bill as DELIVERED); a status changes only along
-- order_status_transitions.
CREATE OR REPLACE FUNCTION orders_check_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.status <> order_origin_status(NEW.source) THEN
            RAISE EXCEPTION 'illegal order transition: new order must be %, not %',
                order_origin_status(NEW.source), NEW.status USING ERRCODE = 'check_violation';
        END IF;
    ELSIF NEW.status IS DISTINCT FROM OLD.status AND NOT EXISTS (
        SELECT 1 FROM order_status_transitions
        WHERE from_status = OLD.status AND to_status = NEW.status
    ) THEN
        RAISE EXCEPTION 'illegal order transition % -> % (order %)', OLD.status, NEW.status, OLD.number
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;

-- 013's orders_guard; only the INSERT branch is new: an imported bill arrives billed and
-- delivered on the day it happened, with its vendor and due date, and nothing a live order
-- would have had (no request, confirmation, dispatch or closing).
CREATE OR REPLACE FUNCTION orders_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    -- The columns the services' steps change; the rules below say when.
    steps constant text[] := '{status,updated_at,total_paisa,confirm_key,vendor_id,accepted_at,'
        'due_at,confirmed_at,dispatched_at,delivered_at,closed_at,number}';
    lines integer;
    lines_total bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.source = 'import' THEN
            IF NEW.vendor_id IS NULL OR NEW.accepted_at IS NULL OR NEW.due_at IS NULL
                    OR NEW.delivered_at IS DISTINCT FROM NEW.accepted_at
                    OR NEW.due_at < NEW.accepted_at
                    OR num_nonnulls(NEW.confirm_key, NEW.request_key, NEW.draft_ref,
                                    NEW.confirmed_at, NEW.dispatched_at, NEW.closed_at) > 0 THEN
                RAISE EXCEPTION 'orders: an imported bill arrives delivered on the day it was '
                    'billed, with its vendor and a due date from then on, and nothing else'
                    USING ERRCODE = 'check_violation';
            END IF;
            RETURN NEW;
        END IF;
        IF num_nonnulls(NEW.vendor_id, NEW.confirm_key, NEW.confirmed_at, NEW.accepted_at,
                        NEW.due_at, NEW.dispatched_at, NEW.delivered_at, NEW.closed_at) > 0 THEN
            RAISE EXCEPTION 'orders: a new order is a draft: no vendor, confirmation, billing or '
                'status time yet' USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END IF;
    -- What no step ever changes, including any column added later.
    IF to_jsonb(NEW) - steps IS DISTINCT FROM to_jsonb(OLD) - steps THEN
        RAISE EXCEPTION 'orders %: UPDATE refused: an order''s number, retailer, request key and '
            'creation time never change', OLD.number USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- A draft's "D-…" becomes its "KH-…" as it is placed (014), and never changes again.
    IF NEW.number IS DISTINCT FROM OLD.number AND NOT (
            OLD.status = 'DRAFT' AND OLD.number LIKE 'D-%' AND NEW.number LIKE 'KH-%') THEN
        RAISE EXCEPTION 'orders %: UPDATE refused: an order''s number is given once, when it is '
            'placed', OLD.number USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.status <> 'DRAFT' AND (NEW.total_paisa, NEW.confirm_key)
            IS DISTINCT FROM (OLD.total_paisa, OLD.confirm_key) THEN
        RAISE EXCEPTION 'orders %: UPDATE refused: the total is frozen once the order leaves '
            'DRAFT (it is %)', OLD.number, OLD.status USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.vendor_id IS DISTINCT FROM OLD.vendor_id AND OLD.status <> 'PENDING' THEN
        RAISE EXCEPTION 'orders %: UPDATE refused: the vendor changes only while the order waits '
            'for one (PENDING, not %)', OLD.number, OLD.status
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF (NEW.accepted_at, NEW.due_at) IS DISTINCT FROM (OLD.accepted_at, OLD.due_at)
            AND (OLD.status <> 'VENDOR_ASSIGNED' OR OLD.accepted_at IS NOT NULL) THEN
        RAISE EXCEPTION 'orders %: UPDATE refused: billing time and due date are set once, at '
            'acceptance', OLD.number USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF (OLD.confirmed_at IS NOT NULL AND NEW.confirmed_at IS DISTINCT FROM OLD.confirmed_at)
            OR (OLD.dispatched_at IS NOT NULL
                AND NEW.dispatched_at IS DISTINCT FROM OLD.dispatched_at)
            OR (OLD.delivered_at IS NOT NULL AND NEW.delivered_at IS DISTINCT FROM OLD.delivered_at)
            OR (OLD.closed_at IS NOT NULL AND NEW.closed_at IS DISTINCT FROM OLD.closed_at) THEN
        RAISE EXCEPTION 'orders %: UPDATE refused: a status time, once set, never changes',
            OLD.number USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.status IS NOT DISTINCT FROM OLD.status THEN
        RETURN NEW;
    END IF;
    -- A move carries its money and stock with it (the services do those first).
    IF OLD.status = 'DRAFT' AND NEW.status = 'PENDING' THEN
        SELECT count(*), COALESCE(sum(l.line_total_paisa), 0) INTO lines, lines_total
        FROM order_lines l WHERE l.order_id = NEW.id;
        IF lines = 0 OR lines_total <> NEW.total_paisa THEN
            RAISE EXCEPTION 'orders %: confirmation refused: total % paisa, its % lines sum to %',
                OLD.number, NEW.total_paisa, lines, lines_total USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    IF OLD.status = 'ACCEPTED' AND EXISTS (
        SELECT 1 FROM stock_reservations s WHERE s.order_id = NEW.id AND s.state = 'RESERVED'
    ) THEN
        RAISE EXCEPTION 'orders %: % refused: its reserved stock is not taken or released yet',
            OLD.number, NEW.status USING ERRCODE = 'check_violation';
    END IF;
    IF OLD.status = 'ACCEPTED' AND NEW.status = 'CANCELLED' AND EXISTS (
        SELECT 1 FROM ledger_entries c WHERE c.order_id = NEW.id AND c.kind = 'ORDER_CREDIT'
          AND NOT EXISTS (SELECT 1 FROM ledger_entries r WHERE r.reverses_entry_id = c.id)
    ) THEN
        RAISE EXCEPTION 'orders %: cancellation refused: its ORDER_CREDIT still stands',
            OLD.number USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.status = 'COMPLETED' AND NEW.total_paisa <> COALESCE((
        SELECT sum(pa.amount_paisa) FROM payment_allocations pa
        JOIN payments p ON p.id = pa.payment_id
        WHERE pa.order_id = NEW.id AND NOT p.reversed), 0) THEN
        RAISE EXCEPTION 'orders %: completion refused: not paid in full', OLD.number
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;

-- 013's order_transitions_check: an imported bill's log continues from DELIVERED.
CREATE OR REPLACE FUNCTION order_transitions_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    current text;
    origin text;
    previous text;
BEGIN
    SELECT o.status, order_origin_status(o.source) INTO current, origin
    FROM orders o WHERE o.id = NEW.order_id;
    SELECT t.to_status INTO previous FROM order_transitions t
    WHERE t.order_id = NEW.order_id ORDER BY t.id DESC LIMIT 1;
    IF NEW.from_status <> COALESCE(previous, origin) OR NEW.to_status <> current THEN
        RAISE EXCEPTION 'order_transitions: refused: order % is %, its log ends at %; a row logs '
            'the move just made (% -> %)', NEW.order_id, current, COALESCE(previous, origin),
            NEW.from_status, NEW.to_status USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;

-- 013's order_check_settled: an imported bill has no lines (the book names no goods), and its
-- log starts where it was born.
CREATE OR REPLACE FUNCTION order_check_settled(wanted bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    ord record;
BEGIN
    SELECT o.number, o.status, o.total_paisa, o.source, order_origin_status(o.source) AS origin,
           (SELECT count(*) FROM order_lines l WHERE l.order_id = o.id) AS lines,
           (SELECT COALESCE(sum(l.line_total_paisa), 0) FROM order_lines l
            WHERE l.order_id = o.id) AS lines_total,
           (SELECT count(*) FROM ledger_entries c
            WHERE c.order_id = o.id AND c.kind = 'ORDER_CREDIT'
              AND NOT EXISTS (SELECT 1 FROM ledger_entries r WHERE r.reverses_entry_id = c.id))
               AS credits,
           (SELECT t.to_status FROM order_transitions t
            WHERE t.order_id = o.id ORDER BY t.id DESC LIMIT 1) AS logged,
           -- An imported bill never holds stock (no lines; never ACCEPTED): not looked for, as
           -- this runs for each of a book's bills at commit (CASE evaluates lazily).
           CASE WHEN o.source = 'import' THEN 0 ELSE
           (SELECT count(*) FROM stock_reservations s
            WHERE s.order_id = o.id AND s.state = 'RESERVED') END AS holds,
           CASE WHEN o.source = 'import' THEN 0 ELSE
           (SELECT count(*) FROM order_lines l
            WHERE l.order_id = o.id AND NOT EXISTS (
                SELECT 1 FROM stock_reservations s
                WHERE s.order_id = l.order_id AND s.sku = l.sku AND s.state = 'RESERVED'
                  AND s.quantity_milli = l.quantity_milli AND s.vendor_id = o.vendor_id))
           END AS unheld
    INTO ord FROM orders o WHERE o.id = wanted;
    IF ord.source = 'import' AND ord.lines > 0 THEN
        RAISE EXCEPTION 'orders %: refused at commit: an imported bill has no lines (it has %)',
            ord.number, ord.lines USING ERRCODE = 'check_violation';
    END IF;
    IF ord.source <> 'import' AND ord.lines_total <> ord.total_paisa THEN
        RAISE EXCEPTION 'orders %: refused at commit: total % paisa, its lines sum to %',
            ord.number, ord.total_paisa, ord.lines_total USING ERRCODE = 'check_violation';
    END IF;
    IF ord.credits <> (CASE WHEN order_status_billed(ord.status) THEN 1 ELSE 0 END) THEN
        RAISE EXCEPTION 'orders %: refused at commit: % with % standing ORDER_CREDIT entries '
            '(a billed order has one, any other none)', ord.number, ord.status, ord.credits
            USING ERRCODE = 'check_violation';
    END IF;
    IF COALESCE(ord.logged, ord.origin) <> ord.status THEN
        RAISE EXCEPTION 'orders %: refused at commit: status %, but its log ends at %',
            ord.number, ord.status, COALESCE(ord.logged, ord.origin)
            USING ERRCODE = 'check_violation';
    END IF;
    IF (CASE WHEN order_status_holds_stock(ord.status) THEN ord.unheld > 0
             ELSE ord.holds > 0 END) THEN
        RAISE EXCEPTION 'orders %: refused at commit: % with % holds, % lines not held',
            ord.number, ord.status, ord.holds, ord.unheld USING ERRCODE = 'check_violation';
    END IF;
END $$;

-- 013's ledger_entries_check, with the rules of the new columns: a live entry happened when it
-- was written; an imported one on its bill's or receipt's date, not later than it was written,
-- and only for an imported bill or receipt; an acknowledgement comes from the other party of
-- the account. An imported bill is credited as it arrives (DELIVERED), a live order when
-- accepted.
CREATE OR REPLACE FUNCTION ledger_entries_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    account record;
    target record;
BEGIN
    SELECT a.retailer_id, a.vendor_id, a.balance_paisa, a.version INTO account
    FROM ledger_accounts a WHERE a.id = NEW.account_id;
    IF account.version <> NEW.account_version
            OR account.balance_paisa <> NEW.balance_after_paisa THEN
        RAISE EXCEPTION 'ledger_entries %: refused: an entry is appended with the move of its '
            'account (account % is at version %, balance %; the entry says version %, balance %)',
            NEW.id, NEW.account_id, account.version, account.balance_paisa, NEW.account_version,
            NEW.balance_after_paisa USING ERRCODE = 'check_violation';
    END IF;
    IF (NEW.source = 'live' AND NEW.happened_at <> NEW.created_at)
            OR (NEW.source = 'import' AND NEW.happened_at > NEW.created_at) THEN
        RAISE EXCEPTION 'ledger_entries %: refused: a live entry happened when it was written, '
            'an imported one before (% entry, happened %, written %)', NEW.id, NEW.source,
            NEW.happened_at, NEW.created_at USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.acknowledged_by IS NOT NULL
            AND NEW.acknowledged_by NOT IN (account.retailer_id, account.vendor_id) THEN
        RAISE EXCEPTION 'ledger_entries %: refused: acknowledged by user %, who is neither side '
            'of account %', NEW.id, NEW.acknowledged_by, NEW.account_id
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.kind = 'ORDER_CREDIT' THEN
        SELECT o.retailer_id, o.vendor_id, o.total_paisa, o.status, o.source, o.accepted_at
            INTO target
        FROM orders o WHERE o.id = NEW.order_id;
        IF target.status <> (CASE WHEN target.source = 'import' THEN 'DELIVERED'
                                  ELSE 'ACCEPTED' END)
                OR target.source <> NEW.source
                OR (NEW.source = 'import' AND target.accepted_at <> NEW.happened_at)
                OR target.total_paisa <> NEW.amount_paisa
                OR target.retailer_id <> account.retailer_id
                OR target.vendor_id IS DISTINCT FROM account.vendor_id
                OR EXISTS (SELECT 1 FROM ledger_entries e WHERE e.order_id = NEW.order_id
                           AND e.kind = 'ORDER_CREDIT' AND e.id <> NEW.id) THEN
            RAISE EXCEPTION 'ledger_entries %: ORDER_CREDIT refused: an order is credited once, '
                'when accepted (an imported bill as it arrives, on its date), with its total, on '
                'its own account (% order % is %, total %; % entry %)', NEW.id, target.source,
                NEW.order_id, target.status, target.total_paisa, NEW.source, NEW.amount_paisa
                USING ERRCODE = 'check_violation';
        END IF;
    ELSIF NEW.kind = 'PAYMENT_DEBIT' THEN
        SELECT p.retailer_id, p.vendor_id, p.amount_paisa, p.reversed, p.source, p.received_at
            INTO target
        FROM payments p WHERE p.id = NEW.payment_id;
        IF target.reversed OR target.amount_paisa <> -NEW.amount_paisa
                OR target.source <> NEW.source
                OR (NEW.source = 'import' AND target.received_at <> NEW.happened_at)
                OR target.retailer_id <> account.retailer_id
                OR target.vendor_id <> account.vendor_id
                OR EXISTS (SELECT 1 FROM ledger_entries e WHERE e.payment_id = NEW.payment_id
                           AND e.kind = 'PAYMENT_DEBIT' AND e.id <> NEW.id) THEN
            RAISE EXCEPTION 'ledger_entries %: PAYMENT_DEBIT refused: a payment is debited once, '
                'with its amount, on its own account (% payment % of %; % entry %)', NEW.id,
                target.source, NEW.payment_id, target.amount_paisa, NEW.source, NEW.amount_paisa
                USING ERRCODE = 'check_violation';
        END IF;
    ELSIF NEW.kind = 'REVERSAL' THEN
        SELECT e.account_id, e.kind, e.amount_paisa, e.order_id, e.payment_id INTO target
        FROM ledger_entries e WHERE e.id = NEW.reverses_entry_id;
        IF target.kind = 'REVERSAL' OR target.account_id <> NEW.account_id
                OR target.amount_paisa <> -NEW.amount_paisa
                OR (target.order_id, target.payment_id)
                   IS DISTINCT FROM (NEW.order_id, NEW.payment_id) THEN
            RAISE EXCEPTION 'ledger_entries %: REVERSAL refused: a reversal is the exact opposite '
                'of one entry that is not a reversal, on the same account (entry %: %, %)',
                NEW.id, NEW.reverses_entry_id, target.kind, target.amount_paisa
                USING ERRCODE = 'check_violation';
        END IF;
        -- An order's credit is reversed only by cancelling it while ACCEPTED and unpaid.
        IF target.kind = 'ORDER_CREDIT' AND (
                (SELECT o.status FROM orders o WHERE o.id = target.order_id) <> 'ACCEPTED'
                OR EXISTS (SELECT 1 FROM payment_allocations pa
                           JOIN payments p ON p.id = pa.payment_id
                           WHERE pa.order_id = target.order_id AND NOT p.reversed)) THEN
            RAISE EXCEPTION 'ledger_entries %: REVERSAL refused: an order''s credit is reversed '
                'only when the accepted, unpaid order is cancelled (order %)', NEW.id,
                target.order_id USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    RETURN NULL;
END $$;

-- As 013 does: every function resolves names in this schema first, the temporary schema last
-- (CREATE OR REPLACE dropped the setting of those replaced above).
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
