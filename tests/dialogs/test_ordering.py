"""A retailer orders in romanized Nepali, resolves an ambiguity, edits, confirms; the vendor
accepts by tapping; dues; a partial payment seen by both; remembered choices; repeat."""

from __future__ import annotations

from tests.dialogs.conftest import KARNALI, RAM, SITA, text_of


async def test_order_ambiguity_edit_confirm_accept_dues_and_partial_payment(world):
    ram, karnali = world.phone(RAM), world.phone(KARNALI)

    first = await ram.say("dai chini 1 bora, chamal 2 bora, unicorn powder 1 kg pathaidinu")
    question = first[-1]
    assert "chamal" in question.text and "unicorn powder" in question.text
    assert "product:pick:RICE-MANSULI" in question.choices and len(question.choices) <= 10
    assert "lang:set:en" in first[0].choices  # first contact offers the other language once

    draft = await ram.tap("product:pick:RICE-MANSULI", "मन्सुली चामल")
    assert len(draft) == 1
    text = draft[0].text
    assert "चिनी — १ बोरा (५० केजी)" in text and "मन्सुली चामल — २ बोरा (५० केजी)" in text
    assert "unicorn powder" in text  # named back, the rest stays
    assert "बिक्रेता: Karnali Wholesale" in text
    assert [c.split(":")[1] for c in draft[0].choices] == ["confirm", "edit", "cancel"]

    edited = text_of(await ram.say("nun 10 packet thap"))
    assert "नुन" in edited and "चिनी" in edited
    edited = text_of(await ram.say("chini hatau"))
    assert "चिनी" not in edited and "नुन — १० प्याकेट" in edited
    edited = text_of(await ram.say("chamal 1 bora"))
    assert "मन्सुली चामल — १ बोरा (२५ केजी)" in edited

    placed = text_of(await ram.say("ho"))
    assert "KH-000001" in placed and "Karnali Wholesale" in placed

    offer = karnali.inbox()
    assert len(offer) == 1 and "KH-000001" in offer[0].text and "Ram Kirana Pasal" in offer[0].text
    assert offer[0].choices == ["order:accept:KH-000001", "order:reject:KH-000001"]
    accepted = await karnali.tap("order:accept:KH-000001", "स्वीकार")
    assert "KH-000001" in accepted[-1].text
    assert accepted[-1].choices == ["order:dispatch:KH-000001"]
    assert "स्वीकार गर्नुभयो" in text_of(ram.inbox())

    async with world.pool.acquire() as conn:
        total = await conn.fetchval("SELECT total_paisa FROM orders WHERE number = 'KH-000001'")
    from locales.formats import money

    dues = text_of(await ram.say("baki kati cha?"))
    assert money(total, "ne") in dues and "Karnali Wholesale" in dues
    assert "२०८" in dues  # the due date in Bikram Sambat

    paid = text_of(await karnali.say("paid KH-000001 1000"))
    left = money(total - 100_000, "ne")
    assert left in paid
    told = text_of(ram.inbox())
    assert money(100_000, "ne") in told and left in told

    dispatched = await karnali.tap("order:dispatch:KH-000001")
    assert dispatched[0].choices == ["order:deliver:KH-000001"]
    assert "बाटोमा" in text_of(ram.inbox())
    await karnali.tap("order:deliver:KH-000001")
    assert "पुग्यो" in text_of(ram.inbox())

    # "chamal" now means Mansuli to Ram: no question this time.
    again = await ram.say("chamal 1 bora")
    assert len(again) == 1 and "मन्सुली चामल" in again[0].text and "Confirm" not in again[0].text


async def test_status_history_repeat_and_cancel_in_english(world):
    sita = world.phone(SITA)
    await sita.say("sugar 2 kg, salt 5 packet")
    placed = text_of(await sita.say("yes"))
    assert "KH-000001" in placed
    status = text_of(await sita.say("status"))
    assert "KH-000001" in status and "sent to the vendor" in status
    history = text_of(await sita.say("history"))
    assert "KH-000001" in history
    repeat = await sita.say("pahile jastai")
    assert "Sugar — 2 kg" in repeat[-1].text and "Salt" in repeat[-1].text
    cancelled = text_of(await sita.say("cancel"))
    assert "cancelled" in cancelled.lower()
    assert "nothing to cancel" in text_of(await sita.say("cancel")).lower()
    gone = text_of(await sita.say("cancel KH-000001"))
    assert "KH-000001 is cancelled" in gone


async def test_buttons_confirm_and_edit_work_and_stale_buttons_are_refused(world):
    sita = world.phone(SITA)
    draft = (await sita.say("chini 1 kg"))[-1]
    confirm, edit, _ = draft.choices
    assert "What should I change" in text_of(await sita.tap(edit))
    redraft = (await sita.say("chini 3 kg"))[0]
    assert "Sugar — 3 kg" in redraft.text
    assert "older message" in text_of(await sita.tap(confirm))  # it showed 1 kg, not 3
    assert "KH-" in text_of(await sita.tap(redraft.choices[0]))
    again = text_of(await sita.tap(redraft.choices[0]))
    assert "already placed" in again and "KH-000001" in again  # nothing is done twice
    assert "already placed" in text_of(await sita.tap(confirm))


async def test_nonsense_gets_a_polite_answer_in_every_state(world):
    sita = world.phone(SITA)
    for text in ("", "🙂🙂", "x" * 5000, "'; DROP TABLE orders; --", "\x01\x02"):
        assert (await sita.say(text)), repr(text)[:20]
    question = (await sita.say("dal 2 kg"))[-1]
    second = question.raw["interactive"]["action"]["sections"][0]["rows"][1]["title"]
    assert "list" in text_of(await sita.say("zzzz")).lower()
    assert f"Your draft:\n1. {second} — 2 kg" in text_of(await sita.say("2"))


async def test_items_sent_while_a_question_is_open_join_the_draft(world):
    sita = world.phone(SITA)
    await sita.say("dal 2 kg")
    again = await sita.say("nun 5 packet")
    assert "dal" in again[-1].text  # the question is asked again
    draft = text_of(await sita.say("1"))
    assert "Salt" in draft and "Total" in draft


async def test_an_answer_with_its_own_quantity_takes_that_quantity(world):
    sita = world.phone(SITA)
    await sita.say("chamal 1 bora")
    draft = text_of(await sita.say("basmati 20 bora"))
    assert "Basmati Rice — 20 bora (500 kg)" in draft
    assert "1 bora" not in draft


async def test_the_price_in_which_one_is_the_price_the_draft_charges(world):
    import re

    sita = world.phone(SITA)
    await sita.say("nun 2 packet")  # a draft already open: its vendor shapes the price
    question = (await sita.say("chamal 1 bora thap"))[-1]
    shown = dict(re.findall(r"\d+\. (.+?) \((Rs [\d,.]+)/kg\)", question.text))
    assert shown, question.text
    name, price = next(iter(shown.items()))
    pick = question.choices[0]
    draft = text_of(await sita.tap(pick))
    [line] = [ln for ln in draft.splitlines() if ln.startswith(("1. ", "2. ")) and name in ln]
    assert f"× {price}/kg" in line, (shown, draft)


async def test_a_quantity_finer_than_a_gram_is_asked_about_not_a_crash(world):
    sita = world.phone(SITA)
    asked = text_of(await sita.say("chini 1.2345 kg"))
    assert "How many" in asked, asked
    assert "Sugar — 2 kg" in text_of(await sita.say("2"))
