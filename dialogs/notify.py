"""Turns what the ledger did into messages for the other people involved: the vendor gets a new
offer, the retailer hears at each step of their order (and can confirm a delivery or report a
problem), operators hear when nobody can take one and when people disagree."""

from __future__ import annotations

import asyncpg

from catalog.parser import OrderParser
from dialogs import buttons, present
from ledger import credit, users
from ledger.assignment import Outcome
from ledger.disputes import Dispute
from ledger.lifecycle import FULFILLED_STATUSES
from ledger.order_repo import Order
from locales.replies import Button, Reply


def offer_buttons(number: str) -> tuple[Button, ...]:
    return (buttons.button("order", "accept", number, "Accept"),
            buttons.button("order", "reject", number, "Reject"))


async def offer(conn: asyncpg.Connection, parser: OrderParser, order: Order,
                vendor_id: int) -> list[Reply]:
    """The new order as the vendor sees it: retailer, items, total, the retailer's balance and
    limit, and Accept / Reject (a long order's items come first, in a message of their own)."""
    shop = await users.shop(conn, order.retailer_id)
    position = await credit.position(conn, order.retailer_id)
    owed = await credit.owed_to(conn, order.retailer_id, vendor_id)
    lines = present.lines(parser, order.lines)
    replies = []
    if len(lines) > present.LINES_WITH_BUTTONS:
        replies.append(Reply("order_lines", {"number": order.number, "lines": lines},
                             to_user_id=vendor_id))
        lines = []
    return [*replies, Reply("vendor_offer", {
        "order": order, "lines": lines, "count": len(order.lines),
        "shop": shop.shop_name if shop else "?", "area": shop.address if shop else "",
        "phone": (shop.phone or "") if shop else "", "owed_paisa": owed,
        "within_limit": position.available_paisa >= 0,
    }, to_user_id=vendor_id, buttons=offer_buttons(order.number))]


async def outcome(conn: asyncpg.Connection, parser: OrderParser, result: Outcome, *,
                  tell_retailer: bool) -> list[Reply]:
    """Messages after an order was offered on (confirmation, rejection, timeout)."""
    order = result.order
    replies: list[Reply] = []
    if result.previous_vendor_id is not None:
        replies.append(Reply("offer_withdrawn", {"number": order.number},
                             to_user_id=result.previous_vendor_id))
    if result.kind == "offered" and result.vendor_id is not None:
        replies.extend(await offer(conn, parser, order, result.vendor_id))
        if tell_retailer and result.previous_vendor_id is not None:
            replies.append(step(order, "reassigned"))
    elif result.kind == "no_vendor":
        replies.append(step(order, "no_vendor"))
        for staff_id in await users.staff_ids(conn):
            replies.append(Reply("staff_no_vendor", {"order": order}, to_user_id=staff_id))
    return replies


def step(order: Order, what: str, reason: str = "") -> Reply:
    """Tell the retailer where their order is: accepted, reassigned, dispatched, delivered…
    Delivered, they can confirm it arrived or say what is wrong."""
    received: tuple[Button, ...] = ()
    if what == "delivered" and order.status in FULFILLED_STATUSES:
        received = (buttons.button("order", "received", order.number, "Received"),
                    buttons.button("order", "problem", order.number, "Problem"))
    return Reply("order_update", {"order": order, "step": what, "reason": reason},
                 to_user_id=order.retailer_id, buttons=received)


async def dispute(conn: asyncpg.Connection, found: Dispute, raised_by: int) -> list[Reply]:
    """A new dispute: the other side hears of it, and every operator (they sort it out)."""
    other = found.vendor_id if raised_by == found.retailer_id else found.retailer_id
    replies = [Reply("dispute", {"dispute": found, "side": "other"}, to_user_id=other)]
    replies += [Reply("dispute", {"dispute": found, "side": "staff"}, to_user_id=staff_id)
                for staff_id in await users.staff_ids(conn)]
    return replies
