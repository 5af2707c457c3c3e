"""The app itself runs the expiry jobs: a stale draft is cancelled and the retailer told."""

from __future__ import annotations

from bot import demo
from bot.app import create_app
from tests.conftest import eventually
from tests.dialogs.conftest import SITA, World


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
            status = await conn.fetchval("SELECT status FROM orders WHERE number = 'KH-000001'")
        told = status == "CANCELLED" and sita.inbox()
        return bool(told) and any("not confirmed in time" in s.text for s in told)

    await eventually(expired)
