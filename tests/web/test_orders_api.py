"""The orders API through the real app: a vendor's list and actions with exactly chat's effect
(the retailer's WhatsApp message), rights (another vendor's order is 404), bad input as JSON,
illegal transitions 409, idempotent replays, and cursor pages that stay right."""

from __future__ import annotations

import re

from tests.web.conftest import bearer
from tests.web.town import RAM, Town

_NUMBER = re.compile(r"KH-\d+")


def _same(text: str) -> str:
    return _NUMBER.sub("KH-N", text)


async def test_a_vendor_accepts_through_the_api_and_the_retailer_hears_what_chat_says(
        client, graph, town: Town):
    by_chat, by_api = await town.place(), await town.place()
    vendor = await town.vendor_of(by_chat)
    assert (await town.vendor_of(by_api)).id == vendor.id
    await town.texts_to(RAM)
    await town.world.phone(vendor.phone.lstrip("+")).say(f"accept {by_chat.number}")
    chat_told = await town.texts_to(RAM)
    token = await town.token(vendor.phone)
    done = await client.post(f"/api/v1/orders/{by_api.number}/accept", headers=bearer(token))
    assert done.status == 200, await done.text()
    body = await done.json()
    assert body["order"]["status"] == "ACCEPTED" and body["order"]["number"] == by_api.number
    api_told = await town.texts_to(RAM)
    assert chat_told and [_same(t) for t in api_told] == [_same(t) for t in chat_told]
