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


async def _other_vendor(town: Town, vendor_id: int) -> str:
    async with town.pool.acquire() as conn:
        phone: str = await conn.fetchval(
            "SELECT phone FROM users WHERE role = 'VENDOR' AND id <> $1 ORDER BY id LIMIT 1",
            vendor_id)
    return phone


async def test_another_vendors_order_is_404_for_reading_and_for_acting(client, town: Town):
    order = await town.place()
    vendor = await town.vendor_of(order)
    token = await town.token(await _other_vendor(town, vendor.id))
    missing = await client.get("/api/v1/orders/KH-999999", headers=bearer(token))
    for response in (await client.get(f"/api/v1/orders/{order.number}", headers=bearer(token)),
                     await client.post(f"/api/v1/orders/{order.number}/accept",
                                       headers=bearer(token))):
        assert response.status == 404
        assert (await response.json())["error"]["code"] == (await missing.json())["error"]["code"]
    listed = await client.get("/api/v1/orders", headers=bearer(token))
    assert order.number not in [o["number"] for o in (await listed.json())["orders"]]


async def test_a_retailer_reads_their_order_but_may_not_accept_it(client, town: Town):
    order = await town.place()
    token = await town.token(RAM)
    seen = await client.get(f"/api/v1/orders/{order.number}", headers=bearer(token))
    assert seen.status == 200
    body = await seen.json()
    assert body["status"] == "VENDOR_ASSIGNED" and body["lines"][0]["quantity_milli"] == 2000
    refused = await client.post(f"/api/v1/orders/{order.number}/accept", headers=bearer(token))
    assert refused.status == 403
    assert (await refused.json())["error"]["code"] == "forbidden"


async def test_bad_input_is_json_422_or_400(client, town: Town):
    order = await town.place()
    token = await town.token((await town.vendor_of(order)).phone)
    cases = [
        (client.get("/api/v1/orders?status=SHIPPED", headers=bearer(token)), 422, "validation"),
        (client.get("/api/v1/orders?limit=101", headers=bearer(token)), 422, "validation"),
        (client.get("/api/v1/orders?from=yesterday", headers=bearer(token)), 422, "validation"),
        (client.get("/api/v1/orders?cursor=bm9wZQ", headers=bearer(token)), 400, "bad_cursor"),
        (client.get("/api/v1/orders/KH-12x", headers=bearer(token)), 422, "validation"),
        (client.post(f"/api/v1/orders/{order.number}/reject", json={"reason": "  "},
                     headers=bearer(token)), 422, "validation"),
        (client.post(f"/api/v1/orders/{order.number}/reject", json={},
                     headers=bearer(token)), 422, "validation"),
    ]
    for pending, status, code in cases:
        response = await pending
        assert response.status == status, await response.text()
        assert (await response.json())["error"]["code"] == code


async def test_an_illegal_step_is_409_and_a_replay_returns_the_first_outcome(client, town: Town):
    order = await town.place()
    token = await town.token((await town.vendor_of(order)).phone)
    early = await client.post(f"/api/v1/orders/{order.number}/dispatch", headers=bearer(token))
    assert early.status == 409
    assert (await early.json())["error"]["code"] == "order.illegal_transition"
    await town.texts_to(RAM)
    key = {"Idempotency-Key": "accept-once-1", **bearer(token)}
    first = await client.post(f"/api/v1/orders/{order.number}/accept", headers=key)
    again = await client.post(f"/api/v1/orders/{order.number}/accept", headers=key)
    assert first.status == again.status == 200
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert await first.json() == await again.json()
    assert len(await town.texts_to(RAM)) == 1  # told once
    fresh = await client.post(f"/api/v1/orders/{order.number}/accept", headers=bearer(token))
    assert fresh.status == 409


async def test_a_rejection_passes_the_order_on_and_the_retailer_hears_as_in_chat(
        client, town: Town):
    by_chat, by_api = await town.place(), await town.place()
    vendor = await town.vendor_of(by_chat)
    await town.texts_to(RAM)
    await town.world.phone(vendor.phone.lstrip("+")).say(f"reject {by_chat.number} no stock")
    chat_told = await town.texts_to(RAM)
    token = await town.token(vendor.phone)
    done = await client.post(f"/api/v1/orders/{by_api.number}/reject",
                             json={"reason": "no stock"}, headers=bearer(token))
    assert done.status == 200, await done.text()
    body = await done.json()
    assert body["outcome"] in ("offered", "no_vendor")
    assert body["order"]["vendor_id"] != vendor.id
    assert [_same(t) for t in await town.texts_to(RAM)] == [_same(t) for t in chat_told]


async def test_a_retailer_cancels_and_the_vendor_is_told_as_in_chat(client, town: Town):
    by_chat, by_api = await town.place(), await town.place()
    vendor = await town.vendor_of(by_chat)
    await town.world.phone("9779820000001").say(f"cancel {by_chat.number}")
    chat_told = await town.texts_to(vendor.phone)
    token = await town.token(RAM)
    done = await client.post(f"/api/v1/orders/{by_api.number}/cancel", headers=bearer(token))
    assert done.status == 200 and (await done.json())["order"]["status"] == "CANCELLED"
    told = await town.texts_to(vendor.phone)
    assert chat_told and [_same(t) for t in told] == [_same(t) for t in chat_told]


async def test_pages_of_orders_follow_the_cursor_without_gaps_or_repeats(client, town: Town):
    placed = [await town.place() for _ in range(7)]
    token = await town.token(RAM)
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        query = "limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = await client.get(f"/api/v1/orders?{query}", headers=bearer(token))
        assert page.status == 200
        body = await page.json()
        seen += [o["number"] for o in body["orders"]]
        if cursor is None:
            await town.place()  # a new order between pages does not shift the next ones
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [o.number for o in reversed(placed)]
    only = await client.get("/api/v1/orders?status=VENDOR_ASSIGNED,ACCEPTED&limit=100",
                            headers=bearer(token))
    assert {o["status"] for o in (await only.json())["orders"]} == {"VENDOR_ASSIGNED"}


async def test_a_vendor_sets_stock_and_prices_with_chats_checks(client, town: Town):
    order = await town.place()
    vendor = await town.vendor_of(order)
    token = await town.token(vendor.phone)
    sku, before = order.lines[0].sku, order.lines[0].unit_price_paisa
    offers = await client.get("/api/v1/prices", headers=bearer(token))
    assert sku in [o["sku"] for o in (await offers.json())["offers"]]
    wild = await client.put(f"/api/v1/prices/{sku}", json={"price_paisa": before * 10},
                            headers=bearer(token))
    assert wild.status == 409 and (await wild.json())["error"]["code"] == "price.check"
    sure = await client.put(f"/api/v1/prices/{sku}", json={"price_paisa": before * 10,
                                                          "confirm": True},
                            headers=bearer(token))
    assert sure.status == 200 and (await sure.json())["price_paisa"] == before * 10
    accepted = await client.post(f"/api/v1/orders/{order.number}/accept", headers=bearer(token))
    assert accepted.status == 200  # 2 units are held for it now
    below = await client.put(f"/api/v1/stock/{sku}", json={"stock_milli": 1000},
                             headers=bearer(token))
    assert below.status == 409
    assert (await below.json())["error"]["code"] == "stock.below_reserved"
    fine = await client.put(f"/api/v1/stock/{sku}", json={"stock_milli": 50_000},
                            headers=bearer(token))
    assert fine.status == 200
    assert (await fine.json())["available_milli"] == 48_000
    unknown = await client.put("/api/v1/stock/NO_SUCH", json={"stock_milli": 1},
                               headers=bearer(token))
    assert unknown.status == 404
    retailer = await town.token(RAM)
    assert (await client.put(f"/api/v1/stock/{sku}", json={"stock_milli": 1},
                             headers=bearer(retailer))).status == 403
    found = await client.get("/api/v1/products?q=" + order.lines[0].name_en.split()[0],
                             headers=bearer(retailer))
    assert sku in [p["sku"] for p in (await found.json())["products"]]


async def test_staff_list_everyones_orders_and_a_vendor_may_not_name_another(
        client, town: Town):
    first = await town.place()
    vendor = await town.vendor_of(first)
    admin = await town.token("+9779800000001")
    listed = await client.get(f"/api/v1/orders?vendor_id={vendor.id}", headers=bearer(admin))
    assert first.number in [o["number"] for o in (await listed.json())["orders"]]
    own = await town.token(vendor.phone)
    other = await town.user(await _other_vendor(town, vendor.id))
    refused = await client.get(f"/api/v1/orders?vendor_id={other.id}", headers=bearer(own))
    assert refused.status == 403
