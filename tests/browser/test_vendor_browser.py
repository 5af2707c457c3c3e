"""A vendor in a real browser: accepts an order on the page (signed in on a phone-sized
screen), and the retailer is told on WhatsApp exactly what chat tells them when the vendor
accepts by chat."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import PHONE, Lived, Pages, overflow, sign_in, watch
from tests.fakegraph import FakeGraph
from tests.web.town import RAM

pytestmark = pytest.mark.browser

_NUMBER = re.compile(r"KH-\d+")


def _same(texts: list[str]) -> list[str]:
    return [_NUMBER.sub("KH-N", t) for t in texts]


async def test_a_vendor_accepts_an_order_on_the_page_and_the_shop_hears_what_chat_says(
        pages: Pages, graph: FakeGraph, lived: Lived):
    town = lived.town
    by_chat, by_page = await town.place(), await town.place()
    vendor = await town.vendor_of(by_chat)
    assert (await town.vendor_of(by_page)).id == vendor.id
    await town.texts_to(RAM)
    await town.world.phone(vendor.phone.lstrip("+")).say(f"accept {by_chat.number}")
    chat_told = await town.texts_to(RAM)
    assert chat_told and by_chat.number in chat_told[-1]

    page = await pages.open(PHONE)
    problems = watch(page)
    await sign_in(pages, page, graph, vendor.phone)
    await page.click("a[href='/app/orders']")
    await page.wait_for_selector(f"form[action='/app/orders/{by_page.number}/accept']")
    await pages.shot(page, "orders")
    found = await overflow(page)
    assert found["scroll"] <= PHONE["width"], found
    await page.click(f"form[action='/app/orders/{by_page.number}/accept'] button")
    await page.wait_for_selector("p.ok")
    await pages.shot(page, "accepted")
    assert by_page.number in await page.inner_text("p.ok")

    page_told = await town.texts_to(RAM)
    assert page_told and by_page.number in page_told[-1]
    assert _same(page_told) == _same(chat_told)
    assert problems == [], "\n".join(problems)
