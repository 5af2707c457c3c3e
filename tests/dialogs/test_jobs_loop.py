"""The app itself runs the expiry jobs: a stale draft is cancelled and the retailer told."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot import demo
from bot.app import create_app
from tests.conftest import eventually
from tests.dialogs.conftest import HARI, RAM, SITA, World


async def test_the_app_expires_a_stale_draft_and_tells_the_retailer(
        wa_settings, aiohttp_client, graph, pool):
    settings = wa_settings.model_copy(update={"dialog_jobs_seconds": 0.05})
    world = World(await aiohttp_client(create_app(settings)), graph, pool)
    async with pool.acquire() as conn:
        await demo.load(conn)
    sita = world.phone(SITA)
    assert "Confirm" in str([s.raw for s in await sita.say("chini 1 kg")])
    async with pool.acquire() as conn:
        await conn.execute("UPDATE conversations SET updated_at = now() - interval '2 hours'")

    async def expired() -> bool:
        async with pool.acquire() as conn:
            status = await conn.fetchval("SELECT status FROM orders WHERE number = 'D-000001'")
        told = status == "CANCELLED" and sita.inbox()
        return bool(told) and any("not confirmed in time" in s.text for s in told)

    await eventually(expired)


async def test_jobs_run_at_once_by_several_processes_do_each_thing_once(world, settings):
    from bot.app import job_timing, run_jobs
    from bot.outbound import Outbound
    from locales.render import Messages

    people = [world.phone(p) for p in (SITA, RAM, HARI)]
    for person in people:
        await person.say("chini 1 kg")
        person.inbox()
    later = datetime.now(UTC) + timedelta(days=1)
    outbounds = [Outbound(settings, Messages()) for _ in range(3)]  # three app processes
    await asyncio.gather(*(run_jobs(world.pool, o, job_timing(settings), later)
                           for o in outbounds))
    await world.settle()
    for person in people:
        told = [s.text for s in person.inbox()]
        assert len(told) == 1 and ("in time" in told[0] or "समयमै" in told[0]), told
    async with world.pool.acquire() as conn:
        cancelled = await conn.fetchval(
            "SELECT count(*) FROM order_transitions WHERE to_status = 'CANCELLED'")
    assert cancelled == 3
    await run_jobs(world.pool, outbounds[0], job_timing(settings), later)  # nothing left to do
    await world.settle()
    assert all(person.inbox() == [] for person in people)


async def test_the_jobs_refresh_the_analytics_when_due(world, settings):
    from bot.app import job_timing, run_jobs
    from bot.outbound import Outbound
    from locales.render import Messages

    await world.phone(SITA).say("chini 1 kg")
    await world.phone(SITA).say("ho")
    now = datetime.now(UTC)
    outbound = Outbound(settings, Messages())
    await run_jobs(world.pool, outbound, job_timing(settings), now)
    async with world.pool.acquire() as conn:
        placed = await conn.fetchval(
            "SELECT orders FROM analytics_orders WHERE vendor_id IS NULL AND area IS NULL")
        first = await conn.fetchval("SELECT refreshed_at FROM analytics_refresh")
    assert placed == 1 and first == now
    await run_jobs(world.pool, outbound, job_timing(settings), now + timedelta(seconds=1))
    async with world.pool.acquire() as conn:   # not due again yet (ANALYTICS_REFRESH_SECONDS)
        assert await conn.fetchval("SELECT refreshed_at FROM analytics_refresh") == first
