"""Every refusal says what to do next; the natural shortcut is allowed where it is safe."""

from __future__ import annotations

from tests.dialogs.conftest import KARNALI, SITA, SURKHET, text_of


async def _placed(world, text: str = "chini 1 bora") -> None:  # type: ignore[no-untyped-def]
    sita = world.phone(SITA)
    await sita.say(text)
    assert "KH-" in text_of(await sita.say("yes"))


async def test_deliver_straight_after_accept_dispatches_too_and_logs_both(world):
    await _placed(world)
    karnali = world.phone(KARNALI)
    await karnali.tap("order:accept:KH-000001")
    assert "KH-000001" in text_of(await karnali.say("deliver KH-000001"))
    async with world.pool.acquire() as conn:
        steps = [r["to_status"] for r in await conn.fetch(
            "SELECT to_status FROM order_transitions ORDER BY id")]
    assert steps[-2:] == ["DISPATCHED", "DELIVERED"]


async def test_dispatching_before_accepting_names_the_command_to_type(world):
    await _placed(world)
    karnali = world.phone(KARNALI)
    refused = text_of(await karnali.say("dispatch KH-000001"))
    assert '"accept KH-000001"' in refused, refused


async def test_with_one_order_waiting_a_command_needs_no_number(world):
    await _placed(world)
    karnali = world.phone(KARNALI)
    assert "KH-000001" in text_of(await karnali.say("accept"))
    async with world.pool.acquire() as conn:
        assert await conn.fetchval("SELECT status FROM orders") == "ACCEPTED"
    asked = text_of(await karnali.say("accept"))  # nothing left to accept: says so
    assert "orders" in asked


async def test_with_several_orders_waiting_the_vendor_is_asked_which(world):
    await _placed(world, "chini 1 bora")
    await _placed(world, "chini 2 bora")
    karnali = world.phone(KARNALI)
    asked = text_of(await karnali.say("accept"))
    assert "KH-000001" in asked and "KH-000002" in asked and "कुन अर्डर" in asked
    async with world.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM orders WHERE status = 'ACCEPTED'") == 0


async def test_a_bare_no_on_a_draft_asks_whether_to_change_or_cancel_it(world):
    sita = world.phone(SITA)
    await sita.say("chini 1 kg")
    asked = (await sita.say("hoina"))[-1]
    assert "change the draft or cancel" in asked.text
    assert [c.split(":")[1] for c in asked.choices] == ["edit", "cancel"]
    async with world.pool.acquire() as conn:
        assert await conn.fetchval("SELECT status FROM orders") == "DRAFT"
    assert "cancelled" in text_of(await sita.tap(asked.choices[1])).lower()
    await sita.say("chini 1 kg")
    assert "cancelled" in text_of(await sita.say("cancel")).lower()  # explicit: at once


async def test_nothing_to_cancel_tells_a_retailer_how_to_cancel_a_placed_order(world):
    surkhet, sita = world.phone(SURKHET), world.phone(SITA)
    assert '"cancel KH-000123"' in text_of(await sita.say("cancel"))
    await surkhet.say("hello")
    assert "KH-000123" not in text_of(await surkhet.say("cancel"))  # a vendor has no such thing


async def test_a_bare_no_to_which_one_asks_again_and_keeps_the_draft(world):
    sita = world.phone(SITA)
    await sita.say("chini 1 kg, chamal 1 bora")
    again = text_of(await sita.say("hoina"))
    assert "Not one of these?" in again and "cancel" in again, again
    async with world.pool.acquire() as conn:
        assert await conn.fetchval("SELECT status FROM orders") == "DRAFT"


async def test_too_late_to_cancel_says_whom_to_call(world):
    await _placed(world)
    await world.phone(KARNALI).tap("order:accept:KH-000001")
    refused = text_of(await world.phone(SITA).say("cancel KH-000001"))
    assert "call Karnali Wholesale" in refused, refused
