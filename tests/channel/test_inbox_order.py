"""A sender's messages are handled in the order they were stored, even when an earlier one is
committed after a later one, and storing a sender's next message does not wait for the handling
of their last: the webhook acknowledges it at once."""

from __future__ import annotations

import asyncio

import asyncpg

from bot.inbox import Inbox
from bot.local import inbound
from bot.store import store_webhook
from tests.conftest import eventually

SENDER = "9779811111111"


def _inbox(pool: asyncpg.Pool, handled: list[str], gate: asyncio.Event | None = None) -> Inbox:
    async def process(conn: asyncpg.Connection, row: asyncpg.Record) -> None:
        handled.append(row["body"]["text"]["body"])
        if gate is not None:
            await gate.wait()

    async def give_up(conn: asyncpg.Connection, row: asyncpg.Record) -> None:
        raise AssertionError("nothing fails here")

    return Inbox(pool, process, give_up, max_attempts=3, poll_seconds=1)


async def test_a_message_stored_first_but_committed_last_is_still_handled_first(pool):
    handled: list[str] = []
    inbox = _inbox(pool, handled)
    async with pool.acquire() as first, pool.acquire() as second:
        storing = first.transaction()
        await storing.start()
        await store_webhook(first, [inbound(SENDER, "first")], [])  # its id is the smaller
        await store_webhook(second, [inbound(SENDER, "second")], [])  # committed at once
        assert await inbox.drain_once() == 0  # the sender waits while one of theirs is stored
        assert handled == []
        await storing.commit()
    await inbox.drain()
    assert handled == ["first", "second"]


async def test_storing_a_senders_next_message_does_not_wait_for_their_last_ones_handling(pool):
    handled: list[str] = []
    gate = asyncio.Event()
    inbox = _inbox(pool, handled, gate)
    async with pool.acquire() as conn:
        await store_webhook(conn, [inbound(SENDER, "chamal 2 bora")], [])
    draining = asyncio.create_task(inbox.drain())
    try:
        await eventually(lambda: handled == ["chamal 2 bora"])  # being handled, held open
        async with pool.acquire() as conn:
            stored = await asyncio.wait_for(
                store_webhook(conn, [inbound(SENDER, "chini 5 kg")], []), 5)
        assert stored.new == 1
        assert handled == ["chamal 2 bora"]  # the first one's handling is still going on
        gate.set()
        await asyncio.wait_for(draining, 10)
        assert handled == ["chamal 2 bora", "chini 5 kg"]
    finally:
        gate.set()
        draining.cancel()
        await asyncio.gather(draining, return_exceptions=True)
    async with pool.acquire() as conn:  # no key left held by the inbox's connections
        assert await conn.fetchval(
            """SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted
                 AND database = (SELECT oid FROM pg_database
                                  WHERE datname = current_database())""") == 0


async def test_a_message_is_taken_and_read_in_one_statement(counted):
    """The sender's locks and the read of their oldest message are one call (migration 033),
    so a message handled costs BEGIN, that call, the mark and COMMIT besides its handling."""
    pool, statements = counted
    handled: list[str] = []
    inbox = _inbox(pool, handled)
    async with pool.acquire() as conn:
        await store_webhook(conn, [inbound(SENDER, "chamal 2 bora")], [])
        await asyncio.sleep(0)
        statements.clear()
        assert await inbox.handle_next(SENDER) == 1
        assert await inbox.handle_next(SENDER) == 0  # none left: the call says so
    await asyncio.sleep(0)  # asyncpg tells its loggers on the loop's next turn
    assert handled == ["chamal 2 bora"]
    kinds = [q.split()[0].rstrip(";") for q in statements]
    # The first turn also asks, once, whether migration 033 is there.
    assert kinds == ["BEGIN", "SELECT", "SELECT", "WITH", "COMMIT", "BEGIN", "SELECT", "COMMIT"]
    assert sum("FROM inbox_take" in q for q in statements) == 2


async def test_the_inbox_gives_way_before_each_message_it_handles(pool):
    handled: list[str] = []
    way = asyncio.Event()
    waits = 0

    async def give_way() -> None:  # as StoreQueue.lull while a burst of webhooks is stored
        nonlocal waits
        waits += 1
        await way.wait()
        await asyncio.sleep(0.05)  # long enough for the other worker to finish and give way too

    inbox = Inbox(pool, lambda conn, row: _append(handled, row), _never, max_attempts=3,
                  poll_seconds=1, give_way=give_way, concurrency=2)
    texts = ["chamal 2 bora", "chini 5 kg", "dal 1 kg"]
    async with pool.acquire() as conn:
        await store_webhook(conn, [inbound(f"97798{i:08d}", t) for i, t in enumerate(texts)], [])
    draining = asyncio.create_task(inbox.drain())
    try:
        await eventually(lambda: waits == 2)  # each worker's first turn waits for the way
        assert handled == []
        way.set()
        # Both workers give way again with one sender left: one takes it, the other stops.
        await asyncio.wait_for(draining, 10)
        assert sorted(handled) == sorted(texts)
    finally:
        draining.cancel()


async def _append(handled: list[str], row: asyncpg.Record) -> None:
    handled.append(row["body"]["text"]["body"])


async def _never(conn: asyncpg.Connection, row: asyncpg.Record) -> None:
    raise AssertionError("nothing fails here")


async def test_a_failing_handling_leaves_nothing_behind_is_retried_and_given_up_bounded(pool):
    """What a failed handling wrote is undone, the failure is recorded and the message tried
    again; after max_attempts the sender is told and the message set aside. Other senders are
    handled meanwhile."""
    handled: list[str] = []
    told: list[str] = []

    async def process(conn: asyncpg.Connection, row: asyncpg.Record) -> None:
        text = row["body"]["text"]["body"]
        await conn.execute("INSERT INTO inbound_senders (sender, last_served_at) "  # a write
                           "VALUES ($1, now())", f"mark:{text}:{row['attempts']}")
        if text == "boom" or (text == "flaky" and handled.count("flaky") < 1):
            handled.append(text)
            raise RuntimeError(f"cannot handle {text}")
        handled.append(text)

    async def give_up(conn: asyncpg.Connection, row: asyncpg.Record) -> None:
        told.append(row["body"]["text"]["body"])

    inbox = Inbox(pool, process, give_up, max_attempts=3, poll_seconds=1)
    async with pool.acquire() as conn:
        await store_webhook(conn, [inbound(SENDER, "boom"), inbound(SENDER, "after"),
                                   inbound("9779822222222", "flaky")], [])
    for _ in range(6):  # each pass tries each sender's oldest message once
        await inbox.drain_once()
    assert handled.count("boom") == 3 and told == ["boom"]
    assert handled.count("flaky") == 2 and "after" in handled
    async with pool.acquire() as conn:
        rows = {r["text"]: r for r in await conn.fetch(
            """SELECT body->'text'->>'body' AS text, attempts, last_error, handled_as,
                      handled_at IS NOT NULL AS done FROM inbound_messages""")}
        marks = {r["sender"] for r in await conn.fetch(
            "SELECT sender FROM inbound_senders WHERE sender LIKE 'mark:%'")}
    assert marks == {"mark:after:0", "mark:flaky:1"}  # the failed attempts' writes are undone
    boom, flaky = rows["boom"], rows["flaky"]
    assert (boom["attempts"], boom["handled_as"], boom["done"]) == (3, "given_up", True)
    assert boom["last_error"] == "RuntimeError: cannot handle boom"
    assert (flaky["attempts"], flaky["handled_as"], flaky["done"]) == (2, None, True)
    assert rows["after"]["done"]
