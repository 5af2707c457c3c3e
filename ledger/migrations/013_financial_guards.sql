-- Every financial table refuses what the services never do. Before this only ledger_entries did:
-- balances, payments, allocations and an accepted order's total could be changed with plain SQL.
-- Each rule below is the exact shape of the services' own writes (ledger/postings.py,
-- payments.py, orders.py, lifecycle.py, assignment.py, stock.py, credit.py, audit.py):
--
--   ledger_accounts      born at balance 0, version 0; the balance moves only in the statement
--                        that appends its entry (version + 1, by the entry's amount, to its
--                        balance_after): ledger.postings' one-statement posting
--   ledger_entries       (append-only since 002) each entry continues its account's chain and
--                        means what its kind says: an accepted order's total, once; a payment's
--                        amount, once; the exact opposite of the entry it reverses
--   payments             never change, except `reversed`: false -> true, after its REVERSAL
--   payment_allocations  append-only; only to an order billed on the payment's account, never
--                        past the payment's amount or the order's total
--   orders               retailer, request key and creation time never change, the number once
--                        (a draft's D-… becomes its KH-… when placed); total and
--                        confirm key only while DRAFT; the vendor only while PENDING; billing
--                        time and due date once, at acceptance; each status time once; leaving
--                        DRAFT the lines must add up to the total, leaving ACCEPTED the stock
--                        must be settled, cancelling an accepted order needs its credit reversed,
--                        completing one needs it paid in full
--   order_lines          written only while their order is a DRAFT
--   order_transitions    append-only; each row continues the order's log and lands on its status
--   stock_reservations   only RESERVED -> RELEASED or TAKEN
--   credit_overrides     append-only; granted by an admin, for the order's own retailer
--   audit_log            append-only
--
-- and at COMMIT (a service's write spans statements): an order's lines add up to its total, a
-- billed order has one standing ORDER_CREDIT and any other none, its status is where its log
-- ends, the stock it holds is its lines; a payment has one PAYMENT_DEBIT and is `reversed`
-- exactly when that debit is; a vendor's reserved stock is what its open holds hold.
-- DELETE and TRUNCATE are refused on all of them. A refused change to an existing row raises
-- insufficient_privilege; a new row that breaks a rule raises check_violation.
-- Triggers bind every role, the owner too. Only a superuser (session_replication_role) or the
-- tables' owner (ALTER TABLE ... DISABLE TRIGGER) can switch them off, and the app's role is
-- neither (README: Database roles; ledger/roles.py).

-- Refuses the statement outright; TG_ARGV[0] says why.
CREATE FUNCTION financial_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% on % refused: %', TG_OP, TG_TABLE_NAME, TG_ARGV[0]
        USING ERRCODE = 'insufficient_privilege';
END $$;

-- ledger_accounts ------------------------------------------------------------------------------

-- Explicit columns rather than a row comparison: this runs on every posting.
CREATE FUNCTION ledger_accounts_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.balance_paisa <> 0 OR NEW.version <> 0 THEN
            RAISE EXCEPTION 'ledger_accounts: a new account starts at balance 0, version 0 '
                '(not %, %)', NEW.balance_paisa, NEW.version USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END IF;
    IF (NEW.id, NEW.retailer_id, NEW.vendor_id, NEW.created_at)
            IS DISTINCT FROM (OLD.id, OLD.retailer_id, OLD.vendor_id, OLD.created_at) THEN
        RAISE EXCEPTION 'ledger_accounts %: UPDATE refused: an account''s retailer, vendor and '
            'creation time never change', OLD.id USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.version IS DISTINCT FROM OLD.version + 1 THEN
        RAISE EXCEPTION 'ledger_accounts %: UPDATE refused: the balance moves only by posting an '
            'entry, one version at a time (version % -> %)', OLD.id, OLD.version, NEW.version
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;

-- AFTER, so it runs once the whole statement is done and sees the entry the same statement
-- appended (ledger.postings moves the account and appends the entry in one statement).
CREATE FUNCTION ledger_accounts_posted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM ledger_entries e
        WHERE e.account_id = NEW.id AND e.account_version = NEW.version
          AND e.amount_paisa = NEW.balance_paisa - OLD.balance_paisa
          AND e.balance_after_paisa = NEW.balance_paisa
    ) THEN
        RAISE EXCEPTION 'ledger_accounts %: UPDATE refused: balance % -> % at version % without '
            'the entry that moves it', OLD.id, OLD.balance_paisa, NEW.balance_paisa, NEW.version
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER ledger_accounts_guard BEFORE INSERT OR UPDATE ON ledger_accounts
    FOR EACH ROW EXECUTE FUNCTION ledger_accounts_guard();
CREATE TRIGGER ledger_accounts_posted AFTER UPDATE ON ledger_accounts
    FOR EACH ROW EXECUTE FUNCTION ledger_accounts_posted();
CREATE TRIGGER ledger_accounts_no_delete BEFORE DELETE ON ledger_accounts
    FOR EACH STATEMENT
    EXECUTE FUNCTION financial_refuse('accounts are kept; corrections are entries');
CREATE TRIGGER ledger_accounts_no_truncate BEFORE TRUNCATE ON ledger_accounts
    FOR EACH STATEMENT
    EXECUTE FUNCTION financial_refuse('accounts are kept; corrections are entries');

-- ledger_entries -------------------------------------------------------------------------------

-- Entries of one payment (its debit, a reversal of it) are looked up by the rules below.
CREATE INDEX ledger_entries_payment ON ledger_entries (payment_id) WHERE payment_id IS NOT NULL;

-- AFTER the statement, like ledger_accounts_posted: the account it names has been moved by then.
CREATE FUNCTION ledger_entries_check() RETURNS trigger LANGUAGE plpgsql AS $$
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
    IF NEW.kind = 'ORDER_CREDIT' THEN
        SELECT o.retailer_id, o.vendor_id, o.total_paisa, o.status INTO target
        FROM orders o WHERE o.id = NEW.order_id;
        IF target.status <> 'ACCEPTED' OR target.total_paisa <> NEW.amount_paisa
                OR target.retailer_id <> account.retailer_id
                OR target.vendor_id IS DISTINCT FROM account.vendor_id
                OR EXISTS (SELECT 1 FROM ledger_entries e WHERE e.order_id = NEW.order_id
                           AND e.kind = 'ORDER_CREDIT' AND e.id <> NEW.id) THEN
            RAISE EXCEPTION 'ledger_entries %: ORDER_CREDIT refused: an order is credited once, '
                'when accepted, with its total, on its own account (order % is %, total %; '
                'entry %)', NEW.id, NEW.order_id, target.status, target.total_paisa,
                NEW.amount_paisa USING ERRCODE = 'check_violation';
        END IF;
    ELSIF NEW.kind = 'PAYMENT_DEBIT' THEN
        SELECT p.retailer_id, p.vendor_id, p.amount_paisa, p.reversed INTO target
        FROM payments p WHERE p.id = NEW.payment_id;
        IF target.reversed OR target.amount_paisa <> -NEW.amount_paisa
                OR target.retailer_id <> account.retailer_id
                OR target.vendor_id <> account.vendor_id
                OR EXISTS (SELECT 1 FROM ledger_entries e WHERE e.payment_id = NEW.payment_id
                           AND e.kind = 'PAYMENT_DEBIT' AND e.id <> NEW.id) THEN
            RAISE EXCEPTION 'ledger_entries %: PAYMENT_DEBIT refused: a payment is debited once, '
                'with its amount, on its own account (payment % of %; entry %)', NEW.id,
                NEW.payment_id, target.amount_paisa, NEW.amount_paisa
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

CREATE TRIGGER ledger_entries_check AFTER INSERT ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_entries_check();

-- payments -------------------------------------------------------------------------------------

CREATE FUNCTION payments_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.reversed THEN
            RAISE EXCEPTION 'payments: a payment is recorded standing; reversing it posts a '
                'REVERSAL' USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END IF;
    -- Every column but `reversed`, including any added later.
    IF to_jsonb(NEW) - 'reversed' IS DISTINCT FROM to_jsonb(OLD) - 'reversed' THEN
        RAISE EXCEPTION 'payments %: UPDATE refused: a payment never changes (reverse it and '
            'record the right one)', OLD.id USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.reversed AND NOT NEW.reversed THEN
        RAISE EXCEPTION 'payments %: UPDATE refused: a reversal is never undone', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.reversed AND NOT OLD.reversed AND NOT EXISTS (
        SELECT 1 FROM ledger_entries d JOIN ledger_entries r ON r.reverses_entry_id = d.id
        WHERE d.payment_id = NEW.id AND d.kind = 'PAYMENT_DEBIT'
    ) THEN
        RAISE EXCEPTION 'payments %: UPDATE refused: reversed only once a REVERSAL entry undoes '
            'its debit', OLD.id USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER payments_guard BEFORE INSERT OR UPDATE ON payments
    FOR EACH ROW EXECUTE FUNCTION payments_guard();
CREATE TRIGGER payments_no_delete BEFORE DELETE ON payments
    FOR EACH STATEMENT
    EXECUTE FUNCTION financial_refuse('payments are kept; a wrong one is reversed');
CREATE TRIGGER payments_no_truncate BEFORE TRUNCATE ON payments
    FOR EACH STATEMENT
    EXECUTE FUNCTION financial_refuse('payments are kept; a wrong one is reversed');

-- payment_allocations --------------------------------------------------------------------------

-- AFTER each row, so the sums include it (ledger.payments inserts one row per statement).
CREATE FUNCTION payment_allocations_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    payment record;
BEGIN
    SELECT p.retailer_id, p.vendor_id, p.amount_paisa, p.reversed INTO payment
    FROM payments p WHERE p.id = NEW.payment_id;
    IF payment.reversed THEN
        RAISE EXCEPTION 'payment_allocations (payment %, order %): refused: the payment is '
            'reversed', NEW.payment_id, NEW.order_id USING ERRCODE = 'check_violation';
    END IF;
    -- Billed on this account: the order's ORDER_CREDIT is there and not reversed.
    IF NOT EXISTS (
        SELECT 1 FROM ledger_entries c JOIN ledger_accounts a ON a.id = c.account_id
        WHERE c.order_id = NEW.order_id AND c.kind = 'ORDER_CREDIT'
          AND a.retailer_id = payment.retailer_id AND a.vendor_id = payment.vendor_id
          AND NOT EXISTS (SELECT 1 FROM ledger_entries r WHERE r.reverses_entry_id = c.id)
    ) THEN
        RAISE EXCEPTION 'payment_allocations (payment %, order %): refused: the order is not '
            'billed on the payment''s account', NEW.payment_id, NEW.order_id
            USING ERRCODE = 'check_violation';
    END IF;
    IF (SELECT sum(pa.amount_paisa) FROM payment_allocations pa
        WHERE pa.payment_id = NEW.payment_id) > payment.amount_paisa THEN
        RAISE EXCEPTION 'payment_allocations (payment %, order %): refused: more allocated than '
            'the payment''s % paisa', NEW.payment_id, NEW.order_id, payment.amount_paisa
            USING ERRCODE = 'check_violation';
    END IF;
    IF (SELECT sum(pa.amount_paisa) FROM payment_allocations pa
        JOIN payments p ON p.id = pa.payment_id
        WHERE pa.order_id = NEW.order_id AND NOT p.reversed)
       > (SELECT o.total_paisa FROM orders o WHERE o.id = NEW.order_id) THEN
        RAISE EXCEPTION 'payment_allocations (payment %, order %): refused: the order would be '
            'paid more than its total', NEW.payment_id, NEW.order_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER payment_allocations_check AFTER INSERT ON payment_allocations
    FOR EACH ROW EXECUTE FUNCTION payment_allocations_check();
CREATE TRIGGER payment_allocations_append_only BEFORE UPDATE OR DELETE ON payment_allocations
    FOR EACH STATEMENT
    EXECUTE FUNCTION financial_refuse('allocations are append-only; a reversal lets them lapse');
CREATE TRIGGER payment_allocations_no_truncate BEFORE TRUNCATE ON payment_allocations
    FOR EACH STATEMENT
    EXECUTE FUNCTION financial_refuse('allocations are append-only; a reversal lets them lapse');

-- orders ---------------------------------------------------------------------------------------

CREATE FUNCTION orders_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    -- The columns the services' steps change; the rules below say when.
    steps constant text[] := '{status,updated_at,total_paisa,confirm_key,vendor_id,accepted_at,'
        'due_at,confirmed_at,dispatched_at,delivered_at,closed_at,number}';
    lines integer;
    lines_total bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
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

-- Named to fire after orders_transition (triggers of one kind fire in name order), so an
-- illegal move is reported as such before any rule of a legal one.
CREATE TRIGGER orders_write_guard BEFORE INSERT OR UPDATE ON orders
    FOR EACH ROW EXECUTE FUNCTION orders_guard();
CREATE TRIGGER orders_no_delete BEFORE DELETE ON orders
    FOR EACH STATEMENT
    EXECUTE FUNCTION financial_refuse('orders are kept; an unwanted one is cancelled');
CREATE TRIGGER orders_no_truncate BEFORE TRUNCATE ON orders
    FOR EACH STATEMENT
    EXECUTE FUNCTION financial_refuse('orders are kept; an unwanted one is cancelled');

-- order_lines ----------------------------------------------------------------------------------

CREATE FUNCTION order_lines_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    status text;
BEGIN
    -- FOR SHARE waits for a confirmation in flight (it holds the order's row lock) and then
    -- reads the status it committed, so a line cannot slip in beside a confirmation.
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        SELECT o.status INTO status FROM orders o WHERE o.id = OLD.order_id FOR SHARE;
        IF status <> 'DRAFT' THEN
            RAISE EXCEPTION 'order_lines (order %, line %): % refused: lines change only while '
                'the order is a DRAFT (it is %)', OLD.order_id, OLD.line_no, TG_OP, status
                USING ERRCODE = 'insufficient_privilege';
        END IF;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        SELECT o.status INTO status FROM orders o WHERE o.id = NEW.order_id FOR SHARE;
        IF status <> 'DRAFT' THEN
            RAISE EXCEPTION 'order_lines (order %, line %): % refused: lines change only while '
                'the order is a DRAFT (it is %)', NEW.order_id, NEW.line_no, TG_OP, status
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NEW;
    END IF;
    RETURN OLD;
END $$;

CREATE TRIGGER order_lines_guard BEFORE INSERT OR UPDATE OR DELETE ON order_lines
    FOR EACH ROW EXECUTE FUNCTION order_lines_guard();
CREATE TRIGGER order_lines_no_truncate BEFORE TRUNCATE ON order_lines
    FOR EACH STATEMENT
    EXECUTE FUNCTION financial_refuse('lines change only while their order is a DRAFT');

-- order_transitions ----------------------------------------------------------------------------

CREATE FUNCTION order_transitions_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    current text;
    previous text;
BEGIN
    SELECT o.status INTO current FROM orders o WHERE o.id = NEW.order_id;
    SELECT t.to_status INTO previous FROM order_transitions t
    WHERE t.order_id = NEW.order_id ORDER BY t.id DESC LIMIT 1;
    IF NEW.from_status <> COALESCE(previous, 'DRAFT') OR NEW.to_status <> current THEN
        RAISE EXCEPTION 'order_transitions: refused: order % is %, its log ends at %; a row logs '
            'the move just made (% -> %)', NEW.order_id, current, COALESCE(previous, 'DRAFT'),
            NEW.from_status, NEW.to_status USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER order_transitions_check BEFORE INSERT ON order_transitions
    FOR EACH ROW EXECUTE FUNCTION order_transitions_check();
CREATE TRIGGER order_transitions_append_only BEFORE UPDATE OR DELETE ON order_transitions
    FOR EACH STATEMENT EXECUTE FUNCTION financial_refuse('the order log is append-only');
CREATE TRIGGER order_transitions_no_truncate BEFORE TRUNCATE ON order_transitions
    FOR EACH STATEMENT EXECUTE FUNCTION financial_refuse('the order log is append-only');

-- stock_reservations ---------------------------------------------------------------------------

CREATE FUNCTION stock_reservations_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.state <> 'RESERVED' OR NOT EXISTS (
            SELECT 1 FROM orders o WHERE o.id = NEW.order_id AND o.vendor_id = NEW.vendor_id
        ) THEN
            RAISE EXCEPTION 'stock_reservations (order %, %): refused: a hold starts RESERVED, '
                'with the order''s own vendor', NEW.order_id, NEW.sku
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END IF;
    IF to_jsonb(NEW) - '{state,settled_at}'::text[]
            IS DISTINCT FROM to_jsonb(OLD) - '{state,settled_at}'::text[]
            OR OLD.state <> 'RESERVED' OR NEW.state NOT IN ('RELEASED', 'TAKEN') THEN
        RAISE EXCEPTION 'stock_reservations (order %, %): UPDATE refused: a hold only goes from '
            'RESERVED to RELEASED or TAKEN (% -> %)', OLD.order_id, OLD.sku, OLD.state, NEW.state
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER stock_reservations_guard BEFORE INSERT OR UPDATE ON stock_reservations
    FOR EACH ROW EXECUTE FUNCTION stock_reservations_guard();
CREATE TRIGGER stock_reservations_no_delete BEFORE DELETE ON stock_reservations
    FOR EACH STATEMENT
    EXECUTE FUNCTION financial_refuse('holds are kept; they are released or taken');
CREATE TRIGGER stock_reservations_no_truncate BEFORE TRUNCATE ON stock_reservations
    FOR EACH STATEMENT
    EXECUTE FUNCTION financial_refuse('holds are kept; they are released or taken');

-- credit_overrides and audit_log ---------------------------------------------------------------

CREATE FUNCTION credit_overrides_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM orders o
                   WHERE o.id = NEW.order_id AND o.retailer_id = NEW.retailer_id)
            OR NOT EXISTS (SELECT 1 FROM users u WHERE u.id = NEW.granted_by AND u.role = 'ADMIN')
    THEN
        RAISE EXCEPTION 'credit_overrides (order %): refused: an override is granted by an admin, '
            'for the order''s own retailer', NEW.order_id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER credit_overrides_check BEFORE INSERT ON credit_overrides
    FOR EACH ROW EXECUTE FUNCTION credit_overrides_check();
CREATE TRIGGER credit_overrides_append_only BEFORE UPDATE OR DELETE ON credit_overrides
    FOR EACH STATEMENT EXECUTE FUNCTION financial_refuse('overrides are append-only');
CREATE TRIGGER credit_overrides_no_truncate BEFORE TRUNCATE ON credit_overrides
    FOR EACH STATEMENT EXECUTE FUNCTION financial_refuse('overrides are append-only');

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION financial_refuse('the audit log is append-only');
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION financial_refuse('the audit log is append-only');

-- What must hold when a transaction commits -------------------------------------------------
-- A service writes an order, its lines, holds, credit and log in several statements, so these
-- rules are checked at COMMIT (deferred constraint triggers), once per row written, for the
-- order, payment or stock row it belongs to: the same rules `khaacho check` recomputes, kept
-- from ever being committed broken.

-- The statuses lifecycle.BILLED_STATUSES names (tests/ledger/test_guards.py checks they agree).
CREATE FUNCTION order_status_billed(status text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT status IN ('ACCEPTED', 'DISPATCHED', 'DELIVERED', 'COMPLETED')
$$;
-- The statuses lifecycle.STOCK_HELD_STATUSES names.
CREATE FUNCTION order_status_holds_stock(status text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT status IN ('ACCEPTED')
$$;

-- An order's lines add up to its total; a billed order has exactly one standing ORDER_CREDIT and
-- any other none; its status is where its log ends; an order holding stock holds each line's
-- quantity with its vendor, and any other holds nothing.
CREATE FUNCTION order_check_settled(wanted bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    ord record;
BEGIN
    SELECT o.number, o.status, o.total_paisa,
           (SELECT COALESCE(sum(l.line_total_paisa), 0) FROM order_lines l
            WHERE l.order_id = o.id) AS lines_total,
           (SELECT count(*) FROM ledger_entries c
            WHERE c.order_id = o.id AND c.kind = 'ORDER_CREDIT'
              AND NOT EXISTS (SELECT 1 FROM ledger_entries r WHERE r.reverses_entry_id = c.id))
               AS credits,
           (SELECT t.to_status FROM order_transitions t
            WHERE t.order_id = o.id ORDER BY t.id DESC LIMIT 1) AS logged,
           (SELECT count(*) FROM stock_reservations s
            WHERE s.order_id = o.id AND s.state = 'RESERVED') AS holds,
           (SELECT count(*) FROM order_lines l
            WHERE l.order_id = o.id AND NOT EXISTS (
                SELECT 1 FROM stock_reservations s
                WHERE s.order_id = l.order_id AND s.sku = l.sku AND s.state = 'RESERVED'
                  AND s.quantity_milli = l.quantity_milli AND s.vendor_id = o.vendor_id))
               AS unheld
    INTO ord FROM orders o WHERE o.id = wanted;
    IF ord.lines_total <> ord.total_paisa THEN
        RAISE EXCEPTION 'orders %: refused at commit: total % paisa, its lines sum to %',
            ord.number, ord.total_paisa, ord.lines_total USING ERRCODE = 'check_violation';
    END IF;
    IF ord.credits <> (CASE WHEN order_status_billed(ord.status) THEN 1 ELSE 0 END) THEN
        RAISE EXCEPTION 'orders %: refused at commit: % with % standing ORDER_CREDIT entries '
            '(a billed order has one, any other none)', ord.number, ord.status, ord.credits
            USING ERRCODE = 'check_violation';
    END IF;
    IF COALESCE(ord.logged, 'DRAFT') <> ord.status THEN
        RAISE EXCEPTION 'orders %: refused at commit: status %, but its log ends at %',
            ord.number, ord.status, COALESCE(ord.logged, 'DRAFT')
            USING ERRCODE = 'check_violation';
    END IF;
    IF (CASE WHEN order_status_holds_stock(ord.status) THEN ord.unheld > 0
             ELSE ord.holds > 0 END) THEN
        RAISE EXCEPTION 'orders %: refused at commit: % with % holds, % lines not held',
            ord.number, ord.status, ord.holds, ord.unheld USING ERRCODE = 'check_violation';
    END IF;
END $$;

CREATE FUNCTION orders_settled() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM order_check_settled(NEW.id);
    RETURN NULL;
END $$;

-- For a row of order_lines, ledger_entries or stock_reservations: the order it belongs to.
CREATE FUNCTION order_parts_settled() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM order_check_settled(CASE WHEN TG_OP = 'DELETE' THEN OLD.order_id
                                     ELSE NEW.order_id END);
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER orders_settled AFTER INSERT OR UPDATE ON orders
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION orders_settled();
CREATE CONSTRAINT TRIGGER order_lines_settled AFTER INSERT OR DELETE ON order_lines
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION order_parts_settled();
CREATE CONSTRAINT TRIGGER order_entries_settled AFTER INSERT ON ledger_entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.order_id IS NOT NULL)
    EXECUTE FUNCTION order_parts_settled();
CREATE CONSTRAINT TRIGGER order_holds_settled AFTER INSERT OR UPDATE ON stock_reservations
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION order_parts_settled();

-- A payment has exactly one PAYMENT_DEBIT, and is `reversed` exactly when a REVERSAL undoes it.
CREATE FUNCTION payment_check_settled(wanted bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    pay record;
BEGIN
    SELECT p.reversed,
           (SELECT count(*) FROM ledger_entries d
            WHERE d.payment_id = p.id AND d.kind = 'PAYMENT_DEBIT') AS debits,
           EXISTS (SELECT 1 FROM ledger_entries d JOIN ledger_entries r
                   ON r.reverses_entry_id = d.id
                   WHERE d.payment_id = p.id AND d.kind = 'PAYMENT_DEBIT') AS undone
    INTO pay FROM payments p WHERE p.id = wanted;
    IF pay.debits <> 1 THEN
        RAISE EXCEPTION 'payments %: refused at commit: % PAYMENT_DEBIT entries (a payment is '
            'posted once)', wanted, pay.debits USING ERRCODE = 'check_violation';
    END IF;
    IF pay.reversed <> pay.undone THEN
        RAISE EXCEPTION 'payments %: refused at commit: reversed is %, but its debit % reversed',
            wanted, pay.reversed, CASE WHEN pay.undone THEN 'is' ELSE 'is not' END
            USING ERRCODE = 'check_violation';
    END IF;
END $$;

CREATE FUNCTION payments_settled() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM payment_check_settled(CASE WHEN TG_TABLE_NAME = 'payments'
                                       THEN (to_jsonb(NEW) ->> 'id')::bigint
                                       ELSE (to_jsonb(NEW) ->> 'payment_id')::bigint END);
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER payments_settled AFTER INSERT OR UPDATE ON payments
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION payments_settled();
CREATE CONSTRAINT TRIGGER payment_entries_settled AFTER INSERT ON ledger_entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.payment_id IS NOT NULL)
    EXECUTE FUNCTION payments_settled();

-- A vendor's reserved stock is exactly what its open holds hold.
CREATE FUNCTION stock_check_settled(vendor bigint, product text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    reserved bigint;
    held bigint;
BEGIN
    SELECT vp.reserved_milli INTO reserved FROM vendor_products vp
    WHERE vp.vendor_id = vendor AND vp.sku = product;
    SELECT COALESCE(sum(s.quantity_milli), 0) INTO held FROM stock_reservations s
    WHERE s.vendor_id = vendor AND s.sku = product AND s.state = 'RESERVED';
    IF reserved <> held THEN
        RAISE EXCEPTION 'vendor_products (vendor %, %): refused at commit: reserved % milli, '
            'open holds hold %', vendor, product, reserved, held USING ERRCODE = 'check_violation';
    END IF;
END $$;

CREATE FUNCTION stock_settled() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM stock_check_settled(NEW.vendor_id, NEW.sku);
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER vendor_products_settled AFTER INSERT ON vendor_products
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION stock_settled();
CREATE CONSTRAINT TRIGGER vendor_products_reserved_settled AFTER UPDATE ON vendor_products
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (NEW.reserved_milli IS DISTINCT FROM OLD.reserved_milli)
    EXECUTE FUNCTION stock_settled();
CREATE CONSTRAINT TRIGGER stock_holds_settled AFTER INSERT OR UPDATE ON stock_reservations
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION stock_settled();

-- Every function here (and 002's) resolves table names in this schema first and the session's
-- temporary schema last: a role that may create temporary tables cannot shadow `ledger_entries`
-- with its own and walk past a rule. A later migration adding a function pins its path the
-- same way.
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
