-- A send's record in one round trip (bot/sender.py, Sender._sent): the outbox row marked sent
-- with Meta's wamid, then the wamid's lock (bot/store.py, lock_wamid), then the look for a
-- failure status that came before it. The look must see what was committed while it waited for
-- the lock, which one SQL statement cannot (its snapshot is taken when it starts); each query of
-- a volatile function takes a fresh one. When such a failure is there the function raises,
-- which undoes the record, and the caller records it again in a transaction that applies the
-- failure too: the common case is one statement and no BEGIN or COMMIT.
-- `updated`: the row was still pending (not settled meanwhile by a status webhook);
-- `waiting`: the recipient has another reply pending (the sender looks again if so).
CREATE FUNCTION outbox_record_sent(
    row_id bigint, sent_wamid text, delivered_channel text,
    OUT updated boolean, OUT waiting boolean
) LANGUAGE plpgsql AS $$
BEGIN
    UPDATE outbox SET status = 'sent', wamid = sent_wamid, sent_at = now(), sending_since = NULL
     WHERE id = row_id AND status = 'pending'
    RETURNING EXISTS (SELECT FROM outbox e
                       WHERE e.recipient = outbox.recipient AND e.status = 'pending'
                         AND e.id <> outbox.id)
         INTO waiting;
    updated := FOUND;
    IF updated THEN
        PERFORM pg_notify(delivered_channel, '');
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended('wamid:' || sent_wamid, 0));
    IF EXISTS (SELECT FROM message_statuses WHERE wamid = sent_wamid AND status = 'failed') THEN
        RAISE EXCEPTION 'a failure status for % came before its send was recorded', sent_wamid;
    END IF;
END $$;
