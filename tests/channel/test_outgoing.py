"""Replies become Graph API bodies within WhatsApp's limits."""

from __future__ import annotations

import pytest

from bot.outgoing import build, template_fallback
from locales.render import Messages
from locales.replies import Button, Reply, Row

MESSAGES = Messages()


def test_buttons_become_an_interactive_button_message_with_titles_cut_to_20():
    payload = build(MESSAGES, "en", Reply("help", {"name": ""}, buttons=(
        Button("order:confirm:KH-000001", "Confirm"),
        Button("order:edit:KH-000001", "A very long button title indeed"))))
    buttons = payload["interactive"]["action"]["buttons"]
    assert payload["interactive"]["type"] == "button"
    assert [b["reply"]["id"] for b in buttons] == ["order:confirm:KH-000001",
                                                    "order:edit:KH-000001"]
    assert all(len(b["reply"]["title"]) <= 20 for b in buttons)


def test_more_than_three_buttons_or_ten_rows_is_a_programming_error():
    with pytest.raises(ValueError):
        build(MESSAGES, "en", Reply("help", {"name": ""},
                                    buttons=tuple(Button(f"b{i}", "x") for i in range(4))))
    with pytest.raises(ValueError):
        build(MESSAGES, "en", Reply("help", {"name": ""},
                                    rows=tuple(Row(f"r{i}", "x") for i in range(11))))


def test_rows_become_a_list_message_within_limits():
    payload = build(MESSAGES, "ne", Reply("help", {"name": ""}, rows=(
        Row("product:pick:RICE-MANSULI", "Mansuli Rice with a much longer name", "x" * 100),)))
    interactive = payload["interactive"]
    row = interactive["action"]["sections"][0]["rows"][0]
    assert interactive["type"] == "list"
    assert len(row["title"]) <= 24 and len(row["description"]) <= 72
    assert interactive["action"]["button"] == "छान्नुहोस्"


def test_the_template_fallback_flattens_the_text_into_one_parameter():
    payload = build(MESSAGES, "en", Reply("help", {"name": "Ram"}))
    fallback = template_fallback(payload, "khaacho_update", "en")
    text = fallback["template"]["components"][0]["parameters"][0]["text"]
    assert fallback["template"]["language"]["code"] == "en"
    assert "\n" not in text and "Ram" in text


async def test_the_rate_limiter_spaces_sends_and_pauses_when_throttled():
    from bot.sender import RateLimiter

    now = 100.0
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        nonlocal now
        slept.append(round(seconds, 6))
        now += seconds

    limiter = RateLimiter(10, clock=lambda: now, sleep=sleep)
    for _ in range(3):
        await limiter.acquire()
    assert slept == [0.1, 0.1]  # the first goes at once, then one every 1/10 s
    limiter.pause(5)
    await limiter.acquire()
    assert slept[-1] == 5.0


def test_a_reply_names_its_own_template_with_parameters_in_the_readers_language():
    from datetime import UTC, datetime

    from bot.outgoing import named_template
    from locales.replies import Param, Template

    vendors = [{"vendor_name": "Bheri Traders", "total_paisa": 500_000,
                "pay": [{"method": "esewa", "details": "9810000001"}]}]
    reply = Reply("reminder_summary", {"vendors": vendors, "more_vendors": 0},
                  whatsapp_template=Template("khaacho_overdue", (
                      Param("Ram"), Param(500_000, "money"), Param(12, "number"),
                      Param(datetime(2027, 1, 1, 6, tzinfo=UTC), "day"),
                      Param("reminder_summary", "message"))))
    body = named_template(MESSAGES, "ne", reply, reply.whatsapp_template, "ne")["template"]
    assert (body["name"], body["language"]["code"]) == ("khaacho_overdue", "ne")
    assert [p["text"] for p in body["components"][0]["parameters"]] == [
        "Ram", "रु ५,०००", "१२", "२०८३ पुस १७ (२०२७-०१-०१)",
        "Bheri Traders रु ५,००० (इसेवा 9810000001)"]
    with pytest.raises(TypeError):
        named_template(MESSAGES, "en", reply, Template("t", (Param("x", "money"),)), "en")
    with pytest.raises(ValueError, match="closed window"):
        Reply("help", window_closed=True)
