"""Staff decisions and whom they tell: approve a registration, block, unblock, set a credit limit.

The chat commands (dialogs/admin.py) and the staff pages and API (web/staff.py, web/api/staff.py)
both call these, so a decision taken on the web has exactly the effect of the same command in
chat, WhatsApp messages to the people involved included. Each returns what the ledger did and the
messages for the others (`tell`); the caller words its own answer to the staff member.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from catalog.parser import OrderParser
from dialogs import notify
from ledger import credit, registrations, users
from ledger.actors import Actor
from ledger.credit import CreditPosition
from ledger.registrations import Blocked
from ledger.users import Role, User
from locales.replies import Reply


@dataclass(frozen=True)
class Approved:
    user: User
    limit_paisa: int | None  # a new retailer's starting credit limit
    tell: list[Reply]


async def approve(conn: asyncpg.Connection, actor: Actor, target: User, role: Role, *,
                  starter_limit_paisa: int) -> Approved:
    """Let a waiting registration in; they hear they are approved (and their limit)."""
    approved = await registrations.approve(conn, target.id, actor, role,
                                           starter_limit_paisa=starter_limit_paisa)
    limit_paisa = None
    if approved.role == "RETAILER":
        limit_paisa = (await credit.position(conn, approved.id)).limit_paisa
    tell = [Reply("reg_approved", {"name": approved.name, "role": approved.role,
                                   "limit_paisa": limit_paisa}, to_user_id=approved.id)]
    return Approved(approved, limit_paisa, tell)


async def block(conn: asyncpg.Connection, parser: OrderParser, actor: Actor, target: User,
                reason: str) -> tuple[Blocked, list[Reply]]:
    """Block someone: vendors of a retailer's cancelled orders hear so, a blocked vendor's offers
    go on to the next vendor (who gets the offer; the retailer hears it moved)."""
    done = await registrations.block(conn, target.id, actor, reason)
    blocked = done.user
    tell: list[Reply] = []
    for order in done.cancelled:
        if order.vendor_id is not None:
            tell.append(Reply("vendor_order_cancelled", {"order": order, "by": "staff"},
                              to_user_id=order.vendor_id))
    for outcome in done.passed_on:  # the blocked vendor hears nothing of offers taken away
        tell.extend(r for r in await notify.outcome(conn, parser, outcome, tell_retailer=True)
                    if not (r.template == "offer_withdrawn" and r.to_user_id == blocked.id))
    return done, tell


async def unblock(conn: asyncpg.Connection, actor: Actor, target: User,
                  reason: str) -> tuple[User, list[Reply]]:
    """Undo a block; someone let in again hears they are back."""
    unblocked = await registrations.unblock(conn, target.id, actor, reason)
    tell = []
    if unblocked.active:
        tell.append(Reply("reg_approved", {"name": unblocked.name, "role": unblocked.role},
                          to_user_id=unblocked.id))
    return unblocked, tell


async def set_limit(conn: asyncpg.Connection, actor: Actor, retailer_id: int, amount_paisa: int,
                    reason: str) -> tuple[CreditPosition, list[Reply]]:
    """An admin sets a retailer's credit limit (with a reason); the retailer hears the new one."""
    position = await credit.set_limit(conn, retailer_id, amount_paisa, actor, reason)
    target = await users.by_id(conn, retailer_id)
    tell = [] if target is None else [
        Reply("limit_changed", {"position": position}, to_user_id=target.id)]
    return position, tell
