"""An admin in a real browser: finds the waiting shop, approves it, and the shop is told on
WhatsApp exactly as chat's approval tells them."""

from __future__ import annotations

import pytest

from ledger import credit, registrations
from locales.render import Messages
from tests.browser.conftest import ADMIN, Lived, Pages, sign_in
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
