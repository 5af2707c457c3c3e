"""Every reply reaches the user once: sends Meta accepted without a usable answer are settled by
their status webhook, never sent again; only a send no status ever names goes again."""

from __future__ import annotations

import asyncio

import pytest

from bot.app import create_app
from bot.store import reference
from tests.channel.people import message_from, phones
from tests.channel.test_webhook import text_message
from tests.conftest import APP_SECRET, eventually, post_webhook


@pytest.fixture
def start(wa_settings, aiohttp_client):  # type: ignore[no-untyped-def]
    """Start the app with a short send timeout; the test says how long to wait for a status."""

    async def start(confirm_seconds: float = 30.0, timeout: float = 0.3):  # type: ignore[no-untyped-def]
        settings = wa_settings.model_copy(update={
            "outbox_send_timeout_seconds": timeout, "outbox_confirm_seconds": confirm_seconds})
        return await aiohttp_client(create_app(settings))

    return start


async def all_settled(pool, expected: int):  # type: ignore[no-untyped-def]
    async def check():  # type: ignore[no-untyped-def]
        async with pool.acquire() as conn:
            rows = await conn.fetch("SELECT * FROM outbox ORDER BY id")
        done = len(rows) == expected and all(r["status"] != "pending" for r in rows)
        return rows if done else None
    return await eventually(check, within=30)


async def test_answers_after_the_timeout_are_settled_by_status_and_never_sent_twice(
        start, graph, pool):
    client = await start()  # a status, not the 30 s wait, must settle them
    graph.emit_statuses(str(client.make_url("/webhook")), APP_SECRET)
    graph.answer_late_next(31, 1.0)
    for i, user in enumerate(phones(31)):
        assert (await post_webhook(client, message_from(user, f"wamid.LATE{i}", "help"))).status \
            == 200
    rows = await all_settled(pool, 31)
    assert graph.duplicates() == 0 and len(graph.sent) == 31
    assert all(r["status"] == "sent" and r["wamid"].startswith("wamid.FAKE") for r in rows)
    metrics = await (await client.get("/metrics")).text()
    assert 'khaacho_outbound_messages_total{result="ambiguous"} ' in metrics


async def test_a_connection_dropped_after_accepting_is_not_sent_twice(start, graph, pool):
    client = await start()
    graph.emit_statuses(str(client.make_url("/webhook")), APP_SECRET)
    graph.drop_after_accept_next(5)
    for i in range(5):  # one user: each reply waits for the one before, in order
        await post_webhook(client, text_message(f"wamid.DROP{i}", f"help {i}"))
    rows = await all_settled(pool, 5)
    assert graph.duplicates() == 0 and len(graph.sent) == 5
    assert [r["status"] for r in rows] == ["sent"] * 5
    assert [m["biz_opaque_callback_data"] for m in graph.sent] == [
        reference(r["id"]) for r in rows]  # and in order


async def test_a_send_no_status_ever_names_goes_again_after_the_wait(start, graph, pool):
    client = await start(confirm_seconds=0.5)
    graph.emit_statuses(str(client.make_url("/webhook")), APP_SECRET)
    graph.hang_next(1, 1.0)  # Meta never got it: no status will come
    await post_webhook(client, text_message("wamid.LOST", "help"))
    rows = await all_settled(pool, 1)
    assert len(graph.sent) == 1 and rows[0]["status"] == "sent"
    assert rows[0]["attempts"] == 2  # the unanswered one, and the one after the wait
    assert "no answer" in rows[0]["last_error"]


async def test_a_status_that_outruns_the_answer_settles_the_send(start, graph, pool):
    client = await start(timeout=5)
    graph.emit_statuses(str(client.make_url("/webhook")), APP_SECRET)
    graph.answer_delay = 0.5  # the status webhook arrives before the HTTP answer
    await post_webhook(client, text_message("wamid.OUTRUN", "help"))
    rows = await all_settled(pool, 1)
    await eventually(lambda: graph.unanswered == 0)
    assert rows[0]["wamid"] == "wamid.FAKE1" and len(graph.sent) == 1


async def test_a_wamid_already_recorded_never_stops_the_sender(start, graph, pool):
    client = await start()
    graph.reuse_wamid_next("wamid.SAME", 2)
    for i, user in enumerate(phones(3)):
        await post_webhook(client, message_from(user, f"wamid.REUSE{i}", "help"))
        await eventually(lambda n=i: len(graph.sent) == n + 1)
    rows = await all_settled(pool, 3)
    assert [r["status"] for r in rows] == ["sent"] * 3
    assert [r["wamid"] for r in rows] == ["wamid.SAME", None, "wamid.FAKE1"]
    assert "already held by another message" in rows[1]["last_error"]
    await asyncio.sleep(0.3)  # and nothing is sent again later
    assert len(graph.sent) == 3 and graph.duplicates() == 0


async def test_sends_left_in_flight_by_a_crash_are_settled_or_sent_once(start, graph, pool):
    """What a restarted process finds: rows marked in flight whose lease ran out."""
    async with pool.acquire() as conn:
        ids = [await conn.fetchval(
            """INSERT INTO outbox (recipient, payload, sending_since, attempts, next_attempt_at)
               VALUES ($1, '{"type": "text", "text": {"body": "hi"}}', now() - interval '1 min',
                       1, now() + interval '1 hour') RETURNING id""", user)
            for user in phones(2)]
    client = await start(confirm_seconds=0.2)
    # Meta had the first one: its status arrives (late, as after the process was down).
    status = {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{
        "field": "messages", "value": {"messaging_product": "whatsapp", "statuses": [{
            "id": "wamid.BEFORECRASH", "status": "delivered", "timestamp": "1764064801",
            "recipient_id": phones(2)[0], "biz_opaque_callback_data": reference(ids[0])}]}}]}]}
    assert (await post_webhook(client, status)).status == 200
    async with pool.acquire() as conn:  # the second one's lease runs out
        await conn.execute("UPDATE outbox SET next_attempt_at = now() WHERE id = $1", ids[1])
        await conn.execute("NOTIFY khaacho_outbox")
    rows = await all_settled(pool, 2)
    assert [r["wamid"] for r in rows] == ["wamid.BEFORECRASH", "wamid.FAKE1"]
    assert [m["biz_opaque_callback_data"] for m in graph.sent] == [reference(ids[1])]


async def test_a_send_whose_wait_ran_out_while_no_process_was_up_waits_again_for_its_status(
        start, graph, pool):
    """After kill -9, the restart can take longer than the whole wait (seconds under load): Meta's
    status was posted while nobody listened and comes with its retry, after the new process is up.
    It must still find the message unsent again."""
    async with pool.acquire() as conn:
        row_id = await conn.fetchval(
            """INSERT INTO outbox (recipient, payload, sending_since, attempts, next_attempt_at)
               VALUES ($1, '{"type": "text", "text": {"body": "hi"}}', now() - interval '1 min',
                       1, now() - interval '1 s') RETURNING id""", phones(1)[0])
    client = await start(confirm_seconds=30)

    async def looked_at():  # type: ignore[no-untyped-def]
        async with pool.acquire() as conn:
            return await conn.fetchval(
                "SELECT status = 'sent' OR next_attempt_at > now() FROM outbox WHERE id = $1",
                row_id)
    await eventually(looked_at)  # the restarted sender has claimed it, or put it off
    assert graph.sent == []
    status = {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{
        "field": "messages", "value": {"messaging_product": "whatsapp", "statuses": [{
            "id": "wamid.BEFORECRASH", "status": "sent", "timestamp": "1764064801",
            "recipient_id": phones(1)[0], "biz_opaque_callback_data": reference(row_id)}]}}]}]}
    assert (await post_webhook(client, status)).status == 200
    rows = await all_settled(pool, 1)
    assert rows[0]["status"] == "sent" and rows[0]["wamid"] == "wamid.BEFORECRASH"
    assert rows[0]["attempts"] == 1 and graph.sent == []
