"""A retailer says they paid — "tiriye 5000 esewa", "paid 5000 to Bheri Traders", "maile 5000
tire", or a photo of the receipt with such a caption: a claim the vendor confirms (which vendor
is asked when the words do not say). And their answers to what others did: Correct / Not mine on
a payment a vendor recorded, Received / Problem on a delivered order ("problem KH-000123 2 bora
kam aayo" too). None of these touches the draft."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from dialogs import buttons, notify, steps, words
from dialogs.turn import Turn
from ledger import claims, disputes, orders, reports, users
from ledger.errors import LedgerError
from ledger.reports import VendorBalance
from locales import formats, numbers

# "I paid" in the ways shopkeepers write it: English, romanized Nepali, Devanagari.
PAID_WORDS = frozenset((
    "paid", "payed", "tiriye", "tiriyo", "tiriya", "tire", "tirey", "tireko", "tireka", "tiren",
    "tirechu", "tirisake", "tirisakeko", "tirisaken", "bhuktani", "bhuktaani",
    "तिरें", "तिरेँ", "तिरे", "तिरिए", "तिरियो", "तिरेको", "तिरेका", "तिरिसकें", "तिरिसकेँ",
    "तिरिसकेको", "भुक्तानी",
))
# "pay gare", "pay gareko": paid, in two words.
_PAY_DONE = frozenset(("gare", "gareko", "garen", "garisake", "गरें", "गरेँ", "गरेको"))
# "tireko chaina": not paid; a claim needs the words to say it happened.
_NEGATIONS = frozenset((
    "chaina", "chhaina", "xaina", "chhain", "not", "didnt", "tirena", "tirenau", "tirnu",
    "छैन", "तिरेन", "तिरिन", "तिर्नु",
))
_METHOD_WORDS = {
    "cash": "cash", "nagad": "cash", "नगद": "cash", "esewa": "esewa", "e-sewa": "esewa",
    "इसेवा": "esewa", "ईसेवा": "esewa", "ई-सेवा": "esewa", "khalti": "khalti", "खल्ती": "khalti",
    "fonepay": "fonepay", "phonepay": "fonepay", "फोनपे": "fonepay", "bank": "bank",
    "बैंक": "bank", "cheque": "cheque", "check": "cheque", "चेक": "cheque",
}
# Words in shop names that tell no vendor from another ("Bheri Traders": "bheri" does).
_GENERIC = frozenset(("traders", "trader", "wholesale", "wholesalers", "suppliers", "supplier",
                      "store", "stores", "pasal", "kirana", "bhandar", "and", "the", "co",
                      "company", "enterprises", "udhyog", "house", "centre", "center"))
_PUNCTUATION = ".,!?।;:()\"'"
MAX_VENDORS_OFFERED = 10


@dataclass(frozen=True)
class Said:
    """What a message says about a payment: how much (None: not said, or more than one
    amount), how, and the order it names."""

    amount_paisa: int | None
    method: str
    order: str | None


def _tokens(text: str) -> list[str]:
    return [t.strip(_PUNCTUATION) for t in numbers.ascii_digits(text).lower().split()
            if t.strip(_PUNCTUATION)]


def says_paid(text: str) -> bool:
    """Whether the words say a payment was made ("tiriye", "paid", "pay gare"), not that it
    was not ("tireko chaina")."""
    tokens = _tokens(text)
    paid = any(t in PAID_WORDS for t in tokens) or any(
        a == "pay" and b in _PAY_DONE for a, b in zip(tokens, tokens[1:], strict=False))
    return paid and not any(t in _NEGATIONS for t in tokens)


# Words after which a number is an id, not an amount ("ref 123456", "KH 12").
_ID_WORDS = frozenset(("kh", "ref", "reference", "txn", "transaction", "id", "code", "no"))


def read(text: str) -> Said:
    tokens = _tokens(text)
    order = words.order_number(text)
    amounts = []
    for previous, token in zip(["", *tokens], tokens, strict=False):
        if previous in _ID_WORDS or words.order_number(token) or numbers.phone(token):
            continue
        amount = numbers.paisa(token.removesuffix("/-"))
        if amount is not None:
            amounts.append(amount)
    amount = amounts[0] if len(amounts) == 1 and amounts[0] else None
    method = next((_METHOD_WORDS[t] for t in tokens if t in _METHOD_WORDS), "cash")
    return Said(amount, method, order)


def names(vendor_name: str) -> set[str]:
    """The words that tell a vendor apart ("Bheri Traders, Birendranagar" → bheri,
    birendranagar)."""
    return {w for w in _tokens(vendor_name) if len(w) >= 3 and w not in _GENERIC}


def _named(owed: list[VendorBalance], text: str) -> list[VendorBalance]:
    said = set(_tokens(text))
    return [v for v in owed if names(v.vendor_name) & said]


async def claim(turn: Turn) -> None:
    """"tiriye 5000 esewa": recorded as a claim; the vendor confirms it or says it did not come
    (which vendor is asked when the words do not say and they owe more than one)."""
    said = read(turn.text)
    if said.amount_paisa is None:
        turn.say("claim_usage", owes_nobody=False)
        turn.move("answer")
        return
    balances = await reports.balances(turn.conn, turn.user.id, actor=turn.user)
    owed = [v for v in balances.vendors if v.balance_paisa > 0]
    request = {"amount_paisa": said.amount_paisa, "method": said.method,
               "media_id": turn.event.media_id, "key": f"claim:inbound:{turn.event.inbound_id}"}
    if said.order is not None:
        try:
            order = await orders.visible(turn.conn, said.order, turn.user)
        except LedgerError as error:
            turn.refuse(error, order=said.order)
            turn.move("answer")
            return
        if order.vendor_id is not None:
            await _record(turn, order.vendor_id, request)
            return
    if not owed:
        turn.say("claim_usage", owes_nobody=True)
        turn.move("answer")
        return
    named = _named(owed, turn.text)
    if len(named) == 1 or (not named and len(owed) == 1):
        await _record(turn, (named or owed)[0].vendor_id, request)
        return
    turn.data["claim"] = request
    rows = []
    for vendor in (named or owed)[:MAX_VENDORS_OFFERED]:
        person = await users.by_id(turn.conn, vendor.vendor_id)
        if person is not None:
            rows.append(buttons.row("claim", "to", person.public_id, vendor.vendor_name,
                                    _owed_line(turn, vendor)))
    turn.say("claim_which_vendor", amount_paisa=said.amount_paisa, rows=rows,
             list_button="Choose vendor")
    turn.move("answer")


def _owed_line(turn: Turn, vendor: VendorBalance) -> str:
    """A list row's description: what they owe this vendor, in rupees as they read them."""
    return formats.money(vendor.balance_paisa, turn.user.language)


async def vendor_chosen(turn: Turn) -> None:
    """The vendor picked for the payment they said they made: the claim is recorded."""
    tap = turn.tap
    request = turn.data.get("claim")
    assert tap is not None
    vendor = await users.by_public_id(turn.conn, tap.ref)
    if not isinstance(request, dict) or vendor is None or vendor.role != "VENDOR":
        turn.say("stale_button")
        turn.move("answer")
        return
    await _record(turn, vendor.id, request)


async def _record(turn: Turn, vendor_id: int, request: dict[str, Any]) -> None:
    turn.data.pop("claim", None)
    try:
        made = await claims.claim(
            turn.conn, turn.user, vendor_id=vendor_id, amount_paisa=int(request["amount_paisa"]),
            method=str(request["method"]), media_id=request.get("media_id"),
            request_key=str(request["key"]))
    except LedgerError as error:
        turn.refuse(error)
        turn.move("answer")
        return
    turn.say("claim_recorded", claim=made)
    turn.replies.extend(steps.claim_made(made))
    turn.move("answer")


async def photo(turn: Turn) -> None:
    """A photo whose caption does not say a payment: how to send a receipt, or please type."""
    if says_paid(turn.text):
        turn.say("claim_usage", owes_nobody=False)
    else:
        turn.say("unsupported")
    turn.move("answer")


async def answer_payment(turn: Turn) -> None:
    """Correct or Not mine tapped under a payment a vendor recorded."""
    tap = turn.tap
    assert tap is not None
    try:
        if tap.action == "ack":
            await claims.acknowledge_payment(turn.conn, tap.ref, turn.user)
            turn.say("payment_agreed", payment=tap.ref)
        else:
            found = await claims.dispute_payment(turn.conn, tap.ref, turn.user,
                                                 window=turn.policy.payment_dispute_window)
            turn.say("dispute", dispute=found, side="raiser")
            turn.replies.extend(await notify.dispute(turn.conn, found, turn.user.id))
    except LedgerError as error:
        turn.refuse(error, payment=tap.ref)
    turn.move("answer")


PROBLEM = re.compile(r"^\s*(?:problem|samasya|complain|complaint|ujuri|समस्या|उजुरी)(?:\s|$)",
                     re.IGNORECASE)
_PROBLEM_TITLES = {"missing": "Items missing", "damaged": "Damaged or wrong",
                   "other": "Other problem"}


async def answer_delivery(turn: Turn) -> None:
    """Received or Problem tapped under a delivered order (Problem: then what is wrong)."""
    tap = turn.tap
    assert tap is not None
    number, _, reason = tap.ref.partition("@")
    if tap.action == "received":
        try:
            order = await disputes.confirm_receipt(turn.conn, number, turn.user)
        except LedgerError as error:
            turn.refuse(error, order=number)
            turn.move("answer")
            return
        shop = await users.shop(turn.conn, turn.user.id)
        name = shop.shop_name if shop else turn.user.name
        turn.say("order_received", order=order, side="retailer", shop=name)
        if order.vendor_id is not None:
            turn.tell(order.vendor_id, "order_received", order=order, side="vendor", shop=name)
        turn.move("answer")
        return
    if reason not in disputes.PROBLEMS:
        try:
            await disputes.reportable(turn.conn, number, turn.user)
        except LedgerError as error:
            turn.refuse(error, order=number)
            turn.move("answer")
            return
        turn.say("problem_which", order=number, buttons=tuple(
            buttons.button("order", "problem", f"{number}@{r}", title)
            for r, title in _PROBLEM_TITLES.items()))
        turn.move("answer")
        return
    await _report(turn, number, reason, "")


async def problem_typed(turn: Turn) -> None:
    """"problem KH-000123 2 bora kam aayo": a problem with that order, in their words."""
    number = words.order_number(turn.text)
    if number is None:
        turn.say("problem_which", order=None)
        turn.move("answer")
        return
    note = PROBLEM.sub("", numbers.ascii_digits(turn.text), count=1)
    note = re.sub(r"\bkh[\s-]?\d+\b", "", note, count=1, flags=re.IGNORECASE)
    await _report(turn, number, "other", note)


async def _report(turn: Turn, number: str, reason: str, note: str) -> None:
    try:
        found = await disputes.report_problem(turn.conn, number, turn.user, reason, note)
    except LedgerError as error:
        turn.refuse(error, order=number)
        turn.move("answer")
        return
    turn.say("dispute", dispute=found, side="raiser")
    turn.replies.extend(await notify.dispute(turn.conn, found, turn.user.id))
    turn.move("answer")
