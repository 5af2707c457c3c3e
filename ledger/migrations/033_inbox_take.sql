-- A sender's turn and their oldest unhandled message in one round trip (bot/inbox.py,
-- Inbox.handle_next), instead of one statement for the locks and one for the read. The read
-- must see every message whose store committed before the 'inbound:' key was got, which a
-- statement that takes that key cannot (its snapshot is taken when it starts); each query of a
-- volatile function takes a fresh one. The key is let go after the read, as before: a store that
-- starts then is of a later message. (Its path is pinned as 013 asks of every function.)
-- `taken`: NULL when another worker is handling the sender's messages (the transaction's
-- 'inbox:' lock), false when one of theirs is being stored right now (its commit wakes the inbox
-- again), true when this transaction handles them; `message` is then their oldest unhandled one
-- (NULL when none), and `recent` how many they sent in the window before it, counted to the cap.
CREATE FUNCTION inbox_take(
    taken_sender text, flood_window interval, flood_cap integer,
    OUT taken boolean, OUT message inbound_messages, OUT recent integer
) LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtextextended('inbox:' || taken_sender, 0)) THEN
        RETURN;
    END IF;
    taken := pg_try_advisory_lock(hashtextextended('inbound:' || taken_sender, 0));
    IF NOT taken THEN
        RETURN;
    END IF;
    SELECT m.* INTO message FROM inbound_messages m
     WHERE m.sender = taken_sender AND m.handled_at IS NULL
     ORDER BY m.id LIMIT 1;
    PERFORM pg_advisory_unlock(hashtextextended('inbound:' || taken_sender, 0));
    IF message.id IS NOT NULL THEN
        SELECT count(*) INTO recent FROM (
            SELECT 1 FROM inbound_messages r
             WHERE r.sender = taken_sender AND r.sent_at > message.sent_at - flood_window
               AND (r.sent_at, r.id) < (message.sent_at, message.id)
             LIMIT flood_cap) AS window_before;
    END IF;
END $$;
