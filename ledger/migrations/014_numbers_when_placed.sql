-- Order numbers are given when an order is placed, so the numbers a shop sees never jump over
-- drafts it dropped: a draft is "D-000123" (its `draft_ref`, kept for good so the buttons under
-- it still find it) until confirmation gives it the next "KH-000123".
CREATE SEQUENCE order_draft_seq;
ALTER TABLE orders ADD COLUMN draft_ref text UNIQUE CHECK (draft_ref LIKE 'D-%');
