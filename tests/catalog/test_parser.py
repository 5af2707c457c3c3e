"""The order rules of issue 3, each in roman and Devanagari where the rule has a script."""

from __future__ import annotations

from decimal import Decimal

import pytest

from catalog.model import ParseResult
from catalog.parser import OrderParser


@pytest.fixture(scope="module")
def parser() -> OrderParser:
    return OrderParser.from_csv()


def totals(result: ParseResult) -> dict[str, Decimal]:
    summed: dict[str, Decimal] = {}
    for item in result.items:
        summed[item.sku] = summed.get(item.sku, Decimal(0)) + item.quantity
    return summed


@pytest.mark.parametrize(
    "text",
    [
        "2 bora mansuli chamal",
        "mansuli chamal 2 bora",
        "मन्सुली चामल २ बोरा",
        "२ बोरा मन्सुली चामल",
        "mansuli 2bora",
    ],
)
def test_unit_before_or_after_the_name_in_both_scripts(parser: OrderParser, text: str) -> None:
    result = parser.parse(text)
    assert result.intent == "order"
    assert totals(result) == {"RICE-MANSULI": Decimal(50)}


@pytest.mark.parametrize(
    "text", ["chini10kg", "10kg chini", "chini 10 kg", "चिनी १० किलो", "चिनी10केजी"]
)
def test_number_glued_to_unit_or_name(parser: OrderParser, text: str) -> None:
    assert totals(parser.parse(text)) == {"SUGAR": Decimal(10)}


@pytest.mark.parametrize(
    ("text", "quantity"),
    [
        ("dedh kg ghee", "1.5"),
        ("डेढ केजी घिउ", "1.5"),
        ("aadha kg ghee", "0.5"),
        ("आधा किलो घिउ", "0.5"),
        ("adhai kg ghee", "2.5"),
        ("1/2 kg ghee", "0.5"),
        ("ghee 1.5 kg", "1.5"),
        ("ghee 1 1/2 kg", "1.5"),
        ("dui kg ghee", "2"),
        ("दुई केजी घिउ", "2"),
        ("ghee ५०० ग्राम", "0.5"),
    ],
)
def test_quantities_as_digits_decimals_fractions_and_words(
    parser: OrderParser, text: str, quantity: str
) -> None:
    assert totals(parser.parse(text)) == {"GHEE": Decimal(quantity)}


@pytest.mark.parametrize(
    ("text", "sku", "quantity"),
    [
        ("chini", "SUGAR", "1"),
        ("nun 3", "SALT-IODIZED", "3"),
        ("jeera 500 gram", "SPICE-CUMIN", "0.5"),
        ("tori tel 500 ml", "OIL-MUSTARD", "0.5"),
        ("तोरीको तेल ५०० एमएल", "OIL-MUSTARD", "0.5"),
        ("rara 2 peti", "NOODLE-RARA", "60"),
        ("रारा २ पेटी", "NOODLE-RARA", "60"),
    ],
)
def test_no_unit_is_base_unit_metric_and_packs_convert(
    parser: OrderParser, text: str, sku: str, quantity: str
) -> None:
    assert totals(parser.parse(text)) == {sku: Decimal(quantity)}


def test_assumed_quantity_is_marked_so_the_dialog_can_ask(parser: OrderParser) -> None:
    [item] = parser.parse("chini").items
    assert not item.quantity_stated
    [item] = parser.parse("chini 2 kg").items
    assert item.quantity_stated


@pytest.mark.parametrize(
    "text",
    [
        "chini 1 bora, nun 10 packet",
        "chini 1 bora\nnun 10 packet",
        "chini 1 bora ra nun 10 packet",
        "chini 1 bora and nun 10 packet",
        "chini 1 bora + nun 10 packet",
        "चिनी १ बोरा र नुन १० पोका",
        "1. chini 1 bora\n2. nun 10 packet",
        "- chini 1 bora\n- nun 10 packet",
        "१. चिनी १ बोरा\n२. नुन १० प्याकेट",
        "chini 1 bora nun 10 packet",
    ],
)
def test_items_split_on_separators_and_list_numbers_are_not_quantities(
    parser: OrderParser, text: str
) -> None:
    assert totals(parser.parse(text)) == {"SUGAR": Decimal(50), "SALT-IODIZED": Decimal(10)}


@pytest.mark.parametrize(
    ("text", "phrase_sku"),
    [
        ("chamal 2 bora", "RICE-MANSULI"),
        ("चामल २ बोरा", "RICE-MANSULI"),
        ("dal 5 kg", "DAL-MUSURO"),
        ("दाल ५ केजी", "DAL-MUSURO"),
        ("tel 1 jar", "OIL-MUSTARD"),
        ("तेल १ जार", "OIL-MUSTARD"),
        ("sabun 1 carton", "SOAP-LUX"),
        ("साबुन १ कार्टुन", "SOAP-LUX"),
        ("wai wai 1 carton", "NOODLE-WAIWAI-CHICKEN"),
        ("वाइवाइ १ पेटी", "NOODLE-WAIWAI-CHICKEN"),
        ("badam 1 kg", "PEANUT"),
        ("बदाम १ केजी", "PEANUT"),
        ("masala 2 packet", "SPICE-MEAT-MASALA"),
    ],
)
def test_generic_word_is_ambiguous_not_guessed(
    parser: OrderParser, text: str, phrase_sku: str
) -> None:
    result = parser.parse(text)
    assert result.intent == "order" and result.items == ()
    [ambiguity] = result.ambiguous
    assert phrase_sku in ambiguity.candidates
    assert 2 <= len(ambiguity.candidates) <= 10
    assert ambiguity.quantity is not None and ambiguity.unit is not None


def test_ambiguity_keeps_the_quantity_as_typed(parser: OrderParser) -> None:
    [ambiguity] = parser.parse("chamal 2 bora").ambiguous
    assert (ambiguity.text, ambiguity.quantity, ambiguity.unit) == ("chamal", Decimal(2), "bora")


@pytest.mark.parametrize(
    ("text", "sku"),
    [
        ("jeera masino 1 bora", "RICE-JEERA-MASINO"),
        ("जीरा मसिनो १ बोरा", "RICE-JEERA-MASINO"),
        ("jeera masino chamal 1 bora", "RICE-JEERA-MASINO"),
        ("jeera 1 kg", "SPICE-CUMIN"),
        ("जीरा १ केजी", "SPICE-CUMIN"),
        ("sona mansuli 1 bora", "RICE-SONA-MANSULI"),
        ("mansuli 1 bora", "RICE-MANSULI"),
    ],
)
def test_longest_most_specific_name_wins(parser: OrderParser, text: str, sku: str) -> None:
    assert list(totals(parser.parse(text))) == [sku]


@pytest.mark.parametrize(
    ("text", "sku"),
    [
        ("basmatti 5 kg", "RICE-BASMATI"),
        ("lifbuoy 1 dozen", "SOAP-LIFEBUOY"),
        ("mansulli chamal 1 bora", "RICE-MANSULI"),
        ("chinni 5 kg", "SUGAR"),
        ("kolgate 2 pcs", "TOOTHPASTE-COLGATE"),
        ("waiwaichicken 1 carton", "NOODLE-WAIWAI-CHICKEN"),
        ("लाइफबोय १ दर्जन", "SOAP-LIFEBUOY"),
        ("mansuli चामल 1 बोरा", "RICE-MANSULI"),
    ],
)
def test_typos_and_mixed_scripts_still_match(parser: OrderParser, text: str, sku: str) -> None:
    assert list(totals(parser.parse(text))) == [sku]


def test_devanagari_name_matches_a_roman_only_alias(parser: OrderParser) -> None:
    # "सुजी" is the catalog's Nepali name, but "सूजी" is only reachable through "suji"/"sooji".
    assert list(totals(parser.parse("सूजी ५ केजी"))) == ["FLOUR-SUJI"]


@pytest.mark.parametrize(
    "text",
    [
        "dai, 5 carton wai wai chicken pathaidinu hola",
        "please need 5 carton wai wai chicken",
        "दाइ ५ कार्टुन wai wai chicken पठाइदिनुहोस्",
        "hello, 5 carton wai wai chicken chaiyo",
    ],
)
def test_fillers_and_a_leading_greeting_are_ignored(parser: OrderParser, text: str) -> None:
    result = parser.parse(text)
    assert result.intent == "order" and result.unknown == ()
    assert totals(result) == {"NOODLE-WAIWAI-CHICKEN": Decimal(150)}


@pytest.mark.parametrize("text", ["lux ko 2 darjan", "chini 5 kilo pathaidinu hai bholi samma"])
def test_leftover_particles_are_fillers_but_stay_inside_names(
    parser: OrderParser, text: str
) -> None:
    result = parser.parse(text)
    assert len(result.items) == 1 and result.unknown == ()
    assert list(totals(parser.parse("makai ko pitho 2 kg"))) == ["FLOUR-MAKAI"]
    assert parser.parse("ko 2 kg").ambiguous == ()


def test_greeting_that_is_also_a_product_is_the_product_when_ordered(
    parser: OrderParser,
) -> None:
    assert totals(parser.parse("hello 1 carton")) == {"BISCUIT-HELLO": Decimal(48)}
    assert parser.parse("hello").intent == "greeting"


@pytest.mark.parametrize("text", ["iphone 2 wota", "आइफोन २ वटा"])
def test_phrase_matching_nothing_is_unknown_not_dropped(parser: OrderParser, text: str) -> None:
    result = parser.parse(text)
    assert result.intent == "order" and result.items == () and len(result.unknown) == 1


def test_unknown_phrase_beside_known_items(parser: OrderParser) -> None:
    result = parser.parse("mansuli 2 bora + unicorn powder 1 kg")
    assert totals(result) == {"RICE-MANSULI": Decimal(50)}
    assert result.unknown == ("unicorn powder 1 kg",)


def test_unit_the_product_has_no_pack_for_is_asked_not_guessed(parser: OrderParser) -> None:
    result = parser.parse("chini 2 carton")
    assert result.items == ()
    [ambiguity] = result.ambiguous
    assert (ambiguity.candidates, ambiguity.reason, ambiguity.unit) == (
        ("SUGAR",),
        "unit",
        "carton",
    )


def test_remembered_choice_resolves_a_generic_word(parser: OrderParser) -> None:
    remembered = {"chamal": "RICE-MANSULI"}
    for text in ("chamal 2 bora", "चामल २ बोरा"):
        result = parser.parse(text, remembered)
        [item] = result.items
        assert (item.sku, item.quantity, result.ambiguous) == ("RICE-MANSULI", Decimal(50), ())
        assert item.matched.startswith("memory:")


def test_remembered_choice_does_not_override_a_precise_name(parser: OrderParser) -> None:
    result = parser.parse(
        "basmati 1 bora, dal 1 kg", {"basmati": "RICE-MANSULI", "chamal": "RICE-MANSULI"}
    )
    assert totals(result) == {"RICE-BASMATI": Decimal(25)}
    assert [a.text for a in result.ambiguous] == ["dal"]


def test_remembered_sku_missing_from_catalog_is_ignored(parser: OrderParser) -> None:
    result = parser.parse("chamal 1 bora", {"chamal": "NO-SUCH-SKU"})
    assert result.items == () and len(result.ambiguous) == 1


def test_items_record_how_they_matched(parser: OrderParser) -> None:
    exact, fuzzy = parser.parse("chini 1 kg, lifbuoy 1 pc").items
    assert exact.matched == "exact:chini" and fuzzy.matched == "fuzzy:lifebuoy"
    assert exact.unit == "kg" and fuzzy.unit == "piece"


def test_parser_works_on_a_catalog_given_in_code() -> None:
    from catalog.csvload import load_catalog

    products = [p for p in load_catalog() if p.category == "rice"]
    parser = OrderParser(products)
    assert totals(parser.parse("chiura 1 bora")) == {"BEATEN-RICE": Decimal(20)}
    assert parser.parse("chini 1 kg").unknown == ("chini 1 kg",)


def test_devanagari_phrases_are_echoed_back_in_devanagari(parser):
    result = parser.parse("चामल २ बोरा, युनिकर्न पाउडर १ केजी")
    assert [a.text for a in result.ambiguous] == ["चामल"]
    assert result.unknown == ("युनिकर्न पाउडर १ केजी",)
