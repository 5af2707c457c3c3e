"""READ_DATABASE_URL: the dashboards and analytics read a second, read-only pool; everything else
(signing in, orders, every write) the primary; unset, they all share the one pool.

A replica is stood in for by real databases on the test server: a copy that has received
nothing yet (a replica infinitely behind: whatever a page shows from it, it read there), and the
primary's own database through a read-only pool (what a replica with no lag would answer)."""

from __future__ import annotations

import csv
import io
import itertools
import os
from collections.abc import AsyncIterator

import asyncpg
import pytest

from bot.app import create_app
from bot.appkeys import POOL, READ_POOL
from ledger import analytics, db, roles
from tests.conftest import ROLE_PASSWORD, _admin
from tests.web.conftest import People, api_token, bearer, sell_oil_yesterday, web_sign_in
from web.api import openapi
from web.api.registry import API, Call, Registry

_names = itertools.count()

# What the primary's pages and endpoints show of the one order below.
PRIMARY_TAKEAWAY = "Orders: 1, worth Rs 480"
NOT_REFRESHED = "The numbers have not been worked out yet"


@pytest.fixture
async def sold(pool, people: People) -> str:  # type: ignore[no-untyped-def]
    """Yesterday Ram Kirana bought 2 l of oil (Rs 480) from Bheri Traders, who delivered it (a
    bill of Rs 480 owed); the analytics were refreshed. The order's number."""
    _, number = await sell_oil_yesterday(pool, people)
    return number


@pytest.fixture
async def behind_url(server_url: str, template_db: str) -> AsyncIterator[str]:
    """A database migrated like the test's, with none of its rows, as the app's role."""
    name = f"khaacho_r_{os.getpid()}_{next(_names)}"
    await _admin(server_url,
                 f"CREATE DATABASE {name} TEMPLATE {template_db} OWNER {roles.OWNER_ROLE}",
                 f"REVOKE TEMPORARY ON DATABASE {name} FROM PUBLIC")
    yield db.as_role(server_url, roles.APP_ROLE, ROLE_PASSWORD, name)
    await _admin(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _orders_in_csv(text: str) -> int:
    return sum(int(row["orders"]) for row in csv.DictReader(io.StringIO(text)))


async def _read_backends(pool: asyncpg.Pool) -> list[int]:
    """The read pool's sessions on the test's database (their application_name)."""
    rows = await pool.fetch(
        """SELECT pid FROM pg_stat_activity
           WHERE datname = current_database() AND application_name = $1""",
        db.READ_APPLICATION_NAME)
    return [r["pid"] for r in rows]


async def test_dashboards_and_analytics_come_from_the_replica_and_all_else_from_the_primary(
        wa_settings, behind_url, aiohttp_client, client, graph, people, sold, pool):
    lagging = await aiohttp_client(create_app(
        wa_settings.model_copy(update={"read_database_url": behind_url}), workers=False))
    # Signing in writes a code, then a session: both on the primary, or no page would open.
    await web_sign_in(client, graph, people.admin.phone)
    await web_sign_in(lagging, graph, people.admin.phone, count=2)

    primary_page = await (await client.get("/app/analytics")).text()
    lagging_page = await (await lagging.get("/app/analytics")).text()
    assert PRIMARY_TAKEAWAY in primary_page and NOT_REFRESHED not in primary_page
    assert NOT_REFRESHED in lagging_page and PRIMARY_TAKEAWAY not in lagging_page

    assert _orders_in_csv(await (await client.get("/app/analytics/orders.csv")).text()) == 1
    assert _orders_in_csv(await (await lagging.get("/app/analytics/orders.csv")).text()) == 0

    # Today: what is owed is read from the accounts (the bill of Rs 480 on the primary).
    assert "Rs 480" in await (await client.get("/app/today")).text()
    today = await lagging.get("/app/today")
    assert today.status == 200 and "Rs 480" not in await today.text()

    # The same on the API; the order itself is read where it was written.
    token = bearer(await api_token(lagging, graph, people.operator.phone))
    series = await (await lagging.get("/api/v1/analytics/orders", headers=token)).json()
    assert series["refreshed_at"] is None and sum(r["orders"] for r in series["rows"]) == 0
    dashboard = await (await lagging.get("/api/v1/dashboard", headers=token)).json()
    assert dashboard["town"]["outstanding_paisa"] == 0
    order = await lagging.get(f"/api/v1/orders/{sold}", headers=token)
    assert order.status == 200 and (await order.json())["total_paisa"] == 48_000

    primary_token = bearer(await api_token(client, graph, people.operator.phone, count=2))
    dashboard = await (await client.get("/api/v1/dashboard", headers=primary_token)).json()
    assert dashboard["town"]["outstanding_paisa"] == 48_000


async def test_a_read_pool_on_the_primarys_database_serves_the_same_numbers_read_only(
        wa_settings, database_url, aiohttp_client, graph, people, sold, pool):
    client = await aiohttp_client(create_app(
        wa_settings.model_copy(update={"read_database_url": database_url})))
    app = client.server.app
    assert app[READ_POOL] is not app[POOL]

    assert await _read_backends(pool), "the read pool's sessions are on the test's database"

    await web_sign_in(client, graph, people.admin.phone)
    page = await client.get("/app/analytics")
    assert page.status == 200 and PRIMARY_TAKEAWAY in await page.text()
    token = bearer(await api_token(client, graph, people.operator.phone))
    dashboard = await (await client.get("/api/v1/dashboard", headers=token)).json()
    assert dashboard["town"]["outstanding_paisa"] == 48_000

    write = "UPDATE analytics_refresh SET seconds = 42"
    async with app[READ_POOL].acquire() as conn:
        assert await conn.fetchval("SHOW default_transaction_read_only") == "on"
        with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
            await conn.execute(write)
    async with app[POOL].acquire() as conn, conn.transaction():
        # The same write is one the app's role may make, on the primary.
        assert await conn.fetchval("SHOW default_transaction_read_only") == "off"
        await conn.execute(write)
    assert await pool.fetchval("SELECT seconds FROM analytics_refresh") == 42

    # The replica gone: the dashboards and analytics fail; orders and the people pages go on.
    await app[READ_POOL].close()
    assert (await client.get("/app/analytics")).status == 500
    assert (await client.get("/app/today")).status == 500
    assert (await client.get("/api/v1/dashboard", headers=token)).status == 500
    assert (await client.get("/api/v1/analytics/orders", headers=token)).status == 500
    assert (await client.get(f"/api/v1/orders/{sold}", headers=token)).status == 200
    assert (await client.get("/app/users", allow_redirects=False)).status == 200


async def test_without_a_read_url_everything_shares_the_one_pool(client, graph, people, sold,
                                                                  pool):
    app = client.server.app
    assert app[READ_POOL] is app[POOL]
    await web_sign_in(client, graph, people.admin.phone)
    assert PRIMARY_TAKEAWAY in await (await client.get("/app/analytics")).text()
    assert await _read_backends(pool) == []


async def test_an_endpoint_reading_the_replica_cannot_write_even_without_one(
        wa_settings, aiohttp_client, pool):
    scratch = Registry()

    @scratch.endpoint("GET", "/scratch/write", summary="writes by mistake", response=None,
                      roles=None, reads_replica=True)
    async def scratch_write(call: Call) -> None:
        await call.conn.execute("UPDATE analytics_refresh SET seconds = 42")

    app = create_app(wa_settings, workers=False)
    scratch.mount(app)
    client = await aiohttp_client(app)
    answer = await client.get("/api/v1/scratch/write")
    assert answer.status == 500
    assert await pool.fetchval("SELECT seconds FROM analytics_refresh") != 42


def test_only_gets_of_the_dashboard_and_analytics_read_the_replica() -> None:
    with pytest.raises(ValueError, match="only a GET"):
        Registry().endpoint("POST", "/x", summary="x", response=None, reads_replica=True)
    replica = {(ep.method, ep.path) for ep in API.endpoints if ep.reads_replica}
    assert replica == {("GET", "/dashboard")} | {("GET", f"/analytics/{name}")
                                                 for name in analytics.SERIES}
    paths = openapi.document(API)["paths"]
    assert paths["/api/v1/dashboard"]["get"]["x-reads-replica"] is True
    assert "seconds behind" in paths["/api/v1/dashboard"]["get"]["description"]
    assert "x-reads-replica" not in paths["/api/v1/orders/{number}"]["get"]


async def test_a_replica_down_at_start_stops_only_its_pages(
        wa_settings, server_url, aiohttp_client, graph, people, sold, caplog):
    gone = db.as_role(server_url, roles.APP_ROLE, ROLE_PASSWORD, "khaacho_no_such_replica")
    client = await aiohttp_client(create_app(
        wa_settings.model_copy(update={"read_database_url": gone})))
    assert "READ_DATABASE_URL does not answer (InvalidCatalogNameError)" in caplog.text
    await web_sign_in(client, graph, people.admin.phone)
    assert (await client.get("/app/analytics")).status == 500
    token = bearer(await api_token(client, graph, people.operator.phone))
    assert (await client.get("/api/v1/dashboard", headers=token)).status == 500
    assert (await client.get(f"/api/v1/orders/{sold}", headers=token)).status == 200
