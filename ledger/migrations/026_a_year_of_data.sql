-- A year of a town's data (issue 14): what keeps every chat turn's work flat as history grows.
--
-- Order, draft and imported-bill numbers are at least six digits, and longer once the sequence
-- passes 999,999: `lpad(n, 6, '0')` cut the seventh digit off, so the millionth order would have
-- been refused as a duplicate of order 100,000 (a town at the seed scale gets there in ~100 days).
CREATE FUNCTION padded_number(prefix text, n bigint) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT prefix || lpad(n::text, GREATEST(6, length(n::text)), '0')
$$;
ALTER FUNCTION padded_number(text, bigint) SET search_path = pg_catalog, pg_temp;
ALTER TABLE orders ALTER COLUMN number SET DEFAULT padded_number('KH-', nextval('order_number_seq'));
