"""Payments both sides agree on, through the signed webhook: a retailer says they paid (in words
or with a receipt photo) and the vendor confirms it into the khata or says it did not come (a
dispute operators list); a payment the vendor records can be agreed or disputed by its retailer;
a delivered order is confirmed received or has a problem reported."""

from __future__ import annotations

from tests.dialogs.conftest import (
    ADMIN,
    BHERI,
    KARNALI,
    OPERATOR,
    RAM,
    SITA,
    Phone,
    World,
    _payload,
    text_of,
)

VENDORS = {"Karnali Wholesale": KARNALI, "Bheri Traders": BHERI}


async def _balance(world: World, retailer: str) -> int:
    async with world.pool.acquire() as conn:
        return int(await conn.fetchval(
            """SELECT COALESCE(sum(balance_paisa), 0) FROM ledger_accounts a
               JOIN users u ON u.id = a.retailer_id WHERE u.wa_id = $1""", retailer))


async def _bill(world: World, retailer: str, vendor: str, text: str = "chini 1 kg") -> str:
    """An order placed by chat and accepted by `vendor` (vendors offered it first pass it on)."""
    shop = world.phone(retailer)
    await shop.say(text)
    placed = text_of(await shop.say("yes" if retailer == SITA else "ho"))
    number = "KH-" + placed.split("KH-")[1][:6]
    for _ in range(3):
        async with world.pool.acquire() as conn:
            offered = await conn.fetchval(
                """SELECT u.wa_id FROM vendor_assignments a JOIN orders o ON o.id = a.order_id
                   JOIN users u ON u.id = a.vendor_id
                   WHERE o.number = $1 AND a.outcome = 'OFFERED'""", number)
        if offered == vendor:
            break
        await world.phone(offered).say(f"reject {number} not today")
    assert "स्वीकार" in text_of(await world.phone(vendor).say(f"accept {number}"))
    shop.inbox()
    for phone in (KARNALI, BHERI, "9779810000003"):
        world.phone(phone).inbox()
    return number


async def test_a_retailer_says_they_paid_and_the_vendor_confirms_it_into_the_khata(world):
    sita, karnali = world.phone(SITA), world.phone(KARNALI)
    await _bill(world, SITA, KARNALI, "chini 1 bora")
    owed = await _balance(world, SITA)
    recorded = text_of(await sita.say("paid 1000 esewa"))
    assert "Karnali Wholesale" in recorded and "C-000001" in recorded and "Rs 1,000" in recorded
    [asked] = karnali.inbox()
    assert asked.choices == ["claim:confirm:C-000001", "claim:reject:C-000001"]
    assert "Sita General Store" in asked.text and "रु १,०००" in asked.text
    assert await _balance(world, SITA) == owed  # a claim is not money yet
    confirmed = text_of(await karnali.tap("claim:confirm:C-000001"))
    assert "रु १,०००" in confirmed and "KH-000001" in confirmed
    told = sita.inbox()
    assert "recorded your payment of Rs 1,000" in text_of(told) and told[0].choices == []
    assert await _balance(world, SITA) == owed - 100_000
    again = text_of(await karnali.tap("claim:confirm:C-000001"))
    assert "पुष्टि भइसकेको" in again and await _balance(world, SITA) == owed - 100_000


async def test_not_received_is_a_dispute_operators_are_told_of_and_can_list(world):
    ram, karnali = world.phone(RAM), world.phone(KARNALI)
    admin, operator = world.phone(ADMIN), world.phone(OPERATOR)
    await _bill(world, RAM, KARNALI, "chini 1 bora")
    owed = await _balance(world, RAM)
    assert "C-000001" in text_of(await ram.say("maile 500 tire"))
    karnali.inbox()
    answered = text_of(await karnali.tap("claim:reject:C-000001"))
    assert "DS-000001" in answered and "आएन" in answered
    assert "DS-000001" in text_of(ram.inbox()) and await _balance(world, RAM) == owed
    assert "New dispute DS-000001" in text_of(admin.inbox())
    assert "New dispute DS-000001" in text_of(operator.inbox())
    listed = text_of(await admin.say("disputes"))
    assert "DS-000001" in listed and "Ram Kirana Pasal says they paid" in listed
    assert "Open disputes" not in text_of(await karnali.say("disputes"))  # not a vendor's command


async def test_a_receipt_photo_with_a_caption_is_a_claim_and_other_photos_are_not_read(world):
    sita, karnali = world.phone(SITA), world.phone(KARNALI)
    await _bill(world, SITA, KARNALI, "chini 1 bora")

    async def photo(phone: Phone, wamid: str, caption: str | None) -> str:
        image = {"mime_type": "image/jpeg", "sha256": "abc=", "id": "1493571161466011"}
        if caption is not None:
            image["caption"] = caption
        await phone._post(_payload(phone.wa_id, wamid, {"type": "image", "image": image}))  # noqa: SLF001
        return text_of(phone.inbox())

    recorded = await photo(sita, "wamid.P1", "tiriye 2000 esewa")
    assert "photo of the receipt" in recorded and "Rs 2,000" in recorded
    assert "रसिदको फोटो" in text_of(karnali.inbox())
    async with world.pool.acquire() as conn:
        assert await conn.fetchval("SELECT media_id FROM payment_claims") == "1493571161466011"
    assert "only read text" in await photo(sita, "wamid.P2", "chini 2 bora")
    assert "only read text" in await photo(sita, "wamid.P3", None)
    assert "write the amount" in await photo(sita, "wamid.P4", "paid")
    assert "मात्र पढ्न" in await photo(karnali, "wamid.P5", "tiriye 2000")  # vendors: text only


async def test_a_retailer_owing_two_vendors_names_one_or_picks_from_a_list(world):
    ram, karnali, bheri = world.phone(RAM), world.phone(KARNALI), world.phone(BHERI)
    await _bill(world, RAM, KARNALI, "chini 1 bora")
    await _bill(world, RAM, BHERI, "chini 1 bora")
    named = text_of(await ram.say("paid 500 to Bheri Traders"))
    assert "Bheri Traders" in named and "C-000001" in named
    assert "C-000001" in text_of(bheri.inbox()) and karnali.inbox() == []
    [asked] = await ram.say("tiriye 700 khalti")
    assert sorted(asked.choices) == ["claim:to:+9779810000001", "claim:to:+9779810000002"]
    recorded = text_of(await ram.tap("claim:to:+9779810000002"))
    assert "Karnali Wholesale" in recorded and "C-000002" in recorded
    assert "खल्ती" in text_of(karnali.inbox())
    assert "पुरानो" in text_of(await ram.tap("claim:to:+9779810000002"))  # used up: stale
    refused = text_of(await ram.say("paid 99999 to Bheri"))  # more than is owed to Bheri
    assert "बढी" in refused and "C-000003" not in refused
    assert "C-000003" not in text_of(await ram.say("5000 tireko chaina"))  # not paid: no claim
    async with world.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM payment_claims") == 2


async def test_a_vendors_payment_can_be_agreed_or_said_not_to_be_the_retailers(world):
    sita, karnali, admin = world.phone(SITA), world.phone(KARNALI), world.phone(ADMIN)
    await _bill(world, SITA, KARNALI, "chini 1 bora")
    await karnali.say("paid 9820000002 1000 esewa")
    [first] = sita.inbox()
    assert first.choices == ["payment:ack:P-000001", "payment:dispute:P-000001"]
    assert "agreed" in text_of(await sita.tap("payment:ack:P-000001"))
    assert "already agreed" in text_of(await sita.tap("payment:ack:P-000001"))
    await karnali.say("paid 9820000002 500")
    sita.inbox()
    disputed = text_of(await sita.tap("payment:dispute:P-000002"))
    assert "DS-000001" in disputed and "not yours" in disputed
    assert "आफ्नो नभएको" in text_of(karnali.inbox())
    assert "the shop says it is not theirs" in text_of(admin.inbox())
    assert "already disputed" in text_of(await sita.tap("payment:dispute:P-000002"))
    assert "cannot find that payment" in text_of(await sita.tap("payment:dispute:P-000099"))


async def test_after_delivery_the_retailer_confirms_receipt_or_reports_a_problem(world):
    sita, karnali, operator = world.phone(SITA), world.phone(KARNALI), world.phone(OPERATOR)
    first = await _bill(world, SITA, KARNALI, "chini 1 bora")
    assert "not delivered yet" in text_of(await sita.tap(f"order:received:{first}"))
    await karnali.say(f"deliver {first}")
    [delivered] = sita.inbox()
    assert delivered.choices == [f"order:received:{first}", f"order:problem:{first}"]
    assert "marked as received" in text_of(await sita.tap(f"order:received:{first}"))
    assert "आइपुगेको" in text_of(karnali.inbox())
    assert "already marked" in text_of(await sita.tap(f"order:received:{first}"))

    second = await _bill(world, SITA, KARNALI, "nun 10 packet")
    await karnali.say(f"deliver {second}")
    sita.inbox()
    [which] = await sita.tap(f"order:problem:{second}")
    assert which.choices == [f"order:problem:{second}@{r}" for r in ("missing", "damaged",
                                                                     "other")]
    reported = text_of(await sita.tap(f"order:problem:{second}@missing"))
    assert "DS-000001" in reported and "items missing" in reported
    assert "सामान कम आयो" in text_of(karnali.inbox())
    assert second in text_of(operator.inbox())
    typed = text_of(await sita.say(f"problem {first} 2 packets were torn"))
    assert "DS-000002" in typed and "2 packets were torn" in typed
    assert "already reported" in text_of(await sita.say(f"problem {first} again"))
