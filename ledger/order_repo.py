"""Order rows: the Order value the dialogs read, and finding an order by id or number."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Literal

import asyncpg

from ledger.actors import Actor, is_staff
from ledger.errors import NotYourOrder, OrderNotFound
from ledger.lifecycle import BILLED_STATUSES, Status

if TYPE_CHECKING:
    from ledger.pricing import Quote

PaymentStatus = Literal["UNPAID", "PARTIAL", "PAID"]
OrderRef = int | str  # id, or number like "KH-000123"


@dataclass(frozen=True)
class OrderLine:
    sku: str
    name_en: str
    name_ne: str
    base_unit: str
    quantity_milli: int
    unit_text: str
    unit_price_paisa: int
    line_total_paisa: int


@dataclass(frozen=True)
class Order:
    id: int
    number: str
    status: Status
    retailer_id: int
    vendor_id: int | None
    vendor_name: str | None
    total_paisa: int
    lines: tuple[OrderLine, ...]
    created_at: datetime
    confirmed_at: datetime | None
    accepted_at: datetime | None
    due_at: datetime | None
    paid_paisa: int
    payment_status: PaymentStatus
    outstanding_paisa: int
    # The quote its lines were priced by, when the call that returned it wrote them (a draft
    # created or edited): who would get it, or what nobody has enough of, without asking again
    # in the same transaction. None when read back.
    priced_by: Quote | None = field(default=None, compare=False)


def payment_status(total: int, paid: int) -> PaymentStatus:
    assert 0 <= paid <= total, (paid, total)
    return "UNPAID" if paid == 0 else "PAID" if paid == total else "PARTIAL"


# Paid = allocations of payments that were not reversed.
PAID_SQL = """COALESCE((SELECT sum(pa.amount_paisa) FROM payment_allocations pa
                        JOIN payments p ON p.id = pa.payment_id AND NOT p.reversed
                        WHERE pa.order_id = o.id), 0)"""


# The order whose number, or a draft's lasting "D-…" reference, is $1 (given upper case).
_BY_NUMBER = """(SELECT id FROM orders WHERE number = $1 UNION ALL
                 SELECT id FROM orders WHERE draft_ref = $1 LIMIT 1)"""


def _key(ref: OrderRef) -> tuple[str, int | str]:
    """The SQL naming the order `ref` is (an id, or a number in any case), and its parameter."""
    if isinstance(ref, int):
        return "$1::bigint", ref
    return _BY_NUMBER, ref.strip().upper()


async def find_with_retailer(conn: asyncpg.Connection, ref: OrderRef) -> tuple[int, int]:
    """The order's id and its retailer's: a writer locks the retailer before the order."""
    sql, key = _key(ref)
    found = await conn.fetchrow(f"SELECT id, retailer_id FROM orders WHERE id = {sql}", key)
    if found is None:
        raise OrderNotFound(order=key)
    return found["id"], found["retailer_id"]


async def lock(conn: asyncpg.Connection, order_id: int) -> asyncpg.Record:
    """Lock the order row for the rest of the transaction and return it."""
    return await lock_ref(conn, order_id)


async def lock_ref(conn: asyncpg.Connection, ref: OrderRef) -> asyncpg.Record:
    """`lock` for an order given by id or number, in one statement."""
    sql, key = _key(ref)
    row = await conn.fetchrow(f"SELECT * FROM orders WHERE id = {sql} FOR NO KEY UPDATE", key)
    if row is None:
        raise OrderNotFound(order=key)
    return row


async def visible(conn: asyncpg.Connection, ref: OrderRef, actor: Actor) -> Order:
    """The order, if `actor` may see it: staff any, a retailer their own, a vendor one assigned to
    them. To anyone else it is `NotYourOrder`, which reads exactly like an order that does not
    exist: nothing about an order is said before ownership is checked."""
    order = await get(conn, ref)
    if is_staff(actor) or actor.id == (order.retailer_id if actor.role == "RETAILER"
                                       else order.vendor_id if actor.role == "VENDOR" else None):
        return order
    raise NotYourOrder(order=ref if isinstance(ref, str) else order.number)


async def get(conn: asyncpg.Connection, ref: OrderRef) -> Order:
    sql, key = _key(ref)
    # One round trip: the lines come as an array of rows, in OrderLine's field order.
    row = await conn.fetchrow(
        f"""SELECT o.*, v.shop_name AS vendor_name, {PAID_SQL} AS paid_paisa,
                   ARRAY(SELECT ROW(l.sku, p.name_en, p.name_ne, p.unit, l.quantity_milli,
                                    l.unit_text, l.unit_price_paisa, l.line_total_paisa)
                           FROM order_lines l JOIN products p ON p.sku = l.sku
                          WHERE l.order_id = o.id ORDER BY l.line_no) AS order_lines
            FROM orders o LEFT JOIN vendors v ON v.user_id = o.vendor_id
            WHERE o.id = {sql}""",
        key,
    )
    if row is None:
        raise OrderNotFound(order=key)
    return order_of(row, tuple(OrderLine(*line) for line in row["order_lines"]))


def order_of(
    row: asyncpg.Record, lines: tuple[OrderLine, ...], priced_by: Quote | None = None
) -> Order:
    """The Order of an orders row that comes with `vendor_name` and `paid_paisa`."""
    billed = row["status"] in BILLED_STATUSES
    paid = int(row["paid_paisa"])
    return Order(
        id=row["id"], number=row["number"], status=row["status"],
        retailer_id=row["retailer_id"], vendor_id=row["vendor_id"],
        vendor_name=row["vendor_name"], total_paisa=row["total_paisa"], lines=lines,
        created_at=row["created_at"], confirmed_at=row["confirmed_at"],
        accepted_at=row["accepted_at"], due_at=row["due_at"], paid_paisa=paid,
        payment_status=payment_status(row["total_paisa"], paid),
        outstanding_paisa=row["total_paisa"] - paid if billed else 0, priced_by=priced_by,
    )
