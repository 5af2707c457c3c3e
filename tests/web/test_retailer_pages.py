"""The retailer's pages (orders, cancel, dues, score, statement) and the statement downloads
both sides use, plus the vendor's payment page: each renders for its role in both languages,
refuses the others, and its actions tell the other side what chat tells them."""

from __future__ import annotations

import re

import pytest

from tests.web.conftest import bearer, csrf_of
from tests.web.town import RAM, Town

RETAILER_PAGES = ("/app/orders", "/app/dues", "/app/statement", "/app/score")
_IDS = re.compile(r"\b(KH|P)-\d+")
_FIGURES = re.compile(r"[0-9०-९][0-9०-९,.]*")


def _same(texts: list[str]) -> list[str]:
    return [_FIGURES.sub("N", _IDS.sub(r"\1-N", t)) for t in texts]


@pytest.mark.parametrize("lang", ["en", "ne"])
async def test_every_retailer_page_renders_in_both_languages(client, town: Town, lang):
    order = await town.place()
    await town.sign_in(client, RAM)
    for path in RETAILER_PAGES:
        page = await client.get(f"{path}?lang={lang}")
        html = await page.text()
        assert page.status == 200, (path, html[:300])
        assert f'<html lang="{lang}">' in html
    orders = await (await client.get(f"/app/orders?lang={lang}")).text()
    assert order.number in orders
    assert ("थोक बिक्रेताको जवाफ कुर्दै" in orders) == (lang == "ne")


async def test_a_vendor_is_refused_the_retailer_pages(client, town: Town):
    order = await town.place()
    await town.sign_in(client, (await town.vendor_of(order)).phone)
    for path in ("/app/dues", "/app/score"):
        assert (await client.get(path)).status == 403


async def test_a_retailer_cancels_on_the_page_and_the_vendor_hears_as_in_chat(
        client, town: Town):
    by_chat, by_page = await town.place(), await town.place()
    vendor = await town.vendor_of(by_chat)
    await town.world.phone(RAM.lstrip("+")).say(f"cancel {by_chat.number}")
    chat_told = await town.texts_to(vendor.phone)
    await town.sign_in(client, RAM)
    html = await (await client.get("/app/orders")).text()
    done = await client.post(f"/app/orders/{by_page.number}/cancel",
                             data={"csrf": csrf_of(html)}, allow_redirects=False)
    assert done.status == 303
    assert _same(await town.texts_to(vendor.phone)) == _same(chat_told)
    without = await client.post(f"/app/orders/{by_page.number}/cancel", data={})
    assert without.status == 403


async def test_statements_download_as_pdf_and_csv_for_both_sides(client, town: Town):
    order = await town.place()
    vendor = await town.vendor_of(order)
    token = await town.token(vendor.phone)
    await client.post(f"/api/v1/orders/{order.number}/accept", headers=bearer(token))
    await town.sign_in(client, RAM)
    page = await client.get(f"/app/statement?vendor={vendor.id}&lang=en")
    assert page.status == 200 and order.number in await page.text()
    pdf = await client.get(f"/app/statement/download?vendor={vendor.id}&format=pdf")
    assert pdf.status == 200 and pdf.content_type == "application/pdf"
    assert (await pdf.read()).startswith(b"%PDF")
    csv = await client.get(f"/app/statement/download?vendor={vendor.id}&format=csv&lang=en")
    assert csv.status == 200 and order.number in (await csv.read()).decode("utf-8-sig")
    retailer = await town.user(RAM)
    client.session.cookie_jar.clear()
    await town.sign_in(client, vendor.phone)
    mine = await client.get(f"/app/statement/download?retailer={retailer.id}&format=pdf")
    assert mine.status == 200 and (await mine.read()).startswith(b"%PDF")
    async with town.pool.acquire() as conn:
        stranger = await conn.fetchval(
            "SELECT id FROM users WHERE role = 'RETAILER' AND id NOT IN (SELECT retailer_id "
            "FROM ledger_accounts WHERE vendor_id = $1) AND id NOT IN (SELECT retailer_id FROM "
            "orders WHERE vendor_id = $1) ORDER BY id LIMIT 1", vendor.id)
    assert stranger is not None
    assert (await client.get(f"/app/statement/download?retailer={stranger}&format=pdf")
            ).status == 404


async def test_a_payment_recorded_on_the_page_tells_the_retailer_as_chat_does(
        client, town: Town):
    first, second = await town.place(), await town.place()
    vendor = await town.vendor_of(first)
    token = await town.token(vendor.phone)
    for order in (first, second):
        await client.post(f"/api/v1/orders/{order.number}/accept", headers=bearer(token))
    await town.texts_to(RAM)
    await town.world.phone(vendor.phone.lstrip("+")).say(f"paid {first.number} 10")
    chat_told = await town.texts_to(RAM)
    await town.sign_in(client, vendor.phone)
    html = await (await client.get("/app/payments/new?lang=en")).text()
    retailer = await town.user(RAM)
    assert f'value="{retailer.id}"' in html
    nonce = re.search(r'name="nonce" value="([^"]+)"', html)
    assert nonce
    form = {"csrf": csrf_of(html), "nonce": nonce.group(1), "retailer": str(retailer.id),
            "amount": "10", "method": "cash"}
    done = await client.post("/app/payments/new", data=form)
    assert done.status == 200 and 'class="ok"' in await done.text()
    assert _same(await town.texts_to(RAM)) == _same(chat_told)
    again = await client.post("/app/payments/new", data=form)  # sent twice: recorded once
    assert again.status == 200
    assert await town.texts_to(RAM) == []
    async with town.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM payments WHERE retailer_id = $1",
                                   retailer.id) == 2
    bad = await client.post("/app/payments/new", data={**form, "amount": "lots",
                                                       "nonce": "x2"})
    assert bad.status == 422
