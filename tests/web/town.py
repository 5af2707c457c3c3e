"""The demo town for the vendor and retailer pages and API: real orders placed through the
ledger, people signed in by their WhatsApp code, and what the fake Graph API delivered to them.

The `town` fixture (tests/web/conftest.py) builds it."""

from __future__ import annotations

from dataclasses import dataclass

from ledger import orders, users
from ledger.order_repo import Order
from ledger.pricing import LineRequest
from ledger.users import User
from tests.dialogs.conftest import World

RAM, SITA = "+9779820000001", "+9779820000002"


@dataclass
class Town:
    world: World

    @property
    def pool(self):  # type: ignore[no-untyped-def]
        return self.world.pool

    async def user(self, phone: str) -> User:
        async with self.pool.acquire() as conn:
            found = await users.by_phone(conn, phone)
        assert found is not None, phone
        return found

    async def place(self, phone: str = RAM, sku: str = "", kg: int = 2) -> Order:
        """An order the retailer confirmed, offered to the best vendor (who it names)."""
        retailer = await self.user(phone)
        async with self.pool.acquire() as conn:
            if not sku:
                sku = await conn.fetchval(
                    "SELECT sku FROM vendor_products WHERE stock_milli > 100000 ORDER BY sku "
                    "LIMIT 1")
            draft = await orders.create_draft(conn, retailer, [LineRequest(sku, kg * 1000, "kg")])
            done = await orders.confirm(conn, draft.id, retailer)
            assert done.order.vendor_id is not None, done
            return done.order

    async def vendor_of(self, order: Order) -> User:
        async with self.pool.acquire() as conn:
            found = await users.by_id(conn, order.vendor_id)  # type: ignore[arg-type]
        assert found is not None
        return found

    async def token(self, phone: str) -> str:
        """A bearer token for `phone` (the code read from what arrives after asking, since an
        order number's digits look like a code too)."""
        from tests.web.conftest import api_token, codes_to  # conftest imports this module

        await self.world.settle()
        return await api_token(self.world.client, self.world.graph, phone,
                               count=len(codes_to(self.world.graph, phone)) + 1)

    async def sign_in(self, client, phone: str):  # type: ignore[no-untyped-def]
        """`client` signed in on the pages as `phone`."""
        from tests.web.conftest import codes_to, web_sign_in

        await self.world.settle()
        return await web_sign_in(client, self.world.graph, phone,
                                 count=len(codes_to(self.world.graph, phone)) + 1)

    async def texts_to(self, phone: str) -> list[str]:
        """Everything delivered to `phone` since last asked, once the outbox is empty."""
        await self.world.settle()
        return [s.text for s in self.world.new_for(phone.lstrip("+"))]
