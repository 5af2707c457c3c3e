"""Intents other than orders, in English, romanised Nepali and Devanagari."""

from __future__ import annotations

import pytest

from catalog.parser import OrderParser


@pytest.fixture(scope="module")
def parser() -> OrderParser:
    return OrderParser.from_csv()


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("status", "status"),
        ("mero order kaha pugyo?", "status"),
        ("मेरो अर्डर कहाँ पुग्यो?", "status"),
        ("अर्डर कहिले आउँछ", "status"),
        ("baki kati cha?", "dues"),
        ("बाँकी कति छ?", "dues"),
        ("how much do I owe", "dues"),
        ("history", "history"),
        ("purano order haru dekhau", "history"),
        ("पुरानो अर्डर", "history"),
        ("help", "help"),
        ("k garne ho? madat chaiyo", "help"),
        ("मद्दत चाहियो", "help"),
        ("namaste", "greeting"),
        ("नमस्ते 🙏", "greeting"),
        ("hello dai", "greeting"),
        ("ho", "confirm"),
        ("ok confirm", "confirm"),
        ("हो", "confirm"),
        ("ठीक छ", "confirm"),
        ("hoina, cancel", "cancel"),
        ("रद्द गर्नुहोस्", "cancel"),
        ("cancel", "cancel"),
        ("pahile jastai order", "repeat"),
        ("same as last time", "repeat"),
        ("पहिले जस्तै पठाउनु", "repeat"),
        ("nepali ma", "language"),
        ("English please", "language"),
        ("नेपालीमा", "language"),
        ("अंग्रेजीमा", "language"),
        ("the weather is nice", "other"),
        ("kasto cha", "greeting"),  # small talk is answered like a greeting
        ("sanchai hunuhuncha dai?", "greeting"),
        ("के छ?", "greeting"),
        ("2", "other"),
    ],
)
def test_intent_in_both_languages_and_scripts(parser: OrderParser, text: str, intent: str) -> None:
    result = parser.parse(text)
    assert result.intent == intent
    assert (result.items, result.ambiguous, result.unknown) == ((), (), ())


@pytest.mark.parametrize(
    "text", ["namaste dai, 2 bora chini", "नमस्ते, चिनी २ बोरा", "hello, 2 bora chini pathaunu"]
)
def test_greeting_followed_by_an_order_is_an_order(parser: OrderParser, text: str) -> None:
    result = parser.parse(text)
    assert result.intent == "order" and [i.sku for i in result.items] == ["SUGAR"]


def test_answer_word_inside_a_sentence_is_not_an_answer(parser: OrderParser) -> None:
    # "ho" is "yes" alone, but just "is" in a question.
    assert parser.parse("yo k ho").intent == "other"
