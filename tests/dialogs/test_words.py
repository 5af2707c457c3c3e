"""Words people read, through the signed webhook: English replies in "Rs" with plurals, Nepali
ones in "रु" with Devanagari digits, and every word a Nepali reply suggests typing does what the
reply says."""

from __future__ import annotations

import re

from tests.dialogs.conftest import KARNALI, RAM, SITA, text_of
from tests.locales.test_wording import LANGUAGE_HINT

_DEVANAGARI = re.compile("[\u0900-\u097f]")


async def test_an_english_order_reads_in_rs_with_plurals_and_no_devanagari(world):
    sita = world.phone(SITA)
    draft = text_of(await sita.say("nun 10 packet, wai wai chicken 2 carton, mustard oil 5 l"))
    assert "10 packets × Rs" in draft and "2 cartons (60 packets)" in draft, draft
    assert "5 litres × Rs" in draft and "/litre" in draft, draft
    placed = text_of(await sita.say("yes"))
    assert "Rs " in placed, placed
    # The first reply also offers Nepali, in Nepali: the one sentence allowed to be.
    assert not _DEVANAGARI.search((draft + placed).replace(LANGUAGE_HINT, "")), (draft, placed)


async def test_a_nepali_order_reads_in_rupees_with_devanagari_digits(world):
    ram = world.phone(RAM)
    draft = text_of(await ram.say("chini 1 bora, nun 10 packet"))
    assert "१० प्याकेट × रु" in draft and "Rs" not in draft, draft
    assert not re.search(r"रु [0-9]", draft), draft


async def test_the_words_nepali_help_suggests_do_what_it_says(world):
    ram = world.phone(RAM)
    helped = text_of(await ram.say("मद्दत"))
    assert "तपाईं यी काम गर्न सक्नुहुन्छ:" in helped, helped
    suggested = dict(re.findall(r'• "([^"]+)"[^:]*: (.+)', helped))
    assert {"पहिले जस्तै", "स्थिति", "बाँकी", "इतिहास", "रद्द"} <= set(suggested), suggested
    assert "उधारो सीमा" in text_of(await ram.say("बाँकी"))
    assert "अर्डर छैन" in text_of(await ram.say("स्थिति"))
    assert "अर्डर छैन" in text_of(await ram.say("इतिहास"))
    assert "दोहोर्‍याउने पुरानो अर्डर भेटिएन" in text_of(await ram.say("पहिले जस्तै"))


async def test_a_vendor_asked_why_they_reject_keeps_the_order_by_saying_no(world):
    ram, karnali = world.phone(RAM), world.phone(KARNALI)
    await ram.say("chini 1 bora")
    await ram.say("हो")
    offer = karnali.inbox()[-1]
    assert offer.choices[-1] == "order:reject:KH-000001", offer
    asked = text_of(await karnali.tap("order:reject:KH-000001"))
    assert "रद्द" not in asked and '"होइन"' in asked, asked
    await karnali.say("होइन")
    async with world.pool.acquire() as conn:
        status = await conn.fetchval("SELECT status FROM orders WHERE number = 'KH-000001'")
    assert status == "VENDOR_ASSIGNED"
    assert "अस्वीकार" not in text_of(ram.inbox())
    # It is still the vendor's to accept.
    accepted = text_of(await karnali.tap("order:accept:KH-000001"))
    assert "स्वीकार गरियो" in accepted, accepted
