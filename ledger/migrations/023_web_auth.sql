-- Signing in to the web and the API (ledger/auth.py): one-time codes sent on WhatsApp, sessions
-- and bearer tokens, and the outcomes of API requests made with an Idempotency-Key.
--
-- Nothing secret is stored as it was given: a code is kept as SHA-256 of a random salt, the
-- phone and the code; a session or token as SHA-256 of the token (tokens are 256 random bits,
-- so a plain hash is enough). A leaked table signs nobody in.

-- Every request for a code, also for numbers we do not know (no code is made for those): the
-- rate limits per phone and per client address count these rows, so a stranger's number is
-- limited exactly as a member's and the answer never tells them apart.
CREATE TABLE auth_codes (
    id             bigserial PRIMARY KEY,
    phone          text NOT NULL CHECK (length(phone) BETWEEN 1 AND 32),
    client_address text NOT NULL CHECK (length(client_address) BETWEEN 1 AND 64),
    user_id        bigint REFERENCES users (id),   -- NULL: nobody to send a code to
    salt           bytea CHECK (salt IS NULL OR octet_length(salt) = 16),
    code_hash      bytea CHECK (code_hash IS NULL OR octet_length(code_hash) = 32),
    tries          integer NOT NULL DEFAULT 0 CHECK (tries BETWEEN 0 AND 1000),
    created_at     timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL,
    used_at        timestamptz,
    CHECK ((user_id IS NULL) = (code_hash IS NULL) AND (salt IS NULL) = (code_hash IS NULL)),
    CHECK (expires_at > created_at)
);
CREATE INDEX auth_codes_by_phone ON auth_codes (phone, created_at DESC);
CREATE INDEX auth_codes_by_address ON auth_codes (client_address, created_at DESC);

-- A web session (cookie), an API token (from a code) or an integration's long-lived token.
CREATE TABLE auth_tokens (
    id           bigserial PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users (id),
    kind         text NOT NULL CHECK (kind IN ('web', 'api', 'integration')),
    name         text NOT NULL DEFAULT '' CHECK (length(name) <= 120),
    token_hash   bytea NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    last_used_at timestamptz,
    revoked_at   timestamptz,
    CHECK (expires_at > created_at)
);
CREATE INDEX auth_tokens_by_user ON auth_tokens (user_id) WHERE revoked_at IS NULL;

-- The first outcome of a POST made with an Idempotency-Key, per user: a retry with the same key
-- and the same request gets it again; the same key with another request is refused.
CREATE TABLE api_idempotency (
    id           bigserial PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users (id),
    key          text NOT NULL CHECK (length(key) BETWEEN 1 AND 200),
    request_hash bytea NOT NULL CHECK (octet_length(request_hash) = 32),
    status       integer CHECK (status BETWEEN 100 AND 599),
    body         bytea CHECK (body IS NULL OR octet_length(body) <= 1048576),
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, key),
    CHECK ((status IS NULL) = (body IS NULL))
);
