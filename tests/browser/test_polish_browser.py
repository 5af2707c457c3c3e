"""Small things on a phone-sized screen (390 px): every page carries its tabs, the analytics
page too; a shop's page names its owner as its owner; the stock page's Find button shows its
word whole; a statement's table fits the screen instead of scrolling sideways unannounced."""

from __future__ import annotations

import pytest

from ledger import users
from tests.browser.conftest import ADMIN, PHONE, Lived, Pages, Remote, sign_in, watch
from tests.fakegraph import FakeGraph
from tests.web.town import RAM

pytestmark = pytest.mark.browser

# Whether an element's content is wider than its box (clipped or scrolling sideways).
_SPILLS = """(sel) => [...document.querySelectorAll(sel)].map(
    e => e.scrollWidth > e.clientWidth + 1 || e.getBoundingClientRect().right
         > document.documentElement.clientWidth + 1)"""


async def _tabs(page: Remote) -> tuple[list[str], list[str]]:
    """The tabs' addresses, and the one marked current."""
    hrefs = await page.eval_on_selector_all("nav.tabs a", "els => els.map(e => e.pathname)")
    here = await page.eval_on_selector_all("nav.tabs a[aria-current=page]",
                                           "els => els.map(e => e.pathname)")
    return hrefs, here


async def test_the_analytics_page_carries_each_persons_tabs_and_their_tabs_lead_to_it(
        pages: Pages, graph: FakeGraph, lived: Lived):
    vendor = await lived.town.vendor_of(await lived.town.place())
    for phone, other, own in ((ADMIN, "/app/today", "/app/users"),
                              (vendor.phone, "/app/orders", "/app/stock"),
                              (RAM, "/app/orders", "/app/dues")):
        page = await pages.open(PHONE)
        problems = watch(page)
        await sign_in(pages, page, graph, phone)
        await page.goto(pages.url("/app/analytics?lang=en"))
        await page.wait_for_selector("section.chart")
        await pages.shot(page, f"analytics-{phone}")
        hrefs, here = await _tabs(page)
        assert own in hrefs and other in hrefs, hrefs
        assert here == ["/app/analytics"]
        await page.goto(pages.url(other))
        hrefs, here = await _tabs(page)
        assert "/app/analytics" in hrefs and here != ["/app/analytics"]
        await page.click("nav.tabs a[href='/app/analytics']")
        await page.wait_for_selector("section.chart")
        assert problems == []


async def test_a_shops_page_names_its_owner_and_its_statement_fits_a_phone(
        pages: Pages, graph: FakeGraph, lived: Lived):
    async with lived.town.pool.acquire() as conn:
        ram = await users.by_phone(conn, RAM)
    assert ram is not None
    page = await pages.open(PHONE)
    await sign_in(pages, page, graph, ADMIN)
    for lang, owner in (("en", "Owner"), ("ne", "मालिक")):
        await page.goto(pages.url(f"/app/users/{ram.public_id}?lang={lang}"))
        await pages.shot(page, f"shop-page-{lang}")
        facts = await page.eval_on_selector_all(
            "dl.facts dt", "els => els.map(e => [e.textContent, e.nextElementSibling.textContent])")
        assert [owner, "Ram Bahadur"] in facts, facts
        assert await page.evaluate(_SPILLS, ".scroll:has(table.statement)") == [False]


async def test_the_find_button_and_the_statement_table_fit_a_phone(
        pages: Pages, graph: FakeGraph, lived: Lived):
    async with lived.town.pool.acquire() as conn:
        ram = await users.by_phone(conn, RAM)
    assert ram is not None
    vendor = await lived.town.vendor_of(await lived.town.place())
    page = await pages.open(PHONE)
    await sign_in(pages, page, graph, vendor.phone)
    for lang in ("ne", "en"):
        await page.goto(pages.url(f"/app/stock?lang={lang}"))
        await pages.shot(page, f"stock-{lang}")
        assert await page.evaluate(_SPILLS, "form.search button") == [False]
        # Thumb-sized, with room around its word (it had none: 31 px for "खोज").
        box = await page.eval_on_selector(
            "form.search button", "e => [e.getBoundingClientRect().width, e.scrollWidth,"
                                  " parseFloat(getComputedStyle(e).paddingLeft)]")
        assert box[0] >= 44 and box[2] >= 8, box
        await page.goto(pages.url(f"/app/statement?retailer={ram.id}&lang={lang}"))
        await pages.shot(page, f"vendor-statement-{lang}")
        assert await page.evaluate(_SPILLS, ".scroll:has(table.statement)") == [False]
    page = await pages.open(PHONE)
    await sign_in(pages, page, graph, RAM)
    await page.goto(pages.url("/app/statement?lang=ne"))
    await pages.shot(page, "shop-statement-ne")
    assert await page.evaluate(_SPILLS, ".scroll:has(table.statement)") == [False]
