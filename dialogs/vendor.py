"""Vendors run their orders by tapping or typing: accept / reject (with a reason), dispatch,
deliver, "orders", "stock chini 100", "price chini 115", and payments ("paid KH-000123 5000",
"paid 9820000001 5000 esewa"), how they want to be paid ("payinfo esewa 98XXXXXXXX"), Confirm /
Not received on a payment a retailer says they made, a retailer's statement ("statement
9820000001") and the credit score of a retailer they serve ("score 9820000001"). Only their own
orders and retailers; the ledger checks, we explain."""

from __future__ import annotations

import re
from decimal import Decimal

from catalog.quantity import Quantity
from dialogs import buttons, present, scores, statement, steps, words
from dialogs.machine import Table
from dialogs.routing import ANYTHING, Dialog, route, said, tapped, typed, when
from dialogs.turn import Turn
from ledger import (
    access,
    orders,
    payinfo,
    pricing,
    reports,
    stock,
    users,
)
from ledger.errors import IllegalTransition, LedgerError
from ledger.pricing import to_milli
from locales import numbers
from locales.replies import Button

TABLE = Table(
    "vendor",
    states=["idle", "rejecting", "confirming"],
    initial="idle",
    doc="A vendor's orders, stock, prices and payments, by button or by command.",
    transitions=[
        {"trigger": "act", "source": "*", "dest": "idle",
         "doc": "accept, reject, dispatch, deliver, payment, a retailer's claim, stock, price or "
                "payment details: done or explained"},
        {"trigger": "ask_reason", "source": "*", "dest": "rejecting",
         "doc": "Reject tapped: why? (out of stock…)"},
        {"trigger": "check_price", "source": "*", "dest": "confirming",
         "doc": "a price that moved more than 3× either way: is it right?"},
        {"trigger": "query", "source": "*", "dest": None,
         "doc": "open orders listed, a retailer's statement sent, or a retailer's score"},
        {"trigger": "unclear", "source": "*", "dest": None, "doc": "not a command: hint"},
        {"trigger": "help", "source": "*", "dest": None},
        {"trigger": "cancel", "source": "*", "dest": "idle"},
    ],
)

METHODS = {"cash": "cash", "nagad": "cash", "bank": "bank", "esewa": "esewa", "khalti": "khalti",
           "fonepay": "fonepay", "cheque": "cheque", "check": "cheque"}
MAX_ORDERS_SHOWN = 10
_STATUS_AFTER = {"accept": "ACCEPTED", "reject": "REJECTED", "dispatch": "DISPATCHED",
                 "deliver": "DELIVERED"}

# A figure as typed in a price ("5,600", "112.50", "1.555"): read whole, so "1.555" is refused
# rather than read as "555"; a minus sign before a figure makes it no price.
_FIGURE = re.compile(r"(?<![\d.,])\d[\d,]*(?:\.\d+)?")
_NEGATIVE = re.compile(r"-\s*\d")

_COMMAND = re.compile(
    r"^\s*(accept|swikar|reject|dispatch|pathaye|pathayo|deliver|delivered|orders?|stock|price|"
    r"paid|payment|bhuktani|score|payinfo|statement|bibaran)\b\s*(.*)$",
    re.IGNORECASE | re.DOTALL)
_ALIASES = {"swikar": "accept", "pathaye": "dispatch", "pathayo": "dispatch",
            "delivered": "deliver", "order": "orders", "payment": "paid", "bhuktani": "paid",
            "bibaran": "statement"}


def _is_reason(turn: Turn) -> bool:
    """Asked why they reject: whatever they type is the reason ("stock sakiyo" too), unless it is
    a command on an order ("accept KH-000001": they changed their mind), help, cancel, yes/no or
    a language."""
    if not turn.text or turn.choice or turn.intent() in ("help", "cancel", "confirm", "language"):
        return False
    return not (_COMMAND.match(turn.text) and words.order_number(turn.text))


async def _tapped_reject(turn: Turn) -> None:
    """Reject tapped: why? (asked only when the order can still be rejected)."""
    assert turn.tap is not None
    await _ask_reason(turn, turn.tap.ref)


async def _tapped_step(turn: Turn) -> None:
    """Accept, Dispatched or Delivered tapped: done, and the retailer told."""
    assert turn.tap is not None
    await _act(turn, turn.tap.action, turn.tap.ref)


async def _command(turn: Turn) -> None:
    """A typed command: accept, reject, dispatch, deliver, orders, stock, price, paid, score,
    payinfo, statement."""
    match = _COMMAND.match(turn.text)
    assert match is not None
    command = _ALIASES.get(match.group(1).lower(), match.group(1).lower())
    rest = " ".join(match.group(2).split())
    if command in ("accept", "reject", "dispatch", "deliver"):
        found = words.order_number(rest) or await _the_only_one(turn, command)
        if found is None:
            return
        reason = re.sub(r"^\s*kh[\s-]?\d+\s*", "", numbers.ascii_digits(rest), flags=re.IGNORECASE)
        if command == "reject" and not reason:
            await _ask_reason(turn, found)
            return
        await _act(turn, command, found, reason=reason)
    elif command == "orders":
        await _orders(turn)
    elif command in ("stock", "price"):
        await _offer(turn, command, rest)
    elif command == "score":
        await scores.of_retailer(turn, rest, usage="vendor_usage", done="query")
    elif command == "payinfo":
        await _payinfo(turn, rest)
    elif command == "statement":
        await statement.for_vendor(turn, rest)
    else:
        await _paid(turn, rest)


# The command that moves an order on from each status: what a refusal tells the vendor to type.
_NEXT_STEP = {"VENDOR_ASSIGNED": "accept", "ACCEPTED": "dispatch", "DISPATCHED": "deliver"}
# The statuses each command acts on: with one such order, the command needs no number.
_ACTS_ON = {"accept": ("VENDOR_ASSIGNED",), "reject": ("VENDOR_ASSIGNED",),
            "dispatch": ("ACCEPTED",), "deliver": ("ACCEPTED", "DISPATCHED")}


def _refuse(turn: Turn, action: str, number: str, error: LedgerError) -> None:
    params = {"order": number}
    if error.key == "order.illegal_transition":  # name what the vendor tried, not the
        params["to_status"] = _STATUS_AFTER[action]  # ledger's step ("reject" → PENDING)
        step = _NEXT_STEP.get(error.params.get("from_status", ""))
        if step is not None and step != action:
            params["hint"] = f"{step} {number}"
    turn.refuse(error, **params)
    turn.move("act")


async def _the_only_one(turn: Turn, command: str) -> str | None:
    """"accept" with no number: the one order it can mean, or a list to choose from."""
    waiting = [o for o in await reports.open_orders(turn.conn, actor=turn.user,
                                                    vendor_id=turn.user.id)
               if o.status in _ACTS_ON[command]]
    if len(waiting) == 1:
        return waiting[0].number
    turn.say("vendor_which_order", command=command, orders=waiting[:MAX_ORDERS_SHOWN])
    turn.move("unclear")
    return None


async def _ask_reason(turn: Turn, number: str) -> None:
    """Ask why only when the order can still be rejected by this vendor."""
    try:
        order = await orders.visible(turn.conn, number, turn.user)
        if order.status != "VENDOR_ASSIGNED":
            raise IllegalTransition(order=number, from_status=order.status,
                                    to_status="REJECTED")
    except LedgerError as error:
        _refuse(turn, "reject", number, error)
        return
    turn.data["number"] = number
    turn.say("vendor_ask_reason", number=number)
    turn.move("ask_reason")


async def _reason_given(turn: Turn) -> None:
    """The reason for a rejection asked about: the order goes to the next vendor."""
    await _act(turn, "reject", str(turn.data.get("number", "")), reason=turn.text)


async def _act(turn: Turn, action: str, number: str, reason: str = "") -> None:
    """Accept, reject, dispatch or deliver one of this vendor's orders; tell the retailer."""
    turn.data.clear()
    try:
        done = await steps.order_step(turn.conn, turn.parser, turn.user, action, number, reason)
    except LedgerError as error:
        _refuse(turn, action, number, error)
        return
    order = done.order
    if action == "reject":
        turn.say("vendor_done", action=action, order=order, reason=reason, outcome=done.outcome)
    else:
        next_step: tuple[Button, ...] = (
            (buttons.button("order", "dispatch", order.number, "Dispatched"),)
            if action == "accept" else
            (buttons.button("order", "deliver", order.number, "Delivered"),)
            if action == "dispatch" else ())
        turn.say("vendor_done", action=action, order=order, reason="", outcome="",
                 lines=present.lines(turn.parser, order.lines), buttons=next_step)
    turn.replies.extend(done.others)
    turn.move("act")


async def _orders(turn: Turn) -> None:
    found = await reports.open_orders(turn.conn, actor=turn.user, vendor_id=turn.user.id)
    turn.say("vendor_orders", orders=found[:MAX_ORDERS_SHOWN],
             more=max(0, len(found) - MAX_ORDERS_SHOWN))
    turn.move("query")


async def _offer(turn: Turn, command: str, rest: str) -> None:
    """"stock chini 100" or "stock chini 20 bora"; "price chini 112" (per kg) or "price chini
    5600 bora" (per sack): converted to the base unit, and the reply states both."""
    if _NEGATIVE.search(numbers.ascii_digits(rest)):  # "stock chini -5" is no amount at all
        turn.say("vendor_usage", command=command)
        turn.move("unclear")
        return
    parsed = turn.parse(rest)
    items = list(parsed.items)
    skus = {item.sku for item in items} | {c for a in parsed.ambiguous for c in a.candidates}
    if len(skus) > 1 and not items and len(parsed.ambiguous) == 1:  # "stock chamal 10 bora"
        ambiguity = parsed.ambiguous[0]
        turn.say("vendor_which_product", command=command, text=ambiguity.text,
                 products=[turn.parser.products[c] for c in ambiguity.candidates])
        turn.move("unclear")
        return
    if len(skus) != 1:
        turn.say("vendor_usage", command=command)
        turn.move("unclear")
        return
    product = turn.parser.products[skus.pop()]
    unit = present.typed_unit(turn.parser, rest) or product.unit
    per_unit = turn.parser.vocabulary.to_base(product, Quantity(Decimal(1), unit))
    if not per_unit:
        turn.say("vendor_unit_unknown", product=product, unit=unit, packs=sorted(product.packs))
        turn.move("unclear")
        return
    if command == "stock":
        # "stock chini 0": out of stock (the parser asks about a zero order; a vendor means it).
        out = [a for a in parsed.ambiguous if a.reason == "quantity" and a.quantity == 0]
        if not items and not out or items and not items[0].quantity_stated:
            turn.say("vendor_usage", command=command)
            turn.move("unclear")
            return
        try:
            milli = to_milli(items[0].quantity) if items else 0
        except LedgerError as error:  # finer than a gram or a millilitre
            turn.refuse(error)
            turn.move("unclear")
            return
        await _save_offer(turn, product.sku, stock_milli=milli, unit=unit, per_unit=per_unit)
        return
    figures = _FIGURE.findall(numbers.ascii_digits(rest))
    typed = numbers.paisa(figures[-1]) if figures else None  # rupees, at most 2 decimals
    if not typed:
        turn.say("vendor_usage", command=command)
        turn.move("unclear")
        return
    price = pricing.per_base_unit(typed, per_unit)
    before = await stock.reference_price(turn.conn, turn.user.id, product.sku)
    if before is not None and stock.implausible(before, price):
        turn.data.clear()
        turn.data["price"] = {"sku": product.sku, "paisa": price, "typed": typed, "unit": unit}
        turn.say("vendor_check_price", product=product, before_paisa=before, price_paisa=price,
                 typed_paisa=typed, unit=unit,
                 buttons=(buttons.button("offer", "confirm", product.sku, "Yes, save"),
                          buttons.button("offer", "cancel", product.sku, "No")))
        turn.move("check_price")
        return
    await _save_offer(turn, product.sku, price_paisa=price, typed_paisa=typed, unit=unit,
                      per_unit=per_unit)


async def _price_confirmed(turn: Turn) -> None:
    """A price that moved a lot, confirmed: saved."""
    pending = turn.data.get("price")
    tap = turn.tap
    if not isinstance(pending, dict) or (tap is not None and tap.ref != pending.get("sku")):
        turn.say("stale_button")
        turn.data.clear()
        turn.move("act")
        return
    product = turn.parser.products.get(str(pending["sku"]))
    if product is None:
        turn.say("vendor_usage", command="price")
        turn.data.clear()
        turn.move("act")
        return
    unit = str(pending["unit"])
    await _save_offer(turn, product.sku, price_paisa=int(pending["paisa"]),
                      typed_paisa=int(pending["typed"]), unit=unit,
                      per_unit=turn.parser.vocabulary.to_base(product, Quantity(Decimal(1), unit))
                      or Decimal(1))


async def _save_offer(turn: Turn, sku: str, *, unit: str, per_unit: Decimal,
                      price_paisa: int | None = None, typed_paisa: int | None = None,
                      stock_milli: int | None = None) -> None:
    turn.data.clear()
    try:
        offer = await stock.set_offer(turn.conn, turn.user, sku, price_paisa=price_paisa,
                                      stock_milli=stock_milli)
    except LedgerError as error:
        turn.refuse(error)
        turn.move("act")
        return
    pack_paisa = (pricing.line_total(pricing.to_milli(per_unit), offer.price_paisa)
                  if price_paisa is not None else None)  # what a pack is charged, rounded
    turn.say("vendor_offer_set", command="price" if price_paisa is not None else "stock",
             product=turn.parser.products[sku], offer=offer, unit=unit,
             per_unit=per_unit.normalize(), typed_paisa=typed_paisa, pack_paisa=pack_paisa,
             typed_count=(Decimal(stock_milli) / 1000 / per_unit).normalize()
             if stock_milli is not None else None)
    turn.move("act")


async def _paid(turn: Turn, rest: str) -> None:
    """"paid KH-000123 5000 [esewa]" or "paid 9820000001 5000 [cash]"."""
    parts = rest.split()
    method = "cash"
    if parts and parts[-1].lower() in METHODS:
        method = METHODS[parts.pop().lower()]
    number = words.order_number(parts[0]) if parts else None
    phone, more = None, " ".join(parts[1:])
    if number is None:
        phone, rest_after = numbers.leading_phone(" ".join(parts))  # "+977 982-0000001" too
        more = rest_after if phone else more  # not a phone: named back if the rest is an amount
    amount, extra = numbers.split_amount(more)  # "5000", "5,000", "Rs 5,000", "रु ५०००"
    if not parts or amount is None or extra:
        turn.say("vendor_usage", command="paid")
        turn.move("unclear")
        return
    key = f"payment:inbound:{turn.event.inbound_id}"
    retailer_id = None
    if number is None:
        retailer = await users.by_phone(turn.conn, phone) if phone else None
        if retailer is None or retailer.role != "RETAILER" or not await access.serves(
                turn.conn, turn.user.id, retailer.id):  # nobody else's customers are named
            turn.say("user_unknown", phone=phone or parts[0])
            turn.move("unclear")
            return
        retailer_id = retailer.id
    try:
        done = await steps.record_payment(
            turn.conn, turn.user, amount_paisa=amount, method=method, key=key, number=number,
            retailer_id=retailer_id, vendor_name=turn.user.name)
    except LedgerError as error:
        turn.refuse(error, **{"order": number or "", **error.params})
        turn.move("act")
        return
    turn.say("payment_recorded", amount_paisa=amount, method=method, result=done.result,
             shop=done.shop_name, vendor=turn.user.name)
    # Recorded at once; the retailer agrees, or says it is not theirs within a few days.
    turn.replies.extend(done.others)
    turn.move("act")


_REMOVE = frozenset(("off", "remove", "delete", "none", "hatau", "hataunu", "-", "हटाउ"))


async def _payinfo(turn: Turn, rest: str) -> None:
    """"payinfo esewa 98XXXXXXXX": how retailers should pay you (shown in their reminders);
    "payinfo esewa off" drops it; "payinfo" shows what is set."""
    method_word, _, details = rest.partition(" ")
    method = METHODS.get(method_word.lower()) if method_word else None
    if (rest and method is None) or (method is not None and not details.strip()):
        turn.say("payinfo", usage=True, lines=await payinfo.of_vendor(turn.conn, turn.user.id))
        turn.move("unclear")
        return
    if method is None:
        lines = await payinfo.of_vendor(turn.conn, turn.user.id)
    elif details.strip().lower() in _REMOVE:
        lines = await payinfo.remove(turn.conn, turn.user, turn.user.id, method)
    else:
        lines = await payinfo.set_details(turn.conn, turn.user, turn.user.id, method, details)
    turn.say("payinfo", usage=False, lines=lines)
    turn.move("act")


async def _tapped_claim(turn: Turn) -> None:
    """Confirm or Not received tapped under a retailer's claim: posted as their payment, or a
    dispute operators see; the retailer is told either way."""
    tap = turn.tap
    assert tap is not None
    try:
        done = await steps.decide_claim(turn.conn, tap.ref, turn.user,
                                        confirm=tap.action == "confirm", vendor_name=turn.user.name)
    except LedgerError as error:
        turn.refuse(error, claim=tap.ref)
    else:
        claim = done.claim
        if done.payment is not None:
            turn.say("payment_recorded", amount_paisa=claim.amount_paisa, method=claim.method,
                     result=done.payment, shop=claim.shop_name, vendor=turn.user.name)
        else:
            turn.say("dispute", dispute=done.dispute, side="raiser")
        turn.replies.extend(done.others)
    turn.move("act")


async def _help(turn: Turn) -> None:
    """The vendor's commands."""
    turn.say("help", role="VENDOR", name=turn.user.name)
    turn.move("help")


async def _cancel(turn: Turn) -> None:
    """Drop the question asked: asked why they reject, the order stays theirs."""
    number = turn.data.get("number")
    if turn.state == "rejecting" and isinstance(number, str):
        turn.say("reject_kept", number=number)
    elif turn.state != "idle":
        turn.say("cancelled", what="question")
    else:
        turn.say("nothing_to_cancel")
    turn.data.clear()
    turn.move("cancel")


async def _unknown(turn: Turn) -> None:
    """Not a command: a hint at what to type."""
    turn.say("vendor_unknown")
    turn.move("unclear")


DIALOG = Dialog(
    name="vendor", table=TABLE,
    commands=(
        # Asked why: whatever they type is the reason ("stock sakiyo" too), unless they ask for
        # help, cancel or another language.
        route("rejecting", when("any text but a command on an order, help, cancel or a language",
                                _is_reason), _reason_given),
        route("*", tapped("order", "reject"), _tapped_reject),
        route("*", tapped("order", "accept", "dispatch", "deliver"), _tapped_step),
        route("*", tapped("claim", "confirm", "reject"), _tapped_claim),
        route("*", typed(_COMMAND, "a command: accept, reject, orders, stock, price, paid, "
                         "score, payinfo, statement…"),
              _command),
    ),
    routes=(
        route("*", said("greeting"), _help),
        route("confirming", tapped("offer", "confirm"), _price_confirmed),
        route("confirming", said("confirm"), _price_confirmed),
        route("*", ANYTHING, _unknown),
    ),
    help=_help, cancel=_cancel,
)
