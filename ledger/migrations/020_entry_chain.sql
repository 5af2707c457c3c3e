-- Tamper-evident entries: each ledger entry stores the SHA-256 of its content, and its content
-- includes the hash of the entry before it on the same account, so every account's entries form
-- a hash chain. Changing, removing or slipping in an entry anywhere (even as a superuser, past
-- every trigger) breaks the chain from there on; `khaacho check` (kind entry_chain) recomputes
-- every hash in Python, and ledger/chain.py lets a chain head handed out earlier (a bank report)
-- be verified later.
--
--   prev_hash   the entry_hash of the account's entry at account_version - 1; NULL only for an
--               account's first entry
--   entry_hash  sha256(content), content as ledger/chain.py documents it (the one canonical
--               serialization; ledger_entry_content below writes the same bytes)
--
-- The database computes both, in a BEFORE INSERT trigger, for every writer (ledger.postings'
-- one-statement posting, the khata import's, anything by hand): a writer cannot pick them, and
-- one that gives them must give exactly what the chain says or the row is refused. Entries of one
-- account are written under that account's row lock (the UPDATE of ledger_accounts in the same
-- statement), so the entry before is committed, or this transaction's own, when the trigger
-- reads it: the chain is serial per account.

ALTER TABLE ledger_entries
    ADD COLUMN prev_hash bytea CHECK (octet_length(prev_hash) = 32),
    ADD COLUMN entry_hash bytea CHECK (octet_length(entry_hash) = 32);

-- One field of the content: a netstring ("<byte length>:<bytes>,"), or "-," for NULL.
CREATE FUNCTION ledger_entry_field(value bytea) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN value IS NULL THEN '\x2d2c'::bytea
                ELSE convert_to(octet_length(value)::text || ':', 'UTF8') || value
                     || '\x2c'::bytea END
$$;

-- The bytes an entry's hash covers (ledger/chain.py: content). Integers in decimal, text in
-- UTF-8, times as integer microseconds since 1970-01-01 UTC, hashes as their raw bytes.
CREATE FUNCTION ledger_entry_content(e ledger_entries, retailer_id bigint, vendor_id bigint)
RETURNS bytea LANGUAGE sql STABLE AS $$
    SELECT ledger_entry_field(convert_to('khaacho-entry-v1', 'UTF8'))
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
        || ledger_entry_field(e.prev_hash)
$$;

-- Every entry written before this migration, chained in (account_id, account_version) order.
-- The append-only trigger is held off for this one backfill, inside the migration's
-- transaction, as the owner (as 015 did).
ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_no_update_delete;
DO $$
DECLARE
    e ledger_entries;
    account record;
    previous bigint;
    prev bytea;
BEGIN
    FOR e IN SELECT * FROM ledger_entries ORDER BY account_id, account_version LOOP
        IF e.account_id IS DISTINCT FROM previous THEN
            SELECT a.retailer_id, a.vendor_id INTO account
            FROM ledger_accounts a WHERE a.id = e.account_id;
            previous := e.account_id;
            prev := NULL;
        END IF;
        e.prev_hash := prev;
        prev := sha256(ledger_entry_content(e, account.retailer_id, account.vendor_id));
        UPDATE ledger_entries SET prev_hash = e.prev_hash, entry_hash = prev WHERE id = e.id;
    END LOOP;
END $$;
ALTER TABLE ledger_entries ENABLE TRIGGER ledger_entries_no_update_delete;

ALTER TABLE ledger_entries
    ALTER COLUMN entry_hash SET NOT NULL,
    ADD CONSTRAINT ledger_entries_first_has_no_prev
        CHECK ((account_version = 1) = (prev_hash IS NULL));

CREATE FUNCTION ledger_entries_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    account record;
    prev bytea;
    computed bytea;
BEGIN
    SELECT a.retailer_id, a.vendor_id INTO account
    FROM ledger_accounts a WHERE a.id = NEW.account_id;
    IF NEW.account_version > 1 THEN
        SELECT e.entry_hash INTO prev FROM ledger_entries e
        WHERE e.account_id = NEW.account_id AND e.account_version = NEW.account_version - 1;
        IF prev IS NULL THEN
            RAISE EXCEPTION 'ledger_entries %: refused: account % has no entry at version % for '
                'this one to follow', NEW.id, NEW.account_id, NEW.account_version - 1
                USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    IF NEW.prev_hash IS NOT NULL AND NEW.prev_hash IS DISTINCT FROM prev THEN
        RAISE EXCEPTION 'ledger_entries %: refused: prev_hash is not the hash of the entry '
            'before it on account %', NEW.id, NEW.account_id USING ERRCODE = 'check_violation';
    END IF;
    NEW.prev_hash := prev;
    computed := sha256(ledger_entry_content(NEW, account.retailer_id, account.vendor_id));
    IF NEW.entry_hash IS NOT NULL AND NEW.entry_hash <> computed THEN
        RAISE EXCEPTION 'ledger_entries %: refused: entry_hash is not the hash of its content',
            NEW.id USING ERRCODE = 'check_violation';
    END IF;
    NEW.entry_hash := computed;
    RETURN NEW;
END $$;

CREATE TRIGGER ledger_entries_chain BEFORE INSERT ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_entries_chain();

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
