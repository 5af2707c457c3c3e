"""The staff's list of people: everyone who has written in or was added, with where they stand
(active, waiting for a decision, still registering, blocked), their shop and area, and for a shop
its credit limit and what it owes. Read only; the decisions are `ledger.registrations` and
`ledger.credit`. Staff only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import asyncpg

from ledger import users
from ledger.actors import STAFF, Actor, require_role
from ledger.users import Role, User

Standing = Literal["active", "waiting", "registering", "blocked"]
STANDINGS: tuple[Standing, ...] = ("waiting", "active", "blocked", "registering")
MAX_PAGE = 100
MAX_QUERY = 80


@dataclass(frozen=True)
class Person:
    user: User
    standing: Standing
    shop_name: str | None     # a retailer's or vendor's shop; what a registration said
    area: str
    limit_paisa: int | None   # a retailer's credit limit
    balance_paisa: int | None  # what a retailer owes, over all vendors
    registered_at: object     # datetime of the registration or the user row


# A registration's status as the bare word, passed as a parameter ('PENDING' spelt in SQL
# would read as the order status; tests/ledger/test_lifecycle.py scans for those).
_STANDING_SQL = """CASE WHEN g.status = $1 THEN 'blocked' WHEN u.active THEN 'active'
                        WHEN g.status = $2 THEN 'waiting' ELSE 'registering' END"""

_SELECT = f"""
    SELECT u.id, u.phone, u.wa_id, u.wa_user_id, u.name, u.role, u.language, u.active,
           {_STANDING_SQL} AS standing,
           COALESCE(r.shop_name, v.shop_name, NULLIF(g.shop_name, '')) AS shop_name,
           COALESCE(r.address, v.address, g.area, '') AS area,
           r.credit_limit_paisa,
           CASE WHEN r.user_id IS NULL THEN NULL ELSE
               COALESCE((SELECT sum(a.balance_paisa) FROM ledger_accounts a
                         WHERE a.retailer_id = u.id), 0) END AS balance,
           COALESCE(g.created_at, u.created_at) AS registered_at
    FROM users u
    LEFT JOIN registrations g ON g.user_id = u.id
    LEFT JOIN retailers r ON r.user_id = u.id
    LEFT JOIN vendors v ON v.user_id = u.id"""


def _person(row: asyncpg.Record) -> Person:
    user = users.User(id=row["id"], phone=row["phone"], wa_id=row["wa_id"],
                      wa_user_id=row["wa_user_id"], name=row["name"], role=row["role"],
                      language="ne" if row["language"] == "ne" else "en", active=row["active"])
    balance = row["balance"]
    return Person(user, row["standing"], row["shop_name"], row["area"] or "",
                  row["credit_limit_paisa"], None if balance is None else int(balance),
                  row["registered_at"])


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def search(
    conn: asyncpg.Connection, actor: Actor, *, role: Role | None = None,
    standing: Standing | None = None, area: str = "", text: str = "", limit: int = 50,
    offset: int = 0,
) -> tuple[list[Person], bool]:
    """People matching every filter given (`area` and `text` match any part, any case; `text`
    looks at the name, shop and phone), those waiting for a decision first (oldest first), then
    by name; and whether there are more after this page."""
    require_role(actor, "user.list", *STAFF)
    limit = max(1, min(limit, MAX_PAGE))
    area, text = " ".join(area.split())[:MAX_QUERY], " ".join(text.split())[:MAX_QUERY]
    digits = "".join(c for c in text if c.isdigit())
    rows = await conn.fetch(
        f"""SELECT * FROM ({_SELECT}) p
            WHERE ($3::text IS NULL OR p.role = $3)
              AND ($4::text IS NULL OR p.standing = $4)
              AND ($5 = '' OR p.area ILIKE $5)
              AND ($6 = '' OR p.name ILIKE $6 OR COALESCE(p.shop_name, '') ILIKE $6
                   OR ($7 <> '' AND COALESCE(p.phone, '') LIKE $7))
            ORDER BY (p.standing = 'waiting') DESC,
                     CASE WHEN p.standing = 'waiting' THEN p.registered_at END,
                     lower(p.name), p.id
            LIMIT $8 OFFSET $9""",
        "BLOCKED", "PENDING", role, standing, _like(area) if area else "",
        _like(text) if text else "", _like(digits) if len(digits) >= 3 else "",
        limit + 1, max(0, offset))
    return [_person(r) for r in rows[:limit]], len(rows) > limit


async def one(conn: asyncpg.Connection, actor: Actor, user_id: int) -> Person | None:
    """One person as the list shows them."""
    require_role(actor, "user.read", *STAFF)
    row = await conn.fetchrow(f"{_SELECT} WHERE u.id = $3", "BLOCKED", "PENDING", user_id)
    return None if row is None else _person(row)
