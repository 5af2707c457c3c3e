-- khaacho: no-transaction
-- The staff's "orders by area" chart names each area's best seller: it sums the town's product
-- rows (vendor_id NULL) of every area over the period. On the (grain, day) index that read
-- every vendor's rows of those days too and dropped them (bench/web_bench.py: 107 k rows read,
-- 49 k kept, 84 ms for 30 days at a tenth of the seed scale); this index holds only the town's
-- rows with what the sum needs, read without the table (36 ms).
-- Built concurrently (no-transaction: docs/operations.md, Deploys): the refresh keeps writing
-- the table while it is built; a failed build's invalid index is dropped before a rerun.
DROP INDEX CONCURRENTLY IF EXISTS analytics_products_town_areas;
CREATE INDEX CONCURRENTLY analytics_products_town_areas ON analytics_products (grain, day)
    INCLUDE (area, sku, value_paisa) WHERE vendor_id IS NULL AND area IS NOT NULL;
