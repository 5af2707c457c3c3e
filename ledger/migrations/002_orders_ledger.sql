-- Orders, stock reservations, vendor assignment, and the append-only credit ledger.
-- Money is integer paisa; quantities integer milli base units; times timestamptz (UTC).
-- Rules that keep money right live here as constraints and triggers, not only in Python.

-- The allowed order transitions. ledger/lifecycle.py holds the same table; a test checks both agree.
CREATE TABLE order_status_transitions (
    from_status  text NOT NULL,
    to_status    text NOT NULL,
    PRIMARY KEY (from_status, to_status)
);
INSERT INTO order_status_transitions (from_status, to_status) VALUES
    ('DRAFT', 'PENDING'), ('DRAFT', 'CANCELLED'),
    ('PENDING', 'VENDOR_ASSIGNED'), ('PENDING', 'CANCELLED'), ('PENDING', 'REJECTED'),
    ('VENDOR_ASSIGNED', 'ACCEPTED'), ('VENDOR_ASSIGNED', 'PENDING'),
    ('VENDOR_ASSIGNED', 'CANCELLED'),
    ('ACCEPTED', 'DISPATCHED'), ('ACCEPTED', 'CANCELLED'),
    ('DISPATCHED', 'DELIVERED'),
    ('DELIVERED', 'COMPLETED');

CREATE SEQUENCE order_number_seq;

CREATE TABLE orders (
    id              bigserial PRIMARY KEY,
    number          text NOT NULL UNIQUE
                    DEFAULT 'KH-' || lpad(nextval('order_number_seq')::text, 6, '0'),
    status          text NOT NULL DEFAULT 'DRAFT' CHECK (status IN (
                        'DRAFT', 'PENDING', 'VENDOR_ASSIGNED', 'ACCEPTED', 'DISPATCHED',
                        'DELIVERED', 'COMPLETED', 'CANCELLED', 'REJECTED')),
    retailer_id     bigint NOT NULL REFERENCES retailers (user_id),
    vendor_id       bigint REFERENCES vendors (user_id),          -- NULL until assigned
    total_paisa     bigint NOT NULL CHECK (total_paisa > 0),
    request_key     text UNIQUE,       -- the inbound message that created the draft
    confirm_key     text UNIQUE,       -- the tap/message that confirmed it
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    confirmed_at    timestamptz,
    accepted_at     timestamptz,       -- billed: the ORDER_CREDIT is posted at acceptance
    due_at          timestamptz,       -- accepted_at + the retailer's credit terms then
    dispatched_at   timestamptz,
    delivered_at    timestamptz,
    closed_at       timestamptz,       -- COMPLETED, CANCELLED or REJECTED
    CHECK (status IN ('DRAFT', 'PENDING', 'CANCELLED', 'REJECTED') OR vendor_id IS NOT NULL),
    CHECK ((accepted_at IS NULL) = (due_at IS NULL))
);
CREATE INDEX orders_retailer ON orders (retailer_id, created_at DESC);
CREATE INDEX orders_vendor_open ON orders (vendor_id, created_at)
    WHERE status IN ('VENDOR_ASSIGNED', 'ACCEPTED', 'DISPATCHED', 'DELIVERED');
CREATE INDEX orders_unbilled ON orders (retailer_id) WHERE status IN ('PENDING', 'VENDOR_ASSIGNED');
CREATE INDEX orders_drafts ON orders (created_at) WHERE status = 'DRAFT';
CREATE INDEX orders_created ON orders (created_at);

-- New orders start as drafts; a status changes only along order_status_transitions.
CREATE FUNCTION orders_check_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.status <> 'DRAFT' THEN
            RAISE EXCEPTION 'illegal order transition: new order must be DRAFT, not %', NEW.status
                USING ERRCODE = 'check_violation';
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
CREATE TRIGGER orders_transition BEFORE INSERT OR UPDATE OF status ON orders
    FOR EACH ROW EXECUTE FUNCTION orders_check_transition();

CREATE TABLE order_lines (
    order_id          bigint NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    line_no           integer NOT NULL CHECK (line_no BETWEEN 1 AND 100),
    sku               text NOT NULL REFERENCES products (sku),
    quantity_milli    bigint NOT NULL CHECK (quantity_milli > 0),
    unit_text         text NOT NULL DEFAULT '',     -- the unit as the retailer said it
    unit_price_paisa  bigint NOT NULL CHECK (unit_price_paisa > 0),   -- per base unit, then
    line_total_paisa  bigint NOT NULL CHECK (line_total_paisa >= 0),
    PRIMARY KEY (order_id, line_no),
    UNIQUE (order_id, sku),
    -- round-half-up(quantity * price / 1000), in integers
    CHECK (line_total_paisa = (quantity_milli * unit_price_paisa + 500) / 1000)
);

-- Who moved an order from where to where and why; only legal pairs can be logged.
CREATE TABLE order_transitions (
    id           bigserial PRIMARY KEY,
    order_id     bigint NOT NULL REFERENCES orders (id),
    from_status  text NOT NULL,
    to_status    text NOT NULL,
    actor_id     bigint REFERENCES users (id),      -- NULL: the system (timeouts)
    reason       text NOT NULL DEFAULT '',
    at           timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (from_status, to_status) REFERENCES order_status_transitions
);
CREATE INDEX order_transitions_order ON order_transitions (order_id, id);

-- Stock held for accepted orders. Available = stock - reserved, and the database refuses anything
-- that would make either negative.
ALTER TABLE vendor_products
    ADD COLUMN reserved_milli bigint NOT NULL DEFAULT 0,
    ADD CONSTRAINT vendor_products_reserved_in_stock
        CHECK (reserved_milli >= 0 AND reserved_milli <= stock_milli);

CREATE TABLE stock_reservations (
    order_id        bigint NOT NULL REFERENCES orders (id),
    vendor_id       bigint NOT NULL,
    sku             text NOT NULL,
    quantity_milli  bigint NOT NULL CHECK (quantity_milli > 0),
    state           text NOT NULL DEFAULT 'RESERVED' CHECK (state IN ('RESERVED', 'RELEASED', 'TAKEN')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    settled_at      timestamptz,
    PRIMARY KEY (order_id, sku),
    FOREIGN KEY (vendor_id, sku) REFERENCES vendor_products (vendor_id, sku),
    CHECK ((state = 'RESERVED') = (settled_at IS NULL))
);

-- Each vendor is offered an order at most once; at most one offer per order is open.
CREATE TABLE vendor_assignments (
    id           bigserial PRIMARY KEY,
    order_id     bigint NOT NULL REFERENCES orders (id),
    vendor_id    bigint NOT NULL REFERENCES vendors (user_id),
    offered_at   timestamptz NOT NULL DEFAULT now(),
    answered_at  timestamptz,
    outcome      text NOT NULL DEFAULT 'OFFERED'
                 CHECK (outcome IN ('OFFERED', 'ACCEPTED', 'REJECTED', 'EXPIRED', 'WITHDRAWN')),
    reason       text NOT NULL DEFAULT '',
    UNIQUE (order_id, vendor_id),
    CHECK ((outcome = 'OFFERED') = (answered_at IS NULL))
);
CREATE UNIQUE INDEX vendor_assignments_one_open ON vendor_assignments (order_id)
    WHERE outcome = 'OFFERED';
CREATE INDEX vendor_assignments_open ON vendor_assignments (offered_at) WHERE outcome = 'OFFERED';
CREATE INDEX vendor_assignments_vendor ON vendor_assignments (vendor_id, outcome);

-- One account per retailer x vendor; the cached balance and version are what postings lock.
CREATE TABLE ledger_accounts (
    id             bigserial PRIMARY KEY,
    retailer_id    bigint NOT NULL REFERENCES retailers (user_id),
    vendor_id      bigint NOT NULL REFERENCES vendors (user_id),
    balance_paisa  bigint NOT NULL DEFAULT 0,        -- positive: the retailer owes the vendor
    version        bigint NOT NULL DEFAULT 0 CHECK (version >= 0),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (retailer_id, vendor_id)
);

CREATE TABLE payments (
    id               bigserial PRIMARY KEY,
    retailer_id      bigint NOT NULL REFERENCES retailers (user_id),
    vendor_id        bigint NOT NULL REFERENCES vendors (user_id),
    amount_paisa     bigint NOT NULL CHECK (amount_paisa > 0),
    method           text NOT NULL
                     CHECK (method IN ('cash', 'bank', 'esewa', 'khalti', 'fonepay', 'cheque')),
    reference        text NOT NULL DEFAULT '',
    recorded_by      bigint NOT NULL REFERENCES users (id),
    idempotency_key  text NOT NULL UNIQUE,
    received_at      timestamptz NOT NULL DEFAULT now(),
    reversed         boolean NOT NULL DEFAULT false    -- mirrors a REVERSAL entry; the entry rules
);
CREATE INDEX payments_account ON payments (retailer_id, vendor_id, received_at);

CREATE TABLE payment_allocations (
    payment_id    bigint NOT NULL REFERENCES payments (id),
    order_id      bigint NOT NULL REFERENCES orders (id),
    amount_paisa  bigint NOT NULL CHECK (amount_paisa > 0),
    PRIMARY KEY (payment_id, order_id)
);
CREATE INDEX payment_allocations_order ON payment_allocations (order_id);

CREATE TABLE ledger_entries (
    id                   bigserial PRIMARY KEY,
    account_id           bigint NOT NULL REFERENCES ledger_accounts (id),
    account_version      bigint NOT NULL CHECK (account_version > 0),
    kind                 text NOT NULL
                         CHECK (kind IN ('ORDER_CREDIT', 'PAYMENT_DEBIT', 'REVERSAL', 'ADJUSTMENT')),
    amount_paisa         bigint NOT NULL CHECK (amount_paisa <> 0),
    balance_after_paisa  bigint NOT NULL,
    order_id             bigint REFERENCES orders (id),
    payment_id           bigint REFERENCES payments (id),
    reverses_entry_id    bigint REFERENCES ledger_entries (id),
    idempotency_key      text NOT NULL UNIQUE,
    request_hash         bytea NOT NULL,
    actor_id             bigint REFERENCES users (id),
    reason               text NOT NULL DEFAULT '',
    created_at           timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, account_version),         -- one entry per account version: a chain
    CHECK (kind <> 'ORDER_CREDIT' OR (amount_paisa > 0 AND order_id IS NOT NULL)),
    CHECK (kind <> 'PAYMENT_DEBIT' OR (amount_paisa < 0 AND payment_id IS NOT NULL)),
    CHECK ((kind = 'REVERSAL') = (reverses_entry_id IS NOT NULL)),
    CHECK (kind <> 'ADJUSTMENT' OR (actor_id IS NOT NULL AND reason <> ''))
);
-- An entry is reversed at most once. Partial, because most entries reverse nothing and every
-- index entry is paid for on the posting path; UNIQUE (account_id, account_version) above also
-- serves per-account scans and statements, so no further index on entries is kept.
CREATE UNIQUE INDEX ledger_entries_reverses_once ON ledger_entries (reverses_entry_id)
    WHERE reverses_entry_id IS NOT NULL;
CREATE INDEX ledger_entries_order ON ledger_entries (order_id) WHERE order_id IS NOT NULL;

-- Corrections are new entries: the database refuses to change or remove one.
CREATE FUNCTION ledger_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger_entries is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER ledger_entries_no_update_delete BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_entries_append_only();
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_append_only();

-- Admin permissions to let one order past the credit limit; the audit_log row carries the reason.
CREATE TABLE credit_overrides (
    order_id     bigint PRIMARY KEY REFERENCES orders (id),
    retailer_id  bigint NOT NULL REFERENCES retailers (user_id),
    granted_by   bigint NOT NULL REFERENCES users (id),
    reason       text NOT NULL CHECK (reason <> ''),
    created_at   timestamptz NOT NULL DEFAULT now()
);
