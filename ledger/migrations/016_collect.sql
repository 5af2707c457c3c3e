-- Collecting: how each vendor wants to be paid, payment reminders and vendors' digests (with
-- every decision logged), payments a retailer says they made (claims), disputes, and a
-- retailer's word that an order arrived.
--
--   vendor_payment_details  "payinfo esewa 98XXXXXXXX": one line per vendor and method
--   reminder_log            every reminder or digest sent or skipped, with the reason; at most
--                           one sent per person, kind and Nepal day (a unique key, so several
--                           processes running the round cannot both send)
--   reminder_bills          the bills a sent reminder named, at which step of the ladder
--   payment_claims          pending -> confirmed (with the payment it became) or rejected, once
--   disputes                open -> resolved, once; what is disputed is never reminded about
--   order_receipts          append-only: the retailer confirmed a delivered order arrived
--
-- Statuses are lowercase, as the outbox's: they are not an order's statuses.
-- Claims, disputes and receipts are guarded like 013's financial tables: only the legal change
-- of each, no DELETE or TRUNCATE, whoever asks.

CREATE TABLE vendor_payment_details (
    vendor_id   bigint NOT NULL REFERENCES vendors (user_id),
    method      text NOT NULL
                CHECK (method IN ('cash', 'bank', 'esewa', 'khalti', 'fonepay', 'cheque')),
    details     text NOT NULL CHECK (length(details) BETWEEN 1 AND 120),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (vendor_id, method)
);

CREATE TABLE reminder_log (
    id        bigserial PRIMARY KEY,
    user_id   bigint NOT NULL REFERENCES users (id),   -- the retailer reminded, the vendor told
    kind      text NOT NULL CHECK (kind IN ('reminder', 'digest')),
    day       date NOT NULL,                           -- the day in Nepal it was for
    outcome   text NOT NULL CHECK (outcome IN ('sent', 'skipped')),
    reason    text NOT NULL CHECK (length(reason) BETWEEN 1 AND 40),
    template  text CHECK (length(template) <= 512),    -- the WhatsApp template, outside the window
    details   jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(details) = 'object'),
    at        timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX reminder_log_one_a_day ON reminder_log (user_id, kind, day)
    WHERE outcome = 'sent';
-- The round runs every few seconds: a skip is logged once a day per reason.
CREATE UNIQUE INDEX reminder_log_skip_once ON reminder_log (user_id, kind, day, reason)
    WHERE outcome = 'skipped';
CREATE INDEX reminder_log_day ON reminder_log (day, kind);

CREATE TABLE reminder_bills (
    log_id    bigint NOT NULL REFERENCES reminder_log (id),
    order_id  bigint NOT NULL REFERENCES orders (id),
    step      integer NOT NULL CHECK (step BETWEEN -366 AND 100000),  -- days from the due date
    PRIMARY KEY (log_id, order_id)
);
CREATE INDEX reminder_bills_order ON reminder_bills (order_id, step);

-- The reminder round reads bills not yet finished by due date; bills that a bounced payment
-- reopened after completion are found through their reversed payments.
CREATE INDEX orders_open_bills_due ON orders (due_at)
    WHERE status IN ('ACCEPTED', 'DISPATCHED', 'DELIVERED');
CREATE INDEX payments_reversed ON payments (id) WHERE reversed;
-- Acknowledgements are audit rows until ledger_entries carries them (ledger/provenance.py).
CREATE INDEX audit_log_subject ON audit_log (action, subject);
-- Whether a person wrote in the last 24 hours (WhatsApp's window for free text) is answered by
-- inbound_sender_sent (sender, sent_at, id) from migration 012.

CREATE SEQUENCE payment_claim_seq;
CREATE TABLE payment_claims (
    id            bigserial PRIMARY KEY,
    ref           text NOT NULL UNIQUE
                  DEFAULT 'C-' || lpad(nextval('payment_claim_seq')::text, 6, '0'),
    retailer_id   bigint NOT NULL REFERENCES retailers (user_id),
    vendor_id     bigint NOT NULL REFERENCES vendors (user_id),
    amount_paisa  bigint NOT NULL CHECK (amount_paisa > 0),
    method        text NOT NULL
                  CHECK (method IN ('cash', 'bank', 'esewa', 'khalti', 'fonepay', 'cheque')),
    reference     text NOT NULL DEFAULT '' CHECK (length(reference) <= 100),
    media_id      text CHECK (length(media_id) BETWEEN 1 AND 256),  -- a receipt photo
    request_key   text NOT NULL UNIQUE CHECK (length(request_key) BETWEEN 1 AND 200),
    status        text NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'confirmed', 'rejected')),
    payment_id    bigint UNIQUE REFERENCES payments (id),
    decided_by    bigint REFERENCES users (id),
    decided_at    timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'pending') = (decided_at IS NULL)),
    CHECK ((decided_at IS NULL) = (decided_by IS NULL)),
    CHECK ((status = 'confirmed') = (payment_id IS NOT NULL))
);
CREATE INDEX payment_claims_pending ON payment_claims (vendor_id, created_at)
    WHERE status = 'pending';
CREATE INDEX payment_claims_account ON payment_claims (retailer_id, vendor_id)
    WHERE status = 'pending';

CREATE FUNCTION payment_claims_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    payment record;
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.status <> 'pending' THEN
            RAISE EXCEPTION 'payment_claims: a claim starts pending (not %)', NEW.status
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END IF;
    IF to_jsonb(NEW) - '{status,payment_id,decided_by,decided_at}'::text[]
            IS DISTINCT FROM to_jsonb(OLD) - '{status,payment_id,decided_by,decided_at}'::text[]
            OR OLD.status <> 'pending' OR NEW.status NOT IN ('confirmed', 'rejected') THEN
        RAISE EXCEPTION 'payment_claims %: UPDATE refused: a claim is decided once, from pending '
            'to confirmed or rejected, and nothing else about it changes (% -> %)', OLD.ref,
            OLD.status, NEW.status USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.decided_by = OLD.retailer_id THEN
        RAISE EXCEPTION 'payment_claims %: UPDATE refused: the retailer who claims does not '
            'decide', OLD.ref USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.status = 'confirmed' THEN
        SELECT p.retailer_id, p.vendor_id, p.amount_paisa, p.reversed INTO payment
        FROM payments p WHERE p.id = NEW.payment_id;
        IF payment.reversed OR (payment.retailer_id, payment.vendor_id, payment.amount_paisa)
                IS DISTINCT FROM (OLD.retailer_id, OLD.vendor_id, OLD.amount_paisa) THEN
            RAISE EXCEPTION 'payment_claims %: UPDATE refused: a confirmed claim is the payment '
                'of its amount on its own account', OLD.ref USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER payment_claims_guard BEFORE INSERT OR UPDATE ON payment_claims
    FOR EACH ROW EXECUTE FUNCTION payment_claims_guard();
CREATE TRIGGER payment_claims_no_delete BEFORE DELETE ON payment_claims
    FOR EACH STATEMENT EXECUTE FUNCTION financial_refuse('claims are kept; they are decided');
CREATE TRIGGER payment_claims_no_truncate BEFORE TRUNCATE ON payment_claims
    FOR EACH STATEMENT EXECUTE FUNCTION financial_refuse('claims are kept; they are decided');

CREATE SEQUENCE dispute_seq;
CREATE TABLE disputes (
    id            bigserial PRIMARY KEY,
    ref           text NOT NULL UNIQUE DEFAULT 'DS-' || lpad(nextval('dispute_seq')::text, 6, '0'),
    kind          text NOT NULL
                  CHECK (kind IN ('claim_not_received', 'payment_not_mine', 'order_problem')),
    retailer_id   bigint NOT NULL REFERENCES retailers (user_id),
    vendor_id     bigint NOT NULL REFERENCES vendors (user_id),
    claim_id      bigint UNIQUE REFERENCES payment_claims (id),
    payment_id    bigint UNIQUE REFERENCES payments (id),
    order_id      bigint REFERENCES orders (id),
    amount_paisa  bigint CHECK (amount_paisa > 0),
    raised_by     bigint NOT NULL REFERENCES users (id),
    reason        text NOT NULL DEFAULT '' CHECK (length(reason) <= 40),
    note          text NOT NULL DEFAULT '' CHECK (length(note) <= 500),
    status        text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
    resolved_by   bigint REFERENCES users (id),
    resolved_at   timestamptz,
    resolution    text NOT NULL DEFAULT '' CHECK (length(resolution) <= 500),
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'claim_not_received') = (claim_id IS NOT NULL)),
    CHECK ((kind = 'payment_not_mine') = (payment_id IS NOT NULL)),
    CHECK ((kind = 'order_problem') = (order_id IS NOT NULL)),
    CHECK ((status = 'resolved') = (resolved_at IS NOT NULL)),
    CHECK ((resolved_at IS NULL) = (resolved_by IS NULL))
);
-- One open dispute per order at a time; a claim or a payment is disputed once.
CREATE UNIQUE INDEX disputes_order_open ON disputes (order_id) WHERE status = 'open';
CREATE INDEX disputes_open ON disputes (created_at) WHERE status = 'open';
CREATE INDEX disputes_account_open ON disputes (retailer_id, vendor_id) WHERE status = 'open';

CREATE FUNCTION disputes_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    subject record;
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.status <> 'open' THEN
            RAISE EXCEPTION 'disputes: a dispute starts open (not %)', NEW.status
                USING ERRCODE = 'check_violation';
        END IF;
        -- What it disputes is between the same retailer and vendor.
        IF NEW.kind = 'claim_not_received' THEN
            SELECT c.retailer_id, c.vendor_id, c.status INTO subject
            FROM payment_claims c WHERE c.id = NEW.claim_id;
            IF subject.status <> 'rejected' THEN
                RAISE EXCEPTION 'disputes: refused: a claim is disputed once the vendor says it '
                    'was not received' USING ERRCODE = 'check_violation';
            END IF;
        ELSIF NEW.kind = 'payment_not_mine' THEN
            SELECT p.retailer_id, p.vendor_id, p.reversed AS status INTO subject
            FROM payments p WHERE p.id = NEW.payment_id;
        ELSE
            SELECT o.retailer_id, o.vendor_id, o.status INTO subject
            FROM orders o WHERE o.id = NEW.order_id;
        END IF;
        IF (subject.retailer_id, subject.vendor_id)
                IS DISTINCT FROM (NEW.retailer_id, NEW.vendor_id) THEN
            RAISE EXCEPTION 'disputes: refused: a dispute is between the retailer and vendor of '
                'what it disputes' USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END IF;
    IF to_jsonb(NEW) - '{status,resolved_by,resolved_at,resolution}'::text[]
            IS DISTINCT FROM to_jsonb(OLD) - '{status,resolved_by,resolved_at,resolution}'::text[]
            OR OLD.status <> 'open' OR NEW.status <> 'resolved' OR NEW.resolution = ''
            OR NOT EXISTS (SELECT 1 FROM users u WHERE u.id = NEW.resolved_by
                           AND u.role IN ('ADMIN', 'OPERATOR')) THEN
        RAISE EXCEPTION 'disputes %: UPDATE refused: staff resolve a dispute once, with what '
            'they decided, and nothing else about it changes', OLD.ref
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER disputes_guard BEFORE INSERT OR UPDATE ON disputes
    FOR EACH ROW EXECUTE FUNCTION disputes_guard();
CREATE TRIGGER disputes_no_delete BEFORE DELETE ON disputes
    FOR EACH STATEMENT EXECUTE FUNCTION financial_refuse('disputes are kept; they are resolved');
CREATE TRIGGER disputes_no_truncate BEFORE TRUNCATE ON disputes
    FOR EACH STATEMENT EXECUTE FUNCTION financial_refuse('disputes are kept; they are resolved');

CREATE TABLE order_receipts (
    order_id      bigint PRIMARY KEY REFERENCES orders (id),
    retailer_id   bigint NOT NULL REFERENCES retailers (user_id),
    confirmed_at  timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION order_receipts_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = NEW.order_id
                   AND o.retailer_id = NEW.retailer_id
                   AND o.status IN ('DELIVERED', 'COMPLETED')) THEN
        RAISE EXCEPTION 'order_receipts (order %): refused: the order''s own retailer confirms '
            'it arrived, once it is delivered', NEW.order_id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER order_receipts_check BEFORE INSERT ON order_receipts
    FOR EACH ROW EXECUTE FUNCTION order_receipts_check();
CREATE TRIGGER order_receipts_append_only BEFORE UPDATE OR DELETE ON order_receipts
    FOR EACH STATEMENT EXECUTE FUNCTION financial_refuse('receipts are append-only');
CREATE TRIGGER order_receipts_no_truncate BEFORE TRUNCATE ON order_receipts
    FOR EACH STATEMENT EXECUTE FUNCTION financial_refuse('receipts are append-only');

-- As 013 does for its own: every function here resolves names in this schema, then pg_temp.
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
