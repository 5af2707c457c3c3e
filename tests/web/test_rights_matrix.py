"""The rights matrix: every API endpoint in the registry and every page under /app, called by
every role and signed out, with realistic path parameters, lands in the class the table below
says. The endpoints and pages come from the registry and the router themselves, so one added
later is walked too, and the test fails until this table says who may use it.

Classes: allowed — anything but 401/403/404 and 5xx (a 422 for the test's empty body, a 409 for
a decision already taken and a 303 after a form are all allowed); forbidden — 403, or 404 where
existence must not leak. Signed out: 401 from the API (public endpoints excepted), a redirect to
/signin from pages.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp import web

from tests.web.conftest import csrf_of
from tests.web.staffkit import Town, bearer_for, build_town, sign_in_as
from web.api import API

ROLES = ("ADMIN", "OPERATOR", "VENDOR", "RETAILER")
EVERYONE = frozenset(ROLES)
STAFF = frozenset({"ADMIN", "OPERATOR"})
ADMIN = frozenset({"ADMIN"})
PUBLIC = None  # no token needed at all

# Who may use what. A row: the roles allowed (the others are forbidden), and path parameters
# that differ from the defaults in `samples` (decisions are taken on the waiting registration,
# so the matrix never blocks the shop the other calls read). Rows may come before their
# endpoint or page is merged (the vendor, retailer and analytics ones were walked on a merge
# of those branches); an endpoint or page without a row fails the test.
API_RIGHTS: dict[str, tuple[frozenset[str] | None, dict[str, str]]] = {
    "POST /auth/code": (PUBLIC, {}),
    "POST /auth/token": (PUBLIC, {}),
    "POST /auth/revoke": (EVERYONE, {}),
    "POST /auth/revoke-all": (EVERYONE, {}),
    "GET /me": (EVERYONE, {}),
    "GET /dashboard": (EVERYONE, {}),
    # A retailer: staff; the vendor serving them; the retailer themselves.
    "GET /retailers/{phone}/balance": (EVERYONE, {}),
    "GET /retailers/{phone}/statement": (EVERYONE, {}),
    "GET /retailers/{phone}/score": (EVERYONE, {}),
    "POST /retailers/{phone}/limit": (ADMIN, {}),
    "GET /users": (STAFF, {}),
    "GET /users/{phone}": (STAFF, {}),
    "POST /users/{phone}/approve": (STAFF, {"phone": "waiting"}),
    "POST /users/{phone}/block": (STAFF, {"phone": "waiting"}),
    "POST /users/{phone}/unblock": (STAFF, {"phone": "waiting"}),
    "GET /messages/failed": (STAFF, {}),
    # The catalog, prices and stock (a vendor sets their own).
    "GET /products": (EVERYONE, {}),
    "GET /prices": (STAFF | {"VENDOR"}, {}),
    "GET /stock": (STAFF | {"VENDOR"}, {}),
    "PUT /prices/{sku}": (frozenset({"VENDOR"}), {}),
    "PUT /stock/{sku}": (frozenset({"VENDOR"}), {}),
    # Orders: each sees their own; the vendor answers an offer; staff may move one on.
    "GET /orders": (EVERYONE, {}),
    "GET /orders/{number}": (EVERYONE, {}),
    "POST /orders/{number}/accept": (frozenset({"VENDOR"}), {}),
    "POST /orders/{number}/reject": (frozenset({"VENDOR"}), {}),
    "POST /orders/{number}/dispatch": (STAFF | {"VENDOR"}, {}),
    "POST /orders/{number}/deliver": (STAFF | {"VENDOR"}, {}),
    "POST /orders/{number}/cancel": (STAFF | {"RETAILER"}, {}),
    # Payments and claims.
    "POST /payments": (frozenset({"VENDOR"}), {}),
    "GET /payments/claims": (EVERYONE, {}),
    "POST /payments/claims": (frozenset({"RETAILER"}), {}),
    "POST /payments/claims/{ref}/confirm": (STAFF | {"VENDOR"}, {"ref": "claim"}),
    "POST /payments/claims/{ref}/reject": (STAFF | {"VENDOR"}, {"ref": "claim"}),
    # Analytics: staff the town, a vendor their own; a shop only its own purchases.
    "GET /analytics/orders": (STAFF | {"VENDOR"}, {}),
    "GET /analytics/purchases": (frozenset({"RETAILER"}), {}),
    "GET /analytics/products": (STAFF | {"VENDOR"}, {}),
    "GET /analytics/areas": (STAFF, {}),
    "GET /analytics/retailers": (STAFF | {"VENDOR"}, {}),
    "GET /analytics/lapsed": (STAFF | {"VENDOR"}, {}),
    "GET /analytics/fulfilment": (STAFF | {"VENDOR"}, {}),
    "GET /analytics/rejections": (STAFF | {"VENDOR"}, {}),
    "GET /analytics/overdue": (STAFF | {"VENDOR"}, {}),
    "GET /analytics/scores": (STAFF | {"VENDOR"}, {}),
}

PAGE_RIGHTS: dict[str, tuple[frozenset[str], dict[str, str]]] = {
    "GET /app": (EVERYONE, {}),
    "GET /app/today": (STAFF, {}),
    "GET /app/users": (STAFF, {}),
    "GET /app/users/{ref}": (STAFF, {}),
    "POST /app/users/{ref}/approve": (STAFF, {"ref": "waiting"}),
    "POST /app/users/{ref}/block": (STAFF, {"ref": "waiting"}),
    "POST /app/users/{ref}/unblock": (STAFF, {"ref": "waiting"}),
    "POST /app/users/{ref}/limit": (STAFF, {}),
    "GET /app/users/{ref}/statement.{fmt}": (STAFF, {}),
    "GET /app/messages/failed": (STAFF, {}),
    "GET /app/orders": (frozenset({"VENDOR", "RETAILER"}), {}),
    "POST /app/orders/{number}/cancel": (frozenset({"RETAILER"}), {}),
    "POST /app/orders/{number}/{action}": (frozenset({"VENDOR"}), {}),
    "GET /app/stock": (frozenset({"VENDOR"}), {}),
    "POST /app/stock": (frozenset({"VENDOR"}), {}),
    "GET /app/receivables": (frozenset({"VENDOR"}), {}),
    "GET /app/payments/new": (frozenset({"VENDOR"}), {}),
    "POST /app/payments/new": (frozenset({"VENDOR"}), {}),
    "POST /app/claims/{ref}/{decision}": (frozenset({"VENDOR"}), {"ref": "claim"}),
    "GET /app/dues": (frozenset({"RETAILER"}), {}),
    "GET /app/score": (frozenset({"RETAILER"}), {}),
    "GET /app/statement": (frozenset({"VENDOR", "RETAILER"}), {}),
    "GET /app/statement/download": (frozenset({"VENDOR", "RETAILER"}), {}),
    "GET /app/analytics": (EVERYONE, {}),
    "GET /app/analytics/{name}.csv": (STAFF | {"VENDOR"}, {}),  # the town's orders series
}


def samples(town: Town) -> dict[str, str]:
    """A realistic value for each path parameter name (the `waiting` and `other` aliases name
    other people); a new name needs a line here."""
    return {"phone": town.retailer.phone or "", "ref": town.retailer.phone or "",
            "waiting": town.waiting.phone or "", "fmt": "pdf", "number": "KH-000001",
            "sku": "TEL", "claim": "C-000001", "action": "dispatch", "decision": "confirm",
            "name": "orders"}


_PARAM = re.compile(r"\{(\w+)(?::[^{}]*)?\}")


def _plain(path: str) -> str:
    """`/a/{ref}/s.{fmt:pdf|csv}` → `/a/{ref}/s.{fmt}`: how the tables name paths."""
    return _PARAM.sub(lambda m: "{" + m.group(1) + "}", path)


def _fill(path: str, overrides: dict[str, str], values: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        key = overrides.get(name, name)
        assert key in values, f"no sample value for the path parameter {{{name}}}: add it"
        return values[key]

    return _PARAM.sub(one, path)


def api_endpoints() -> dict[str, Any]:
    return {f"{e.method} {e.path}": e for e in API.endpoints}


def app_pages(app: web.Application) -> set[str]:
    found = set()
    for resource in app.router.resources():
        path = _plain(resource.canonical)
        if path != "/app" and not path.startswith("/app/"):
            continue
        for route in resource:
            if route.method not in ("HEAD", "OPTIONS"):
                found.add(f"{route.method} {path}")
    return found


def test_every_endpoint_and_page_is_in_the_table(client):  # type: ignore[no-untyped-def]
    endpoints = api_endpoints()
    missing = sorted(set(endpoints) - set(API_RIGHTS))
    assert not missing, f"add these endpoints to API_RIGHTS (who may call them): {missing}"
    for key, endpoint in endpoints.items():
        assert (API_RIGHTS[key][0] is None) == (endpoint.roles is None), key
    pages = app_pages(client.server.app)
    missing = sorted(pages - set(PAGE_RIGHTS))
    assert not missing, f"add these pages to PAGE_RIGHTS (who may open them): {missing}"


def _allowed(status: int) -> bool:
    return status < 500 and status not in (401, 403, 404)


@pytest.fixture
async def town(pool) -> Town:  # type: ignore[no-untyped-def]
    return await build_town(pool)


async def test_every_api_endpoint_for_every_role(client, pool, town):  # type: ignore[no-untyped-def]
    values = samples(town)
    wrong = []
    for key, endpoint in api_endpoints().items():
        allowed, overrides = API_RIGHTS[key]
        url = "/api/v1" + _fill(endpoint.path, overrides, values)
        body = {} if endpoint.body is not None else None
        for role in (*ROLES, None):
            headers = {} if role is None else await bearer_for(pool, town.by_role(role))
            if endpoint.path.startswith("/auth/") and allowed is PUBLIC:
                body = {"phone": "+9779841111111", "code": "000000"} if "token" in key else {
                    "phone": "+9779841111111"}
            got = await client.request(endpoint.method, url, json=body, headers=headers)
            status = got.status
            if allowed is PUBLIC:
                ok = _allowed(status) or (key == "POST /auth/token" and status == 401)
            elif role is None:
                ok = status == 401
            elif role in allowed:
                ok = _allowed(status)
            else:
                ok = status in (403, 404)
            if not ok:
                wrong.append(f"{role or 'signed out'} {key}: {status} {await got.text()}")
    assert not wrong, "\n".join(wrong)


async def test_every_page_for_every_role(client, pool, town):  # type: ignore[no-untyped-def]
    values = samples(town)
    wrong = []
    for key in sorted(app_pages(client.server.app)):
        method, path = key.split(" ", 1)
        allowed, overrides = PAGE_RIGHTS[key]
        url = _fill(path, overrides, values)
        for role in (*ROLES, None):
            await sign_in_as(client, pool, None if role is None else town.by_role(role))
            data = None
            if method == "POST":
                home = await client.get("/app", allow_redirects=False)
                data = {"csrf": csrf_of(await home.text()) if home.status == 200 else "x"}
            got = await client.request(method, url, data=data, allow_redirects=False)
            status = got.status
            if role is None:
                ok = status == 303 and got.headers.get("Location", "").startswith("/signin")
            elif role in allowed:
                ok = _allowed(status) and not got.headers.get("Location", "").startswith(
                    "/signin")
            else:
                ok = status in (403, 404)
            if not ok:
                wrong.append(f"{role or 'signed out'} {key}: {status}")
    assert not wrong, "\n".join(wrong)
