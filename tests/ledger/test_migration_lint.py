"""The migration safety check (ledger/migration_lint.py): the shipped migrations pass with their
allow-list, each unsafe form is caught, the safe forms pass, and a no-transaction migration
builds an index CONCURRENTLY on a real database."""

from __future__ import annotations

import re
import subprocess
import sys

import asyncpg
import pytest

from ledger import migrate
from ledger.migration_lint import APPLIED, RULES, Finding, check, problems
from tests.conftest import ROOT

NO_TX = migrate.NO_TRANSACTION + "\n"


def lint(*sqls: str) -> list[tuple[str, str]]:
    """(rule, target) of each finding in migrations 901, 902, ... made of `sqls`."""
    migrations = [migrate.Migration(901 + i, f"{901 + i}_sample.sql", sql)
                  for i, sql in enumerate(sqls)]
    return [(f.rule, f.target) for f in check(migrations)]


def test_the_shipped_migrations_have_no_finding_outside_the_allow_list():
    new, stale = problems(check(migrate.available()))
    assert new == [], "\n".join(map(str, new))
    assert stale == []
    assert set(rule for _, rule, _ in APPLIED) <= set(RULES)


def test_the_command_passes_on_the_shipped_migrations():
    done = subprocess.run([sys.executable, "-m", "ledger.migration_lint"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(migrate.available())} migrations checked" in done.stdout


def test_a_new_finding_and_a_stale_entry_are_both_reported():
    finding = Finding("901_sample.sql", 3, "index", "orders")
    allowed = {("002_x.sql", "lock", "orders"): "gone"}
    assert problems([finding], allowed) == ([finding], [("002_x.sql", "lock", "orders")])
    assert problems([finding], {finding.key: "reviewed"}) == ([], [])


UNSAFE = [
    ("ALTER TABLE orders DROP COLUMN reference", "drop-column", "orders.reference"),
    ("ALTER TABLE orders RENAME COLUMN reference TO ref", "rename-column", "orders.reference"),
    ("ALTER TABLE orders RENAME TO purchases", "rename-table", "orders"),
    ("DROP TABLE audit_log", "drop-table", "audit_log"),
    ("ALTER TABLE ledger_entries ALTER COLUMN reason TYPE varchar(200)", "column-type",
     "ledger_entries.reason"),
    ("ALTER TABLE outbox ADD COLUMN token uuid DEFAULT gen_random_uuid()", "volatile-default",
     "outbox.token"),
    ("ALTER TABLE outbox ADD COLUMN at timestamptz DEFAULT clock_timestamp()",
     "volatile-default", "outbox.at"),
    ("ALTER TABLE outbox ADD COLUMN seq bigserial", "volatile-default", "outbox.seq"),
    ("ALTER TABLE outbox ADD COLUMN n bigint GENERATED ALWAYS AS IDENTITY", "volatile-default",
     "outbox.n"),
    ("ALTER TABLE orders ADD COLUMN note text NOT NULL", "not-null-no-default", "orders.note"),
    ("ALTER TABLE orders ALTER COLUMN vendor_id SET NOT NULL", "set-not-null",
     "orders.vendor_id"),
    ("CREATE INDEX orders_updated ON orders (updated_at)", "index", "orders"),
    ("CREATE UNIQUE INDEX payments_ref ON payments (reference)", "index", "payments"),
    ("ALTER TABLE orders ADD CONSTRAINT orders_ref UNIQUE (reference)", "index", "orders"),
    ("LOCK TABLE ledger_entries IN SHARE ROW EXCLUSIVE MODE", "lock", "ledger_entries"),
    ("ALTER TABLE payments ADD CONSTRAINT small CHECK (amount_paisa < 100)", "add-constraint",
     "payments"),
    ("ALTER TABLE payments ADD CONSTRAINT by_fk FOREIGN KEY (recorded_by) REFERENCES users (id)",
     "add-constraint", "payments"),
    ("ALTER TABLE orders ADD COLUMN checker bigint REFERENCES users (id)", "add-constraint",
     "orders"),
    ("UPDATE ledger_entries SET reason = ''", "backfill", "ledger_entries"),
    ("DELETE FROM outbox", "backfill", "outbox"),
    ("CREATE INDEX CONCURRENTLY orders_updated ON orders (updated_at)",
     "concurrently-in-transaction", "orders"),
    ("DO $$ BEGIN PERFORM 1; END $$", "do-block", ""),
]


@pytest.mark.parametrize(("sql", "rule", "target"), UNSAFE, ids=[u[1] for u in UNSAFE])
def test_each_unsafe_form_is_caught(sql, rule, target):
    assert lint(f"-- a new migration\n{sql};\n") == [(rule, target)]


def test_validating_in_the_transaction_that_added_the_constraint_is_caught():
    assert lint("""ALTER TABLE payments ADD CONSTRAINT small CHECK (amount_paisa < 100) NOT VALID;
                   ALTER TABLE payments VALIDATE CONSTRAINT small;""") == [
        ("validate-in-transaction", "payments")]


def test_set_not_null_is_caught_when_its_check_was_validated_in_the_same_transaction():
    assert lint("""ALTER TABLE orders ADD CONSTRAINT has_vendor CHECK (vendor_id IS NOT NULL)
                       NOT VALID;
                   ALTER TABLE orders VALIDATE CONSTRAINT has_vendor;
                   ALTER TABLE orders ALTER COLUMN vendor_id SET NOT NULL;""") == [
        ("validate-in-transaction", "orders")]


def test_a_finding_names_the_line_its_statement_starts_on():
    sql = ("-- नयाँ (a Nepali comment, so characters are not bytes)\n"
           "ALTER TABLE orders ADD COLUMN note text;\n\n"
           "-- why\n"
           "CREATE INDEX orders_note\n    ON orders (note);\n")
    [finding] = check([migrate.Migration(901, "901_sample.sql", sql)])
    assert (finding.line, finding.rule) == (5, "index")
    assert str(finding).startswith("901_sample.sql:5: index orders: builds an index")


SAFE = [
    "ALTER TABLE orders ADD COLUMN note text",
    "ALTER TABLE orders ADD COLUMN flags integer NOT NULL DEFAULT 0",
    "ALTER TABLE orders ADD COLUMN seen_at timestamptz NOT NULL DEFAULT now()",
    "ALTER TABLE orders ADD COLUMN tags text[] NOT NULL DEFAULT '{}'::text[]",
    "ALTER TABLE payments ADD CONSTRAINT small CHECK (amount_paisa < 100) NOT VALID",
    "ALTER TABLE payments ADD CONSTRAINT by_fk FOREIGN KEY (recorded_by) REFERENCES users (id)"
    " NOT VALID",
    "UPDATE orders SET reference = NULL WHERE id = 1",
    "ALTER TABLE orders ADD CONSTRAINT orders_ref UNIQUE USING INDEX orders_ref_index",
    "DROP INDEX IF EXISTS nothing_uses_it",
    # A table made in the same migration: nobody uses it yet, so anything goes.
    """CREATE TABLE notes (id bigserial PRIMARY KEY, body text);
       CREATE INDEX notes_body ON notes (body);
       ALTER TABLE notes ADD COLUMN at timestamptz DEFAULT clock_timestamp() CHECK (at > now());
       ALTER TABLE notes ALTER COLUMN body SET NOT NULL;
       ALTER TABLE notes RENAME COLUMN body TO text;
       LOCK TABLE notes""",
]


@pytest.mark.parametrize("sql", SAFE)
def test_safe_forms_pass(sql):
    assert lint(f"{sql};\n") == []


def test_an_index_built_concurrently_in_a_no_transaction_migration_passes():
    assert lint(NO_TX + """DROP INDEX CONCURRENTLY IF EXISTS orders_updated;
        CREATE INDEX CONCURRENTLY orders_updated ON orders (updated_at);""") == []


def test_a_concurrent_index_that_would_not_survive_a_rerun_is_caught():
    assert lint(NO_TX + "CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_updated"
                        " ON orders (updated_at);") == [("rerun", "orders.orders_updated")]
    assert lint(NO_TX + """DROP INDEX CONCURRENTLY IF EXISTS another_one;
        CREATE INDEX CONCURRENTLY orders_updated ON orders (updated_at);""") == [
        ("rerun", "orders.orders_updated")]


def test_not_valid_then_validate_in_a_later_migration_then_set_not_null_passes():
    assert lint(
        "ALTER TABLE orders ADD CONSTRAINT has_vendor CHECK (vendor_id IS NOT NULL) NOT VALID;",
        "ALTER TABLE orders VALIDATE CONSTRAINT has_vendor;",
        "ALTER TABLE orders ALTER COLUMN vendor_id SET NOT NULL;"
        " ALTER TABLE orders DROP CONSTRAINT has_vendor;") == []


def test_set_not_null_needs_a_check_on_that_very_column():
    assert lint(
        "ALTER TABLE orders ADD CONSTRAINT has_vendor CHECK (vendor_id IS NOT NULL) NOT VALID;",
        "ALTER TABLE orders VALIDATE CONSTRAINT has_vendor;",
        "ALTER TABLE orders ALTER COLUMN retailer_id SET NOT NULL;") == [
        ("set-not-null", "orders.retailer_id")]


def test_the_marker_must_be_the_first_line():
    assert migrate.Migration(901, "901_a.sql", NO_TX + "SELECT 1;").transactional is False
    assert migrate.Migration(901, "901_a.sql", "SELECT 1;\n" + NO_TX).transactional is True
    # Only a migration that builds an index concurrently needs to run outside a transaction.
    def builds_concurrently(sql: str) -> bool:
        code = "\n".join(line.partition("--")[0] for line in sql.splitlines())
        return re.search(r"\bINDEX\s+CONCURRENTLY\b", code, re.IGNORECASE) is not None

    assert {m.version for m in migrate.available() if not m.transactional} == {
        m.version for m in migrate.available() if builds_concurrently(m.sql)}


CONCURRENT_INDEX = """DROP INDEX CONCURRENTLY IF EXISTS ledger_entries_created_sample;
CREATE INDEX CONCURRENTLY ledger_entries_created_sample ON ledger_entries (created_at);
"""


async def _index_valid(conn: asyncpg.Connection) -> bool | None:
    valid: bool | None = await conn.fetchval(
        """SELECT i.indisvalid FROM pg_index i
           WHERE i.indexrelid = to_regclass('ledger_entries_created_sample')""")
    return valid


async def test_a_no_transaction_migration_builds_an_index_concurrently(owner_conn):
    sample = migrate.Migration(901, "901_concurrent_sample.sql", NO_TX + CONCURRENT_INDEX)
    assert check([sample]) == []
    ran = await migrate.migrate(owner_conn, migrations=[*migrate.available(), sample])
    assert ran == ["901_concurrent_sample.sql"]
    assert await _index_valid(owner_conn) is True
    assert await owner_conn.fetchval(
        "SELECT name FROM schema_migrations WHERE version = 901") == sample.name
    # Applied once: a second run has nothing to do.
    assert await migrate.migrate(owner_conn, migrations=[*migrate.available(), sample]) == []


async def test_without_the_marker_the_same_migration_is_refused_and_not_recorded(owner_conn):
    sample = migrate.Migration(901, "901_concurrent_sample.sql", CONCURRENT_INDEX)
    assert ("concurrently-in-transaction", "ledger_entries") in [
        (f.rule, f.target) for f in check([sample])]
    with pytest.raises(asyncpg.ActiveSQLTransactionError):
        await migrate.migrate(owner_conn, migrations=[*migrate.available(), sample])
    assert await _index_valid(owner_conn) is None
    assert await owner_conn.fetchval(
        "SELECT count(*) FROM schema_migrations WHERE version = 901") == 0
