"""Users, retailers and vendors: who may talk to the bot and in what role."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import asyncpg

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
        await conn.execute(
            """UPDATE users SET wa_id = COALESCE(wa_id, $2), wa_user_id = COALESCE(wa_user_id, $3)
               WHERE id = $1""",
            user.id, wa_id, wa_user_id,
        )
        user = await by_id(conn, user.id)
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
