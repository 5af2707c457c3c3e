-- An override lets one order past the limit up to the total it had when granted: a draft edited
-- to more afterwards needs a new override (one that outlived "ghee 15 kg thap" lent more than an
-- admin granted). So an order may now have several overrides, each for its total then.
ALTER TABLE credit_overrides ADD COLUMN total_paisa bigint CHECK (total_paisa > 0);
ALTER TABLE credit_overrides DROP CONSTRAINT credit_overrides_pkey;
ALTER TABLE credit_overrides ADD COLUMN id bigserial PRIMARY KEY;
CREATE INDEX credit_overrides_order ON credit_overrides (order_id);
