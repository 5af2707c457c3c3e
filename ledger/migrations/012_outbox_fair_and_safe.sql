-- Replies sent once, fairly; floods throttled. See bot/sender.py and bot/inbox.py for how these
-- columns are used.

-- A send is recorded as in flight (`sending_since`, committed before the HTTP call) so that an
-- unanswered or interrupted one is recognised and confirmed by its status webhook instead of being
-- sent again blindly. `turn` orders claims fairly across recipients (start-time fair queueing:
-- a recipient's next message takes the turn after its previous one, never earlier than the
-- queue's current turn). `pair_hits` counts Meta's per-recipient rate limit (131056) answers.
ALTER TABLE outbox
    ADD COLUMN sending_since timestamptz,
    ADD COLUMN turn bigint NOT NULL DEFAULT 0 CHECK (turn >= 0),
    ADD COLUMN pair_hits integer NOT NULL DEFAULT 0 CHECK (pair_hits >= 0);
-- Claims walk pending messages by (turn, id) instead of id alone; the old order is unused.
DROP INDEX outbox_pending_by_id;
CREATE INDEX outbox_pending_turn ON outbox (turn, id) WHERE status = 'pending';

-- Meta echoes the `biz_opaque_callback_data` we send (our outbox id) in status webhooks.
ALTER TABLE message_statuses
    ADD COLUMN callback_data text CHECK (length(callback_data) <= 512);
CREATE INDEX message_statuses_callback ON message_statuses (callback_data)
    WHERE callback_data IS NOT NULL;

-- A message handled without the dialogs says why ('throttled'); it is kept, never dropped.
ALTER TABLE inbound_messages
    ADD COLUMN handled_as text CHECK (length(handled_as) BETWEEN 1 AND 40);
-- Counting one sender's recent messages is a bounded range scan.
CREATE INDEX inbound_sender_sent ON inbound_messages (sender, sent_at, id);

-- Per sender: when the inbox last served them (the least recently served go first) and when a
-- message of theirs was last throttled (one notice per flood).
CREATE TABLE inbound_senders (
    sender             text PRIMARY KEY,
    last_served_at     timestamptz NOT NULL DEFAULT now(),
    last_throttled_at  timestamptz,
    throttled          bigint NOT NULL DEFAULT 0 CHECK (throttled >= 0)
);
