"""/metrics covers what an operator watches: request latency by route and error rate, the
database pool, inbox and outbox depth and age, messages failed by reason, reminders sent (the
ledger check's gauges: tests/ledger/test_check.py and tests/channel/test_alerts.py). Each metric
is moved by real work (requests, messages through the fake Graph API, a reminder round) and read
back from the scrape with prometheus_client's own parser.

Metrics are one registry per process and the tests share a process, so each test reads a value
before and after and asserts the difference; gauges refreshed from the database are absolute.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from prometheus_client.parser import text_string_to_metric_families

from bot import app as app_module
from bot.appkeys import OUTBOUND, POOL
from locales.replies import Reply
from tests.channel.people import message_from, phones
from tests.conftest import eventually, post_webhook
from tests.fakegraph import fixture
from tests.ledger.conftest import build_world, line
from tests.ledger.helpers import accepted_order

NPT = timezone(timedelta(hours=5, minutes=45))


async def scrape(client) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:  # type: ignore[no-untyped-def]
    """Every sample of a scrape, keyed by its name and labels."""
    response = await client.get("/metrics")
    assert response.status == 200
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(await response.text())
            for s in family.samples}


def value(samples, name: str, **labels: str) -> float:  # type: ignore[no-untyped-def]
    """A sample's value; 0 for a labelled child not seen yet (it has counted nothing)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def labels_of(samples, name: str, label: str) -> set[str]:  # type: ignore[no-untyped-def]
    return {dict(key)[label] for n, key in samples if n == name and label in dict(key)}


async def test_requests_are_timed_by_route_pattern_method_and_status_class(client, owner_conn):
    before = await scrape(client)
    for _ in range(3):
        assert (await client.get("/healthz")).status == 200
    for ref in ("9779800000001", "9779800000002"):  # two URLs, one route
        assert (await client.get(f"/app/users/{ref}", allow_redirects=False)).status in (
            302, 303)
    assert (await client.get("/no/such/page/12345")).status == 404
    await owner_conn.execute("DELETE FROM schema_migrations WHERE version = 1")
    assert (await client.get("/readyz")).status == 503  # the server's error: a 5xx
    after = await scrape(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    requests, seconds = "khaacho_http_requests_total", "khaacho_http_request_duration_seconds"
    healthz = {"route": "/healthz", "method": "GET", "status": "2xx"}
    assert moved(requests, **healthz) == 3
    assert moved(seconds + "_count", **healthz) == 3
    assert moved(seconds + "_bucket", **healthz, le="+Inf") == 3
    assert moved(seconds + "_sum", **healthz) > 0
    assert moved(requests, route="/app/users/{ref}", method="GET", status="3xx") == 2
    assert moved(requests, route="unmatched", method="GET", status="4xx") == 1
    assert moved(requests, route="/readyz", method="GET", status="5xx") == 1
    # The raw URLs never become label values: the routes there are, and nothing else.
    routes = labels_of(after, requests, "route")
    assert not any("9779800000001" in r or "12345" in r for r in routes), routes
    assert {"/healthz", "/app/users/{ref}", "/readyz", "unmatched"} <= routes


async def test_the_pool_gauges_are_read_from_the_pool_when_scraped(start_app):
    client = await start_app(workers=False)  # the workers hold connections of their own
    pool = client.app[POOL]
    held = [await pool.acquire() for _ in range(3)]
    try:
        during = await scrape(client)
        # The background refresh may hold one more connection at the moment of the scrape.
        assert 3 <= value(during, "khaacho_db_pool_in_use") <= 4
        assert value(during, "khaacho_db_pool_max") == pool.get_max_size()
        assert value(during, "khaacho_db_pool_size") == (
            value(during, "khaacho_db_pool_in_use") + value(during, "khaacho_db_pool_idle"))
    finally:
        for conn in held:
            await pool.release(conn)
    after = await scrape(client)
    assert value(after, "khaacho_db_pool_in_use") <= 1
    assert value(after, "khaacho_db_pool_idle") >= 3


async def test_inbox_depth_and_oldest_age_count_unhandled_messages(start_app, graph):
    stored = await start_app(workers=False)  # stores what comes in; nobody handles it
    for i, sender in enumerate(phones(3)):
        assert (await post_webhook(stored, message_from(sender, f"wamid.INBOX{i}", "hi"))
                ).status == 200

    async def three_waiting():  # type: ignore[no-untyped-def]
        samples = await scrape(stored)
        return value(samples, "khaacho_inbox_depth") == 3 and samples
    waiting = await eventually(three_waiting)
    first_age = value(waiting, "khaacho_inbox_oldest_unhandled_seconds")
    assert first_age >= 0
    await asyncio.sleep(1.1)

    async def older():  # type: ignore[no-untyped-def]
        return value(await scrape(stored), "khaacho_inbox_oldest_unhandled_seconds") >= (
            first_age + 1)
    await eventually(older)

    worker = await start_app()  # a process with workers handles them
    await eventually(lambda: len(graph.sent) == 3)

    async def handled():  # type: ignore[no-untyped-def]
        samples = await scrape(worker)
        return (value(samples, "khaacho_inbox_depth") == 0
                and value(samples, "khaacho_inbox_oldest_unhandled_seconds") == 0)
    await eventually(handled)


async def test_outbox_depth_and_age_count_unsent_replies_until_a_sender_sends_them(
        start_app, graph, pool):
    stored = await start_app(workers=False)  # queues replies; nobody sends them
    async with pool.acquire() as conn, conn.transaction():
        world = await build_world(conn)
        await stored.app[OUTBOUND].send(conn, [
            Reply("draft_expired", to_user_id=world.retailer.id),
            Reply("draft_expired", to_user_id=world.retailer2.id)])

    async def two_pending():  # type: ignore[no-untyped-def]
        samples = await scrape(stored)
        return (value(samples, "khaacho_outbox_depth") == 2
                and value(samples, "khaacho_outbox_oldest_unsent_seconds") > 0.5 and samples)
    samples = await eventually(two_pending)
    assert value(samples, "khaacho_outbox_oldest_unsent_by_backlog_seconds", backlog="one") > 0.5

    worker = await start_app()  # a process with a sender sends them
    await eventually(lambda: len(graph.sent) == 2)

    async def drained():  # type: ignore[no-untyped-def]
        samples = await scrape(worker)
        return (value(samples, "khaacho_outbox_depth") == 0
                and value(samples, "khaacho_outbox_oldest_unsent_seconds") == 0)
    await eventually(drained)


async def test_failed_messages_are_counted_by_reason(client, graph, wa_settings):
    before = await scrape(client)
    assert value(before, "khaacho_outbox_failed") == 0
    senders = phones(3)
    graph.fail_next(2, 400, fixture("graph_error_131026"))  # undeliverable: failed at once
    for i, sender in enumerate(senders[:2]):
        await post_webhook(client, message_from(sender, f"wamid.FAILED{i}", "help"))
    await eventually(lambda: graph.requests == 2)
    graph.fail_next(wa_settings.outbox_max_attempts, 503, {"error": {"code": 2}})
    await post_webhook(client, message_from(senders[2], "wamid.FAILED2", "help"))

    async def three_failed():  # type: ignore[no-untyped-def]
        samples = await scrape(client)
        return value(samples, "khaacho_outbox_failed") == 3 and samples
    samples = await eventually(three_failed)
    assert value(samples, "khaacho_outbox_failed_by_reason", reason="131026") == 2
    assert value(samples, "khaacho_outbox_failed_by_reason", reason="2") == 1
    assert labels_of(samples, "khaacho_outbox_failed_by_reason", "reason") == {"131026", "2"}


async def test_a_reminder_round_counts_the_reminders_and_digests_it_queues(
        client, wa_settings, pool):
    async with pool.acquire() as conn:
        world = await build_world(conn)
        await accepted_order(conn, world.retailer, world.vendor, [line("TEL", 1)],
                             now=datetime(2026, 11, 10, 11, 0, tzinfo=NPT))
    before = await scrape(client)
    async with pool.acquire() as conn:
        queued_before = await conn.fetchval("SELECT count(*) FROM outbox")
    # Without operator alerts: a round at a made-up later day finds the replies the app's
    # sender has not sent yet "waiting for days", and would queue an alert to staff too.
    timing = app_module.job_timing(wa_settings.model_copy(
        update={"reminders_enabled": True, "operator_alerts_enabled": False}))
    at = datetime(2026, 12, 7, 10, 0, tzinfo=NPT)
    await app_module.run_jobs(pool, client.app[OUTBOUND], timing, at)
    await app_module.run_jobs(pool, client.app[OUTBOUND], timing, at + timedelta(hours=2))
    after = await scrape(client)
    async with pool.acquire() as conn:
        queued = await conn.fetchval("SELECT count(*) FROM outbox") - queued_before
    name = "khaacho_reminders_sent_total"
    assert value(after, name, kind="reminder") - value(before, name, kind="reminder") == 1
    assert value(after, name, kind="digest") - value(before, name, kind="digest") == 1
    assert queued == 2  # the second round, the same day, sent nothing more
