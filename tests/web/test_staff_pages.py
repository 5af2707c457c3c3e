"""The admin's and operator's pages through the real app: today's figures, people with their
filters, approving a waiting shop (who is told on WhatsApp exactly as chat tells them), blocking
and unblocking, credit limits (admins only), a shop's page with its statement, score and
orders, downloads, failed messages; rights and bad input."""

from __future__ import annotations

import re

import pytest

from bot import app as bot_app
from bot.appkeys import POOL
from ledger import credit, orders, registrations
from locales.render import Messages
from tests.channel.test_metrics import scrape, value
from tests.conftest import eventually
from tests.fakegraph import body_text
from tests.ledger.conftest import line
from tests.web.conftest import csrf_of
from tests.web.staffkit import Town, build_town, sign_in_as, waiting_registration


@pytest.fixture
async def town(pool) -> Town:  # type: ignore[no-untyped-def]
    return await build_town(pool)


def _to(graph, user) -> list[str]:  # type: ignore[no-untyped-def]
    wa_id = (user.phone or "").lstrip("+")
    return [body_text(m) for m in graph.sent if m.get("to") == wa_id]


async def _csrf(client, path: str) -> str:  # type: ignore[no-untyped-def]
    page = await client.get(path)
    assert page.status == 200, await page.text()
    return csrf_of(await page.text())


@pytest.mark.parametrize("role", ["ADMIN", "OPERATOR"])
async def test_staff_see_todays_figures_and_what_waits_for_them(client, pool, town, role):
    await sign_in_as(client, pool, town.by_role(role))
    page = await client.get("/app/today")
    assert page.status == 200
    html = await page.text()
    assert "Orders placed" in html and "Registrations waiting" in html
    assert "Rs 480" in html  # the accepted order: 2 l of oil at Rs 240
    assert 'href="/app/users?standing=waiting"' in html


async def test_the_today_page_speaks_nepali_with_nepali_digits_and_bs_dates(client, pool, town):
    await sign_in_as(client, pool, town.admin)
    html = await (await client.get("/app/today?lang=ne")).text()
    assert "राखिएका अर्डर" in html and "रु ४८०" in html
    assert "२०८" in html  # the Bikram Sambat year beside the AD date


async def test_an_admin_approves_a_waiting_shop_and_they_are_told_as_chat_tells_them(
        client, pool, graph, town):
    await sign_in_as(client, pool, town.admin)
    listed = await (await client.get("/app/users?standing=waiting")).text()
    assert "Kale Store" in listed
    ref = town.waiting.phone
    token = await _csrf(client, f"/app/users/{ref}")
    done = await client.post(f"/app/users/{ref}/approve", data={"csrf": token, "role": "RETAILER"},
                             allow_redirects=False)
    assert done.status == 303
    assert done.headers["Location"] == f"/app/users/{ref}?done=approved"
    page = await (await client.get(done.headers["Location"])).text()
    assert "Approved: Kale has been told on WhatsApp." in page
    async with pool.acquire() as conn:
        assert await registrations.status(conn, town.waiting.id) == "APPROVED"
        limit = (await credit.position(conn, town.waiting.id)).limit_paisa
    expected = Messages().render("en", "reg_approved", name="Kale", role="RETAILER",
                                 limit_paisa=limit)
    await eventually(lambda: _to(graph, town.waiting))
    assert _to(graph, town.waiting) == [expected]
    # Approving again changes nothing and says so.
    again = await client.post(f"/app/users/{ref}/approve",
                              data={"csrf": token, "role": "RETAILER"}, allow_redirects=False)
    assert again.status == 409
    assert "Kale is already approved" in await again.text()


async def test_an_operator_blocks_and_unblocks_a_shop(client, pool, graph, town):
    await sign_in_as(client, pool, town.operator)
    ref = town.other_shop.phone
    token = await _csrf(client, f"/app/users/{ref}")
    blocked = await client.post(f"/app/users/{ref}/block",
                                data={"csrf": token, "reason": "unpaid for months"},
                                allow_redirects=False)
    assert blocked.status == 303
    async with pool.acquire() as conn:
        assert await registrations.status(conn, town.other_shop.id) == "BLOCKED"
        reason = await conn.fetchval(
            "SELECT reason FROM audit_log WHERE action = 'user.block' ORDER BY id DESC LIMIT 1")
    assert reason == "unpaid for months"
    page = await (await client.get(blocked.headers["Location"])).text()
    assert "Blocked: Sita Store." in page
    unblocked = await client.post(f"/app/users/{ref}/unblock", data={"csrf": token},
                                  allow_redirects=False)
    assert unblocked.status == 303
    expected = Messages().render("en", "reg_approved", name="Sita Store", role="RETAILER")
    await eventually(lambda: expected in _to(graph, town.other_shop))


async def test_only_an_admin_sets_a_credit_limit_with_a_reason(client, pool, graph, town):
    ref = town.retailer.phone
    await sign_in_as(client, pool, town.operator)
    token = await _csrf(client, f"/app/users/{ref}")
    assert "Only an admin sets credit limits." in await (await client.get(
        f"/app/users/{ref}")).text()
    refused = await client.post(f"/app/users/{ref}/limit",
                                data={"csrf": token, "rupees": "90000", "reason": "good payer"},
                                allow_redirects=False)
    assert refused.status == 403
    await sign_in_as(client, pool, town.admin)
    token = await _csrf(client, f"/app/users/{ref}")
    no_reason = await client.post(f"/app/users/{ref}/limit",
                                  data={"csrf": token, "rupees": "90000", "reason": " "},
                                  allow_redirects=False)
    assert no_reason.status == 422
    bad = await client.post(f"/app/users/{ref}/limit",
                            data={"csrf": token, "rupees": "lots", "reason": "x"},
                            allow_redirects=False)
    assert bad.status == 422 and "Write the new limit in rupees" in await bad.text()
    done = await client.post(f"/app/users/{ref}/limit",
                             data={"csrf": token, "rupees": "90,000", "reason": "good payer"},
                             allow_redirects=False)
    assert done.status == 303
    async with pool.acquire() as conn:
        position = await credit.position(conn, town.retailer.id)
    assert position.limit_paisa == 9_000_000
    expected = Messages().render("en", "limit_changed", position=position)
    await eventually(lambda: expected in _to(graph, town.retailer))


async def test_a_shops_page_shows_its_credit_score_statement_and_orders(client, pool, town):
    await sign_in_as(client, pool, town.operator)
    page = await client.get(f"/app/users/{town.retailer.phone}")
    assert page.status == 200
    html = await page.text()
    for words in ("Credit score", "Statement", "Himal Traders", "KH-", "Rs 480", "Owed by vendor"):
        assert words in html, words
    pdf = await client.get(f"/app/users/{town.retailer.phone}/statement.pdf")
    assert pdf.status == 200 and (await pdf.read()).startswith(b"%PDF")
    csv = await client.get(f"/app/users/{town.retailer.phone}/statement.csv")
    assert csv.status == 200 and "480" in await csv.text()
    bad = await client.get(f"/app/users/{town.retailer.phone}?from=2026-13-01")
    assert bad.status == 200 and "Dates are YYYY-MM-DD" in await bad.text()


async def test_people_are_found_by_role_status_area_and_name(client, pool, town):
    async with pool.acquire() as conn:
        await waiting_registration(conn, "Maya")
    await sign_in_as(client, pool, town.admin)
    html = await (await client.get("/app/users?q=maya")).text()
    assert "Maya Store" in html and "Kale Store" not in html
    html = await (await client.get("/app/users?role=VENDOR")).text()
    assert "Himal Traders" in html and "Ram Kirana" not in html
    html = await (await client.get("/app/users?area=chhin&standing=waiting")).text()
    assert "Maya Store" in html and "Kale Store" in html and "Himal Traders" not in html
    # Nonsense filters are ignored, not errors.
    assert (await client.get("/app/users?role=KING&standing=x&page=zz")).status == 200


async def test_failed_messages_show_their_reason(client, pool, town):
    async with pool.acquire() as conn:
        await conn.execute(
            """INSERT INTO outbox (recipient, payload, status, attempts, last_error)
               VALUES ($1, '{"type": "text", "text": {"body": "Your order is on its way"}}',
                       'failed', 5, 'delivery failed: 131026 Message undeliverable')""",
            town.retailer.phone.lstrip("+"))
    await sign_in_as(client, pool, town.operator)
    html = await (await client.get("/app/messages/failed")).text()
    assert "131026 Message undeliverable" in html and "Your order is on its way" in html
    assert "Ram Kirana" in html
    today = await (await client.get("/app/today")).text()
    assert "131026" in today


@pytest.mark.parametrize("role", ["VENDOR", "RETAILER"])
async def test_vendors_and_shops_may_not_open_staff_pages_or_post_decisions(
        client, pool, town, role):
    await sign_in_as(client, pool, town.by_role(role))
    for path in ("/app/today", "/app/users", f"/app/users/{town.waiting.phone}",
                 "/app/messages/failed"):
        assert (await client.get(path, allow_redirects=False)).status == 403, path
    token = csrf_of(await (await client.get("/app")).text())
    refused = await client.post(f"/app/users/{town.waiting.phone}/approve",
                                data={"csrf": token, "role": "RETAILER"}, allow_redirects=False)
    assert refused.status == 403
    async with pool.acquire() as conn:
        assert await registrations.status(conn, town.waiting.id) == "PENDING"


async def test_a_decision_without_the_forms_csrf_token_is_refused(client, pool, town):
    await sign_in_as(client, pool, town.admin)
    refused = await client.post(f"/app/users/{town.waiting.phone}/approve",
                                data={"role": "RETAILER"}, allow_redirects=False)
    assert refused.status == 403
    async with pool.acquire() as conn:
        assert await registrations.status(conn, town.waiting.id) == "PENDING"


async def test_an_unknown_person_is_404(client, pool, town):
    await sign_in_as(client, pool, town.admin)
    assert (await client.get("/app/users/+9779849999999")).status == 404
    assert (await client.get("/app/users/" + "9" * 70)).status == 404


async def test_blocking_a_shop_on_the_page_tells_the_vendor_of_its_cancelled_order(
        client, pool, graph, town):
    async with pool.acquire() as conn:
        draft = await orders.create_draft(conn, town.other_shop, [line("TEL", 1, "l")])
        offered = await orders.confirm(conn, draft.id, town.other_shop)
        assert offered.order.vendor_id == town.vendor.id
    await sign_in_as(client, pool, town.admin)
    ref = town.other_shop.phone
    token = await _csrf(client, f"/app/users/{ref}")
    done = await client.post(f"/app/users/{ref}/block", data={"csrf": token, "reason": ""},
                             allow_redirects=False)
    assert done.status == 303
    async with pool.acquire() as conn:
        cancelled = await orders.get(conn, draft.id)
    assert cancelled.status == "CANCELLED"
    expected = Messages().render("en", "vendor_order_cancelled", order=cancelled, by="staff")
    await eventually(lambda: expected in _to(graph, town.vendor))


async def test_the_today_page_shows_the_channels_health_as_metrics_has_it(
        start_app, pool, town, owner_conn):
    client = await start_app(workers=False)  # nothing sends or handles: the queues stay put
    async with pool.acquire() as conn:
        await conn.execute(
            """INSERT INTO outbox (recipient, payload, created_at, next_attempt_at)
               VALUES ('9779800000999', '{"type": "text", "text": {"body": "waiting"}}',
                       now() - interval '10 minutes', now() + interval '1 day')""")
        await conn.execute(
            """INSERT INTO outbox (recipient, payload, status, attempts, last_error)
               VALUES ('9779800000998', '{"type": "text", "text": {"body": "lost"}}',
                       'failed', 1, 'Graph API error 131026 (HTTP 400): undeliverable')""")
        await conn.execute(
            """INSERT INTO inbound_messages (wamid, sender, kind, body, sent_at, received_at)
               VALUES ('wamid.HEALTH', '9779800000997', 'text', '{}', now(),
                       now() - interval '2 minutes')""")
    await bot_app.check_ledger(client.app)
    await owner_conn.execute("DELETE FROM schema_migrations WHERE version = 1")
    assert (await client.get("/readyz")).status == 503  # a server error in the last minutes

    async def refreshed():  # type: ignore[no-untyped-def]
        samples = await scrape(client)
        return all(value(samples, name) == 1 for name in (  # one refresh saw all three rows
            "khaacho_outbox_depth", "khaacho_inbox_depth", "khaacho_outbox_failed")) and samples
    samples = await eventually(refreshed)
    await sign_in_as(client, pool, town.operator)
    html = await (await client.get("/app/today")).text()
    panel = html[html.index('id="health"'):html.index("Latest failed messages")]
    figures = dict(re.findall(r'class="label">([^<]+)</span>\s*<strong>([^<]+)</strong>', panel))
    assert figures["Replies waiting to be sent"] == "1" == str(int(
        value(samples, "khaacho_outbox_depth")))
    assert figures["Messages waiting to be handled"] == "1" == str(int(
        value(samples, "khaacho_inbox_depth")))
    assert figures["Messages failed (all time)"] == "1" == str(int(
        value(samples, "khaacho_outbox_failed")))
    assert figures["Last ledger check"] == "consistent"
    assert "oldest 10 min" in panel and "oldest 2 min" in panel
    assert '<span class="mono">131026</span> 1' in panel
    assert 'href="/app/messages/failed"' in panel
    used, most = map(int, re.findall(r"(\d+) of (\d+)</strong>", panel)[0])
    assert 1 <= used <= most == client.app[POOL].get_max_size()  # this page holds one
    # Counted per process over the last minutes: in a whole test run, thousands (1,234).
    found = re.search(r"([\d,]+) of ([\d,]+) requests", panel)
    assert found, panel
    errors, requests = (int(n.replace(",", "")) for n in found.groups())
    assert 1 <= errors <= requests

    nepali = await (await client.get("/app/today?lang=ne")).text()
    assert "प्रणालीको अवस्था" in nepali and "सबैभन्दा पुरानो १० मिनेट" in nepali
    assert "ठीक छ" in nepali
