"""The analytics page, its CSV files and its API: the numbers of a small ledger built through
the services, in both languages, for each role, and bad periods answered politely."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime, timedelta

import pytest

from ledger import analytics
from tests.web.conftest import People, api_token, bearer, sell_oil_yesterday, web_sign_in

_SPEC = re.compile(r'<script type="application/json" class="chart-data">(.*?)</script>', re.S)


@pytest.fixture
async def sold(pool, people: People) -> datetime:  # type: ignore[no-untyped-def]
    """Yesterday (Nepal noon): Ram Kirana bought 2 l of oil (Rs 480) from Bheri Traders, who
    accepted, dispatched and delivered it; then the analytics were refreshed."""
    at, _ = await sell_oil_yesterday(pool, people)
    return at


def _specs(html: str) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(s.replace("<\\/", "</")) for s in _SPEC.findall(html)]


async def test_staff_see_every_chart_with_its_numbers_embedded_and_a_table(
        client, graph, people, sold):
    await web_sign_in(client, graph, people.admin.phone)
    page = await client.get("/app/analytics")
    html = await page.text()
    assert page.status == 200
    for heading in ("Orders placed and their value", "Products that sold most",
                    "Orders by area", "Shops ordering", "Shops that stopped ordering",
                    "Offers accepted", "Why orders were turned down", "What is owed",
                    "Shops by credit score"):
        assert heading in html
    assert "Orders: 1, worth Rs 480; the busiest day was" in html
    assert "Oil sold most: Rs 480, 100% of these sales." in html
    specs = _specs(html)
    orders_chart = specs[0]
    assert orders_chart["kind"] == "bar" and len(orders_chart["labels"]) == 30
    assert sum(orders_chart["datasets"][0]["data"]) == 1
    assert 480.0 in orders_chart["datasets"][1]["data"]
    assert "<table>" in html and "Rs 480" in html
    assert '/web/static/vendor/chart.umd.js' in html
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert "cdn" not in html.lower()
    for name in ("orders", "products", "areas", "overdue", "scores"):
        assert f'href="/app/analytics/{name}.csv?from=' in html


async def test_the_page_in_nepali_writes_rupees_and_digits_the_nepali_way(
        client, graph, people, sold):
    await web_sign_in(client, graph, people.vendor.phone)   # Bheri Traders reads Nepali
    html = await (await client.get("/app/analytics")).text()
    assert '<html lang="ne">' in html and "तपाईंको कारोबार एक नजरमा" in html
    assert "रु ४८०" in html and "तेल सबैभन्दा धेरै बिक्यो" in html
    assert "Orders by area" not in html and "क्षेत्रअनुसार अर्डर" not in html  # staff only


async def test_a_vendor_sees_only_their_own_numbers(client, graph, people, sold, pool):
    async with pool.acquire() as conn:
        from ledger import users
        other = await users.upsert(conn, phone="+9779810000002", name="Karnali Wholesale",
                                   role="VENDOR", language="en")
    await web_sign_in(client, graph, other.phone)
    html = await (await client.get("/app/analytics")).text()
    assert "Orders: 0, worth Rs 0" in html and "Rs 480" not in html
    # A vendor cannot ask for another's numbers: the filter is for staff.
    html = await (await client.get(f"/app/analytics?vendor={people.vendor.id}")).text()
    assert "Rs 480" not in html


async def test_a_shop_sees_its_own_purchases_only(client, graph, people, sold):
    await web_sign_in(client, graph, people.retailer.phone)
    html = await (await client.get("/app/analytics")).text()
    assert "Your orders and what they came to" in html
    assert "Your orders in this period: 1, worth Rs 480." in html
    assert "Products that sold most" not in html
    refused = await client.get("/app/analytics/products.csv")
    assert refused.status == 403


async def test_a_bad_period_is_explained_on_the_page(client, graph, people, sold):
    await web_sign_in(client, graph, people.admin.phone)
    page = await client.get("/app/analytics?from=2026-13-01")
    html = await page.text()
    assert page.status == 422
    assert "That period cannot be shown" in html and "is not a date" in html
    assert "Orders placed and their value" in html    # the default period instead
    page = await client.get("/app/analytics?from=2020-01-01&grain=day")
    assert page.status == 422 and "too many points" in await page.text()


async def test_csv_has_a_header_row_and_the_numbers(client, graph, people, sold):
    await web_sign_in(client, graph, people.admin.phone)
    day = (sold + timedelta(hours=5, minutes=45)).date().isoformat()
    got = await client.get(f"/app/analytics/orders.csv?from={day}&to={day}&grain=day")
    assert got.status == 200 and got.content_type == "text/csv"
    assert "attachment" in got.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(await got.text())))
    assert rows == [["start", "orders", "value_npr", "accepted", "delivered", "rejected",
                     "cancelled"], [day, "1", "480", "1", "1", "0", "0"]]
    products = list(csv.reader(io.StringIO(await (await client.get(
        f"/app/analytics/products.csv?from={day}&to={day}")).text())))
    assert products[0][:2] == ["sku", "name_en"] and products[1][:2] == ["TEL", "Oil"]
    bad = await client.get("/app/analytics/orders.csv?grain=hour")
    assert bad.status == 422 and "cannot be used" in await bad.text()
    assert (await client.get("/app/analytics/nothing.csv")).status == 404


async def test_the_api_answers_the_same_numbers(client, graph, people, sold):
    token = await api_token(client, graph, people.vendor.phone)
    day = (sold + timedelta(hours=5, minutes=45)).date().isoformat()
    got = await client.get(f"/api/v1/analytics/orders?from={day}&to={day}",
                           headers=bearer(token))
    body = await got.json()
    assert got.status == 200, body
    assert body["period"] == {"from": day, "to": day, "grain": "day"}
    assert body["rows"] == [{"start": day, "orders": 1, "value_paisa": 48_000, "accepted": 1,
                             "delivered": 1, "rejected": 0, "cancelled": 0}]
    assert body["refreshed_at"] is not None
    fulfilment = await (await client.get(f"/api/v1/analytics/fulfilment?from={day}&to={day}",
                                         headers=bearer(token))).json()
    assert fulfilment["rows"][0]["accept_minutes"] == 20.0
    refused = await client.get("/api/v1/analytics/areas", headers=bearer(token))
    assert refused.status == 403 and (await refused.json())["error"]["code"]
    bad = await client.get("/api/v1/analytics/orders?from=2020-01-01", headers=bearer(token))
    error = (await bad.json())["error"]
    assert bad.status == 422 and error["code"] == "analytics.invalid"
    bad = await client.get("/api/v1/analytics/orders?grain=hour", headers=bearer(token))
    assert bad.status == 422 and (await bad.json())["error"]["code"] == "validation"


async def test_the_openapi_document_declares_every_series(client):
    doc = await (await client.get("/api/v1/openapi.json")).json()
    for name in analytics.SERIES:
        operation = doc["paths"][f"/api/v1/analytics/{name}"]["get"]
        assert {p["name"] for p in operation["parameters"]} >= {"from", "to", "grain"}


@pytest.mark.parametrize("lang", ["en", "ne"])
def test_the_scores_takeaway_names_a_band_only_when_shops_have_scores(lang: str) -> None:
    from web import analytics as page

    w = page.WORDS[lang]
    cols = ("low", "band", "retailers")

    def said(rows: list[tuple[object, ...]]) -> str:
        return page._chart(page.Table("scores", cols, rows), lang, w, "day")[1]  # type: ignore[arg-type]

    nothing = said([(None, None, 0), (300, "E", 0), (700, "B", 0)])
    unscored = said([(None, None, 4), (300, "E", 0), (700, "B", 0)])
    scored = said([(None, None, 1), (300, "E", 1), (700, "B", 2)])
    assert nothing == w["scores_empty"]
    assert unscored == w["scores_none"].format(total="४" if lang == "ne" else "4")
    assert "B" in scored and w["na"] not in scored
    assert w["na"] not in nothing + unscored
