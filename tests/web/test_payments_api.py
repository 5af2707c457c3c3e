"""Payments through the API: a vendor records one (the retailer told as by "paid KH-… 5000"),
a retailer's claim reaches the vendor, who confirms it (posted, the retailer told) or says it
never came (a dispute); rights, bad input and replays."""

from __future__ import annotations

import re

from tests.web.conftest import bearer
from tests.web.town import RAM, Town

_IDS = re.compile(r"\b(KH|P|C|DS)-\d+")


_FIGURES = re.compile(r"[0-9०-९][0-9०-९,.]*")


def _same(texts: list[str]) -> list[str]:
    """Ids and figures aside (the balance after the second payment is lower), the words."""
    return [_FIGURES.sub("N", _IDS.sub(r"\1-N", t)) for t in texts]


async def _accepted(client, town: Town):  # type: ignore[no-untyped-def]
    order = await town.place()
    vendor = await town.vendor_of(order)
    token = await town.token(vendor.phone)
    done = await client.post(f"/api/v1/orders/{order.number}/accept", headers=bearer(token))
    assert done.status == 200
    return order, vendor, token


async def test_a_payment_recorded_by_api_tells_the_retailer_what_chat_tells_them(
        client, town: Town):
    first, vendor, token = await _accepted(client, town)
    second = await town.place()
    await client.post(f"/api/v1/orders/{second.number}/accept", headers=bearer(token))
    await town.texts_to(RAM)
    await town.world.phone(vendor.phone.lstrip("+")).say(f"paid {first.number} 10")
    chat_told = await town.texts_to(RAM)
    key = {"Idempotency-Key": "pay-1", **bearer(token)}
    body = {"order_number": second.number, "amount_paisa": 1000, "method": "cash"}
    paid = await client.post("/api/v1/payments", json=body, headers=key)
    assert paid.status == 201, await paid.text()
    out = await paid.json()
    assert out["amount_paisa"] == 1000 and out["payment"].startswith("P-")
    assert _same(await town.texts_to(RAM)) == _same(chat_told)
    again = await client.post("/api/v1/payments", json=body, headers=key)
    assert again.status == 201 and await again.json() == out
    assert await town.texts_to(RAM) == []  # the replay tells nobody again
    other = await client.post("/api/v1/payments", json={**body, "amount_paisa": 2000},
                              headers=key)
    assert other.status == 409


async def test_payment_input_and_rights(client, town: Town):
    order, vendor, token = await _accepted(client, town)
    retailer = await town.token(RAM)
    cases = [
        (token, {"amount_paisa": 100}, 422),  # neither order nor retailer
        (token, {"order_number": order.number, "retailer_phone": RAM, "amount_paisa": 1}, 422),
        (token, {"order_number": order.number, "amount_paisa": 0}, 422),
        (token, {"order_number": order.number, "amount_paisa": 100, "method": "gold"}, 422),
        (token, {"retailer_phone": "+9779841111111", "amount_paisa": 100}, 404),
        (token, {"order_number": order.number, "amount_paisa": 10**11}, 422),  # over balance
        (retailer, {"order_number": order.number, "amount_paisa": 100}, 403),
    ]
    for who, body, status in cases:
        response = await client.post("/api/v1/payments", json=body, headers=bearer(who))
        assert response.status == status, (body, await response.text())
        assert "error" in await response.json()


async def test_a_claim_reaches_the_vendor_who_confirms_it_and_the_retailer_hears(
        client, town: Town):
    order, vendor, token = await _accepted(client, town)
    retailer = await town.token(RAM)
    await town.texts_to(vendor.phone)
    made = await client.post("/api/v1/payments/claims", headers=bearer(retailer), json={
        "vendor_id": vendor.id, "amount_paisa": 500, "method": "esewa"})
    assert made.status == 201, await made.text()
    claim = await made.json()
    assert claim["status"] == "pending"
    asked = await town.texts_to(vendor.phone)
    assert len(asked) == 1 and claim["ref"] in asked[0]
    listed = await client.get("/api/v1/payments/claims?status=pending", headers=bearer(token))
    assert [c["ref"] for c in (await listed.json())["claims"]] == [claim["ref"]]
    await town.texts_to(RAM)
    confirmed = await client.post(f"/api/v1/payments/claims/{claim['ref']}/confirm",
                                  headers=bearer(token))
    assert confirmed.status == 200, await confirmed.text()
    decided = await confirmed.json()
    assert decided["claim"]["status"] == "confirmed" and decided["payment"]["amount_paisa"] == 500
    assert len(await town.texts_to(RAM)) == 1
    twice = await client.post(f"/api/v1/payments/claims/{claim['ref']}/confirm",
                              headers=bearer(token))
    assert twice.status == 409


async def test_a_claim_refused_opens_a_dispute_and_strangers_cannot_see_it(client, town: Town):
    order, vendor, token = await _accepted(client, town)
    retailer = await town.token(RAM)
    made = await client.post("/api/v1/payments/claims", headers=bearer(retailer), json={
        "vendor_id": vendor.id, "amount_paisa": 500})
    ref = (await made.json())["ref"]
    async with town.pool.acquire() as conn:
        other = await conn.fetchval(
            "SELECT phone FROM users WHERE role = 'VENDOR' AND id <> $1 ORDER BY id LIMIT 1",
            vendor.id)
    stranger = await town.token(other)
    hidden = await client.post(f"/api/v1/payments/claims/{ref}/reject", json={},
                               headers=bearer(stranger))
    assert hidden.status == 404
    refused = await client.post(f"/api/v1/payments/claims/{ref}/reject",
                                json={"note": "not in the account"}, headers=bearer(token))
    assert refused.status == 200
    assert (await refused.json())["dispute"].startswith("DS-")
    assert any("DS-" in t for t in await town.texts_to(RAM))
