"""Demo data for a first run: the demo catalog, three vendors with stock, retailers, staff."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from catalog.csvload import load_catalog
from ledger import catalog_store, users
from ledger.users import Role


@dataclass(frozen=True)
class DemoUser:
    phone: str
    name: str
    role: Role
    shop: str | None = None
    credit_limit_npr: int | None = None
    language: str = "ne"


DEMO_USERS = (
    DemoUser("+9779800000001", "Asha Admin", "ADMIN", language="en"),
    DemoUser("+9779800000002", "Om Operator", "OPERATOR", language="en"),
    DemoUser("+9779810000001", "Bheri Traders", "VENDOR", "Bheri Traders, Birendranagar"),
    DemoUser("+9779810000002", "Karnali Wholesale", "VENDOR", "Karnali Wholesale, Surkhet"),
    DemoUser("+9779810000003", "Surkhet Suppliers", "VENDOR", "Surkhet Suppliers", language="en"),
    DemoUser("+9779820000001", "Ram Bahadur", "RETAILER", "Ram Kirana Pasal", 200_000),
    DemoUser("+9779820000002", "Sita Kumari", "RETAILER", "Sita General Store", 100_000, "en"),
    DemoUser("+9779820000003", "Hari Prasad", "RETAILER", "Hari Khadya Bhandar", 50_000),
    DemoUser("+9779820000004", "Gita Devi", "RETAILER", "Gita Pasal", 150_000),
    DemoUser("+9779820000005", "Krishna BK", "RETAILER", "Krishna Traders", 300_000, "en"),
)

# Vendors' prices differ a little from the list price, so assignment has something to choose.
_VENDOR_PRICE_PERMILLE = (1000, 985, 1015)
_DEMO_STOCK_MILLI = 500 * 1000  # 500 base units of everything


async def load(conn: asyncpg.Connection) -> list[DemoUser]:
    """Idempotent: running it again updates the same rows."""
    products = load_catalog()
    async with conn.transaction():
        await catalog_store.import_products(conn, products)
        vendor_index = 0
        for demo in DEMO_USERS:
            user = await users.upsert(
                conn, phone=demo.phone, name=demo.name, role=demo.role,
                language="en" if demo.language == "en" else "ne", shop_name=demo.shop,
                credit_limit_paisa=None if demo.credit_limit_npr is None
                else demo.credit_limit_npr * 100,
            )
            if demo.role == "VENDOR":
                await catalog_store.import_products(
                    conn, products, vendor_id=user.id, stock_milli=_DEMO_STOCK_MILLI,
                    price_factor_permille=_VENDOR_PRICE_PERMILLE[vendor_index % 3],
                )
                vendor_index += 1
    return list(DEMO_USERS)
