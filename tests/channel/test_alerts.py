"""Operators get one WhatsApp message when something needs a person, not one per failed message:
the sender getting nothing through, the ledger check failing; one "resolved" message when it
clears; a new incident only after that. Two app processes watch at once, as in production, with
their periodic jobs and ledger checks running often, so "exactly one" is tested against many
evaluations in both."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta, timezone

import asyncpg

from bot.app import create_app
from bot.outbound import Outbound
from dialogs import alerts
from ledger import users
from ledger.users import User
from locales.render import Messages
from locales.replies import Reply
from tests.channel.people import message_from
from tests.channel.test_metrics import scrape, value
from tests.conftest import eventually, post_webhook
from tests.fakegraph import fixture
from tests.ledger.conftest import build_world, line
from tests.ledger.helpers import accepted_order

NPT = timezone(timedelta(hours=5, minutes=45))
WINDOW = 3.0
MESSAGES = Messages()


def _opening(person: User, alert: str, cleared: bool) -> str:
    """The first words of the alert as `person` reads it (their language)."""
    text = MESSAGES.render(person.language, "operator_alert", alert=alert, cleared=cleared,
                           stuck=False, failed=0, minutes=0, waiting=0, problems=0,
                           since=datetime(2026, 1, 1, tzinfo=NPT))
    return text.split("\n")[0].split(":")[0] + ":"


async def _told(pool: asyncpg.Pool, person: User, alert: str, cleared: bool, *,
                times: int | None = None) -> int | bool:
    """How many such alerts were queued to `person` (whatever became of them); with `times`,
    whether that many were."""
    async with pool.acquire() as conn:
        texts = await conn.fetch(
            "SELECT payload->'text'->>'body' AS body FROM outbox WHERE recipient = $1",
            person.address)
    opening = _opening(person, alert, cleared)
    words = ("WhatsApp",) if alert == alerts.SENDER else ("ledger check", "खाताको जाँच")
    count = sum(1 for t in texts if t["body"] and t["body"].startswith(opening)
                and any(w in t["body"] for w in words))
    return count if times is None else count == times


async def _staff(pool: asyncpg.Pool) -> tuple[list[User], object]:
    async with pool.acquire() as conn:
        world = await build_world(conn)
        await users.set_language(conn, world.operator.id, "en")  # one reads English, one Nepali
        staff = [await users.by_id(conn, person.id) for person in (world.admin, world.operator)]
    return [s for s in staff if s is not None], world


async def test_whatsapp_failing_for_a_while_tells_each_operator_once_then_once_resolved(
        wa_settings, aiohttp_client, graph, pool, caplog):
    settings = wa_settings.model_copy(update={
        "dialog_jobs_seconds": 0.1, "alert_sender_window_seconds": WINDOW,
        "alert_sender_min_failed": 3, "limit_suggestions_enabled": False})
    staff, _ = await _staff(pool)
    first = await aiohttp_client(create_app(settings))
    second = await aiohttp_client(create_app(settings))
    caplog.set_level(logging.ERROR, logger="dialogs.alerts")

    graph.fail_next(1000, 400, fixture("graph_error_131026"))  # every send refused
    senders = [f"97797{i:08d}" for i in range(12)]  # strangers: not the staff's numbers
    for i, sender in enumerate(senders[:5]):
        await post_webhook((first, second)[i % 2], message_from(sender, f"wamid.DOWN{i}", "hi"))
    for person in staff:
        await eventually(lambda p=person: _told(pool, p, alerts.SENDER, False))
    await asyncio.sleep(1.0)  # ten more rounds of the jobs in each process
    assert [await _told(pool, p, alerts.SENDER, False) for p in staff] == [1, 1]
    assert [await _told(pool, p, alerts.SENDER, True) for p in staff] == [0, 0]
    async with pool.acquire() as conn:  # five messages failed, and the alerts themselves
        assert await conn.fetchval("SELECT count(*) FROM outbox WHERE status = 'failed'") >= 7
    logged = [r for r in caplog.records if "WhatsApp sending is failing" in r.getMessage()]
    assert len(logged) == 1 and logged[0].levelno == logging.ERROR

    graph.failures.clear()  # WhatsApp answers again: the next reply goes out
    await post_webhook(first, message_from(senders[5], "wamid.UP", "hi"))
    for person in staff:
        await eventually(lambda p=person: _told(pool, p, alerts.SENDER, True))
        await eventually(lambda p=person: any(
            t.startswith(_opening(p, alerts.SENDER, True)) for t in graph.texts_to(p.address)))
    await asyncio.sleep(0.5)
    assert [await _told(pool, p, alerts.SENDER, False) for p in staff] == [1, 1]
    assert [await _told(pool, p, alerts.SENDER, True) for p in staff] == [1, 1]

    # A new incident, once the window holds no success: told again, once.
    await asyncio.sleep(WINDOW + 0.2)
    graph.fail_next(1000, 400, fixture("graph_error_131026"))
    for i, sender in enumerate(senders[6:11]):
        await post_webhook((first, second)[i % 2], message_from(sender, f"wamid.AGAIN{i}", "hi"))
    for person in staff:
        await eventually(lambda p=person: _told(pool, p, alerts.SENDER, False, times=2))
    await asyncio.sleep(0.5)
    assert [await _told(pool, p, alerts.SENDER, False) for p in staff] == [2, 2]
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT * FROM operator_alerts WHERE name = 'sender'")
    assert row["incidents"] == 2 and row["cleared_at"] is None


async def test_a_message_waiting_too_long_raises_the_alert_once(settings, pool):
    staff, world = await _staff(pool)
    rules = alerts.Rules(window=timedelta(minutes=5), min_failed=3,
                         oldest_unsent=timedelta(minutes=15))
    async with pool.acquire() as conn, conn.transaction():
        await Outbound(settings, MESSAGES).send(
            conn, [Reply("draft_expired", to_user_id=world.retailer.id)])  # nobody sends it
        now = await conn.fetchval("SELECT now()")
        assert await alerts.watch_sending(conn, rules, now + timedelta(minutes=10)) == []
        told = await alerts.watch_sending(conn, rules, now + timedelta(minutes=16))
        assert sorted(r.to_user_id for r in told) == sorted(p.id for p in staff)
        assert all(r.context["stuck"] and r.context["waiting"] == 16 for r in told)
        assert "16" in MESSAGES.render("en", told[0].template, **told[0].context)
        assert await alerts.watch_sending(conn, rules, now + timedelta(minutes=17)) == []
        # Nothing sent since: a quiet moment is no proof of recovery, so nothing clears.
        await conn.execute("UPDATE outbox SET status = 'failed'")
        assert await alerts.watch_sending(conn, rules, now + timedelta(hours=1)) == []


async def test_a_failed_ledger_check_tells_each_operator_once_then_once_resolved(
        wa_settings, aiohttp_client, graph, pool, superuser_url):
    settings = wa_settings.model_copy(update={"ledger_check_seconds": 0.1,
                                              "limit_suggestions_enabled": False})
    staff, world = await _staff(pool)
    async with pool.acquire() as conn:
        await accepted_order(conn, world.retailer, world.vendor, [line("TEL", 1)],
                             now=datetime(2026, 11, 10, 11, 0, tzinfo=NPT))
    first = await aiohttp_client(create_app(settings))
    second = await aiohttp_client(create_app(settings))
    await eventually(lambda: _problems(first, 0))

    breaker = await asyncpg.connect(superuser_url)
    try:
        await breaker.execute("SET session_replication_role = replica")  # past the guards
        await breaker.execute(
            "UPDATE ledger_accounts SET balance_paisa = balance_paisa + 1 "
            "WHERE retailer_id = $1 AND vendor_id = $2", world.retailer.id, world.vendor.id)
        for person in staff:
            await eventually(lambda p=person: _told(pool, p, alerts.LEDGER_CHECK, False))
            await eventually(lambda p=person: any(  # and WhatsApp has it
                "khaacho check" in t for t in graph.texts_to(p.address)))
        await eventually(lambda: _problems(first, 1))
        await eventually(lambda: _problems(second, 1))
        await asyncio.sleep(1.0)  # ten more checks in each process
        assert [await _told(pool, p, alerts.LEDGER_CHECK, False) for p in staff] == [1, 1]
        assert [await _told(pool, p, alerts.LEDGER_CHECK, True) for p in staff] == [0, 0]

        await breaker.execute(
            "UPDATE ledger_accounts SET balance_paisa = balance_paisa - 1 "
            "WHERE retailer_id = $1 AND vendor_id = $2", world.retailer.id, world.vendor.id)
        for person in staff:
            await eventually(lambda p=person: _told(pool, p, alerts.LEDGER_CHECK, True))
        await asyncio.sleep(0.5)
        assert [await _told(pool, p, alerts.LEDGER_CHECK, True) for p in staff] == [1, 1]
        assert [await _told(pool, p, alerts.LEDGER_CHECK, False) for p in staff] == [1, 1]
        await eventually(lambda: _problems(first, 0))
    finally:
        await breaker.close()


async def _problems(client, problems: int) -> bool:  # type: ignore[no-untyped-def]
    return value(await scrape(client), "khaacho_ledger_check_problems") == problems
