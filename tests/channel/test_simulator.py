"""The web chat simulator: the local channel over HTTP, only when enabled for local use, never
with WhatsApp configured, and only to clients on this machine."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from pydantic import SecretStr

from bot.app import create_app
from bot.appkeys import POOL
from bot.settings import Settings
from bot.simulator import PAGE
from tests.channel.test_hardening import non_loopback_address
from tests.conftest import eventually


@pytest.fixture
def local_settings(settings: Settings) -> Settings:
    """`make run`: no WhatsApp setting at all, the simulator enabled."""
    return settings.model_copy(update={
        "simulator_enabled": True, "whatsapp_verify_token": None, "whatsapp_app_secret": None})


async def test_simulator_chats_through_the_pipeline(local_settings, aiohttp_client):
    client = await aiohttp_client(create_app(local_settings))
    page = await client.get("/simulator")
    assert page.status == 200 and "Khaacho" in await page.text()
    sent = await client.post("/simulator/send", json={"phone": "9822222222", "text": "hello"})
    assert sent.status == 202

    async def replies():  # type: ignore[no-untyped-def]
        response = await client.get("/simulator/messages", params={"phone": "+9779822222222"})
        messages = (await response.json())["messages"]
        return [m for m in messages if m["from"] == "bot"]

    shown = await eventually(replies)
    assert "order" in shown[0]["text"]


async def test_simulator_shows_both_sides_in_order_after_a_reload(local_settings,
                                                                  aiohttp_client):
    client = await aiohttp_client(create_app(local_settings))
    phone = "9822222222"

    async def conversation(**after: int) -> list[dict[str, object]]:
        params = {"phone": phone, **{k: str(v) for k, v in after.items()}}
        response = await client.get("/simulator/messages", params=params)
        assert response.status == 200
        messages: list[dict[str, object]] = (await response.json())["messages"]
        return messages

    async def answered(count: int):  # type: ignore[no-untyped-def]
        said = await conversation()
        return said if sum(m["from"] == "bot" for m in said) >= count else None

    await client.post("/simulator/send", json={"phone": phone, "text": "hello"})
    first = await eventually(lambda: answered(1))
    await client.post("/simulator/send", json={"phone": phone, "text": "Shyam Thapa"})
    said = await eventually(lambda: answered(len([m for m in first if m["from"] == "bot"]) + 1))
    # A page opened now (after=0, after_in=0) shows the person's own words, each before its reply.
    sides = [m["from"] for m in said]
    assert sides[0] == "me" and said[0]["text"] == "hello", said
    second = sides.index("me", 1)
    assert said[second]["text"] == "Shyam Thapa" and "bot" in sides[1:second], said
    assert sides[second + 1:] and set(sides[second + 1:]) == {"bot"}, said
    # Asking again from the last ids seen returns nothing already shown.
    last_in = max(int(str(m["id"])) for m in said if m["from"] == "me")
    last_out = max(int(str(m["id"])) for m in said if m["from"] == "bot")
    assert await conversation(after_in=last_in, after=last_out) == []
    tail = await conversation(after_in=int(str(said[0]["id"])), after=last_out)
    assert [m["text"] for m in tail] == ["Shyam Thapa"]


async def test_simulator_rejects_bad_input_with_json_errors(local_settings, aiohttp_client):
    client = await aiohttp_client(create_app(local_settings))
    for body in ({"phone": "123", "text": "hi"}, {"phone": "9822222222", "text": ""},
                 {"phone": "9822222222", "text": "x" * 5000}, ["not", "an", "object"],
                 {"phone": "9822222222", "text": "nul \x00"},
                 {"phone": "9822222222", "text": "half \ud800 emoji"}):
        response = await client.post("/simulator/send", json=body)
        assert response.status == 400, body
        assert "error" in await response.json()
    for raw in (b"[" * 50_000, b"{not json", b"\xff"):
        response = await client.post("/simulator/send", data=raw)
        assert response.status == 400, raw[:10]
    for after in ({"after": "x"}, {"after_in": "1.5"}, {"after": "-1"},
                  {"after_in": str(2**63)}):
        response = await client.get("/simulator/messages",
                                    params={"phone": "9822222222", **after})
        assert response.status == 400, after


async def test_simulator_is_off_unless_enabled(settings, aiohttp_client):
    local = settings.model_copy(update={"whatsapp_verify_token": None,
                                        "whatsapp_app_secret": None})
    client = await aiohttp_client(create_app(local))
    for path in ("/simulator", "/simulator/messages?phone=9822222222"):
        assert (await client.get(path)).status == 404


async def test_simulator_is_not_served_next_to_any_whatsapp_setting(settings, aiohttp_client):
    # The half configuration that once opened it: everything but the access token.
    half = settings.model_copy(update={"simulator_enabled": True,
                                       "whatsapp_phone_number_id": "106540352242922"})
    assert (await (await aiohttp_client(create_app(half))).get("/simulator")).status == 404
    full = half.model_copy(update={"whatsapp_access_token": SecretStr("token")})
    assert (await (await aiohttp_client(create_app(full))).get("/simulator")).status == 404


async def test_simulator_refuses_clients_on_other_machines(local_settings, aiohttp_server,
                                                           aiohttp_client):
    address = non_loopback_address()
    server = await aiohttp_server(create_app(local_settings), host=address)
    client = await aiohttp_client(server)
    for method, path in (("GET", "/simulator"), ("POST", "/simulator/send"),
                         ("GET", "/simulator/messages?phone=9822222222")):
        response = await client.request(method, path, json={"phone": "9822222222",
                                                            "text": "hi"})
        assert response.status == 403, path
        assert "this machine" in (await response.json())["error"]
    async with server.app[POOL].acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM inbound_messages") == 0


async def test_simulator_page_runs_only_its_own_inline_script_and_style(local_settings,
                                                                        aiohttp_client):
    client = await aiohttp_client(create_app(local_settings))
    response = await client.get("/simulator")
    policy = response.headers["Content-Security-Policy"]
    html = PAGE.read_text("utf-8")
    for tag in ("script", "style"):
        [block] = re.findall(rf"<{tag}>(.*?)</{tag}>", html, re.DOTALL)
        digest = base64.b64encode(hashlib.sha256(block.encode()).digest()).decode()
        assert f"{tag}-src 'sha256-{digest}'" in policy
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy
    assert "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    # The page needs nothing else: no inline handlers, no resources at all, links to this
    # server only.
    assert not re.search(r"\son\w+\s*=", html) and not re.search(r"src\s*=", html)
    links = re.findall(r"href\s*=\s*\"([^\"]*)\"", html)
    assert links and all(link.startswith("/") and not link.startswith("//") for link in links)
