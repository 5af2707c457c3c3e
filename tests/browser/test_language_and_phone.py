"""The pages in Nepali and English (the toggle is remembered from page to page), and on a phone's
screen (390×844) where nothing sticks out sideways; no page logs an error on the way."""

from __future__ import annotations

import pytest

from tests.browser.conftest import ADMIN, PHONE, Lived, Pages, overflow, sign_in, watch
from tests.fakegraph import FakeGraph
from tests.web.town import RAM

pytestmark = pytest.mark.browser

VENDOR = "+9779810000001"


async def test_the_language_toggle_is_remembered_from_page_to_page(
        pages: Pages, graph: FakeGraph, lived: Lived):
    page = await pages.open()
    problems = watch(page)
    await sign_in(pages, page, graph, ADMIN)
    await page.goto(pages.url("/app/today"))
    assert await page.get_attribute("html", "lang") == "en"
    assert "Orders placed" in await page.inner_text("main")

    await page.click("a.language")
    await page.wait_for_selector("html[lang=ne]")
    await pages.shot(page, "today-ne")
    today = await page.inner_text("main")
    assert "राखिएका अर्डर" in today and "रु" in today
    # Another page, reached by its link (no ?lang=): still Nepali.
    await page.click("nav a[href='/app/users']")
    await page.wait_for_url(pages.url("/app/users"))
    assert await page.get_attribute("html", "lang") == "ne"
    assert "प्रयोगकर्ता" in await page.inner_text("main")
    await page.goto(pages.url("/app/analytics"))
    assert await page.get_attribute("html", "lang") == "ne"
    await pages.shot(page, "analytics-ne")

    await page.click("a.language")
    await page.wait_for_selector("html[lang=en]")
    await page.goto(pages.url("/app/today"))
    assert await page.get_attribute("html", "lang") == "en"
    assert problems == [], "\n".join(problems)


def _paths(lived: Lived) -> dict[tuple[str, str], list[str]]:
    waiting = lived.waiting.phone
    return {
        ("admin", ADMIN): ["/app", "/app/today", "/app/users", "/app/users?standing=waiting",
                           f"/app/users/{waiting}", f"/app/users/{RAM}", "/app/messages/failed",
                           "/app/analytics"],
        ("vendor", VENDOR): ["/app", "/app/orders", "/app/stock", "/app/receivables",
                             "/app/payments/new", "/app/statement", "/app/analytics"],
        ("shop", RAM): ["/app", "/app/orders", "/app/dues", "/app/statement", "/app/score",
                        "/app/analytics"],
    }


@pytest.mark.parametrize("lang", ["en", "ne"])
async def test_on_a_phone_no_page_is_wider_than_the_screen(
        pages: Pages, graph: FakeGraph, lived: Lived, lang: str):
    wide: dict[str, object] = {}
    page = await pages.open(PHONE)
    problems = watch(page)
    await page.goto(pages.url(f"/signin?lang={lang}"))
    await pages.shot(page, f"signin-{lang}")
    found = await overflow(page)
    if found["scroll"] > PHONE["width"]:
        wide["/signin"] = found
    for (who, phone), paths in _paths(lived).items():
        await page.context.clear_cookies()
        await page.goto(pages.url(f"/signin?lang={lang}"))
        await sign_in(pages, page, graph, phone)
        for path in paths:
            await page.goto(pages.url(path))
            assert await page.get_attribute("html", "lang") == lang, path
            await pages.shot(page, f"{lang}-{who}-{path.strip('/').replace('/', '-')}")
            found = await overflow(page)
            if found["scroll"] > PHONE["width"]:
                wide[f"{who} {path}"] = found
    assert wide == {}
    assert problems == [], "\n".join(problems)
