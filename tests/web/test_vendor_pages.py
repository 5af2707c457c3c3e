"""The vendor's pages through the real app: each renders for a vendor (English and Nepali) and
refuses other roles, forms refuse without CSRF, and an action on the page queues exactly the
WhatsApp message chat sends the retailer."""

from __future__ import annotations

import re

import pytest

from tests.web.conftest import csrf_of
from tests.web.town import RAM, Town

_NUMBER = re.compile(r"KH-\d+")

VENDOR_PAGES = ("/app/orders", "/app/stock", "/app/receivables", "/app/payments/new",
                "/app/statement")


def _same(texts: list[str]) -> list[str]:
    return [_NUMBER.sub("KH-N", t) for t in texts]


async def _page(client, path: str) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    got = await client.get(path)
    return got.status, await got.text()


@pytest.mark.parametrize("action", ["accept", "reject"])
async def test_an_action_on_the_page_tells_the_retailer_what_chat_tells_them(
        client, town: Town, action):
    by_chat, by_page = await town.place(), await town.place()
    vendor = await town.vendor_of(by_chat)
    assert (await town.vendor_of(by_page)).id == vendor.id
    await town.texts_to(RAM)
    chat = "reject {} out of stock" if action == "reject" else "accept {}"
    await town.world.phone(vendor.phone.lstrip("+")).say(chat.format(by_chat.number))
    chat_told = await town.texts_to(RAM)
    await town.sign_in(client, vendor.phone)
    status, html = await _page(client, "/app/orders")
    assert status == 200 and by_page.number in html
    done = await client.post(f"/app/orders/{by_page.number}/{action}", allow_redirects=False,
                             data={"csrf": csrf_of(html), "reason": "out of stock"})
    assert done.status == 303, await done.text()
    assert done.headers["Location"] == f"/app/orders?done={action}&order={by_page.number}"
    page_told = await town.texts_to(RAM)
    assert chat_told and _same(page_told) == _same(chat_told)
    status, html = await _page(client, done.headers["Location"])
    assert 'class="ok"' in html and by_page.number in html


async def test_a_form_without_csrf_is_refused_and_changes_nothing(client, town: Town):
    order = await town.place()
    vendor = await town.vendor_of(order)
    await town.sign_in(client, vendor.phone)
    refused = await client.post(f"/app/orders/{order.number}/accept", data={},
                                allow_redirects=False)
    assert refused.status == 403
    async with town.pool.acquire() as conn:
        assert await conn.fetchval("SELECT status FROM orders WHERE id = $1",
                                   order.id) == "VENDOR_ASSIGNED"


async def test_another_vendors_order_reads_as_missing_on_the_page(client, town: Town):
    order = await town.place()
    vendor = await town.vendor_of(order)
    async with town.pool.acquire() as conn:
        other = await conn.fetchval(
            "SELECT phone FROM users WHERE role = 'VENDOR' AND id <> $1 ORDER BY id LIMIT 1",
            vendor.id)
    await town.sign_in(client, other)
    _, html = await _page(client, "/app/orders")
    refused = await client.post(f"/app/orders/{order.number}/accept",
                                data={"csrf": csrf_of(html)}, allow_redirects=False)
    assert refused.status == 404
    assert "KH-" in await refused.text()


@pytest.mark.parametrize("lang", ["en", "ne"])
async def test_every_vendor_page_renders_in_both_languages(client, town: Town, lang):
    order = await town.place()
    vendor = await town.vendor_of(order)
    await town.sign_in(client, vendor.phone)
    for path in VENDOR_PAGES:
        status, html = await _page(client, f"{path}?lang={lang}")
        assert status == 200, (path, html[:500])
        assert f'<html lang="{lang}">' in html
        assert ("रु" in html) == (lang == "ne") or path == "/app/statement"


async def test_a_retailer_is_refused_the_vendor_pages(client, town: Town):
    await town.sign_in(client, RAM)
    for path in ("/app/stock", "/app/receivables", "/app/payments/new"):
        status, _ = await _page(client, path)
        assert status == 403, path


async def test_a_price_three_times_off_is_asked_about_before_it_is_saved(client, town: Town):
    order = await town.place()
    vendor = await town.vendor_of(order)
    sku = order.lines[0].sku
    before = order.lines[0].unit_price_paisa
    await town.sign_in(client, vendor.phone)
    _, html = await _page(client, "/app/stock?lang=en")
    wild = str(before * 5 // 100)
    asked = await client.post("/app/stock", data={"csrf": csrf_of(html), "sku": sku,
                                                  "price": wild, "unit": order.lines[0].base_unit})
    assert asked.status == 409
    text = await asked.text()
    assert "Please check the price" in text and 'name="confirm" value="yes"' in text
    async with town.pool.acquire() as conn:
        kept = await conn.fetchval("SELECT price_paisa FROM vendor_products WHERE vendor_id = $1 "
                                   "AND sku = $2", vendor.id, sku)
    assert kept == before
    saved = await client.post("/app/stock", allow_redirects=False, data={
        "csrf": csrf_of(text), "sku": sku, "price": wild, "unit": order.lines[0].base_unit,
        "confirm": "yes"})
    assert saved.status == 303
    async with town.pool.acquire() as conn:
        now = await conn.fetchval("SELECT price_paisa FROM vendor_products WHERE vendor_id = $1 "
                                  "AND sku = $2", vendor.id, sku)
    assert now == int(wild) * 100


async def test_a_claim_confirmed_on_the_page_is_posted_and_the_retailer_told(
        client, town: Town):
    from tests.web.conftest import bearer

    order = await town.place()
    vendor = await town.vendor_of(order)
    token = await town.token(vendor.phone)
    await client.post(f"/api/v1/orders/{order.number}/accept", headers=bearer(token))
    shop = await town.token(RAM)
    made = await client.post("/api/v1/payments/claims", headers=bearer(shop),
                             json={"vendor_id": vendor.id, "amount_paisa": 700})
    ref = (await made.json())["ref"]
    await town.texts_to(RAM)
    await town.sign_in(client, vendor.phone)
    html = await (await client.get("/app/payments/new")).text()
    assert ref in html
    done = await client.post(f"/app/claims/{ref}/confirm", data={"csrf": csrf_of(html)})
    assert done.status == 200 and 'class="ok"' in await done.text()
    assert len(await town.texts_to(RAM)) == 1
    async with town.pool.acquire() as conn:
        assert await conn.fetchval("SELECT status FROM payment_claims WHERE ref = $1",
                                   ref) == "confirmed"


async def test_receivables_show_what_each_shop_owes_by_age(client, town: Town):
    from ledger import reports
    from locales import formats
    from tests.web.conftest import bearer

    order = await town.place()
    vendor = await town.vendor_of(order)
    token = await town.token(vendor.phone)
    await client.post(f"/api/v1/orders/{order.number}/accept", headers=bearer(token))
    retailer = await town.user(RAM)
    async with town.pool.acquire() as conn:
        each = await reports.ageing_by_retailer(conn, vendor.id, actor=vendor)
        alone = await reports.ageing(conn, actor=vendor, vendor_id=vendor.id,
                                     retailer_id=retailer.id)
    assert each[retailer.id] == alone and alone.d0_30 == order.total_paisa
    await town.sign_in(client, vendor.phone)
    html = await (await client.get("/app/receivables?lang=en")).text()
    assert f"/app/statement?retailer={retailer.id}" in html
    assert html.count(formats.money(order.total_paisa, "en")) >= 3  # owes, 0-30, and in all
