"""Reminders as people get them, through the app's own job round and the fake Graph API: plain
text to a retailer who wrote in the last day, the approved template of its kind (with its
parameters in their language) to one who did not, with how to pay each vendor ("payinfo"); and
several processes running the round at once send each retailer one."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta

from bot.app import job_timing, run_jobs
from bot.outbound import Outbound
from locales.render import Messages
from tests.dialogs.conftest import HARI, KARNALI, RAM, SITA, World, text_of
from tests.dialogs.test_claims_disputes import _bill


def _reminding(settings):  # type: ignore[no-untyped-def]
    """Settings whose ladder starts the day a bill is accepted (so a bill accepted now is due a
    reminder now), with no quiet hours: the round does not depend on the hour tests run at."""
    return settings.model_copy(update={
        "reminders_enabled": True, "reminder_days": (-30, 0, 1), "reminder_repeat_days": 7,
        "reminder_quiet_hours": (time(0, 0), time(0, 0)), "vendor_digest_at": time(23, 59),
    })


async def test_payinfo_is_set_by_chat_and_shown_in_a_reminder_sent_as_text_in_the_window(
        world: World, settings):  # type: ignore[no-untyped-def]
    karnali, sita = world.phone(KARNALI), world.phone(SITA)
    assert "usage" not in text_of(await karnali.say("payinfo"))
    shown = text_of(await karnali.say("payinfo esewa 9810000002"))
    assert "इसेवा 9810000002" in shown
    assert "हटाउन" in text_of(await karnali.say("payinfo paypal me"))  # not a method: how to
    await karnali.say("payinfo cash at the shop")
    assert "नगद" not in text_of(await karnali.say("payinfo cash off"))
    number = await _bill(world, SITA, KARNALI, "chini 1 bora")
    async with world.pool.acquire() as conn:  # the fixture's payloads carry a 2025 timestamp
        await conn.execute("UPDATE inbound_messages SET sent_at = received_at")
    on = _reminding(settings)
    await run_jobs(world.pool, Outbound(on, Messages()), job_timing(on),
                   datetime.now(UTC) + timedelta(minutes=1))
    await world.settle()
    [reminder] = sita.inbox()
    assert reminder.raw["type"] == "text"
    assert number in reminder.text and "eSewa 9810000002" in reminder.text
    assert "gentle reminder" in reminder.text and "Total: Rs" in reminder.text
    async with world.pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT payload, fallback FROM outbox WHERE payload->>'type' = 'text' "
            "ORDER BY id DESC LIMIT 1")
    assert row["fallback"]["template"]["name"] == "khaacho_due_soon"  # if the window closes


async def test_outside_the_window_the_reminder_goes_as_its_template_in_the_readers_language(
        world: World, settings):  # type: ignore[no-untyped-def]
    ram = world.phone(RAM)
    await world.phone(KARNALI).say("payinfo esewa 9810000002")
    number = await _bill(world, RAM, KARNALI, "chini 1 bora")
    async with world.pool.acquire() as conn:  # Ram wrote just now (not in 2025)
        await conn.execute("UPDATE inbound_messages SET sent_at = received_at")
    on = _reminding(settings)
    # Two days on, Ram has not written for more than a day: only a template may go.
    await run_jobs(world.pool, Outbound(on, Messages()), job_timing(on),
                   datetime.now(UTC) + timedelta(days=2))
    await world.settle()
    [reminder] = ram.inbox()
    template = reminder.raw["template"]
    assert (reminder.raw["type"], template["name"], template["language"]["code"]) == (
        "template", "khaacho_due_soon", "ne")
    name, total, due, vendors = (p["text"] for p in template["components"][0]["parameters"])
    assert name == "Ram Bahadur" and total.startswith("रु ") and "(" in due
    assert "Karnali Wholesale" in vendors and "इसेवा 9810000002" in vendors
    async with world.pool.acquire() as conn:
        logged = await conn.fetchrow("SELECT outcome, reason, template FROM reminder_log")
        assert await conn.fetchval(
            "SELECT o.number FROM reminder_bills b JOIN orders o ON o.id = b.order_id") == number
    assert tuple(logged) == ("sent", "due_soon", "khaacho_due_soon")
    # The overdue kind names its own template and parameters (settings say which).
    overdue = on.model_copy(update={"reminder_template_overdue": "late_payment",
                                    "reminder_template_overdue_params": ("shop", "overdue")})
    await run_jobs(world.pool, Outbound(overdue, Messages()), job_timing(overdue),
                   datetime.now(UTC) + timedelta(days=31, hours=1))
    await world.settle()
    [late] = ram.inbox()
    assert late.raw["template"]["name"] == "late_payment"
    assert [p["text"] for p in late.raw["template"]["components"][0]["parameters"]][0] == (
        "Ram Kirana Pasal")


async def test_several_processes_running_the_round_at_once_remind_each_retailer_once(
        world: World, settings):  # type: ignore[no-untyped-def]
    for retailer in (SITA, RAM, HARI):
        await _bill(world, retailer, KARNALI, "chini 1 kg")
    on = _reminding(settings)
    later = datetime.now(UTC) + timedelta(hours=1)
    outbounds = [Outbound(on, Messages()) for _ in range(3)]  # three app processes
    await asyncio.gather(*(run_jobs(world.pool, o, job_timing(on), later) for o in outbounds))
    await world.settle()
    for retailer in (SITA, RAM, HARI):
        assert len(world.phone(retailer).inbox()) == 1, retailer
    await run_jobs(world.pool, outbounds[0], job_timing(on), later + timedelta(hours=3))
    await world.settle()
    assert all(world.phone(r).inbox() == [] for r in (SITA, RAM, HARI))
    async with world.pool.acquire() as conn:
        assert await conn.fetchval(
            "SELECT count(*) FROM reminder_log WHERE outcome = 'sent' AND kind = 'reminder'") == 3


async def test_reminders_are_off_when_the_setting_says_so(world: World, settings):  # type: ignore[no-untyped-def]
    await _bill(world, SITA, KARNALI, "chini 1 kg")
    off = _reminding(settings).model_copy(update={"reminders_enabled": False})
    await run_jobs(world.pool, Outbound(off, Messages()), job_timing(off),
                   datetime.now(UTC) + timedelta(hours=1))
    await world.settle()
    assert world.phone(SITA).inbox() == []
