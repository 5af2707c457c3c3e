"""A shop's first week, understood (issue 10, items 6-8), through the signed webhook: price and
stock questions answered with the draft's own prices and no draft; chatter around an order never
named back; zero and absurd quantities asked about; misspellings matched."""

from __future__ import annotations

from typing import Any

from locales.formats import money
from tests.dialogs.conftest import BHERI, HARI, KARNALI, RAM, SITA, SURKHET, World, text_of

NOT_FOUND = ("could not find", "भेट्टाउन सकिनँ", "भेटिएन")


async def _orders(world: World) -> list[Any]:
    async with world.pool.acquire() as conn:
        return list(await conn.fetch("SELECT id, number, status, total_paisa FROM orders"))


async def _lines(world: World, number: str | None = None) -> list[Any]:
    async with world.pool.acquire() as conn:
        return list(await conn.fetch(
            """SELECT l.sku, l.quantity_milli, l.unit_price_paisa, l.line_total_paisa
               FROM order_lines l JOIN orders o ON o.id = l.order_id
               WHERE $1::text IS NULL OR o.number = $1 ORDER BY l.line_no""", number))


async def test_a_price_question_in_nepali_shows_what_the_draft_then_charges(world):
    ram = world.phone(RAM)
    answer = text_of(await ram.say("chini ko rate kati ho?"))
    assert "चिनी" in answer and "उपलब्ध" in answer, answer
    assert not any(word in answer for word in NOT_FOUND), answer
    assert await _orders(world) == []  # a question drafts nothing

    draft = text_of(await ram.say("chini 1 bora"))
    [line] = await _lines(world)
    # The same numbers: per kg, and per bora (the one-bora draft's own total).
    assert f"{money(line['unit_price_paisa'], 'ne')}/केजी" in answer, (answer, draft)
    assert f"{money(line['line_total_paisa'], 'ne')}/बोरा" in answer, (answer, draft)


async def test_a_price_question_in_english_shows_what_the_draft_then_charges(world):
    sita = world.phone(SITA)
    answer = text_of(await sita.say("how much is sugar?"))
    assert "Prices now" in answer and "Sugar" in answer and "In stock" in answer, answer
    assert await _orders(world) == []

    await sita.say("sugar 2 kg")
    [line] = await _lines(world)
    assert f"{money(line['unit_price_paisa'], 'en')}/kg" in answer, answer


async def test_a_question_about_a_quantity_prices_exactly_that_quantity(world):
    sita = world.phone(SITA)
    answer = text_of(await sita.say("chini 2 bora kati parchha?"))
    assert await _orders(world) == []
    await sita.say("chini 2 bora")
    [order] = await _orders(world)
    assert f"2 bora (100 kg): {money(order['total_paisa'], 'en')}" in answer, answer


async def test_a_vague_word_asks_about_every_product_it_fits_at_its_draft_price(world):
    ram = world.phone(RAM)
    answer = text_of(await ram.say("चामलको भाउ कति छ?"))
    for name in ("मन्सुली चामल", "बासमती चामल", "ताइचिन चामल"):
        assert name in answer, answer
    assert await _orders(world) == []
    question = (await ram.say("chamal 1 bora"))[-1]
    await ram.tap("product:pick:RICE-BASMATI")
    [line] = await _lines(world)
    assert line["sku"] == "RICE-BASMATI" and question.choices
    assert f"{money(line['unit_price_paisa'], 'ne')}/केजी" in answer, answer


async def test_a_question_while_a_draft_is_open_answers_and_leaves_the_draft(world):
    sita = world.phone(SITA)
    draft = await sita.say("chini 1 bora")
    [before] = await _orders(world)
    lines_before = await _lines(world)
    for question in ("do you have ghee?", "nun ko rate?", "चिनी छ?"):
        answer = text_of(await sita.say(question))
        assert "Your draft stays as it is." in answer, answer
    await sita.tap(next(c for c in draft[-1].choices if c.startswith("order:edit:")))
    answer = text_of(await sita.say("how much is ghee?"))  # while editing, too
    assert "Ghee" in answer and "Your draft stays as it is." in answer, answer
    assert await _orders(world) == [before] and await _lines(world) == lines_before
    placed = text_of(await sita.say("yes"))  # still the draft it was, now numbered
    [after] = await _orders(world)
    assert after["id"] == before["id"] and after["number"] in placed
    assert money(before["total_paisa"], "en") in placed


async def test_a_question_while_choosing_answers_and_asks_the_choice_again(world):
    ram = world.phone(RAM)
    await ram.say("chamal 2 bora")
    replies = await ram.say("basmati ko rate kati ho?")
    assert "बासमती चामल" in replies[0].text and "खाका जस्ताको तस्तै" in replies[0].text
    assert "product:pick:RICE-BASMATI" in replies[-1].choices  # the question, again
    draft = text_of(await ram.tap("product:pick:RICE-MANSULI"))
    assert "मन्सुली चामल — २ बोरा (५० केजी)" in draft, draft


async def test_a_question_names_back_what_the_catalog_lacks_and_asks_which_product(world):
    sita = world.phone(SITA)
    unknown = text_of(await sita.say("iphone ko rate kati ho?"))
    assert "I could not find 'iphone' in the catalog." in unknown, unknown
    which = text_of(await sita.say("rate?"))
    assert "Which product's price?" in which, which
    assert await _orders(world) == []


async def test_stock_is_named_and_an_empty_one_said_so(world):
    for vendor in (BHERI, KARNALI, SURKHET):
        await world.phone(vendor).say("stock ghee 1")  # one kg each: no tin anywhere
    sita = world.phone(SITA)
    answer = text_of(await sita.say("ghee ko rate?"))
    assert "In stock: 1 kg available." in answer, answer
    assert "(list price: no vendor has a whole tin now)" in answer, answer


async def test_the_order_inside_a_chatty_message_is_found_in_both_languages(world):
    ram, sita = world.phone(RAM), world.phone(SITA)
    draft = text_of(await ram.say("namaste dai, sanchai hunuhuncha? chini 2 bora pathaidinu na"))
    assert "चिनी — २ बोरा (१०० केजी)" in draft, draft
    assert not any(word in draft for word in NOT_FOUND), draft
    draft = text_of(await sita.say("hello sir, how are you? aaja pasal ma dherai bheed thiyo. "
                                   "please send 3 carton rara"))
    assert "Rara Noodles — 3 carton" in draft, draft
    assert not any(word in draft for word in NOT_FOUND), draft


async def test_chatter_and_negations_are_never_named_back_as_products(world):
    sita, ram = world.phone(SITA), world.phone(RAM)
    for phone, text in ((sita, "hoina, sugar 1 bora matra. kasto cha business?"),
                        (sita, "make it 2 kg nun"),
                        (ram, "होइन, चिनी १ बोरा मात्र"),
                        (ram, "k cha dai, ghee 1 tin pani pathaidinus")):
        said = text_of(await phone.say(text))
        assert not any(word in said for word in NOT_FOUND), (text, said)
        assert "Confirm" not in said or "Total" in said, said
    small_talk = text_of(await world.phone(HARI).say("kasto cha dai?"))  # answered as a greeting
    assert "नमस्ते" in small_talk and not any(word in small_talk for word in NOT_FOUND), small_talk


async def test_a_zero_quantity_is_asked_about_not_ordered(world):
    sita, ram = world.phone(SITA), world.phone(RAM)
    asked = text_of(await sita.say("chini 0 kg"))
    assert "How many kg of Sugar do you want? Zero cannot be ordered." in asked, asked
    assert await _orders(world) == []
    draft = text_of(await sita.say("5"))
    assert "Sugar — 5 kg" in draft, draft
    asked = text_of(await ram.say("चिनी ० बोरा"))
    assert "चिनी कति केजी चाहियो?" in asked, asked


async def test_an_absurd_quantity_is_asked_about_even_after_choosing_the_product(world):
    sita = world.phone(SITA)
    asked = text_of(await sita.say("chini 500 bora"))
    assert "How many kg of Sugar" in asked and "far more" in asked, asked
    assert await _orders(world) == []
    draft = text_of(await sita.say("50"))
    assert "Sugar — 50 kg" in draft, draft
    asked = text_of(await sita.say("chamal 0 bora"))  # which rice, then how much
    assert "Which \"chamal\"" in asked, asked
    asked = text_of(await sita.tap("product:pick:RICE-MANSULI"))
    assert "How many kg of Mansuli Rice" in asked, asked
    draft = text_of(await sita.say("25"))
    assert "Sugar — 50 kg" in draft and "Mansuli Rice — 25 kg" in draft, draft


async def test_misspelt_products_are_matched_when_only_one_fits(world):
    sita, ram = world.phone(SITA), world.phone(RAM)
    draft = text_of(await sita.say("suger 5 kg, arial 1 carton"))
    assert "Sugar — 5 kg" in draft and "Ariel" in draft, draft
    assert not any(word in draft for word in NOT_FOUND), draft
    asked = await ram.say("chinni 2 kg, biskut 1 carton")
    assert "product:pick:BISCUIT-PARLEG" in asked[-1].choices, text_of(asked)
    assert "COFFEE-NESCAFE" not in " ".join(asked[-1].choices)
