"""Fixtures for ledger tests: a connection and a small world of people, products and stock.

Every test that uses `conn` ends with `ledger.check`: whatever a test did through the services,
the ledger must still agree with itself. Tests that break it on purpose are marked
`breaks_ledger`.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import pytest

from ledger import check, khata, users
from ledger.pricing import LineRequest
from ledger.users import User

_phones = itertools.count(9800000000)

# (sku, name_en, name_ne, unit, list price paisa per unit)
PRODUCTS = [
    ("CHINI", "Sugar", "चिनी", "kg", 12000),
    ("CHAMAL", "Rice", "चामल", "kg", 9000),
    ("TEL", "Oil", "तेल", "l", 25000),
]


@dataclass(frozen=True)
class World:
    admin: User
    operator: User
    retailer: User
    retailer2: User
    vendor: User   # carries everything: CHINI 115, CHAMAL 90, TEL 240 rupees
    vendor2: User  # cheaper sugar, no oil: CHINI 110, CHAMAL 95


def phone() -> str:
    return f"+977{next(_phones)}"


async def make_user(conn: asyncpg.Connection, role: users.Role, name: str, **kw: object) -> User:
    return await users.upsert(
        conn, phone=phone(), name=name, role=role, **kw)  # type: ignore[arg-type]


async def add_products(conn: asyncpg.Connection) -> None:
    await conn.executemany(
        """INSERT INTO products (sku, name_en, name_ne, category, unit, price_paisa)
           VALUES ($1, $2, $3, 'grocery', $4, $5) ON CONFLICT (sku) DO NOTHING""",
        PRODUCTS,
    )


async def carry(
    conn: asyncpg.Connection, vendor: User, sku: str, price_paisa: int, stock_milli: int
) -> None:
    await conn.execute(
        """INSERT INTO vendor_products (vendor_id, sku, price_paisa, stock_milli)
           VALUES ($1, $2, $3, $4)""",
        vendor.id, sku, price_paisa, stock_milli,
    )


async def build_world(conn: asyncpg.Connection, limit_paisa: int = 5_000_000) -> World:
    await add_products(conn)
    world = World(
        admin=await make_user(conn, "ADMIN", "Admin"),
        operator=await make_user(conn, "OPERATOR", "Operator"),
        retailer=await make_user(conn, "RETAILER", "Ram Kirana", credit_limit_paisa=limit_paisa),
        retailer2=await make_user(conn, "RETAILER", "Sita Store", credit_limit_paisa=limit_paisa),
        vendor=await make_user(conn, "VENDOR", "Himal Traders"),
        vendor2=await make_user(conn, "VENDOR", "Terai Wholesale"),
    )
    await carry(conn, world.vendor, "CHINI", 11500, 1_000_000)
    await carry(conn, world.vendor, "CHAMAL", 9000, 1_000_000)
    await carry(conn, world.vendor, "TEL", 24000, 1_000_000)
    await carry(conn, world.vendor2, "CHINI", 11000, 500_000)
    await carry(conn, world.vendor2, "CHAMAL", 9500, 500_000)
    return world


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "breaks_ledger: the test breaks the ledger on purpose; skip the final check")


@pytest.fixture
async def conn(
    pool: asyncpg.Pool, request: pytest.FixtureRequest
) -> AsyncIterator[asyncpg.Connection]:
    async with pool.acquire() as connection:
        yield connection
        if request.node.get_closest_marker("breaks_ledger") is None:
            result = await check.run(connection)
            assert result.ok, result.lines()


@pytest.fixture
async def world(conn: asyncpg.Connection) -> World:
    return await build_world(conn)


def line(sku: str, kg: float, unit: str = "kg") -> LineRequest:
    return LineRequest(sku, round(kg * 1000), unit)


async def import_old_book(conn: asyncpg.Connection, vendor: User, retailer: User, *,
                          sale: tuple[str, int], payment: tuple[str, int]) -> int:
    """A vendor's book with one sale (date, rupees) and one payment on it, imported; the id of
    the bill it made."""
    imported = await khata.import_book(conn, [
        "date,vendor_phone,retailer_phone,kind,amount,reference,method\n",
        f"{sale[0]},{vendor.phone},{retailer.phone},sale,{sale[1]},B-1,\n",
        f"{payment[0]},{vendor.phone},{retailer.phone},payment,{payment[1]},R-1,cash\n"],
        starter_limit_paisa=0)
    assert imported.ok, imported.problems
    bill: int = await conn.fetchval(
        "SELECT id FROM orders WHERE source = 'import' ORDER BY id DESC LIMIT 1")
    return bill
