"""The REST API's foundation through the real app: the token flow with the code read from the
fake Graph API, /me for every role, signing out, every failure as JSON with its status, the
Idempotency-Key, rate limits, and a valid OpenAPI 3.1 document."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web
from openapi_spec_validator import validate
from pydantic import BaseModel

from bot.app import create_app
from ledger import errors
from ledger.actors import require_role
from ledger.users import ROLES
from tests.web.conftest import api_token, bearer, code_for
from web.api import API
from web.api.errors import STATUS
from web.api.registry import Call, Registry


@pytest.mark.parametrize("role", ROLES)
async def test_each_role_gets_a_token_with_a_code_and_reads_itself(client, graph, people, role):
    person = people.by_role(role)
    asked = await client.post("/api/v1/auth/code", json={"phone": person.phone[4:]})
    assert asked.status == 202
    assert (await asked.json())["message"].startswith("If this number is registered")
    code = await code_for(graph, person.phone)
    issued = await client.post("/api/v1/auth/token",
                               json={"phone": person.phone, "code": code, "name": "my laptop"})
    assert issued.status == 200
    body = await issued.json()
    assert body["role"] == role and body["token"].startswith("kh_") and body["expires_at"]
    me = await client.get("/api/v1/me", headers=bearer(body["token"]))
    assert me.status == 200
    seen = await me.json()
    assert (seen["id"], seen["phone"], seen["role"]) == (person.id, person.phone, role)
    assert seen["token"]["kind"] == "api" and seen["token"]["name"] == "my laptop"


async def test_a_wrong_code_is_401_and_an_unknown_number_is_told_the_same(client, graph, people):
    known = await client.post("/api/v1/auth/code", json={"phone": people.retailer.phone})
    unknown = await client.post("/api/v1/auth/code", json={"phone": "+9779841111111"})
    blocked = await client.post("/api/v1/auth/code", json={"phone": people.blocked.phone})
    assert known.status == unknown.status == blocked.status == 202
    assert await known.json() == await unknown.json() == await blocked.json()
    code = await code_for(graph, people.retailer.phone)
    wrong = "000000" if code != "000000" else "111111"
    for phone in (people.retailer.phone, "+9779841111111"):
        refused = await client.post("/api/v1/auth/token", json={"phone": phone, "code": wrong})
        assert refused.status == 401
        assert (await refused.json())["error"]["code"] == "auth.code_rejected"


async def test_revoke_ends_this_token_and_revoke_all_every_token(client, graph, people):
    first = await api_token(client, graph, people.vendor.phone)
    second = await api_token(client, graph, people.vendor.phone, count=2)
    third = await api_token(client, graph, people.vendor.phone, count=3)
    out = await client.post("/api/v1/auth/revoke", headers=bearer(first))
    assert out.status == 200 and await out.json() == {"revoked": 1}
    assert (await client.get("/api/v1/me", headers=bearer(first))).status == 401
    assert (await client.get("/api/v1/me", headers=bearer(second))).status == 200
    everywhere = await client.post("/api/v1/auth/revoke-all", headers=bearer(second))
    assert await everywhere.json() == {"revoked": 2}
    for token in (second, third):
        assert (await client.get("/api/v1/me", headers=bearer(token))).status == 401


async def test_asking_for_codes_too_often_is_429_with_retry_after(client, graph, people):
    for _ in range(3):
        ok = await client.post("/api/v1/auth/code", json={"phone": people.retailer.phone})
        assert ok.status == 202
    limited = await client.post("/api/v1/auth/code", json={"phone": people.retailer.phone})
    assert limited.status == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 15 * 60
    assert (await limited.json())["error"]["code"] == "auth.rate_limited"


async def test_every_failure_is_json_with_its_status(client, graph, people):
    cases = [
        (client.post("/api/v1/auth/code", data=b"{not json",
                     headers={"Content-Type": "application/json"}), 400, "bad_json"),
        (client.post("/api/v1/auth/code", json={}), 422, "validation"),
        (client.post("/api/v1/auth/code", json={"phone": "12"}), 422, "validation"),
        (client.post("/api/v1/auth/code", data=b'{"phone": NaN}',
                     headers={"Content-Type": "application/json"}), 400, "bad_json"),
        (client.post("/api/v1/auth/code", data=b"[" * 5000 + b"]" * 5000,
                     headers={"Content-Type": "application/json"}), 400, "bad_json"),
        (client.post("/api/v1/auth/code", data=b"phone=1", headers={
            "Content-Type": "application/x-www-form-urlencoded"}), 415,
         "unsupported_media_type"),
        (client.get("/api/v1/me"), 401, "unauthorized"),
        (client.get("/api/v1/me", headers=bearer("kh_nonsense")), 401, "unauthorized"),
        (client.get("/api/v1/nothing-here"), 404, "not_found"),
        (client.delete("/api/v1/me"), 405, "method_not_allowed"),
        (client.post("/api/v1/auth/code", data=b"x" * 70_000,
                     headers={"Content-Type": "application/json"}), 413, "too_large"),
    ]
    for request, status, code in cases:
        response = await request
        assert response.status == status, (code, await response.text())
        assert response.content_type == "application/json"
        error = (await response.json())["error"]
        assert error["code"] == code and error["message"], error
    missing = await client.post("/api/v1/auth/code", json={"phone": "12"})
    fields = (await missing.json())["error"]["fields"]
    assert fields[0]["field"] == "body.phone"
    unauthorized = await client.get("/api/v1/me")
    assert unauthorized.headers["WWW-Authenticate"].startswith("Bearer")


async def test_error_messages_are_in_nepali_when_asked(client, graph, people):
    response = await client.get("/api/v1/me", headers={"Accept-Language": "ne-NP"})
    assert "साइन इन" in (await response.json())["error"]["message"]


def test_every_ledger_error_has_a_status():
    def subclasses(kind: type) -> set[type]:
        found = set(kind.__subclasses__())
        return found.union(*(subclasses(k) for k in found)) if found else found

    missing = [k.__name__ for k in subclasses(errors.LedgerError) if k not in STATUS]
    assert not missing, f"add these to web.api.errors.STATUS: {missing}"


# A registry of its own, mounted beside the real one, to exercise what resources will use:
# roles, ledger refusals, idempotency keys and unexpected failures.
class Step(BaseModel):
    amount: int


class Done(BaseModel):
    amount: int
    calls: int


def _test_app(settings, calls: list[int]) -> web.Application:  # type: ignore[no-untyped-def]
    app = create_app(settings)  # with the sender, which delivers the sign-in codes
    registry = Registry()

    @registry.endpoint("POST", "/test/step", summary="a step that changes things", body=Step,
                       response=Done, roles=("ADMIN", "VENDOR"), idempotent=True)
    async def test_step(call: Call) -> Done:
        body: Step = call.body
        calls.append(body.amount)
        await call.conn.execute("SELECT 1")
        if body.amount == 7:  # slow: a second request with the same key arrives meanwhile
            await asyncio.sleep(0.3)
        if body.amount < 0:
            raise errors.InvalidAmount(amount_paisa=body.amount)
        if body.amount == 0:
            raise errors.AlreadyDone(action="step", name="x", status="done")
        return Done(amount=body.amount, calls=len(calls))

    @registry.endpoint("GET", "/test/staff", summary="staff only", response=Done)
    async def test_staff(call: Call) -> Done:
        require_role(call.actor, "test.staff", "ADMIN", "OPERATOR")
        return Done(amount=0, calls=0)

    @registry.endpoint("GET", "/test/boom", summary="fails", response=Done)
    async def test_boom(call: Call) -> Done:
        raise RuntimeError("a bug")

    registry.mount(app)
    return app


async def test_roles_refusals_and_unexpected_errors_are_mapped(
        wa_settings, aiohttp_client, graph, people):
    calls: list[int] = []
    client = await aiohttp_client(_test_app(wa_settings, calls))
    retailer = await api_token(client, graph, people.retailer.phone)
    vendor = await api_token(client, graph, people.vendor.phone)
    gated = await client.post("/api/v1/test/step", json={"amount": 1}, headers=bearer(retailer))
    assert gated.status == 403 and (await gated.json())["error"]["code"] == "forbidden"
    assert calls == []  # refused before the handler
    ledger_no = await client.get("/api/v1/test/staff", headers=bearer(vendor))
    assert ledger_no.status == 403
    assert (await ledger_no.json())["error"]["code"] == "auth.not_permitted"
    refused = await client.post("/api/v1/test/step", json={"amount": -5}, headers=bearer(vendor))
    assert refused.status == 422
    assert (await refused.json())["error"]["code"] == "money.invalid_amount"
    conflict = await client.post("/api/v1/test/step", json={"amount": 0}, headers=bearer(vendor))
    assert conflict.status == 409
    boom = await client.get("/api/v1/test/boom", headers=bearer(vendor))
    assert boom.status == 500 and boom.content_type == "application/json"
    assert (await boom.json())["error"]["code"] == "internal"
    assert "a bug" not in await boom.text()


async def test_a_retry_with_the_same_idempotency_key_returns_the_first_outcome(
        wa_settings, aiohttp_client, graph, people):
    calls: list[int] = []
    client = await aiohttp_client(_test_app(wa_settings, calls))
    token = await api_token(client, graph, people.vendor.phone)
    key = {"Idempotency-Key": "pay-2026-12-01-0001", **bearer(token)}
    first = await client.post("/api/v1/test/step", json={"amount": 5}, headers=key)
    again = await client.post("/api/v1/test/step", data=b'{ "amount" : 5 }', headers={
        **key, "Content-Type": "application/json"})
    assert first.status == again.status == 200
    assert await first.json() == await again.json() == {"amount": 5, "calls": 1}
    assert again.headers["Idempotent-Replayed"] == "true" and calls == [5]
    other = await client.post("/api/v1/test/step", json={"amount": 6}, headers=key)
    assert other.status == 409
    assert (await other.json())["error"]["code"] == "idempotency.conflict"
    # A refusal is an outcome too: kept, and returned to the retry without running again.
    bad = {"Idempotency-Key": "pay-2", **bearer(token)}
    refused = await client.post("/api/v1/test/step", json={"amount": -1}, headers=bad)
    retried = await client.post("/api/v1/test/step", json={"amount": -1}, headers=bad)
    assert refused.status == retried.status == 422
    assert await refused.json() == await retried.json() and calls == [5, -1]
    # Keys are per user: another vendor's same key is theirs.
    admin = await api_token(client, graph, people.admin.phone)
    theirs = await client.post("/api/v1/test/step", json={"amount": 6},
                               headers={"Idempotency-Key": "pay-2026-12-01-0001",
                                        **bearer(admin)})
    assert theirs.status == 200 and calls == [5, -1, 6]
    bad_key = await client.post("/api/v1/test/step", json={"amount": 1},
                                headers={"Idempotency-Key": "x" * 201, **bearer(token)})
    assert bad_key.status == 400


async def test_two_requests_with_one_key_at_once_run_once(
        wa_settings, aiohttp_client, graph, people):
    calls: list[int] = []
    client = await aiohttp_client(_test_app(wa_settings, calls))
    token = await api_token(client, graph, people.vendor.phone)
    headers = {"Idempotency-Key": "at-once", **bearer(token)}
    first, second = await asyncio.gather(
        client.post("/api/v1/test/step", json={"amount": 7}, headers=headers),
        client.post("/api/v1/test/step", json={"amount": 7}, headers=headers))
    assert first.status == second.status == 200
    assert await first.json() == await second.json() and calls == [7]
    assert "true" in (first.headers.get("Idempotent-Replayed"),
                      second.headers.get("Idempotent-Replayed"))


async def test_a_token_past_its_rate_limit_is_429_with_retry_after(
        wa_settings, aiohttp_client, graph, people):
    settings = wa_settings.model_copy(update={"api_rate_per_minute": 3})
    client = await aiohttp_client(create_app(settings, workers=True))
    # The public sign-in endpoints count per address: two requests, then the token's own.
    token = await api_token(client, graph, people.retailer.phone)
    statuses = [(await client.get("/api/v1/me", headers=bearer(token))).status
                for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = await client.get("/api/v1/me", headers=bearer(token))
    assert int(limited.headers["Retry-After"]) >= 1
    assert (await limited.json())["error"]["code"] == "rate_limited"


async def test_the_openapi_document_is_valid_openapi_3_1_and_lists_every_endpoint(client):
    response = await client.get("/api/v1/openapi.json")
    assert response.status == 200
    document = await response.json()
    assert document["openapi"] == "3.1.0"
    validate(document)  # raises on any error against the OpenAPI 3.1 schema
    declared = {(e.full_path, e.method.lower()) for e in API.endpoints}
    listed = {(path, method) for path, methods in document["paths"].items()
              for method in methods}
    assert declared == listed
    token = document["paths"]["/api/v1/auth/token"]["post"]
    assert token["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/TokenRequest"}
    assert token["security"] == [] and "401" in token["responses"]
    me = document["paths"]["/api/v1/me"]["get"]
    assert me["security"] == [{"bearer": []}] and set(me["x-roles"]) == set(ROLES)
    assert "ErrorBody" in document["components"]["schemas"]


async def test_the_docs_page_reads_the_same_document(client):
    page = await client.get("/api/v1/docs")
    assert page.status == 200 and page.content_type == "text/html"
    html = await page.text()
    for endpoint in API.endpoints:
        assert endpoint.full_path in html and endpoint.summary in html
    assert "<script" not in html and 'href="/api/v1/openapi.json"' in html
