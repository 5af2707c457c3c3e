-- The sender claims the oldest pending message whose recipient has nothing older pending. These
-- partial indexes keep each claim a couple of index probes however long the queue is (before,
-- ordering by id over the (next_attempt_at, id) index sorted every pending row on every claim).
CREATE INDEX outbox_pending_by_id ON outbox (id) WHERE status = 'pending';
CREATE INDEX outbox_pending_recipient ON outbox (recipient, id) WHERE status = 'pending';
