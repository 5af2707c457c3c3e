"""The ledger itself: append-only, exactly-once postings, reversals at most once, a clean chain."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from ledger import check, orders, postings
from ledger.errors import AlreadyReversed, IdempotencyConflict, InvalidAmount, NotReversible
from ledger.postings import Posting
from tests.ledger.conftest import World, line


def adjustment(
    world: World, key: str, amount: int = 10_000, reason: str = "opening balance"
) -> Posting:
    return Posting(
        idempotency_key=key, retailer_id=world.retailer.id, vendor_id=world.vendor.id,
        kind="ADJUSTMENT", amount_paisa=amount, actor_id=world.admin.id, reason=reason,
    )


async def test_each_entry_stores_the_running_balance(
    conn: asyncpg.Connection, world: World
) -> None:
    first = await postings.post(conn, adjustment(world, "a1", 10_000))
    second = await postings.post(conn, adjustment(world, "a2", -2_500))
    assert (first.balance_after_paisa, first.account_version) == (10_000, 1)
    assert (second.balance_after_paisa, second.account_version) == (7_500, 2)
    assert (await check.run(conn)).lines() == []


@pytest.mark.parametrize("sql", [
    "UPDATE ledger_entries SET amount_paisa = 1",
    "DELETE FROM ledger_entries",
    "TRUNCATE ledger_entries",
    "TRUNCATE ledger_accounts CASCADE",
])
async def test_entries_cannot_be_updated_deleted_or_truncated(
    conn: asyncpg.Connection, owner_conn: asyncpg.Connection, world: World, sql: str
) -> None:
    """Even by the tables' owner (the app's role may not even try: tests/ledger/test_guards.py)."""
    await postings.post(conn, adjustment(world, "a1"))
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="refused"):
        await owner_conn.execute(sql)
    assert await conn.fetchval("SELECT count(*) FROM ledger_entries") == 1


async def test_retry_with_the_same_key_returns_the_original_entry(
    conn: asyncpg.Connection, world: World
) -> None:
    original = await postings.post(conn, adjustment(world, "k"))
    again = await postings.post(conn, adjustment(world, "k"))
    assert again == original and again.replayed and not original.replayed
    assert await conn.fetchval("SELECT count(*) FROM ledger_entries") == 1


async def test_same_key_with_different_content_is_refused(
    conn: asyncpg.Connection, world: World
) -> None:
    await postings.post(conn, adjustment(world, "k", 10_000))
    with pytest.raises(IdempotencyConflict) as caught:
        await postings.post(conn, adjustment(world, "k", 20_000))
    assert caught.value.key == "idempotency.conflict"


async def test_concurrent_retries_of_one_key_post_once(pool: asyncpg.Pool, world: World) -> None:
    async def attempt() -> postings.Entry:
        async with pool.acquire() as c:
            return await postings.post(c, adjustment(world, "same"))

    results = await asyncio.gather(*(attempt() for _ in range(10)))
    assert len({r.id for r in results}) == 1
    assert sum(not r.replayed for r in results) == 1
    async with pool.acquire() as c:
        assert await c.fetchval("SELECT count(*) FROM ledger_entries") == 1


async def test_reversal_happens_at_most_once(conn: asyncpg.Connection, world: World) -> None:
    entry = await postings.post(conn, adjustment(world, "a"))
    reversal = await postings.reverse(conn, entry.id, idempotency_key="r1",
                                      actor_id=world.admin.id, reason="typo")
    assert reversal.amount_paisa == -entry.amount_paisa and reversal.balance_after_paisa == 0
    assert reversal.reverses_entry_id == entry.id
    # The same request again is a replay, not a second reversal.
    assert (await postings.reverse(conn, entry.id, idempotency_key="r1",
                                   actor_id=world.admin.id, reason="typo")).id == reversal.id
    with pytest.raises(AlreadyReversed):
        await postings.reverse(conn, entry.id, idempotency_key="r2",
                               actor_id=world.admin.id, reason="typo")
    with pytest.raises(NotReversible):
        await postings.reverse(conn, reversal.id, idempotency_key="r3",
                               actor_id=world.admin.id, reason="undo the undo")


async def test_database_refuses_a_second_reversal_even_without_the_code(
    conn: asyncpg.Connection, world: World
) -> None:
    entry = await postings.post(conn, adjustment(world, "a"))
    await postings.reverse(conn, entry.id, idempotency_key="r1", actor_id=None, reason="x")
    account = entry.account_id
    with pytest.raises(asyncpg.UniqueViolationError):
        await conn.execute(
            """INSERT INTO ledger_entries (account_id, account_version, kind, amount_paisa,
                   balance_after_paisa, reverses_entry_id, idempotency_key, request_hash)
               VALUES ($1, 3, 'REVERSAL', -10000, -10000, $2, 'by-hand', '\\x00')""",
            account, entry.id,
        )


async def test_amounts_must_fit_their_kind(conn: asyncpg.Connection, world: World) -> None:
    draft = await orders.create_draft(conn, world.retailer, [line("CHINI", 1)])
    with pytest.raises(InvalidAmount):
        await postings.post(conn, Posting("neg", world.retailer.id, world.vendor.id,
                                          "ORDER_CREDIT", -5, None, order_id=draft.id))
    with pytest.raises(InvalidAmount):
        await postings.post(conn, adjustment(world, "zero", 0))
    with pytest.raises(InvalidAmount):  # True is an int to Python, not one paisa
        await postings.post(conn, adjustment(world, "bool", True))


async def test_postings_to_several_accounts_lock_them_in_a_fixed_order(
    pool: asyncpg.Pool, world: World
) -> None:
    """Two batches touching the same accounts in opposite orders never deadlock."""
    pairs = [(world.retailer.id, world.vendor.id), (world.retailer2.id, world.vendor2.id)]

    async def batch(n: int, reverse_order: bool) -> None:
        todo = list(reversed(pairs)) if reverse_order else pairs
        async with pool.acquire() as c:
            await postings.post_many(c, [
                Posting(f"b{n}-{r}-{v}", r, v, "ADJUSTMENT", 100, world.admin.id, "x")
                for r, v in todo
            ])

    await asyncio.gather(*(batch(n, n % 2 == 1) for n in range(20)))
    async with pool.acquire() as c:
        assert await c.fetchval("SELECT count(*) FROM ledger_entries") == 40
        assert (await check.run(c)).lines() == []
