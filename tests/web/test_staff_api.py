"""The staff's and the retailers' API through the real app: a retailer's balance, statement and
score for each role that may see them (404 for who may not), people found and decided on with
the same WhatsApp messages chat sends, Idempotency-Keys on decisions, credit limits for admins
only, failed messages, and each role's dashboard."""

from __future__ import annotations

import json

import pytest

from ledger import credit, registrations
from locales.render import Messages
from tests.channel.test_cli import khaacho
from tests.conftest import eventually
from tests.fakegraph import body_text
from tests.web.staffkit import Town, bearer_for, build_town


@pytest.fixture
async def town(pool) -> Town:  # type: ignore[no-untyped-def]
    return await build_town(pool)


def _to(graph, user) -> list[str]:  # type: ignore[no-untyped-def]
    wa_id = (user.phone or "").lstrip("+")
    return [body_text(m) for m in graph.sent if m.get("to") == wa_id]


@pytest.mark.parametrize("role", ["ADMIN", "OPERATOR", "VENDOR", "RETAILER"])
async def test_a_retailers_balance_for_each_role_that_may_see_it(client, pool, town, role):
    headers = await bearer_for(pool, town.by_role(role))
    got = await client.get(f"/api/v1/retailers/{town.retailer.phone}/balance", headers=headers)
    assert got.status == 200, await got.text()
    body = await got.json()
    assert body["balance_paisa"] == 48_000 and body["shop_name"] == "Ram Kirana"
    assert [v["vendor_name"] for v in body["vendors"]] == ["Himal Traders"]
    # A vendor sees what is owed to them, not the shop's credit limit.
    assert (body["credit_limit_paisa"] is None) == (role == "VENDOR")


@pytest.mark.parametrize("role", ["VENDOR", "RETAILER"])
async def test_a_retailer_nobody_lets_you_see_does_not_exist(client, pool, town, role):
    headers = await bearer_for(pool, town.by_role(role))
    for what in ("balance", "statement", "score"):
        hidden = await client.get(f"/api/v1/retailers/{town.other_shop.phone}/{what}",
                                  headers=headers)
        unknown = await client.get(f"/api/v1/retailers/+9779849999999/{what}", headers=headers)
        assert hidden.status == unknown.status == 404
        assert await hidden.json() == await unknown.json()


async def test_the_statement_has_its_lines_and_period(client, pool, town):
    headers = await bearer_for(pool, town.operator)
    url = f"/api/v1/retailers/{town.retailer.phone[4:]}/statement"
    got = await client.get(url, headers=headers)
    assert got.status == 200, await got.text()
    body = await got.json()
    assert body["closing_paisa"] == 48_000 and body["from"] is None and body["to"]
    [line] = body["lines"]
    assert line["what"] == "order" and line["debit_paisa"] == 48_000
    assert line["vendor_name"] == "Himal Traders" and line["date_bs"]
    empty = await client.get(url, params={"from": "2020-01-01", "to": "2020-01-31"},
                             headers=headers)
    assert (await empty.json())["lines"] == []
    backwards = await client.get(url, params={"from": "2026-02-01", "to": "2026-01-01"},
                                 headers=headers)
    assert backwards.status == 422
    bad = await client.get(url, params={"from": "yesterday"}, headers=headers)
    assert bad.status == 422 and (await bad.json())["error"]["fields"][0]["field"] == "query.from"


async def test_the_score_is_what_the_command_line_prints(client, pool, town, database_url):
    headers = await bearer_for(pool, town.retailer)
    got = await client.get(f"/api/v1/retailers/{town.retailer.phone}/score", headers=headers)
    assert got.status == 200
    code, printed, err = await khaacho(database_url, "score", "--json", "--phone",
                                       town.retailer.phone)
    assert code == 0, err
    assert await got.json() == json.loads(printed)


async def test_staff_find_people_and_approve_with_the_chat_message(client, pool, graph, town):
    headers = await bearer_for(pool, town.operator)
    found = await client.get("/api/v1/users", params={"status": "waiting"}, headers=headers)
    assert [u["shop_name"] for u in (await found.json())["users"]] == ["Kale Store"]
    url = f"/api/v1/users/{town.waiting.phone}/approve"
    keyed = {**headers, "Idempotency-Key": "approve-kale-1"}
    done = await client.post(url, json={"role": "RETAILER"}, headers=keyed)
    assert done.status == 200, await done.text()
    assert (await done.json())["status"] == "active"
    replay = await client.post(url, json={"role": "RETAILER"}, headers=keyed)
    assert replay.status == 200 and replay.headers["Idempotent-Replayed"] == "true"
    again = await client.post(url, json={"role": "RETAILER"}, headers=headers)
    assert again.status == 409
    async with pool.acquire() as conn:
        limit = (await credit.position(conn, town.waiting.id)).limit_paisa
    expected = Messages().render("en", "reg_approved", name="Kale", role="RETAILER",
                                 limit_paisa=limit)
    await eventually(lambda: _to(graph, town.waiting))
    assert _to(graph, town.waiting) == [expected]  # once, though asked three times


async def test_block_and_unblock_through_the_api(client, pool, town):
    headers = await bearer_for(pool, town.admin)
    url = f"/api/v1/users/{town.other_shop.phone}"
    blocked = await client.post(url + "/block", json={"reason": "fraud"}, headers=headers)
    assert blocked.status == 200
    assert (await blocked.json())["user"]["status"] == "blocked"
    assert (await client.post(url + "/block", json={}, headers=headers)).status == 409
    back = await client.post(url + "/unblock", json={}, headers=headers)
    assert back.status == 200 and (await back.json())["status"] == "active"
    async with pool.acquire() as conn:
        assert await registrations.status(conn, town.other_shop.id) == "APPROVED"


async def test_only_admins_set_a_limit_and_the_shop_is_told(client, pool, graph, town):
    url = f"/api/v1/retailers/{town.retailer.phone}/limit"
    body = {"limit_paisa": 7_500_000, "reason": "pays on time"}
    operator = await client.post(url, json=body, headers=await bearer_for(pool, town.operator))
    assert operator.status == 403
    admin = await bearer_for(pool, town.admin)
    assert (await client.post(url, json={"limit_paisa": 1, "reason": ""},
                              headers=admin)).status == 422
    assert (await client.post(url, json={"limit_paisa": -5, "reason": "x"},
                              headers=admin)).status == 422
    done = await client.post(url, json=body, headers=admin)
    assert done.status == 200 and (await done.json())["limit_paisa"] == 7_500_000
    async with pool.acquire() as conn:
        position = await credit.position(conn, town.retailer.id)
    await eventually(lambda: Messages().render("en", "limit_changed", position=position)
                     in _to(graph, town.retailer))


async def test_failed_messages_through_the_api(client, pool, town):
    async with pool.acquire() as conn:
        await conn.execute(
            """INSERT INTO outbox (recipient, payload, status, attempts, last_error)
               VALUES ($1, '{"type": "text", "text": {"body": "hi"}}', 'failed', 3,
                       '131047 Re-engagement message')""", town.vendor.phone.lstrip("+"))
    got = await client.get("/api/v1/messages/failed",
                           headers=await bearer_for(pool, town.admin))
    [row] = (await got.json())["messages"]
    assert row["error"] == "131047 Re-engagement message" and row["name"] == "Himal Traders"


@pytest.mark.parametrize("role,part", [("ADMIN", "town"), ("OPERATOR", "town"),
                                       ("VENDOR", "vendor"), ("RETAILER", "retailer")])
async def test_each_role_gets_its_own_dashboard(client, pool, town, role, part):
    got = await client.get("/api/v1/dashboard", headers=await bearer_for(pool, town.by_role(role)))
    assert got.status == 200
    body = await got.json()
    assert body["role"] == role
    assert [k for k in ("town", "vendor", "retailer") if body[k] is not None] == [part]
    if part == "town":
        assert body["town"]["outstanding_paisa"] == 48_000
        assert body["town"]["registrations_waiting"] == 1
    elif part == "vendor":
        assert body["vendor"]["receivable_paisa"] == 48_000
    else:
        assert body["retailer"]["balance_paisa"] == 48_000
