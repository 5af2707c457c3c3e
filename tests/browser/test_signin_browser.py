"""Signing in in a real browser with the code the app sent on WhatsApp."""

from __future__ import annotations

import pytest

from tests.browser.conftest import Pages, sign_in
from tests.web.town import RAM, Town

pytestmark = pytest.mark.browser


async def test_a_shop_signs_in_with_the_code_sent_to_its_whatsapp(pages: Pages, graph, town: Town):
    page = await pages.open()
    await sign_in(pages, page, graph, RAM)
    await pages.shot(page, "app")
    assert page.url == pages.url("/app")
    assert "Ram" in await page.inner_text("main")
