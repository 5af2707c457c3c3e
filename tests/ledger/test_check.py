"""ledger.check: silent on a ledger the services built, and naming each break a superuser makes.

Each break below is written by hand, the way a bug or a manual fix would, and is made so that
exactly one rule breaks; the check must name that rule and the row. The database's triggers
(migration 013) refuse every one of these writes, so they are made past them, with
`session_replication_role = replica`: this module connects as the server's superuser, the only
role that may (the app's role may not even try; tests/ledger/test_guards.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest

from bot.app import create_app
from bot.settings import Settings
from ledger import chain, check, db, orders, payments, postings, score_data
from ledger.postings import Posting
from tests.channel.test_cli import khaacho
from tests.conftest import eventually
from tests.ledger.conftest import World, build_world, import_old_book, line
from tests.ledger.helpers import accepted_order


@dataclass(frozen=True)
class Book:
    """The rows of a small consistent ledger, built through the services."""

    world: World
    completed: int   # order delivered and paid in full
    accepted: int    # order accepted (holds stock), partly paid
    cancelled: int   # order accepted, then cancelled: stock released, credit reversed
    draft: int
    assigned: int    # offered to a vendor
    passed_on: int   # rejected by one vendor, offered to the next
    paid_in_full: int       # payment of `completed`
    partial: int            # payment of part of `accepted`
    reversed_payment: int   # a bounced cheque
    adjustment: int         # an admin's ADJUSTMENT entry
    bill: int               # a bill imported from a vendor's book, partly paid by the book


async def build_book(conn: asyncpg.Connection) -> Book:
    world = await build_world(conn)
    w = world
    # Oil only `vendor` carries (240 rupees a litre); sugar `vendor2` sells cheapest.
    completed = await accepted_order(conn, w.retailer, w.vendor, [line("TEL", 1, "l")])
    await orders.dispatch(conn, completed.id, w.vendor)
    await orders.deliver(conn, completed.id, w.vendor)
    paid = await payments.record(
        conn, retailer_id=w.retailer.id, vendor_id=w.vendor.id, amount_paisa=24_000,
        method="cash", actor=w.vendor, idempotency_key="full")
    accepted = await accepted_order(conn, w.retailer, w.vendor, [line("TEL", 2, "l")])
    partial = await payments.record(
        conn, retailer_id=w.retailer.id, vendor_id=w.vendor.id, amount_paisa=5_000,
        method="esewa", actor=w.vendor, idempotency_key="part")
    bounced = await payments.record(
        conn, retailer_id=w.retailer.id, vendor_id=w.vendor.id, amount_paisa=1_000,
        method="cheque", actor=w.operator, idempotency_key="cheque")
    await payments.reverse_payment(conn, bounced.payment_id, w.admin, "cheque bounced",
                                   idempotency_key="bounce")
    cancelled = await accepted_order(conn, w.retailer, w.vendor, [line("TEL", 1, "l")])
    await orders.cancel(conn, cancelled.id, w.admin, "retailer changed mind")
    draft = await orders.create_draft(conn, w.retailer, [line("CHINI", 1)])
    assigned = (await orders.confirm(
        conn, (await orders.create_draft(conn, w.retailer2, [line("CHINI", 1)])).id,
        w.retailer2)).order
    assert assigned.vendor_id == w.vendor2.id
    passed_on = (await orders.confirm(
        conn, (await orders.create_draft(conn, w.retailer2, [line("CHINI", 2)])).id,
        w.retailer2)).order
    outcome = await orders.reject(conn, passed_on.id, w.vendor2, "no sugar today")
    assert outcome.vendor_id == w.vendor.id
    adjustment = await postings.post(conn, Posting(
        idempotency_key="adjust", retailer_id=w.retailer2.id, vendor_id=w.vendor.id,
        kind="ADJUSTMENT", amount_paisa=700, actor_id=w.admin.id, reason="opening balance"))
    bill = await import_old_book(conn, w.vendor2, w.retailer2, sale=("2026-01-05", 300),
                                 payment=("2026-01-10", 100))
    return Book(world, completed.id, accepted.id, cancelled.id, draft.id, assigned.id,
                passed_on.id, paid.payment_id, partial.payment_id, bounced.payment_id,
                adjustment.id, bill)


@pytest.fixture
async def book(conn: asyncpg.Connection) -> Book:
    return await build_book(conn)


async def test_a_ledger_built_by_the_services_passes(conn: asyncpg.Connection, book: Book):
    result = await check.run(conn)
    assert result.ok and result.problems == () and result.lines() == []
    assert (result.accounts, result.orders, result.payments) == (3, 7, 4)
    assert result.entries == await conn.fetchval("SELECT count(*) FROM ledger_entries") == 11
    assert result.summary() == (
        "ledger consistent: 3 accounts, 11 entries, 7 orders, 4 payments, 5 stock rows checked")


async def test_an_empty_ledger_passes(conn: asyncpg.Connection):
    result = await check.run(conn)
    assert result.ok and result.total == 0
    assert result.summary().startswith("ledger consistent: 0 accounts, 0 entries")


@pytest.fixture
async def pool(superuser_url: str) -> AsyncIterator[asyncpg.Pool]:
    """Every connection of this module is the superuser's (the ledger fixtures' too)."""
    pool = await db.create_pool(superuser_url, min_size=1, max_size=4)
    yield pool
    await pool.close()


@contextlib.asynccontextmanager
async def superuser(conn: asyncpg.Connection) -> AsyncIterator[None]:
    """Triggers off (the guards, foreign keys): only a superuser may do this."""
    before = await conn.fetchval("SHOW session_replication_role")
    await conn.execute("SET session_replication_role = replica")
    try:
        yield
    finally:
        await conn.execute(f"SET session_replication_role = {before}")


async def reseal(conn: asyncpg.Connection, account_id: int, *, up_to: int | None = None) -> None:
    """Rewrite an account's hash chain over what its entries say now, as a forger who knows the
    format would (ledger.chain; triggers off): the chain holds again, so the one rule a breaker
    means to break is the only one broken. With `up_to`, only the entries up to that version."""
    rows = await conn.fetch(
        f"""SELECT {chain.COLUMNS} FROM ledger_entries e
            JOIN ledger_accounts a ON a.id = e.account_id
            WHERE e.account_id = $1 ORDER BY e.account_version""", account_id)
    prev: bytes | None = None
    for row in rows:
        if up_to is not None and row["account_version"] > up_to:
            break
        digest = chain.entry_hash({**dict(row), "prev_hash": prev})
        await conn.execute("UPDATE ledger_entries SET prev_hash = $2, entry_hash = $3 "
                           "WHERE id = $1", row["id"], prev, digest)
        prev = digest


async def append_entry(
    conn: asyncpg.Connection, account_id: int, kind: str, amount: int, **refs: int
) -> int:
    """An entry appended to an account's chain the way a buggy writer would: the balance,
    version and balance_after all agree, and it is chained, whatever the entry means."""
    account = await conn.fetchrow(
        """UPDATE ledger_accounts SET balance_paisa = balance_paisa + $2, version = version + 1
           WHERE id = $1 RETURNING balance_paisa, version""", account_id, amount)
    key = f"by-hand-{account_id}-{account['version']}"
    entry = int(await conn.fetchval(
        """INSERT INTO ledger_entries (account_id, account_version, kind, amount_paisa,
               balance_after_paisa, order_id, payment_id, reverses_entry_id, idempotency_key,
               request_hash, actor_id, reason, prev_hash, entry_hash)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'by hand',
                   CASE WHEN $2::bigint > 1 THEN $12::bytea END, $12) RETURNING id""",
        account_id, account["version"], kind, amount, account["balance_paisa"],
        refs.get("order_id"), refs.get("payment_id"), refs.get("reverses"), key,
        hashlib.sha256(key.encode()).digest(), refs.get("actor_id"), bytes(32)))
    await reseal(conn, account_id)
    return entry


async def number(conn: asyncpg.Connection, order_id: int) -> str:
    return str(await conn.fetchval("SELECT number FROM orders WHERE id = $1", order_id))


async def credit_entry(conn: asyncpg.Connection, order_id: int) -> asyncpg.Record:
    return await conn.fetchrow(
        "SELECT * FROM ledger_entries WHERE order_id = $1 AND kind = 'ORDER_CREDIT'", order_id)


Breaker = Callable[[asyncpg.Connection, Book], Awaitable[str]]


async def cached_balance_off(conn: asyncpg.Connection, book: Book) -> str:
    account = await conn.fetchrow(
        """UPDATE ledger_accounts SET balance_paisa = balance_paisa + 1
           WHERE retailer_id = $1 AND vendor_id = $2 RETURNING id, balance_paisa""",
        book.world.retailer.id, book.world.vendor.id)
    return (f"ledger_accounts {account['id']}: balance {account['balance_paisa']} paisa, "
            f"its entries sum to {account['balance_paisa'] - 1}")


async def version_off(conn: asyncpg.Connection, book: Book) -> str:
    account = await conn.fetchrow(
        """UPDATE ledger_accounts SET version = version + 1
           WHERE retailer_id = $1 AND vendor_id = $2 RETURNING id, version""",
        book.world.retailer2.id, book.world.vendor.id)
    n = account["version"] - 1
    return f"ledger_accounts {account['id']}: version {n + 1}, {n} entries, last entry version {n}"


async def balance_after_edited(conn: asyncpg.Connection, book: Book) -> str:
    async with superuser(conn):
        entry = await conn.fetchrow(
            """UPDATE ledger_entries SET balance_after_paisa = balance_after_paisa + 5
               WHERE id = $1 RETURNING id, account_id, balance_after_paisa""", book.adjustment)
        await reseal(conn, entry["account_id"])
    return (f"ledger_entries {entry['id']}: balance_after {entry['balance_after_paisa']} paisa, "
            f"the running sum of account {entry['account_id']} is 700")


async def reversed_again(conn: asyncpg.Connection, book: Book) -> str:
    original = await credit_entry(conn, book.cancelled)
    first = await conn.fetchval(
        "SELECT id FROM ledger_entries WHERE reverses_entry_id = $1", original["id"])
    await conn.execute("DROP INDEX ledger_entries_reverses_once")
    second = await append_entry(conn, original["account_id"], "REVERSAL",
                                -original["amount_paisa"], order_id=book.cancelled,
                                reverses=original["id"])
    return f"ledger_entries {original['id']}: reversed 2 times (by entries {first}, {second})"


async def reversal_of_another_amount(conn: asyncpg.Connection, book: Book) -> str:
    account = await conn.fetchval(
        "SELECT account_id FROM ledger_entries WHERE id = $1", book.adjustment)
    reversal = await append_entry(conn, account, "REVERSAL", -300, reverses=book.adjustment)
    return (f"ledger_entries {reversal}: reverses entry {book.adjustment} (ADJUSTMENT, 700 paisa, "
            f"account {account}) with -300 paisa on account {account}")


async def draft_line_edited(conn: asyncpg.Connection, book: Book) -> str:
    await conn.execute(
        """UPDATE order_lines SET quantity_milli = 2000,
                  line_total_paisa = (2000 * unit_price_paisa + 500) / 1000
           WHERE order_id = $1""", book.draft)
    total = await conn.fetchval("SELECT total_paisa FROM orders WHERE id = $1", book.draft)
    return (f"orders {await number(conn, book.draft)} (id {book.draft}): total {total} paisa, "
            f"its lines sum to {2 * total}")


async def billed_credit_reversed(conn: asyncpg.Connection, book: Book) -> str:
    credit = await credit_entry(conn, book.accepted)
    await append_entry(conn, credit["account_id"], "REVERSAL", -credit["amount_paisa"],
                       order_id=book.accepted, reverses=credit["id"])
    return (f"orders {await number(conn, book.accepted)} (id {book.accepted}): ACCEPTED with 0 "
            f"standing ORDER_CREDIT of 0 paisa; one of 48000 on its own account expected")


async def draft_credited(conn: asyncpg.Connection, book: Book) -> str:
    account = await conn.fetchval(
        "SELECT id FROM ledger_accounts WHERE retailer_id = $1 AND vendor_id = $2",
        book.world.retailer.id, book.world.vendor.id)
    await append_entry(conn, account, "ORDER_CREDIT", 11_500, order_id=book.draft)
    return (f"orders {await number(conn, book.draft)} (id {book.draft}): DRAFT, not billed, but "
            f"1 ORDER_CREDIT of 11500 paisa stands")


async def payment_debited_twice(conn: asyncpg.Connection, book: Book) -> str:
    debit = await conn.fetchrow(
        "SELECT account_id FROM ledger_entries WHERE payment_id = $1", book.partial)
    await append_entry(conn, debit["account_id"], "PAYMENT_DEBIT", -5_000,
                       payment_id=book.partial)
    return (f"payments {book.partial}: 2 PAYMENT_DEBIT entries of -10000 paisa; one of -5000 on "
            f"its own account expected")


async def owing_follows(conn: asyncpg.Connection, *order_ids: int) -> None:
    """What migration 030's triggers (off here) would have made of the bills a breaker's edit
    touched, so that only the rule under test breaks."""
    for order_id in order_ids:
        await conn.execute("SELECT bills_owing_refresh($1)", order_id)


async def payment_flagged_reversed(conn: asyncpg.Connection, book: Book) -> str:
    await conn.execute("UPDATE payments SET reversed = true WHERE id = $1", book.partial)
    await owing_follows(conn, book.accepted)
    return f"payments {book.partial}: reversed is true, but 0 REVERSAL entries undo its debit"


async def allocation_above_payment(conn: asyncpg.Connection, book: Book) -> str:
    await conn.execute(
        "UPDATE payment_allocations SET amount_paisa = 5001 WHERE payment_id = $1",
        book.partial)
    await owing_follows(conn, book.accepted)
    return f"payments {book.partial}: 5001 paisa allocated to orders, the payment is 5000"


async def order_paid_twice(conn: asyncpg.Connection, book: Book) -> str:
    # One paisa of the partial payment moves to the order already paid in full.
    await conn.execute(
        """UPDATE payment_allocations SET amount_paisa = amount_paisa - 1
           WHERE payment_id = $1 AND order_id = $2""", book.partial, book.accepted)
    await conn.execute(
        "INSERT INTO payment_allocations (payment_id, order_id, amount_paisa) VALUES ($1, $2, 1)",
        book.partial, book.completed)
    await owing_follows(conn, book.accepted, book.completed)
    return (f"orders {await number(conn, book.completed)} (id {book.completed}): 24001 paisa of "
            f"standing payments allocated, total 24000")


async def allocated_to_unbilled_order(conn: asyncpg.Connection, book: Book) -> str:
    await conn.execute(
        """UPDATE payment_allocations SET amount_paisa = amount_paisa - 1
           WHERE payment_id = $1 AND order_id = $2""", book.partial, book.accepted)
    await conn.execute(
        "INSERT INTO payment_allocations (payment_id, order_id, amount_paisa) VALUES ($1, $2, 1)",
        book.partial, book.cancelled)
    await owing_follows(conn, book.accepted, book.cancelled)
    return (f"payment_allocations (payment {book.partial}, order "
            f"{await number(conn, book.cancelled)}): the order is CANCELLED, not billed")


async def allocated_to_another_account(conn: asyncpg.Connection, book: Book) -> str:
    # The bounced cheque's allocation lapsed; pointing it at another retailer's order is wrong
    # all the same.
    await conn.execute("UPDATE payment_allocations SET order_id = $2 WHERE payment_id = $1",
                       book.reversed_payment, book.assigned)
    w = book.world
    return (f"payment_allocations (payment {book.reversed_payment}, order "
            f"{await number(conn, book.assigned)}): payment of retailer {w.retailer.id} to "
            f"vendor {w.vendor.id}, order of retailer {w.retailer2.id} with vendor {w.vendor2.id}")


async def owing_drifted(conn: asyncpg.Connection, book: Book) -> str:
    # The accepted order: 48,000 paisa, 5,000 of it paid.
    await conn.execute("UPDATE bills_owing SET owing_paisa = owing_paisa - 1 WHERE order_id = $1",
                       book.accepted)
    return f"bills_owing (order {book.accepted}): 42999 paisa, but the bill owes 43000"


async def owing_row_lost(conn: asyncpg.Connection, book: Book) -> str:
    await conn.execute("DELETE FROM bills_owing WHERE order_id = $1", book.accepted)
    return f"bills_owing (order {book.accepted}): no row, but the bill owes 43000 paisa"


async def owing_on_a_paid_bill(conn: asyncpg.Connection, book: Book) -> str:
    await conn.execute(
        """INSERT INTO bills_owing (order_id, retailer_id, vendor_id, accepted_at, due_at,
                                    owing_paisa)
           SELECT id, retailer_id, vendor_id, accepted_at, due_at, 1 FROM orders WHERE id = $1""",
        book.completed)
    return f"bills_owing (order {book.completed}): 1 paisa, but the bill owes nothing"


async def owing_due_date_moved(conn: asyncpg.Connection, book: Book) -> str:
    await conn.execute(
        "UPDATE bills_owing SET due_at = due_at + interval '1 day' WHERE order_id = $1",
        book.bill)
    return (f"bills_owing (order {book.bill}): its retailer, vendor or dates are not its "
            f"order's")


async def score_record_forged(conn: asyncpg.Connection, book: Book) -> str:
    # The retailer's kept record has their paid-off oil bill paid a day later than it was.
    retailer = book.world.retailer.id
    await score_data.keep(conn, await conn.fetchval("SELECT now()"), [retailer])
    await conn.execute(
        """UPDATE score_facts
           SET paid_at = ARRAY(SELECT t + interval '1 day' FROM unnest(paid_at) t)
           WHERE retailer_id = $1 AND cardinality(paid_at) = 1""", retailer)
    return (f"score_facts (retailer {retailer}): the kept record and what changed since give "
            f"other facts than the retailer's history")


async def stock_below_reserved(conn: asyncpg.Connection, book: Book) -> str:
    await conn.execute(
        "ALTER TABLE vendor_products DROP CONSTRAINT vendor_products_reserved_in_stock")
    await conn.execute(
        """UPDATE vendor_products SET stock_milli = reserved_milli - 1
           WHERE vendor_id = $1 AND sku = 'TEL'""", book.world.vendor.id)
    vendor = book.world.vendor.id
    return f"vendor_products (vendor {vendor}, TEL): stock 1999, reserved 2000 (milli)"


async def reserved_without_reservation(conn: asyncpg.Connection, book: Book) -> str:
    await conn.execute(
        """UPDATE vendor_products SET reserved_milli = reserved_milli + 500
           WHERE vendor_id = $1 AND sku = 'CHINI'""", book.world.vendor2.id)
    return (f"vendor_products (vendor {book.world.vendor2.id}, CHINI): reserved 500 milli, open "
            f"reservations hold 0")


async def reservation_lost(conn: asyncpg.Connection, book: Book) -> str:
    await conn.execute("DELETE FROM stock_reservations WHERE order_id = $1", book.accepted)
    await conn.execute(
        """UPDATE vendor_products SET reserved_milli = reserved_milli - 2000
           WHERE vendor_id = $1 AND sku = 'TEL'""", book.world.vendor.id)
    return (f"orders {await number(conn, book.accepted)} (id {book.accepted}): ACCEPTED, but "
            f"2000 milli of TEL are not reserved")


async def illegal_transition_logged(conn: asyncpg.Connection, book: Book) -> str:
    async with superuser(conn):
        logged = await conn.fetchval(
            """INSERT INTO order_transitions (order_id, from_status, to_status, reason)
               VALUES ($1, 'COMPLETED', 'COMPLETED', 'by hand') RETURNING id""", book.completed)
    return (f"order_transitions {logged}: order {book.completed} moved COMPLETED -> COMPLETED, "
            f"not a legal transition")


async def transition_out_of_order(conn: asyncpg.Connection, book: Book) -> str:
    logged = await conn.fetchval(
        """INSERT INTO order_transitions (order_id, from_status, to_status, reason)
           VALUES ($1, 'DISPATCHED', 'DELIVERED', 'by hand'),
                  ($1, 'DELIVERED', 'COMPLETED', 'by hand') RETURNING id""", book.completed)
    return (f"order_transitions {logged}: order {book.completed} moved from DISPATCHED, but it "
            f"was COMPLETED")


async def status_changed_unlogged(conn: asyncpg.Connection, book: Book) -> str:
    # A legal move (the database's trigger lets it through) that nobody logged.
    await conn.execute("UPDATE orders SET status = 'CANCELLED' WHERE id = $1", book.draft)
    return (f"orders {await number(conn, book.draft)} (id {book.draft}): status CANCELLED, no "
            f"transition logged")


async def status_forced_by_superuser(conn: asyncpg.Connection, book: Book) -> str:
    async with superuser(conn):  # past the transitions trigger too
        await conn.execute("UPDATE orders SET status = 'DRAFT' WHERE id = $1", book.passed_on)
    return (f"orders {await number(conn, book.passed_on)} (id {book.passed_on}): status DRAFT, "
            f"last logged transition to VENDOR_ASSIGNED")


async def live_entry_dated_back(conn: asyncpg.Connection, book: Book) -> str:
    entry = await conn.fetchrow(
        """UPDATE ledger_entries SET happened_at = created_at - interval '1 day' WHERE id = $1
           RETURNING id, format('%s', happened_at) AS happened,
                     format('%s', created_at) AS written, account_id""", book.adjustment)
    await reseal(conn, entry["account_id"])
    return (f"ledger_entries {entry['id']}: live, but happened {entry['happened']}, written "
            f"{entry['written']}")


async def acknowledged_by_a_stranger(conn: asyncpg.Connection, book: Book) -> str:
    w = book.world
    account = await conn.fetchval(
        "UPDATE ledger_entries SET acknowledged_by = $2 WHERE id = $1 RETURNING account_id",
        book.adjustment, w.operator.id)
    await reseal(conn, account)
    return (f"ledger_entries {book.adjustment}: acknowledged by user {w.operator.id}, stated by "
            f"{w.admin.id}, on the account of retailer {w.retailer2.id} and vendor {w.vendor.id}")


async def imported_bill_given_a_line(conn: asyncpg.Connection, book: Book) -> str:
    await conn.execute(
        """INSERT INTO order_lines (order_id, line_no, sku, quantity_milli, unit_price_paisa,
                                    line_total_paisa)
           VALUES ($1, 1, 'CHINI', 1000, 30000, 30000)""",
        book.bill)
    return (f"orders {await number(conn, book.bill)} (id {book.bill}): imported bill DELIVERED "
            f"with 1 lines")


async def reason_rewritten(conn: asyncpg.Connection, book: Book) -> str:
    # Only the words change: every sum still agrees, only the entry's hash gives it away.
    entry = await conn.fetchrow(
        """UPDATE ledger_entries SET reason = 'cash, all of it' WHERE payment_id = $1
           RETURNING id, account_id, account_version""", book.partial)
    return (f"ledger_entries {entry['id']}: account {entry['account_id']} version "
            f"{entry['account_version']}: its content no longer matches its hash (changed after "
            f"it was written)")


async def entry_rehashed(conn: asyncpg.Connection, book: Book) -> str:
    # The forger also rewrites the changed entry's own hash, but not the chain after it.
    entry = await conn.fetchrow(
        """UPDATE ledger_entries SET reason = 'cash, all of it' WHERE payment_id = $1
           RETURNING id, account_id, account_version""", book.paid_in_full)
    await reseal(conn, entry["account_id"], up_to=entry["account_version"])
    after = await conn.fetchval(
        "SELECT id FROM ledger_entries WHERE account_id = $1 AND account_version = $2",
        entry["account_id"], entry["account_version"] + 1)
    return (f"ledger_entries {after}: prev_hash is not the hash of the entry before it (entry "
            f"{entry['id']}, account {entry['account_id']} version {entry['account_version']}): "
            f"that entry was replaced or this one slipped in")


BREAKS: list[tuple[str, Breaker]] = [
    ("account_balance", cached_balance_off),
    ("account_version", version_off),
    ("entry_balance_after", balance_after_edited),
    ("reversed_twice", reversed_again),
    ("reversal_mismatch", reversal_of_another_amount),
    ("entry_meta", live_entry_dated_back),
    ("entry_meta", acknowledged_by_a_stranger),
    ("entry_chain", reason_rewritten),
    ("entry_chain", entry_rehashed),
    ("import_bill", imported_bill_given_a_line),
    ("order_total", draft_line_edited),
    ("order_credit", billed_credit_reversed),
    ("order_credit", draft_credited),
    ("payment_debit", payment_debited_twice),
    ("payment_reversed", payment_flagged_reversed),
    ("payment_overallocated", allocation_above_payment),
    ("order_overpaid", order_paid_twice),
    ("allocation_order", allocated_to_unbilled_order),
    ("allocation_order", allocated_to_another_account),
    ("bill_owing", owing_drifted),
    ("bill_owing", owing_row_lost),
    ("bill_owing", owing_on_a_paid_bill),
    ("bill_owing", owing_due_date_moved),
    ("stock_negative", stock_below_reserved),
    ("stock_reserved", reserved_without_reservation),
    ("reservation_order", reservation_lost),
    ("transition_illegal", illegal_transition_logged),
    ("transition_chain", transition_out_of_order),
    ("status_unlogged", status_changed_unlogged),
    ("status_unlogged", status_forced_by_superuser),
    ("score_facts", score_record_forged),
]


def test_every_kind_of_break_has_a_test() -> None:
    assert {kind for kind, _ in BREAKS} == set(check.KINDS)


@pytest.mark.breaks_ledger
@pytest.mark.parametrize(("kind", "breaker"), BREAKS, ids=[b.__name__ for _, b in BREAKS])
async def test_each_break_is_reported_with_its_row(
    conn: asyncpg.Connection, book: Book, kind: str, breaker: Breaker
) -> None:
    async with superuser(conn):
        expected = await breaker(conn, book)
    result = await check.run(conn)
    assert not result.ok
    assert dict(result.counts) == {kind: 1}
    assert result.lines() == [expected]
    assert [p.kind for p in result.problems] == [kind]


@pytest.mark.breaks_ledger
async def test_lines_are_bounded_per_kind_and_counts_stay_exact(
    conn: asyncpg.Connection, book: Book
) -> None:
    async with superuser(conn):
        await conn.execute("UPDATE ledger_accounts SET balance_paisa = balance_paisa + 1")
        await conn.execute("UPDATE vendor_products SET reserved_milli = reserved_milli + 1")
    result = await check.run(conn, limit=2)
    assert dict(result.counts) == {"account_balance": 3, "stock_reserved": 5}
    assert result.total == 8
    assert [p.kind for p in result.problems] == ["account_balance"] * 2 + ["stock_reserved"] * 2
    assert len(result.lines()) == 6 and result.lines()[-2:] == [
        "... and 1 more account_balance", "... and 3 more stock_reserved"]
    with pytest.raises(ValueError):
        await check.run(conn, limit=0)


async def test_the_check_reads_the_callers_transaction(conn: asyncpg.Connection, book: Book):
    class Undo(Exception):
        pass

    with pytest.raises(Undo):
        async with conn.transaction(), superuser(conn):
            await cached_balance_off(conn, book)
            assert dict((await check.run(conn)).counts) == {"account_balance": 1}
            raise Undo
    assert (await check.run(conn)).ok


async def test_khaacho_check_prints_a_summary_and_exits_0(database_url: str, book: Book):
    code, out, err = await khaacho(database_url, "check")
    assert code == 0, err
    assert out.splitlines() == [
        "ledger consistent: 3 accounts, 11 entries, 7 orders, 4 payments, 5 stock rows checked"]


@pytest.mark.breaks_ledger
async def test_khaacho_check_prints_a_line_per_break_and_exits_1(
    database_url: str, conn: asyncpg.Connection, book: Book
):
    async with superuser(conn):
        balance = await cached_balance_off(conn, book)
        lost = await reservation_lost(conn, book)
    code, out, err = await khaacho(database_url, "check")
    assert code == 1
    assert out.splitlines() == [balance, lost]
    assert "ledger has 2 problem(s)" in err


async def test_the_demo_data_passes_the_check(database_url: str):
    assert (await khaacho(database_url, "demo"))[0] == 0
    code, out, err = await khaacho(database_url, "check")
    assert code == 0, err
    assert out.startswith("ledger consistent: 0 accounts, 0 entries, 0 orders, 0 payments")


def _gauge(text: str, name: str) -> float:
    values = [line.split()[1] for line in text.splitlines() if line.startswith(name + " ")]
    assert len(values) == 1, text
    return float(values[0])


async def test_metrics_report_the_last_periodic_check(
    wa_settings: Settings, aiohttp_client: Any, conn: asyncpg.Connection, book: Book
):
    client = await aiohttp_client(
        create_app(wa_settings.model_copy(update={"ledger_check_seconds": 0.05})))

    async def scrape() -> tuple[float, float]:
        text = await (await client.get("/metrics")).text()
        return (_gauge(text, "khaacho_ledger_check_problems"),
                _gauge(text, "khaacho_ledger_check_last_run_timestamp_seconds"))

    async with superuser(conn):
        await cached_balance_off(conn, book)
    broken_at = time.time()
    await eventually(lambda: _after(scrape, broken_at, 1))
    async with superuser(conn):
        await conn.execute(
            "UPDATE ledger_accounts SET balance_paisa = balance_paisa - 1 WHERE retailer_id = $1 "
            "AND vendor_id = $2", book.world.retailer.id, book.world.vendor.id)
    repaired_at = time.time()
    await eventually(lambda: _after(scrape, repaired_at, 0))


async def _after(scrape: Callable[[], Awaitable[tuple[float, float]]], since: float,
                 problems: int) -> bool:
    """A check that started after `since` found `problems`."""
    found, finished = await scrape()
    return found == problems and finished > since
