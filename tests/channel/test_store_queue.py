"""Webhook bodies that arrive together are stored in one transaction (one commit), each POST
answered only once its body is stored; a body the database refuses part of does not cost the
others theirs, and a database that cannot be reached fails every POST waiting (Meta retries)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg
import pytest

from bot.local import inbound
from bot.store import confirm_sent, reference, store_webhook, store_webhooks
from bot.store_queue import StoreQueue
from bot.whatsapp import Inbound, StatusUpdate

SENDERS = [f"97798{i:08d}" for i in range(20)]


async def test_bodies_arriving_together_share_one_transaction(pool):
    queue = StoreQueue(pool)
    bodies = [[inbound(sender, f"chamal {i} bora")] for i, sender in enumerate(SENDERS)]
    results = await asyncio.gather(*(queue.store(body, []) for body in bodies))
    assert [r.new for r in results] == [1] * 20
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT sender, xmin::text AS tx FROM inbound_messages ORDER BY id")
    assert [r["sender"] for r in rows] == SENDERS  # stored in the order they came
    # All twenty were waiting before the writer's first turn: one transaction wrote them.
    assert len({r["tx"] for r in rows}) == 1


async def test_bodies_of_messages_only_are_one_statement_and_no_begin_or_commit(pool):
    """A statement is a transaction of its own: BEGIN and COMMIT would be two more round trips
    for every acknowledgement. With a status among them the bodies need a transaction."""
    statements: list[str] = []

    def note(logged: asyncpg.connection.LoggedQuery) -> None:
        statements.append(logged.query)

    async with pool.acquire() as conn:
        await store_webhooks(conn, [([inbound(SENDERS[4], "hi")], [], [])])
        conn.add_query_logger(note)  # after asyncpg has read the array types it sends
        try:
            bodies = [([inbound(s, "chamal 2 bora")], [], []) for s in SENDERS[:3]]
            assert [r.new for r in await store_webhooks(conn, bodies)] == [1, 1, 1]
            await asyncio.sleep(0)  # asyncpg tells its loggers on the loop's next turn
            assert len(statements) == 1 and "INSERT INTO inbound_messages" in statements[0]
            statements.clear()
            sent = StatusUpdate("wamid.SENT", "sent", SENDERS[0], None, None, None)
            bodies = [([inbound(SENDERS[3], "chini 5 kg")], [], []), ([], [sent], [])]
            assert [r.new for r in await store_webhooks(conn, bodies)] == [1, 0]
            await asyncio.sleep(0)
            assert statements[0].strip() == "BEGIN;" and statements[-1].strip() == "COMMIT;"
        finally:
            conn.remove_query_logger(note)
        assert await conn.fetchval("SELECT count(*) FROM inbound_messages") == 5
        assert await conn.fetchval("SELECT status FROM message_statuses") == "sent"


async def test_a_lone_status_is_one_statement_unless_it_is_a_failure(pool):
    """Meta posts each status (sent, delivered, read) in a body of its own: one statement stores
    it and confirms the reply it names. A failure changes the reply too (failed, maybe a
    template in its place), so it is stored and applied in one transaction."""
    statements: list[str] = []

    def note(logged: asyncpg.connection.LoggedQuery) -> None:
        statements.append(logged.query)

    async with pool.acquire() as conn:
        sent, failing = [await conn.fetchval(
            "INSERT INTO outbox (recipient, payload, status) VALUES ($1, '{}', $2) RETURNING id",
            SENDERS[0], status) for status in ("pending", "sent")]
        await conn.execute("UPDATE outbox SET wamid = 'wamid.FAILING' WHERE id = $1", failing)
        conn.add_query_logger(note)
        try:
            status = StatusUpdate("wamid.OK", "sent", SENDERS[0], None, None, reference(sent))
            assert [r.new for r in await store_webhooks(conn, [([], [status], [])])] == [0]
            await asyncio.sleep(0)
            assert len(statements) == 1 and "INSERT INTO message_statuses" in statements[0]
            statements.clear()
            failure = StatusUpdate("wamid.FAILING", "failed", SENDERS[0], 131026,
                                   "Message undeliverable", reference(failing))
            await store_webhooks(conn, [([], [failure], [])])
            await asyncio.sleep(0)
            assert statements[0].strip() == "BEGIN;" and statements[-1].strip() == "COMMIT;"
        finally:
            conn.remove_query_logger(note)
        rows = await conn.fetch("SELECT id, wamid, status FROM outbox ORDER BY id")
        assert [tuple(r) for r in rows] == [(sent, "wamid.OK", "sent"),
                                            (failing, "wamid.FAILING", "failed")]


async def test_one_senders_messages_keep_their_order_within_a_transaction(pool):
    queue = StoreQueue(pool)
    texts = [f"m{i}" for i in range(10)]
    await asyncio.gather(*(queue.store([inbound(SENDERS[0], t)], []) for t in texts))
    async with pool.acquire() as conn:
        stored = [r["t"] for r in await conn.fetch(
            "SELECT body->'text'->>'body' AS t FROM inbound_messages ORDER BY id")]
    assert stored == texts


async def test_a_body_the_database_refuses_part_of_costs_the_others_nothing(pool):
    queue = StoreQueue(pool)
    refused = Inbound("wamid.NUL", SENDERS[1], None, None, "text", {"b": "\x00"},
                      datetime.now(UTC))
    bodies = [[inbound(SENDERS[0], "first")], [refused, inbound(SENDERS[1], "kept")],
              [inbound(SENDERS[2], "third")]]
    results = await asyncio.gather(*(queue.store(body, []) for body in bodies))
    assert [(r.new, r.quarantined) for r in results] == [(1, 0), (1, 1), (1, 0)]
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM inbound_messages") == 3
        assert await conn.fetchval("SELECT count(*) FROM webhook_quarantine") == 1


async def test_every_post_waiting_fails_when_the_database_cannot_be_reached():
    # Nothing listens on port 9 of 127.0.0.1: connecting fails at once.
    pool = await asyncpg.create_pool("postgresql://nobody@127.0.0.1:9/none", min_size=0)
    try:
        queue = StoreQueue(pool)
        results = await asyncio.gather(*(queue.store([inbound(s, "hi")], []) for s in SENDERS[:5]),
                                       return_exceptions=True)
        assert all(isinstance(r, OSError) for r in results), results
        with pytest.raises(OSError):  # and the next POST is tried afresh, not stuck
            await queue.store([inbound(SENDERS[0], "again")], [])
    finally:
        await pool.close()



async def test_a_message_sent_twice_at_once_is_stored_and_counted_once(pool):
    queue = StoreQueue(pool)
    message = inbound(SENDERS[0], "chamal 2 bora")
    results = await asyncio.gather(queue.store([message], []), queue.store([message], []),
                                   queue.store([inbound(SENDERS[1], "chini 5 kg")], []))
    assert [r.new for r in results] == [1, 0, 1]  # Meta's retry is not new
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM inbound_messages") == 2


async def test_a_lull_comes_when_the_webhooks_bodies_are_stored_and_not_before(pool):
    queue = StoreQueue(pool)
    await asyncio.wait_for(queue.lull(at_most=60), 5)  # nothing stored yet: at once
    async with pool.acquire() as conn:
        # The sender's store key held exclusively: their body waits inside the writer.
        await conn.execute("SELECT pg_advisory_lock(hashtextextended('inbound:' || $1, 0))",
                           SENDERS[0])
        storing = asyncio.create_task(queue.store([inbound(SENDERS[0], "chamal 2 bora")], []))
        lull = asyncio.create_task(queue.lull(at_most=60))
        await asyncio.sleep(0.2)
        assert not lull.done() and not storing.done()
        await conn.execute("SELECT pg_advisory_unlock_all()")
    assert (await storing).new == 1
    await asyncio.wait_for(lull, 5)  # stored: the lull came with it, not after its 60 s


async def test_a_lull_is_not_waited_for_longer_than_asked_while_webhooks_keep_coming(pool):
    queue = StoreQueue(pool)
    async with pool.acquire() as conn:
        await conn.execute("SELECT pg_advisory_lock(hashtextextended('inbound:' || $1, 0))",
                           SENDERS[0])
        storing = asyncio.create_task(queue.store([inbound(SENDERS[0], "chamal 2 bora")], []))
        await asyncio.wait_for(queue.lull(at_most=0.1), 5)  # busy, but the wait is bounded
        assert not storing.done()
        await conn.execute("SELECT pg_advisory_unlock_all()")
    await storing
    # Idle, but not yet for as long as asked: bounded too.
    await asyncio.wait_for(queue.lull(at_most=0.1, quiet=60), 5)


async def test_a_lull_waits_until_no_body_has_come_for_a_quiet_moment(pool):
    """Between one writer's commit and a burst's next POST the queue is idle for an instant:
    that is not a lull, or handling slips into the middle of the burst."""
    queue = StoreQueue(pool)
    loop = asyncio.get_running_loop()
    await queue.store([inbound(SENDERS[0], "chamal 2 bora")], [])
    lull = asyncio.create_task(queue.lull(at_most=60, quiet=1.0))
    await asyncio.sleep(0.2)
    await queue.store([inbound(SENDERS[1], "chini 5 kg")], [])
    stored_at = loop.time()
    await asyncio.wait_for(lull, 10)
    # The quiet moment is counted from the last body stored, not from the first.
    assert loop.time() - stored_at >= 1.0


async def test_a_status_naming_a_wamid_another_reply_holds_costs_the_body_nothing(pool):
    """Meta's status names our row B, but its wamid is row A's: B is left as it was, no error
    undoes the body, and the body's message and status are stored."""
    async with pool.acquire() as conn:
        a, b = [await conn.fetchval(
            "INSERT INTO outbox (recipient, payload, wamid) VALUES ($1, '{}', $2) RETURNING id",
            SENDERS[0], wamid) for wamid in ("wamid.HELD", None)]
        stored = await store_webhook(
            conn, [inbound(SENDERS[1], "chini 5 kg")],
            [StatusUpdate("wamid.HELD", "sent", SENDERS[0], None, None, reference(b))])
        assert stored.new == 1
        rows = await conn.fetch("SELECT id, wamid, status FROM outbox ORDER BY id")
        assert [tuple(r) for r in rows] == [(a, "wamid.HELD", "pending"), (b, None, "pending")]
        assert await conn.fetchval(
            "SELECT status FROM message_statuses WHERE wamid = 'wamid.HELD'") == "sent"
        assert await conn.fetchval("SELECT count(*) FROM inbound_messages") == 1
        # The row the status does belong to is confirmed by it.
        assert await confirm_sent(conn, b, "wamid.OWN") is True
        assert await conn.fetchval("SELECT status FROM outbox WHERE id = $1", b) == "sent"
