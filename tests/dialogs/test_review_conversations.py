"""Conversations as retailers, vendors and operators really type them: the variants that used to
crash, misparse or answer a greeting with "I did not understand"."""

from __future__ import annotations

from tests.dialogs.conftest import (
    ADMIN,
    BHERI,
    KARNALI,
    OPERATOR,
    RAM,
    SITA,
    SURKHET,
    text_of,
)


async def test_answering_which_one_for_a_word_without_quantity_prices_the_draft(world):
    sita = world.phone(SITA)
    question = (await sita.say("tel"))[-1]
    assert question.choices, question.text
    draft = text_of(await sita.say("2"))
    assert "Your draft:" in draft and "Total" in draft, draft


async def test_a_greeting_is_greeted_back_with_what_each_role_can_say(world):
    ram, karnali, operator = world.phone(RAM), world.phone(KARNALI), world.phone(OPERATOR)
    greeted = text_of(await ram.say("namaste"))
    assert "नमस्ते Ram Bahadur" in greeted and "बुझिनँ" not in greeted
    vendor = text_of(await karnali.say("namaste dai"))
    assert "नमस्ते Karnali Wholesale" in vendor and "stock chini 100" in vendor
    staff = text_of(await operator.say("hello"))
    assert "Namaste Om Operator" in staff and "approve 98" in staff


async def _placed_and_accepted(world) -> None:
    sita, karnali = world.phone(SITA), world.phone(KARNALI)
    await sita.say("chini 1 bora")
    assert "KH-000001" in text_of(await sita.say("yes"))
    await karnali.tap("order:accept:KH-000001")
    sita.inbox()


async def test_vendor_records_payments_written_with_rupee_signs_and_devanagari_digits(world):
    await _placed_and_accepted(world)
    sita, karnali = world.phone(SITA), world.phone(KARNALI)
    for typed in ("paid KH-000001 Rs 1,000", "paid kh-1 रु १००० esewa", "paid KH-000001 Rs. 1000",
                  "paid 9820000002 NPR 1,000 cash"):
        recorded = text_of(await karnali.say(typed))
        assert "रु १,०००" in recorded and "चढाइयो" in recorded, (typed, recorded)
        assert "Rs 1,000" in text_of(sita.inbox()), typed
    async with world.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM payments") == 4


async def test_a_second_tap_on_accept_says_already_accepted_and_reject_after_accept_is_named(world):
    await _placed_and_accepted(world)
    karnali = world.phone(KARNALI)
    again = text_of(await karnali.tap("order:accept:KH-000001"))
    assert "पहिले नै" in again and "स्वीकार भयो" in again, again
    await karnali.say("english")
    late = text_of(await karnali.say("reject KH-000001 out of stock"))
    assert late == ("Order KH-000001 is accepted; it cannot be rejected now. "
                    'Next step: type "dispatch KH-000001".'), late


async def test_a_language_switch_is_answered_in_the_language_just_chosen(world):
    karnali = world.phone(KARNALI)
    assert text_of(await karnali.say("english")) == "OK, I will write in English from now on."
    assert text_of(await karnali.say("nepali")) == "हुन्छ, अबदेखि म नेपालीमा लेख्छु।"
    assert text_of(await karnali.tap("lang:en")) == "OK, I will write in English from now on."


async def test_operator_commands_take_a_phone_written_with_spaces_and_dashes(world):
    stranger, operator, admin = (world.phone(p) for p in ("9779845454545", OPERATOR, ADMIN))
    for text in ("hi", "Shyam Thapa", "Shyam Kirana", "Birendranagar-4"):
        await stranger.say(text)
    operator.inbox()
    approved = text_of(await operator.say("approve +977 984-5454545"))
    assert "Shyam Thapa" in approved and "approved" in approved, approved
    limit = text_of(await admin.say("limit 984 5454545 Rs 20,000 new shop, good references"))
    assert "Rs 20,000" in limit and "new shop" in limit, limit


BIG_ORDER = ("chini 1 bora, nun 10 packet, wai wai chicken 2 carton, mustard oil 5 l,"
             " basmati 1 bora, moong dal 5 kg, chana dal 5 kg, maida 1 bora, aata 1 bora,"
             " sabun ujjala 1 carton,"
             " colgate 10, surf excel 5, dabur red 5, chiura 10 kg, jeera 1 kg, besan 5 kg,"
             " rara 1 carton, lux 12, salai 10, parle g 1 carton, tokla 5, anda 2 crate")


async def test_a_big_draft_shows_every_line_the_total_and_the_buttons(world):
    ram = world.phone(RAM)
    sent = await ram.say(BIG_ORDER)
    shown = text_of(sent)
    assert "…" not in shown, shown
    assert "२२. अण्डा" in shown and "जम्मा: रु" in shown and "पक्का गर्ने?" in shown, shown
    assert [c.split(":")[1] for c in sent[-1].choices] == ["confirm", "edit", "cancel"]
    await ram.say("ho")
    offer = [m for p in (BHERI, KARNALI, SURKHET) for m in world.phone(p).inbox()]
    assert "…" not in text_of(offer) and "२२. अण्डा" in text_of(offer), text_of(offer)
    assert "जम्मा: रु" in offer[-1].text and offer[-1].choices[0].startswith("order:accept:")


async def test_a_unit_that_does_not_fit_is_named_back_in_nepali(world):
    asked = text_of(await world.phone(RAM).say("salai 2 packet"))
    assert "२ प्याकेट" in asked and "2 packet" not in asked, asked


async def test_a_long_product_name_in_a_list_row_is_cut_with_an_ellipsis(world):
    question = (await world.phone(SITA).say("sabun 10"))[-1]
    rows = question.raw["interactive"]["action"]["sections"][0]["rows"]
    titles = [r["title"] for r in rows]
    assert "Laundry Bar Soap (Ujjal…" in titles and all(len(t) <= 24 for t in titles), titles


async def test_thanks_is_answered_politely_and_the_draft_stays(world):
    sita = world.phone(SITA)
    await sita.say("chini 1 bora")
    welcome = text_of(await sita.say("thank you 🙏"))
    assert "welcome" in welcome and "did not understand" not in welcome
    assert "KH-" in text_of(await sita.say("yes"))  # the draft was still there to confirm
    assert "धन्यवाद" in text_of(await world.phone(RAM).say("dhanyabad dai"))


async def test_removing_an_item_while_a_question_is_open_removes_it(world):
    sita = world.phone(SITA)
    await sita.say("nun 10 packet, chamal 1 bora")
    after = text_of(await sita.say("nun hatau"))
    assert "chamal" in after  # the open question is asked again
    draft = text_of(await sita.say("1"))
    assert "Total" in draft and "Salt" not in draft, draft


async def test_a_stranger_writing_romanized_nepali_is_answered_in_nepali(world):
    stranger = world.phone("9779845454546")
    first = text_of(await stranger.say("dai chini 1 bora chaiyo"))
    assert "नाम" in first, first  # the registration question, in Nepali


async def test_a_vendor_is_told_at_once_when_an_order_cannot_be_rejected(world):
    sita, karnali, bheri = world.phone(SITA), world.phone(KARNALI), world.phone(BHERI)
    await sita.say("chini 1 bora")
    await sita.say("yes")
    await karnali.tap("order:accept:KH-000001")
    again = text_of(await karnali.tap("order:reject:KH-000001"))
    why = "किन अस्वीकार"  # the question for a reason
    assert "KH-000001" in again and why not in again  # no "why?" for what cannot be done
    assert why not in text_of(await bheri.say("reject KH-000001"))
    assert "out of stock" not in text_of(await karnali.say("out of stock"))


async def test_payment_methods_are_named_in_the_readers_language(world):
    await _placed_and_accepted(world)
    karnali, sita = world.phone(KARNALI), world.phone(SITA)
    assert "(नगद)" in text_of(await karnali.say("paid KH-000001 500"))
    assert "(cash)" in text_of(sita.inbox())


async def test_a_nepali_retailer_is_asked_about_the_word_they_typed(world):
    question = text_of(await world.phone(RAM).say("दाल ५ केजी"))
    assert "\"दाल\"" in question and "daal" not in question


async def test_a_vendor_naming_a_generic_product_is_shown_which_ones_fit(world):
    karnali = world.phone(KARNALI)
    which = text_of(await karnali.say("stock chamal 10 bora"))
    assert "mansuli — मन्सुली चामल" in which and "basmati — बासमती चामल" in which
    done = text_of(await karnali.say("stock mansuli 10 bora"))
    assert "मन्सुली चामल" in done and "२५०" in done  # 10 bora = 250 kg


async def test_removing_or_editing_with_no_draft_says_there_is_nothing_to_change(world):
    sita = world.phone(SITA)
    for text in ("maida hatau", "edit"):
        reply = text_of(await sita.say(text))
        assert "no draft to change" in reply, reply
    async with world.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM orders") == 0


async def test_dues_mention_orders_still_waiting_for_a_vendor(world):
    sita = world.phone(SITA)
    await sita.say("chini 1 bora")
    await sita.say("yes")
    dues = text_of(await sita.say("how much do I owe"))
    assert "You owe nothing" in dues and "waiting for a vendor" in dues
