"""A vendor names prices and stock in the unit they think in; the reply states both, and a price
that moves a lot is asked about before it is saved."""

from __future__ import annotations

from tests.dialogs.conftest import KARNALI, SURKHET, text_of


async def _price(world, sku: str = "SUGAR") -> int:  # type: ignore[no-untyped-def]
    return int(await world.pool.fetchval(
        """SELECT price_paisa FROM vendor_products vp JOIN users u ON u.id = vp.vendor_id
           WHERE u.wa_id = $1 AND sku = $2""", KARNALI, sku))


async def test_a_price_per_sack_is_saved_per_kg_and_the_reply_says_both(world):
    karnali = world.phone(KARNALI)
    await karnali.say("namaste")
    reply = text_of(await karnali.say("price chini 5600 bora"))
    assert "प्रति बोरा रु ५,६००" in reply and "रु ११२/केजी" in reply, reply
    assert await _price(world) == 11_200
    reply = text_of(await karnali.say("price chini 115"))  # per kg, no question
    assert "रु ११५/केजी" in reply and await _price(world) == 11_500


async def test_stock_in_sacks_is_counted_in_kg_and_the_reply_says_both(world):
    surkhet = world.phone(SURKHET)  # an English-speaking vendor
    await surkhet.say("hello")
    reply = text_of(await surkhet.say("stock chini 20 bora"))
    assert "stock 20 bora = 1,000 kg" in reply and "available" in reply, reply


async def test_a_price_that_moves_more_than_threefold_is_asked_about_first(world):
    karnali = world.phone(KARNALI)
    await karnali.say("namaste")
    before = await _price(world)
    asked = (await karnali.say("price chini 5600"))[-1]  # a sack's price typed as the kilo's
    assert "जाँच्नुहोस्" in asked.text and "5600 bora" in asked.text
    assert asked.choices == ["offer:confirm:SUGAR", "offer:cancel:SUGAR"]
    assert await _price(world) == before  # nothing saved yet
    assert "छोडियो" in text_of(await karnali.tap("offer:cancel:SUGAR"))  # dropped, not saved
    assert await _price(world) == before
    await karnali.say("price chini 20")  # far below: asked too
    assert "रु २०/केजी" in text_of(await karnali.say("ho"))
    assert await _price(world) == 2_000


async def test_a_unit_the_product_is_not_sold_in_is_explained(world):
    surkhet = world.phone(SURKHET)
    await surkhet.say("hello")
    reply = text_of(await surkhet.say("price chini 100 litre"))
    assert "not in" in reply and "kg" in reply, reply


async def test_prices_that_are_not_rupees_are_refused_not_guessed(world):
    karnali = world.phone(KARNALI)
    await karnali.say("namaste")
    before = await _price(world)
    for typed in ("price chini 112.505", "price chini 1.555", "price chini -5"):
        assert "price chini" in text_of(await karnali.say(typed)), typed  # the usage hint
        assert await _price(world) == before, typed


async def test_stock_can_run_out_but_not_below_zero(world):
    karnali = world.phone(KARNALI)
    await karnali.say("namaste")
    assert '"stock chini 100"' in text_of(await karnali.say("stock chini -5"))  # the usage hint
    out = text_of(await karnali.say("stock chini 0"))
    assert "मौज्दात ० केजी" in out, out


async def test_a_pack_price_that_does_not_divide_says_what_a_pack_is_charged(world):
    surkhet = world.phone(SURKHET)
    await surkhet.say("hello")
    said = text_of(await surkhet.say("price current 1000 carton"))  # 24 packets a carton
    assert "Rs 1,000 per carton = Rs 41.67/packet (so a carton is charged Rs 1,000.08)" in said


async def test_a_vendor_asked_why_who_types_accept_accepts(world):
    from tests.dialogs.conftest import SITA

    sita, karnali = world.phone(SITA), world.phone(KARNALI)
    await sita.say("chini 1 bora")
    await sita.say("yes")
    assert "किन" in text_of(await karnali.tap("order:reject:KH-000001"))
    assert "KH-000001" in text_of(await karnali.say("accept KH-000001"))
    async with world.pool.acquire() as conn:
        assert await conn.fetchval("SELECT status FROM orders") == "ACCEPTED"


async def test_a_vendor_cannot_learn_who_is_a_retailer_by_recording_a_payment(world):
    karnali = world.phone(KARNALI)
    await karnali.say("namaste")
    stranger = text_of(await karnali.say("paid 9845454599 500"))
    retailer = text_of(await karnali.say("paid 9820000001 500"))  # a shop Karnali never served
    assert retailer.replace("9820000001", "X") == stranger.replace("9845454599", "X")
