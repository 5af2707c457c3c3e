"""Every role in its place, by chat: someone else's order reads exactly like one that does not
exist, in every command and every state — nothing about it is said before ownership is checked."""

from __future__ import annotations

import pytest

from tests.dialogs.conftest import BHERI, KARNALI, RAM, SITA, text_of

VENDOR_PROBES = ("accept {n}", "reject {n} no stock", "dispatch {n}", "deliver {n}",
                 "paid {n} 100", "paid {n} 100 esewa")
VENDOR_TAPS = ("order:accept:{n}", "order:reject:{n}", "order:dispatch:{n}", "order:deliver:{n}")
RETAILER_PROBES = ("cancel {n}", "{n} radda", "problem {n} torn", "tiriye 100 {n}")
RETAILER_TAPS = ("order:confirm:{n}", "order:cancel:{n}", "order:edit:{n}", "order:received:{n}",
                 "order:problem:{n}", "order:problem:{n}@missing")


async def _answers(phone, typed, tapped, number: str) -> list[str]:  # type: ignore[no-untyped-def]
    said = [text_of(await phone.say(t.format(n=number))) for t in typed]
    said += [text_of(await phone.tap(t.format(n=number))) for t in tapped]
    return [s.replace(number, "KH-?") for s in said]


async def _advance(world, step: str) -> None:  # type: ignore[no-untyped-def]
    karnali = world.phone(KARNALI)
    await karnali.tap(f"order:{step}:KH-000001")
    karnali.inbox()
    world.phone(SITA).inbox()


@pytest.mark.parametrize("steps", [(), ("accept",), ("accept", "dispatch"),
                                   ("accept", "dispatch", "deliver")],
                         ids=["offered", "accepted", "dispatched", "delivered"])
async def test_another_vendors_and_another_retailers_orders_read_as_missing(world, steps):
    sita, bheri, ram = world.phone(SITA), world.phone(BHERI), world.phone(RAM)
    await sita.say("chini 1 bora")
    assert "KH-000001" in text_of(await sita.say("yes"))
    assert world.phone(KARNALI).inbox(), "the order went to Karnali"
    for step in steps:
        await _advance(world, step)
    for first_contact in (bheri, ram):
        await first_contact.say("namaste")  # the language offer of a first message, out of the way
    missing = await _answers(bheri, VENDOR_PROBES, VENDOR_TAPS, "KH-099999")
    assert await _answers(bheri, VENDOR_PROBES, VENDOR_TAPS, "KH-000001") == missing
    missing = await _answers(ram, RETAILER_PROBES, RETAILER_TAPS, "KH-099999")
    assert await _answers(ram, RETAILER_PROBES, RETAILER_TAPS, "KH-000001") == missing
    async with world.pool.acquire() as conn:  # and nothing happened to it
        row = await conn.fetchrow("SELECT status, vendor_id FROM orders WHERE number = 'KH-000001'")
        payments = await conn.fetchval("SELECT count(*) FROM payments")
        said = await conn.fetchval("SELECT (SELECT count(*) FROM payment_claims) + "
                                   "(SELECT count(*) FROM disputes)")
    assert payments == 0 and said == 0
    assert row["status"] == {(): "VENDOR_ASSIGNED", ("accept",): "ACCEPTED"}.get(
        steps, "DISPATCHED" if len(steps) == 2 else "DELIVERED")


async def test_a_new_order_shows_the_vendor_only_what_the_shop_owes_them(world):
    from tests.dialogs.conftest import SITA

    sita, karnali = world.phone(SITA), world.phone(KARNALI)
    await sita.say("chini 1 bora")
    await sita.say("yes")
    await karnali.tap("order:accept:KH-000001")  # Sita now owes Karnali for it
    karnali.inbox()
    await sita.say("chini 1 kg")  # the next order goes to Karnali again (its sugar is cheapest)
    await sita.say("yes")
    offer = text_of(karnali.inbox())
    async with world.pool.acquire() as conn:
        owed = await conn.fetchval("SELECT total_paisa FROM orders WHERE number = 'KH-000001'")
    from locales.formats import money
    assert f"तिर्न बाँकी: {money(owed, 'ne')}" in offer, offer
