"""Price questions, chatter and misspellings: the rules behind the held-out corpus, one each."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from catalog.csvload import load_catalog
from catalog.matcher import CatalogIndex
from catalog.parser import OrderParser, plausible
from catalog.quantity import Vocabulary


@pytest.fixture(scope="module")
def parser() -> OrderParser:
    return OrderParser.from_csv()


@pytest.mark.parametrize(
    "text", ["chini ko rate kati ho?", "चिनीको मूल्य कति हो?", "how much is sugar", "चिनी छ?",
             "k cha chini?", "chini paincha?", "price of sugar", "sugar?"],
)
def test_a_price_question_names_its_product_and_orders_nothing(
    parser: OrderParser, text: str
) -> None:
    result = parser.parse(text)
    assert result.intent == "price" and result.skus() == ("SUGAR",) and result.unknown == ()
    assert not result.items[0].quantity_stated


def test_a_question_keeps_the_quantity_it_asks_about(parser: OrderParser) -> None:
    [item] = parser.parse("chini 2 bora kati parchha?").items
    assert (item.quantity, item.quantity_stated) == (Decimal(100), True)
    # "cha" is six only before a unit: here it is "is".
    [item] = parser.parse("chini cha?").items
    assert not item.quantity_stated


def test_a_vague_word_in_a_question_names_every_product_it_fits(parser: OrderParser) -> None:
    result = parser.parse("chamal ko rate")
    assert result.intent == "price" and {"RICE-MANSULI", "RICE-BASMATI"} <= set(result.skus())


def test_an_order_that_also_asks_the_price_is_an_order(parser: OrderParser) -> None:
    result = parser.parse("chini 2 bora pathaidinu, rate kati ho?")
    assert result.intent == "order" and result.unknown == ()


@pytest.mark.parametrize("text", ["baki kati cha?", "how much do I owe", "बाँकी कति छ?"])
def test_dues_questions_stay_dues(parser: OrderParser, text: str) -> None:
    assert parser.parse(text).intent == "dues"


@pytest.mark.parametrize(
    "text",
    ["hoina, chini 1 bora", "chini 1 bora matra", "dai kasto cha business? chini 1 bora",
     "namaste dai, sanchai hunuhuncha? chini 1 bora pathaidinu na",
     "aaja pasal ma bheed cha. chini 1 bora", "होइन, चिनी १ बोरा मात्र", "make it 1 bora chini"],
)
def test_chatter_around_an_order_is_never_named_back(parser: OrderParser, text: str) -> None:
    result = parser.parse(text)
    assert result.intent == "order" and result.unknown == ()
    assert [(i.sku, i.quantity) for i in result.items] == [("SUGAR", Decimal(50))]


def test_a_word_that_is_chatter_and_a_product_needs_its_own_quantity(parser: OrderParser) -> None:
    assert [i.sku for i in parser.parse("chini pani 1 bora").items] == ["SUGAR"]
    assert [i.sku for i in parser.parse("pani 2 carton").items] == ["DRINK-WATER"]
    assert parser.parse("tell me the rate of ghee").skus() == ("GHEE",)
    [oil] = parser.parse("tell 2 litre").ambiguous
    assert "OIL-MUSTARD" in oil.candidates


@pytest.mark.parametrize("text", ["chini 0 kg", "chini 0 bora", "चिनी ० केजी", "chini 2000000 kg"])
def test_a_zero_or_impossible_quantity_is_asked_about(parser: OrderParser, text: str) -> None:
    result = parser.parse(text)
    assert result.intent == "order" and result.items == () and result.unknown == ()
    [question] = result.ambiguous
    assert (question.candidates, question.reason) == (("SUGAR",), "quantity")


@pytest.mark.parametrize(
    ("text", "sku"),
    [("suger 2 kg", "SUGAR"), ("shuger 2 kg", "SUGAR"), ("arial 1 carton", "DETERGENT-ARIEL"),
     ("coffe 1 jar", "COFFEE-NESCAFE"), ("colgat 1 dozen", "TOOTHPASTE-COLGATE")],
)
def test_common_misspellings_match_the_one_product_that_fits(
    parser: OrderParser, text: str, sku: str
) -> None:
    assert [i.sku for i in parser.parse(text).items] == [sku]


@pytest.mark.parametrize("text", ["kati 2 jar", "kati jar", "maggi 2 carton"])
def test_question_words_and_short_words_never_become_products(
    parser: OrderParser, text: str
) -> None:
    result = parser.parse(text)
    assert "COFFEE-NESCAFE" not in result.skus() and "DAL-MOONG" not in result.skus()


def test_a_misspelling_equally_near_two_products_guesses_nothing() -> None:
    vocabulary = Vocabulary.from_csv()
    sugar, soybean = (p for p in load_catalog() if p.sku in ("SUGAR", "SOYBEAN"))
    alone = CatalogIndex([replace(sugar, aliases=("palon",)), soybean], vocabulary)
    match = alone.match(["palen"])
    assert match is not None and match.skus == ("SUGAR",)
    twins = [replace(sugar, aliases=("palon",)), replace(soybean, aliases=("palan",))]
    assert CatalogIndex(twins, vocabulary).match(["palen"]) is None


def test_plausible_quantities_are_what_a_shop_orders() -> None:
    assert plausible(Decimal("0.25")) and plausible(Decimal(10_000))
    assert not plausible(Decimal(0)) and not plausible(Decimal(25_000))
