"""Registrations: numbers nobody added write in, tell us their name, shop and area, and wait for
staff to approve or block them. Every decision is checked against the actor's rights, audited,
and taken once (a second tap on Approve changes nothing and says so).

Approval applies only to a registration that is not decided yet; blocking keeps the person's
role and shop, so unblocking gives back exactly what was there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import asyncpg

from ledger import orders, users
from ledger.actors import STAFF, Actor, clean_reason, require_role
from ledger.assignment import Outcome
from ledger.audit import audit
from ledger.errors import AlreadyDone, NotPermitted, RegistrationIncomplete, UnknownUser
from ledger.lifecycle import OPEN_STATUSES, RETAILER_CANCELLABLE_STATUSES
from ledger.order_repo import Order
from ledger.users import MAX_NAME, Role, User
from locales import Language

Status = Literal["STARTED", "PENDING", "APPROVED", "BLOCKED"]
Field = Literal["name", "shop", "area"]
_COLUMN: dict[Field, str] = {"name": "name", "shop": "shop_name", "area": "area"}
MAX_PENDING_SHOWN = 10
# A shop has a handful of open orders; a bound keeps one block from becoming a batch job.
MAX_ORDERS_SETTLED = 200
# A registration waiting for staff. Passed as a parameter: 'PENDING' spelt in SQL here would read
# as the order status of the same name (tests/ledger/test_lifecycle.py scans for those).
WAITING: Status = "PENDING"
_E164 = re.compile(r"^\+[1-9][0-9]{7,14}$")
_LETTER = re.compile(r"[^\W\d_]")


@dataclass(frozen=True)
class Registration:
    user_id: int
    name: str
    shop_name: str
    area: str
    status: Status
    phone: str | None
    wa_user_id: str | None


def display_name(name: str) -> str:
    """A name to greet someone by: never their raw phone number (the name of a first contact
    without a WhatsApp profile name is their number), nor the placeholder "?"."""
    return "" if not _LETTER.search(name) else name


async def first_contact(
    conn: asyncpg.Connection, *, wa_id: str | None, wa_user_id: str | None,
    profile_name: str | None, language: Language,
) -> User:
    """The inactive user row (and started registration) of someone writing for the first time."""
    phone = f"+{wa_id}" if wa_id and _E164.match(f"+{wa_id}") else None
    name = (profile_name or wa_id or wa_user_id or "?").strip()[:MAX_NAME] or "?"
    user_id = await conn.fetchval(
        """INSERT INTO users (phone, wa_id, wa_user_id, name, role, language, active)
           VALUES ($1, $2, $3, $4, 'RETAILER', $5, false)
           ON CONFLICT DO NOTHING RETURNING id""",
        # With a wa_id, the business-scoped id is learnt later by `users.by_address`.
        phone, wa_id, None if wa_id else wa_user_id, name, language,
    )
    if user_id is None:  # a concurrent first message won; use its row
        found = await users.by_address(conn, wa_id, wa_user_id)
        assert found is not None
        return found
    await conn.execute("INSERT INTO registrations (user_id) VALUES ($1) ON CONFLICT DO NOTHING",
                       user_id)
    found = await users.by_id(conn, user_id)
    assert found is not None
    return found


async def status(conn: asyncpg.Connection, user_id: int) -> Status:
    """Where a registration stands; one is started for a user who has none."""
    found: Status | None = await conn.fetchval(
        "SELECT status FROM registrations WHERE user_id = $1", user_id)
    if found is None:
        await conn.execute("INSERT INTO registrations (user_id) VALUES ($1) ON CONFLICT DO NOTHING",
                           user_id)
        return "STARTED"
    return found


async def answer(conn: asyncpg.Connection, user_id: int, field: Field, value: str) -> None:
    """Keep one answer of the person registering (already checked by the dialog)."""
    await conn.execute(f"UPDATE registrations SET {_COLUMN[field]} = $2 WHERE user_id = $1",
                       user_id, value[:MAX_NAME])


async def submit(conn: asyncpg.Connection, user_id: int) -> Registration:
    """Every answer given: the registration waits for staff."""
    await conn.execute(
        """UPDATE registrations SET status = $2, created_at = now()
           WHERE user_id = $1 AND status IN ('STARTED', $2)""", user_id, WAITING)
    found = await get(conn, user_id)
    assert found is not None
    return found


async def withdraw(conn: asyncpg.Connection, user_id: int) -> None:
    """The person cancels: they start again with their next message."""
    await conn.execute(
        "UPDATE registrations SET status = 'STARTED' WHERE user_id = $1 AND status = $2",
        user_id, WAITING)


async def get(conn: asyncpg.Connection, user_id: int) -> Registration | None:
    row = await conn.fetchrow(
        """SELECT r.user_id, r.name, r.shop_name, r.area, r.status, u.phone, u.wa_user_id
           FROM registrations r JOIN users u ON u.id = r.user_id WHERE r.user_id = $1""",
        user_id)
    return None if row is None else Registration(**dict(row))


async def pending(conn: asyncpg.Connection, actor: Actor) -> list[Registration]:
    """Registrations waiting for a decision, oldest first."""
    require_role(actor, "registration.list", *STAFF)
    rows = await conn.fetch(
        """SELECT r.user_id, r.name, r.shop_name, r.area, r.status, u.phone, u.wa_user_id
           FROM registrations r JOIN users u ON u.id = r.user_id WHERE r.status = $1
           ORDER BY r.created_at LIMIT $2""", WAITING, MAX_PENDING_SHOWN)
    return [Registration(**dict(r)) for r in rows]


async def count_pending(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM registrations WHERE status = $1",
                                   WAITING))


def _require_may_decide(actor: Actor, target: User, action: str) -> None:
    """Staff decide; only admins decide about staff; nobody about themselves."""
    require_role(actor, action, *STAFF)
    if target.id == actor.id or (target.role in STAFF and actor.role != "ADMIN"):
        raise NotPermitted(action=action, role=actor.role)


async def approve(
    conn: asyncpg.Connection, target_id: int, actor: Actor, role: Role = "RETAILER", *,
    starter_limit_paisa: int = 0,
) -> User:
    """Let a registered number in with `role`, with a shop from what they told us; a new
    retailer starts with `starter_limit_paisa` of credit until an admin sets a limit."""
    async with conn.transaction():
        target = await _lock(conn, target_id)
        _require_may_decide(actor, target, "user.approve")
        if role in STAFF and actor.role != "ADMIN":
            raise NotPermitted(action="user.approve", role=actor.role)
        reg = await get(conn, target_id)
        if target.active or (reg is not None and reg.status in ("APPROVED", "BLOCKED")):
            raise AlreadyDone(action="approve", name=target.name,
                              status=reg.status if reg else "APPROVED")
        if reg is None or reg.status != WAITING:  # still answering: name, shop, area first
            raise RegistrationIncomplete(name=display_name(target.name) or target.public_id)
        name = (reg.name if reg and reg.name else target.name)[:MAX_NAME]
        shop = (reg.shop_name if reg and reg.shop_name else name)[:MAX_NAME]
        area = reg.area if reg else ""
        await conn.execute("UPDATE users SET active = true, role = $2, name = $3 WHERE id = $1",
                           target_id, role, name)
        if role == "RETAILER":
            await conn.execute(
                """INSERT INTO retailers (user_id, shop_name, address, credit_limit_paisa)
                   VALUES ($1, $2, $3, $4) ON CONFLICT (user_id) DO NOTHING""",
                target_id, shop, area, starter_limit_paisa)
        elif role == "VENDOR":
            await conn.execute(
                """INSERT INTO vendors (user_id, shop_name, address) VALUES ($1, $2, $3)
                   ON CONFLICT (user_id) DO NOTHING""", target_id, shop, area)
        await _decide(conn, target, actor, "APPROVED")
        await audit(conn, actor.id, "user.approve", f"user:{target_id}", role,
                    {"starter_limit_paisa": starter_limit_paisa} if role == "RETAILER" else None)
        approved = await users.by_id(conn, target_id)
        assert approved is not None
        return approved


@dataclass(frozen=True)
class Blocked:
    """A block, and what it did to the person's open orders (for the people to tell)."""

    user: User
    cancelled: tuple[Order, ...]   # a retailer's orders no vendor had accepted yet
    passed_on: tuple[Outcome, ...]  # a vendor's offers, gone to the next vendor
    kept: tuple[Order, ...]         # accepted orders left to finish: the goods are committed


async def block(
    conn: asyncpg.Connection, target_id: int, actor: Actor, reason: str = ""
) -> Blocked:
    """Stop a number: no new orders or credit. Their role, shop and history stay as they are; a
    retailer's orders not yet accepted are cancelled, a vendor's open offers go to the next
    vendor, and accepted orders are left to finish."""
    why = " ".join(reason.split())
    async with conn.transaction():
        target = await _lock(conn, target_id)
        _require_may_decide(actor, target, "user.block")
        if await status(conn, target_id) == "BLOCKED":
            raise AlreadyDone(action="block", name=target.name, status="BLOCKED")
        await conn.execute("UPDATE users SET active = false WHERE id = $1", target_id)
        await _decide(conn, target, actor, "BLOCKED")
        cancelled, passed_on, kept = [], [], []
        side = {"RETAILER": "retailer_id", "VENDOR": "vendor_id"}.get(target.role)
        if side is not None:
            rows = await conn.fetch(
                f"""SELECT id, status FROM orders WHERE {side} = $1 AND status = ANY($2::text[])
                    ORDER BY id LIMIT $3""",
                target_id, ["DRAFT", *OPEN_STATUSES], MAX_ORDERS_SETTLED)
            note = f"{target.role.lower()} blocked" + (f": {why}" if why else "")
            for row in rows:
                if side == "retailer_id" and row["status"] in RETAILER_CANCELLABLE_STATUSES:
                    cancelled.append(await orders.cancel(conn, row["id"], actor, note))
                elif side == "vendor_id" and row["status"] == "VENDOR_ASSIGNED":
                    passed_on.append(await orders.reject(conn, row["id"], actor, note))
                else:
                    kept.append(await orders.get(conn, row["id"]))
        await audit(conn, actor.id, "user.block", f"user:{target_id}", why,
                    {"was_active": target.active, "cancelled": [o.number for o in cancelled],
                     "passed_on": [o.order.number for o in passed_on]})
        blocked = await users.by_id(conn, target_id)
        assert blocked is not None
        return Blocked(blocked, tuple(cancelled), tuple(passed_on), tuple(kept))


async def unblock(conn: asyncpg.Connection, target_id: int, actor: Actor, reason: str = "") -> User:
    """Undo a block: someone let in before comes back as they were (same role, shop, limit); a
    stranger blocked while registering goes back to waiting for a decision."""
    async with conn.transaction():
        target = await _lock(conn, target_id)
        _require_may_decide(actor, target, "user.unblock")
        if await status(conn, target_id) != "BLOCKED":
            raise AlreadyDone(action="unblock", name=target.name,
                              status="APPROVED" if target.active else "PENDING")
        was_member = target.role in STAFF or await users.shop(conn, target_id) is not None
        if was_member:
            await conn.execute("UPDATE users SET active = true WHERE id = $1", target_id)
            await _decide(conn, target, actor, "APPROVED")
        else:
            await conn.execute(
                """UPDATE registrations SET decided_by = NULL, decided_at = NULL,
                       status = CASE WHEN name <> '' AND shop_name <> '' AND area <> ''
                                     THEN $2 ELSE 'STARTED' END
                   WHERE user_id = $1""", target_id, WAITING)
        await audit(conn, actor.id, "user.unblock", f"user:{target_id}",
                    clean_reason(reason, "user.unblock") if reason.strip() else "")
        unblocked = await users.by_id(conn, target_id)
        assert unblocked is not None
        return unblocked


async def _lock(conn: asyncpg.Connection, user_id: int) -> User:
    """The user, locked so two staff deciding at once decide one after the other."""
    if await conn.fetchval("SELECT id FROM users WHERE id = $1 FOR NO KEY UPDATE", user_id) is None:
        raise UnknownUser(user_id=user_id)
    found = await users.by_id(conn, user_id)
    assert found is not None
    return found


async def _decide(conn: asyncpg.Connection, target: User, actor: Actor, decision: Status) -> None:
    await conn.execute(
        """INSERT INTO registrations (user_id, name, status, decided_by, decided_at)
           VALUES ($1, $2, $3, $4, now())
           ON CONFLICT (user_id) DO UPDATE SET status = EXCLUDED.status,
               decided_by = EXCLUDED.decided_by, decided_at = now()""",
        target.id, target.name[:MAX_NAME], decision, actor.id)
