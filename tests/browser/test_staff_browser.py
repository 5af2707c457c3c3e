"""An admin in a real browser: finds the waiting shop, approves it, and the shop is told on
WhatsApp exactly as chat's approval tells them."""

from __future__ import annotations

import pytest

from ledger import credit, registrations
from locales.render import Messages
from tests.browser.conftest import ADMIN, PHONE, Lived, Pages, overflow, sign_in, watch
from tests.conftest import eventually
from tests.fakegraph import FakeGraph

pytestmark = pytest.mark.browser


async def test_an_admin_approves_a_waiting_shop_on_the_page_and_the_shop_is_told(
        pages: Pages, graph: FakeGraph, lived: Lived):
    page = await pages.open()
    await sign_in(pages, page, graph, ADMIN)
    await page.click("a[href='/app/users']")
    await page.goto(pages.url("/app/users?standing=waiting"))
    await pages.shot(page, "waiting")
    await page.click("text=Kale Store")
    await page.wait_for_selector("form[action$='/approve']")
    await pages.shot(page, "person")
    await page.click("form[action$='/approve'] button[value=RETAILER]")
    await page.wait_for_selector("p.done")
    await pages.shot(page, "approved")
    assert await page.inner_text("p.done") == "Approved: Kale has been told on WhatsApp."

    async with lived.town.pool.acquire() as conn:
        assert await registrations.status(conn, lived.waiting.id) == "APPROVED"
        limit = (await credit.position(conn, lived.waiting.id)).limit_paisa
    told = Messages().render("en", "reg_approved", name="Kale", role="RETAILER",
                             limit_paisa=limit)
    wa_id = (lived.waiting.phone or "").lstrip("+")
    assert await eventually(lambda: graph.texts_to(wa_id)) == [told]


@pytest.mark.parametrize("lang", ["en", "ne"])
async def test_the_health_panel_fits_a_phone_and_links_the_failed_messages(
        pages: Pages, graph: FakeGraph, lived: Lived, lang: str):
    async with lived.town.pool.acquire() as conn:
        await conn.execute(
            """INSERT INTO outbox (recipient, payload, status, attempts, last_error)
               VALUES ('9779800000998', '{"type": "text", "text": {"body": "lost"}}',
                       'failed', 1, 'Graph API error 131026 (HTTP 400): undeliverable')""")
    page = await pages.open(PHONE)
    problems = watch(page)
    await page.goto(pages.url(f"/signin?lang={lang}"))
    await sign_in(pages, page, graph, ADMIN)
    await page.goto(pages.url("/app/today#health"))
    panel = await page.wait_for_selector(".figures.health")
    await pages.shot(page, f"today-health-phone-{lang}")
    text = await panel.inner_text()
    heading = {"en": "Replies waiting to be sent", "ne": "पठाउन बाँकी जवाफ"}[lang]
    assert heading in text and "131026" in text
    found = await overflow(page)
    assert found["scroll"] <= PHONE["width"], found
    # At most two figures to a row on a phone: none squeezed into a sliver.
    widths = await page.eval_on_selector_all(
        ".figures.health .figure", "els => els.map(e => e.getBoundingClientRect().width)")
    assert len(widths) == 6 and min(widths) > PHONE["width"] / 3
    await page.click(".figures.health a[href='/app/messages/failed']")
    await page.wait_for_url(pages.url("/app/messages/failed"))
    assert "undeliverable" in await page.inner_text("main")
    assert problems == [], "\n".join(problems)
