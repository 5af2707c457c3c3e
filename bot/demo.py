"""Demo data for a first run: the demo catalog, three vendors with stock, retailers, staff.

Only what is missing is added. `make run` loads the demo every time it starts, so anything
already there may be something a person changed since (an admin's limit, a vendor's price or
stock, someone's language or role): it is never written over. To refresh the catalog itself from
its CSV, import it (`khaacho catalog import catalog/data/catalog.csv`; vendors' prices stay).
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from catalog.csvload import load_catalog
from catalog.model import Product
from ledger import catalog_store, stock, users
from ledger.users import Role, User


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


@dataclass(frozen=True)
class Loaded:
    """What the demo added this time; everything else was already there and left as it was."""

    people: tuple[DemoUser, ...]
    users_added: int
    products_added: int
    offers_added: int


async def load(conn: asyncpg.Connection) -> Loaded:
    """Add the demo catalog, people and vendors' offers where they are missing, in one
    transaction; running it again adds nothing and changes nothing."""
    products = load_catalog()
    async with conn.transaction():
        known = {p.sku for p in await catalog_store.products(conn)}
        missing = [p for p in products if p.sku not in known]
        if missing:
            await catalog_store.import_products(conn, missing)
        users_added = offers_added = 0
        vendor_index = 0
        for demo in DEMO_USERS:
            user = await users.by_phone(conn, demo.phone)
            if user is None:
                user = await _add(conn, demo)
                users_added += 1
            if demo.role == "VENDOR":
                factor = _VENDOR_PRICE_PERMILLE[vendor_index % len(_VENDOR_PRICE_PERMILLE)]
                vendor_index += 1
                if user.role == "VENDOR":  # an admin may have made them something else since
                    offers_added += await _add_offers(conn, user, products, factor)
    return Loaded(DEMO_USERS, users_added, len(missing), offers_added)


async def _add(conn: asyncpg.Connection, demo: DemoUser) -> User:
    return await users.upsert(
        conn, phone=demo.phone, name=demo.name, role=demo.role,
        language="en" if demo.language == "en" else "ne", shop_name=demo.shop,
        credit_limit_paisa=None if demo.credit_limit_npr is None else demo.credit_limit_npr * 100,
    )


async def _add_offers(
    conn: asyncpg.Connection, vendor: User, products: list[Product], factor_permille: int
) -> int:
    """The vendor's price and stock of each demo product it does not carry yet."""
    carried = {offer.sku for offer in await stock.offers(conn, vendor.id)}
    added = 0
    for product in products:
        if product.sku in carried:
            continue
        await stock.set_offer(
            conn, vendor, product.sku,
            price_paisa=max(1, product.price_paisa * factor_permille // 1000),
            stock_milli=_DEMO_STOCK_MILLI)
        added += 1
    return added
