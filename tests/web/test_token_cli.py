"""`khaacho token create|list|revoke`: an integration's long-lived token, printed once, that the
API takes; revoking from the shell ends it."""

from __future__ import annotations

from aiohttp import web

from bot.app import create_app
from tests.channel.test_cli import khaacho
from tests.web.conftest import bearer


async def test_an_integration_token_made_on_the_command_line_reads_the_api(
        database_url, settings, aiohttp_client, people, pool):
    code, out, err = await khaacho(database_url, "token", "create", "--phone", "9820000001",
                                   "--name", "Bank reports", "--days", "90")
    assert code == 0, err
    token = out.strip()
    assert token.startswith("kh_") and "\n" not in token
    assert "Bank reports" in err and "shown once" in err and token not in err
    app: web.Application = create_app(settings, workers=False)
    client = await aiohttp_client(app)
    me = await client.get("/api/v1/me", headers=bearer(token))
    assert me.status == 200
    seen = await me.json()
    assert seen["role"] == "RETAILER" and seen["token"]["kind"] == "integration"
    assert seen["token"]["name"] == "Bank reports"
    code, listed, _ = await khaacho(database_url, "token", "list", "--phone", "9820000001")
    assert code == 0 and "integration\tlive" in listed and token not in listed
    code, said, _ = await khaacho(database_url, "token", "revoke", "--phone", "9820000001")
    assert code == 0 and "1 sessions and tokens" in said
    assert (await client.get("/api/v1/me", headers=bearer(token))).status == 401
    async with pool.acquire() as conn:
        assert await conn.fetchval(
            "SELECT count(*) FROM audit_log WHERE action = 'token.create'") == 1


async def test_no_token_for_a_number_that_is_not_an_active_member(database_url, people):
    for phone in ("9841111111", "9820000009"):  # unknown, blocked
        code, out, err = await khaacho(database_url, "token", "create", "--phone", phone,
                                       "--name", "x")
        assert code == 2 and out == "" and "no active user" in err
