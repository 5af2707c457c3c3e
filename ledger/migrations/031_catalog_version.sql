-- The catalog's version: the id of the last transaction that wrote products or their aliases,
-- set by a trigger on every such statement, in the writing transaction (a sequence would move
-- before the commit, and a reader could cache the old catalog under the new number). Each
-- process keeps its order parser until the version moves (ledger/catalog_store.py): one row
-- read a message instead of counting the products. Transaction ids are the server's, not the
-- database's, so two databases on one server (tests) never show one version for two catalogs.
CREATE TABLE catalog_version (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    version  bigint NOT NULL DEFAULT txid_current()
);
INSERT INTO catalog_version DEFAULT VALUES;

CREATE FUNCTION raise_catalog_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE catalog_version SET version = txid_current();
    RETURN NULL;
END $$;

CREATE TRIGGER products_raise_catalog_version
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON products
    FOR EACH STATEMENT EXECUTE FUNCTION raise_catalog_version();
CREATE TRIGGER product_aliases_raise_catalog_version
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON product_aliases
    FOR EACH STATEMENT EXECUTE FUNCTION raise_catalog_version();
