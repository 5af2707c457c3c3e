-- Foundation: people, catalog, the WhatsApp channel's message store and the audit log.
-- Money is integer paisa; times are timestamptz (stored UTC).

CREATE TABLE users (
    id          bigserial PRIMARY KEY,
    phone       text UNIQUE CHECK (phone ~ '^\+[1-9][0-9]{7,14}$'),   -- E.164
    wa_id       text UNIQUE,                                          -- WhatsApp id (digits)
    wa_user_id  text UNIQUE,                                          -- business-scoped user id
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
    role        text NOT NULL CHECK (role IN ('ADMIN', 'OPERATOR', 'VENDOR', 'RETAILER')),
    language    text NOT NULL DEFAULT 'ne' CHECK (language IN ('en', 'ne')),
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (phone IS NOT NULL OR wa_user_id IS NOT NULL)
);

CREATE TABLE retailers (
    user_id             bigint PRIMARY KEY REFERENCES users (id),
    shop_name           text NOT NULL CHECK (length(shop_name) BETWEEN 1 AND 120),
    address             text NOT NULL DEFAULT '',
    credit_limit_paisa  bigint NOT NULL DEFAULT 0 CHECK (credit_limit_paisa >= 0),
    credit_terms_days   integer NOT NULL DEFAULT 30 CHECK (credit_terms_days BETWEEN 0 AND 365)
);

CREATE TABLE vendors (
    user_id    bigint PRIMARY KEY REFERENCES users (id),
    shop_name  text NOT NULL CHECK (length(shop_name) BETWEEN 1 AND 120),
    address    text NOT NULL DEFAULT ''
);

CREATE TABLE products (
    sku           text PRIMARY KEY CHECK (sku ~ '^[A-Z0-9][A-Z0-9-]{0,63}$'),
    name_en       text NOT NULL,
    name_ne       text NOT NULL,
    category      text NOT NULL,
    unit          text NOT NULL,                       -- base unit: kg, l, piece, packet, ...
    packs         jsonb NOT NULL DEFAULT '{}',         -- {"bora": "25"}: base units per pack
    price_paisa   bigint NOT NULL CHECK (price_paisa > 0),   -- list price per base unit
    active        boolean NOT NULL DEFAULT true,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE product_aliases (
    sku    text NOT NULL REFERENCES products (sku),
    alias  text NOT NULL,
    PRIMARY KEY (sku, alias)
);

-- What a vendor carries: their own price per base unit and stock in base units (milli-units so
-- 0.5 kg is exact). Stock never negative is a constraint, not a check in code.
CREATE TABLE vendor_products (
    vendor_id     bigint NOT NULL REFERENCES vendors (user_id),
    sku           text NOT NULL REFERENCES products (sku),
    price_paisa   bigint NOT NULL CHECK (price_paisa > 0),
    stock_milli   bigint NOT NULL DEFAULT 0 CHECK (stock_milli >= 0),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (vendor_id, sku)
);
CREATE INDEX vendor_products_sku ON vendor_products (sku);

-- Every inbound WhatsApp message, stored by its wamid in the same step that acknowledges it.
CREATE TABLE inbound_messages (
    id           bigserial PRIMARY KEY,
    wamid        text NOT NULL UNIQUE,
    sender       text NOT NULL,                 -- wa_id, or business-scoped user id without one
    wa_id        text,
    wa_user_id   text,
    profile_name text,
    kind         text NOT NULL,                 -- text, interactive, image, audio, ...
    body         jsonb NOT NULL,                -- the message object as Meta sent it
    sent_at      timestamptz NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    handled_at   timestamptz,
    attempts     integer NOT NULL DEFAULT 0,
    last_error   text
);
CREATE INDEX inbound_unhandled ON inbound_messages (sender, id) WHERE handled_at IS NULL;

-- Transactional outbox: replies are written with the state they report, sent afterwards.
CREATE TABLE outbox (
    id               bigserial PRIMARY KEY,
    recipient        text NOT NULL,             -- wa_id, or business-scoped user id
    payload          jsonb NOT NULL,            -- Graph API message body without "to"
    fallback         jsonb,                     -- template body if outside the 24-hour window
    inbound_id       bigint REFERENCES inbound_messages (id),
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'sent', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_error       text,
    wamid            text UNIQUE,
    created_at       timestamptz NOT NULL DEFAULT now(),
    sent_at          timestamptz
);
CREATE INDEX outbox_pending ON outbox (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX outbox_recipient ON outbox (recipient, id);
CREATE INDEX outbox_failed ON outbox (id) WHERE status = 'failed';

-- Delivery statuses of what we sent; the rank only moves forward (late callbacks are ignored).
CREATE TABLE message_statuses (
    wamid       text PRIMARY KEY,
    status      text NOT NULL CHECK (status IN ('sent', 'delivered', 'read', 'failed')),
    rank        smallint NOT NULL,
    recipient   text,
    error_code  integer,
    error_title text,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    actor_id    bigint REFERENCES users (id),
    action      text NOT NULL,
    subject     text NOT NULL DEFAULT '',
    reason      text NOT NULL DEFAULT '',
    details     jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_created ON audit_log (created_at);
