"""Numbers and units: every way a quantity is typed, and conversion to the base unit."""

from __future__ import annotations

from decimal import Decimal

import pytest

from catalog.csvload import load_catalog
from catalog.model import Product
from catalog.quantity import Quantity, Vocabulary, phrase_key


@pytest.fixture(scope="module")
def vocabulary() -> Vocabulary:
    return Vocabulary.from_csv()


@pytest.fixture(scope="module")
def products() -> dict[str, Product]:
    return {p.sku: p for p in load_catalog()}


@pytest.mark.parametrize(
    ("word", "value"),
    [
        ("2", "2"),
        ("1.5", "1.5"),
        ("1/2", "0.5"),
        ("dedh", "1.5"),
        ("aadha", "0.5"),
        ("adhai", "2.5"),
        ("dui", "2"),
        ("दुई", "2"),
        ("डेढ", "1.5"),
        ("आधा", "0.5"),
        ("पच्चीस", "25"),
    ],
)
def test_number_words_digits_and_fractions_are_numbers(
    vocabulary: Vocabulary, word: str, value: str
) -> None:
    assert vocabulary.number(phrase_key(word)) == Decimal(value)


@pytest.mark.parametrize("word", ["chini", "1/0", "", "x2"])
def test_other_words_are_not_numbers(vocabulary: Vocabulary, word: str) -> None:
    assert vocabulary.number(word) is None


@pytest.mark.parametrize(
    ("word", "unit"),
    [
        ("kgs", "kg"),
        ("किलो", "kg"),
        ("के.जी.", "kg"),
        ("peti", "carton"),
        ("पेटी", "carton"),
        ("bori", "bora"),
        ("बोरा", "bora"),
        ("darjan", "dozen"),
        ("wota", "piece"),
        ("ltr", "l"),
        ("लिटर", "l"),
        ("gm", "g"),
    ],
)
def test_unit_synonyms_in_both_scripts_name_their_unit(
    vocabulary: Vocabulary, word: str, unit: str
) -> None:
    assert vocabulary.unit(phrase_key(word)) == unit


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("10kg", ["10", "kg"]),
        ("chini10kg", ["chini", "10", "kg"]),
        ("2bora", ["2", "bora"]),
        ("2pm", ["2pm"]),
        ("chini10", ["chini", "10"]),
    ],
)
def test_numbers_glued_to_units_or_names_are_split_but_names_survive(
    vocabulary: Vocabulary, text: str, words: list[str]
) -> None:
    assert [w.text for w in vocabulary.words(text)] == words


@pytest.mark.parametrize(
    ("sku", "number", "unit", "base"),
    [
        ("SUGAR", "2", "bora", "100"),
        ("SUGAR", "500", "g", "0.5"),
        ("SUGAR", "3", None, "3"),
        ("OIL-MUSTARD", "500", "ml", "0.5"),
        ("TEA-TOKLA", "1", "kg", "2"),
        ("DRINK-COKE", "5", "piece", "5"),
        ("MILK-DDC", "1", "dozen", "12"),
        ("SALT-IODIZED", "2", "kg", "2"),
        ("SALT-IODIZED", "500", "g", "0.5"),
        ("RICE-BASMATI", "1", "packet", "5"),
    ],
)
def test_quantity_converts_to_base_unit_through_packs_and_metric(
    vocabulary: Vocabulary,
    products: dict[str, Product],
    sku: str,
    number: str,
    unit: str | None,
    base: str,
) -> None:
    quantity = Quantity(Decimal(number), unit)
    assert vocabulary.to_base(products[sku], quantity) == Decimal(base)


def test_unit_the_product_is_not_sold_in_does_not_convert(
    vocabulary: Vocabulary, products: dict[str, Product]
) -> None:
    assert vocabulary.to_base(products["SUGAR"], Quantity(Decimal(2), "carton")) is None
    assert vocabulary.to_base(products["SUGAR"], Quantity(Decimal(2), "piece")) is None
