"""The web chat simulator: the local channel over HTTP, only without WhatsApp credentials."""

from __future__ import annotations

from bot.app import create_app
from tests.conftest import eventually


async def test_simulator_chats_through_the_pipeline(settings, aiohttp_client):
    client = await aiohttp_client(create_app(settings))
    page = await client.get("/simulator")
    assert page.status == 200 and "Khaacho" in await page.text()
    sent = await client.post("/simulator/send", json={"phone": "9822222222", "text": "hello"})
    assert sent.status == 202

    async def replies():  # type: ignore[no-untyped-def]
        response = await client.get("/simulator/messages", params={"phone": "+9779822222222"})
        return (await response.json())["messages"]

    shown = await eventually(replies)
    assert "order" in shown[0]["text"]


async def test_simulator_rejects_bad_input_with_json_errors(settings, aiohttp_client):
    client = await aiohttp_client(create_app(settings))
    for body in ({"phone": "123", "text": "hi"}, {"phone": "9822222222", "text": ""},
                 {"phone": "9822222222", "text": "x" * 5000}, ["not", "an", "object"]):
        response = await client.post("/simulator/send", json=body)
        assert response.status == 400, body
        assert "error" in await response.json()
    response = await client.get("/simulator/messages", params={"phone": "9822222222",
                                                               "after": "x"})
    assert response.status == 400


async def test_simulator_is_not_served_when_whatsapp_is_configured(client):
    response = await client.get("/simulator")
    assert response.status == 404
