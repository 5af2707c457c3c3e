-- Bank reports a retailer chose to share: one row per consent, and one per time its link was
-- opened (or tried after it ended).
--
--   bank_reports       issued only by the retailer's own "Agree": the institution as they typed
--                      it, the link's SHA-256 (never the token itself: a database dump opens
--                      nothing), the report's content as it was at consent (frozen: the bank
--                      sees what the retailer agreed to), valid until expires_at; revoked once
--   bank_report_views  append-only: when, page or pdf, from where, and whether it was shown or
--                      refused because the link had expired or was revoked
CREATE TABLE bank_reports (
    id              bigserial PRIMARY KEY,
    -- The report's own id ("BR-7K2M9QX4TD", ledger.bank_report): random, so it tells nobody how
    -- many reports there are; the same on the page, in the PDF and on the Revoke button.
    public_id       text NOT NULL UNIQUE CHECK (public_id ~ '^BR-[0-9A-Z]{4,20}$'),
    retailer_id     bigint NOT NULL REFERENCES retailers (user_id),
    institution     text NOT NULL CHECK (length(institution) BETWEEN 2 AND 80
                                         AND institution = btrim(institution)),
    language        text NOT NULL CHECK (language IN ('en', 'ne')),
    as_of           timestamptz NOT NULL,
    consented_at    timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    revoked_at      timestamptz,
    revoked_by      bigint REFERENCES users (id),
    first_viewed_at timestamptz,
    token_sha256    bytea NOT NULL UNIQUE CHECK (octet_length(token_sha256) = 32),
    content         jsonb NOT NULL CHECK (jsonb_typeof(content) = 'object'),
    CHECK (as_of <= consented_at),
    CHECK (expires_at > consented_at AND expires_at <= consented_at + interval '90 days'),
    CHECK (revoked_at IS NOT NULL OR revoked_by IS NULL)
);
CREATE INDEX bank_reports_retailer ON bank_reports (retailer_id, expires_at);

CREATE TABLE bank_report_views (
    id          bigserial PRIMARY KEY,
    report_id   bigint NOT NULL REFERENCES bank_reports (id),
    viewed_at   timestamptz NOT NULL DEFAULT now(),
    kind        text NOT NULL CHECK (kind IN ('page', 'pdf')),
    outcome     text NOT NULL CHECK (outcome IN ('shown', 'expired', 'revoked')),
    client_address text CHECK (length(client_address) <= 64),
    user_agent  text CHECK (length(user_agent) <= 200)
);
CREATE INDEX bank_report_views_report ON bank_report_views (report_id, viewed_at);

-- What was agreed never changes: the app may set revoked_at/revoked_by and first_viewed_at
-- only (its UPDATE grant is narrowed to those columns, ledger/roles.py), each once.
CREATE FUNCTION bank_reports_guard() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public AS $$
BEGIN
    IF OLD.revoked_at IS NOT NULL AND NEW.revoked_at IS DISTINCT FROM OLD.revoked_at
       OR OLD.revoked_by IS NOT NULL AND NEW.revoked_by IS DISTINCT FROM OLD.revoked_by THEN
        RAISE EXCEPTION 'bank_reports %: UPDATE refused: a report is revoked once', OLD.id;
    END IF;
    IF OLD.first_viewed_at IS NOT NULL
       AND NEW.first_viewed_at IS DISTINCT FROM OLD.first_viewed_at THEN
        RAISE EXCEPTION 'bank_reports %: UPDATE refused: the first view is set once', OLD.id;
    END IF;
    IF (NEW.public_id, NEW.retailer_id, NEW.institution, NEW.language, NEW.as_of, NEW.consented_at,
        NEW.expires_at, NEW.token_sha256, NEW.content)
       IS DISTINCT FROM (OLD.public_id, OLD.retailer_id, OLD.institution, OLD.language, OLD.as_of,
                         OLD.consented_at, OLD.expires_at, OLD.token_sha256, OLD.content) THEN
        RAISE EXCEPTION 'bank_reports %: UPDATE refused: what the retailer agreed to is kept',
            OLD.id;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER bank_reports_guard BEFORE UPDATE ON bank_reports
    FOR EACH ROW EXECUTE FUNCTION bank_reports_guard();
CREATE TRIGGER bank_reports_no_delete BEFORE DELETE ON bank_reports
    FOR EACH STATEMENT EXECUTE FUNCTION financial_refuse('consents are kept; they are revoked');
CREATE TRIGGER bank_report_views_no_change BEFORE UPDATE OR DELETE ON bank_report_views
    FOR EACH STATEMENT EXECUTE FUNCTION financial_refuse('views of a report are kept');
