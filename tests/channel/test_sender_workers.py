"""The sender's workers follow the queue: a slow send holds up only its own worker, looking for
work costs one claim when there is none, not one per worker, and about one a reply when there
is."""

from __future__ import annotations

import asyncio

import aiohttp
import asyncpg

from bot.graph import GraphClient
from bot.sender import Sender, _Calls
from bot.store import enqueue
from tests.conftest import eventually
from tests.fakegraph import PHONE_NUMBER_ID, TOKEN, FakeGraph

SLOW, OTHERS = "9779811111111", ("9779822222222", "9779833333333", "9779844444444")


def text(body: str) -> dict:  # type: ignore[type-arg]
    return {"type": "text", "text": {"body": body, "preview_url": False}}


def _sender(pool: asyncpg.Pool, session: aiohttp.ClientSession, graph: FakeGraph,
            concurrency: int = 4) -> Sender:
    client = GraphClient(session, graph.base_url, PHONE_NUMBER_ID, TOKEN)  # type: ignore[attr-defined]
    return Sender(pool, client, rate_per_second=1000, max_attempts=8, backoff_seconds=0.01,
                  poll_seconds=0.05, concurrency=concurrency)


def _claims(statements: list[str]) -> int:
    return sum(1 for q in statements if q.lstrip().startswith("WITH next AS"))


async def test_a_slow_send_holds_up_only_its_own_worker(pool, graph):
    graph.slow_for[SLOW] = 2.0  # answers well within the client's timeout, but late
    async with pool.acquire() as conn:
        await enqueue(conn, SLOW, text("slow"))  # the oldest: the first worker takes it
        for other in OTHERS:
            await enqueue(conn, other, text("quick"))
    async with aiohttp.ClientSession() as session:
        drain = asyncio.create_task(_sender(pool, session, graph).drain())
        try:
            await eventually(lambda: {m["to"] for m in graph.sent} >= {SLOW, *OTHERS},
                             within=1.5)

            async def only_the_slow_one_pending() -> bool:
                async with pool.acquire() as conn:
                    pending = await conn.fetch(
                        "SELECT recipient FROM outbox WHERE status = 'pending'")
                return [r["recipient"] for r in pending] == [SLOW]
            # The three went out and were recorded while the slow one still waited for its
            # answer (a send reaches the fake Graph API a moment before it is recorded).
            await eventually(only_the_slow_one_pending, within=1.5)
            assert not drain.done()
            assert await drain == 4
        finally:
            drain.cancel()


async def test_looking_for_work_costs_one_claim_not_one_per_worker(counted, graph):
    pool, statements = counted
    async with aiohttp.ClientSession() as session:
        sender = _sender(pool, session, graph)
        assert await sender.drain() == 0
        assert _claims(statements) == 1  # four workers, one of them looked
        async with pool.acquire() as conn:
            await enqueue(conn, SLOW, text("one reply"))
        statements.clear()
        assert await sender.drain() == 1
    # The claim that found it saw nothing else due and its recipient nothing else waiting: no
    # peer woken, no look after sending.
    assert _claims(statements) == 1
    assert [m["to"] for m in graph.sent] == [SLOW]


async def test_a_message_due_besides_the_one_claimed_is_looked_for_once(counted, graph):
    """The claim that sees another due calls a peer for it and, having sent its own, does not
    look again itself: two replies to two people cost two claims, not three. With no peer to
    call (one worker), the claimer looks again itself, and that look finds the second."""
    pool, statements = counted
    async with aiohttp.ClientSession() as session:
        for concurrency in (4, 1):
            async with pool.acquire() as conn:
                for to in (SLOW, OTHERS[0]):
                    await enqueue(conn, to, text(f"to {to}"))
            statements.clear()
            assert await _sender(pool, session, graph, concurrency).drain() == 2
            await asyncio.sleep(0)  # asyncpg tells its loggers on the loop's next turn
            assert _claims(statements) == 2, concurrency
    assert sorted(m["to"] for m in graph.sent) == sorted([SLOW, OTHERS[0]] * 2)


def test_an_empty_claim_answers_only_the_calls_made_before_it_began():
    """A claim begun before a message fell due finds nothing; a later claim sees that message
    and calls a peer for it, and does not look again itself. The empty claim, ending after
    that call, must leave it for the peer: else nobody looks until the next poll."""
    calls = _Calls(spare=3)
    began = calls.made  # the empty claim begins
    assert calls.make()  # the later claim calls a peer
    calls.answered_by_empty_claim(began)  # the empty claim ends
    assert calls.pending == 1
    began = calls.made  # a claim begun after the call, which finds nothing, answers it
    calls.answered_by_empty_claim(began)
    assert calls.pending == 0
    assert [calls.make() for _ in range(4)] == [True, True, True, False]  # one a spare peer


async def test_one_drain_sends_everything_due(counted, graph):
    pool, statements = counted
    recipients = (SLOW, *OTHERS)
    async with aiohttp.ClientSession() as session:
        for concurrency in (4, 1):
            async with pool.acquire() as conn:
                for k in range(3):  # a recipient's next reply is due once the one before is sent
                    for to in recipients:
                        await enqueue(conn, to, text(f"{concurrency}.{k}"))
            statements.clear()
            assert await _sender(pool, session, graph, concurrency).drain() == 12
            async with pool.acquire() as conn:
                assert await conn.fetchval(
                    "SELECT count(*) FROM outbox WHERE status <> 'sent'") == 0
            for to in recipients:
                assert [m["text"]["body"] for m in graph.sent if m["to"] == to
                        and m["text"]["body"].startswith(f"{concurrency}.")] == [
                    f"{concurrency}.{k}" for k in range(3)]
    # One worker: one claim a reply and none that finds nothing (13 before a claim said
    # whether more was due: the look after the last send). With four, how many looks find
    # nothing depends on how the workers interleave.
    assert _claims(statements) == 12


async def test_a_send_is_recorded_in_one_statement(counted, graph):
    """The row marked sent, its wamid's lock and the look for a failure that came first are one
    round trip without BEGIN or COMMIT (migration 032); a failure that did come first is applied
    (tests/channel/test_pipeline.py: the failure callback that outruns the send)."""
    pool, statements = counted
    async with pool.acquire() as conn:
        await enqueue(conn, SLOW, text("one reply"))
    async with aiohttp.ClientSession() as session:
        statements.clear()
        assert await _sender(pool, session, graph).drain() == 1
    await asyncio.sleep(0)  # asyncpg tells its loggers on the loop's next turn
    assert _claims(statements) == 1
    after_claim = [q.strip() for q in statements if not q.lstrip().startswith("WITH next AS")]
    assert len(after_claim) == 1 and "outbox_record_sent" in after_claim[0]
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT status, wamid FROM outbox")
    assert row["status"] == "sent" and row["wamid"].startswith("wamid.FAKE")
