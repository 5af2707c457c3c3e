"""Store → handle → outbox → send: crashes, retries, Graph API errors, and two app instances."""

from __future__ import annotations

import asyncio
import copy

from tests.channel.test_webhook import text_message
from tests.conftest import eventually, post_webhook
from tests.fakegraph import fixture

USER = "9779822222222"


async def test_every_text_gets_a_help_reply_in_the_users_script(client, graph):
    await post_webhook(client, text_message("wamid.EN1", "hello"))
    await post_webhook(client, text_message("wamid.NE1", "नमस्ते", sender="9779833333333"))
    await eventually(lambda: len(graph.sent) == 2)
    assert "order" in graph.texts_to(USER)[0]
    assert "अर्डर" in graph.texts_to("9779833333333")[0]


async def test_images_audio_and_locations_get_a_polite_please_type(client, graph):
    for i, name in enumerate(("message_image", "message_audio", "message_location",
                              "message_unsupported")):
        payload = copy.deepcopy(fixture(name))
        payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"] = f"wamid.MEDIA{i}"
        assert (await post_webhook(client, payload)).status == 200
    await eventually(lambda: len(graph.sent) == 4)
    assert all("type" in text for text in graph.texts_to(USER))


async def test_a_user_with_only_a_username_is_answered_by_user_id(client, graph):
    assert (await post_webhook(client, fixture("message_text_username_only"))).status == 200
    await eventually(lambda: len(graph.sent) == 1)
    assert graph.sent[0]["recipient"] == "NP.8812345678901234"
    assert "to" not in graph.sent[0]


async def test_a_message_stored_before_a_crash_is_handled_after_restart(start_app, graph, pool):
    crashed = await start_app(workers=False)
    assert (await post_webhook(crashed, text_message("wamid.BEFORECRASH", "help"))).status == 200
    await crashed.close()  # the process dies after the ack, before handling
    async with pool.acquire() as conn:
        assert await conn.fetchval(
            "SELECT handled_at FROM inbound_messages WHERE wamid = 'wamid.BEFORECRASH'") is None
    await start_app()  # restart: the worker picks it up
    await eventually(lambda: len(graph.sent) == 1)
    async with pool.acquire() as conn:
        assert await conn.fetchval(
            "SELECT handled_at IS NOT NULL FROM inbound_messages WHERE wamid = 'wamid.BEFORECRASH'")


async def test_the_outbox_retries_through_500s_and_429s_and_sends_once(client, graph, pool):
    graph.fail_next(2, 500, {"error": {"code": 1, "message": "An unknown error occurred"}})
    graph.fail_next(2, 429, fixture("graph_error_130429"))
    await post_webhook(client, text_message("wamid.RETRY", "help"))
    await eventually(lambda: len(graph.sent) == 1)
    async with pool.acquire() as conn:
        row = await eventually(lambda: conn.fetchrow(
            "SELECT * FROM outbox WHERE status <> 'pending'"))
    assert (row["status"], row["attempts"]) == ("sent", 5)
    assert row["wamid"].startswith("wamid.FAKE")
    await asyncio.sleep(0.2)  # nothing more is sent later
    assert len(graph.sent) == 1 and graph.requests == 5


async def test_outside_the_24_hour_window_the_reply_goes_as_a_template(client, graph, pool):
    graph.fail_next(1, 400, fixture("graph_error_131047"))
    await post_webhook(client, text_message("wamid.WINDOW", "help"))
    await eventually(lambda: len(graph.sent) == 1)
    sent = graph.sent[0]
    assert sent["type"] == "template"
    assert sent["template"]["name"] == "khaacho_update"
    assert "\n" not in sent["template"]["components"][0]["parameters"][0]["text"]


async def test_an_undeliverable_message_is_marked_failed_and_stays_visible(client, graph, pool):
    graph.fail_next(1, 400, fixture("graph_error_131026"))
    await post_webhook(client, text_message("wamid.UNDELIVERABLE", "help"))
    async with pool.acquire() as conn:
        row = await eventually(lambda: conn.fetchrow(
            "SELECT * FROM outbox WHERE status = 'failed'"))
    assert "131026" in row["last_error"]
    assert graph.sent == []

    async def failed_gauge() -> bool:  # refreshed in the background, not per scrape
        return "khaacho_outbox_failed 1.0" in await (await client.get("/metrics")).text()

    await eventually(failed_gauge)


async def test_retries_are_bounded_then_the_message_is_failed(client, graph, pool, wa_settings):
    graph.fail_next(wa_settings.outbox_max_attempts + 5, 503, {"error": {"code": 2}})
    await post_webhook(client, text_message("wamid.DOWN", "help"))
    async with pool.acquire() as conn:
        row = await eventually(lambda: conn.fetchrow(
            "SELECT * FROM outbox WHERE status = 'failed'"))
    assert row["attempts"] == wa_settings.outbox_max_attempts
    assert graph.requests == wa_settings.outbox_max_attempts


async def test_two_instances_handle_one_users_burst_once_each_in_order(start_app, graph, pool):
    first, second = await start_app(), await start_app()
    burst = 30
    posts = [post_webhook((first, second)[i % 2], text_message(f"wamid.BURST{i:03d}", f"m{i}"))
             for i in range(burst)]
    assert all(r.status == 200 for r in await asyncio.gather(*posts))
    await eventually(lambda: len(graph.sent) == burst)
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            """SELECT m.id AS inbound, o.id AS reply FROM inbound_messages m
               JOIN outbox o ON o.inbound_id = m.id ORDER BY o.id""")
    assert len(rows) == burst  # one reply per message: none handled twice, none lost
    inbound_order = [r["inbound"] for r in rows]
    assert inbound_order == sorted(inbound_order)  # replies written in the order messages came


async def test_a_delivery_failure_reported_later_is_visible_and_retried_as_a_template(
        client, graph, pool):
    await post_webhook(client, text_message("wamid.LATEFAIL", "help"))
    await eventually(lambda: len(graph.sent) == 1)
    status = copy.deepcopy(fixture("status_failed_131047"))
    status["entry"][0]["changes"][0]["value"]["statuses"][0]["id"] = "wamid.FAKE1"
    for _ in range(2):  # a redelivered status changes nothing more
        assert (await post_webhook(client, status)).status == 200
    await eventually(lambda: len(graph.sent) == 2)
    assert graph.sent[1]["type"] == "template"
    async def settled():  # type: ignore[no-untyped-def]
        async with pool.acquire() as conn:  # the sender marks a row sent after the answer
            rows = await conn.fetch("SELECT status, last_error FROM outbox ORDER BY id")
        return rows if all(r["status"] != "pending" for r in rows) else None

    rows = await eventually(settled)
    assert [r["status"] for r in rows] == ["failed", "sent"]
    assert "131047" in rows[0]["last_error"]
    await asyncio.sleep(0.2)
    assert len(graph.sent) == 2


async def test_a_failure_callback_that_outruns_the_send_is_still_applied(client, graph, pool):
    status = copy.deepcopy(fixture("status_failed_131047"))
    status["entry"][0]["changes"][0]["value"]["statuses"][0]["id"] = "wamid.FAKE1"
    assert (await post_webhook(client, status)).status == 200  # before we even sent it
    await post_webhook(client, text_message("wamid.RACE", "help"))
    await eventually(lambda: len(graph.sent) == 2)
    assert [m["type"] for m in graph.sent] == ["text", "template"]
