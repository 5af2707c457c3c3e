"""Operations: health, readiness, metrics and the structured logs."""

from __future__ import annotations

import json
import logging

from bot.logs import JsonFormatter, message_context
from tests.channel.test_webhook import text_message
from tests.conftest import eventually, post_webhook


async def test_health_and_readiness(client):
    assert (await client.get("/healthz")).status == 200
    ready = await client.get("/readyz")
    assert ready.status == 200 and (await ready.json())["ok"] is True


async def test_readiness_fails_while_a_migration_is_pending(client, owner_conn):
    await owner_conn.execute("DELETE FROM schema_migrations WHERE version = 1")
    ready = await client.get("/readyz")
    assert ready.status == 503
    assert "001_foundation.sql" in (await ready.json())["pending_migrations"]


async def test_metrics_count_messages_and_show_the_outbox(client, graph):
    await post_webhook(client, text_message("wamid.METRICS", "help"))
    await eventually(lambda: graph.sent)
    text = await (await client.get("/metrics")).text()
    for name in ("khaacho_inbound_messages_total", "khaacho_handling_seconds_bucket",
                 "khaacho_outbound_messages_total", "khaacho_outbox_depth",
                 "khaacho_outbox_oldest_unsent_seconds"):
        assert name in text, name


def test_log_lines_are_json_tagged_with_the_message_and_mask_phones():
    record = logging.LogRecord("bot", logging.INFO, __file__, 1,
                               "reply to +9779812345678 and 9779812345678", None, None)
    with message_context("wamid.ABC"):
        line = json.loads(JsonFormatter().format(record))
    assert line["wamid"] == "wamid.ABC"
    assert "9812345678" not in line["message"] and "***" in line["message"]


async def test_a_worker_that_crashes_is_started_again():
    import asyncio

    from bot import app as app_module

    runs = 0

    async def flaky() -> None:
        nonlocal runs
        runs += 1
        if runs < 3:
            raise ConnectionError("database went away")
        await asyncio.Event().wait()  # then it runs until cancelled

    task = asyncio.create_task(app_module.supervise("test", flaky, first_delay=0.001))
    await eventually(lambda: runs == 3)
    task.cancel()
    assert runs == 3
