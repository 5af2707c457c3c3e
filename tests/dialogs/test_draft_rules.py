"""The rules that decide a retailer's draft, tested without a database: merging and editing
lines, reading answers, what the conversation stores, and the button-id scheme."""

from __future__ import annotations

from functools import cache

import pytest

from catalog.csvload import load_catalog
from catalog.parser import OrderParser
from dialogs import buttons
from dialogs.retailer import answers
from dialogs.retailer.draft import (
    MAX_LINES,
    MAX_QUESTIONS,
    Asking,
    Question,
    add_answer,
    merge,
    remove,
    revision,
)
from ledger.pricing import LineRequest

SUGAR, SALT = LineRequest("SUGAR", 50_000, "bora"), LineRequest("SALT", 5_000, "packet")


@cache
def parser() -> OrderParser:
    return OrderParser(load_catalog())


def test_adding_sums_quantities_and_a_new_unit_word_replaces_the_old():
    merged = merge([SUGAR, SALT], [LineRequest("SUGAR", 1_000, "kg")], "add")
    assert merged == [LineRequest("SUGAR", 51_000, "kg"), SALT]


def test_setting_replaces_the_quantity_and_keeps_the_unit_when_none_is_typed():
    assert merge([SUGAR], [LineRequest("SUGAR", 2_000, "")], "set") == [
        LineRequest("SUGAR", 2_000, "bora")]


def test_new_products_join_at_the_end_up_to_the_bound():
    lines = [LineRequest(f"SKU{n}", 1_000) for n in range(MAX_LINES)]
    assert merge(lines, [LineRequest("ONE-MORE", 1_000)], "add") == lines
    assert merge([SUGAR], [SALT], "add") == [SUGAR, SALT]


def test_an_answer_adds_to_its_line_keeping_that_lines_unit():
    assert add_answer([SUGAR], LineRequest("SUGAR", 1_000, "kg")) == [
        LineRequest("SUGAR", 51_000, "bora")]
    assert add_answer([SUGAR], SALT) == [SUGAR, SALT]


def test_removing_a_product_drops_its_line_and_any_question_about_it():
    dal = Question("dal", "2", "kg", ("DAL-RAHAR", "DAL-MAS"))
    rice = Question("chamal", None, None, ("RICE-MANSULI", "RICE-BASMATI"))
    lines, asking = remove([SUGAR, SALT], Asking(7, (dal, rice)), {"SALT", "DAL-MAS"})
    assert lines == [SUGAR] and asking.questions == (rice,) and asking.order_id == 7


def test_what_a_conversation_stores_reads_back_and_bad_data_reads_as_nothing():
    asking = Asking(12, (Question("dal", "2", "kg", ("DAL-RAHAR",), "unit"),), ("xyz",))
    assert Asking.from_json(asking.to_json()) == asking
    for bad in ({"order_id": "12"}, {"order_id": True}, {"questions": "dal"},
                {"questions": [3, None]}, {"unknown": 5}, {}):
        read = Asking.from_json(bad)
        assert read.order_id is None and read.questions == () and read.unknown == ()
    legacy = {"lines": [{"sku": "SUGAR"}], "order_id": 3, "questions": [], "unknown": []}
    assert Asking.from_json(legacy) == Asking(3)


def test_questions_are_bounded_and_answered_one_at_a_time():
    many = [Question(f"w{n}", None, None, ("A", "B")) for n in range(MAX_QUESTIONS + 5)]
    asking = Asking().asked(many)
    assert len(asking.questions) == MAX_QUESTIONS
    assert asking.answered().questions == tuple(many[1:MAX_QUESTIONS])


def test_a_drafts_revision_changes_with_its_content_only():
    one = revision([("SUGAR", 1000, "kg")], 11_500)
    assert one == revision([("SUGAR", 1000, "kg")], 11_500)
    assert one != revision([("SUGAR", 3000, "kg")], 34_500)
    assert len(one) == 8


@pytest.mark.parametrize(("text", "mode"), [
    ("chini 1 bora thap", "add"), ("nun hatau", "remove"), ("चिनी थप", "add"),
    ("चिनी हटाउनुहोस्", "remove"), ("chini 2 bora", "set"), ("remove salt", "remove"),
])
def test_an_edit_message_names_its_kind(text, mode):
    found, rest = answers.edit_mode(text)
    assert found == mode
    assert ("thap" not in rest and "hatau" not in rest) or mode == "set"


def test_an_answer_picks_by_number_or_by_name_with_its_own_quantity():
    rice = ("RICE-MANSULI", "RICE-BASMATI", "RICE-JEERA")
    parse = parser().parse
    assert answers.chosen("2", rice, parse) == ("RICE-BASMATI", None)
    assert answers.chosen("२", rice, parse) == ("RICE-BASMATI", None)
    assert answers.chosen("9", rice, parse) == (None, None)
    sku, said = answers.chosen("basmati 20 bora", rice, parse)
    assert sku == "RICE-BASMATI" and said is not None and said.quantity_stated
    assert answers.chosen("wai wai", rice, parse)[0] is None


def test_cancelling_a_placed_order_needs_its_number_and_a_cancel_word():
    assert answers.cancels_order("cancel KH-000123")
    assert answers.cancels_order("KH 12 radda garnus")
    assert not answers.cancels_order("cancel")
    assert not answers.cancels_order("status KH-000123")


def test_button_ids_are_kind_action_public_id_and_older_ids_still_read():
    assert buttons.make("order", "accept", "KH-000123") == "order:accept:KH-000123"
    assert buttons.parse("order:confirm:KH-000001@ab12cd34") == buttons.Tap(
        "order", "confirm", "KH-000001@ab12cd34")
    assert buttons.parse("user:approve:+9779845454545") == buttons.Tap(
        "user", "approve", "+9779845454545")
    assert buttons.parse("vendor:accept:KH-000001") == buttons.Tap("order", "accept", "KH-000001")
    assert buttons.parse("reg:block:17") == buttons.Tap("user", "block", "17")
    assert buttons.parse("pick:chamal:RICE-MANSULI") == buttons.Tap("product", "pick",
                                                                    "RICE-MANSULI")
    assert buttons.parse("lang:en") == buttons.Tap("lang", "set", "en")
    for foreign in ("", "hello", "a:b", "::", "order::KH-1", ":accept:KH-1"):
        assert buttons.parse(foreign) is None, foreign
