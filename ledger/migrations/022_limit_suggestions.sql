-- Suggested credit limits (ledger/limit_suggestions.py): once a Nepal day the system reviews
-- every retailer's limit against their score and purchases, and offers staff a new one where it
-- differs materially; an operator or admin approves it with a tap (the limit is set and audited)
-- or dismisses it.
--
--   limit_suggestions    PENDING -> APPROVED or DISMISSED (by staff) or SUPERSEDED (by the next
--                        review), once; at most one PENDING per retailer; what was suggested,
--                        from what, never changes
--   limit_review_rounds  one row per Nepal day: how far that day's review has gone through the
--                        retailers (in id order), so any number of processes share one round and
--                        nobody is reviewed twice a day

CREATE TABLE limit_suggestions (
    id                       bigserial PRIMARY KEY,
    retailer_id              bigint NOT NULL REFERENCES retailers (user_id),
    current_limit_paisa      bigint NOT NULL CHECK (current_limit_paisa >= 0),
    suggested_limit_paisa    bigint NOT NULL CHECK (suggested_limit_paisa >= 0),
    score                    integer NOT NULL CHECK (score BETWEEN 300 AND 900),
    band                     text NOT NULL CHECK (band IN ('A', 'B', 'C', 'D', 'E')),
    monthly_purchases_paisa  bigint NOT NULL CHECK (monthly_purchases_paisa >= 0),
    why                      text NOT NULL
                             CHECK (why IN ('purchases', 'capped', 'doubling', 'overdue')),
    details                  jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(details) = 'object'),
    day                      date NOT NULL,      -- the Nepal day of the review that made it
    status                   text NOT NULL DEFAULT 'PENDING'
                             CHECK (status IN ('PENDING', 'APPROVED', 'DISMISSED', 'SUPERSEDED')),
    decided_by               bigint REFERENCES users (id),
    decided_at               timestamptz,
    created_at               timestamptz NOT NULL DEFAULT now(),
    CHECK (suggested_limit_paisa <> current_limit_paisa),
    CHECK ((status = 'PENDING') = (decided_at IS NULL)),
    CHECK ((status IN ('APPROVED', 'DISMISSED')) = (decided_by IS NOT NULL))
);
CREATE UNIQUE INDEX limit_suggestions_one_pending ON limit_suggestions (retailer_id)
    WHERE status = 'PENDING';
CREATE INDEX limit_suggestions_retailer ON limit_suggestions (retailer_id, created_at);

CREATE FUNCTION limit_suggestions_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.status <> 'PENDING' THEN
            RAISE EXCEPTION 'limit_suggestions: a suggestion starts PENDING (not %)', NEW.status
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END IF;
    IF to_jsonb(NEW) - '{status,decided_by,decided_at}'::text[]
            IS DISTINCT FROM to_jsonb(OLD) - '{status,decided_by,decided_at}'::text[]
            OR OLD.status <> 'PENDING' OR NEW.status = 'PENDING' THEN
        RAISE EXCEPTION 'limit_suggestions %: UPDATE refused: a suggestion is decided once, and '
            'nothing else about it changes (% -> %)', OLD.id, OLD.status, NEW.status
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.status IN ('APPROVED', 'DISMISSED') AND NOT EXISTS (
            SELECT 1 FROM users u WHERE u.id = NEW.decided_by AND u.role IN ('ADMIN', 'OPERATOR'))
    THEN
        RAISE EXCEPTION 'limit_suggestions %: UPDATE refused: staff decide a suggestion', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER limit_suggestions_guard BEFORE INSERT OR UPDATE ON limit_suggestions
    FOR EACH ROW EXECUTE FUNCTION limit_suggestions_guard();
CREATE TRIGGER limit_suggestions_no_delete BEFORE DELETE ON limit_suggestions
    FOR EACH STATEMENT
    EXECUTE FUNCTION financial_refuse('suggestions are kept; they are decided or superseded');
CREATE TRIGGER limit_suggestions_no_truncate BEFORE TRUNCATE ON limit_suggestions
    FOR EACH STATEMENT
    EXECUTE FUNCTION financial_refuse('suggestions are kept; they are decided or superseded');

CREATE TABLE limit_review_rounds (
    day                date PRIMARY KEY,
    after_retailer_id  bigint NOT NULL DEFAULT 0,  -- retailers up to this id are reviewed
    started_at         timestamptz NOT NULL DEFAULT now(),
    finished_at        timestamptz
);

-- As 013 does: every function resolves names in this schema first, the temporary schema last.
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
