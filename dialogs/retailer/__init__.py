"""Retailers order in their own words, answer one question per ambiguous word, edit and confirm a
priced draft, and ask where their orders are, what they owe, what they bought and their credit
score; they share a bank report with a bank only by tapping Agree, and revoke it. They say what
they paid (a claim the vendor confirms, a receipt photo too), and answer what
others did: a payment a vendor recorded (Correct / Not mine), a delivery (Received / Problem).

The draft's lines are the ledger's DRAFT order, priced at the vendor's prices; the conversation
holds only which draft it is and what is still asked (`draft.Asking`). The retailer sees the
draft with Confirm / Edit / Cancel (or types "ho", "hoina", "हो", "रद्द"…).
"""

from __future__ import annotations

from dialogs import scores, statement
from dialogs.machine import Table
from dialogs.retailer import answers, bank_reports, ordering, paying, prices, queries
from dialogs.routing import (
    ANY_TAP,
    ANY_TEXT,
    ANYTHING,
    Dialog,
    route,
    said,
    tapped,
    typed,
    when,
)
from dialogs.turn import Turn
from ledger import choices

TABLE = Table(
    "retailer",
    states=["idle", "resolving", "reviewing", "editing"],
    initial="idle",
    doc="A retailer's order from first message to confirmation, and their questions.",
    transitions=[
        {"trigger": "ask", "source": "*", "dest": "resolving",
         "doc": "a word fits several products (or its unit does not convert): ask, one at a time"},
        {"trigger": "show", "source": "*", "dest": "reviewing",
         "doc": "every line known: the priced draft with Confirm / Edit / Cancel"},
        {"trigger": "edit", "source": ["reviewing", "editing"], "dest": "editing",
         "doc": "Edit tapped: say what to add, remove or change"},
        {"trigger": "confirm", "source": ["reviewing", "editing"], "dest": "idle",
         "doc": "confirmed: order number, and the order goes to a vendor"},
        {"trigger": "refused", "source": ["reviewing", "editing"], "dest": "reviewing",
         "doc": "over the credit limit (or another refusal): explained, the draft stays"},
        {"trigger": "empty", "source": "*", "dest": "idle",
         "doc": "nothing left that we know: unknown words named back"},
        {"trigger": "expire", "source": ["resolving", "reviewing", "editing"], "dest": "idle",
         "doc": "left unconfirmed too long (the jobs tick)"},
        {"trigger": "query", "source": "*", "dest": None,
         "doc": "status, dues, history, prices, score, a statement or a cancelled order: "
                "answered, the draft stays"},
        {"trigger": "answer", "source": "*", "dest": None,
         "doc": "a payment they made, an answer to a vendor's payment or a delivery: recorded "
                "or explained, the draft stays"},
        {"trigger": "report", "source": "*", "dest": None,
         "doc": "a bank report: who it is for, consent (Agree / Cancel), the link; the list of "
                "reports, a revocation: the draft stays"},
        {"trigger": "unclear", "source": "*", "dest": None,
         "doc": "not understood: said so, with what to type"},
        {"trigger": "help", "source": "*", "dest": None},
        {"trigger": "cancel", "source": "*", "dest": "idle"},
    ],
)

DRAFTING = ("reviewing", "editing")


async def _look_up(turn: Turn) -> None:
    turn.remembered = await choices.remembered(turn.conn, turn.user.id)


async def _help(turn: Turn) -> None:
    """What a retailer can say."""
    turn.say("help", role="RETAILER", name=turn.user.name)
    turn.move("help")


async def _cancel(turn: Turn) -> None:
    """While a bank report is asked for: nothing shared, the draft stays. Else: the draft's
    cancel."""
    if bank_reports.in_flow(turn):
        await bank_reports.cancel(turn)
    else:
        await ordering.cancel(turn)


async def _nothing_to_confirm(turn: Turn) -> None:
    """"ho" with no draft: there is nothing to confirm."""
    turn.say("nothing_to_confirm")
    turn.move("unclear")


async def _nothing_to_edit(turn: Turn) -> None:
    """"nun hatau" or "edit" with no draft: there is nothing to change."""
    turn.say("nothing_to_edit")
    turn.move("unclear")


async def _draft_hint(turn: Turn) -> None:
    """Not an edit of the draft: how to confirm, change or cancel it."""
    turn.say("draft_hint")
    turn.move("unclear")


async def _stale(turn: Turn) -> None:
    """A button of an older message: say so."""
    turn.say("stale_button")
    turn.move("unclear")


async def _not_understood(turn: Turn) -> None:
    """Not understood: said so, with what to type."""
    turn.say("not_understood", text=turn.text[:80])
    turn.move("unclear")


def _edits(turn: Turn) -> bool:
    return not turn.choice and (answers.asks_removal(turn.text)
                                or bool(answers.EDIT_ONLY.match(turn.text)))


_EDITS_NOTHING = when("a removal or \"edit\"", _edits)

DIALOG = Dialog(
    name="retailer", table=TABLE,
    commands=(
        route("*", tapped("order", "confirm", "edit", "cancel", "take", "drop"), ordering.tapped),
        route("resolving", tapped("product", "pick"), ordering.answer),
        route("*", when("cancel KH-…", lambda turn: not turn.choice
                        and answers.cancels_order(turn.text)), queries.cancel_order),
        route("*", typed(scores.OWN, "score / mero score"), scores.own),
        route("*", tapped("claim", "to"), paying.vendor_chosen),
        route("*", tapped("payment", "ack", "dispute"), paying.answer_payment),
        route("*", tapped("order", "received", "problem"), paying.answer_delivery),
        route("*", when("says they paid, with an amount (a photo's caption too)",
                        lambda turn: not turn.choice and paying.says_paid(turn.text)
                        and (turn.event.media_id is not None
                             or paying.read(turn.text).amount_paisa is not None)),
              paying.claim),
        route("*", when("any other photo", lambda turn: turn.event.media_id is not None),
              paying.photo),
        route("*", typed(paying.PROBLEM, "problem KH-… what is wrong"), paying.problem_typed),
        route("*", typed(statement.COMMAND, "statement [vendor] [days]"), statement.for_retailer),
        route("*", tapped("statement", "vendor"), statement.tapped_vendor),
        route("*", tapped("report", "consent", "cancel"), bank_reports.tapped),
        route("*", tapped("report", "revoke"), bank_reports.revoke_tapped),
        route("*", typed(bank_reports.REVOKE, "revoke BR-…"), bank_reports.revoke_tapped),
        route("*", when("reports / रिपोर्टहरू", bank_reports.lists), bank_reports.listing),
        route("*", when("report / bank report / रिपोर्ट [for …]", bank_reports.asks),
              bank_reports.ask),
    ),
    routes=(
        route("*", said("status", "dues", "history"), queries.answer),
        route("*", said("price"), prices.answer),
        route("*", said("repeat"), ordering.repeat),
        route("*", when("\"ho\" while a bank report's consent is asked",
                        lambda turn: bank_reports.waiting_for_consent(turn)
                        and turn.intent() == "confirm"), bank_reports.tap_agree),
        route("*", when("the institution, when asked who a bank report is for",
                        bank_reports.waiting_for_name), bank_reports.institution),
        route("resolving", ANY_TEXT, ordering.answer),
        route(DRAFTING, said("confirm"), ordering.confirm),
        route("idle", said("confirm"), _nothing_to_confirm),
        route("idle", _EDITS_NOTHING, _nothing_to_edit),
        route(DRAFTING, said("order"), ordering.edit),
        route("idle", said("order"), ordering.start),
        route(DRAFTING, ANY_TEXT, _draft_hint),
        route("*", said("greeting"), _help),
        route("*", ANY_TAP, _stale),
        route("*", ANYTHING, _not_understood),
    ),
    help=_help, cancel=_cancel, look_up=_look_up, takes_photos=True,
)
