"""Helpers for the web layer's tests: people in every role, reading the sign-in code from what the
fake Graph API received, signing in on the pages and through the API.

Other web tests use these: `people` (one user per role, plus a blocked shop), `web_sign_in`
(a client with a session cookie), `api_token` (a bearer token)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from bot import demo
from ledger import analytics, orders, users
from ledger.pricing import LineRequest
from tests.conftest import eventually
from tests.dialogs.conftest import World
from tests.fakegraph import FakeGraph, body_text
from tests.ledger.conftest import add_products, carry
from tests.web.town import Town


@dataclass(frozen=True)
class People:
    admin: users.User
    operator: users.User
    vendor: users.User
    retailer: users.User
    blocked: users.User

    def by_role(self, role: str) -> users.User:
        return {"ADMIN": self.admin, "OPERATOR": self.operator, "VENDOR": self.vendor,
                "RETAILER": self.retailer}[role]


@pytest.fixture
async def people(pool) -> People:  # type: ignore[no-untyped-def]
    async with pool.acquire() as conn:
        admin = await users.upsert(conn, phone="+9779800000001", name="Asha Admin", role="ADMIN",
                                   language="en")
        operator = await users.upsert(conn, phone="+9779800000002", name="Om Operator",
                                      role="OPERATOR", language="en")
        vendor = await users.upsert(conn, phone="+9779810000001", name="Bheri Traders",
                                    role="VENDOR", language="ne", shop_name="Bheri Traders")
        retailer = await users.upsert(conn, phone="+9779820000001", name="Ram Kirana",
                                      role="RETAILER", language="en", shop_name="Ram Kirana")
        blocked = await users.upsert(conn, phone="+9779820000009", name="Blocked Shop",
                                     role="RETAILER", language="en", active=False)
    return People(admin, operator, vendor, retailer, blocked)


_CODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")


def codes_to(graph: FakeGraph, phone: str) -> list[str]:
    """Every six-digit code the fake Graph API accepted for `phone`, oldest first."""
    wa_id = phone.lstrip("+")
    found = []
    for message in graph.sent:
        if message.get("to") == wa_id:
            match = _CODE.search(body_text(message))
            if match:
                found.append(match.group(1))
    return found


async def code_for(graph: FakeGraph, phone: str, count: int = 1) -> str:
    """The latest code sent to `phone`, once `count` codes have arrived."""
    await eventually(lambda: len(codes_to(graph, phone)) >= count)
    return codes_to(graph, phone)[-1]


_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no CSRF field on the page"
    return match.group(1)


async def web_sign_in(client, graph: FakeGraph, phone: str, count: int = 1):  # type: ignore[no-untyped-def]
    """Sign `client` in on the pages (its cookie jar keeps the session); the /app response."""
    page = await client.get("/signin")
    sent = await client.post("/signin", data={"csrf": csrf_of(await page.text()),
                                              "phone": phone, "next": "/app"},
                             allow_redirects=False)
    assert sent.status == 303, await sent.text()
    code_page = await client.get(sent.headers["Location"])
    code = await code_for(graph, phone, count)
    done = await client.post("/signin/code", data={"csrf": csrf_of(await code_page.text()),
                                                   "code": code, "next": "/app"},
                             allow_redirects=False)
    assert done.status == 303, await done.text()
    assert done.headers["Location"] == "/app"
    return done


async def api_token(client, graph: FakeGraph, phone: str, count: int = 1) -> str:  # type: ignore[no-untyped-def]
    """A bearer token for `phone` through POST /api/v1/auth/code and /auth/token."""
    asked = await client.post("/api/v1/auth/code", json={"phone": phone})
    assert asked.status == 202, await asked.text()
    code = await code_for(graph, phone, count)
    issued = await client.post("/api/v1/auth/token", json={"phone": phone, "code": code})
    assert issued.status == 200, await issued.text()
    token: str = (await issued.json())["token"]
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def town(client, graph, pool) -> Town:  # type: ignore[no-untyped-def]
    """The demo town loaded, for the vendor and retailer pages and API (tests/web/town.py)."""
    async with pool.acquire() as conn:
        await demo.load(conn)
    return Town(World(client, graph, pool))


async def sell_oil_yesterday(pool: asyncpg.Pool, people: People) -> tuple[datetime, str]:
    """Yesterday (Nepal noon) Ram Kirana bought 2 l of oil (Rs 480) from Bheri Traders, who
    accepted and delivered it (a bill of Rs 480 owed); then the analytics were refreshed. When it
    was ordered, and the order's number."""
    at = datetime.now(UTC).replace(hour=6, minute=15, second=0, microsecond=0) - timedelta(days=1)
    async with pool.acquire() as conn:
        await add_products(conn)
        await conn.execute("UPDATE retailers SET credit_limit_paisa = 1000000 WHERE user_id = $1",
                           people.retailer.id)
        await carry(conn, people.vendor, "TEL", 24_000, 100_000)
        draft = await orders.create_draft(conn, people.retailer, [LineRequest("TEL", 2000, "l")])
        await orders.confirm(conn, draft.id, people.retailer, now=at)
        await orders.accept(conn, draft.id, people.vendor, now=at + timedelta(minutes=20))
        await orders.deliver(conn, draft.id, people.vendor, now=at + timedelta(hours=3))
        await analytics.refresh(conn)
        number: str = await conn.fetchval("SELECT number FROM orders WHERE id = $1", draft.id)
    return at, number
