"""Hostile or broken input gets a clean answer, never an exception, in bounded time."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.parser import MAX_ITEMS, OrderParser


@pytest.fixture(scope="module")
def parser() -> OrderParser:
    return OrderParser.from_csv()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "\n\n\n",
        "🙏🙏🙏",
        "😀" * 3000,
        "\x00\x01\x02\x1b\x7f",
        "\u202e\u200b\ufeff",
        "'; DROP TABLE orders; --",
        "SELECT * FROM users WHERE 1=1",
        "<script>alert(1)</script>",
        "{{7*7}}",
        "%s%s%n",
        "a" * 10_000,
        "१" * 10_000,
        "9" * 500,
        ", , , + + ra ra",
        "0 kg chini",
        "-5 kg chini",
        "1/0 kg chini",
    ],
)
def test_bad_input_gets_a_clean_answer(parser: OrderParser, text: str) -> None:
    result = parser.parse(text)
    assert result.intent in ("order", "other")
    assert result.items == () or all(i.quantity > 0 for i in result.items)


def test_non_string_input_is_other(parser: OrderParser) -> None:
    assert parser.parse(None).intent == "other"  # type: ignore[arg-type]


def test_long_message_is_truncated_and_flagged(parser: OrderParser) -> None:
    result = parser.parse("chini 2 kg " + "x" * 10_000)
    assert result.truncated


def test_item_count_is_capped(parser: OrderParser) -> None:
    started = time.perf_counter()
    result = parser.parse("chini 1 kg, " * 400)
    assert time.perf_counter() - started < 1.0
    assert len(result.items) + len(result.unknown) + len(result.ambiguous) <= MAX_ITEMS
    assert result.truncated


def test_absurd_quantity_is_asked_about_not_ordered(parser: OrderParser) -> None:
    result = parser.parse("chini 99999999 kg")
    assert result.items == () and result.unknown == ()
    [ambiguity] = result.ambiguous
    assert (ambiguity.candidates, ambiguity.reason) == (("SUGAR",), "quantity")


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_any_text_parses_without_exception(text: str) -> None:
    result = _PARSER.parse(text)
    assert len(result.items) + len(result.ambiguous) + len(result.unknown) <= MAX_ITEMS
    for ambiguity in result.ambiguous:
        assert 1 <= len(ambiguity.candidates) <= 10


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "chini",
                "2",
                "kg",
                "bora",
                "dal",
                "ra",
                ",",
                "dedh",
                "१",
                "चामल",
                "tin",
                "1/2",
                "hello",
                "\n1.",
                "wai",
                "x",
            ]
        ),
        max_size=30,
    )
)
def test_any_mix_of_order_words_parses_without_exception(words: list[str]) -> None:
    result = _PARSER.parse(" ".join(words))
    assert all(i.quantity > 0 for i in result.items)


_PARSER = OrderParser.from_csv()
