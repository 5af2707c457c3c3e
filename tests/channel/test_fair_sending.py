"""The outbox is sent fairly: one user's reply is not behind a flood of replies to another, each
user still reads replies in order, a pause concerns only what Meta's error concerns, and claims
stay index probes however long the queue is."""

from __future__ import annotations

import json

import aiohttp
import pytest

from bot.graph import GraphClient
from bot.metrics import FLOODED_AT
from bot.sender import RateLimiter, Sender
from bot.store import Queued, enqueue, enqueue_all
from tests.conftest import eventually
from tests.fakegraph import PHONE_NUMBER_ID, TOKEN, FakeGraph, body_text

FLOODED, QUIET, OTHER = "9779811111111", "9779822222222", "9779833333333"


def text(body: str) -> dict:
    return {"type": "text", "text": {"body": body, "preview_url": False}}


@pytest.fixture
async def sender(pool, graph: FakeGraph):  # type: ignore[no-untyped-def]
    async with aiohttp.ClientSession() as session:
        client = GraphClient(session, graph.base_url, PHONE_NUMBER_ID, TOKEN)  # type: ignore[attr-defined]
        yield Sender(pool, client, rate_per_second=1000, max_attempts=8, backoff_seconds=0.01,
                     poll_seconds=0.05, concurrency=1)


def sent_to(graph: FakeGraph) -> list[str]:
    return [m["to"] for m in graph.sent]


async def test_one_reply_is_not_behind_a_flood_of_replies_to_another(sender, graph, pool):
    async with pool.acquire() as conn:
        for i in range(200):
            await enqueue(conn, FLOODED, text(f"flood {i}"))
    assert await sender.send_one()  # the flood has begun going out
    async with pool.acquire() as conn:
        await enqueue(conn, QUIET, text("your one reply"))
    for _ in range(3):
        assert await sender.send_one()
    assert QUIET in sent_to(graph)[:3]
    await sender.drain()
    flood = [body_text(m) for m in graph.sent if m["to"] == FLOODED]
    assert flood == [f"flood {i}" for i in range(200)]  # in order, all of them


async def test_recipients_take_turns(sender, graph, pool):
    async with pool.acquire() as conn:
        for i in range(3):
            await enqueue(conn, FLOODED, text(f"a{i}"))
            await enqueue(conn, QUIET, text(f"b{i}"))
        for i in range(3):
            await enqueue(conn, OTHER, text(f"c{i}"))
    await sender.drain()
    order = [body_text(m) for m in graph.sent]
    assert order[:3] == ["a0", "b0", "c0"] and order[3:6] == ["a1", "b1", "c1"]


async def test_messages_written_together_take_the_turns_they_would_one_by_one(pool):
    """A turn's replies are written in one statement: each recipient's follow one another, after
    what was pending for them, and none is earlier than the queue's current turn."""
    written = [(FLOODED, "a"), (QUIET, "b"), (FLOODED, "c"), (OTHER, "d"), (FLOODED, "e")]
    turns = []
    for together in (False, True):
        async with pool.acquire() as conn, conn.transaction():
            for i in range(3):  # a backlog for one of them, and the queue's turn moved on
                await enqueue(conn, FLOODED, text(f"backlog {i}"))
            await conn.execute("UPDATE outbox SET turn = turn + 5")
            if together:
                ids = await enqueue_all(conn, [Queued(to, text(body)) for to, body in written])
                by_id = {r["id"]: r for r in await conn.fetch(
                    "SELECT id, recipient, payload FROM outbox WHERE id = ANY($1)", ids)}
                assert [(by_id[i]["recipient"], body_text(by_id[i]["payload"])) for i in ids] \
                    == written  # each id is its own message's
            else:
                for to, body in written:
                    await enqueue(conn, to, text(body))
            rows = await conn.fetch("SELECT recipient, turn FROM outbox ORDER BY id")
            turns.append([(r["recipient"], r["turn"]) for r in rows])
            await conn.execute("DELETE FROM outbox")
    assert turns[0] == turns[1]
    assert [t for _, t in turns[1]] == [5, 6, 7, 8, 5, 9, 5, 10]


async def test_writing_a_turns_replies_is_not_planned_afresh_at_every_call(pool):
    """PostgreSQL keeps a prepared statement's reusable plan once it costs no more than a fresh
    one; a statement it plans afresh every time pays the planning at every turn."""
    async with pool.acquire() as conn:
        for i in range(8):
            async with conn.transaction():
                await enqueue_all(conn, [Queued(FLOODED, text(f"a{i}")),
                                         Queued(QUIET, text(f"b{i}"))])
        plans = await conn.fetchrow(
            """SELECT generic_plans, custom_plans FROM pg_prepared_statements
               WHERE statement LIKE '%INSERT INTO outbox%'
                 AND statement NOT LIKE '%pg_prepared_statements%'""")
    # The first five runs are planned afresh, to learn what that costs; the rest reuse the plan.
    assert plans["custom_plans"] == 5 and plans["generic_plans"] == 3, dict(plans)


async def test_a_pair_rate_limit_pauses_only_that_recipient(sender, graph, pool):
    async with pool.acquire() as conn:
        await enqueue(conn, FLOODED, text("first"))
        await enqueue(conn, FLOODED, text("second"))
        await enqueue(conn, QUIET, text("other"))
    graph.fail_next(1, 400, {"error": {"code": 131056, "type": "OAuthException",
                                       "message": "(Business Account, Consumer Account) pair "
                                                  "rate limit hit"}})
    await sender.drain()
    assert sent_to(graph) == [QUIET]  # the other recipient was not paused
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            """SELECT status, attempts, pair_hits, next_attempt_at - now() AS wait
               FROM outbox WHERE recipient = $1 ORDER BY id""", FLOODED)
        assert [r["status"] for r in rows] == ["pending", "pending"]
        assert (rows[0]["attempts"], rows[0]["pair_hits"]) == (0, 1)  # not a failed attempt
        assert rows[0]["wait"].total_seconds() > 5  # Meta's pacing: about one per 6 s
        await conn.execute("UPDATE outbox SET next_attempt_at = now() WHERE recipient = $1",
                           FLOODED)
    await sender.drain()
    assert [body_text(m) for m in graph.sent] == ["other", "first", "second"]


async def test_a_throughput_limit_pauses_all_sending():
    clock = [0.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    limiter = RateLimiter(10, clock=lambda: clock[0], sleep=sleep)
    assert await limiter.acquire()
    limiter.pause(30)
    assert not await limiter.acquire(max_wait=5)  # a claim would rather be given back
    await limiter.unpaused()
    assert sum(slept) >= 30
    assert await limiter.acquire() and await limiter.acquire()
    assert slept[-1] == pytest.approx(0.1)  # then 10 a second again


async def test_a_throughput_error_is_retried_after_a_pause(sender, graph, pool):
    async with pool.acquire() as conn:
        await enqueue(conn, QUIET, text("hello"))
    graph.fail_next(1, 429, {"error": {"code": 130429, "message": "Rate limit hit"}})

    async def sent():  # type: ignore[no-untyped-def]
        await sender.drain()
        async with pool.acquire() as conn:
            return await conn.fetchrow("SELECT * FROM outbox WHERE status = 'sent'")

    row = await eventually(sent)
    assert row["attempts"] == 2 and "130429" in row["last_error"]
    assert sent_to(graph) == [QUIET]


async def test_claims_walk_an_index_not_a_sort_of_the_queue(owner_conn):
    conn = owner_conn  # ANALYZE needs the table's owner; the app's role would skip it
    await conn.execute(
        """INSERT INTO outbox (recipient, payload, turn)
           SELECT '97798' || lpad((i % 500)::text, 8, '0'), '{"type": "text"}', i / 500
           FROM generate_series(1, 20000) AS i""")
    await conn.execute("ANALYZE outbox")
    from bot.sender import _CLAIM
    plan = json.dumps(await conn.fetchval("EXPLAIN (FORMAT JSON) " + _CLAIM))
    assert "outbox_pending_turn" in plan
    assert '"Sort"' not in plan


async def test_metrics_show_the_oldest_unsent_age_per_recipient_backlog(start_app, pool):
    client = await start_app(workers=False)
    async with pool.acquire() as conn:
        for i in range(FLOODED_AT + 2):
            await enqueue(conn, FLOODED, text(f"f{i}"))
        for i in range(3):
            await enqueue(conn, OTHER, text(f"o{i}"))
        await enqueue(conn, QUIET, text("q"))
        await conn.execute(
            """UPDATE outbox SET created_at = now() - CASE recipient
                   WHEN $1 THEN interval '300 s' WHEN $2 THEN interval '120 s'
                   ELSE interval '45 s' END""", FLOODED, OTHER)
    async def scraped() -> str | None:  # gauges are refreshed in the background, not per scrape
        text = await (await client.get("/metrics")).text()
        return text if "khaacho_outbox_depth 16.0" in text else None

    metrics = await eventually(scraped)

    def gauge(backlog: str) -> float:
        prefix = f'khaacho_outbox_oldest_unsent_by_backlog_seconds{{backlog="{backlog}"}} '
        line = next(x for x in metrics.splitlines() if x.startswith(prefix))
        return float(line.removeprefix(prefix))

    assert 45 <= gauge("one") < 120
    assert 120 <= gauge("few") < 300
    assert 300 <= gauge("flooded") < 400
    assert "khaacho_outbox_depth 16.0" in metrics
