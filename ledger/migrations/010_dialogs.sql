-- Conversations: where each person is in their dialog, kept in PostgreSQL so that any app process
-- can continue any conversation. Also what retailers chose for generic words, and registrations.

CREATE TABLE conversations (
    user_id         bigint PRIMARY KEY REFERENCES users (id),
    dialog          text NOT NULL CHECK (dialog IN ('registration', 'retailer', 'vendor', 'admin')),
    state           text NOT NULL CHECK (length(state) BETWEEN 1 AND 40),
    data            jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(data) = 'object'),
    version         bigint NOT NULL DEFAULT 0 CHECK (version >= 0),
    language_asked  boolean NOT NULL DEFAULT false,   -- first contact asks once
    updated_at      timestamptz NOT NULL DEFAULT now()
);
-- The draft-expiry job looks for conversations left in the middle of an order.
CREATE INDEX conversations_waiting ON conversations (updated_at)
    WHERE dialog = 'retailer' AND state <> 'idle';

-- "chamal" means Mansuli to this retailer: the parser resolves their generic words with it.
CREATE TABLE remembered_choices (
    retailer_id  bigint NOT NULL REFERENCES users (id),
    phrase       text NOT NULL CHECK (length(phrase) BETWEEN 1 AND 100),
    sku          text NOT NULL REFERENCES products (sku),
    chosen_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (retailer_id, phrase)
);

-- A number that wrote to us before anyone added it: what they told us, and the operator's answer.
CREATE TABLE registrations (
    user_id     bigint PRIMARY KEY REFERENCES users (id),
    name        text NOT NULL DEFAULT '' CHECK (length(name) <= 120),
    shop_name   text NOT NULL DEFAULT '' CHECK (length(shop_name) <= 120),
    area        text NOT NULL DEFAULT '' CHECK (length(area) <= 120),
    status      text NOT NULL DEFAULT 'STARTED'
                CHECK (status IN ('STARTED', 'PENDING', 'APPROVED', 'BLOCKED')),
    decided_by  bigint REFERENCES users (id),
    decided_at  timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((status IN ('APPROVED', 'BLOCKED')) = (decided_at IS NOT NULL))
);
CREATE INDEX registrations_pending ON registrations (created_at) WHERE status = 'PENDING';
