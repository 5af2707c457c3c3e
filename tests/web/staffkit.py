"""A small town for the staff pages' and the API's tests: staff, a vendor serving a shop (one
accepted order between them), a shop that vendor does not serve, and a registration waiting;
and signing anyone in directly (a session cookie or a bearer token issued by the service, so a
test can sign in as often as it likes without codes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import asyncpg

from ledger import auth, claims, registrations
from ledger.users import User
from tests.ledger.conftest import build_world, line, phone
from tests.ledger.helpers import accepted_order
from web.session import SESSION_COOKIE


@dataclass(frozen=True)
class Town:
    admin: User
    operator: User
    vendor: User
    retailer: User      # has an accepted order with `vendor` (KH-000001), and a claim C-000001
    other_shop: User    # `vendor` does not serve them
    waiting: User       # a registration waiting for staff

    def by_role(self, role: str) -> User:
        return {"ADMIN": self.admin, "OPERATOR": self.operator, "VENDOR": self.vendor,
                "RETAILER": self.retailer}[role]


async def waiting_registration(conn: asyncpg.Connection, name: str = "Kale") -> User:
    wa_id = phone().lstrip("+")
    user = await registrations.first_contact(conn, wa_id=wa_id, wa_user_id=None,
                                             profile_name=name, language="en")
    for field, value in (("name", name), ("shop", f"{name} Store"), ("area", "Chhinchu")):
        await registrations.answer(conn, user.id, field, value)  # type: ignore[arg-type]
    await registrations.submit(conn, user.id)
    return user


async def build_town(pool: asyncpg.Pool) -> Town:
    async with pool.acquire() as conn:
        world = await build_world(conn)
        await accepted_order(conn, world.retailer, world.vendor, [line("TEL", 2, "l")])
        # A payment the shop says it made, for the vendor to confirm (C-000001).
        await claims.claim(conn, world.retailer, vendor_id=world.vendor.id, amount_paisa=10_000,
                           method="esewa", request_key="town-claim")
        await conn.execute("UPDATE users SET language = 'en'")
        waiting = await waiting_registration(conn)
    return Town(world.admin, world.operator, world.vendor, world.retailer, world.retailer2,
                waiting)


async def session_for(pool: asyncpg.Pool, user: User, kind: auth.Kind = "web") -> str:
    async with pool.acquire() as conn:
        issued = await auth.issue(conn, user, kind, timedelta(hours=1))
    return issued.token


async def sign_in_as(client, pool: asyncpg.Pool, user: User | None) -> None:  # type: ignore[no-untyped-def]
    """`client`'s cookie jar holds a web session of `user` (None: signed out)."""
    client.session.cookie_jar.clear()
    if user is not None:
        client.session.cookie_jar.update_cookies(
            {SESSION_COOKIE: await session_for(pool, user)}, client.make_url("/"))


async def bearer_for(pool: asyncpg.Pool, user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {await session_for(pool, user, 'api')}"}
