"""The steps a vendor or a retailer takes that other people hear about — an order accepted,
rejected, dispatched, delivered or cancelled, a payment recorded, a claim made, confirmed or
refused — done through the ledger, with the messages for everyone else. Chat (dialogs/vendor.py,
dialogs/retailer) and the web (web/) both call these, so a step taken on a page tells the
retailer exactly what the same step by chat tells them.

Each function raises the ledger's `LedgerError` unchanged; the caller explains it in its own
medium (a chat reply, a page, JSON)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import asyncpg

from catalog.parser import OrderParser
from dialogs import buttons, notify
from ledger import claims, disputes, orders, payments, users
from ledger.actors import Actor, is_staff
from ledger.claims import Claim
from ledger.disputes import Dispute
from ledger.order_repo import Order
from ledger.payments import PaymentResult
from locales.replies import Reply

OrderAction = Literal["accept", "reject", "dispatch", "deliver"]
ORDER_ACTIONS: tuple[OrderAction, ...] = ("accept", "reject", "dispatch", "deliver")
# What the retailer's order_update says after each step.
_RETAILER_STEP = {"accept": "accepted", "dispatch": "dispatched", "deliver": "delivered"}


@dataclass(frozen=True)
class OrderStep:
    """An order moved on by its vendor: the order now, for a rejection where it went
    (`outcome`: offered to the next vendor or no_vendor), and the messages for the others."""

    action: str
    order: Order
    outcome: str
    others: list[Reply]


async def order_step(conn: asyncpg.Connection, parser: OrderParser, vendor: Actor,
                     action: str, number: str, reason: str = "") -> OrderStep:
    """Accept, reject (with a reason), dispatch or deliver `number` as `vendor`; the retailer is
    told (and on a rejection the next vendor gets the offer, or operators hear nobody can)."""
    if action not in ORDER_ACTIONS:
        raise ValueError(f"order action {action!r}")
    if action == "reject":
        outcome = await orders.reject(conn, number, vendor, reason or "-")
        # The vendor who rejected hears it from their own reply; the withdrawal is for timeouts.
        others = [r for r in await notify.outcome(conn, parser, outcome, tell_retailer=True)
                  if not (r.template == "offer_withdrawn" and r.to_user_id == vendor.id)]
        return OrderStep(action, outcome.order, outcome.kind, others)
    if action == "accept":
        order = await orders.accept(conn, number, vendor)
    elif action == "dispatch":
        order = await orders.dispatch(conn, number, vendor)
    else:
        order = await orders.deliver(conn, number, vendor)
    return OrderStep(action, order, "", [notify.step(order, _RETAILER_STEP[action])])


@dataclass(frozen=True)
class Cancelled:
    order: Order
    others: list[Reply]


async def cancel(conn: asyncpg.Connection, actor: Actor, number: str,
                 reason: str = "") -> Cancelled:
    """A retailer cancels their order before a vendor took it (staff: up to acceptance); the
    vendor it was with is told, and the retailer too when staff cancelled it."""
    before = await orders.visible(conn, number, actor)
    staff = is_staff(actor)
    order = await orders.cancel(conn, number, actor,
                                reason or ("cancelled by staff" if staff else "retailer cancelled"))
    others: list[Reply] = []
    if before.vendor_id is not None:
        others.append(Reply("vendor_order_cancelled",
                            {"order": order, **({"by": "staff"} if staff else {})},
                            to_user_id=before.vendor_id))
    if staff:
        others.append(Reply("order_cancelled", {"order": order}, to_user_id=order.retailer_id))
    return Cancelled(order, others)


@dataclass(frozen=True)
class Recorded:
    """A payment a vendor recorded: the result, whose it is, and the retailer's message."""

    result: PaymentResult
    retailer_id: int
    shop_name: str
    others: list[Reply]


async def record_payment(
    conn: asyncpg.Connection, vendor: Actor, *, amount_paisa: int, method: str, key: str,
    number: str | None = None, retailer_id: int | None = None, reference: str = "",
    vendor_name: str = "",
) -> Recorded:
    """"paid KH-000123 5000" (`number`) or "paid 9820000001 5000" (`retailer_id`, a retailer
    the caller checked this vendor serves): posted at once, allocated oldest bill first; the
    retailer is told and may answer Correct or Not mine."""
    if number is not None:
        result = await payments.record_for_order(
            conn, number, amount_paisa, method, reference, actor=vendor, idempotency_key=key)
        retailer_id = (await orders.get(conn, number)).retailer_id
    else:
        assert retailer_id is not None, "a payment names an order or a retailer"
        result = await payments.record(
            conn, retailer_id=retailer_id, vendor_id=vendor.id, amount_paisa=amount_paisa,
            method=method, reference=reference, actor=vendor, idempotency_key=key)
    shop = await users.shop(conn, retailer_id)
    ref = disputes.payment_ref(result.payment_id)
    tell = Reply("payment_received", {
        "amount_paisa": amount_paisa, "method": method, "result": result, "vendor": vendor_name,
        "answer": not result.replayed,
    }, to_user_id=retailer_id, buttons=(
        buttons.button("payment", "ack", ref, "Correct"),
        buttons.button("payment", "dispute", ref, "Not mine")) if not result.replayed else ())
    return Recorded(result, retailer_id, shop.shop_name if shop else "", [tell])


def claim_made(made: Claim) -> list[Reply]:
    """A retailer's new claim: the vendor is asked to Confirm or say Not received (a retry of
    the same claim asks nobody again)."""
    if made.replayed:
        return []
    return [Reply("claim_received", {"claim": made}, to_user_id=made.vendor_id, buttons=(
        buttons.button("claim", "confirm", made.ref, "Confirm"),
        buttons.button("claim", "reject", made.ref, "Not received")))]


@dataclass(frozen=True)
class Decided:
    """A claim decided: confirmed (`payment` posted) or refused (`dispute` opened)."""

    claim: Claim
    payment: PaymentResult | None
    dispute: Dispute | None
    others: list[Reply]


async def decide_claim(conn: asyncpg.Connection, ref: str, actor: Actor, *, confirm: bool,
                       vendor_name: str = "", note: str = "") -> Decided:
    """Confirm (posted as the retailer's payment, the retailer told) or Not received (a dispute
    the retailer and operators hear of)."""
    if confirm:
        done = await claims.confirm(conn, ref, actor)
        claim, result = done.claim, done.payment
        return Decided(claim, result, None, [Reply("payment_received", {
            "amount_paisa": claim.amount_paisa, "method": claim.method, "result": result,
            "vendor": vendor_name, "answer": False}, to_user_id=claim.retailer_id)])
    rejected = await claims.reject(conn, ref, actor, note)
    return Decided(rejected.claim, None, rejected.dispute,
                   await notify.dispute(conn, rejected.dispute, actor.id))
