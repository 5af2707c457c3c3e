"""Who may read what: the checks the read services share. Staff see everything; a retailer sees
their own; a vendor sees their own and the retailers they serve (an account or an order between
them). Writes check their own rules where they are made (`ledger.orders`, `ledger.credit`, …)."""

from __future__ import annotations

import asyncpg

from ledger.actors import Actor, is_staff
from ledger.errors import NotPermitted


async def serves(conn: asyncpg.Connection, vendor_id: int, retailer_id: int) -> bool:
    """Whether a vendor deals with a retailer: an account between them, or an order offered."""
    return bool(await conn.fetchval(
        """SELECT EXISTS (SELECT 1 FROM ledger_accounts WHERE vendor_id = $1 AND retailer_id = $2)
               OR EXISTS (SELECT 1 FROM orders WHERE vendor_id = $1 AND retailer_id = $2)""",
        vendor_id, retailer_id))


async def require_sees_retailer(conn: asyncpg.Connection, actor: Actor, retailer_id: int) -> None:
    if is_staff(actor) or (actor.role == "RETAILER" and actor.id == retailer_id):
        return
    if actor.role == "VENDOR" and await serves(conn, actor.id, retailer_id):
        return
    raise NotPermitted(action="retailer.read", role=actor.role)


def require_sees_vendor(actor: Actor, vendor_id: int) -> None:
    if is_staff(actor) or (actor.role == "VENDOR" and actor.id == vendor_id):
        return
    raise NotPermitted(action="vendor.read", role=actor.role)


async def require_sees(
    conn: asyncpg.Connection, actor: Actor, *, retailer_id: int | None, vendor_id: int | None
) -> None:
    """For reads filtered by retailer and/or vendor: each filter must be one the actor may see,
    and only staff read without a filter (the whole town)."""
    if retailer_id is None and vendor_id is None and not is_staff(actor):
        raise NotPermitted(action="town.read", role=actor.role)
    if vendor_id is not None:
        require_sees_vendor(actor, vendor_id)
    if retailer_id is not None and not (vendor_id is not None and actor.id == vendor_id):
        await require_sees_retailer(conn, actor, retailer_id)
