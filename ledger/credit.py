"""Credit limits: how much a retailer may owe, checked so that it holds under concurrency.

Exposure = ledger balance over all vendors + confirmed orders not yet billed (PENDING or
VENDOR_ASSIGNED; an order is billed, as an ORDER_CREDIT, when a vendor accepts it). Confirmation
and acceptance lock the retailer row (FOR NO KEY UPDATE) before reading exposure, so concurrent
confirmations for one retailer are checked one after another against what the others committed.
Every row lock in the ledger is FOR NO KEY UPDATE rather than FOR UPDATE: inserting a row that
references a locked one (a payment's foreign key to its retailer, an entry's to its order) takes
FOR KEY SHARE, which FOR UPDATE would block - a deadlock the stateful test found.
Exposure is read in one statement: one snapshot, so an acceptance moving an order from
"unbilled" into the balance is never counted twice or missed.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from ledger.actors import Actor, clean_reason, require_role
from ledger.audit import audit
from ledger.errors import (
    IllegalTransition,
    InvalidAmount,
    OverCreditLimit,
    RetailerBlocked,
    UnknownRetailer,
)
from ledger.lifecycle import OVERRIDABLE_STATUSES, UNBILLED_STATUSES, sql_list
from ledger.order_repo import OrderRef, lock_ref
from ledger.postings import MAX_AMOUNT_PAISA, is_paisa


@dataclass(frozen=True)
class CreditPosition:
    limit_paisa: int
    balance_paisa: int
    unbilled_paisa: int

    @property
    def exposure_paisa(self) -> int:
        return self.balance_paisa + self.unbilled_paisa

    @property
    def available_paisa(self) -> int:
        """What a new order may add; negative when already over (after a bounced payment)."""
        return self.limit_paisa - self.exposure_paisa


async def position(
    conn: asyncpg.Connection, retailer_id: int, *, excluding_order: int | None = None
) -> CreditPosition:
    """Limit, balance and unbilled orders of a retailer, read in one snapshot."""
    row = await conn.fetchrow(
        # The constant status list lets a generic plan prove the unbilled orders' index.
        f"""SELECT r.credit_limit_paisa,
                  COALESCE((SELECT sum(balance_paisa) FROM ledger_accounts
                            WHERE retailer_id = r.user_id), 0) AS balance,
                  COALESCE((SELECT sum(total_paisa) FROM orders
                            WHERE retailer_id = r.user_id
                              AND status = ANY($3::text[])
                              AND status IN {sql_list(UNBILLED_STATUSES)}
                              AND id IS DISTINCT FROM $2), 0) AS unbilled
           FROM retailers r WHERE r.user_id = $1""",
        retailer_id, excluding_order, list(UNBILLED_STATUSES),
    )
    if row is None:
        raise UnknownRetailer(user_id=retailer_id)
    return CreditPosition(
        limit_paisa=row["credit_limit_paisa"], balance_paisa=int(row["balance"]),
        unbilled_paisa=int(row["unbilled"]),
    )


async def owed_to(conn: asyncpg.Connection, retailer_id: int, vendor_id: int) -> int:
    """What a retailer owes one vendor: all a vendor is shown of the retailer's account (what
    they owe other vendors is theirs and those vendors' business)."""
    return int(await conn.fetchval(
        """SELECT COALESCE(sum(balance_paisa), 0) FROM ledger_accounts
           WHERE retailer_id = $1 AND vendor_id = $2""", retailer_id, vendor_id))


async def lock_retailer(conn: asyncpg.Connection, retailer_id: int) -> None:
    """Serialise credit decisions of one retailer; hold until the transaction ends. A blocked
    retailer gets no new credit (`RetailerBlocked`)."""
    await require_active(conn, retailer_id, lock=True)


async def require_active(conn: asyncpg.Connection, retailer_id: int, *, lock: bool = False) -> None:
    """The retailer exists and is not blocked (locked for credit decisions when `lock`)."""
    active = await conn.fetchval(
        f"""SELECT u.active FROM retailers r JOIN users u ON u.id = r.user_id
            WHERE r.user_id = $1 {"FOR NO KEY UPDATE OF r" if lock else ""}""", retailer_id)
    if active is None:
        raise UnknownRetailer(user_id=retailer_id)
    if not active:
        raise RetailerBlocked(user_id=retailer_id)


async def require_within_limit(
    conn: asyncpg.Connection, retailer_id: int, order_id: int, order_paisa: int
) -> CreditPosition:
    """Refuse an order that would take exposure past the limit, unless an admin overrode it.

    The caller holds the retailer lock (lock_retailer). The order itself is left out of the
    unbilled sum, so confirming and accepting it check the same thing.
    """
    now = await position(conn, retailer_id, excluding_order=order_id)
    if now.exposure_paisa + order_paisa <= now.limit_paisa:
        return now
    if await conn.fetchval(
            """SELECT true FROM credit_overrides WHERE order_id = $1
               AND (total_paisa IS NULL OR total_paisa >= $2)""", order_id, order_paisa):
        return now  # an override covers the order up to the total it was granted for
    raise OverCreditLimit(
        limit_paisa=now.limit_paisa, exposure_paisa=now.exposure_paisa, order_paisa=order_paisa,
        over_by_paisa=now.exposure_paisa + order_paisa - now.limit_paisa,
        available_paisa=max(now.available_paisa, 0),
    )


async def set_limit(
    conn: asyncpg.Connection, retailer_id: int, limit_paisa: int, actor: Actor, reason: str
) -> CreditPosition:
    """An admin sets a retailer's limit; the old and new values go to the audit log."""
    require_role(actor, "credit.set_limit", "ADMIN")
    return await apply_limit(conn, retailer_id, limit_paisa, actor, reason)


async def apply_limit(
    conn: asyncpg.Connection, retailer_id: int, limit_paisa: int, actor: Actor, reason: str,
    *, details: dict[str, object] | None = None,
) -> CreditPosition:
    """The one write of a limit, audited (`credit.set_limit`: old, new, who, why). Rights are
    the caller's: `set_limit` (admins, any limit) and `limit_suggestions.approve` (staff, only a
    limit the system suggested)."""
    why = clean_reason(reason, "credit.set_limit")
    if not is_paisa(limit_paisa) or not 0 <= limit_paisa <= MAX_AMOUNT_PAISA:
        raise InvalidAmount(amount_paisa=limit_paisa)
    async with conn.transaction():
        old = await conn.fetchval(
            "SELECT credit_limit_paisa FROM retailers WHERE user_id = $1 FOR NO KEY UPDATE",
            retailer_id,
        )
        if old is None:
            raise UnknownRetailer(user_id=retailer_id)
        await conn.execute(
            "UPDATE retailers SET credit_limit_paisa = $2 WHERE user_id = $1",
            retailer_id, limit_paisa,
        )
        await audit(conn, actor.id, "credit.set_limit", f"retailer:{retailer_id}", why,
                    {"old_paisa": old, "new_paisa": limit_paisa, **(details or {})})
        return await position(conn, retailer_id)


async def override_order(
    conn: asyncpg.Connection, order: OrderRef, actor: Actor, reason: str
) -> None:
    """An admin lets one order past the limit, at confirmation and at acceptance."""
    require_role(actor, "credit.override", "ADMIN")
    why = clean_reason(reason, "credit.override")
    async with conn.transaction():
        row = await lock_ref(conn, order)
        await require_active(conn, row["retailer_id"])
        if row["status"] not in OVERRIDABLE_STATUSES:
            raise IllegalTransition(order=row["number"], from_status=row["status"],
                                    to_status="ACCEPTED")
        await conn.execute(
            """INSERT INTO credit_overrides (order_id, retailer_id, granted_by, reason, total_paisa)
               VALUES ($1, $2, $3, $4, $5)""",
            row["id"], row["retailer_id"], actor.id, why, row["total_paisa"],
        )
        await audit(conn, actor.id, "credit.override", f"order:{row['number']}", why,
                    {"retailer_id": row["retailer_id"], "total_paisa": row["total_paisa"]})
