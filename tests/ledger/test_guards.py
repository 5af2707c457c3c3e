"""The database is the last wall: plain SQL as the app's role cannot make an illegal change to any
financial table, nor switch the guards off; the owner is held by the triggers too.

Each case runs on a small ledger the services built (tests/ledger/test_check.py's book) and must
be refused by the named wall: a missing privilege ("permission denied") or a trigger of
migration 013 (its rule's words). The `conn` fixture then checks the ledger still agrees with
itself, so nothing refused left a trace.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
import pytest

from ledger import lifecycle, orders, roles
from tests.ledger.test_check import Book, build_book

Args = Callable[[Book], tuple[object, ...]]
DENIED = "permission denied"
LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)

# One statement that does what ledger.postings does (move the account, append the entry), with
# whatever content a writer by hand gives it: the rules must judge the content.
POST_BY_HAND = """
    WITH acc AS (
        UPDATE ledger_accounts SET balance_paisa = balance_paisa + $3, version = version + 1
        WHERE retailer_id = $1 AND vendor_id = $2 RETURNING id, version, balance_paisa)
    INSERT INTO ledger_entries (account_id, account_version, kind, amount_paisa,
        balance_after_paisa, order_id, payment_id, reverses_entry_id, idempotency_key,
        request_hash, actor_id, reason)
    SELECT id, version, $4, $3, balance_paisa, $5::bigint, $6::bigint, $7::bigint,
           'by-hand-' || id || '-' || version, '\\x00', $8::bigint, 'by hand'
    FROM acc"""


# The same, saying who stated and acknowledged the entry, when it happened and where it came
# from (migration 015).
POST_SAYING = """
    WITH acc AS (
        UPDATE ledger_accounts SET balance_paisa = balance_paisa + $3, version = version + 1
        WHERE retailer_id = $1 AND vendor_id = $2 RETURNING id, version, balance_paisa)
    INSERT INTO ledger_entries (account_id, account_version, kind, amount_paisa,
        balance_after_paisa, idempotency_key, request_hash, actor_id, reason, stated_by,
        acknowledged_by, happened_at, source)
    SELECT id, version, 'ADJUSTMENT', $3, balance_paisa, 'by-hand-' || id || '-' || version,
           '\\x00', $4::bigint, 'by hand', $4::bigint, $5::bigint,
           COALESCE($6::timestamptz, now()), $7::text
    FROM acc"""


# The same adjustment by hand, giving its own prev_hash ($4) and entry_hash ($5) (migration 020).
POST_HASHED = """
    WITH acc AS (
        UPDATE ledger_accounts SET balance_paisa = balance_paisa + $3, version = version + 1
        WHERE retailer_id = $1 AND vendor_id = $2 RETURNING id, version, balance_paisa)
    INSERT INTO ledger_entries (account_id, account_version, kind, amount_paisa,
        balance_after_paisa, idempotency_key, request_hash, actor_id, reason, prev_hash,
        entry_hash)
    SELECT id, version, 'ADJUSTMENT', $3, balance_paisa, 'by-hand-' || id || '-' || version,
           '\\x00', $6::bigint, 'by hand', $4::bytea, $5::bytea
    FROM acc"""


@dataclass(frozen=True)
class Case:
    name: str
    sql: str
    args: Args
    error: type[asyncpg.PostgresError]
    match: str


def _none(book: Book) -> tuple[object, ...]:
    return ()


def _account(book: Book) -> tuple[object, ...]:
    return (book.world.retailer.id, book.world.vendor.id)


CASES = [
    # ledger_accounts: the cached balance moves only with its entry.
    Case("balance_updated", "UPDATE ledger_accounts SET balance_paisa = balance_paisa - 100 "
         "WHERE retailer_id = $1 AND vendor_id = $2", _account,
         asyncpg.InsufficientPrivilegeError, "one version at a time"),
    Case("balance_and_version_updated", "UPDATE ledger_accounts SET balance_paisa = "
         "balance_paisa - 100, version = version + 1 WHERE retailer_id = $1 AND vendor_id = $2",
         _account, asyncpg.InsufficientPrivilegeError, "without the entry that moves it"),
    Case("account_moved_to_another_vendor", "UPDATE ledger_accounts SET vendor_id = $2 "
         "WHERE retailer_id = $1", _account, asyncpg.InsufficientPrivilegeError, DENIED),
    Case("account_born_owing", "INSERT INTO ledger_accounts (retailer_id, vendor_id, "
         "balance_paisa) VALUES ($1, $2, 50000)",
         lambda b: (b.world.retailer.id, b.world.vendor2.id),
         asyncpg.CheckViolationError, "starts at balance 0"),
    Case("account_deleted", "DELETE FROM ledger_accounts", _none,
         asyncpg.InsufficientPrivilegeError, DENIED),
    Case("accounts_truncated", "TRUNCATE ledger_accounts CASCADE", _none,
         asyncpg.InsufficientPrivilegeError, DENIED),
    # ledger_entries: append-only, and each entry means what its kind says.
    Case("entry_updated", "UPDATE ledger_entries SET amount_paisa = 1", _none,
         asyncpg.InsufficientPrivilegeError, DENIED),
    Case("entry_deleted", "DELETE FROM ledger_entries", _none,
         asyncpg.InsufficientPrivilegeError, DENIED),
    Case("entries_truncated", "TRUNCATE ledger_entries", _none,
         asyncpg.InsufficientPrivilegeError, DENIED),
    Case("entry_without_its_account", """
         INSERT INTO ledger_entries (account_id, account_version, kind, amount_paisa,
             balance_after_paisa, idempotency_key, request_hash, actor_id, reason)
         SELECT id, version + 1, 'ADJUSTMENT', -100, balance_paisa - 100, 'by-hand', '\\x00',
                $3::bigint, 'by hand'
         FROM ledger_accounts WHERE retailer_id = $1 AND vendor_id = $2""",
         lambda b: (*_account(b), b.world.admin.id),
         asyncpg.CheckViolationError, "appended with the move of its account"),
    Case("draft_credited", POST_BY_HAND,
         lambda b: (*_account(b), 11_500, "ORDER_CREDIT", b.draft, None, None, b.world.vendor.id),
         asyncpg.CheckViolationError, "an order is credited once, when accepted"),
    Case("order_credited_twice", POST_BY_HAND,
         lambda b: (*_account(b), 48_000, "ORDER_CREDIT", b.accepted, None, None,
                    b.world.vendor.id),
         asyncpg.CheckViolationError, "an order is credited once"),
    Case("payment_debited_twice", POST_BY_HAND,
         lambda b: (*_account(b), -5_000, "PAYMENT_DEBIT", None, b.partial, None,
                    b.world.vendor.id),
         asyncpg.CheckViolationError, "a payment is debited once"),
    Case("reversal_of_another_amount", POST_BY_HAND,
         lambda b: (b.world.retailer2.id, b.world.vendor.id, -300, "REVERSAL", None, None,
                    b.adjustment, b.world.admin.id),
         asyncpg.CheckViolationError, "the exact opposite"),
    # payments: never change but for `reversed`, false -> true, with its REVERSAL.
    Case("payment_amount_changed", "UPDATE payments SET amount_paisa = 1 WHERE id = $1",
         lambda b: (b.partial,), asyncpg.InsufficientPrivilegeError, DENIED),
    Case("payment_unreversed", "UPDATE payments SET reversed = false WHERE id = $1",
         lambda b: (b.reversed_payment,), asyncpg.InsufficientPrivilegeError,
         "a reversal is never undone"),
    Case("payment_flagged_reversed", "UPDATE payments SET reversed = true WHERE id = $1",
         lambda b: (b.partial,), asyncpg.InsufficientPrivilegeError,
         "once a REVERSAL entry undoes its debit"),
    Case("payment_born_reversed", """
         INSERT INTO payments (retailer_id, vendor_id, amount_paisa, method, recorded_by,
                               idempotency_key, reversed)
         VALUES ($1, $2, 100, 'cash', $2, 'by-hand', true)""", _account,
         asyncpg.CheckViolationError, "recorded standing"),
    Case("payment_without_its_debit", """
         INSERT INTO payments (retailer_id, vendor_id, amount_paisa, method, recorded_by,
                               idempotency_key)
         VALUES ($1, $2, 100, 'cash', $2, 'by-hand')""", _account,
         asyncpg.CheckViolationError, "refused at commit: 0 PAYMENT_DEBIT entries"),
    Case("payment_deleted", "DELETE FROM payments WHERE id = $1", lambda b: (b.partial,),
         asyncpg.InsufficientPrivilegeError, DENIED),
    Case("payments_truncated", "TRUNCATE payments CASCADE", _none,
         asyncpg.InsufficientPrivilegeError, DENIED),
    # payment_allocations: append-only, to billed orders of the payment's account.
    Case("allocation_deleted", "DELETE FROM payment_allocations WHERE payment_id = $1",
         lambda b: (b.partial,), asyncpg.InsufficientPrivilegeError, DENIED),
    Case("allocation_raised", "UPDATE payment_allocations SET amount_paisa = 5001", _none,
         asyncpg.InsufficientPrivilegeError, DENIED),
    Case("allocation_of_a_reversed_payment", "INSERT INTO payment_allocations (payment_id, "
         "order_id, amount_paisa) VALUES ($1, $2, 1)",
         lambda b: (b.reversed_payment, b.completed), asyncpg.CheckViolationError,
         "the payment is reversed"),
    Case("allocation_to_a_cancelled_order", "INSERT INTO payment_allocations (payment_id, "
         "order_id, amount_paisa) VALUES ($1, $2, 1)", lambda b: (b.partial, b.cancelled),
         asyncpg.CheckViolationError, "not billed on the payment's account"),
    Case("allocation_above_the_payment", "INSERT INTO payment_allocations (payment_id, "
         "order_id, amount_paisa) VALUES ($1, $2, 1)", lambda b: (b.partial, b.completed),
         asyncpg.CheckViolationError, "more allocated than the payment"),
    # orders: an accepted order's money and parties are frozen.
    Case("accepted_total_changed", "UPDATE orders SET total_paisa = 1 WHERE id = $1",
         lambda b: (b.accepted,), asyncpg.InsufficientPrivilegeError,
         "the total is frozen once the order leaves DRAFT"),
    Case("accepted_vendor_changed", "UPDATE orders SET vendor_id = $2 WHERE id = $1",
         lambda b: (b.accepted, b.world.vendor2.id), asyncpg.InsufficientPrivilegeError,
         "the vendor changes only while the order waits"),
    Case("order_given_to_another_retailer", "UPDATE orders SET retailer_id = $2 WHERE id = $1",
         lambda b: (b.accepted, b.world.retailer2.id), asyncpg.InsufficientPrivilegeError,
         "number, retailer, request key and creation time never change"),
    Case("due_date_postponed", "UPDATE orders SET due_at = due_at + interval '30 days' "
         "WHERE id = $1", lambda b: (b.accepted,), asyncpg.InsufficientPrivilegeError,
         "set once, at acceptance"),
    Case("accepted_order_cancelled_by_hand", "UPDATE orders SET status = 'CANCELLED' "
         "WHERE id = $1", lambda b: (b.accepted,), asyncpg.CheckViolationError,
         "reserved stock is not taken or released"),
    Case("draft_cancelled_unlogged", "UPDATE orders SET status = 'CANCELLED' WHERE id = $1",
         lambda b: (b.draft,), asyncpg.CheckViolationError,
         "refused at commit: status CANCELLED, but its log ends at DRAFT"),
    Case("order_born_accepted", "INSERT INTO orders (retailer_id, total_paisa, accepted_at, "
         "due_at) VALUES ($1, 100, now(), now())", lambda b: (b.world.retailer.id,),
         asyncpg.CheckViolationError, "a new order is a draft"),
    Case("order_deleted", "DELETE FROM orders WHERE id = $1", lambda b: (b.draft,),
         asyncpg.InsufficientPrivilegeError, DENIED),
    Case("orders_truncated", "TRUNCATE orders CASCADE", _none,
         asyncpg.InsufficientPrivilegeError, DENIED),
    # order_lines: written only while the order is a DRAFT.
    Case("line_added_to_a_placed_order", "INSERT INTO order_lines (order_id, line_no, sku, "
         "quantity_milli, unit_price_paisa, line_total_paisa) VALUES ($1, 9, 'CHINI', 1000, "
         "11500, 11500)", lambda b: (b.accepted,), asyncpg.InsufficientPrivilegeError,
         "lines change only while the order is a DRAFT"),
    Case("line_removed_from_a_placed_order", "DELETE FROM order_lines WHERE order_id = $1",
         lambda b: (b.accepted,), asyncpg.InsufficientPrivilegeError,
         "lines change only while the order is a DRAFT"),
    Case("draft_emptied_under_its_total", "DELETE FROM order_lines WHERE order_id = $1",
         lambda b: (b.draft,), asyncpg.CheckViolationError,
         "refused at commit: total 11000 paisa, its lines sum to 0"),
    Case("line_edited", "UPDATE order_lines SET quantity_milli = 1 WHERE order_id = $1",
         lambda b: (b.accepted,), asyncpg.InsufficientPrivilegeError, DENIED),
    # order_transitions, audit_log, credit_overrides, stock_reservations.
    Case("transition_logged_out_of_order", "INSERT INTO order_transitions (order_id, "
         "from_status, to_status) VALUES ($1, 'DISPATCHED', 'DELIVERED')",
         lambda b: (b.completed,), asyncpg.CheckViolationError, "its log ends at COMPLETED"),
    Case("transition_rewritten", "UPDATE order_transitions SET reason = 'by hand'", _none,
         asyncpg.InsufficientPrivilegeError, DENIED),
    Case("transition_deleted", "DELETE FROM order_transitions", _none,
         asyncpg.InsufficientPrivilegeError, DENIED),
    Case("audit_rewritten", "UPDATE audit_log SET reason = 'nothing happened'", _none,
         asyncpg.InsufficientPrivilegeError, DENIED),
    Case("audit_deleted", "DELETE FROM audit_log", _none,
         asyncpg.InsufficientPrivilegeError, DENIED),
    Case("override_granted_by_a_retailer", "INSERT INTO credit_overrides (order_id, "
         "retailer_id, granted_by, reason) VALUES ($1, $2, $2, 'trust me')",
         lambda b: (b.draft, b.world.retailer.id), asyncpg.CheckViolationError,
         "granted by an admin"),
    Case("override_deleted", "DELETE FROM credit_overrides", _none,
         asyncpg.InsufficientPrivilegeError, DENIED),
    Case("released_hold_reserved_again", "UPDATE stock_reservations SET state = 'RESERVED', "
         "settled_at = NULL WHERE order_id = $1", lambda b: (b.cancelled,),
         asyncpg.InsufficientPrivilegeError, "a hold only goes from RESERVED"),
    Case("hold_shrunk", "UPDATE stock_reservations SET quantity_milli = 1 WHERE order_id = $1",
         lambda b: (b.accepted,), asyncpg.InsufficientPrivilegeError, DENIED),
    Case("hold_deleted", "DELETE FROM stock_reservations WHERE order_id = $1",
         lambda b: (b.accepted,), asyncpg.InsufficientPrivilegeError, DENIED),
    Case("stock_reserved_without_a_hold", "UPDATE vendor_products SET reserved_milli = "
         "reserved_milli + 500 WHERE vendor_id = $1 AND sku = 'CHINI'",
         lambda b: (b.world.vendor2.id,), asyncpg.CheckViolationError,
         "refused at commit: reserved 500 milli, open holds hold 0"),
    # The ways around the walls.
    Case("triggers_disabled", "ALTER TABLE ledger_accounts DISABLE TRIGGER ALL", _none,
         asyncpg.InsufficientPrivilegeError, "must be owner"),
    Case("one_trigger_disabled", "ALTER TABLE payments DISABLE TRIGGER payments_guard", _none,
         asyncpg.InsufficientPrivilegeError, "must be owner"),
    Case("trigger_dropped", "DROP TRIGGER orders_write_guard ON orders", _none,
         asyncpg.InsufficientPrivilegeError, "must be owner"),
    Case("replication_role_set", "SET session_replication_role = replica", _none,
         asyncpg.InsufficientPrivilegeError, "permission denied to set parameter"),
    Case("owner_role_taken", f"SET ROLE {roles.OWNER_ROLE}", _none,
         asyncpg.InsufficientPrivilegeError, "permission denied to set role"),
    Case("table_created", "CREATE TABLE ledger_shadow (id bigint)", _none,
         asyncpg.InsufficientPrivilegeError, "permission denied for schema"),
    Case("entries_shadowed_by_a_temporary_table",
         "CREATE TEMPORARY TABLE ledger_entries (id bigint)", _none,
         asyncpg.InsufficientPrivilegeError, "permission denied to create temporary tables"),
    # What an entry says about itself (015): a live one happened when it was written; only a
    # bill or receipt is imported; the other side of the account acknowledges, nobody else.
    Case("live_entry_dated_back", POST_SAYING, lambda b: (
        *_account(b), 100, b.world.admin.id, None, LONG_AGO, "live"),
         asyncpg.CheckViolationError, "a live entry happened when it was written"),
    Case("adjustment_imported", POST_SAYING, lambda b: (
        *_account(b), 100, b.world.admin.id, None, LONG_AGO, "import"),
         asyncpg.CheckViolationError, "imports_are_bills_and_receipts"),
    Case("acknowledged_by_a_stranger", POST_SAYING, lambda b: (
        *_account(b), 100, b.world.admin.id, b.world.operator.id, None, "live"),
         asyncpg.CheckViolationError, "neither side"),
    Case("acknowledged_by_the_stater", POST_SAYING, lambda b: (
        *_account(b), 100, b.world.admin.id, b.world.admin.id, None, "live"),
         asyncpg.CheckViolationError, "acknowledged_by_other"),
    # The hash chain (020): the database computes both hashes; given ones must be those.
    Case("entry_with_a_forged_prev_hash", POST_HASHED, lambda b: (
        *_account(b), 100, bytes(32), None, b.world.admin.id),
         asyncpg.CheckViolationError, "prev_hash is not the hash of the entry before it"),
    Case("entry_with_a_forged_hash", POST_HASHED, lambda b: (
        *_account(b), 100, None, bytes(32), b.world.admin.id),
         asyncpg.CheckViolationError, "entry_hash is not the hash of its content"),
    Case("entry_hash_rewritten", "UPDATE ledger_entries SET entry_hash = $1", lambda b: (
        bytes(32),), asyncpg.InsufficientPrivilegeError, DENIED),
    # Imported bills (015): born delivered with a due date and nothing a live order has; a live
    # order is never born billed; a bill never gets lines; what a book said is kept.
    Case("live_order_born_delivered", "INSERT INTO orders (retailer_id, vendor_id, total_paisa, "
         "status, accepted_at, due_at, delivered_at) SELECT $1, $2, 100, 'DELIVERED', now(), "
         "now(), now()", _account, asyncpg.CheckViolationError, "must be DRAFT"),
    Case("imported_bill_without_due_date", "INSERT INTO orders (retailer_id, vendor_id, "
         "total_paisa, status, source, reference, accepted_at, delivered_at) SELECT $1, $2, "
         "100, 'DELIVERED', 'import', 'X-1', now(), now()", _account,
         asyncpg.CheckViolationError, "arrives delivered"),
    Case("imported_bill_given_a_line", "INSERT INTO order_lines (order_id, line_no, sku, "
         "quantity_milli, unit_price_paisa, line_total_paisa) VALUES ($1, 1, 'CHINI', 1000, "
         "30000, 30000)", lambda b: (b.bill,), asyncpg.InsufficientPrivilegeError,
         "only while the order is a DRAFT"),
    # bills_owing (030): kept by the triggers alone.
    Case("owing_edited", "UPDATE bills_owing SET owing_paisa = owing_paisa - 1", _none,
         asyncpg.InsufficientPrivilegeError, "kept by the ledger's triggers"),
    Case("owing_forgotten", "DELETE FROM bills_owing", _none,
         asyncpg.InsufficientPrivilegeError, "kept by the ledger's triggers"),
    Case("book_row_edited", "UPDATE khata_import_rows SET amount_paisa = 1", _none,
         asyncpg.InsufficientPrivilegeError, DENIED),
    Case("guard_replaced", "CREATE OR REPLACE FUNCTION financial_refuse() RETURNS trigger "
         "LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$", _none,
         asyncpg.InsufficientPrivilegeError, DENIED + "|must be owner"),
]


@pytest.fixture
async def book(conn: asyncpg.Connection) -> Book:
    return await build_book(conn)


async def test_the_ledger_tests_run_as_the_apps_role(conn: asyncpg.Connection) -> None:
    assert await conn.fetchval("SELECT current_user") == roles.APP_ROLE


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_the_apps_role_cannot_make_an_illegal_change(
    conn: asyncpg.Connection, book: Book, case: Case
) -> None:
    before = await _money(conn)
    with pytest.raises(case.error, match=case.match):
        await conn.execute(case.sql, *case.args(book))
    assert await _money(conn) == before


async def _money(conn: asyncpg.Connection) -> asyncpg.Record:
    """Every figure the cases above try to change, summed up."""
    return await conn.fetchrow(
        """SELECT (SELECT sum(balance_paisa) FROM ledger_accounts) AS balances,
                  (SELECT count(*) FROM ledger_entries) AS entries,
                  (SELECT sum(amount_paisa) FROM payments WHERE NOT reversed) AS payments,
                  (SELECT sum(amount_paisa) FROM payment_allocations) AS allocated,
                  (SELECT sum(total_paisa) FROM orders) AS totals,
                  (SELECT count(*) FROM order_lines) AS lines,
                  (SELECT count(*) FROM order_transitions) AS transitions,
                  (SELECT count(*) FROM stock_reservations WHERE state = 'RESERVED') AS holds,
                  (SELECT count(*) FROM audit_log) AS audited,
                  (SELECT sum(owing_paisa) FROM bills_owing) AS owing""")


async def test_a_posting_by_hand_of_the_right_shape_and_content_is_taken(
    conn: asyncpg.Connection, book: Book
) -> None:
    """The rules judge content, not who typed it: the statement the refusals above use is
    accepted when what it posts is legal (an admin's adjustment), so they refused the content."""
    await conn.execute(POST_BY_HAND, *_account(book), 250, "ADJUSTMENT", None, None, None,
                       book.world.admin.id)
    assert await conn.fetchval(
        "SELECT balance_paisa FROM ledger_accounts WHERE retailer_id = $1 AND vendor_id = $2",
        *_account(book)) == 48_000 - 5_000 + 250


async def test_an_order_is_paid_no_more_than_its_total(
    conn: asyncpg.Connection, book: Book
) -> None:
    async def allocate(order_id: int, amount: int) -> None:
        async with conn.transaction():  # a payment and its debit, by hand, as one would
            payment = await conn.fetchval(
                """INSERT INTO payments (retailer_id, vendor_id, amount_paisa, method,
                                         recorded_by, idempotency_key)
                   VALUES ($1, $2, 100, 'cash', $2, 'unallocated') RETURNING id""",
                *_account(book))
            await conn.execute(POST_BY_HAND, *_account(book), -100, "PAYMENT_DEBIT", None,
                               payment, None, book.world.vendor.id)
            await conn.execute("INSERT INTO payment_allocations (payment_id, order_id, "
                               "amount_paisa) VALUES ($1, $2, $3)", payment, order_id, amount)

    with pytest.raises(asyncpg.CheckViolationError, match="paid more than its total"):
        await allocate(book.completed, 1)
    with pytest.raises(asyncpg.CheckViolationError, match="more allocated than the payment"):
        await allocate(book.accepted, 101)


async def test_an_unpaid_order_cannot_be_completed_by_hand(
    conn: asyncpg.Connection, book: Book
) -> None:
    await orders.dispatch(conn, book.accepted, book.world.vendor)
    await orders.deliver(conn, book.accepted, book.world.vendor)
    with pytest.raises(asyncpg.CheckViolationError, match="not paid in full"):
        await conn.execute("UPDATE orders SET status = 'COMPLETED' WHERE id = $1", book.accepted)


async def test_the_databases_status_sets_are_the_lifecycles(conn: asyncpg.Connection) -> None:
    """Migration 013 spells two of lifecycle's status sets; they must not drift apart."""
    rows = await conn.fetch(
        """SELECT s, order_status_billed(s) AS billed, order_status_holds_stock(s) AS holds
           FROM unnest($1::text[]) s""", list(lifecycle.STATUSES))
    assert {r["s"] for r in rows if r["billed"]} == set(lifecycle.BILLED_STATUSES)
    assert {r["s"] for r in rows if r["holds"]} == set(lifecycle.STOCK_HELD_STATUSES)


@pytest.mark.parametrize(("call", "name"), [
    ("order_status_billed(o.status)", "order_status_billed"),
    ("order_status_holds_stock(o.status)", "order_status_holds_stock"),
    ("order_origin_status(o.source)", "order_origin_status"),
    ("padded_number('KH-', o.id)", "padded_number"),
    ("ledger_entry_field(convert_to(o.number, 'UTF8'))", "ledger_entry_field"),
    ("ledger_entry_content(e, o.retailer_id, o.vendor_id)", "ledger_entry"),
])
async def test_the_rules_small_functions_are_inlined_into_their_callers(
    conn: asyncpg.Connection, call: str, name: str
) -> None:
    """Migration 034: with a pinned search_path (a SET clause) PostgreSQL ran each call of these
    as a query of its own, planned every time, in every rule, WHEN clause and hash."""
    plan = await conn.fetchval(
        f"""EXPLAIN (VERBOSE, COSTS OFF, FORMAT JSON)
            SELECT {call} FROM orders o, ledger_entries e""")
    output = plan[0]["Plan"]["Output"]
    assert output and not any(name in column for column in output), output


# The owner may delete and truncate (it owns the tables); the triggers refuse it all the same.
FINANCIAL_TABLES = [
    "ledger_accounts", "ledger_entries", "payments", "payment_allocations", "orders",
    "order_lines", "order_transitions", "stock_reservations", "credit_overrides", "audit_log",
    "khata_import_rows", "bills_owing",
]


@pytest.mark.parametrize("table", FINANCIAL_TABLES)
async def test_not_even_the_owner_deletes_or_truncates_a_financial_table(
    conn: asyncpg.Connection, owner_conn: asyncpg.Connection, book: Book, table: str
) -> None:
    before = await _money(conn)
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="refused"):
        await owner_conn.execute(f"DELETE FROM {table}")
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="refused"):
        await owner_conn.execute(f"TRUNCATE {table} CASCADE")
    assert await _money(conn) == before


@pytest.mark.parametrize("sql", [
    "UPDATE ledger_accounts SET balance_paisa = 0",
    "UPDATE payments SET amount_paisa = 1",
    "UPDATE payments SET reversed = false",
    "UPDATE orders SET total_paisa = 1 WHERE status <> 'DRAFT'",
    "UPDATE stock_reservations SET quantity_milli = 1",
    "UPDATE khata_import_rows SET amount_paisa = 1",
    "UPDATE orders SET reference = 'other' WHERE source = 'import'",
])
async def test_not_even_the_owner_edits_money_in_place(
    conn: asyncpg.Connection, owner_conn: asyncpg.Connection, book: Book, sql: str
) -> None:
    before = await _money(conn)
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="refused"):
        await owner_conn.execute(sql)
    assert await _money(conn) == before
