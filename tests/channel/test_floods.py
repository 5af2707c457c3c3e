"""One number sending thousands of messages is throttled, told so once, loses nothing, and cannot
slow anyone else's handling."""

from __future__ import annotations

import asyncpg

from bot.inbox import Inbox
from bot.local import inbound
from bot.store import store_webhook
from tests.channel.people import message_from
from tests.conftest import eventually, post_webhook

FLOODER, OTHER = "9779811111111", "9779822222222"


async def settled(pool, graph):  # type: ignore[no-untyped-def]
    async def check():  # type: ignore[no-untyped-def]
        async with pool.acquire() as conn:
            row = await conn.fetchrow(
                """SELECT (SELECT count(*) FROM inbound_messages WHERE handled_at IS NULL) AS todo,
                          (SELECT count(*) FROM outbox WHERE status = 'pending') AS pending,
                          (SELECT count(*) FROM outbox) AS replies""")
        return row["todo"] == 0 and row["pending"] == 0 and len(graph.sent) == row["replies"]
    await eventually(check, within=30)


async def test_a_flood_is_throttled_with_one_notice_in_the_users_language_and_kept(
        client, graph, pool, wa_settings):
    cap = wa_settings.inbound_sender_max_per_window
    for i in range(cap + 15):  # all sent within the same second
        body = message_from(FLOODER, f"wamid.FLOOD{i:03d}", "नमस्ते", 1764064800)
        assert (await post_webhook(client, body)).status == 200
    await settled(pool, graph)
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT handled_as, handled_at FROM inbound_messages ORDER BY id")
    assert len(rows) == cap + 15 and all(r["handled_at"] is not None for r in rows)
    assert [r["handled_as"] for r in rows] == [None] * cap + ["throttled"] * 15
    async with pool.acquire() as conn:
        answered = await conn.fetch(
            """SELECT m.handled_as, count(o.id) AS replies FROM inbound_messages m
               LEFT JOIN outbox o ON o.inbound_id = m.id GROUP BY m.id ORDER BY m.id""")
    assert all(r["replies"] >= 1 for r in answered[:cap])  # the dialogs answered those
    assert [r["replies"] for r in answered[cap:]] == [1] + [0] * 14  # the notice, once
    notices = [t for t in graph.texts_to(FLOODER) if "मिनेट" in t]
    assert len(notices) == 1


async def test_a_new_flood_after_a_quiet_while_gets_a_new_notice(client, graph, pool, wa_settings):
    cap = wa_settings.inbound_sender_max_per_window
    window = wa_settings.inbound_sender_window_seconds
    start = 1764064800
    for flood, sent_at in enumerate((start, start + int(window) // 2, start + 3 * int(window))):
        for i in range(cap + 2):
            body = message_from(FLOODER, f"wamid.F{flood}.{i:03d}", "hello", sent_at)
            await post_webhook(client, body)
        await settled(pool, graph)
    notices = [t for t in graph.texts_to(FLOODER) if "faster than we can read" in t]
    assert len(notices) == 2  # the second burst continued the first flood; the third is new


async def test_a_flood_does_not_delay_another_sender(pool):
    handled: list[str] = []

    async def process(conn: asyncpg.Connection, row: asyncpg.Record) -> None:
        handled.append(row["sender"])

    async def give_up(conn: asyncpg.Connection, row: asyncpg.Record) -> None:
        raise AssertionError("nothing fails here")

    inbox = Inbox(pool, process, give_up, max_attempts=3, poll_seconds=1,
                  max_per_window=10_000, window_seconds=60)
    async with pool.acquire() as conn:
        await store_webhook(conn, [inbound(FLOODER, f"m{i}") for i in range(300)], [])
    assert await inbox.drain_once() == 1  # one pass: the flooder had a turn
    async with pool.acquire() as conn:
        await store_webhook(conn, [inbound(OTHER, "just one")], [])
    await inbox.drain_once()
    assert handled[:3] == [FLOODER, OTHER, FLOODER]  # the newcomer went first in that pass
    await inbox.drain()
    assert handled.count(FLOODER) == 300


async def test_senders_take_turns_one_message_each(pool):
    order: list[str] = []

    async def process(conn: asyncpg.Connection, row: asyncpg.Record) -> None:
        order.append(row["body"]["text"]["body"])

    async def give_up(conn: asyncpg.Connection, row: asyncpg.Record) -> None:
        pass

    inbox = Inbox(pool, process, give_up, max_attempts=3, poll_seconds=1)
    async with pool.acquire() as conn:
        await store_webhook(conn, [inbound(FLOODER, f"a{i}") for i in range(3)]
                            + [inbound(OTHER, f"b{i}") for i in range(3)], [])
    await inbox.drain()
    assert sorted(order[:2]) == ["a0", "b0"] and sorted(order[2:4]) == ["a1", "b1"]
