"""Users, retailers and vendors: who may talk to the bot and in what role.

`add` is the service staff use (rights checked, audited); `upsert` is the plain write that the
CLI, the demo data and tests use to set people up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import asyncpg

from ledger.actors import Actor, clean_reason, require_role
from ledger.audit import audit
from ledger.errors import (
    AlreadyDone,
    InvalidAmount,
    NotPermitted,
    RoleChangeBlocked,
    RoleConflict,
    UnknownUser,
)
from ledger.lifecycle import OPEN_STATUSES
from ledger.postings import MAX_AMOUNT_PAISA, is_paisa
from locales import Language, language_of, numbers

Role = Literal["ADMIN", "OPERATOR", "VENDOR", "RETAILER"]
ROLES: tuple[Role, ...] = ("ADMIN", "OPERATOR", "VENDOR", "RETAILER")


@dataclass(frozen=True)
class User:
    id: int
    phone: str | None
    wa_id: str | None
    wa_user_id: str | None
    name: str
    role: Role
    language: Language
    active: bool

    @property
    def address(self) -> str:
        """Where WhatsApp messages to this user go."""
        return self.wa_id or self.wa_user_id or numbers.wa_id(self.phone or "")

    @property
    def public_id(self) -> str:
        """How buttons and pages name this user: the phone, else the business-scoped id."""
        return self.phone or self.wa_user_id or self.address


@dataclass(frozen=True)
class Shop:
    """A retailer's or vendor's shop as others see it."""

    user_id: int
    shop_name: str
    address: str
    phone: str | None

# How many staff hear about registrations and orders nobody can take.
MAX_STAFF_TOLD = 20
MAX_NAME = 120


_COLUMNS = "id, phone, wa_id, wa_user_id, name, role, language, active"


def _user(row: asyncpg.Record | None) -> User | None:
    if row is None:
        return None
    return User(
        id=row["id"], phone=row["phone"], wa_id=row["wa_id"], wa_user_id=row["wa_user_id"],
        name=row["name"], role=row["role"], language=language_of(row["language"]),
        active=row["active"],
    )


async def by_id(conn: asyncpg.Connection, user_id: int) -> User | None:
    return _user(await conn.fetchrow(f"SELECT {_COLUMNS} FROM users WHERE id = $1", user_id))


async def by_phone(conn: asyncpg.Connection, phone: str) -> User | None:
    return _user(await conn.fetchrow(f"SELECT {_COLUMNS} FROM users WHERE phone = $1", phone))


async def by_public_id(conn: asyncpg.Connection, public_id: str) -> User | None:
    """The user a button or page names (see `User.public_id`; a bare row id from older buttons)."""
    if public_id.startswith("+"):
        return await by_phone(conn, public_id)
    if public_id.isdigit() and len(public_id) <= 18:
        return await by_id(conn, int(public_id))
    return _user(await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM users WHERE wa_user_id = $1", public_id))


async def staff_ids(
    conn: asyncpg.Connection, *, roles: tuple[Role, ...] = ("ADMIN", "OPERATOR")
) -> list[int]:
    """Who decides registrations and hears about orders nobody can take (only admins hear
    what only admins can decide, such as an override)."""
    rows = await conn.fetch(
        """SELECT id FROM users WHERE role = ANY($2::text[]) AND active
           ORDER BY id LIMIT $1""", MAX_STAFF_TOLD, list(roles))
    return [r["id"] for r in rows]


async def shop(conn: asyncpg.Connection, user_id: int) -> Shop | None:
    """The retailer's or vendor's shop of a user, or None for staff and strangers."""
    row = await conn.fetchrow(
        """SELECT s.user_id, s.shop_name, s.address, u.phone FROM (
               SELECT user_id, shop_name, address FROM retailers WHERE user_id = $1
               UNION ALL
               SELECT user_id, shop_name, address FROM vendors WHERE user_id = $1) s
           JOIN users u ON u.id = s.user_id LIMIT 1""", user_id)
    return None if row is None else Shop(row["user_id"], row["shop_name"], row["address"],
                                         row["phone"])


async def set_language(conn: asyncpg.Connection, user_id: int, language: Language) -> None:
    """Anyone may switch their own language at any time."""
    await conn.execute("UPDATE users SET language = $2 WHERE id = $1", user_id, language)


async def add(
    conn: asyncpg.Connection, actor: Actor, *, phone: str, name: str, role: Role,
    credit_limit_paisa: int | None = None, starter_limit_paisa: int = 0,
) -> User:
    """Staff add a retailer or vendor (admins also operators), approved at once and audited.

    Adding never changes anyone already here: not their role (that would strand their orders: an
    admin added as a retailer loses every command), nor their name, shop or area. Only admins
    set credit limits; a new retailer starts with `starter_limit_paisa`.
    """
    require_role(actor, "user.add", "ADMIN", "OPERATOR")
    if role not in ("RETAILER", "VENDOR") and actor.role != "ADMIN":
        raise NotPermitted(action="user.add", role=actor.role)
    if credit_limit_paisa is not None:
        require_role(actor, "credit.set_limit", "ADMIN")
        if not is_paisa(credit_limit_paisa) or not 0 <= credit_limit_paisa <= MAX_AMOUNT_PAISA:
            raise InvalidAmount(amount_paisa=credit_limit_paisa)
    name = " ".join(name.split())[:MAX_NAME] or phone
    async with conn.transaction():
        existing = await by_phone(conn, phone)
        if existing is not None:
            if not existing.active and await _blocked(conn, existing.id):
                raise RoleConflict(phone=phone, role=existing.role, wanted=role, blocked=True)
            if existing.role != role and (existing.active or await _was_member(conn, existing)):
                raise RoleConflict(phone=phone, role=existing.role, wanted=role, blocked=False)
            if existing.active:  # already here as asked: nothing of theirs is overwritten
                raise AlreadyDone(action="add", name=existing.name, status=role)
        new_shop = existing is None or await shop(conn, existing.id) is None
        added = await upsert(conn, phone=phone, name=name, role=role,
                             language=existing.language if existing else "ne", shop_name=name,
                             credit_limit_paisa=credit_limit_paisa if credit_limit_paisa is not None
                             else starter_limit_paisa if new_shop else None)
        await conn.execute(
            """INSERT INTO registrations (user_id, name, shop_name, status, decided_by,
                                          decided_at)
               VALUES ($1, $2, $2, 'APPROVED', $3, now())
               ON CONFLICT (user_id) DO UPDATE SET status = 'APPROVED',
                   decided_by = EXCLUDED.decided_by, decided_at = now()""",
            added.id, name, actor.id)
        await audit(conn, actor.id, "user.add", f"user:{added.id}", role,
                    {"credit_limit_paisa": credit_limit_paisa})
        return added


async def add_from_book(
    conn: asyncpg.Connection, *, phone: str, name: str, starter_limit_paisa: int,
    vendor_id: int,
) -> tuple[User, bool]:
    """A retailer named in a vendor's imported book (`ledger.khata`): found, or added approved
    with the starter limit (True), audited. A stranger who wrote in is approved as a retailer,
    as `add` does; someone in another role, or blocked, is a `RoleConflict`."""
    existing = await by_phone(conn, phone)
    if existing is not None:
        blocked = not existing.active and await _blocked(conn, existing.id)
        if existing.role != "RETAILER" or blocked:
            raise RoleConflict(phone=phone, role=existing.role, wanted="RETAILER",
                               blocked=blocked)
        if existing.active and await shop(conn, existing.id) is not None:
            return existing, False
    name = " ".join(name.split())[:MAX_NAME] or phone
    added = await upsert(conn, phone=phone, name=name, role="RETAILER",
                         language=existing.language if existing else "ne", shop_name=name,
                         credit_limit_paisa=starter_limit_paisa)
    await conn.execute(
        """INSERT INTO registrations (user_id, name, shop_name, status, decided_at)
           VALUES ($1, $2, $2, 'APPROVED', now())
           ON CONFLICT (user_id) DO UPDATE SET status = 'APPROVED', decided_at = now()""",
        added.id, name)
    await audit(conn, None, "user.add", f"user:{added.id}", "RETAILER",
                {"from": "khata import", "vendor_id": vendor_id,
                 "credit_limit_paisa": starter_limit_paisa})
    return added, True


async def change_role(
    conn: asyncpg.Connection, actor: Actor, user_id: int, role: Role, reason: str, *,
    starter_limit_paisa: int = 0,
) -> User:
    """An admin moves someone to another role, on purpose and with a reason, audited.

    Refused while it would strand what the person has open in their current role: a retailer's
    open orders or balance, a vendor's orders to fulfil or money owed to them.
    """
    require_role(actor, "user.role", "ADMIN")
    why = clean_reason(reason, "user.role")
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    async with conn.transaction():
        if await conn.fetchval("SELECT id FROM users WHERE id = $1 FOR NO KEY UPDATE",
                               user_id) is None:
            raise UnknownUser(user_id=user_id)
        user = await by_id(conn, user_id)
        assert user is not None
        if user.id == actor.id:
            raise NotPermitted(action="user.role", role=actor.role)
        if user.role == role:
            raise AlreadyDone(action="role", name=user.name, status=role)
        side = {"RETAILER": "retailer_id", "VENDOR": "vendor_id"}.get(user.role)
        if side is not None:
            held = await conn.fetchrow(
                f"""SELECT (SELECT count(*) FROM orders
                            WHERE {side} = $1 AND status = ANY($2::text[])) AS open_orders,
                           (SELECT COALESCE(sum(balance_paisa), 0) FROM ledger_accounts
                            WHERE {side} = $1) AS balance""",
                user_id, list(OPEN_STATUSES))
            if held["open_orders"] or held["balance"]:
                raise RoleChangeBlocked(name=user.name, role=user.role,
                                        open_orders=int(held["open_orders"]),
                                        balance_paisa=int(held["balance"]))
        await conn.execute("UPDATE users SET role = $2 WHERE id = $1", user_id, role)
        current = await shop(conn, user_id)
        name, place = (current.shop_name, current.address) if current else (user.name, "")
        if role == "RETAILER":  # a shop new to credit starts with the starter limit
            await conn.execute(
                """INSERT INTO retailers (user_id, shop_name, address, credit_limit_paisa)
                   VALUES ($1, $2, $3, $4) ON CONFLICT (user_id) DO NOTHING""",
                user_id, name, place, starter_limit_paisa)
        elif role == "VENDOR":
            await conn.execute(
                """INSERT INTO vendors (user_id, shop_name, address) VALUES ($1, $2, $3)
                   ON CONFLICT (user_id) DO NOTHING""", user_id, name, place)
        await audit(conn, actor.id, "user.role", f"user:{user_id}", why,
                    {"old": user.role, "new": role})
        changed = await by_id(conn, user_id)
        assert changed is not None
        return changed


async def _was_member(conn: asyncpg.Connection, user: User) -> bool:
    """Whether an inactive user was ever let in (has a shop), as opposed to a stranger who only
    wrote to us (whom adding approves)."""
    return await shop(conn, user.id) is not None


async def _blocked(conn: asyncpg.Connection, user_id: int) -> bool:
    return bool(await conn.fetchval(
        "SELECT status = 'BLOCKED' FROM registrations WHERE user_id = $1", user_id))


async def by_address(
    conn: asyncpg.Connection, wa_id: str | None, wa_user_id: str | None
) -> User | None:
    """Find who wrote: by wa_id or phone, else by business-scoped id; learn the missing id."""
    row = None
    if wa_id:
        row = await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM users WHERE wa_id = $1 OR phone = $2", wa_id, "+" + wa_id
        )
    if row is None and wa_user_id:
        row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM users WHERE wa_user_id = $1", wa_user_id)
    user = _user(row)
    if user and ((wa_id and not user.wa_id) or (wa_user_id and not user.wa_user_id)):
        user = _user(await conn.fetchrow(
            f"""UPDATE users SET wa_id = COALESCE(wa_id, $2), wa_user_id = COALESCE(wa_user_id, $3)
                WHERE id = $1 RETURNING {_COLUMNS}""",
            user.id, wa_id, wa_user_id,
        ))
    return user


async def upsert(
    conn: asyncpg.Connection,
    *,
    phone: str,
    name: str,
    role: Role,
    language: Language = "ne",
    shop_name: str | None = None,
    address: str = "",
    credit_limit_paisa: int | None = None,
    active: bool = True,
) -> User:
    """Add a user (or update one with the same phone) with their retailer/vendor row."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    async with conn.transaction():
        row = await conn.fetchrow(
            f"""INSERT INTO users (phone, wa_id, name, role, language, active)
                VALUES ($1, $2, $3, $4, $5, $6)
                ON CONFLICT (phone) DO UPDATE SET name = EXCLUDED.name, role = EXCLUDED.role,
                    language = EXCLUDED.language, active = EXCLUDED.active
                RETURNING {_COLUMNS}""",
            phone, numbers.wa_id(phone), name, role, language, active,
        )
        user = _user(row)
        assert user is not None
        if role == "RETAILER":
            await conn.execute(
                """INSERT INTO retailers (user_id, shop_name, address, credit_limit_paisa)
                   VALUES ($1, $2, $3, COALESCE($4, 0))
                   ON CONFLICT (user_id) DO UPDATE SET shop_name = EXCLUDED.shop_name,
                       address = EXCLUDED.address,
                       credit_limit_paisa = COALESCE($4, retailers.credit_limit_paisa)""",
                user.id, shop_name or name, address, credit_limit_paisa,
            )
        elif role == "VENDOR":
            await conn.execute(
                """INSERT INTO vendors (user_id, shop_name, address) VALUES ($1, $2, $3)
                   ON CONFLICT (user_id) DO UPDATE SET shop_name = EXCLUDED.shop_name,
                       address = EXCLUDED.address""",
                user.id, shop_name or name, address,
            )
        return user

